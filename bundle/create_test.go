package bundle

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seedcast/seedcast/infohash"
	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/swarm"
)

// memKeeper keeps bundles in memory, as the store keeps them on disk.
type memKeeper struct {
	mu      sync.Mutex
	bundles map[string]store.Bundle
	keys    map[string]map[string]store.FileKey
	err     error // returned by PutBundle if set
}

func (k *memKeeper) PutBundle(_ context.Context, b store.Bundle, keys map[string]store.FileKey) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.err != nil {
		return k.err
	}
	if k.bundles == nil {
		k.bundles, k.keys = map[string]store.Bundle{}, map[string]map[string]store.FileKey{}
	}
	k.bundles[b.ID], k.keys[b.ID] = b, keys
	return nil
}

// makeTorrent makes the torrent as `seedcast bundle create` does.
func makeTorrent(ctx context.Context, contentDir, torrentFile string) (infohash.Hash, error) {
	mi, err := swarm.Create(ctx, swarm.CreateConfig{Path: contentDir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return infohash.Hash{}, err
	}
	f, err := os.OpenFile(torrentFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return infohash.Hash{}, err
	}
	defer f.Close()
	if err := mi.Write(f); err != nil {
		return infohash.Hash{}, err
	}
	return infohash.Hash(mi.HashInfoBytes()), f.Close()
}

// writeBundleDir writes a bundle's folder: its manifest and files.
func writeBundleDir(t *testing.T, manifest string, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ManifestName), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	for p, b := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// pilotFiles are the files of pilotManifest, of lengths that end pieces
// and AES blocks unevenly.
func pilotFiles() map[string][]byte {
	r := rand.New(rand.NewPCG(7, 8))
	return map[string][]byte{
		"poster.jpg":           randomBytes(r, 3000),
		"pilot.mp4":            randomBytes(r, 300_001),
		"episode-2.mp4":        randomBytes(r, 200_017),
		"extras/making-of.mp4": randomBytes(r, 70_000),
	}
}

func createPilot(t *testing.T) (dir, out string, files map[string][]byte, k *memKeeper, res *Result) {
	t.Helper()
	files = pilotFiles()
	dir = writeBundleDir(t, pilotManifest, files)
	out = filepath.Join(t.TempDir(), "out")
	k = &memKeeper{}
	res, err := Create(t.Context(), Config{Dir: dir, Out: out, Keeper: k, MakeTorrent: makeTorrent, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return dir, out, files, k, res
}

func TestCreate(t *testing.T) {
	dir, out, files, k, res := createPilot(t)
	id := "children-of-the-machine"
	if res.ContentDir != filepath.Join(out, id) || res.TorrentFile != filepath.Join(out, id+".torrent") {
		t.Errorf("result %+v", res)
	}
	b, ok := k.bundles[id]
	if !ok {
		t.Fatalf("not kept: %+v", k.bundles)
	}
	if b.Title != "Children of the Machine" || b.Poster != id+"/poster.jpg" || b.Campaign == nil || b.Campaign.GoalBackers != 250000 || b.Created.IsZero() {
		t.Errorf("bundle %+v", b)
	}
	keys := k.keys[id]
	if len(keys) != 2 {
		t.Errorf("%d keys, want 2 (the gated files)", len(keys))
	}

	// The info hash kept is the one of the .torrent, and the one serve
	// gets when it hashes the content folder where it lies.
	again, err := swarm.Create(t.Context(), swarm.CreateConfig{Path: res.ContentDir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if got := infohash.Hash(again.HashInfoBytes()); got != b.InfoHash {
		t.Errorf("content hashes to %s, kept %s", got, b.InfoHash)
	}
	torrent, err := os.ReadFile(res.TorrentFile)
	if err != nil {
		t.Fatal(err)
	}

	for _, f := range b.Files {
		rel := strings.TrimPrefix(f.Path, id+"/")
		plain := files[rel]
		if f.Length != int64(len(plain)) {
			t.Errorf("%s: length %d, want %d", f.Path, f.Length, len(plain))
		}
		written, err := os.ReadFile(filepath.Join(res.ContentDir, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		key, gated := keys[f.Path]
		if gated != (f.Gate.Kind != store.GateFree) {
			t.Errorf("%s: gate %q, key %v", f.Path, f.Gate.Kind, gated)
		}
		if !gated {
			if !bytes.Equal(written, plain) {
				t.Errorf("free file %s changed", f.Path)
			}
			// Linked, not copied: the same file system.
			a, _ := os.Stat(filepath.Join(dir, filepath.FromSlash(rel)))
			c, _ := os.Stat(filepath.Join(res.ContentDir, filepath.FromSlash(rel)))
			if !os.SameFile(a, c) {
				t.Errorf("free file %s copied, not hard-linked", f.Path)
			}
			continue
		}
		if f.PlainSHA256 != sha256.Sum256(plain) {
			t.Errorf("%s: plain SHA-256 %x", f.Path, f.PlainSHA256)
		}
		// Nothing of the plain file shows: every sampled byte differs
		// (a byte of ciphertext equals its plain byte 1 time in 256, so
		// compare runs of 4).
		for off := 0; off+4 <= len(plain); off += 997 {
			if bytes.Equal(written[off:off+4], plain[off:off+4]) {
				t.Errorf("%s: ciphertext equals the plain file at %d", f.Path, off)
			}
		}
		if want := ctrFromStart(t, key, plain); !bytes.Equal(written, want) {
			t.Errorf("%s: not AES-256-CTR of the plain file with its key", f.Path)
		}
		// The keys are nowhere but in the keeper.
		for _, secret := range secretForms(key) {
			if bytes.Contains(torrent, secret) {
				t.Errorf("key of %s in the .torrent", f.Path)
			}
			filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				if b, _ := os.ReadFile(p); bytes.Contains(b, secret) {
					t.Errorf("key of %s in %s", f.Path, p)
				}
				return nil
			})
		}
	}
	// Nothing hidden or temporary stays behind in OUT.
	entries, _ := os.ReadDir(out)
	if len(entries) != 2 {
		t.Errorf("OUT holds %d entries, want the content folder and the .torrent", len(entries))
	}
}

// secretForms are the ways a key could leak: raw, hex and base64, of key
// and IV.
func secretForms(k store.FileKey) [][]byte {
	var out [][]byte
	for _, b := range [][]byte{k.Key[:], k.IV[:]} {
		out = append(out, b,
			[]byte(hex.EncodeToString(b)), []byte(strings.ToUpper(hex.EncodeToString(b))),
			[]byte(base64.StdEncoding.EncodeToString(b)), []byte(base64.RawURLEncoding.EncodeToString(b)))
	}
	return out
}

func TestCreateAgain(t *testing.T) {
	dir, out, _, k, res := createPilot(t)
	first := k.bundles[res.Bundle.ID]
	cfg := Config{Dir: dir, Out: out, Keeper: k, MakeTorrent: makeTorrent, Logger: slog.New(slog.DiscardHandler)}
	if _, err := Create(t.Context(), cfg); !errors.Is(err, ErrExists) {
		t.Fatalf("again without Force: %v, want ErrExists", err)
	}
	cfg.Force = true
	res2, err := Create(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Fresh keys, so another info hash.
	if res2.Bundle.InfoHash == first.InfoHash {
		t.Error("the same info hash with fresh keys")
	}
	if entries, _ := os.ReadDir(out); len(entries) != 2 {
		t.Errorf("OUT holds %d entries after --force", len(entries))
	}
}

func TestCreateKeeperFails(t *testing.T) {
	files := pilotFiles()
	dir := writeBundleDir(t, pilotManifest, files)
	out := filepath.Join(t.TempDir(), "out")
	boom := errors.New("database is locked")
	_, err := Create(t.Context(), Config{Dir: dir, Out: out, Keeper: &memKeeper{err: boom}, MakeTorrent: makeTorrent, Logger: slog.New(slog.DiscardHandler)})
	if !errors.Is(err, boom) {
		t.Fatalf("error %v, want the keeper's", err)
	}
	// Without its keys the content is of no use: nothing is left.
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("OUT holds %d entries after the keeper failed", len(entries))
	}
}

func TestCreateRefuses(t *testing.T) {
	files := pilotFiles()
	for _, tc := range []struct {
		name     string
		manifest string
		out      func(dir string) string
		now      time.Time
	}{
		{"out inside dir", pilotManifest, func(dir string) string { return filepath.Join(dir, "out") }, time.Time{}},
		{"out is dir's parent, id its name", pilotManifest, func(dir string) string {
			p := filepath.Join(filepath.Dir(dir), "children-of-the-machine")
			if err := os.Rename(dir, p); err != nil {
				t.Fatal(err)
			}
			return filepath.Dir(dir)
		}, time.Time{}},
		{"campaign over", pilotManifest, func(string) string { return t.TempDir() }, time.Date(2031, 7, 2, 0, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeBundleDir(t, tc.manifest, files)
			out := tc.out(dir)
			if _, err := os.Stat(dir); err != nil {
				dir = filepath.Join(out, "children-of-the-machine")
			}
			k := &memKeeper{}
			cfg := Config{Dir: dir, Out: out, Force: true, Keeper: k, MakeTorrent: makeTorrent, Logger: slog.New(slog.DiscardHandler)}
			if !tc.now.IsZero() {
				cfg.Now = func() time.Time { return tc.now }
			}
			_, err := Create(t.Context(), cfg)
			if err == nil {
				t.Fatal("made")
			}
			t.Log(err)
			if len(k.bundles) > 0 {
				t.Error("kept")
			}
			// The artist's files are untouched.
			for p, b := range files {
				if got, err := os.ReadFile(filepath.Join(dir, p)); err != nil || !bytes.Equal(got, b) {
					t.Errorf("%s changed: %v", p, err)
				}
			}
		})
	}
}

func TestLoadManifest(t *testing.T) {
	const two = "title = \"T\"\nartist = \"A\"\n[[file]]\npath = \"a.mp4\"\ngate = \"free\"\n[[file]]\npath = \"sub/b.mp4\"\ngate = \"email\"\n"
	for _, tc := range []struct {
		name  string
		files map[string][]byte
		setup func(t *testing.T, dir string)
		line  int    // of the first fault; -1: no fault
		fix   string // a word of the fix
	}{
		{"good, with hidden files beside", map[string][]byte{"a.mp4": {1}, "sub/b.mp4": {2}, ".DS_Store": {3}, ".git/x": {4}}, nil, -1, ""},
		{"missing", map[string][]byte{"a.mp4": {1}}, nil, 7, "no such file"},
		{"not listed", map[string][]byte{"a.mp4": {1}, "sub/b.mp4": {2}, "sub/c.mp4": {3}}, nil, 0, `path = "sub/c.mp4"`},
		{"a folder", map[string][]byte{"a.mp4": {1}, "sub/b.mp4/x": {2}}, nil, 7, "is a folder"},
		{"symlink out", map[string][]byte{"a.mp4": {1}}, func(t *testing.T, dir string) {
			outside := filepath.Join(t.TempDir(), "b.mp4")
			os.WriteFile(outside, []byte("secret"), 0o644)
			os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
			if err := os.Symlink("../../"+filepath.Base(filepath.Dir(outside))+"/b.mp4", filepath.Join(dir, "sub", "b.mp4")); err != nil {
				t.Fatal(err)
			}
		}, 7, "leads out of"},
		{"symlink inside", map[string][]byte{"a.mp4": {1}}, func(t *testing.T, dir string) {
			os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
			if err := os.Symlink("../a.mp4", filepath.Join(dir, "sub", "b.mp4")); err != nil {
				t.Fatal(err)
			}
		}, -1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeBundleDir(t, two, tc.files)
			if tc.setup != nil {
				tc.setup(t, dir)
			}
			_, err := LoadManifest(dir)
			if tc.line < 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var me *ManifestError
			if !errors.As(err, &me) {
				t.Fatalf("error %v, want a ManifestError", err)
			}
			if me.Line != tc.line || !strings.Contains(err.Error(), tc.fix) {
				t.Errorf("line %d (want %d), %q lacks %q", me.Line, tc.line, err, tc.fix)
			}
		})
	}
	if _, err := LoadManifest(t.TempDir()); err == nil || !strings.Contains(err.Error(), "has no bundle.toml") {
		t.Errorf("no manifest: %v", err)
	}
}

// TestCreateSymlinkedFile: a listed symlink inside the folder is copied
// as the file it leads to, and the torrent holds it.
func TestCreateSymlinkedFile(t *testing.T) {
	const m = "title = \"T\"\nartist = \"A\"\n[[file]]\npath = \"a.mp4\"\ngate = \"free\"\n[[file]]\npath = \"b.mp4\"\ngate = \"free\"\n"
	dir := writeBundleDir(t, m, map[string][]byte{"a.mp4": []byte("film")})
	if err := os.Symlink("a.mp4", filepath.Join(dir, "b.mp4")); err != nil {
		t.Fatal(err)
	}
	res, err := Create(t.Context(), Config{Dir: dir, Out: t.TempDir(), Keeper: &memKeeper{}, MakeTorrent: makeTorrent, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(filepath.Join(res.ContentDir, "b.mp4"))
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != 4 {
		t.Errorf("b.mp4 in the content: %v, %v", fi, err)
	}
}
