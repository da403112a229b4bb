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
)

// originFlags restrict the pages that may use the node's tracker.
type originFlags struct {
	AllowOrigin []string `name:"allow-origin" env:"SEEDCAST_ALLOW_ORIGIN" placeholder:"ORIGIN" help:"Only pages of this origin (scheme://host[:port]) may open a WebSocket to the tracker (repeatable; default: any)."`
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
