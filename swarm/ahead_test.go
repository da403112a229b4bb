package swarm

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/storage"
)

func TestAheadInRuns(t *testing.T) {
	run := func(complete bool, n int) torrent.PieceStateRun {
		return torrent.PieceStateRun{PieceState: torrent.PieceState{Completion: storage.Completion{Complete: complete, Ok: true}}, Length: n}
	}
	// Ten pieces of 100 bytes: 0-2 verified, 3 missing, 4-9 verified.
	runs := torrent.PieceStateRuns{run(true, 3), run(false, 1), run(true, 6)}
	for _, tc := range []struct {
		name      string
		from, end int64
		want      int64
	}{
		{"from the start", 0, 1000, 300},
		{"inside the first run", 150, 1000, 150},
		{"at the gap", 300, 1000, 0},
		{"inside the gap", 350, 1000, 0},
		{"after the gap to the end", 400, 1000, 600},
		{"a file that ends before the gap", 50, 250, 200},
		{"a file that ends inside the last run", 420, 870, 450},
		{"empty", 500, 500, 0},
	} {
		if got := aheadInRuns(runs, 100, tc.from, tc.end); got != tc.want {
			t.Errorf("%s: aheadInRuns(%d, %d) = %d, want %d", tc.name, tc.from, tc.end, got, tc.want)
		}
	}
	// Complete runs split by priority are still one stretch.
	split := torrent.PieceStateRuns{run(true, 2), run(true, 2), run(false, 6)}
	if got := aheadInRuns(split, 100, 0, 1000); got != 400 {
		t.Errorf("two complete runs then a gap: %d, want 400", got)
	}
}

// TestAhead checks Ahead on a torrent the node seeds (every byte) and on
// the same torrent at a node that has none of it yet.
func TestAhead(t *testing.T) {
	dir := t.TempDir()
	const size = 1<<20 + 12345
	writeRandom(t, filepath.Join(dir, "film.bin"), size, 5)
	seed, _ := startSwarm(t, testConfig(t, t.TempDir()))
	st, err := seed.Add(context.Background(), filepath.Join(dir, "film.bin"))
	if err != nil {
		t.Fatal(err)
	}
	for off, want := range map[int64]int64{0: size, 1000: size - 1000, size - 1: 1, size: 0, -1: 0} {
		if got := st.Ahead(0, off); got != want {
			t.Errorf("seed: Ahead(0, %d) = %d, want %d", off, got, want)
		}
	}
	if got := st.Ahead(1, 0); got != 0 {
		t.Errorf("seed: Ahead of a file it has not = %d, want 0", got)
	}
	mi, _ := st.Metainfo()
	leech, _ := startSwarm(t, testConfig(t, t.TempDir()))
	lt, err := leech.AddMetainfo(mi)
	if err != nil {
		t.Fatal(err)
	}
	if got := lt.Ahead(0, 0); got != 0 {
		t.Errorf("leech without a peer: Ahead(0, 0) = %d, want 0", got)
	}
}
