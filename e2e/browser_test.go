//go:build e2e

package e2e

import (
	"cmp"
	"context"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcast/seedcast/e2e/testnet"
)

// b2bFileBytes is the size of the file the browsers exchange: large enough
// that the transfer takes hundreds of pieces and many round trips.
const b2bFileBytes = 50 << 20

// Ports of the trackers inside the test network.
const (
	seedcastTrackerPort  = 8000
	referenceTrackerPort = 8001
)

// TestBrowserToBrowserThroughTracker checks that two Chromium pages running
// WebTorrent from npm, each in its own namespace of a test network, find each
// other through seedcast's tracker alone and exchange a 50 MiB file over
// WebRTC, with Chromium's default mDNS host candidates and no STUN server.
//
// The subtest bittorrent-tracker runs the same exchange through the reference
// tracker from npm: when it passes and seedcast fails, the tracker is at fault.
func TestBrowserToBrowserThroughTracker(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	chromium := requireTool(t, "chromium")
	modules := requireWebNodeModules(t)
	tn := testnet.New(t, "seed", "viewer1", "viewer2")
	data := testnet.WriteRandomFile(t, b2bFileBytes)

	t.Run("seedcast", func(t *testing.T) {
		addr := netip.AddrPortFrom(tn.Addr("seed"), seedcastTrackerPort).String()
		// Debug logs name every announce, offer and answer; they are printed
		// only when the test fails.
		logLevel := cmp.Or(os.Getenv("E2E_LOG_LEVEL"), "debug")
		cmd := tn.Command(ctx, "seed", seedcastBin, "tracker", "--addr", addr, "--log-level", logLevel)
		cmd.Env = testnet.CleanEnv()
		tracker := testnet.Start(t, "seedcast tracker", cmd)
		// Registered after testnet.Start's cleanup, so it runs first: the
		// tracker must exit cleanly on SIGINT, as the contract says.
		t.Cleanup(func() {
			if err := tracker.Stop(testnet.StopTimeout); err != nil {
				t.Errorf("seedcast tracker did not stop cleanly: %v", err)
			}
		})
		if err := tn.WaitHTTP(ctx, "seed", "http://"+addr+"/healthz", tracker); err != nil {
			t.Fatalf("seedcast tracker not healthy: %v", err)
		}
		runBrowserToBrowser(ctx, t, tn, chromium, modules, data, "ws://"+addr+"/announce")
	})

	t.Run("bittorrent-tracker", func(t *testing.T) {
		node := requireTool(t, "node")
		addr := netip.AddrPortFrom(tn.Addr("seed"), referenceTrackerPort)
		script, err := filepath.Abs("testdata/reference-tracker.mjs")
		if err != nil {
			t.Fatal(err)
		}
		serverURL := (&url.URL{Scheme: "file", Path: filepath.Join(modules, "bittorrent-tracker/server.js")}).String()
		tracker := testnet.Start(t, "bittorrent-tracker", tn.Command(ctx, "seed", node, script, serverURL, addr.Addr().String(), strconv.Itoa(int(addr.Port()))))
		if err := tn.WaitTCP(ctx, "seed", addr.String(), tracker); err != nil {
			t.Fatalf("bittorrent-tracker not listening: %v", err)
		}
		runBrowserToBrowser(ctx, t, tn, chromium, modules, data, "ws://"+addr.String()+"/announce")
	})
}

// requireWebNodeModules returns web/node_modules, where npm installs
// WebTorrent and the other front end packages. Locally a missing install skips
// the test; under CI it fails it.
func requireWebNodeModules(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(repoRoot, "web/node_modules")
	if _, err := os.Stat(filepath.Join(dir, "webtorrent/dist/webtorrent.min.js")); err != nil {
		if inCI() {
			t.Fatalf("%s has no WebTorrent but CI=true: CI must run make web (npm ci): %v", dir, err)
		}
		t.Skipf("skipping: no WebTorrent in %s: run make web (npm ci)", dir)
	}
	return dir
}

// runBrowserToBrowser is the body of the browser to browser tests: viewer1
// seeds data, viewer2 downloads it, both announcing only to announceURL.
func runBrowserToBrowser(ctx context.Context, t *testing.T, tn *testnet.Net, chromium, modules string, data testnet.File, announceURL string) {
	origin, dataFetches := serveB2BPages(t, tn, modules, data, "viewer1")

	seeder := tn.StartChromium(ctx, t, "viewer1", chromium, origin)
	leecher := tn.StartChromium(ctx, t, "viewer2", chromium, origin)
	for _, p := range []*testnet.Page{seeder, leecher} {
		if err := p.Navigate(ctx, origin+"/"); err != nil {
			t.Fatal(err)
		}
	}

	var seeded struct {
		MagnetURI   string
		InfoHash    string
		Length      int64
		PieceLength int
		Announce    []string
	}
	start := time.Now()
	if err := seeder.Call(ctx, &seeded, "seed", origin+"/data.bin", announceURL, "random.bin"); err != nil {
		t.Fatalf("viewer1 seeding: %v", err)
	}
	t.Logf("viewer1 seeds %s (%d bytes, %d-byte pieces) after %v", seeded.InfoHash, seeded.Length, seeded.PieceLength, time.Since(start).Round(time.Millisecond))
	if seeded.Length != data.Size {
		t.Fatalf("viewer1 seeds %d bytes, want %d", seeded.Length, data.Size)
	}
	if len(seeded.Announce) != 1 || seeded.Announce[0] != announceURL {
		t.Fatalf("torrent announces to %q, want only %q", seeded.Announce, announceURL)
	}

	var got struct {
		MS              float64
		SHA256          string
		ByteLength      int64
		Length          int64
		Downloaded      int64
		Received        int64
		Wires           int
		BytesByWireType map[string]int64
	}
	start = time.Now()
	if err := leecher.Call(ctx, &got, "download", seeded.MagnetURI, announceURL); err != nil {
		t.Fatalf("viewer2 downloading: %v", err)
	}
	t.Logf("viewer2 had all %d bytes %.2f s after adding the magnet (%.1f MB/s; %d bytes received over %d wire(s), by type %v); with the SHA-256, %v",
		data.Size, got.MS/1e3, float64(data.Size)/got.MS/1e3, got.Received, got.Wires, got.BytesByWireType, time.Since(start).Round(time.Millisecond))

	if got.SHA256 != data.SHA256 || got.ByteLength != data.Size {
		t.Errorf("viewer2 holds %d bytes with SHA-256 %s, want %d bytes with %s", got.ByteLength, got.SHA256, data.Size, data.SHA256)
	}
	if got.Length != data.Size || got.Downloaded != data.Size {
		t.Errorf("viewer2 torrent: length %d, downloaded %d, want both %d", got.Length, got.Downloaded, data.Size)
	}
	// Every byte came over WebRTC from a peer: the torrent has no web seed,
	// and the origin served the file to viewer1 only.
	if got.Wires == 0 || got.BytesByWireType["webrtc"] < data.Size || len(got.BytesByWireType) != 1 {
		t.Errorf("viewer2 got %v over %d wires, want all %d bytes over webrtc", got.BytesByWireType, got.Wires, data.Size)
	}
	if n := dataFetches.Load(); n != 1 {
		t.Errorf("origin served the file %d times, want once (to viewer1)", n)
	}

	checkMDNS(ctx, t, seeder, leecher, announceURL)
}

// b2bReport is what b2b.js report() returns.
type b2bReport struct {
	SDPs []struct {
		Dir, Type, SDP string
	}
	WSURLs          []string
	PeerConnections int
	Pairs           []struct {
		Local, Remote struct {
			CandidateType, Address, Protocol string
			Port                             int
		}
	}
}

// candidateRE matches an a=candidate line (RFC 8839 section 5.1) and captures
// its transport, connection address, port and candidate type.
var candidateRE = regexp.MustCompile(`(?m)^a=candidate:\S+ \d+ (\S+) \d+ (\S+) (\d+) typ (\S+)`)

// checkMDNS checks that the pages connected with Chromium's default mDNS host
// candidates and nothing else: every SDP either page sent or received names its
// candidates as <uuid>.local hosts, never by a test network address, and has no
// server reflexive or relay candidates; each page has a connected peer
// connection whose remote candidate it learnt by resolving such a name; and
// neither page opened a WebSocket to anything but announceURL.
func checkMDNS(ctx context.Context, t *testing.T, seeder, leecher *testnet.Page, announceURL string) {
	t.Helper()
	for _, page := range []struct {
		p *testnet.Page
		// want names the SDPs that must carry .local candidates: the
		// downloader sends offers and receives answers, the seeder the
		// reverse.
		want []string
	}{
		{seeder, []string{"remote offer", "local answer"}},
		{leecher, []string{"local offer", "remote answer"}},
	} {
		p, host := page.p, page.p.Host
		var r b2bReport
		if err := p.Call(ctx, &r, "report"); err != nil {
			t.Errorf("%s report: %v", host, err)
			continue
		}
		for _, u := range r.WSURLs {
			if u != announceURL {
				t.Errorf("%s opened a WebSocket to %s, want only %s", host, u, announceURL)
			}
		}
		mdns := make(map[string]int) // by "local offer", "remote answer", ...
		for _, s := range r.SDPs {
			for _, m := range candidateRE.FindAllStringSubmatch(s.SDP, -1) {
				addr, typ := m[2], m[4]
				switch {
				case typ != "host":
					t.Errorf("%s: %s %s has a %s candidate (%s), want host candidates only: no ICE servers are configured", host, s.Dir, s.Type, typ, m[0])
				case !strings.HasSuffix(addr, ".local"):
					t.Errorf("%s: %s %s has host candidate %s, want a <uuid>.local mDNS name: is Chromium's mDNS candidate hiding off?", host, s.Dir, s.Type, addr)
				default:
					mdns[s.Dir+" "+s.Type]++
				}
			}
		}
		for _, w := range page.want {
			if mdns[w] == 0 {
				t.Errorf("%s: no .local host candidate in any %s SDP (saw %v)", host, w, mdns)
			}
		}
		if len(r.Pairs) == 0 {
			t.Errorf("%s: none of its %d peer connections is connected", host, r.PeerConnections)
		}
		// A remote candidate of type host means this page resolved the peer's
		// .local name over mDNS; had it failed, ICE could still connect on
		// the peer's connectivity checks, but through a peer reflexive
		// candidate.
		resolved := false
		for _, pair := range r.Pairs {
			t.Logf("%s: selected candidate pair: local %s %s:%d, remote %s %s:%d (%s)", host,
				pair.Local.CandidateType, pair.Local.Address, pair.Local.Port,
				pair.Remote.CandidateType, pair.Remote.Address, pair.Remote.Port, pair.Local.Protocol)
			resolved = resolved || pair.Remote.CandidateType == "host"
		}
		if len(r.Pairs) > 0 && !resolved {
			t.Errorf("%s: no selected candidate pair has a remote host candidate: the peer's .local name was not resolved (does mDNS multicast work in the test network?)", host)
		}
		t.Logf("%s: .local host candidates per SDP kind: %v", host, mdns)
	}
}

// serveB2BPages serves the test pages, WebTorrent's dist build and the data
// file over HTTP from the seed host of tn, and returns the origin. The data
// file is served to the host named fetcher only, and fetches counts how often:
// no other page can get the bytes but through WebTorrent.
func serveB2BPages(t testing.TB, tn *testnet.Net, modules string, data testnet.File, fetcher string) (origin string, fetches *atomic.Int32) {
	t.Helper()
	fetches = new(atomic.Int32)
	mux := http.NewServeMux()
	mux.Handle("GET /", http.FileServer(http.Dir("testdata/browser")))
	mux.Handle("GET /webtorrent/", http.StripPrefix("/webtorrent/", http.FileServer(http.Dir(filepath.Join(modules, "webtorrent/dist")))))
	mux.HandleFunc("GET /data.bin", func(w http.ResponseWriter, r *http.Request) {
		ip, _, _ := net.SplitHostPort(r.RemoteAddr)
		if ip != tn.Addr(fetcher).String() {
			http.Error(w, "the data file is for "+fetcher+" only", http.StatusForbidden)
			return
		}
		fetches.Add(1)
		http.ServeFile(w, r, data.Path)
	})
	return tn.ServeHandler(t, "seed", mux), fetches
}
