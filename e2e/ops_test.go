//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/seedcast/seedcast/e2e/testnet"
)

// opsTimeout bounds each wait of the ops tests: a start, a download, a
// figure catching up.
const opsTimeout = 2 * time.Minute

// startOpsNode starts seedcast serve in host of tn with the data dir
// dataDir ("" for a fresh one), info logs and args, with DHT and port
// forwarding off, and waits for /healthz. Unless the test kills it, its
// cleanup stops it and fails the test if it does not exit cleanly.
func startOpsNode(t *testing.T, tn *testnet.Net, host, dataDir string, args ...string) *testnet.Serve {
	t.Helper()
	s := tn.StartServe(context.Background(), t, host, testnet.ServeOptions{
		Bin:      seedcastBin,
		LogLevel: "info",
		DataDir:  dataDir,
		Args:     append([]string{"--no-dht", "--no-port-forwarding"}, args...),
	})
	t.Cleanup(func() {
		if s.Proc.Exited() {
			return
		}
		if err := s.Proc.Stop(testnet.StopTimeout); err != nil {
			t.Errorf("seedcast serve in %s did not stop cleanly: %v", host, err)
		}
	})
	start := time.Now()
	if err := s.WaitReady(context.Background(), opsTimeout); err != nil {
		t.Fatalf("seedcast serve in %s not ready: %v", host, err)
	}
	t.Logf("seedcast serve in %s ready after %v", host, time.Since(start).Round(time.Millisecond))
	return s
}

// writeSeeded writes size bytes from a ChaCha8 stream seeded by name to
// path, so that files of different names differ, and returns their
// SHA-256 in hex.
func writeSeeded(t *testing.T, path string, size int64) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	w := bufio.NewWriter(io.MultiWriter(f, h))
	if _, err := io.CopyN(w, rand.NewChaCha8(sha256.Sum256([]byte("seedcast ops "+filepath.Base(path)))), size); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// scrapeMetrics fetches /metrics from s and parses it with Prometheus's
// text parser.
func scrapeMetrics(ctx context.Context, s *testnet.Serve) (map[string]*dto.MetricFamily, error) {
	b, err := s.Get(ctx, "/metrics")
	if err != nil {
		return nil, err
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("/metrics does not parse: %w", err)
	}
	return fams, nil
}

// sample returns the value of the sample of family name with label value
// label ("" for a family without labels); ok is false if there is none.
func sample(fams map[string]*dto.MetricFamily, name, label string) (v float64, ok bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.Metric {
		if label != "" && !slices.ContainsFunc(m.Label, func(l *dto.LabelPair) bool { return l.GetValue() == label }) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		}
	}
	return 0, false
}

// TestMetrics has aria2c download a file from seedcast over TCP, then a
// client read it over /stream, both from another host of a test network,
// and checks that /metrics parses with Prometheus's text parser and that
// the peers and byte counters of each transport move with the transfer.
// The node's upload is capped so that each transfer lasts seconds, long
// enough to see its peer connected.
func TestMetrics(t *testing.T) {
	aria2 := requireTool(t, "aria2c")
	tn := testnet.New(t, "seed", "leech")
	ctx := context.Background()
	const size = 4 << 20
	file := filepath.Join(t.TempDir(), "metrics.bin")
	sum := writeSeeded(t, file, size)
	seed := startOpsNode(t, tn, "seed", "", "--no-webseed", "--upload-rate", "4Mbit/s", file)

	fams, err := scrapeMetrics(ctx, seed)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{
		"seedcast_peers", "seedcast_sent_bytes_total", "seedcast_received_bytes_total", "seedcast_torrents",
		"seedcast_stream_viewers", "seedcast_piece_hash_failures_total", "seedcast_tracker_sockets",
		"seedcast_tracker_swarms", "seedcast_tracker_announces_total", "seedcast_tracker_offers_relayed_total",
		"seedcast_tracker_offers_dropped_total", "seedcast_build_info", "go_goroutines", "process_resident_memory_bytes",
	} {
		if f := fams[name]; f == nil || f.GetHelp() == "" {
			t.Errorf("/metrics: no %s with a help text", name)
		}
	}
	for _, tr := range []string{"tcp", "utp", "webrtc", "webseed", "stream"} {
		if v, ok := sample(fams, "seedcast_sent_bytes_total", tr); !ok || v != 0 {
			t.Errorf("before any transfer: sent{%s} = %v (present %v), want 0", tr, v, ok)
		}
	}
	if v, _ := sample(fams, "seedcast_torrents", "seeding"); v != 1 {
		t.Errorf("seedcast_torrents{seeding} = %v, want 1", v)
	}
	if t.Failed() {
		t.FailNow()
	}

	var list []apiTorrent
	if err := seed.GetJSON(ctx, "/api/torrents", &list); err != nil || len(list) != 1 {
		t.Fatalf("/api/torrents: %v, %+v", err, list)
	}
	ih := list[0].Infohash
	raw, err := seed.Get(ctx, "/torrents/"+ih+".torrent")
	if err != nil {
		t.Fatal(err)
	}
	torrentPath := filepath.Join(t.TempDir(), "metrics.torrent")
	if err := os.WriteFile(torrentPath, raw, 0o644); err != nil {
		t.Fatal(err)
	}

	// BitTorrent over TCP: aria2c finds the node through its HTTP tracker.
	dir := t.TempDir()
	p := testnet.Start(t, "aria2c", tn.Command(context.Background(), "leech", aria2,
		"--no-conf=true", "--dir="+dir,
		"--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false", "--enable-peer-exchange=false",
		"--disable-ipv6=true", "--listen-port=6999", "--async-dns=false",
		"--seed-time=0", "--bt-stop-timeout=60", "--check-integrity=true",
		"--bt-save-metadata=false", "--file-allocation=none", "--summary-interval=0",
		"--console-log-level=warn", torrentPath))
	var peak float64 // the most TCP peers seen during the download
	pctx, cancel := context.WithTimeout(ctx, downloadTimeout)
	defer cancel()
	err = testnet.Poll(pctx, p, func(ctx context.Context) error {
		fams, err := scrapeMetrics(ctx, seed)
		if err != nil {
			return err
		}
		peers, _ := sample(fams, "seedcast_peers", "tcp")
		sent, _ := sample(fams, "seedcast_sent_bytes_total", "tcp")
		peak = max(peak, peers)
		if peers < 1 || sent <= 0 || sent >= size {
			return fmt.Errorf("during the download: peers{tcp} %v, sent{tcp} %v", peers, sent)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("the TCP peer never showed in /metrics mid-download: %v", err)
	}
	if err := p.Wait(downloadTimeout); err != nil {
		t.Fatalf("aria2c: %v", err)
	}
	if got, err := sha256File(filepath.Join(dir, "metrics.bin")); err != nil || got != sum {
		t.Fatalf("aria2c's download: %v, SHA-256 %s, want %s", err, got, sum)
	}
	err = waitMetrics(ctx, seed, func(fams map[string]*dto.MetricFamily) error {
		sent, _ := sample(fams, "seedcast_sent_bytes_total", "tcp")
		announces, _ := sample(fams, "seedcast_tracker_announces_total", "http")
		if sent < size || announces < 1 {
			return fmt.Errorf("after the download: sent{tcp} %v, want at least %d; HTTP announces %v, want some", sent, size, announces)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("TCP: peers{tcp} reached %v during the download; sent{tcp} reached the file's %d bytes", peak, size)

	// HTTP: an open /stream response is a viewer, and its body counts.
	req, err := http.NewRequest("GET", seed.URL+"/stream/"+ih+"/metrics.bin", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tn.HTTPClient("leech").Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	h := sha256.New()
	if _, err := io.CopyN(h, res.Body, 64<<10); err != nil {
		t.Fatal(err)
	}
	err = waitMetrics(ctx, seed, func(fams map[string]*dto.MetricFamily) error {
		viewers, _ := sample(fams, "seedcast_stream_viewers", "")
		peers, _ := sample(fams, "seedcast_peers", "stream")
		sent, _ := sample(fams, "seedcast_sent_bytes_total", "stream")
		if viewers != 1 || peers != 1 || sent <= 0 {
			return fmt.Errorf("mid-stream: viewers %v, peers{stream} %v, sent{stream} %v; want 1, 1 and some", viewers, peers, sent)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(h, res.Body); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := hex.EncodeToString(h.Sum(nil)); got != sum {
		t.Fatalf("/stream body: SHA-256 %s, want %s", got, sum)
	}
	err = waitMetrics(ctx, seed, func(fams map[string]*dto.MetricFamily) error {
		viewers, _ := sample(fams, "seedcast_stream_viewers", "")
		sent, _ := sample(fams, "seedcast_sent_bytes_total", "stream")
		tcp, _ := sample(fams, "seedcast_sent_bytes_total", "tcp")
		if viewers != 0 || sent < size || tcp < size {
			return fmt.Errorf("after the stream: viewers %v, sent{stream} %v, sent{tcp} %v; want 0 and at least %d each", viewers, sent, tcp, size)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	fams, err = scrapeMetrics(ctx, seed)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, label string
		want        float64
	}{
		{"seedcast_received_bytes_total", "tcp", 0}, // the node seeds
		{"seedcast_sent_bytes_total", "webseed", 0}, // --no-webseed
		{"seedcast_piece_hash_failures_total", "", 0},
	} {
		if v, _ := sample(fams, tc.name, tc.label); v != tc.want {
			t.Errorf("%s{%s} = %v, want %v", tc.name, tc.label, v, tc.want)
		}
	}
}

// waitMetrics scrapes s until check passes, or fails after opsTimeout.
func waitMetrics(ctx context.Context, s *testnet.Serve, check func(map[string]*dto.MetricFamily) error) error {
	ctx, cancel := context.WithTimeout(ctx, opsTimeout)
	defer cancel()
	return testnet.Poll(ctx, s.Proc, func(ctx context.Context) error {
		fams, err := scrapeMetrics(ctx, s)
		if err != nil {
			return err
		}
		return check(fams)
	})
}

// adminClient calls a node's admin API from a host of a test network.
type adminClient struct {
	t      *testing.T
	client *http.Client
	url    string
}

// adminAnswer is an answer of the admin API.
type adminAnswer struct {
	code      int
	challenge string // WWW-Authenticate
	body      []byte
	err       string // the error of a JSON error body
}

func (c adminClient) do(method, path, token, ctype string, body []byte) adminAnswer {
	c.t.Helper()
	req, err := http.NewRequest(method, c.url+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := c.client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		c.t.Fatal(err)
	}
	a := adminAnswer{code: res.StatusCode, challenge: res.Header.Get("WWW-Authenticate"), body: b}
	if res.StatusCode >= 400 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			c.t.Errorf("%s %s: %s with %q, want a JSON error", method, path, res.Status, b)
		}
		a.err = e.Error
	}
	return a
}

// add posts a JSON add and returns the info hash of a 201 answer.
func (c adminClient) add(token, what string, body any) string {
	c.t.Helper()
	b, _ := json.Marshal(body)
	return c.added(what, c.do("POST", "/api/torrents", token, "application/json", b))
}

func (c adminClient) added(what string, a adminAnswer) string {
	c.t.Helper()
	var got struct {
		InfoHash string `json:"infohash"`
	}
	if a.code != http.StatusCreated || json.Unmarshal(a.body, &got) != nil || len(got.InfoHash) != 40 {
		c.t.Fatalf("adding %s: %d %q, want 201 with the torrent's JSON", what, a.code, a.body)
	}
	return got.InfoHash
}

// opsTorrent is an element of /api/torrents with its progress.
type opsTorrent struct {
	apiTorrent
	Progress float64 `json:"progress"`
	// Seeding is set once every piece is verified.
	Seeding bool `json:"seeding"`
}

// logLine is a line of serve's JSON log, reduced to what the test reads.
type logLine struct {
	Msg          string `json:"msg"`
	Name         string `json:"name"`
	InfoHash     string `json:"infohash"`
	HashedBefore *bool  `json:"hashed_before"`
	Took         int64  `json:"took"` // nanoseconds, as slog's JSON handler writes a duration
}

// jsonLog returns the log lines of serve: every line of its output that
// it did not print on stdout, each of which must be a JSON object
// (--log-format json). It fails the test on any other line, and on any
// line that holds secret.
func jsonLog(t *testing.T, p *testnet.Process, secret string) []logLine {
	t.Helper()
	printed := make(map[string]bool)
	for line := range strings.Lines(p.Stdout().String()) {
		printed[line] = true
	}
	var out []logLine
	for line := range strings.Lines(p.Output().String()) {
		if printed[line] {
			continue
		}
		if strings.Contains(line, secret) {
			t.Errorf("the log holds the admin token: %s", line)
		}
		var l logLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Errorf("a log line that is not JSON (--log-format json): %q", line)
			continue
		}
		out = append(out, l)
	}
	return out
}

var tokenLine = regexp.MustCompile(`(?m)^admin token: (\S+)$`)

// TestAdminAPI adds a file, a folder, a magnet and a .torrent through the
// admin API of a node, removes the folder, kills the node with SIGKILL
// and starts it again on its data dir: everything comes back but the
// folder, the magnet with its info although the node that served it is
// gone, and nothing seeded is hashed again. Along the way it checks that
// the API refuses requests without the token, or with a wrong one, and
// paths outside --allow-root, symlinks resolved; that the token is made
// into --data with mode 0600 and printed once on stdout, never in the log.
func TestAdminAPI(t *testing.T) {
	tn := testnet.New(t, "seed", "other")
	ctx := context.Background()

	// What the other node serves, for the magnet and the .torrent.
	src := t.TempDir()
	byMagnet, byTorrent := filepath.Join(src, "by-magnet.bin"), filepath.Join(src, "by-torrent.bin")
	sums := map[string]string{
		"by-magnet.bin":  writeSeeded(t, byMagnet, 1<<20+17),
		"by-torrent.bin": writeSeeded(t, byTorrent, 1<<20+29),
	}
	other := startOpsNode(t, tn, "other", "", byMagnet, byTorrent)
	var otherList []apiTorrent
	if err := other.GetJSON(ctx, "/api/torrents", &otherList); err != nil || len(otherList) != 2 {
		t.Fatalf("the other node's torrents: %v, %+v", err, otherList)
	}
	var magnet, torrentIH string
	for _, tt := range otherList {
		switch tt.Name {
		case "by-magnet.bin":
			magnet = tt.Magnet
		case "by-torrent.bin":
			torrentIH = tt.Infohash
		}
	}
	torrentFile, err := other.Get(ctx, "/torrents/"+torrentIH+".torrent")
	if err != nil {
		t.Fatal(err)
	}

	// What the node under test seeds in place, and what it must refuse.
	base := t.TempDir()
	root, outside := filepath.Join(base, "films"), filepath.Join(base, "private")
	film, cli, clips := filepath.Join(root, "film.bin"), filepath.Join(root, "cli.bin"), filepath.Join(root, "clips")
	writeSeeded(t, film, 6<<20+1)
	writeSeeded(t, cli, 3<<20+3)
	randomTree(t, clips, 1<<20)
	writeSeeded(t, filepath.Join(outside, "secret.bin"), 1000)
	if err := os.Symlink(filepath.Join(outside, "secret.bin"), filepath.Join(root, "escape.bin")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "escape-dir")); err != nil {
		t.Fatal(err)
	}

	args := []string{"--log-format", "json", "--allow-root", root, cli}
	seed := startOpsNode(t, tn, "seed", "", args...)
	dataDir := seed.DataDir
	m := tokenLine.FindStringSubmatch(seed.Proc.Stdout().String())
	if m == nil {
		t.Fatalf("no admin token printed at first start; stdout:\n%s", seed.Proc.Stdout())
	}
	token := m[1]
	fi, err := os.Stat(filepath.Join(dataDir, "admin_token"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("admin_token mode %04o, want 0600", fi.Mode().Perm())
	}
	if b, _ := os.ReadFile(filepath.Join(dataDir, "admin_token")); strings.TrimSpace(string(b)) != token {
		t.Errorf("admin_token holds another token than the one printed")
	}
	api := adminClient{t: t, client: tn.HTTPClient("other"), url: seed.URL}
	body, _ := json.Marshal(map[string]string{"path": film})

	// Without the token, or with a wrong one.
	for _, tc := range []struct{ name, token, challenge string }{
		{"no token", "", `Bearer realm="seedcast admin"`},
		{"wrong token", "not-the-token-" + token[:8], `Bearer realm="seedcast admin", error="invalid_token"`},
	} {
		if a := api.do("POST", "/api/torrents", tc.token, "application/json", body); a.code != 401 || a.challenge != tc.challenge {
			t.Errorf("POST with %s: %d, WWW-Authenticate %q; want 401 and %q", tc.name, a.code, a.challenge, tc.challenge)
		}
		if a := api.do("DELETE", "/api/torrents/"+strings.Repeat("a", 40), tc.token, "", nil); a.code != 401 {
			t.Errorf("DELETE with %s: %d, want 401", tc.name, a.code)
		}
	}
	var list []apiTorrent
	if err := seed.GetJSON(ctx, "/api/torrents", &list); err != nil || len(list) != 1 {
		t.Fatalf("after refused requests: %v, %d torrents, want the command line's alone", err, len(list))
	}

	// Refused: outside the roots, directly or through a symlink; bad
	// input of each kind.
	for _, tc := range []struct {
		name string
		body any
		code int
	}{
		{"outside", map[string]string{"path": filepath.Join(outside, "secret.bin")}, 403},
		{"symlink out", map[string]string{"path": filepath.Join(root, "escape.bin")}, 403},
		{"through a symlinked folder", map[string]string{"path": filepath.Join(root, "escape-dir", "secret.bin")}, 403},
		{"dot-dot out", map[string]string{"path": root + "/../private/secret.bin"}, 403},
		{"missing", map[string]string{"path": filepath.Join(root, "missing.bin")}, 404},
		{"relative", map[string]string{"path": "films/film.bin"}, 400},
		{"bad magnet", map[string]string{"magnet": "magnet:?xt=urn:btih:nothex"}, 400},
		{"unknown field", map[string]string{"url": "http://example.org/a.torrent"}, 400},
	} {
		b, _ := json.Marshal(tc.body)
		if a := api.do("POST", "/api/torrents", token, "application/json", b); a.code != tc.code {
			t.Errorf("%s: %d %q, want %d", tc.name, a.code, a.err, tc.code)
		} else if tc.code == 403 && !strings.Contains(a.err, "--allow-root") {
			t.Errorf("%s: %q does not say what to do", tc.name, a.err)
		}
	}
	if a := api.do("POST", "/api/torrents", token, "application/x-bittorrent", []byte("d4:infoi1ee")); a.code != 400 {
		t.Errorf("a bad .torrent: %d %q, want 400", a.code, a.err)
	}

	// Added: a file and a folder by path, a magnet, a .torrent.
	ihs := map[string]string{"cli.bin": list[0].Infohash}
	ihs["film.bin"] = api.add(token, "a file", map[string]string{"path": film})
	ihs["clips"] = api.add(token, "a folder", map[string]string{"path": clips})
	ihs["by-magnet.bin"] = api.add(token, "a magnet", map[string]string{"magnet": magnet})
	ihs["by-torrent.bin"] = api.added("a .torrent", api.do("POST", "/api/torrents", token, "application/x-bittorrent", torrentFile))
	if ihs["by-torrent.bin"] != torrentIH {
		t.Errorf("the .torrent was added as %s, want %s", ihs["by-torrent.bin"], torrentIH)
	}
	if a := api.do("POST", "/api/torrents", token, "application/json", body); a.code != 200 {
		t.Errorf("adding the file again: %d, want 200", a.code)
	}
	// The magnet's and the .torrent's data come from the other node. The
	// wait is for every piece verified (seeding), not for progress, which
	// counts blocks written before their piece is checked.
	for _, name := range []string{"by-magnet.bin", "by-torrent.bin"} {
		ctx, cancel := context.WithTimeout(ctx, downloadTimeout)
		err := testnet.Poll(ctx, seed.Proc, func(ctx context.Context) error {
			var st opsTorrent
			if err := seed.GetJSON(ctx, "/api/torrents/"+ihs[name], &st); err != nil {
				return err
			}
			if st.Name != name || !st.Seeding {
				return fmt.Errorf("%s: name %q, progress %v, seeding %v", name, st.Name, st.Progress, st.Seeding)
			}
			return nil
		})
		cancel()
		if err != nil {
			t.Fatalf("fetching %s from the other node: %v", name, err)
		}
	}

	// Removed: the folder, which stays on disk.
	if a := api.do("DELETE", "/api/torrents/"+ihs["clips"], token, "", nil); a.code != 204 {
		t.Fatalf("DELETE the folder: %d %q, want 204", a.code, a.err)
	}
	if a := api.do("DELETE", "/api/torrents/"+ihs["clips"], token, "", nil); a.code != 404 {
		t.Errorf("DELETE it again: %d, want 404", a.code)
	}
	if _, err := seed.Get(ctx, "/api/torrents/"+ihs["clips"]); err == nil {
		t.Error("the removed folder is still in /api/torrents")
	}
	if _, err := os.Stat(filepath.Join(clips, "a.bin")); err != nil {
		t.Errorf("the removed folder's files: %v, want them left where they were", err)
	}
	delete(ihs, "clips")

	first := jsonLog(t, seed.Proc, token)
	hashed := make(map[string]time.Duration)
	for _, l := range first {
		if l.Msg == "hashed" {
			hashed[l.Name] = time.Duration(l.Took)
		}
	}
	for _, name := range []string{"cli.bin", "film.bin"} {
		d, ok := hashed[name]
		if !ok {
			t.Fatalf("the first start logged no hashing of %s", name)
		}
		t.Logf("first start: %s hashed in full, took %v", name, d)
	}

	// SIGKILL: nothing is flushed on the way out. The other node stops
	// too, so that the magnet's info can only come from the data dir.
	seed.Proc.Kill()
	if err := other.Proc.Stop(testnet.StopTimeout); err != nil {
		t.Errorf("the other node: %v", err)
	}
	seed = startOpsNode(t, tn, "seed", dataDir, args...)
	if out := seed.Proc.Stdout().String(); strings.Contains(out, "admin token") || strings.Contains(out, token) {
		t.Errorf("the restart printed the token again:\n%s", out)
	}
	var back []opsTorrent
	if err := seed.GetJSON(ctx, "/api/torrents", &back); err != nil {
		t.Fatal(err)
	}
	got := make(map[string]string)
	for _, tt := range back {
		got[tt.Name] = tt.Infohash
		if !tt.Seeding {
			t.Errorf("after the restart %s is at %v, want every piece verified at once", tt.Name, tt.Progress)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(ihs) {
		t.Fatalf("after kill -9 and a restart: %v, want %v (the folder removed)", got, ihs)
	}
	if t.Failed() {
		t.FailNow()
	}
	// The fetched ones came back with their info, though their only peer
	// is gone, and their data is whole.
	for name, want := range sums {
		// Complete, the file is read from disk; a bound keeps a regression
		// from waiting for pieces no peer will bring.
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		b, err := seed.Get(ctx, "/stream/"+ihs[name]+"/"+name)
		cancel()
		if err != nil {
			t.Errorf("%s after the restart: %v", name, err)
			continue
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != want {
			t.Errorf("%s after the restart: SHA-256 %x, want %s", name, sum, want)
		}
	}
	// The token still works, and was not printed again.
	if a := api.do("DELETE", "/api/torrents/"+strings.Repeat("b", 40), token, "", nil); a.code != 404 {
		t.Errorf("the kept token after the restart: %d, want 404 for an unknown torrent", a.code)
	}
	err = testnet.WaitFor(10*time.Second, func() error {
		for _, l := range jsonLog(t, seed.Proc, token) {
			if l.Msg == "torrents restored" {
				return nil
			}
		}
		return fmt.Errorf("no %q line", "torrents restored")
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range jsonLog(t, seed.Proc, token) {
		switch {
		case l.Msg == "hashed":
			t.Errorf("the restart hashed %s again in full (took %v)", l.Name, time.Duration(l.Took))
		case l.Msg == "torrent added" && (l.Name == "film.bin" || l.Name == "cli.bin"):
			if l.HashedBefore == nil || !*l.HashedBefore {
				t.Errorf("the restart added %s without its kept info: %+v", l.Name, l)
			} else {
				t.Logf("restart: %s added from its info and piece completion in --data (hashed_before=true), not hashed again (first start: %v)",
					l.Name, hashed[l.Name])
			}
		}
	}
}

// TestVersionCommand runs seedcast version on the binary the tests built:
// it names the module version and the Go version it was built with, and
// the commit, or says why it cannot.
func TestVersionCommand(t *testing.T) {
	out, err := exec.Command(seedcastBin, "version").Output()
	if err != nil {
		t.Fatalf("seedcast version: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "seedcast ") || !strings.HasPrefix(lines[1], "commit:") ||
		lines[2] != "go:       "+runtime.Version() {
		t.Fatalf("seedcast version printed %q, want its version, commit and %s", out, runtime.Version())
	}
	t.Logf("seedcast version:\n%s", out)
}
