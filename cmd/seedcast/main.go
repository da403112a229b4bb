// Command seedcast seeds a film to native BitTorrent clients and to
// browsers, runs the WebTorrent tracker they meet at, and streams it to a
// web player.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"
	"github.com/mattn/go-isatty"
)

// cli is the command line. Every flag has a SEEDCAST_* environment twin.
type cli struct {
	LogLevel  slog.Level `name:"log-level" env:"SEEDCAST_LOG_LEVEL" default:"info" help:"Log level: debug, info, warn or error."`
	LogFormat string     `name:"log-format" env:"SEEDCAST_LOG_FORMAT" enum:"text,json" default:"text" help:"Log format: text (key=value) or json (one object a line)."`

	Serve       serveCmd       `cmd:"" help:"Seed files, folders, .torrent files or magnets (none: the demo pilot) to native clients and browsers, with tracker and player."`
	Watch       watchCmd       `cmd:"" help:"Stream a magnet or .torrent from its swarm into the local player while it downloads: prints the watch URL, shows progress, seeds while it runs; Ctrl-C stops it."`
	Create      createCmd      `cmd:"" help:"Write a .torrent for a file or folder."`
	Bundle      bundleCmd      `cmd:"" help:"Make bundles: files free for all and files behind a gate (an email, a price), in one torrent."`
	Unlock      unlockCmd      `cmd:"" help:"Decrypt the gated files of a downloaded bundle with its key file or unlock link."`
	Tracker     trackerCmd     `cmd:"" help:"Run the WebTorrent and HTTP tracker alone."`
	Healthcheck healthcheckCmd `cmd:"" help:"Exit 0 if the node on this machine answers /healthz with 200 OK (a container's HEALTHCHECK)."`
	Version     versionCmd     `cmd:"" help:"Print the version, VCS commit and Go version of this binary."`
}

// kongOptions are the parser's options, shared by main and the tests.
func kongOptions() []kong.Option {
	return []kong.Option{
		kong.Name("seedcast"),
		kong.Description("A hybrid BitTorrent peer that puts a film in front of people's eyes: native clients, browsers over WebRTC, and a web player."),
		kong.TypeMapper(reflect.TypeFor[slog.Level](), logLevelMapper),
		kong.Vars{"data_default": defaultDataDir()},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal stops the node cleanly; with the handler gone, a
	// second one ends the process at once.
	context.AfterFunc(ctx, stop)
	bars = startTerminal(os.Stderr)
	var logs io.Writer = os.Stderr
	if bars != nil {
		logs = bars
		if isatty.IsTerminal(os.Stdout.Fd()) {
			stdout = bars
		}
	}
	code := run(ctx, os.Args[1:], logs)
	stop()
	if bars != nil {
		bars.Stop()
	}
	os.Exit(code)
}

// run parses args and runs the command they name, with its logs on
// stderr; it returns the process's exit status. A bad command line is
// one line on stderr, not the usage (status 2); a command's error is one
// line too (status 1).
func run(ctx context.Context, args []string, stderr io.Writer, opts ...kong.Option) int {
	var c cli
	parser, err := kong.New(&c, append(kongOptions(), opts...)...)
	if err != nil {
		fmt.Fprintln(stderr, "seedcast: bug:", err)
		return 2
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintln(stderr, "seedcast:", explainParseError(err))
		return 2
	}
	log := newLogger(stderr, c.LogFormat, c.LogLevel)
	slog.SetDefault(log)
	kctx.BindTo(ctx, (*context.Context)(nil))
	if err := kctx.Run(log); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "seedcast:", err)
		return 1
	}
	return 0
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

// urlHost returns the host and port of a listen address, for URLs: an
// unspecified host becomes localhost.
func urlHost(addr string) string {
	i := strings.LastIndex(addr, ":")
	if i < 0 {
		return addr
	}
	host, port := addr[:i], addr[i+1:]
	switch host {
	case "", "0.0.0.0", "[::]", "::":
		host = "localhost"
	}
	return host + ":" + port
}
