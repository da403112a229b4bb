//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seedcast/seedcast/e2e/testnet"
)

// Timeouts shared by the e2e tests. They are generous because the binary is
// built with -race, which slows hashing and the swarm several times over.
const (
	// readyTimeout bounds how long serve may take to hash its content and
	// answer /healthz.
	readyTimeout = 2 * time.Minute
)

// freePort returns a port that is free on 127.0.0.1 for TCP, and for UDP as
// well when udp is set (the BitTorrent port takes both, for uTP). Another
// process may take it before the caller binds it; the kernel hands out
// ephemeral ports in random order, so that is rare.
func freePort(t testing.TB, udp bool) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("free port: %v", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		if !udp {
			l.Close()
			return port
		}
		c, err := net.ListenPacket("udp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		l.Close()
		if err != nil {
			continue
		}
		c.Close()
		return port
	}
	t.Fatal("free port: no port free for both TCP and UDP in 20 tries")
	return 0
}

// node is a running `seedcast serve`.
type node struct {
	proc *testnet.Process
	// URL is the base URL of its HTTP listener, http://127.0.0.1:port.
	URL string
	// HTTPPort and BTPort are its HTTP and BitTorrent (TCP and uTP) ports;
	// WebRTCPort is the UDP port of its WebRTC peer connections.
	HTTPPort, BTPort, WebRTCPort int
	// DataDir is its --data directory.
	DataDir string
	// Torrents is /api/torrents as read when it became ready.
	Torrents []apiTorrent
}

// apiTorrent is an element of GET /api/torrents, reduced to the fields of the
// contract.
type apiTorrent struct {
	Infohash string    `json:"infohash"`
	Name     string    `json:"name"`
	Length   int64     `json:"length"`
	Files    []apiFile `json:"files"`
	Magnet   string    `json:"magnet"`
}

// apiFile is a file of an apiTorrent. For multi-file torrents Path starts
// with the torrent's name.
type apiFile struct {
	Path   string `json:"path"`
	Length int64  `json:"length"`
}

// serveConfig is what serveOptions set.
type serveConfig struct {
	args      []string
	flags     []string
	env       []string
	noWebseed bool
	logLevel  string
	// webrtcInterfaces are the --webrtc-interface values; startServe keeps
	// WebRTC, and pion's mDNS with it, on lo.
	webrtcInterfaces []string
}

// A serveOption changes how startServe runs seedcast.
type serveOption func(*serveConfig)

// serveArgs sets the positional arguments: paths, .torrent files, magnets.
// Without it serve seeds the built-in demo pilot.
func serveArgs(args ...string) serveOption {
	return func(c *serveConfig) { c.args = append(c.args, args...) }
}

// serveNoWebseed passes --no-webseed, so torrents carry no url-list and
// clients can fetch pieces only from peers.
func serveNoWebseed() serveOption {
	return func(c *serveConfig) { c.noWebseed = true }
}

// serveFlags appends extra command line flags.
func serveFlags(flags ...string) serveOption {
	return func(c *serveConfig) { c.flags = append(c.flags, flags...) }
}

// serveCommand returns the command that startServe runs, with free loopback
// ports and a fresh data dir, so that tests running serve some other way (in
// a network namespace, say) can build on it. It does not start it.
func serveCommand(t testing.TB, opts ...serveOption) (cmd *exec.Cmd, n *node) {
	t.Helper()
	cfg := serveConfig{logLevel: os.Getenv("E2E_LOG_LEVEL"), webrtcInterfaces: []string{"lo"}}
	if cfg.logLevel == "" {
		cfg.logLevel = "info"
	}
	for _, o := range opts {
		o(&cfg)
	}
	n = &node{
		HTTPPort:   freePort(t, false),
		BTPort:     freePort(t, true),
		WebRTCPort: freePort(t, true),
		DataDir:    filepath.Join(t.TempDir(), "data"),
	}
	n.URL = "http://127.0.0.1:" + strconv.Itoa(n.HTTPPort)
	args := []string{"serve",
		"--addr", "127.0.0.1:" + strconv.Itoa(n.HTTPPort),
		"--bt-port", strconv.Itoa(n.BTPort),
		// The default, 3478, would make parallel nodes collide.
		"--webrtc-port", strconv.Itoa(n.WebRTCPort),
		"--data", n.DataDir,
		"--no-dht",
		"--no-port-forwarding",
		"--log-level", cfg.logLevel,
	}
	for _, name := range cfg.webrtcInterfaces {
		args = append(args, "--webrtc-interface", name)
	}
	if cfg.noWebseed {
		args = append(args, "--no-webseed")
	}
	args = append(args, cfg.flags...)
	args = append(args, cfg.args...)
	cmd = exec.Command(seedcastBin, args...)
	cmd.Env = append(testnet.CleanEnv(), cfg.env...)
	return cmd, n
}

// startServe starts `seedcast serve` on free loopback ports with DHT and
// port forwarding off and WebRTC on lo only, waits until /healthz answers 200 and the start-up
// lines are printed, and reads /api/torrents. When the test ends it sends
// SIGINT and fails the test unless serve exits with status 0 within
// testnet.StopTimeout. Set E2E_LOG_LEVEL=debug for serve's debug logs.
func startServe(t testing.TB, opts ...serveOption) *node {
	t.Helper()
	cmd, n := serveCommand(t, opts...)
	n.proc = testnet.Start(t, "seedcast", cmd)
	// Cleanups run last-registered first, so this one stops serve and checks
	// its exit before testnet.Start's prints the log of a failed test.
	var stopped bool
	t.Cleanup(func() {
		if stopped {
			return
		}
		if err := n.stop(); err != nil {
			t.Errorf("seedcast serve did not stop cleanly: %v", err)
		}
	})
	start := time.Now()
	if err := n.waitReady(readyTimeout); err != nil {
		stopped = true
		n.stop()
		t.Fatalf("seedcast serve not ready: %v", err)
	}
	t.Logf("seedcast serve ready at %s (bt port %d) after %v with %d torrents",
		n.URL, n.BTPort, time.Since(start).Round(time.Millisecond), len(n.Torrents))
	return n
}

// stop interrupts serve and waits for a clean exit.
func (n *node) stop() error {
	return n.proc.Stop(testnet.StopTimeout)
}

// waitReady polls /healthz, then reads /api/torrents and waits for the
// start-up lines on stdout, all within timeout. It gives up at once if serve
// exits.
func (n *node) waitReady(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := testnet.WaitOK(ctx, http.DefaultClient, n.URL+"/healthz", n.proc); err != nil {
		return err
	}
	body, err := n.get("/api/torrents")
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, &n.Torrents); err != nil {
		return fmt.Errorf("GET /api/torrents: %w in %q", err, truncate(body, 512))
	}
	// The contract has serve print, per torrent, an "infohash: <hex>" line on
	// stdout; it may come just after /healthz turns ready.
	return testnet.Poll(ctx, n.proc, func(context.Context) error {
		printed := printedInfohashes(n.proc.Stdout().String())
		for _, tt := range n.Torrents {
			if !printed[strings.ToLower(tt.Infohash)] {
				return fmt.Errorf("stdout has no line %q for %s", "infohash: "+tt.Infohash, tt.Name)
			}
		}
		return nil
	})
}

var infohashLine = regexp.MustCompile(`(?m)^\s*infohash:\s*([0-9a-fA-F]{40})\s*$`)

// printedInfohashes returns the set of info hashes (lower case) printed on
// "infohash: " lines.
func printedInfohashes(stdout string) map[string]bool {
	m := make(map[string]bool)
	for _, sub := range infohashLine.FindAllStringSubmatch(stdout, -1) {
		m[strings.ToLower(sub[1])] = true
	}
	return m
}

// get fetches path from the node and returns the body of a 200 response.
func (n *node) get(path string) ([]byte, error) {
	res, err := http.Get(n.URL + path)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %q", path, res.Status, truncate(body, 512))
	}
	return body, nil
}

// torrent returns the torrent named name from n.Torrents, failing the test if
// there is none.
func (n *node) torrent(t testing.TB, name string) apiTorrent {
	t.Helper()
	var names []string
	for _, tt := range n.Torrents {
		if tt.Name == name {
			return tt
		}
		names = append(names, tt.Name)
	}
	t.Fatalf("/api/torrents has no torrent named %q; it has %q", name, names)
	return apiTorrent{}
}

// metainfo fetches /torrents/{infohash}.torrent and writes it to a file in a
// fresh temporary directory, returning its bytes and its path.
func (n *node) metainfo(t testing.TB, infohash string) ([]byte, string) {
	t.Helper()
	b, err := n.get("/torrents/" + infohash + ".torrent")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), infohash+".torrent")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b, path
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// treeFiles are the relative paths that randomTree writes, each with its
// share of the total size. Shares are uneven so files end mid-piece and
// pieces straddle several files; the small file is smaller than one 16 KiB
// block.
var treeFiles = []struct {
	path   string
	weight int64
}{
	{"a.bin", 34},
	{"clips/one.dat", 21},
	{"clips/two.dat", 13},
	{"clips/deep/nested/three.bin", 8},
	{"docs/odd size.bin", 5},
	{"docs/readme.txt", 0}, // 1 KiB + 37 bytes, see randomTree
	{"z/last.bin", 3},
}

// randomTree writes a deterministic pseudo-random folder of len(treeFiles)
// nested files totalling totalBytes into dir, creating dir. The bytes come
// from a ChaCha8 stream with a fixed seed, so a failure reproduces with the
// same data. It returns the SHA-256 (hex) of each file by slash-separated
// path relative to dir.
func randomTree(t testing.TB, dir string, totalBytes int64) map[string]string {
	t.Helper()
	const smallBytes = 1<<10 + 37
	if totalBytes < int64(len(treeFiles))*smallBytes {
		t.Fatalf("randomTree: %d bytes is too few for %d files", totalBytes, len(treeFiles))
	}
	var weights int64
	for _, f := range treeFiles {
		weights += f.weight
	}
	rng := rand.NewChaCha8(sha256.Sum256([]byte("seedcast e2e random tree v1")))
	sums := make(map[string]string)
	shared := totalBytes - smallBytes // split between the weighted files
	left := shared
	for i, f := range treeFiles {
		var size int64
		switch {
		case f.weight == 0:
			size = smallBytes
		case i == len(treeFiles)-1:
			size = left
		default:
			size = shared*f.weight/weights | 1 // odd, so no file ends on a block boundary
			left -= size
		}
		path := filepath.Join(dir, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		file, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		w := bufio.NewWriterSize(io.MultiWriter(file, h), 1<<20)
		if _, err := io.CopyN(w, rng, size); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := file.Close(); err != nil {
			t.Fatal(err)
		}
		sums[f.path] = hex.EncodeToString(h.Sum(nil))
	}
	return sums
}

// sha256File returns the SHA-256 of the file at path in hex.
func sha256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashTree returns the SHA-256 (hex) of every regular file under root, by
// slash-separated path relative to root.
func hashTree(root string) (map[string]string, error) {
	sums := make(map[string]string)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		sum, err := sha256File(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		sums[filepath.ToSlash(rel)] = sum
		return nil
	})
	return sums, err
}

// pilotPath is the source of the built-in demo pilot in the checkout.
func pilotPath() string {
	return filepath.Join(repoRoot, "cmd", "seedcast", "pilot", "seedcast-pilot.mp4")
}

// TestServeAPI checks the harness and the start-up contract of serve: ready
// on /healthz, the torrents in /api/torrents, and a clean exit on SIGINT
// (checked by startServe's cleanup).
func TestServeAPI(t *testing.T) {
	t.Parallel()
	tree := filepath.Join(t.TempDir(), "api-folder")
	sums := randomTree(t, tree, 3<<20+12345)
	var treeBytes int64
	wantFiles := make(map[string]int64)
	for rel := range sums {
		fi, err := os.Stat(filepath.Join(tree, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		treeBytes += fi.Size()
		wantFiles["api-folder/"+rel] = fi.Size()
	}

	// The demo is the pilot from the checkout, embedded in the binary.
	var pilotBytes int64
	if fi, err := os.Stat(pilotPath()); err == nil {
		pilotBytes = fi.Size()
	}

	tests := []struct {
		name      string
		args      []string
		wantName  string
		wantFiles map[string]int64 // nil: one file, named wantName
		wantBytes int64            // 0: don't check (the demo's size is its own business)
	}{
		{name: "demo", wantName: "seedcast-pilot.mp4", wantBytes: pilotBytes},
		{name: "folder", args: []string{tree}, wantName: "api-folder", wantFiles: wantFiles, wantBytes: treeBytes},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := startServe(t, serveArgs(tc.args...))
			if len(n.Torrents) != 1 {
				t.Fatalf("/api/torrents has %d torrents, want 1: %+v", len(n.Torrents), n.Torrents)
			}
			tt := n.Torrents[0]
			if tt.Name != tc.wantName {
				t.Errorf("name = %q, want %q", tt.Name, tc.wantName)
			}
			if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(tt.Infohash) {
				t.Errorf("infohash = %q, want 40 lower-case hex digits", tt.Infohash)
			}
			if !strings.Contains(strings.ToLower(tt.Magnet), "xt=urn:btih:"+strings.ToLower(tt.Infohash)) {
				t.Errorf("magnet %q does not name infohash %s", tt.Magnet, tt.Infohash)
			}
			var sum int64
			for _, f := range tt.Files {
				sum += f.Length
			}
			if sum != tt.Length || tt.Length <= 0 {
				t.Errorf("length = %d, files sum to %d; want equal and positive", tt.Length, sum)
			}
			if tc.wantBytes != 0 && tt.Length != tc.wantBytes {
				t.Errorf("length = %d, want %d", tt.Length, tc.wantBytes)
			}
			if tc.wantFiles != nil {
				got := make(map[string]int64)
				for _, f := range tt.Files {
					got[f.Path] = f.Length
				}
				if !maps.Equal(got, tc.wantFiles) {
					t.Errorf("files = %v, want %v", got, tc.wantFiles)
				}
			}
			if _, err := n.get("/torrents/" + tt.Infohash + ".torrent"); err != nil {
				t.Error(err)
			}
		})
	}
}
