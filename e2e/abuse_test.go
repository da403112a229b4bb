//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/seedcast/seedcast/e2e/testnet"
)

// Figures of TestNodeUnderAbuse (issue 12, acceptance 1 and 2).
const (
	// floodSockets × floodPerSocket announces of fresh peer ids without
	// offers: each made the node build an offer that lived 50 s.
	floodSockets   = 100
	floodPerSocket = 100
	// silentSockets announce with offers and never read.
	silentSockets = 50
	// bigFrames sockets each send one message over the 64 KiB limit.
	bigFrames = 20
	// randomHashes HTTP announces of info hashes nobody seeds.
	randomHashes = 20000
	// maxRSSGrowth bounds how much the offer flood may grow the node.
	maxRSSGrowth = 50 << 20
	// abusePlaySec is how far the viewer must play meanwhile.
	abusePlaySec = 10.0
	// probeClients well-behaved tracker clients announce every probeEvery
	// meanwhile, and 99 % of their replies come within maxProbeP99.
	probeEvery   = 100 * time.Millisecond
	maxProbeP99  = 100 * time.Millisecond
	probeClients = 2
)

// TestNodeUnderAbuse attacks a node from a host of its own while a viewer
// watches the pilot from another: an offer flood (10 000 announces of
// fresh peer ids), sockets that never read, frames over the size limit,
// and 20 000 HTTP announces of random info hashes, all at once. The viewer
// plays on over WebRTC, the node grows by under 50 MB, refuses the random
// hashes (it tracks its own torrents) and still answers.
func TestNodeUnderAbuse(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	tn, origin, chromium := pageNet(t, "seed", "attacker", "viewer1")
	// The build without the race detector: this test is about what the
	// node holds and how fast it answers, which the detector changes
	// several times over.
	seed := startServeWith(ctx, t, tn, "seed", readyTimeout, testnet.ServeOptions{Bin: seedcastPlainBin, Args: []string{"--no-dht", "--no-port-forwarding"}})
	ih := pilotInfohash(ctx, t, seed)
	rawIH, err := hex.DecodeString(ih)
	if err != nil {
		t.Fatal(err)
	}
	sysBefore, rssBefore := goSys(ctx, t, seed), vmRSS(t, seed.Proc.Pid())
	announce := "ws" + strings.TrimPrefix(seed.URL, "http") + "/announce"
	dialer := websocket.Dialer{NetDialContext: tn.DialContext("attacker"), HandshakeTimeout: 10 * time.Second}
	httpc := tn.HTTPClient("attacker")

	var wg sync.WaitGroup
	var floodReplies, bigClosed, refused, silentOpen atomic.Int64
	attack := func(f func() error) {
		wg.Go(func() {
			if err := f(); err != nil && ctx.Err() == nil {
				t.Errorf("attack: %v", err)
			}
		})
	}
	stop := make(chan struct{}) // ends the silent sockets

	// First the offer flood alone: what it leaves the node holding.
	flood := func() {
		for s := range floodSockets {
			attack(func() error {
				return floodSocket(ctx, dialer, announce, rawIH, s, &floodReplies)
			})
		}
	}
	flood()
	wg.Wait()
	time.Sleep(2 * time.Second) // offers made for the flood's peers are pending now
	sysFlood, rssFlood := goSys(ctx, t, seed), vmRSS(t, seed.Proc.Pid())
	t.Logf("the node's resident set %.1f MB before the offer flood, %.1f MB after it (%d announces, %d replies); its Go runtime's memory %.1f → %.1f MB",
		float64(rssBefore)/1e6, float64(rssFlood)/1e6, floodSockets*floodPerSocket, floodReplies.Load(), sysBefore/1e6, sysFlood/1e6)
	if rssFlood-rssBefore > maxRSSGrowth {
		t.Errorf("the offer flood grew the node by %.1f MB; want under %d MB", float64(rssFlood-rssBefore)/1e6, maxRSSGrowth>>20)
	}

	// Then everything at once, while a viewer watches.
	flood()
	// Sockets that announce with offers and never read what comes.
	for s := range silentSockets {
		attack(func() error {
			c, _, err := dialer.DialContext(ctx, announce, nil)
			if err != nil {
				return fmt.Errorf("silent socket %d: %w", s, err)
			}
			defer c.Close()
			var offers []any
			for range 5 {
				offers = append(offers, map[string]any{"offer": map[string]string{"type": "offer", "sdp": strings.Repeat("v=0 ", 400)},
					"offer_id": latin1(randomID())})
			}
			m := map[string]any{"action": "announce", "info_hash": latin1(rawIH), "peer_id": latin1(randomID()), "left": 1, "offers": offers}
			if err := c.WriteJSON(m); err != nil {
				return fmt.Errorf("silent socket %d: %w", s, err)
			}
			silentOpen.Add(1)
			select {
			case <-stop:
			case <-ctx.Done():
			}
			return nil
		})
	}
	// Frames over the tracker's 64 KiB limit: the socket is closed.
	for s := range bigFrames {
		attack(func() error {
			c, _, err := dialer.DialContext(ctx, announce, nil)
			if err != nil {
				return fmt.Errorf("big-frame socket %d: %w", s, err)
			}
			defer c.Close()
			c.WriteMessage(websocket.TextMessage, []byte(`{"action":"announce","x":"`+strings.Repeat("x", 100<<10)+`"}`))
			c.SetReadDeadline(time.Now().Add(20 * time.Second))
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					if !os.IsTimeout(err) {
						bigClosed.Add(1)
					}
					return nil
				}
			}
		})
	}
	// Random info hashes over HTTP, from a few connections.
	for w := range 4 {
		attack(func() error {
			for i := range randomHashes / 4 {
				q := url.Values{"info_hash": {string(randomID())}, "peer_id": {string(randomID())}, "port": {strconv.Itoa(6881 + i%1000)},
					"uploaded": {"0"}, "downloaded": {"0"}, "left": {"1"}}
				req, _ := http.NewRequestWithContext(ctx, "GET", seed.URL+"/announce?"+q.Encode(), nil)
				res, err := httpc.Do(req)
				if err != nil {
					return fmt.Errorf("random-hash worker %d, announce %d: %w", w, i, err)
				}
				var b [256]byte
				n, _ := res.Body.Read(b[:])
				res.Body.Close()
				if strings.Contains(string(b[:n]), "not tracked") {
					refused.Add(1)
				}
			}
			return nil
		})
	}

	// Meanwhile well-behaved tracker clients announce from the viewer's
	// host, each every probeEvery (the node's rate per socket allows ten a
	// second), and time the replies. There are probeClients of them: one
	// gave about 100 replies in the ten seconds, whose "99th percentile"
	// was the second slowest, so that two pauses of the node under the
	// attack (232 and 305 ms in one CI run) failed the test.
	probeDialer := websocket.Dialer{NetDialContext: tn.DialContext("viewer1"), HandshakeTimeout: 10 * time.Second}
	var (
		latMu     sync.Mutex
		latencies []time.Duration
	)
	probeDone := make(chan error, probeClients)
	for range probeClients {
		probe, _, err := probeDialer.DialContext(ctx, announce, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer probe.Close()
		go func() {
			probeDone <- func() error {
				peer := randomID()
				for {
					select {
					case <-stop:
						return nil
					case <-time.After(probeEvery):
					}
					start := time.Now()
					m := map[string]any{"action": "announce", "info_hash": latin1(rawIH), "peer_id": latin1(peer), "left": 1, "numwant": 0}
					if err := probe.WriteJSON(m); err != nil {
						return err
					}
					probe.SetReadDeadline(time.Now().Add(10 * time.Second))
					for {
						var reply map[string]any
						if err := probe.ReadJSON(&reply); err != nil {
							return err
						}
						if _, isOffer := reply["offer"]; !isOffer {
							break // the announce's reply; an offer of the node's is not
						}
					}
					latMu.Lock()
					latencies = append(latencies, time.Since(start))
					latMu.Unlock()
				}
			}()
		}()
	}

	// Meanwhile a viewer watches, over WebRTC.
	page := tn.StartChromium(ctx, t, "viewer1", chromium, origin)
	if err := page.Open(ctx, origin+"/watch/"+ih); err != nil {
		t.Fatal(err)
	}
	st := waitPlayed(ctx, t, page, "viewer1", abusePlaySec)
	close(stop)
	wg.Wait()
	for range probeClients {
		if err := <-probeDone; err != nil {
			t.Errorf("a well-behaved tracker client: %v", err)
		}
	}
	slices.Sort(latencies)
	if len(latencies) < 10 {
		t.Errorf("the well-behaved clients got %d replies; want one each every %v while the attack lasted", len(latencies), probeEvery)
	} else if p99 := latencies[len(latencies)*99/100]; p99 > maxProbeP99 {
		t.Errorf("the well-behaved clients' announces: p99 %v over %d replies; want under %v (all: %v)", p99, len(latencies), maxProbeP99, latencies)
	} else {
		t.Logf("the well-behaved clients' announces during the attack: p50 %v, p99 %v, %d replies; the slowest %v", latencies[len(latencies)/2], p99, len(latencies), latencies[len(latencies)-5:])
	}
	t.Logf("viewer: mode %s, %d bytes from the node over WebRTC, %d over HTTP", st.Mode, st.RTC, st.HTTP)
	if st.Mode != "p2p" || st.RTC == 0 {
		t.Errorf("the viewer plays in mode %s with %d bytes over WebRTC; want peer to peer with the node", st.Mode, st.RTC)
	}
	t.Logf("node RSS %.1f MB after it all, with the viewer's film read; %d of %d big-frame sockets closed, %d silent sockets, %d of %d random hashes refused",
		float64(vmRSS(t, seed.Proc.Pid()))/1e6, bigClosed.Load(), bigFrames, silentOpen.Load(), refused.Load(), randomHashes)
	if bigClosed.Load() != bigFrames {
		t.Errorf("%d of %d sockets that sent a frame over 64 KiB were closed", bigClosed.Load(), bigFrames)
	}
	if refused.Load() != randomHashes {
		t.Errorf("%d of %d announces of random info hashes refused; serve's tracker tracks only its own", refused.Load(), randomHashes)
	}
	if _, err := seed.Get(ctx, "/healthz"); err != nil {
		t.Errorf("the node after the attack: %v", err)
	}
}

// floodSocket sends floodPerSocket announces of fresh peer ids without
// offers for ih on one socket, and reads what comes until it is quiet.
func floodSocket(ctx context.Context, dialer websocket.Dialer, announce string, ih []byte, s int, replies *atomic.Int64) error {
	c, _, err := dialer.DialContext(ctx, announce, nil)
	if err != nil {
		return fmt.Errorf("flood socket %d: %w", s, err)
	}
	defer c.Close()
	for i := range floodPerSocket {
		m := map[string]any{"action": "announce", "info_hash": latin1(ih), "peer_id": latin1(randomID()),
			"left": 1, "numwant": 5, "event": "started"}
		if err := c.WriteJSON(m); err != nil {
			return fmt.Errorf("flood socket %d, announce %d: %w", s, i, err)
		}
	}
	for {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, _, err := c.ReadMessage(); err != nil {
			return nil
		}
		replies.Add(1)
	}
}

// goSys is what the Go runtime of node holds from the system, from its
// /metrics.
func goSys(ctx context.Context, t *testing.T, node *nsNode) float64 {
	t.Helper()
	b, err := node.Get(ctx, "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	for l := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(l, "go_memstats_sys_bytes "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatal("no go_memstats_sys_bytes in the node's /metrics")
	return 0
}

// vmRSS is the resident set of process pid, in bytes.
func vmRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// randomID is 20 random bytes.
func randomID() []byte {
	b := make([]byte, 20)
	rand.Read(b)
	return b
}

// latin1 is b as a JavaScript "binary" string, one rune per byte, as the
// WebTorrent tracker protocol writes ids in JSON.
func latin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}
