package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// debugFlags serve Go's profiles, for an operator looking into the
// node's memory or CPU.
type debugFlags struct {
	PprofAddr string `name:"pprof-addr" env:"SEEDCAST_PPROF_ADDR" placeholder:"ADDR" help:"Serve Go's profiles (/debug/pprof/) on this address, such as 127.0.0.1:6060; keep it off the internet (default: off)."`
}

// runPprof serves the profiles until ctx is done, if asked to.
func (f debugFlags) runPprof(ctx context.Context, log *slog.Logger) error {
	if f.PprofAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", f.PprofAddr)
	if err != nil {
		return fmt.Errorf("--pprof-addr (SEEDCAST_PPROF_ADDR) %s: %w", f.PprofAddr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	context.AfterFunc(ctx, func() { srv.Close() })
	log.Info("profiles listening", "addr", ln.Addr().String())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
