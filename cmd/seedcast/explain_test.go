package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/alecthomas/kong"
	"github.com/anacrolix/torrent/metainfo"
)

// runCLI runs the command line args in-process as main does, with the
// environment env, and returns its exit status and what it wrote to
// stderr. Commands that fail their checks return before they open a
// socket.
func runCLI(t *testing.T, env map[string]string, args ...string) (int, string) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "SEEDCAST_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	var stderr bytes.Buffer
	code := run(t.Context(), args, &stderr, kong.Exit(func(code int) { t.Fatalf("kong exited with %d on %q", code, args) }))
	return code, stderr.String()
}

// wantFix checks that a failed command said, in its last line, what is
// wrong and what to do: every one of words.
func wantFix(t *testing.T, code, wantCode int, stderr string, words ...string) {
	t.Helper()
	if code != wantCode {
		t.Errorf("exit status %d, want %d; stderr:\n%s", code, wantCode, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "seedcast: ") {
		t.Errorf("last line %q does not start with \"seedcast: \"", last)
	}
	for _, w := range words {
		if !strings.Contains(last, w) {
			t.Errorf("error %q lacks %q", last, w)
		}
	}
}

func TestBadFlagIsOneLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"log level", nil, []string{"--log-level=verbose", "serve"},
			[]string{"--log-level (SEEDCAST_LOG_LEVEL)", `"verbose" is not a log level`, "debug, info, warn or error", "'seedcast --help'"}},
		{"log level after the command", nil, []string{"serve", "--log-level", "loud"},
			[]string{"--log-level (SEEDCAST_LOG_LEVEL)", `"loud"`, "debug, info, warn or error", "'seedcast serve --help'"}},
		{"log level from env", map[string]string{"SEEDCAST_LOG_LEVEL": "chatty"}, []string{"tracker"},
			[]string{"--log-level (SEEDCAST_LOG_LEVEL)", `"chatty"`, "debug, info, warn or error", "'seedcast tracker --help'"}},
		{"number", nil, []string{"serve", "--bt-port", "many"},
			[]string{"--bt-port (SEEDCAST_BT_PORT)", `"many"`, "'seedcast serve --help'"}},
		{"unknown flag", nil, []string{"create", "--public", "x", "."},
			[]string{"--public", "'seedcast create --help'"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stderr := runCLI(t, tc.env, tc.args...)
			wantFix(t, code, 2, stderr, tc.want...)
			if n := strings.Count(strings.TrimSpace(stderr), "\n"); n != 0 {
				t.Errorf("stderr has %d lines, want 1:\n%s", n+1, stderr)
			}
			if strings.Contains(stderr, "Usage:") || strings.Contains(stderr, "Flags:") {
				t.Errorf("stderr holds the usage:\n%s", stderr)
			}
		})
	}
}

func TestLogLevelAccepted(t *testing.T) {
	for _, level := range append(slices.Clone(logLevels), "DEBUG", "warn+2") {
		c, _ := parse(t, []string{"--log-level", level, "tracker"}, nil)
		if got := strings.ToLower(c.LogLevel.String()); !strings.HasPrefix(got, strings.ToLower(level[:4])) {
			t.Errorf("--log-level %s read as %s", level, c.LogLevel)
		}
	}
}

func TestCreateRefusesLocalOnlyURLs(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "film.bin")
	if err := os.WriteFile(src, bytes.Repeat([]byte("seedcast"), 40000), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "film.torrent")
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"no public URL", nil, nil,
			[]string{"--public-url (SEEDCAST_PUBLIC_URL)", "http://127.0.0.1:8080", "--allow-loopback (SEEDCAST_ALLOW_LOOPBACK)"}},
		{"localhost", nil, []string{"--public-url", "http://localhost:8080"},
			[]string{"--public-url http://localhost:8080 (SEEDCAST_PUBLIC_URL)", "this machine alone", "--allow-loopback"}},
		{"unspecified", map[string]string{"SEEDCAST_PUBLIC_URL": "http://0.0.0.0:8080"}, nil,
			[]string{"--public-url http://0.0.0.0:8080 (SEEDCAST_PUBLIC_URL)", "--allow-loopback"}},
		{"IPv6 loopback", nil, []string{"--public-url", "https://[::1]:8443"},
			[]string{"--public-url https://[::1]:8443 (SEEDCAST_PUBLIC_URL)"}},
		{"loopback tracker", nil, []string{"--public-url", "https://films.example.org", "--tracker", "udp://127.0.0.1:6969/announce"},
			[]string{"--tracker udp://127.0.0.1:6969/announce (SEEDCAST_TRACKER)", "--allow-loopback"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"create", "-o", out}, tc.args...), src)
			code, stderr := runCLI(t, tc.env, args...)
			wantFix(t, code, 1, stderr, tc.want...)
			if strings.Contains(stderr, "msg=hashed") {
				t.Errorf("hashed before refusing:\n%s", stderr)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s written despite the error", out)
			}
		})
	}
}

func TestCreate(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "film.bin")
	if err := os.WriteFile(src, bytes.Repeat([]byte("seedcast"), 40000), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "film.torrent")

	code, stderr := runCLI(t, nil, "create", "--public-url", "https://films.example.org", "-o", out, src)
	if code != 0 {
		t.Fatalf("create: status %d:\n%s", code, stderr)
	}
	mi, err := metainfo.LoadFromFile(out)
	if err != nil {
		t.Fatal(err)
	}
	ih := mi.HashInfoBytes().HexString()
	if want := [][]string{{"wss://films.example.org/announce", "https://films.example.org/announce"}}; !slices.EqualFunc(mi.AnnounceList, want, slices.Equal) {
		t.Errorf("announce-list %q, want %q", mi.AnnounceList, want)
	}
	if want := []string{"https://films.example.org/webseed/" + ih + "/"}; !slices.Equal(mi.UrlList, want) {
		t.Errorf("url-list %q, want %q", mi.UrlList, want)
	}
	written, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}

	// Again: the torrent is there, and stays as it was.
	code, stderr = runCLI(t, nil, "create", "--public-url", "https://other.example.org", "-o", out, src)
	wantFix(t, code, 1, stderr, out+" exists", "--force (SEEDCAST_FORCE)", "-o (SEEDCAST_OUTPUT)")
	if strings.Contains(stderr, "msg=hashed") {
		t.Errorf("hashed before refusing:\n%s", stderr)
	}
	if b, _ := os.ReadFile(out); !bytes.Equal(b, written) {
		t.Error("the torrent changed without --force")
	}

	// With --force, and a node on loopback allowed.
	code, stderr = runCLI(t, map[string]string{"SEEDCAST_FORCE": "true"}, "create", "--allow-loopback", "-o", out, src)
	if code != 0 {
		t.Fatalf("create --force --allow-loopback: status %d:\n%s", code, stderr)
	}
	if mi, err = metainfo.LoadFromFile(out); err != nil {
		t.Fatal(err)
	}
	if want := "ws://127.0.0.1:8080/announce"; mi.Announce != want {
		t.Errorf("announce %q, want %q", mi.Announce, want)
	}
}

func TestServeRefusesAtStart(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "broken.torrent")
	if err := os.WriteFile(corrupt, []byte("<html>Not found</html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.torrent")
	if err := os.WriteFile(truncated, []byte("d8:announce35:http://tracker.example.org/announce4:infod6:lengthi12e4:name"), 0o644); err != nil {
		t.Fatal(err)
	}
	aFile := filepath.Join(dir, "a-file")
	if err := os.WriteFile(aFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"missing interface", []string{"--webrtc-interface", "eth9"},
			[]string{"--webrtc-interface eth9 (SEEDCAST_WEBRTC_INTERFACE)", "no such network interface", "this machine has lo"}},
		{"short magnet", []string{"magnet:?xt=urn:btih:abcd"},
			[]string{"not a valid magnet link", `"abcd"`, "want magnet:?xt=urn:btih:<40 hex digits"}},
		{"magnet without xt", []string{"magnet:?dn=film"},
			[]string{"not a valid magnet link", "no xt=urn:btih:", "want magnet:?xt=urn:btih:"}},
		{"v2-only magnet", []string{"magnet:?xt=urn:btmh:1220" + strings.Repeat("ab", 32)},
			[]string{"not a valid magnet link", "no v1 info hash"}},
		{"corrupt torrent", []string{corrupt},
			[]string{corrupt, "not a valid .torrent file", "downloaded whole"}},
		{"truncated torrent", []string{truncated},
			[]string{truncated, "not a valid .torrent file"}},
		{"missing path", []string{filepath.Join(dir, "film.mp4")},
			[]string{filepath.Join(dir, "film.mp4"), "no such file or folder", "magnet link"}},
		{"data dir under a file", []string{"--data", filepath.Join(aFile, "data")},
			[]string{"--data " + filepath.Join(aFile, "data") + " (SEEDCAST_DATA)", "not a directory"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"serve", "--data", filepath.Join(t.TempDir(), "data"), "--no-dht", "--no-port-forwarding"}, tc.args...)
			code, stderr := runCLI(t, nil, args...)
			wantFix(t, code, 1, stderr, tc.want...)
			if strings.Contains(stderr, "listening") {
				t.Errorf("the node started before refusing:\n%s", stderr)
			}
		})
	}
}

func TestHealthcheck(t *testing.T) {
	var ready atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		if !ready.Load() {
			http.Error(w, "starting: adding torrents", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")

	code, stderr := runCLI(t, map[string]string{"SEEDCAST_ADDR": addr}, "healthcheck")
	wantFix(t, code, 1, stderr, "503 Service Unavailable", "starting: adding torrents")
	ready.Store(true)
	if code, stderr := runCLI(t, map[string]string{"SEEDCAST_ADDR": addr}, "healthcheck"); code != 0 {
		t.Errorf("healthcheck of a healthy node: status %d:\n%s", code, stderr)
	}
	srv.Close()
	code, stderr = runCLI(t, nil, "healthcheck", "--addr", addr, "--timeout", "2s")
	wantFix(t, code, 1, stderr, "is seedcast serve running", "--addr "+addr+" (SEEDCAST_ADDR)")
}
