package pilot

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// old is a modification time far enough in the past that a rewrite by
// Install is always visible.
var old = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)

func TestInstall(t *testing.T) {
	tests := []struct {
		name string
		// setup prepares dir and returns the directory to pass to Install.
		setup func(t *testing.T, dir string) string
		// keep says the file at the path must not be rewritten.
		keep    bool
		wantErr bool
	}{
		{
			name:  "fresh directory",
			setup: func(t *testing.T, dir string) string { return dir },
		},
		{
			name:  "missing directory is created",
			setup: func(t *testing.T, dir string) string { return filepath.Join(dir, "a", "b") },
		},
		{
			name: "identical file is left alone",
			setup: func(t *testing.T, dir string) string {
				writeOld(t, filepath.Join(dir, Name), Bytes())
				return dir
			},
			keep: true,
		},
		{
			name: "same size different content is replaced",
			setup: func(t *testing.T, dir string) string {
				b := bytes.Clone(Bytes())
				b[len(b)/2] ^= 0xff
				writeOld(t, filepath.Join(dir, Name), b)
				return dir
			},
		},
		{
			name: "truncated file is replaced",
			setup: func(t *testing.T, dir string) string {
				writeOld(t, filepath.Join(dir, Name), Bytes()[:1000])
				return dir
			},
		},
		{
			name: "directory in the way is an error",
			setup: func(t *testing.T, dir string) string {
				if err := os.MkdirAll(filepath.Join(dir, Name, "x"), 0o755); err != nil {
					t.Fatal(err)
				}
				return dir
			},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.setup(t, t.TempDir())
			path, err := Install(dir)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Install(%q) = %q, want an error", dir, path)
				}
				t.Logf("Install(%q): %v", dir, err)
				if entries, _ := os.ReadDir(dir); len(entries) != 1 {
					t.Errorf("Install(%q) left %d entries, want just %s", dir, len(entries), Name)
				}
				return
			}
			if err != nil {
				t.Fatalf("Install(%q): %v", dir, err)
			}
			if want := filepath.Join(dir, Name); path != want {
				t.Errorf("Install(%q) = %q, want %q", dir, path, want)
			}
			checkInstalled(t, path)
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if kept := fi.ModTime().Equal(old); kept != tt.keep {
				t.Errorf("file kept = %v (mtime %v), want %v", kept, fi.ModTime(), tt.keep)
			}

			// A second Install must not touch the file it just wrote.
			if err := os.Chtimes(path, old, old); err != nil {
				t.Fatal(err)
			}
			if _, err := Install(dir); err != nil {
				t.Fatalf("second Install(%q): %v", dir, err)
			}
			fi, err = os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if !fi.ModTime().Equal(old) {
				t.Errorf("second Install rewrote the file: mtime %v, want %v", fi.ModTime(), old)
			}
			checkInstalled(t, path)
		})
	}
}

// writeOld writes b to path and dates it to old.
func writeOld(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
}

// checkInstalled checks that path holds the pilot and that no temporary file
// was left beside it.
func checkInstalled(t *testing.T, path string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, Bytes()) {
		t.Errorf("%s: content differs from the pilot (%d bytes, want %d)", path, len(got), len(Bytes()))
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != Name {
			t.Errorf("stray file %q beside the pilot", e.Name())
		}
	}
}

func TestBytesIsFaststartMP4(t *testing.T) {
	b := Bytes()
	if n := len(b); n == 0 || n >= 5<<20 {
		t.Fatalf("pilot is %d bytes, want 1..5 MiB", n)
	}
	boxes := topLevelBoxes(t, b)
	if len(boxes) == 0 || boxes[0] != "ftyp" {
		t.Fatalf("top-level boxes %q, want ftyp first", boxes)
	}
	moov, mdat := -1, -1
	for i, typ := range boxes {
		switch {
		case typ == "moov" && moov < 0:
			moov = i
		case typ == "mdat" && mdat < 0:
			mdat = i
		}
	}
	if moov < 0 || mdat < 0 || moov > mdat {
		t.Errorf("top-level boxes %q, want moov before mdat (faststart)", boxes)
	}
}

// topLevelBoxes returns the types of the top-level ISO BMFF boxes in b.
func topLevelBoxes(t *testing.T, b []byte) []string {
	t.Helper()
	var types []string
	for off := uint64(0); off < uint64(len(b)); {
		if uint64(len(b))-off < 8 {
			t.Fatalf("truncated box header at offset %d", off)
		}
		size := uint64(binary.BigEndian.Uint32(b[off:]))
		typ := string(b[off+4 : off+8])
		switch size {
		case 0: // the box runs to the end of the file
			size = uint64(len(b)) - off
		case 1: // a 64-bit size follows the type
			if uint64(len(b))-off < 16 {
				t.Fatalf("truncated large box header at offset %d", off)
			}
			size = binary.BigEndian.Uint64(b[off+8:])
		}
		if size < 8 || size > uint64(len(b))-off {
			t.Fatalf("box %q at offset %d has bad size %d", typ, off, size)
		}
		types = append(types, typ)
		off += size
	}
	return types
}
