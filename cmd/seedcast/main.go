// Command seedcast seeds a film to native BitTorrent clients and to
// browsers, runs the WebTorrent tracker they meet at, and streams it to a
// web player.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"
)

// cli is the command line. Every flag has a SEEDCAST_* environment twin.
type cli struct {
	LogLevel slog.Level `name:"log-level" env:"SEEDCAST_LOG_LEVEL" default:"info" help:"Log level: debug, info, warn or error."`

	Serve   serveCmd   `cmd:"" help:"Seed files, folders, .torrent files or magnets (none: the demo pilot) to native clients and browsers, with tracker and player."`
	Create  createCmd  `cmd:"" help:"Write a .torrent for a file or folder."`
	Tracker trackerCmd `cmd:"" help:"Run the WebTorrent and HTTP tracker alone."`
}

func main() {
	var c cli
	kctx := kong.Parse(&c,
		kong.Name("seedcast"),
		kong.Description("A hybrid BitTorrent peer that puts a film in front of people's eyes: native clients, browsers over WebRTC, and a web player."),
		kong.UsageOnError(),
		kong.Vars{"data_default": defaultDataDir()},
	)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: c.LogLevel}))
	slog.SetDefault(log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	kctx.BindTo(ctx, (*context.Context)(nil))
	err := kctx.Run(log)
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "seedcast:", err)
		os.Exit(1)
	}
}

// defaultDataDir is $XDG_DATA_HOME/seedcast, else ~/.local/share/seedcast.
func defaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "seedcast")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "share", "seedcast")
	}
	return "seedcast-data"
}

// listenHost returns the host part of a listen address, for URLs: an
// unspecified host becomes localhost.
func urlHost(addr string) string {
	host, port, ok := strings.Cut(addr, ":")
	if i := strings.LastIndex(addr, ":"); i >= 0 {
		host, port, ok = addr[:i], addr[i+1:], true
	}
	if !ok {
		return addr
	}
	switch host {
	case "", "0.0.0.0", "[::]", "::":
		host = "localhost"
	}
	return host + ":" + port
}
