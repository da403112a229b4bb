package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/seedcast/seedcast/signaling"
	"github.com/seedcast/seedcast/swarm"
	"github.com/seedcast/seedcast/web"
	"github.com/seedcast/seedcast/webrtc"
)

// watchCmd streams one torrent from its swarm into the local player. Its
// node listens on free ports and keeps its state in a temporary dir, so
// that it runs beside a serve node; the flags whose defaults differ from
// serve's have environment twins of their own (SEEDCAST_WATCH_*), so that
// a serve node's environment does not move watch onto its ports or its
// --data.
type watchCmd struct {
	Torrent string `arg:"" name:"torrent" help:"What to watch: a magnet link, a .torrent file, an http(s) URL of one, or an info hash."`

	Addr       string `default:"127.0.0.1:0" env:"SEEDCAST_WATCH_ADDR" help:"HTTP listen address of the player (port 0: a free one). Loopback keeps the page to this machine; peers elsewhere get the film over BitTorrent all the same."`
	Data       string `env:"SEEDCAST_WATCH_DATA" placeholder:"DIR" help:"State dir, the film's download included (default: a temporary dir removed on exit; with --keep, ${data_default}, serve's)."`
	Keep       bool   `env:"SEEDCAST_WATCH_KEEP" help:"Keep the film and keep seeding it: it stays in --data (default then: serve's) and is kept there, so that seedcast serve with that --data seeds it on."`
	Open       bool   `env:"SEEDCAST_WATCH_OPEN" help:"Open the watch page in a browser: the command of $BROWSER, else xdg-open (open on macOS). If none opens, watch says so and goes on."`
	BTPort     int    `name:"bt-port" default:"0" env:"SEEDCAST_WATCH_BT_PORT" help:"BitTorrent TCP and uTP port (0: a free one)."`
	WebRTCPort int    `name:"webrtc-port" default:"0" env:"SEEDCAST_WATCH_WEBRTC_PORT" help:"The one UDP port of WebRTC peer connections (0: a free one)."`

	NoDHT            bool     `name:"no-dht" env:"SEEDCAST_NO_DHT" help:"Do not join the DHT: peers come from the magnet's or torrent's trackers and peer hints only."`
	NoPortForwarding bool     `name:"no-port-forwarding" env:"SEEDCAST_NO_PORT_FORWARDING" help:"Do not ask the router for port mappings (UPnP, NAT-PMP)."`
	Tracker          []string `env:"SEEDCAST_TRACKER" placeholder:"URL" help:"Extra tracker to announce to (repeatable)."`
	UploadRate       string   `name:"upload-rate" env:"SEEDCAST_UPLOAD_RATE" placeholder:"RATE" help:"Cap on the node's upload, e.g. 4Mbit/s or 500KB/s (default: no cap)."`
}

// watchShutdown bounds the HTTP server's graceful stop: the player's
// open streams would otherwise hold it for serve's 5 s, and watch stops
// within 2 s of a Ctrl-C.
const watchShutdown = 500 * time.Millisecond

// dataDir returns the state dir of the node: --data, else with --keep
// serve's default, else a new temporary dir, which temp says to remove on
// exit.
func (c *watchCmd) dataDir() (dir string, temp bool, err error) {
	switch {
	case c.Data != "":
		return c.Data, false, nil
	case c.Keep:
		return defaultDataDir(), false, nil
	}
	dir, err = os.MkdirTemp("", "seedcast-watch-")
	if err != nil {
		return "", false, fmt.Errorf("temporary --data dir: %w; give --data DIR (SEEDCAST_WATCH_DATA)", err)
	}
	return dir, true, nil
}

// config turns the flags into the node's config, for a node whose player
// is at base, with its state in dataDir and WebRTC on UDP port rtcPort.
// It names the flag of a bad value.
func (c *watchCmd) config(log *slog.Logger, base *url.URL, dataDir string, rtcPort int) (nodeConfig, error) {
	if c.BTPort < 0 || c.BTPort > 65535 {
		return nodeConfig{}, fmt.Errorf("--bt-port %d (SEEDCAST_WATCH_BT_PORT): want 0 (a free port) to 65535", c.BTPort)
	}
	uploadRate, err := parseRate(c.UploadRate)
	if err != nil {
		return nodeConfig{}, fmt.Errorf("--upload-rate %w", err)
	}
	btPort := c.BTPort
	if btPort == 0 {
		btPort = -1 // the system picks
	}
	meter := terminalMeter()
	if meter == nil {
		meter = swarm.LogMeter(log.With("component", "swarm"))
	}
	return nodeConfig{
		base: base,
		swarm: swarm.Config{
			Logger:           log,
			DataDir:          dataDir,
			BTPort:           btPort,
			NoDHT:            c.NoDHT,
			NoPortForwarding: c.NoPortForwarding,
			UploadRate:       uploadRate,
			DialLoopback:     isLoopbackHost(base.Hostname()),
			Announce:         announceURLs(base),
			Trackers:         c.Tracker,
			WebSeedBase:      base.String() + "/webseed/",
			// watch shows the fetch on its own progress line.
			Meter: hashingOnly{meter},
		},
		webrtc: webrtc.Config{Logger: log, UDPPort: rtcPort},
		// The tracker tracks the node's own torrent alone (newNode), with
		// its default limits.
		tracker: signaling.Config{Logger: log},
		web:     web.Config{Logger: log, PublicURL: base.String()},
		admin:   adminConfig{off: true},
	}, nil
}

// hashingOnly is a swarm.Meter that shows hashing and leaves fetching to
// watch's progress line.
type hashingOnly struct{ swarm.Meter }

func (m hashingOnly) Start(task, name string, total int64) swarm.Bar {
	if task == "fetching" {
		return nopBar{}
	}
	return m.Meter.Start(task, name, total)
}

func (c *watchCmd) Run(ctx context.Context, log *slog.Logger) (err error) {
	// Before any socket or dir: a bad argument fails at once.
	if err := swarm.CheckArg(c.Torrent); err != nil {
		return err
	}
	dir, temp, err := c.dataDir()
	if err != nil {
		return err
	}
	var atOnce func() // what a second Ctrl-C still does
	if temp {
		defer func() {
			if rerr := os.RemoveAll(dir); rerr != nil {
				err = errors.Join(err, fmt.Errorf("removing the temporary --data %s: %w", dir, rerr))
			}
		}()
		atOnce = func() { os.RemoveAll(dir) }
	} else if err := checkDataDir(dir); err != nil {
		return err
	}
	defer exitOnSecondSignal(ctx, log, atOnce)()
	ln, err := listen(c.Addr, "--addr or SEEDCAST_WATCH_ADDR")
	if err != nil {
		return err
	}
	base := &url.URL{Scheme: "http", Host: urlHost(ln.Addr().String())}
	rtcPort := c.WebRTCPort
	if rtcPort == 0 {
		if rtcPort, err = freeUDPPort(); err != nil {
			ln.Close()
			return err
		}
	}
	cfg, err := c.config(log, base, dir, rtcPort)
	if err != nil {
		ln.Close()
		return err
	}
	n, err := newNode(cfg, log)
	if err != nil {
		ln.Close()
		return err
	}
	log.Info("watch node", "data", dir, "temporary", temp, "keep", c.Keep)
	hs := &httpServer{handler: n.mux, log: log, ln: ln, shutdown: watchShutdown, listening: func(a net.Addr) {
		log.Info("http listening", "addr", a.String(), "public_url", base.String())
	}}
	add := func(ctx context.Context, g *errgroup.Group) error {
		t, err := n.sw.Add(ctx, c.Torrent)
		if err != nil {
			return err
		}
		if c.Keep {
			if err := n.sw.Keep(t); err != nil {
				return err
			}
		}
		// The page waits for the info itself: the URL is good at once.
		u := n.pl.WatchURL(t.InfoHash())
		fmt.Fprintln(stdout, u)
		if c.Open {
			openBrowser(u, os.Getenv("BROWSER"), log)
		}
		g.Go(func() error { return showProgress(ctx, t, bars, log) })
		return nil
	}
	if err := n.run(ctx, hs, add); err != nil {
		return err
	}
	if c.Keep {
		log.Info("film kept; seedcast serve with this --data seeds it on", "data", dir)
	}
	return nil
}

// freeUDPPort returns a UDP port free on every address now, for WebRTC's
// one port.
func freeUDPPort() (int, error) {
	pc, err := net.ListenPacket("udp", ":0")
	if err != nil {
		return 0, fmt.Errorf("finding a free UDP port for WebRTC: %w; set --webrtc-port (SEEDCAST_WATCH_WEBRTC_PORT)", err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port, nil
}

// exitOnSecondSignal makes a second Ctrl-C (or SIGTERM), once ctx is done
// by the first, run atOnce (if set) and end the process at once with
// status 130, instead of waiting for the node to stop; it says so when
// the first comes. stop undoes it.
func exitOnSecondSignal(ctx context.Context, log *slog.Logger, atOnce func()) (stop func()) {
	sig := make(chan os.Signal, 1)
	done := make(chan struct{})
	var mu sync.Mutex // orders Notify before Stop
	stopped := false
	stopAfter := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		log.Info("stopping; Ctrl-C again stops at once")
		go func() {
			select {
			case <-sig:
				if atOnce != nil {
					atOnce()
				}
				os.Exit(130)
			case <-done:
			}
		}()
	})
	return func() {
		stopAfter()
		mu.Lock()
		defer mu.Unlock()
		if !stopped {
			stopped = true
			signal.Stop(sig)
			close(done)
		}
	}
}
