package signaling

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"

	"github.com/seedcast/seedcast/infohash"
)

// fakeNode seeds every info hash on one TCP port, at the address the
// tracker was reached on, and records the leechers it is told of.
type fakeNode struct {
	port     uint16
	leechers chan netip.AddrPort
}

func (n fakeNode) TCPPeer(ih infohash.Hash, local netip.Addr) (netip.AddrPort, bool, bool) {
	return netip.AddrPortFrom(local, n.port), true, true
}

func (n fakeNode) Leecher(ih infohash.Hash, addr netip.AddrPort) {
	select {
	case n.leechers <- addr:
	default:
	}
}

func announceURL(base string, ih infohash.Hash, peer ID, port int, extra string) string {
	q := url.Values{}
	q.Set("info_hash", string(ih[:]))
	q.Set("peer_id", string(peer[:]))
	q.Set("port", strconv.Itoa(port))
	q.Set("uploaded", "0")
	q.Set("downloaded", "0")
	q.Set("left", "100")
	return base + "/announce?" + q.Encode() + extra
}

type decodedReply struct {
	Failure    string `bencode:"failure reason"`
	Interval   int    `bencode:"interval"`
	Complete   int    `bencode:"complete"`
	Incomplete int    `bencode:"incomplete"`
	Peers      bencode.Bytes
}

func getBencode(t *testing.T, u string, v any) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, b)
	}
	if err := bencode.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
}

func TestHTTPAnnounceListsNodeFirst(t *testing.T) {
	node := fakeNode{port: 6881, leechers: make(chan netip.AddrPort, 8)}
	srv, err := New(Config{Node: node})
	if err != nil {
		t.Fatal(err)
	}
	base := serve(t, srv)
	ih := infohash.Hash{1}

	var r struct {
		Interval   int    `bencode:"interval"`
		Complete   int    `bencode:"complete"`
		Incomplete int    `bencode:"incomplete"`
		Peers      []byte `bencode:"peers"`
	}
	getBencode(t, announceURL(base, ih, ID{2}, 7000, "&compact=1&event=started"), &r)
	want := []byte{127, 0, 0, 1, 6881 >> 8, 6881 & 0xff}
	if !bytes.Equal(r.Peers, want) {
		t.Fatalf("peers %v, want the node alone %v", r.Peers, want)
	}
	if r.Complete != 1 || r.Incomplete != 1 || r.Interval != 300 {
		t.Errorf("complete %d incomplete %d interval %d, want 1 1 300", r.Complete, r.Incomplete, r.Interval)
	}
	select {
	case got := <-node.leechers:
		if want := netip.MustParseAddrPort("127.0.0.1:7000"); got != want {
			t.Errorf("node told of leecher %v, want %v", got, want)
		}
	default:
		t.Error("node not told of the leecher")
	}

	// A second client gets the node and the first client.
	getBencode(t, announceURL(base, ih, ID{3}, 7001, "&compact=1"), &r)
	if len(r.Peers) != 12 || !bytes.Equal(r.Peers[:6], want) {
		t.Fatalf("peers %v, want the node then one client", r.Peers)
	}
	if !bytes.Equal(r.Peers[6:], []byte{127, 0, 0, 1, 7000 >> 8, 7000 & 0xff}) {
		t.Errorf("second peer %v, want 127.0.0.1:7000", r.Peers[6:])
	}

	// Non-compact.
	var d struct {
		Peers []struct {
			IP   string `bencode:"ip"`
			Port int    `bencode:"port"`
		} `bencode:"peers"`
	}
	getBencode(t, announceURL(base, ih, ID{4}, 7002, "&compact=0"), &d)
	if len(d.Peers) != 3 || d.Peers[0].IP != "127.0.0.1" || d.Peers[0].Port != 6881 {
		t.Errorf("dict peers %+v", d.Peers)
	}

	// Stopped removes the client.
	getBencode(t, announceURL(base, ih, ID{2}, 7000, "&event=stopped"), &r)
	// Decoded without a struct: anacrolix's decoder matches field names
	// without regard to case, which would hide keys a client misses.
	var s map[string]any
	getBencode(t, base+"/scrape?info_hash="+url.QueryEscape(string(ih[:])), &s)
	files, _ := s["files"].(map[string]any)
	f, _ := files[string(ih[:])].(map[string]any)
	wantScrape := map[string]any{"complete": int64(1), "downloaded": int64(0), "incomplete": int64(2)}
	if !maps.Equal(f, wantScrape) {
		t.Errorf("scrape %v, want BEP 48's %v: the node seeding and two leechers", f, wantScrape)
	}
}

func TestHTTPAnnounceRejects(t *testing.T) {
	srv, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	base := serve(t, srv)
	good := announceURL(base, infohash.Hash{1}, ID{2}, 7000, "")
	tests := []struct{ name, url, want string }{
		{"short info_hash", strings.Replace(good, "info_hash=%01", "info_hash=", 1), "invalid info_hash"},
		{"no peer_id", strings.Replace(good, "peer_id=", "x=", 1), "invalid peer_id"},
		{"port zero", strings.Replace(good, "port=7000", "port=0", 1), "invalid port"},
		{"port too big", strings.Replace(good, "port=7000", "port=70000", 1), "invalid port"},
		{"negative left", strings.Replace(good, "left=100", "left=-1", 1), "invalid left"},
		{"bad escape", good + "&x=%zz", "invalid query"},
		{"huge query", good + "&pad=" + strings.Repeat("a", maxQueryBytes), "query over"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r decodedReply
			getBencode(t, tt.url, &r)
			if !strings.Contains(r.Failure, tt.want) {
				t.Errorf("failure reason %q, want it to mention %q", r.Failure, tt.want)
			}
		})
	}
}

// FuzzParseHTTPAnnounce checks that no query crashes the parser and that
// what parses is within bounds.
func FuzzParseHTTPAnnounce(f *testing.F) {
	// Seeds shaped like aria2 1.36 and transmission 3.00 announces.
	f.Add("info_hash=%124Vx%9A%BC%DE%F1%23Eg%89%AB%CD%EF%124Vx%9A&peer_id=A2-1-36-0-%12%34%56%78%9a%bc%de%f0%11%22%33%44&uploaded=0&downloaded=0&left=1024&compact=1&event=started&numwant=50&key=abcd&port=6881&supportcrypto=1")
	f.Add("info_hash=aaaaaaaaaaaaaaaaaaaa&peer_id=-TR3000-aaaaaaaaaaaa&port=51413&uploaded=0&downloaded=0&left=0&numwant=80&key=1&compact=1&supportcrypto=1&event=completed")
	f.Add("info_hash=&peer_id=&port=")
	f.Add("%zz")
	f.Fuzz(func(t *testing.T, q string) {
		a, err := parseHTTPAnnounce(q)
		if err != nil {
			return
		}
		if a.Port == 0 || a.Numwant > maxNumwant || a.Numwant < 0 || a.Left < -1 {
			t.Fatalf("bounds broken: %+v", a)
		}
	})
}

// TestAllow checks that a tracker told which torrents to track refuses
// the others, over HTTP and WebSocket alike.
func TestAllow(t *testing.T) {
	mine := infohash.Hash{1}
	srv, err := New(Config{Allow: func(ih infohash.Hash) bool { return ih == mine }})
	if err != nil {
		t.Fatal(err)
	}
	base := serve(t, srv)
	for ih, want := range map[infohash.Hash]string{mine: "", {2}: errNotTracked.Error()} {
		var r decodedReply
		getBencode(t, announceURL(base, ih, ID{3}, 7000, ""), &r)
		if r.Failure != want {
			t.Errorf("HTTP announce of %v: failure %q, want %q", ih, r.Failure, want)
		}
		c := dialWS(t, "ws"+strings.TrimPrefix(base, "http")+"/announce")
		c.WriteJSON(announceJSON(ih, ID{4}, 0))
		m := readJSON(t, c)
		if got, _ := m["failure reason"].(string); got != want {
			t.Errorf("WebSocket announce of %v: %v, want failure %q", ih, m, want)
		}
	}
}

// TestFullTrackerEvictsIdle fills a small tracker with random info
// hashes over HTTP, as a flood would: every announce is still served,
// idle swarms giving way, and a swarm with a browser in it stays.
func TestFullTrackerEvictsIdle(t *testing.T) {
	srv, err := New(Config{MaxSwarms: 50})
	if err != nil {
		t.Fatal(err)
	}
	base := serve(t, srv)
	busy := infohash.Hash{0xbb}
	c := dialWS(t, "ws"+strings.TrimPrefix(base, "http")+"/announce")
	c.WriteJSON(announceJSON(busy, ID{5}, 0))
	readJSON(t, c)
	for i := range 500 {
		var r decodedReply
		getBencode(t, announceURL(base, infohash.Hash{byte(i >> 8), byte(i), 1}, ID{6}, 7000, ""), &r)
		if r.Failure != "" {
			t.Fatalf("announce %d of a full tracker: %q, want it served", i, r.Failure)
		}
	}
	if n := srv.stats.Evicted.Load(); n < 450 {
		t.Errorf("%d idle swarms evicted, want at least 450", n)
	}
	var kept bool
	srv.withSwarm(busy, false, func(sw *swarm) { kept = len(sw.ws) == 1 })
	if !kept {
		t.Error("the swarm with a browser in it was evicted")
	}
}

// TestHTTPPeersPerIP checks that one address holds at most
// maxHTTPPeersPerIP peers of a swarm, each port a peer, and that a peer
// that stops makes room.
func TestHTTPPeersPerIP(t *testing.T) {
	srv, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	base := serve(t, srv)
	ih := infohash.Hash{0x77}
	for port := 7000; port < 7000+maxHTTPPeersPerIP+2; port++ {
		var r decodedReply
		getBencode(t, announceURL(base, ih, ID{byte(port)}, port, ""), &r)
		if over := port >= 7000+maxHTTPPeersPerIP; (r.Failure != "") != over {
			t.Fatalf("peer %d from one address: failure %q, want one: %v", port-7000+1, r.Failure, over)
		}
	}
	var r decodedReply
	getBencode(t, announceURL(base, ih, ID{1}, 7000, "&event=stopped"), &r)
	getBencode(t, announceURL(base, ih, ID{2}, 7999, ""), &r)
	if r.Failure != "" || r.Incomplete != maxHTTPPeersPerIP {
		t.Fatalf("after one stopped, a new port: failure %q, %d leechers; want none and %d", r.Failure, r.Incomplete, maxHTTPPeersPerIP)
	}
}

// TestSwarmCounts runs random joins, completions and leaves on a swarm
// and checks its kept counts against counting every peer.
func TestSwarmCounts(t *testing.T) {
	sw := newSwarm()
	r := rand.New(rand.NewPCG(1, 2))
	sock := &socket{}
	for range 20000 {
		ap := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(r.IntN(4))}), uint16(r.IntN(12)))
		id := ID{byte(r.IntN(40))}
		switch r.IntN(6) {
		case 0:
			if p := sw.addHTTP(ap); p != nil {
				sw.setComplete(&p.complete, r.IntN(2) == 0)
			}
		case 1:
			sw.delHTTP(ap)
		case 2:
			p := sw.ws[id]
			if p == nil {
				p = &wsPeer{sock: sock}
				sw.ws[id] = p
			}
			sw.setComplete(&p.complete, r.IntN(2) == 0)
		case 3:
			sw.delWS(id)
		case 4:
			sw.expire(time.Now().Add(-time.Hour), time.Now().Add(time.Duration(r.IntN(2))*time.Hour))
		case 5:
			if p := sw.http[ap]; p != nil {
				p.seen = time.Now()
			}
		}
		c, i := 0, 0
		for _, p := range sw.ws {
			if p.complete {
				c++
			} else {
				i++
			}
		}
		perIP := map[netip.Addr]int{}
		for ap, p := range sw.http {
			perIP[ap.Addr()]++
			if p.complete {
				c++
			} else {
				i++
			}
		}
		if gc, gi := sw.counts(); gc != c || gi != i {
			t.Fatalf("counts %d/%d, want %d/%d", gc, gi, c, i)
		}
		if !maps.Equal(perIP, sw.httpPerIP) {
			t.Fatalf("per-IP counts %v, want %v", sw.httpPerIP, perIP)
		}
	}
}

// TestNodeCountedOnce checks that the node, in a swarm over its local
// socket as a seeder and listed to HTTP clients as a TCP seed, counts as
// one seeder in announce replies and scrapes.
func TestNodeCountedOnce(t *testing.T) {
	srv, err := New(Config{Node: fakeNode{port: 6881, leechers: make(chan netip.AddrPort, 8)}})
	if err != nil {
		t.Fatal(err)
	}
	base := serve(t, srv)
	ih := infohash.Hash{0x55}
	got := make(chan []byte, 4)
	lc, err := srv.ConnectLocal(func(m []byte) { got <- m }, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	m := announceJSON(ih, ID{'-', 'S', 'C'}, 0)
	m["left"] = 0
	b, _ := json.Marshal(m)
	lc.Send(b)
	<-got
	var r decodedReply
	getBencode(t, announceURL(base, ih, ID{2}, 7000, ""), &r)
	if r.Complete != 1 || r.Incomplete != 1 {
		t.Errorf("announce: %d seeders, %d leechers; want the node once and the client", r.Complete, r.Incomplete)
	}
	var s map[string]any
	getBencode(t, base+"/scrape?info_hash="+url.QueryEscape(string(ih[:])), &s)
	files, _ := s["files"].(map[string]any)
	if f, _ := files[string(ih[:])].(map[string]any); f["complete"] != int64(1) {
		t.Errorf("scrape %v, want one seeder: the node", f)
	}
}
