package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/seedcast/seedcast/signaling"
)

type trackerCmd struct {
	httpFlags
}

func (c *trackerCmd) Run(ctx context.Context, log *slog.Logger) error {
	if err := c.validate(); err != nil {
		return err
	}
	base, err := c.publicURL()
	if err != nil {
		return err
	}
	tr, err := signaling.New(signaling.Config{Logger: log})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	tr.Register(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	g, _, ln, err := c.start(ctx, log, mux, tr)
	if err != nil {
		return err
	}
	urls := announceURLs(base)
	log.Info("tracker listening", "addr", ln.Addr().String())
	fmt.Printf("tracker:  %s\n          %s\n", urls[0], urls[1])
	err = g.Wait()
	if ctx.Err() != nil {
		log.Info("stopped")
		return nil
	}
	return err
}
