package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/seedcast/seedcast/bundle"
	"github.com/seedcast/seedcast/infohash"
	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/swarm"
)

// memStore stands for the node's store in the tests of bundle create.
type memStore struct {
	mu      sync.Mutex
	dataDir string
	bundles map[string]store.Bundle
	keys    map[string]map[string]store.FileKey
	closed  bool
}

func (s *memStore) PutBundle(_ context.Context, b store.Bundle, keys map[string]store.FileKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bundles[b.ID], s.keys[b.ID] = b, keys
	return nil
}

func (s *memStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// useMemStore has bundle create keep bundles in the memStore it returns.
func useMemStore(t *testing.T) *memStore {
	t.Helper()
	st := &memStore{bundles: map[string]store.Bundle{}, keys: map[string]map[string]store.FileKey{}}
	old := openKeeper
	openKeeper = func(_ context.Context, dsn, dataDir string, _ *slog.Logger) (keeper, error) {
		st.dataDir = dataDir
		return st, nil
	}
	t.Cleanup(func() { openKeeper = old })
	return st
}

// captureStdout collects what commands print for the user.
func captureStdout(t *testing.T) *bytes.Buffer {
	t.Helper()
	var out bytes.Buffer
	old := stdout
	stdout = &out
	t.Cleanup(func() { stdout = old })
	return &out
}

const testManifest = `title = "Children of the Machine"
artist = "Tom Nardone"
poster = "poster.jpg"

[[file]]
path = "poster.jpg"
gate = "free"

[[file]]
path = "pilot.mp4"
gate = "free"

[[file]]
path = "episode-2.mp4"
gate = "email"

[[file]]
path = "extras/making-of.mp4"
gate = "price"
price = "9.95 USD"

[campaign]
goal_backers = 250000
price = "9.95 USD"
`

// writeTestBundle writes a bundle's folder and returns it with its files.
func writeTestBundle(t *testing.T, manifest string) (string, map[string][]byte) {
	t.Helper()
	r := rand.New(rand.NewPCG(11, 12))
	files := map[string][]byte{}
	for p, n := range map[string]int{"poster.jpg": 2000, "pilot.mp4": 150_001, "episode-2.mp4": 100_003, "extras/making-of.mp4": 40_000} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		files[p] = b
	}
	dir := filepath.Join(t.TempDir(), "season-1")
	for p, b := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "bundle.toml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, files
}

func TestBundleCreate(t *testing.T) {
	st := useMemStore(t)
	out := captureStdout(t)
	dir, files := writeTestBundle(t, testManifest)
	outDir := filepath.Join(t.TempDir(), "out")
	data := filepath.Join(t.TempDir(), "data")
	id := "children-of-the-machine"

	code, stderr := runCLI(t, nil, "--log-level", "debug", "bundle", "create", "--public-url", "https://films.example.org", "--data", data, "-o", outDir, dir)
	if code != 0 {
		t.Fatalf("bundle create: status %d:\n%s", code, stderr)
	}
	b, ok := st.bundles[id]
	if !ok || st.dataDir != data || !st.closed {
		t.Fatalf("kept %v in %q, closed %v", st.bundles, st.dataDir, st.closed)
	}
	content := filepath.Join(outDir, id)
	torrentFile := filepath.Join(outDir, id+".torrent")

	// The .torrent names the node and is the one of the content folder,
	// as serve hashes it where it lies.
	mi, err := metainfo.LoadFromFile(torrentFile)
	if err != nil {
		t.Fatal(err)
	}
	if got := infohash.Hash(mi.HashInfoBytes()); got != b.InfoHash {
		t.Errorf(".torrent info hash %s, kept %s", got, b.InfoHash)
	}
	if mi.Announce != "wss://films.example.org/announce" || len(mi.UrlList) != 1 || mi.UrlList[0] != "https://films.example.org/webseed/"+b.InfoHash.String()+"/" {
		t.Errorf("announce %q, url-list %q", mi.Announce, mi.UrlList)
	}
	info, err := mi.UnmarshalInfo()
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != id || len(info.Files) != 4 {
		t.Errorf("torrent %q of %d files, want %q of 4", info.Name, len(info.Files), id)
	}
	served, err := swarm.Create(t.Context(), swarm.CreateConfig{Path: content, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if got := infohash.Hash(served.HashInfoBytes()); got != b.InfoHash {
		t.Errorf("serve would seed %s, the bundle is %s", got, b.InfoHash)
	}

	// What it printed: id, info hash, the gates, and how to serve it.
	printed := out.String()
	for _, want := range []string{
		"bundle:   " + id, "infohash: " + b.InfoHash.String(),
		"email            " + id + "/episode-2.mp4", "price 9.95 USD   " + id + "/extras/making-of.mp4",
		"free             " + id + "/pilot.mp4", "2 gated files encrypted",
		"serve it: seedcast serve --data " + data + " --public-url https://films.example.org " + content,
	} {
		if !strings.Contains(printed, want) {
			t.Errorf("stdout lacks %q:\n%s", want, printed)
		}
	}

	// The keys are in the store and nowhere else: not on stdout, not in
	// the logs (at debug), not in the .torrent, not in OUT.
	keys := st.keys[id]
	if len(keys) != 2 {
		t.Fatalf("%d keys kept, want 2", len(keys))
	}
	var outFiles [][]byte
	filepath.WalkDir(outDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			outFiles = append(outFiles, b)
		}
		return err
	})
	for p, k := range keys {
		for _, secret := range keyForms(k) {
			for _, where := range append([][]byte{[]byte(printed), []byte(stderr)}, outFiles...) {
				if bytes.Contains(where, secret) {
					t.Errorf("key of %s (as %q) shows outside the store", p, secret)
				}
			}
		}
	}
	for p, plain := range files {
		got, _ := os.ReadFile(filepath.Join(content, filepath.FromSlash(p)))
		gated := p == "episode-2.mp4" || p == "extras/making-of.mp4"
		if bytes.Equal(got, plain) == gated {
			t.Errorf("%s: plain %v, gated %v", p, bytes.Equal(got, plain), gated)
		}
	}

	// Again: refused before anything is touched, then replaced with
	// --force (SEEDCAST_FORCE).
	code, stderr = runCLI(t, nil, "bundle", "create", "--public-url", "https://films.example.org", "--data", data, "-o", outDir, dir)
	wantFix(t, code, 1, stderr, content+" exists", "--force (SEEDCAST_FORCE)", "-o (SEEDCAST_OUTPUT)")
	code, stderr = runCLI(t, map[string]string{"SEEDCAST_FORCE": "1", "SEEDCAST_OUTPUT": outDir, "SEEDCAST_DATA": data, "SEEDCAST_ALLOW_LOOPBACK": "1"},
		"bundle", "create", dir)
	if code != 0 {
		t.Fatalf("bundle create --force: status %d:\n%s", code, stderr)
	}
	if st.bundles[id].InfoHash == b.InfoHash {
		t.Error("made again with the same keys")
	}
}

// keyForms are the ways a key could leak: raw, hex and base64, of key
// and IV.
func keyForms(k store.FileKey) [][]byte {
	var out [][]byte
	for _, b := range [][]byte{k.Key[:], k.IV[:]} {
		out = append(out, b, []byte(hex.EncodeToString(b)), []byte(strings.ToUpper(hex.EncodeToString(b))),
			[]byte(base64.StdEncoding.EncodeToString(b)), []byte(base64.RawStdEncoding.EncodeToString(b)),
			[]byte(base64.RawURLEncoding.EncodeToString(b)))
	}
	return out
}

func TestBundleCreateRefuses(t *testing.T) {
	dir, _ := writeTestBundle(t, testManifest)
	data := t.TempDir()
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T) (args []string)
		words []string
	}{
		{"no public URL", func(t *testing.T) []string {
			useMemStore(t)
			return []string{"-o", t.TempDir(), dir}
		}, []string{"--public-url", "--allow-loopback"}},
		{"manifest fault", func(t *testing.T) []string {
			useMemStore(t)
			bad, _ := writeTestBundle(t, strings.Replace(testManifest, `gate = "email"`, `gate = "mail"`, 1))
			return []string{"--allow-loopback", "-o", t.TempDir(), bad}
		}, []string{"bundle.toml line 15", `gate = "mail"`, `gate = "email"`}},
		{"file not listed", func(t *testing.T) []string {
			useMemStore(t)
			extra, _ := writeTestBundle(t, testManifest)
			os.WriteFile(filepath.Join(extra, "episode-3.mp4"), []byte("x"), 0o644)
			return []string{"--allow-loopback", "-o", t.TempDir(), extra}
		}, []string{`"episode-3.mp4"`, `path = "episode-3.mp4"`, "move it out"}},
		{"output inside the folder", func(t *testing.T) []string {
			useMemStore(t)
			return []string{"--allow-loopback", "-o", filepath.Join(dir, "out"), dir}
		}, []string{"outside the bundle's folder", "-o"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"bundle", "create", "--data", data}, tc.setup(t)...)
			code, stderr := runCLI(t, nil, args...)
			if code != 1 {
				t.Fatalf("status %d, want 1:\n%s", code, stderr)
			}
			for _, w := range tc.words {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
	// Nothing was written into the bundle's folder.
	if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
		t.Error("output written inside the bundle's folder")
	}
}

// createForUnlock makes a bundle as bundle create does and returns what a
// client would download (the content folder, under dl) and the key file
// the node would hand out.
func createForUnlock(t *testing.T) (dl string, files map[string][]byte, keyFile []byte) {
	t.Helper()
	st := useMemStore(t)
	captureStdout(t)
	dir, files := writeTestBundle(t, testManifest)
	outDir := t.TempDir()
	code, stderr := runCLI(t, nil, "bundle", "create", "--allow-loopback", "--data", t.TempDir(), "-o", outDir, dir)
	if code != 0 {
		t.Fatalf("bundle create: status %d:\n%s", code, stderr)
	}
	b := st.bundles["children-of-the-machine"]
	kf, err := bundle.NewKeyFile(b, st.keys[b.ID])
	if err != nil {
		t.Fatal(err)
	}
	if keyFile, err = kf.Marshal(); err != nil {
		t.Fatal(err)
	}
	return outDir, files, keyFile
}
