package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/seedcast/seedcast/infohash"
	"github.com/seedcast/seedcast/signaling"
)

// trackerFlags bound who may use the node's tracker, and how much.
type trackerFlags struct {
	AllowOrigin    []string `name:"allow-origin" env:"SEEDCAST_ALLOW_ORIGIN" placeholder:"ORIGIN" help:"Only pages of this origin (scheme://host[:port]) may open a WebSocket to the tracker (repeatable; default: any)."`
	SocketsPerIP   int      `name:"max-sockets-per-ip" default:"256" env:"SEEDCAST_MAX_SOCKETS_PER_IP" help:"WebSockets the tracker takes from one address at once."`
	TrackerMsgRate float64  `name:"tracker-message-rate" default:"10" env:"SEEDCAST_TRACKER_MESSAGE_RATE" help:"Messages a second one WebSocket may send the tracker, with bursts of ten times as many."`
}

// check says which tracker flag is out of range.
func (f trackerFlags) check() error {
	if f.SocketsPerIP < 1 {
		return fmt.Errorf("--max-sockets-per-ip (SEEDCAST_MAX_SOCKETS_PER_IP) %d: want 1 or more", f.SocketsPerIP)
	}
	if f.TrackerMsgRate <= 0 {
		return fmt.Errorf("--tracker-message-rate (SEEDCAST_TRACKER_MESSAGE_RATE) %g: want more than 0", f.TrackerMsgRate)
	}
	return nil
}

// config returns the tracker's configuration from the flags.
func (f trackerFlags) config(log *slog.Logger) signaling.Config {
	return signaling.Config{Logger: log, AllowOrigins: f.AllowOrigin, MaxSocketsPerIP: f.SocketsPerIP, MessageRate: f.TrackerMsgRate}
}

// maxAllowListBytes bounds an allow-list file: 1 MiB is some 24 000
// info hashes.
const maxAllowListBytes = 1 << 20

// allowCheck is how often an allow-list file is looked at for changes.
var allowCheck = 5 * time.Second

// allowList is the info hashes of an allow-list file, one hex or base32
// info hash a line, blank lines and # comments ignored; reloaded when the
// file changes.
type allowList struct {
	path string
	log  *slog.Logger
	set  atomic.Pointer[map[infohash.Hash]struct{}]
	mod  time.Time // of the file last read; watch's alone
}

// loadAllowList reads path, or says which line is wrong.
func loadAllowList(path string, log *slog.Logger) (*allowList, error) {
	a := &allowList{path: path, log: log}
	if err := a.load(); err != nil {
		return nil, fmt.Errorf("--allow %s (SEEDCAST_ALLOW): %w", path, err)
	}
	return a, nil
}

func (a *allowList) load() error {
	fi, err := os.Stat(a.path)
	if err != nil {
		return err
	}
	if fi.Size() > maxAllowListBytes {
		return fmt.Errorf("%d bytes, over %d: split the trackers", fi.Size(), maxAllowListBytes)
	}
	b, err := os.ReadFile(a.path)
	if err != nil {
		return err
	}
	set := make(map[infohash.Hash]struct{})
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		ih, err := infohash.Parse(line)
		if err != nil {
			return fmt.Errorf("line %d: %q is not an info hash (40 hex digits or 32 base32 letters)", n, line)
		}
		set[ih] = struct{}{}
	}
	a.set.Store(&set)
	a.mod = fi.ModTime()
	return nil
}

// allows reports whether ih is on the list.
func (a *allowList) allows(ih infohash.Hash) bool {
	_, ok := (*a.set.Load())[ih]
	return ok
}

// watch reloads the list when the file changes, until ctx is done; a
// file that no longer reads leaves the last good list in force.
func (a *allowList) watch(ctx context.Context) error {
	tick := time.NewTicker(allowCheck)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		fi, err := os.Stat(a.path)
		if err == nil && fi.ModTime().Equal(a.mod) {
			continue
		}
		if err == nil {
			err = a.load()
		}
		if err != nil {
			a.log.Warn("allow-list not reloaded; the last one stays in force", "path", a.path, "err", err)
			continue
		}
		a.log.Info("allow-list reloaded", "path", a.path, "torrents", len(*a.set.Load()))
	}
}
