package player

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seedcast/seedcast/bundle"
	"github.com/seedcast/seedcast/e2e/testnet"
	"github.com/seedcast/seedcast/infohash"
	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/swarm"
)

// leechNode is a second node that downloads n's torrent by magnet from n
// over loopback TCP and serves the player's routes while it does.
func leechNode(t *testing.T, n *testNode) string {
	t.Helper()
	seedTorrent, _ := n.sw.Torrent(n.ih)
	sw := startSwarm(t, swarm.Config{})
	if _, err := sw.AddMagnet(seedTorrent.Magnet() + "&x.pe=127.0.0.1:" + strconv.Itoa(n.sw.Port())); err != nil {
		t.Fatal(err)
	}
	return servePlayer(t, sw)
}

// TestStreamRanges checks /stream against the original bytes, on the
// seeding node and on a node still downloading from it, with many
// concurrent readers.
func TestStreamRanges(t *testing.T) {
	n := newTestNode(t, map[string]int{"film.mp4": 3<<20 + 12345, "notes.txt": 100})
	film := n.data["bundle/film.mp4"]
	size := len(film)
	leech := leechNode(t, n)
	for _, node := range []struct{ name, url string }{{"seeding", n.url}, {"downloading", leech}} {
		t.Run(node.name, func(t *testing.T) {
			base := node.url + "/stream/" + n.ih.String() + "/bundle/film.mp4"
			// The downloading node may not have the metadata yet.
			err := testnet.WaitFor(30*time.Second, func() error {
				res, _ := get(t, base, "Range", "bytes=0-0")
				if res.StatusCode != 206 {
					return fmt.Errorf("stream not ready: %d", res.StatusCode)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			fixed := []struct {
				rng  string
				code int
				want []byte
			}{
				{"bytes=-100", 206, film[size-100:]},
				{fmt.Sprintf("bytes=%d-", size-1), 206, film[size-1:]},
				{fmt.Sprintf("bytes=%d-%d", size-10, size+100), 206, film[size-10:]},
				{fmt.Sprintf("bytes=%d-", size), 416, nil},
				{"bytes=abc", 416, nil},
			}
			for _, f := range fixed {
				res, body := get(t, base, "Range", f.rng)
				if res.StatusCode != f.code || (f.want != nil && !bytes.Equal(body, f.want)) {
					t.Errorf("Range %s: status %d, %d bytes; want %d, %d bytes", f.rng, res.StatusCode, len(body), f.code, len(f.want))
				}
			}
			var wg sync.WaitGroup
			errs := make(chan error, 64)
			for w := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := rand.New(rand.NewPCG(uint64(w), 9))
					for range 6 {
						a := r.IntN(size)
						b := a + r.IntN(min(size-a, 512<<10))
						res, body := get(t, base, "Range", fmt.Sprintf("bytes=%d-%d", a, b))
						if res.StatusCode != 206 || !bytes.Equal(body, film[a:b+1]) {
							errs <- fmt.Errorf("bytes=%d-%d: status %d, %d bytes, equal %v", a, b, res.StatusCode, len(body), bytes.Equal(body, film[a:b+1]))
						}
						if res.Header.Get("Content-Type") != "video/mp4" || res.Header.Get("Accept-Ranges") != "bytes" {
							errs <- fmt.Errorf("headers %v", res.Header)
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			res, body := get(t, base)
			if csp := res.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "sandbox") || res.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("a torrent's file served without sandbox and nosniff: CSP %q", csp)
			}
			if res.StatusCode != 200 || !bytes.Equal(body, film) {
				t.Errorf("whole file: status %d, equal %v", res.StatusCode, bytes.Equal(body, film))
			}
			// If-Range with the ETag gives the range; with another, the whole file.
			etag := res.Header.Get("ETag")
			if res, _ := get(t, base, "Range", "bytes=0-9", "If-Range", etag); res.StatusCode != 206 {
				t.Errorf("If-Range with the ETag: %d, want 206", res.StatusCode)
			}
			if res, _ := get(t, base, "Range", "bytes=0-9", "If-Range", `"other"`); res.StatusCode != 200 {
				t.Errorf("If-Range with another ETag: %d, want 200", res.StatusCode)
			}
		})
	}
	for path, code := range map[string]int{
		"/stream/" + n.ih.String() + "/bundle/missing.mp4":        404,
		"/stream/" + n.ih.String() + "/../../../etc/passwd":       404,
		"/stream/" + n.ih.String() + "/bundle/%2e%2e/%2e%2e/etc":  404,
		"/stream/" + fmt.Sprintf("%040d", 1) + "/bundle/film.mp4": 404,
		"/stream/nothex/bundle/film.mp4":                          400,
	} {
		if res, _ := get(t, n.url+path); res.StatusCode != code {
			t.Errorf("GET %s: %d, want %d", path, res.StatusCode, code)
		}
	}
}

func TestMP4Duration(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "cmd", "seedcast", "pilot", "seedcast-pilot.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := mp4Duration(f)
	if err != nil || d != 60*time.Second {
		t.Fatalf("pilot duration %v, %v; want 60s", d, err)
	}
	if _, err := mp4Duration(bytes.NewReader(make([]byte, 1000))); err == nil {
		t.Error("zeros parsed as an MP4")
	}
	for _, tt := range []struct {
		timescale uint32
		duration  uint64
		want      time.Duration // 0: an error
	}{
		{1000, 90_500, 90*time.Second + 500*time.Millisecond},
		{1<<32 - 1, 1e13, 2328306437080 * time.Nanosecond}, // ×1e9 overflows int64
		{1, 1 << 63, 0},   // longer than any film
		{1000, 0, 0},      // no duration
		{0, 1000, 0},      // no timescale
		{1<<32 - 1, 1, 0}, // less than a nanosecond
	} {
		d, err := mp4Duration(bytes.NewReader(moovV1(tt.timescale, tt.duration)))
		if tt.want == 0 && err == nil || tt.want != 0 && (err != nil || d != tt.want) {
			t.Errorf("timescale %d, duration %d: %v, %v; want %v", tt.timescale, tt.duration, d, err, tt.want)
		}
	}
	// The pilot is faststart: its moov box comes first, and a box starts
	// where it ends.
	pilot, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	_, end, err := mp4Head(bytes.NewReader(pilot))
	if err != nil || end < 1000 || end > 1<<20 {
		t.Fatalf("pilot moov ends at %d, %v; want within its first MiB", end, err)
	}
	if next := string(pilot[end+4 : end+8]); next != "mdat" && next != "free" {
		t.Errorf("the box after the pilot's moov is %q, want mdat or free", next)
	}
}

// moovV1 is a moov box holding only a version-1 movie header.
func moovV1(timescale uint32, duration uint64) []byte {
	b := []byte("\x00\x00\x00\x30moov\x00\x00\x00\x28mvhd\x01\x00\x00\x00")
	b = append(b, make([]byte, 16)...) // creation and modification times
	b = binary.BigEndian.AppendUint32(b, timescale)
	return binary.BigEndian.AppendUint64(b, duration)
}

// FuzzMP4Duration checks that no file head crashes the box walker.
func FuzzMP4Duration(f *testing.F) {
	pilot, err := os.ReadFile(filepath.Join("..", "cmd", "seedcast", "pilot", "seedcast-pilot.mp4"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pilot[:64<<10])
	f.Add([]byte("\x00\x00\x00\x01moov\xff\xff\xff\xff\xff\xff\xff\xff"))
	f.Add([]byte("\x00\x00\x00\x00moov\x00\x00\x00\x10mvhd\x01"))
	// A duration whose ×1e9 overflows int64 (found by CI's fuzzing).
	f.Add(moovV1(1<<32-1, 1e13))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := mp4Duration(bytes.NewReader(b))
		if err == nil && d <= 0 {
			t.Fatalf("duration %v without error", d)
		}
	})
}

func TestContentType(t *testing.T) {
	for _, tt := range []struct {
		name, want string
		mp4        bool
	}{
		{"film.mp4", "video/mp4", true},
		{"Film.M4V", "video/mp4", true},
		{"song.m4a", "audio/mp4", true},
		{"clip.mov", "video/quicktime", true},
		{"film.mkv", "video/x-matroska", false},
		{"song.mp3", "audio/mpeg", false},
		{"film.en.vtt", "text/vtt; charset=utf-8", false},
		{"film.srt", "application/x-subrip; charset=utf-8", false},
		{"notes.txt", "text/plain; charset=utf-8", false},
		{"poster.JPG", "image/jpeg", false},
		{"logo.svg", "image/svg+xml", false},
		{"data.bin", "application/octet-stream", false},
		{"README", "application/octet-stream", false},
	} {
		if got := ContentType(tt.name); got != tt.want {
			t.Errorf("ContentType(%q) = %q, want %q", tt.name, got, tt.want)
		}
		if got := isMP4(tt.name); got != tt.mp4 {
			t.Errorf("isMP4(%q) = %v, want %v", tt.name, got, tt.mp4)
		}
	}
}

// TestHeadStream checks the pace of a watch page's opening stream: 1 s of
// the film at once, then 1.25 times its bitrate. This file is no MP4, so
// its bitrate is taken to be 2 Mbit/s: 256 KiB at once, then 320 KiB/s,
// and 1 MiB takes at least 2 s.
func TestHeadStream(t *testing.T) {
	n := newTestNode(t, map[string]int{"film.mp4": 1 << 20})
	start := time.Now()
	res, body := get(t, n.url+"/stream/"+n.ih.String()+"/bundle/film.mp4?head=1")
	if res.StatusCode != 200 || !bytes.Equal(body, n.data["bundle/film.mp4"]) {
		t.Fatalf("GET ?head=1: %s, %d bytes", res.Status, len(body))
	}
	if took := time.Since(start); took < 2*time.Second {
		t.Errorf("1 MiB of an opening stream came in %v; want its last 768 KiB paced at 320 KiB/s", took)
	}
}

// TestGatedBitrate: the bitrate of a gated MP4, which peers and the disk
// hold as ciphertext, is read through the key of the viewer who unlocked
// it; without the key the header reads as noise and the rate stays
// unknown.
func TestGatedBitrate(t *testing.T) {
	const seconds, size = 10, 200 << 10
	plain := append(moovV1(1000, seconds*1000), make([]byte, size)...)
	plain = plain[:size]
	key := store.FileKey{Key: [32]byte{7}, IV: [16]byte{7}}
	// AES-CTR is its own inverse: the reader that decrypts also encrypts.
	enc, err := bundle.NewSeekReader(bytes.NewReader(plain), key)
	if err != nil {
		t.Fatal(err)
	}
	cipher, err := io.ReadAll(enc)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), "bundle")
	os.MkdirAll(root, 0o755)
	if err := os.WriteFile(filepath.Join(root, "film.mp4"), cipher, 0o644); err != nil {
		t.Fatal(err)
	}
	sw := startSwarm(t, swarm.Config{})
	tor, err := sw.Add(t.Context(), root)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		key  *store.FileKey
		want int64
	}{
		{"unlocked", &key, size / seconds},
		{"read as if in the clear", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mux := http.NewServeMux()
			ts := httptest.NewServer(mux)
			t.Cleanup(ts.Close)
			p, err := New(Config{Swarm: sw, PublicURL: ts.URL, Gate: func(*http.Request, infohash.Hash, string) (*store.FileKey, bool, error) {
				return tc.key, false, nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			p.Register(mux)
			res, body := get(t, ts.URL+"/stream/"+tor.InfoHash().String()+"/bundle/film.mp4?head=1", "Range", "bytes=0-99")
			if res.StatusCode != http.StatusPartialContent || tc.key != nil && !bytes.Equal(body, plain[:100]) {
				t.Fatalf("/stream: %d, %d bytes", res.StatusCode, len(body))
			}
			p.rates.mu.Lock()
			got := p.rates.m[fileKey{tor.InfoHash(), 0}].bytesPerSec
			p.rates.mu.Unlock()
			if got != tc.want {
				t.Errorf("bitrate %d bytes a second, want %d", got, tc.want)
			}
		})
	}
}
