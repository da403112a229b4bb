package player

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/seedcast/seedcast/e2e/testnet"
	"github.com/seedcast/seedcast/infohash"
	"github.com/seedcast/seedcast/swarm"
	"golang.org/x/time/rate"
)

// testNode seeds files on loopback and serves the player's routes.
type testNode struct {
	url  string
	sw   *swarm.Swarm
	data map[string][]byte // by torrent-relative path
	ih   infohash.Hash
}

func newTestNode(t *testing.T, files map[string]int) *testNode {
	t.Helper()
	return newTestNodeConfig(t, swarm.Config{}, files)
}

// newTestNodeConfig is newTestNode with a swarm of cfg.
func newTestNodeConfig(t *testing.T, cfg swarm.Config, files map[string]int) *testNode {
	t.Helper()
	root := filepath.Join(t.TempDir(), "bundle")
	data := make(map[string][]byte)
	r := rand.New(rand.NewChaCha8([32]byte{3}))
	for name, n := range files {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		data["bundle/"+filepath.ToSlash(name)] = b
	}
	cfg.Announce, cfg.WebSeedBase = []string{"ws://node/announce", "http://node/announce"}, "http://node/webseed/"
	sw := startSwarm(t, cfg)
	tor, err := sw.Add(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	return &testNode{url: servePlayer(t, sw), sw: sw, data: data, ih: tor.InfoHash()}
}

// startSwarm starts a swarm of cfg that sends nothing beyond loopback, in
// a data dir of its own.
func startSwarm(t *testing.T, cfg swarm.Config) *swarm.Swarm {
	t.Helper()
	cfg.DataDir, cfg.BTPort, cfg.ListenHost = t.TempDir(), -1, "127.0.0.1"
	cfg.NoDHT, cfg.NoPortForwarding = true, true
	// A node on loopback dials peers there, such as a magnet's x.pe hint.
	cfg.DialLoopback = true
	sw, err := swarm.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	testnet.Run(t, sw.Run)
	if err := sw.Up(context.Background()); err != nil {
		t.Fatal(err)
	}
	return sw
}

// servePlayer serves the player's routes for sw and returns their base URL.
func servePlayer(t *testing.T, sw *swarm.Swarm) string {
	t.Helper()
	mux := http.NewServeMux()
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	p, err := New(Config{Swarm: sw, PublicURL: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	p.Register(mux)
	return ts.URL
}

func get(t *testing.T, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

func TestWebSeedRanges(t *testing.T) {
	n := newTestNode(t, map[string]int{"film.mp4": 300<<10 + 5, "extras/notes.txt": 999})
	film := n.data["bundle/film.mp4"]
	base := n.url + "/webseed/" + n.ih.String() + "/"
	tests := []struct {
		name, path, rng string
		code            int
		want            []byte
	}{
		{"whole file", "bundle/film.mp4", "", 200, film},
		{"range", "bundle/film.mp4", "bytes=65530-131080", 206, film[65530:131081]},
		{"suffix", "bundle/film.mp4", "bytes=-10", 206, film[len(film)-10:]},
		{"last byte", "bundle/film.mp4", fmt.Sprintf("bytes=%d-", len(film)-1), 206, film[len(film)-1:]},
		{"beyond the end", "bundle/film.mp4", fmt.Sprintf("bytes=%d-", len(film)), 416, nil},
		{"WebTorrent's double slash", "/bundle/extras/notes.txt", "bytes=0-9", 206, n.data["bundle/extras/notes.txt"][:10]},
		{"not in the torrent", "bundle/other.mp4", "", 404, nil},
		{"dot dot out of the torrent", "../../../etc/passwd", "", 404, nil},
		{"encoded dot dot", "bundle/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "", 404, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.rng != "" {
				hdr = []string{"Range", tt.rng}
			}
			res, body := get(t, base+tt.path, hdr...)
			if res.StatusCode != tt.code {
				t.Fatalf("status %d, want %d (%d bytes)", res.StatusCode, tt.code, len(body))
			}
			if tt.want != nil && !bytes.Equal(body, tt.want) {
				t.Fatalf("got %d bytes, not the %d expected", len(body), len(tt.want))
			}
			if res.Header.Get("Access-Control-Allow-Origin") != "*" && tt.code < 400 {
				t.Error("no CORS header")
			}
		})
	}
	for _, bad := range []string{"/webseed/xyz/", "/webseed/" + fmt.Sprintf("%040d", 0) + "/"} {
		if res, _ := get(t, n.url+bad); res.StatusCode/100 != 4 {
			t.Errorf("GET %s: %d, want 4xx", bad, res.StatusCode)
		}
	}
}

func TestTorrentFileAndAPI(t *testing.T) {
	n := newTestNode(t, map[string]int{"a.bin": 70 << 10})
	ih := n.ih.String()
	res, body := get(t, n.url+"/torrents/"+ih+".torrent")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/x-bittorrent" {
		t.Fatalf("status %d, type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	mi, err := metainfo.Load(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if infohash.Hash(mi.HashInfoBytes()) != n.ih {
		t.Fatalf("served info hash %s, want %s", mi.HashInfoBytes(), n.ih)
	}
	if mi.AnnounceList[0][0] != "ws://node/announce" || len(mi.UrlList) != 1 || mi.UrlList[0] != "http://node/webseed/"+ih+"/" {
		t.Errorf("announce-list %v, url-list %v", mi.AnnounceList, mi.UrlList)
	}

	_, body = get(t, n.url+"/api/torrents")
	var list []map[string]any
	if err := json.Unmarshal(body, &list); err != nil || len(list) != 1 {
		t.Fatalf("api list %s: %v", body, err)
	}
	if list[0]["infohash"] != ih || list[0]["seeding"] != true {
		t.Errorf("api entry %v", list[0])
	}
	for _, tr := range []string{"tcp", "utp", "webrtc"} {
		if _, ok := list[0]["transports"].(map[string]any)[tr]; !ok {
			t.Errorf("no %s in transports", tr)
		}
	}
	for path, code := range map[string]int{
		"/torrents/" + ih:                 404,
		"/torrents/zz.torrent":            400,
		"/api/torrents/" + ih[:39] + "0":  404,
		"/api/torrents/" + ih:             200,
		"/api/torrents/" + bytesUpper(ih): 200,
	} {
		if res, _ := get(t, n.url+path); res.StatusCode != code {
			t.Errorf("GET %s: %d, want %d", path, res.StatusCode, code)
		}
	}
}

func bytesUpper(s string) string { return string(bytes.ToUpper([]byte(s))) }

// TestUploadRate checks that the web seed and /stream draw from the node's
// upload cap: 256 KiB at 128 KiB/s take at least 1.5 s (2 s, less the
// limiter's burst of one block), over either route.
func TestUploadRate(t *testing.T) {
	n := newTestNodeConfig(t, swarm.Config{UploadRate: 128 << 10}, map[string]int{"film.mp4": 256 << 10})
	for _, route := range []string{"/webseed/", "/stream/"} {
		start := time.Now()
		res, body := get(t, n.url+route+n.ih.String()+"/bundle/film.mp4")
		if res.StatusCode != 200 || !bytes.Equal(body, n.data["bundle/film.mp4"]) {
			t.Fatalf("GET %s: %s, %d bytes", route, res.Status, len(body))
		}
		if took := time.Since(start); took < 1500*time.Millisecond {
			t.Errorf("GET %s: 256 KiB in %v from a node capped at 128 KiB/s; want at least 1.5 s", route, took)
		}
	}
}

// TestBrowserReadsGoFirst checks that under an upload cap a browser's HTTP
// read is served ahead of a peer that takes tokens politely, as anacrolix
// does: while 192 KiB go to the browser at 128 KiB/s, the peer gets
// almost nothing, where an equal share would be half.
func TestBrowserReadsGoFirst(t *testing.T) {
	lim := rate.NewLimiter(128<<10, 16<<10)
	lim.AllowN(time.Now(), 16<<10) // the burst is spent, as on a busy node
	req := httptest.NewRequest("GET", "/webseed/x", nil)
	req.Header.Set("Sec-Fetch-Mode", "cors")
	if !fromBrowser(req) || fromBrowser(httptest.NewRequest("GET", "/webseed/x", nil)) {
		t.Fatal("fromBrowser does not tell a browser's request by its Sec-Fetch-Mode")
	}
	var served atomic.Int64
	w := bodyWriter{ResponseWriter: httptest.NewRecorder(), ctx: t.Context(), lim: lim, n: &served, first: fromBrowser(req)}
	done := make(chan struct{})
	var peer int64
	go func() {
		defer close(done)
		for served.Load() < 192<<10 {
			if take(t.Context(), lim, 16<<10) != nil {
				return
			}
			peer += 16 << 10
		}
	}()
	if _, err := w.Write(make([]byte, 192<<10)); err != nil {
		t.Fatal(err)
	}
	<-done
	if peer > 48<<10 {
		t.Errorf("a polite peer took %d KiB while a browser read 192 KiB; want the browser first", peer>>10)
	}
}

// TestRangeLimits checks the Range headers the node refuses with 416 and
// the file's size, on /stream and the web seed alike, and those it serves.
func TestRangeLimits(t *testing.T) {
	n := newTestNode(t, map[string]int{"film.mp4": 64 << 10})
	many := func(k int) string { return "bytes=" + strings.Repeat("0-0,", k-1) + "0-0" }
	for _, route := range []string{"/webseed/", "/stream/"} {
		url := n.url + route + n.ih.String() + "/bundle/film.mp4"
		for _, tt := range []struct {
			rng  string
			code int
		}{
			{"bytes=0-0", 206},
			{"bytes=-1", 206},
			{many(maxRanges), 206}, // multipart
			{many(maxRanges + 1), 416},
			{"bytes=-0", 416}, // ServeContent: 206 with an inverted Content-Range
			{"bytes=0-1, -0", 416},
			{"bytes=0-" + strings.Repeat("0", maxRangeHeader), 416},
			{"bytes=70000-", 416}, // beyond the end, by ServeContent
		} {
			res, _ := get(t, url, "Range", tt.rng)
			if res.StatusCode != tt.code {
				t.Errorf("GET %s with Range %.40q: %d, want %d", route, tt.rng, res.StatusCode, tt.code)
			}
			if tt.code == 416 && res.Header.Get("Content-Range") != fmt.Sprintf("bytes */%d", 64<<10) {
				t.Errorf("GET %s with Range %.40q: Content-Range %q, want the size", route, tt.rng, res.Header.Get("Content-Range"))
			}
		}
	}
}

// TestClientThatNeverReads checks that a client that asks for a file and
// reads nothing gives its conn back after writeStall, on /stream and the
// web seed: what it reads afterwards ends short of the file.
func TestClientThatNeverReads(t *testing.T) {
	defer func(d time.Duration) { writeStall = d }(writeStall)
	writeStall = 300 * time.Millisecond
	const size = 48 << 20 // more than loopback's socket buffers hold
	n := newTestNode(t, map[string]int{"film.mp4": size})
	for _, route := range []string{"/stream/", "/webseed/"} {
		u, _ := url.Parse(n.url)
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET %s%s/bundle/film.mp4 HTTP/1.1\r\nHost: %s\r\n\r\n", route, n.ih, u.Host)
		time.Sleep(10 * writeStall)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		got, err := io.Copy(io.Discard, c)
		if got >= size || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("GET %s, read after %v: %d bytes, %v; want the conn closed short of %d", route, 10*writeStall, got, err, size)
		}
	}
}

// FuzzRangeOK checks that no Range header crashes the check, and that a
// header it passes has at most maxRanges ranges and no zero-byte suffix.
func FuzzRangeOK(f *testing.F) {
	for _, s := range []string{"bytes=0-0", "bytes=-0", "bytes=0-1,2-3", "bytes=" + strings.Repeat("0-0,", 20), "items=1-2", "bytes= -0 ,1-", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		r := httptest.NewRequest("GET", "/stream/x", nil)
		r.Header.Set("Range", h)
		w := httptest.NewRecorder()
		ok := rangeOK(w, r, 1000)
		if ok == (w.Code == http.StatusRequestedRangeNotSatisfiable) {
			t.Fatalf("Range %q: ok %v with status %d", h, ok, w.Code)
		}
		if spec, isBytes := strings.CutPrefix(r.Header.Get("Range"), "bytes="); ok && isBytes {
			if strings.Count(spec, ",") >= maxRanges || len(r.Header.Get("Range")) > maxRangeHeader {
				t.Fatalf("Range %q passed with over %d ranges or %d bytes", h, maxRanges, maxRangeHeader)
			}
		}
		if from, to, ok := singleRange(h, 1000); ok && (from < 0 || from >= to || to > 1000) {
			t.Fatalf("Range %q read as [%d, %d) of 1000 bytes", h, from, to)
		}
	})
}

func TestSingleRange(t *testing.T) {
	for _, c := range []struct {
		h        string
		from, to int64
		ok       bool
	}{
		{"bytes=0-99", 0, 100, true},
		{"bytes=500-749", 500, 750, true},
		{"bytes=900-", 900, 1000, true},
		{"bytes=990-2000", 990, 1000, true},
		{"bytes=-100", 900, 1000, true},
		{"bytes=-5000", 0, 1000, true},
		{"bytes=1000-", 0, 0, false},
		{"bytes=5-4", 0, 0, false},
		{"bytes=-0", 0, 0, false},
		{"bytes=0-1,5-6", 0, 0, false},
		{"bytes=+1-2", 0, 0, false},
		{"bytes=a-b", 0, 0, false},
		{"items=0-1", 0, 0, false},
		{"", 0, 0, false},
	} {
		from, to, ok := singleRange(c.h, 1000)
		if ok != c.ok || ok && (from != c.from || to != c.to) {
			t.Errorf("singleRange(%q, 1000) = %d, %d, %v; want %d, %d, %v", c.h, from, to, ok, c.from, c.to, c.ok)
		}
	}
}
