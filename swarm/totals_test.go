package swarm

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/seedcast/seedcast/e2e/testnet"
)

// TestHashFailures has a leecher fetch from a seed whose file changed
// under it after hashing: the leecher counts the pieces that fail
// verification, the seed none.
func TestHashFailures(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "clip.bin")
	writeRandom(t, p, 1<<20, 15)
	seed, _ := startSwarm(t, testConfig(t, t.TempDir()))
	st, err := seed.Add(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	// The seed still holds every piece as verified, and sends what is on
	// disk now.
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xff}, 1<<20), 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	lcfg := testConfig(t, t.TempDir())
	lcfg.DisableUTP = true
	leech, _ := startSwarm(t, lcfg)
	if _, err := leech.AddMagnet(st.Magnet() + "&x.pe=127.0.0.1:" + itoa(seed.Port())); err != nil {
		t.Fatal(err)
	}
	err = testnet.WaitFor(30*time.Second, func() error {
		if n := leech.HashFailures(); n < 1 {
			return fmt.Errorf("%d hash failures", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := seed.HashFailures(); n != 0 {
		t.Errorf("the seed counts %d hash failures, want 0", n)
	}
}

// TestTotalsOutliveRemove checks that the bytes a torrent moved stay in
// the swarm's totals after it is removed, so that they only grow.
func TestTotalsOutliveRemove(t *testing.T) {
	dir := t.TempDir()
	want := writeRandom(t, filepath.Join(dir, "clip.bin"), 1<<20, 16)
	seed, _ := startSwarm(t, testConfig(t, t.TempDir()))
	st, err := seed.Add(context.Background(), filepath.Join(dir, "clip.bin"))
	if err != nil {
		t.Fatal(err)
	}
	lcfg := testConfig(t, t.TempDir())
	lcfg.DisableUTP = true
	leech, _ := startSwarm(t, lcfg)
	lt := fetchFrom(t, leech, seed, st, want)
	if got := leech.Totals()["tcp"].BytesIn; got < int64(len(want)) {
		t.Fatalf("TCP bytes in %d, want at least %d", got, len(want))
	}
	if err := leech.Remove(lt.InfoHash()); err != nil {
		t.Fatal(err)
	}
	tcp := leech.Totals()["tcp"]
	if tcp.BytesIn < int64(len(want)) || tcp.Peers != 0 {
		t.Errorf("after removing the torrent: TCP %+v, want its %d bytes in and no peers", tcp, len(want))
	}
	if _, ok := seed.Totals()["webrtc"]; !ok {
		t.Error("totals lack webrtc: every transport is listed, with zeros")
	}
}
