package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"golang.org/x/sync/errgroup"

	"github.com/seedcast/seedcast/signaling"
)

type trackerCmd struct {
	httpFlags
	trackerFlags
	Allow string `env:"SEEDCAST_ALLOW" type:"existingfile" placeholder:"FILE" help:"Track only the info hashes in FILE, one a line (hex or base32; # starts a comment), reloaded when it changes (default: any)."`
}

func (c *trackerCmd) Run(ctx context.Context, log *slog.Logger) error {
	if err := c.validate(); err != nil {
		return err
	}
	base, err := c.publicURL()
	if err != nil {
		return err
	}
	if err := c.trackerFlags.check(); err != nil {
		return err
	}
	tcfg := c.trackerFlags.config(log)
	var allow *allowList
	if c.Allow != "" {
		if allow, err = loadAllowList(c.Allow, log); err != nil {
			return err
		}
		tcfg.Allow = allow.allows
	}
	tr, err := signaling.New(tcfg)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	tr.Register(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	if err := trackerMetrics(mux, tr, log); err != nil {
		return err
	}
	urls := announceURLs(base)
	hs := &httpServer{flags: c.httpFlags, handler: mux, log: log, listening: func(a net.Addr) {
		log.Info("tracker listening", "addr", a.String())
		fmt.Printf("tracker:  %s\n          %s\n", urls[0], urls[1])
	}}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return tr.Run(gctx) })
	if allow != nil {
		g.Go(func() error { return allow.watch(gctx) })
	}
	g.Go(func() error { return hs.Run(gctx) })
	if err := g.Wait(); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}
