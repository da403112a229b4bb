package bundle

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seedcast/seedcast/store"
)

func TestKeyFileRoundTrip(t *testing.T) {
	_, _, _, k, res := createPilot(t)
	b := res.Bundle
	kf, err := NewKeyFile(b, k.keys[b.ID])
	if err != nil {
		t.Fatal(err)
	}
	data, err := kf.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// The documented form: bundle, infohash as hex, files by path with
	// key and iv in base64, sha256 in hex, length.
	var doc struct {
		Bundle   string `json:"bundle"`
		InfoHash string `json:"infohash"`
		Files    map[string]map[string]any
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	e, ok := doc.Files[b.ID+"/episode-2.mp4"]
	if doc.Bundle != b.ID || doc.InfoHash != b.InfoHash.String() || len(doc.Files) != 2 || !ok {
		t.Fatalf("key file:\n%s", data)
	}
	for _, field := range []string{"key", "iv", "sha256", "length"} {
		if _, ok := e[field]; !ok {
			t.Errorf("no %q in %v", field, e)
		}
	}
	back, err := ParseKeyFile(data)
	if err != nil {
		t.Fatal(err)
	}
	for p, key := range k.keys[b.ID] {
		if back.Files[p].FileKey() != key {
			t.Errorf("%s: key changed in the round trip", p)
		}
	}
}

func TestParseKeyFileRejects(t *testing.T) {
	good := func() map[string]any {
		return map[string]any{
			"bundle": "film", "infohash": strings.Repeat("ab", 20),
			"files": map[string]any{"film/a.mp4": map[string]any{
				"key": bytes.Repeat([]byte{1}, 32), "iv": bytes.Repeat([]byte{2}, 16),
				"sha256": strings.Repeat("0f", 32), "length": 10,
			}},
		}
	}
	entry := func(m map[string]any) map[string]any {
		return m["files"].(map[string]any)["film/a.mp4"].(map[string]any)
	}
	for _, tc := range []struct {
		name   string
		change func(map[string]any)
	}{
		{"good", func(map[string]any) {}},
		{"bad id", func(m map[string]any) { m["bundle"] = "Film!" }},
		{"no infohash", func(m map[string]any) { delete(m, "infohash") }},
		{"bad infohash", func(m map[string]any) { m["infohash"] = "xyz" }},
		{"no files", func(m map[string]any) { m["files"] = map[string]any{} }},
		{"path outside the bundle", func(m map[string]any) {
			m["files"] = map[string]any{"other/a.mp4": entry(m)}
		}},
		{"path climbing", func(m map[string]any) {
			m["files"] = map[string]any{"film/../../etc/cron.d/x": entry(m)}
		}},
		{"short key", func(m map[string]any) { entry(m)["key"] = []byte{1, 2} }},
		{"long iv", func(m map[string]any) { entry(m)["iv"] = bytes.Repeat([]byte{2}, 17) }},
		{"bad sha256", func(m map[string]any) { entry(m)["sha256"] = "abc" }},
		{"negative length", func(m map[string]any) { entry(m)["length"] = -1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := good()
			tc.change(m)
			data, _ := json.Marshal(m)
			_, err := ParseKeyFile(data)
			if tc.name == "good" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrBadKeyFile) {
				t.Errorf("error %v, want ErrBadKeyFile", err)
			}
		})
	}
	if _, err := ParseKeyFile([]byte("<html>")); !errors.Is(err, ErrBadKeyFile) {
		t.Errorf("HTML: %v", err)
	}
	if _, err := ParseKeyFile(bytes.Repeat([]byte(" "), maxKeyFileBytes+1)); !errors.Is(err, ErrBadKeyFile) {
		t.Errorf("too big: %v", err)
	}
}

// FuzzParseKeyFile: a key file comes from a node over the network
// (unlock --link); no input crashes the parser, and what it accepts
// holds paths that stay inside the bundle's folder and keys of the
// right sizes.
func FuzzParseKeyFile(f *testing.F) {
	f.Add([]byte(`{"bundle":"film","infohash":"abababababababababababababababababababab","files":{"film/a.mp4":{"key":"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=","iv":"AgICAgICAgICAgICAgICAg==","sha256":"0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f","length":10}}}`))
	f.Add([]byte(`{"bundle":"film","infohash":"abababababababababababababababababababab","files":{"film/../x":{}}}`))
	f.Add([]byte(`{"files":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		kf, err := ParseKeyFile(data)
		if err != nil {
			return
		}
		for p, e := range kf.Files {
			rel, ok := strings.CutPrefix(p, kf.Bundle+"/")
			if !ok || checkPath(rel) != "" || !filepath.IsLocal(rel) {
				t.Fatalf("accepted path %q", p)
			}
			if len(e.Key) != 32 || len(e.IV) != 16 || e.Length < 0 {
				t.Fatalf("accepted entry %+v", e)
			}
		}
	})
}

// download lays out what a BitTorrent client downloads of the bundle:
// the content folder, named after the bundle, under dl.
func download(t *testing.T, res *Result) string {
	t.Helper()
	dl := t.TempDir()
	err := filepath.WalkDir(res.ContentDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(filepath.Dir(res.ContentDir), p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		os.MkdirAll(filepath.Join(dl, filepath.Dir(rel)), 0o755)
		return os.WriteFile(filepath.Join(dl, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dl
}

func TestUnlock(t *testing.T) {
	_, _, files, k, res := createPilot(t)
	kf, err := NewKeyFile(res.Bundle, k.keys[res.Bundle.ID])
	if err != nil {
		t.Fatal(err)
	}
	dl := download(t, res)
	quiet := slog.New(slog.DiscardHandler)

	// DIR may be the folder holding the download, or the download's own.
	for _, dir := range []string{dl, filepath.Join(dl, res.Bundle.ID)} {
		out := t.TempDir()
		u, err := Unlock(t.Context(), UnlockConfig{Keys: kf, Dir: dir, Out: out, Logger: quiet})
		if err != nil {
			t.Fatalf("unlock %s: %v", dir, err)
		}
		if u.From != filepath.Join(dl, res.Bundle.ID) || len(u.Files) != 2 {
			t.Errorf("unlocked %+v", u)
		}
		for _, rel := range []string{"episode-2.mp4", "extras/making-of.mp4"} {
			got, err := os.ReadFile(filepath.Join(out, res.Bundle.ID, rel))
			if err != nil || !bytes.Equal(got, files[rel]) {
				t.Errorf("%s: not the plain file (%v)", rel, err)
			}
		}
		// Once more: the plain files are there.
		if _, err := Unlock(t.Context(), UnlockConfig{Keys: kf, Dir: dir, Out: out, Logger: quiet}); !errors.Is(err, ErrExists) {
			t.Errorf("again: %v, want ErrExists", err)
		}
		if _, err := Unlock(t.Context(), UnlockConfig{Keys: kf, Dir: dir, Out: out, Force: true, Logger: quiet}); err != nil {
			t.Errorf("again with Force: %v", err)
		}
	}

	t.Run("wrong key", func(t *testing.T) {
		wrong := *kf
		wrong.Files = map[string]KeyFileEntry{}
		for p, e := range kf.Files {
			e.Key = bytes.Clone(e.Key)
			e.Key[0] ^= 1
			wrong.Files[p] = e
		}
		out := t.TempDir()
		_, err := Unlock(t.Context(), UnlockConfig{Keys: &wrong, Dir: dl, Out: out, Logger: quiet})
		if !errors.Is(err, ErrWrongKey) {
			t.Fatalf("error %v, want ErrWrongKey", err)
		}
		// Nothing is left of the wrong plain bytes, not even a temporary.
		filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				t.Errorf("left behind: %s", p)
			}
			return nil
		})
	})

	t.Run("incomplete", func(t *testing.T) {
		part := download(t, res)
		ep := filepath.Join(part, res.Bundle.ID, "episode-2.mp4")
		if err := os.Truncate(ep, 1000); err != nil {
			t.Fatal(err)
		}
		_, err := Unlock(t.Context(), UnlockConfig{Keys: kf, Dir: part, Out: t.TempDir(), Logger: quiet})
		if !errors.Is(err, ErrIncomplete) {
			t.Errorf("error %v, want ErrIncomplete", err)
		}
		if _, err := Unlock(t.Context(), UnlockConfig{Keys: kf, Dir: t.TempDir(), Out: t.TempDir(), Logger: quiet}); !errors.Is(err, ErrIncomplete) {
			t.Errorf("nothing downloaded: %v, want ErrIncomplete", err)
		}
	})

	t.Run("over the download", func(t *testing.T) {
		// -o the folder holding the download: the plain files would take
		// the ciphertext's place.
		_, err := Unlock(t.Context(), UnlockConfig{Keys: kf, Dir: dl, Out: dl, Force: true, Logger: quiet})
		if err == nil || errors.Is(err, ErrWrongKey) {
			t.Fatalf("error %v, want a refusal", err)
		}
		ct, _ := os.ReadFile(filepath.Join(dl, res.Bundle.ID, "episode-2.mp4"))
		if bytes.Equal(ct, files["episode-2.mp4"]) {
			t.Error("the download was overwritten with plain bytes")
		}
	})
}

func TestNewKeyFileNeedsEveryKey(t *testing.T) {
	b := store.Bundle{ID: "film", Files: []store.BundleFile{{Path: "film/a", Gate: store.Gate{Kind: store.GateEmail}}}}
	if _, err := NewKeyFile(b, nil); err == nil {
		t.Error("a key file without the key of a gated file")
	}
}
