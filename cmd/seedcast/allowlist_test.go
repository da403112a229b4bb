package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seedcast/seedcast/e2e/testnet"
	"github.com/seedcast/seedcast/infohash"
)

func TestAllowList(t *testing.T) {
	defer func(d time.Duration) { allowCheck = d }(allowCheck)
	allowCheck = 20 * time.Millisecond
	a, b, c := infohash.Hash{0xaa}, infohash.Hash{0xbb}, infohash.Hash{0xcc}
	path := filepath.Join(t.TempDir(), "allow.txt")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("# the artist's films\n" + a.String() + "\n\n  " + strings.ToUpper(b.String()) + "  # the pilot\n")
	l, err := loadAllowList(path, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if !l.allows(a) || !l.allows(b) || l.allows(c) {
		t.Fatalf("allows a, b, c: %v %v %v; want true true false", l.allows(a), l.allows(b), l.allows(c))
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.watch(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	// A change is picked up; a broken file leaves the last list in force.
	write(c.String() + "\n")
	os.Chtimes(path, time.Now(), time.Now().Add(time.Second))
	if err := testnet.WaitFor(5*time.Second, func() error {
		if !l.allows(c) || l.allows(a) {
			return os.ErrNotExist
		}
		return nil
	}); err != nil {
		t.Fatal("the changed allow-list was not reloaded")
	}
	write("not a hash\n")
	os.Chtimes(path, time.Now(), time.Now().Add(2*time.Second))
	time.Sleep(10 * allowCheck)
	if !l.allows(c) {
		t.Fatal("a broken allow-list replaced the last good one")
	}

	_, err = loadAllowList(path, slog.Default())
	if err == nil || !strings.Contains(err.Error(), "--allow") || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("a bad line: %v; want an error naming --allow and the line", err)
	}
}

func TestTrackerFlagsCheck(t *testing.T) {
	for _, tt := range []struct {
		f    trackerFlags
		want string
	}{
		{trackerFlags{SocketsPerIP: 256, TrackerMsgRate: 10}, ""},
		{trackerFlags{SocketsPerIP: 0, TrackerMsgRate: 10}, "--max-sockets-per-ip (SEEDCAST_MAX_SOCKETS_PER_IP) 0: want 1 or more"},
		{trackerFlags{SocketsPerIP: 1, TrackerMsgRate: -1}, "--tracker-message-rate (SEEDCAST_TRACKER_MESSAGE_RATE) -1: want more than 0"},
	} {
		err := tt.f.check()
		if got := fmt.Sprint(err); tt.want == "" && err != nil || tt.want != "" && got != tt.want {
			t.Errorf("%+v: %v, want %q", tt.f, err, tt.want)
		}
	}
}
