package swarm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seedcast/seedcast/e2e/testnet"
	"github.com/seedcast/seedcast/infohash"
)

// TestKeepRestoreRemove keeps a file, a folder, a magnet and a torrent
// added from metainfo, removes the folder, and restarts: the other three
// come back in the order they were kept, complete at once, the file
// without being hashed again and the magnet with its info though its only
// peer is gone; the folder does not, and its files are still there.
func TestKeepRestoreRemove(t *testing.T) {
	ctx := context.Background()
	content := t.TempDir()
	film := filepath.Join(content, "film.bin")
	writeRandom(t, film, 1<<20+5, 11)
	folder := filepath.Join(content, "extras")
	writeRandom(t, filepath.Join(folder, "a.bin"), 300<<10, 12)

	other, stopOther := startSwarm(t, testConfig(t, t.TempDir()))
	p1 := filepath.Join(t.TempDir(), "by-magnet.bin")
	m1 := writeRandom(t, p1, 700<<10, 13)
	o1, err := other.Add(ctx, p1)
	if err != nil {
		t.Fatal(err)
	}
	p2 := filepath.Join(t.TempDir(), "by-torrent.bin")
	m2 := writeRandom(t, p2, 500<<10, 14)
	o2, err := other.Add(ctx, p2)
	if err != nil {
		t.Fatal(err)
	}

	data := t.TempDir()
	var logs1 testnet.Buffer
	cfg := testConfig(t, data)
	cfg.DisableUTP = true
	cfg.Logger = slog.New(slog.NewTextHandler(&logs1, nil))
	s, stop := startSwarm(t, cfg)
	keep := func(tt *Torrent, err error) *Torrent {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Keep(tt); err != nil {
			t.Fatal(err)
		}
		return tt
	}
	tf := keep(s.Add(ctx, film))
	tx := keep(s.Add(ctx, folder))
	tm := keep(fetchFrom(t, s, other, o1, m1), nil)
	mi, ok := o2.Metainfo()
	if !ok {
		t.Fatal("no metainfo")
	}
	tt, err := s.AddMetainfo(mi)
	if err != nil {
		t.Fatal(err)
	}
	s.AddPeer(o2.InfoHash(), netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(other.Port())))
	readWhole(t, tt, m2)
	keep(tt, nil)
	keep(tf, nil) // kept twice: listed once
	if n := len(s.kept.list()); n != 4 {
		t.Fatalf("%d torrents kept, want 4: %+v", n, s.kept.list())
	}
	if !strings.Contains(logs1.String(), "msg=hashed") {
		t.Fatalf("the first start did not hash the file:\n%s", logs1.String())
	}

	if err := s.Remove(tx.InfoHash()); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Torrent(tx.InfoHash()); ok {
		t.Error("removed folder still served")
	}
	if err := s.Remove(tx.InfoHash()); !errors.Is(err, ErrNoTorrent) {
		t.Errorf("removing it again: %v, want ErrNoTorrent", err)
	}
	if _, err := os.Stat(filepath.Join(folder, "a.bin")); err != nil {
		t.Errorf("a removed torrent's file: %v, want it left where it was", err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if err := stopOther(); err != nil {
		t.Fatal(err)
	}

	var logs2 testnet.Buffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logs2, nil))
	s2, _ := startSwarm(t, cfg)
	restored, err := s2.Restore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []infohash.Hash
	for _, r := range restored {
		got = append(got, r.InfoHash())
		if !r.Seeding() {
			t.Errorf("restored %s (%s) is not complete at once", r.Name(), r.InfoHash())
		}
	}
	want := []infohash.Hash{tf.InfoHash(), tm.InfoHash(), tt.InfoHash()}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("restored %v, want %v (file, magnet, metainfo; not the removed folder)", got, want)
	}
	if restored[1].Name() != "by-magnet.bin" || len(restored[1].Files()) != 1 {
		t.Errorf("restored magnet: name %q, files %v; want its info kept", restored[1].Name(), restored[1].Files())
	}
	if strings.Contains(logs2.String(), "msg=hashed") {
		t.Errorf("the restart hashed again:\n%s", logs2.String())
	}
	if again, err := s2.Restore(ctx); err != nil || len(again) != 0 {
		t.Errorf("restoring twice added %d torrents (%v), want none", len(again), err)
	}
}

// TestRestoreChangedAndMissing keeps two files, changes one and deletes
// the other: the changed one comes back under its new info hash, and the
// missing one stays kept for when it is back.
func TestRestoreChangedAndMissing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	changed, missing := filepath.Join(dir, "changed.bin"), filepath.Join(dir, "missing.bin")
	writeRandom(t, changed, 100<<10, 1)
	writeRandom(t, missing, 100<<10, 2)
	data := t.TempDir()
	s, stop := startSwarm(t, testConfig(t, data))
	var old []infohash.Hash
	for _, p := range []string{changed, missing} {
		tt, err := s.Add(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Keep(tt); err != nil {
			t.Fatal(err)
		}
		old = append(old, tt.InfoHash())
	}
	stop()

	writeRandom(t, changed, 100<<10, 3)
	os.Chtimes(changed, time.Now().Add(time.Hour), time.Now().Add(time.Hour))
	if err := os.Remove(missing); err != nil {
		t.Fatal(err)
	}
	s2, _ := startSwarm(t, testConfig(t, data))
	restored, err := s2.Restore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(restored) != 1 || restored[0].InfoHash() == old[0] {
		t.Fatalf("restored %d torrents, want the changed file under a new info hash", len(restored))
	}
	kept := s2.kept.list()
	if len(kept) != 2 || kept[0].InfoHash != restored[0].InfoHash().String() || kept[1].InfoHash != old[1].String() {
		t.Errorf("kept %+v, want the changed file's new info hash and the missing file", kept)
	}
	// Forgetting the missing file works though it is not served.
	if err := s2.Remove(old[1]); err != nil {
		t.Errorf("forgetting a kept torrent that is not served: %v", err)
	}
	if n := len(s2.kept.list()); n != 1 {
		t.Errorf("%d kept after forgetting, want 1", n)
	}
}

// TestKeptListDamaged checks that a damaged list stops the swarm with an
// error naming it, rather than losing the torrents it lists.
func TestKeptListDamaged(t *testing.T) {
	for name, content := range map[string]string{
		"not json":      "{",
		"newer version": `{"version": 2, "torrents": []}`,
		"two sources":   `{"version": 1, "torrents": [{"infohash": "0123456789abcdef0123456789abcdef01234567", "path": "/a", "magnet": "magnet:?"}]}`,
		"bad hash":      `{"version": 1, "torrents": [{"infohash": "xyz", "path": "/a"}]}`,
		"torrent path":  `{"version": 1, "torrents": [{"infohash": "0123456789abcdef0123456789abcdef01234567", "torrent": "../../etc/passwd"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			data := t.TempDir()
			if err := os.WriteFile(filepath.Join(data, keptName), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := New(testConfig(t, data))
			if err != nil {
				t.Fatal(err)
			}
			err = s.Run(context.Background())
			if err == nil || !strings.Contains(err.Error(), keptName) {
				t.Fatalf("Run: %v, want an error naming %s", err, keptName)
			}
		})
	}
}

// TestRestoreResumesDownload stops a node halfway through a download and
// starts it again: the pieces it verified are still there, not fetched
// again from the start.
func TestRestoreResumesDownload(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "clip.bin")
	writeRandom(t, p, 2<<20, 17)
	// A capped seed, so that the download is still going when it stops.
	scfg := testConfig(t, t.TempDir())
	scfg.UploadRate = 256 << 10
	seed, _ := startSwarm(t, scfg)
	st, err := seed.Add(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	lcfg := testConfig(t, data)
	lcfg.DisableUTP = true
	leech, stop := startSwarm(t, lcfg)
	lt, err := leech.AddMagnet(st.Magnet() + "&x.pe=127.0.0.1:" + itoa(seed.Port()))
	if err != nil {
		t.Fatal(err)
	}
	if err := leech.Keep(lt); err != nil {
		t.Fatal(err)
	}
	var verified int
	err = testnet.WaitFor(30*time.Second, func() error {
		if !lt.haveInfo() {
			return errors.New("no info yet")
		}
		verified = lt.t.Stats().PiecesComplete
		if verified < 4 {
			return fmt.Errorf("%d pieces verified", verified)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if lt.Seeding() {
		t.Fatal("the download finished before the stop; the cap is too high")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	lcfg.Logger = slog.New(slog.DiscardHandler)
	leech2, _ := startSwarm(t, lcfg)
	restored, err := leech2.Restore(ctx)
	if err != nil || len(restored) != 1 {
		t.Fatalf("restored %d torrents (%v), want the magnet", len(restored), err)
	}
	if got := restored[0].t.Stats().PiecesComplete; got < verified {
		t.Fatalf("after the restart %d pieces are verified, want the %d verified before it", got, verified)
	}
}
