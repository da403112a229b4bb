package swarm

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/seedcast/seedcast/e2e/testnet"
)

// TestWantFetchesFirst checks that where a viewer plays is fetched before
// the rest: a leech told that a viewer plays at three quarters of a film
// has those pieces while it holds under a quarter of the film, from a
// seed that sends it slowly; and that the priorities go when the viewer
// goes quiet.
func TestWantFetchesFirst(t *testing.T) {
	const size = 8 << 20
	seed, st, leech, lt := slowSeedAndLeech(t, size, 1<<20, 41)
	if fetching, err := st.Want("0123456789abcdef", 0, 0, 0); err != nil || fetching {
		t.Errorf("a seed's Want: fetching %v, %v; want false, nil", fetching, err)
	}
	for _, bad := range []struct {
		file         int
		offset, rate int64
	}{{1, 0, 0}, {-1, 0, 0}, {0, size + 1, 0}, {0, -1, 0}, {0, 0, -1}, {0, 0, size + 1}} {
		if _, err := lt.Want("0123456789abcdef", bad.file, bad.offset, bad.rate); !errors.Is(err, ErrBadWant) {
			t.Errorf("Want(file %d, offset %d, rate %d): %v, want ErrBadWant", bad.file, bad.offset, bad.rate, err)
		}
	}

	// A film of 8 MiB playing 128 KiB a second, at three quarters.
	const rate, at = 128 << 10, size * 3 / 4
	fetching, err := lt.Want("0123456789abcdef", 0, at, rate)
	if err != nil || !fetching {
		t.Fatalf("Want: fetching %v, %v; want true, nil", fetching, err)
	}
	if off, r, ok := lt.Playhead(0); off != at || r != rate || !ok {
		t.Errorf("Playhead: %d, %d, %v; want %d, %d, true", off, r, ok, at, rate)
	}
	pieceLen := lt.t.Info().PieceLength
	first, last := int(at/pieceLen), int((at+nowSec*rate-1)/pieceLen)
	tiers := []struct {
		from, to int64
		prio     torrent.PiecePriority
	}{
		{at, at + nowSec*rate, torrent.PiecePriorityNow},
		{at + nowSec*rate, at + nextSec*rate, torrent.PiecePriorityNext},
		{at + nextSec*rate, at + readSec*rate, torrent.PiecePriorityReadahead},
		{at + readSec*rate, min(size, at+aheadSec*rate), torrent.PiecePriorityHigh},
	}
	lt.wants.mu.Lock()
	for p := 0; p < lt.t.NumPieces(); p++ {
		var want torrent.PiecePriority
		for _, tier := range tiers {
			if off(p, pieceLen) < tier.to && off(p+1, pieceLen) > tier.from && tier.prio > want {
				want = tier.prio
			}
		}
		if got := lt.wants.set[p]; got != want {
			t.Errorf("piece %d (bytes %d to %d) has priority %v, want %v", p, off(p, pieceLen), off(p+1, pieceLen), got, want)
		}
	}
	lt.wants.mu.Unlock()

	leech.AddPeer(lt.InfoHash(), netip.MustParseAddrPort("127.0.0.1:"+itoa(seed.Port())))
	err = testnet.WaitFor(30*time.Second, func() error {
		for p := first; p <= last; p++ {
			if !lt.t.Piece(p).State().Complete {
				return fmt.Errorf("piece %d not yet complete", p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	done := lt.t.Stats().PiecesComplete
	t.Logf("the %d pieces played now came with %d of %d pieces", last-first+1, done, lt.t.NumPieces())
	if done*4 > lt.t.NumPieces() {
		t.Errorf("the pieces played now came with %d of %d pieces: not first", done, lt.t.NumPieces())
	}

	// The viewer goes quiet: its pieces go back to the torrent's own
	// priority.
	lt.wants.mu.Lock()
	h := lt.wants.heads["0123456789abcdef"]
	h.at = time.Now().Add(-wantTTL)
	lt.wants.heads["0123456789abcdef"] = h
	lt.wants.mu.Unlock()
	lt.applyWants()
	lt.wants.mu.Lock()
	defer lt.wants.mu.Unlock()
	if len(lt.wants.heads) != 0 || len(lt.wants.set) != 0 {
		t.Errorf("after the viewer went quiet: %d playheads, %d pieces raised; want none", len(lt.wants.heads), len(lt.wants.set))
	}
	if lt.wants.timer != nil {
		t.Errorf("an expiry timer is still set with no playhead")
	}
	if _, _, ok := lt.playheadLocked(0); ok {
		t.Errorf("Playhead still known after the viewer went quiet")
	}
}

func off(p int, pieceLen int64) int64 { return int64(p) * pieceLen }

// TestAwaitRange checks that a web seed request's range is fetched
// before the rest and at a playhead's next priority, not as a piece
// needed now, and that AwaitRange returns once it is verified, or when
// its context ends, taking its priority back either way.
func TestAwaitRange(t *testing.T) {
	const size = 8 << 20
	seed, _, leech, lt := slowSeedAndLeech(t, size, 1<<20, 43)
	pieceLen := lt.t.Info().PieceLength
	from, to := int64(size*3/4), int64(size*3/4)+2*pieceLen
	first, end := int(from/pieceLen), int((to-1)/pieceLen)+1

	// With no peer, the wait ends with its context, and leaves nothing
	// raised.
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- lt.AwaitRange(ctx, 0, from, to) }()
	err := testnet.WaitFor(5*time.Second, func() error {
		lt.wants.mu.Lock()
		defer lt.wants.mu.Unlock()
		for p := first; p < end; p++ {
			if lt.wants.set[p] != torrent.PiecePriorityNext || lt.wants.await[p] != 1 {
				return fmt.Errorf("piece %d: priority %v, %d waiting; want %v, 1", p, lt.wants.set[p], lt.wants.await[p], torrent.PiecePriorityNext)
			}
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	if err := <-errc; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("AwaitRange with no peer: %v, want its context's deadline", err)
	}
	lt.wants.mu.Lock()
	if len(lt.wants.await) != 0 || len(lt.wants.set) != 0 {
		t.Errorf("after the wait ended: %d pieces awaited, %d raised; want none", len(lt.wants.await), len(lt.wants.set))
	}
	lt.wants.mu.Unlock()

	// From a slow seed, the range comes first.
	leech.AddPeer(lt.InfoHash(), netip.MustParseAddrPort("127.0.0.1:"+itoa(seed.Port())))
	wctx, wcancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer wcancel()
	if err := lt.AwaitRange(wctx, 0, from, to); err != nil {
		t.Fatalf("AwaitRange: %v", err)
	}
	for p := first; p < end; p++ {
		if !lt.t.Piece(p).State().Complete {
			t.Errorf("AwaitRange returned with piece %d incomplete", p)
		}
	}
	done := lt.t.Stats().PiecesComplete
	t.Logf("the %d pieces awaited came with %d of %d pieces", end-first, done, lt.t.NumPieces())
	if done*4 > lt.t.NumPieces() {
		t.Errorf("the pieces awaited came with %d of %d pieces: not first", done, lt.t.NumPieces())
	}
	lt.wants.mu.Lock()
	if len(lt.wants.await) != 0 || len(lt.wants.set) != 0 {
		t.Errorf("after the range came: %d pieces awaited, %d raised; want none", len(lt.wants.await), len(lt.wants.set))
	}
	lt.wants.mu.Unlock()
	// A range already here needs no wait.
	if err := lt.AwaitRange(wctx, 0, from, from+1); err != nil {
		t.Errorf("AwaitRange of a verified byte: %v", err)
	}
}

// slowSeedAndLeech starts a seed of a file of size random bytes (from
// seed) that uploads at most rate bytes a second, and a leech (TCP only)
// with the torrent added and no peer yet.
func slowSeedAndLeech(t *testing.T, size int, rate int64, seedNum uint64) (seed *Swarm, st *Torrent, leech *Swarm, lt *Torrent) {
	t.Helper()
	f := newFixture(t, size, rate, seedNum)
	leech, _, lt = f.startLeech(t)
	return f.seed, f.st, leech, lt
}

// fixture is a seed of a file of random bytes and the config of a leech
// of it (TCP only, a data dir of its own).
type fixture struct {
	seed *Swarm
	st   *Torrent
	mi   *metainfo.MetaInfo
	lcfg Config
	data []byte
}

// newFixture starts a seed of size random bytes (from seedNum) that
// uploads at most rate bytes a second (0: no cap).
func newFixture(t *testing.T, size int, rate int64, seedNum uint64) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{data: writeRandom(t, filepath.Join(dir, "film.bin"), size, seedNum)}
	scfg := testConfig(t, t.TempDir())
	scfg.UploadRate = rate
	f.seed, _ = startSwarm(t, scfg)
	var err error
	if f.st, err = f.seed.Add(context.Background(), filepath.Join(dir, "film.bin")); err != nil {
		t.Fatal(err)
	}
	f.mi, _ = f.st.Metainfo()
	f.lcfg = testConfig(t, t.TempDir())
	f.lcfg.DisableUTP = true
	return f
}

// startLeech starts a leech on f.lcfg with f.mi added and no peer yet.
func (f *fixture) startLeech(t *testing.T) (leech *Swarm, stop func() error, lt *Torrent) {
	t.Helper()
	leech, stop = startSwarm(t, f.lcfg)
	lt, err := leech.AddMetainfo(f.mi)
	if err != nil {
		t.Fatal(err)
	}
	return leech, stop, lt
}
