package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/seedcast/seedcast/swarm"
)

// TestCheckArgs checks that serve refuses its arguments at once only when
// none of them can be served and --data keeps nothing.
func TestCheckArgs(t *testing.T) {
	dir := t.TempDir()
	film := filepath.Join(dir, "film.mp4")
	if err := os.WriteFile(film, []byte("film"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "gone.mp4")
	const badMagnet = "magnet:?xt=urn:btih:abcd"
	keeps := t.TempDir()
	kept := `{"version": 1, "torrents": [{"infohash": "5eedca5700000000000000000000000000000001", "magnet": "magnet:?xt=urn:btih:5eedca5700000000000000000000000000000001"}]}`
	if err := os.WriteFile(filepath.Join(keeps, "kept.json"), []byte(kept), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		data  string
		args  []string
		words []string // nil: accepted
	}{
		{"none", t.TempDir(), nil, nil},
		{"good and bad", t.TempDir(), []string{missing, film, badMagnet}, nil},
		{"info hash", t.TempDir(), []string{"5eedca5700000000000000000000000000000001"}, nil},
		{"url", t.TempDir(), []string{"http://127.0.0.1:1/film.torrent"}, nil},
		{"one bad", t.TempDir(), []string{missing}, []string{missing, "no such file or folder"}},
		{"all bad", t.TempDir(), []string{missing, badMagnet}, []string{"none of the 2 arguments can be served", missing, `"abcd"`}},
		{"all bad, some kept", keeps, []string{missing, badMagnet}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkArgs(nodeConfig{paths: tc.args, swarm: swarm.Config{DataDir: tc.data}})
			if tc.words == nil {
				if err != nil {
					t.Errorf("checkArgs(%q) = %v, want nil", tc.args, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("checkArgs(%q) = nil, want an error", tc.args)
			}
			for _, w := range tc.words {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("checkArgs(%q) = %q, lacks %q", tc.args, err, w)
				}
			}
		})
	}
}

// TestServeNothingServed runs serve with one argument that passes the
// checks at start but cannot be added, a URL that answers 404: the node
// starts, says why the argument was skipped, and exits 1, not serving the
// demo pilot in its place.
func TestServeNothingServed(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	u := srv.URL + "/film.torrent"
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	webrtcPort := udp.LocalAddr().(*net.UDPAddr).Port
	udp.Close()
	code, stderr := runCLI(t, nil, "serve", "--data", filepath.Join(t.TempDir(), "data"), "--addr", "127.0.0.1:0",
		"--bt-port=-1", "--webrtc-port", strconv.Itoa(webrtcPort), "--webrtc-interface", "lo",
		"--no-dht", "--no-port-forwarding", u)
	wantFix(t, code, 1, stderr, "nothing to serve", "no argument could be added", "give no argument to serve the demo pilot")
	if !strings.Contains(stderr, `msg="argument skipped" arg=`+u) || !strings.Contains(stderr, "404 Not Found") {
		t.Errorf("the log does not name %s with its reason:\n%s", u, stderr)
	}
	if strings.Contains(stderr, "seedcast-pilot") {
		t.Errorf("the node served the demo pilot:\n%s", stderr)
	}
}
