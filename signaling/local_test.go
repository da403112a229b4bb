package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/seedcast/seedcast/e2e/testnet"
	"github.com/seedcast/seedcast/infohash"
)

func newTestServer(t *testing.T) (*Server, string) {
	t.Helper()
	// Tests flood one socket with messages; TestSocketBounds checks the
	// rate.
	srv, err := New(Config{MessageRate: 1e6})
	if err != nil {
		t.Fatal(err)
	}
	return srv, "ws" + strings.TrimPrefix(serve(t, srv), "http") + "/announce"
}

func dialWS(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func readJSON(t *testing.T, c *websocket.Conn) map[string]any {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var m map[string]any
	if err := c.ReadJSON(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func announceJSON(ih infohash.Hash, peer ID, offers int) map[string]any {
	m := map[string]any{"action": "announce", "info_hash": ID(ih).binaryString(), "peer_id": peer.binaryString(), "left": 1}
	var os []any
	for i := range offers {
		os = append(os, map[string]any{"offer": map[string]string{"type": "offer", "sdp": "offer-" + string(rune('a'+i))}, "offer_id": ID{byte(i + 1)}.binaryString()})
	}
	if os != nil {
		m["offers"] = os
	}
	return m
}

// TestLocalNodeGetsOffersFirst fills a swarm with browsers, then checks
// that every browser's single offer goes to the node in process.
func TestLocalNodeGetsOffersFirst(t *testing.T) {
	srv, url := newTestServer(t)
	ih, node := infohash.Hash{9}, ID{'-', 'S', 'C'}
	got := make(chan []byte, 16)
	lc, err := srv.ConnectLocal(func(m []byte) { got <- m }, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	b, _ := json.Marshal(announceJSON(ih, node, 0))
	if err := lc.Send(b); err != nil {
		t.Fatal(err)
	}
	<-got // the announce reply

	var browsers []*websocket.Conn
	for i := range 6 {
		c := dialWS(t, url)
		browsers = append(browsers, c)
		c.WriteJSON(announceJSON(ih, ID{byte(100 + i)}, 0))
		readJSON(t, c)
	}
	for i := range 5 {
		browsers[i].WriteJSON(announceJSON(ih, ID{byte(100 + i)}, 1))
		readJSON(t, browsers[i])
		select {
		case m := <-got:
			if !strings.Contains(string(m), `"offer"`) {
				t.Fatalf("node got %s, want an offer", m)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("browser %d's one offer did not reach the node", i)
		}
	}
}

// TestLocalNodeHearsJoins checks that the node hears of a peer that joins
// without offers, and can offer to it directly.
func TestLocalNodeHearsJoins(t *testing.T) {
	srv, url := newTestServer(t)
	ih, node, browser := infohash.Hash{9}, ID{'-', 'S', 'C'}, ID{7}
	joins := make(chan ID, 4)
	lc, err := srv.ConnectLocal(func([]byte) {}, func(gotIH infohash.Hash, peer ID, host string) {
		if gotIH == ih && host == "127.0.0.1" {
			joins <- peer
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	b, _ := json.Marshal(announceJSON(ih, node, 0))
	lc.Send(b)

	c := dialWS(t, url)
	c.WriteJSON(announceJSON(ih, browser, 0))
	readJSON(t, c)
	select {
	case p := <-joins:
		if p != browser {
			t.Fatalf("joined %v, want %v", p, browser)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("node did not hear of the join")
	}
	if !lc.SendOffer(ih, node, browser, ID{1}, []byte(`{"type":"offer","sdp":"x"}`)) {
		t.Fatal("SendOffer to a known peer failed")
	}
	m := readJSON(t, c)
	if m["offer"] == nil || m["peer_id"] != node.binaryString() {
		t.Fatalf("browser got %v, want the node's offer", m)
	}
}

// fakePeer answers every offer with "answer-to:"+offer and records what
// its offers were answered with.
type fakePeer struct {
	answered chan string
}

type fakeOffer struct {
	p   *fakePeer
	sdp string
}

func (p *fakePeer) Offer(ctx context.Context, ih infohash.Hash) (PendingOffer, error) {
	return &fakeOffer{p: p, sdp: "offer-from-fake"}, nil
}

func (p *fakePeer) Answer(ctx context.Context, ih infohash.Hash, from ID, sdp string) (string, error) {
	return "answer-to:" + sdp, nil
}

func (o *fakeOffer) SDP() string { return o.sdp }
func (o *fakeOffer) Close()      {}
func (o *fakeOffer) Answered(ctx context.Context, from ID, sdp string) {
	o.p.answered <- sdp
}

// TestClientsConnectThroughTracker runs two clients, one over a WebSocket
// and one in process, and checks that the first one's offers come back
// answered by the second.
func TestClientsConnectThroughTracker(t *testing.T) {
	srv, url := newTestServer(t)
	ih := infohash.Hash{5}
	torrents := func() []Announce { return []Announce{{InfoHash: ih, Left: 0}} }
	remote := &fakePeer{answered: make(chan string, 16)}
	node := &fakePeer{answered: make(chan string, 16)}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for _, cc := range []ClientConfig{
		{Local: srv, PeerID: ID{'-', 'S', 'C', '1'}, Peer: node, Torrents: torrents, Offers: 1},
		{URL: url, PeerID: ID{'-', 'W', 'W', '2'}, Peer: remote, Torrents: torrents, Offers: 2, MaxInterval: 5 * time.Second},
	} {
		cl, err := NewClient(cc)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl.Run(ctx)
		}()
	}
	select {
	case sdp := <-remote.answered:
		if sdp != "answer-to:offer-from-fake" {
			t.Fatalf("answered with %q", sdp)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the remote client's offers were never answered by the node")
	}
}

// slowPeer makes offers that complete only when release is closed, however
// their context ends, and counts the offers made and closed, and what
// happened after the client's Run returned.
type slowPeer struct {
	release chan struct{}
	made    chan struct{} // one send per offer that Offer starts
	ran     atomic.Bool   // set when Run has returned
	mu      sync.Mutex
	offers  int
	closed  int
	late    int // offers made or closed after Run returned
}

type slowOffer struct{ p *slowPeer }

func (p *slowPeer) Offer(ctx context.Context, ih infohash.Hash) (PendingOffer, error) {
	p.made <- struct{}{}
	<-p.release
	p.mu.Lock()
	defer p.mu.Unlock()
	p.offers++
	if p.ran.Load() {
		p.late++
	}
	return &slowOffer{p: p}, nil
}

func (p *slowPeer) Answer(ctx context.Context, ih infohash.Hash, from ID, sdp string) (string, error) {
	return "", context.Canceled
}

func (o *slowOffer) SDP() string                                       { return "offer" }
func (o *slowOffer) Answered(ctx context.Context, from ID, sdp string) {}
func (o *slowOffer) Close() {
	o.p.mu.Lock()
	defer o.p.mu.Unlock()
	o.p.closed++
	if o.p.ran.Load() {
		o.p.late++
	}
}

// TestClientClosesLateOffers ends a client while its offers are still
// being made: Run must wait for them, and close each one, since no
// session is left to hear its answer.
func TestClientClosesLateOffers(t *testing.T) {
	srv, _ := newTestServer(t)
	const offers = 3
	p := &slowPeer{release: make(chan struct{}), made: make(chan struct{}, offers)}
	cl, err := NewClient(ClientConfig{Local: srv, PeerID: ID{1}, Peer: p, Offers: offers,
		Torrents: func() []Announce { return []Announce{{InfoHash: infohash.Hash{2}, Left: 0}} }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() {
		err := cl.Run(ctx)
		p.ran.Store(true)
		ran <- err
	}()
	for range offers {
		<-p.made
	}
	cancel()
	close(p.release)
	if err := <-ran; err != nil {
		t.Fatalf("Run: %v", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.offers != offers || p.closed != offers || p.late != 0 {
		t.Errorf("%d offers made, %d closed, %d of those after Run returned; want %d, %d and 0", p.offers, p.closed, p.late, offers, offers)
	}
}

// TestNodeSeatCannotBeTaken checks that a socket announcing with the
// node's peer id (which any browser learns from the node's offers) is
// refused, and the next browser's offer still reaches the node; and that
// a browser's live seat is not taken by another socket either, though a
// closed one's is.
func TestNodeSeatCannotBeTaken(t *testing.T) {
	srv, url := newTestServer(t)
	ih, node := infohash.Hash{7}, ID{'-', 'S', 'C', '1'}
	got := make(chan []byte, 16)
	lc, err := srv.ConnectLocal(func(m []byte) { got <- m }, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	b, _ := json.Marshal(announceJSON(ih, node, 0))
	if err := lc.Send(b); err != nil {
		t.Fatal(err)
	}
	<-got

	impostor := dialWS(t, url)
	impostor.WriteJSON(announceJSON(ih, node, 0))
	if m := readJSON(t, impostor); m["failure reason"] != errPeerIDTaken.Error() {
		t.Fatalf("an announce with the node's peer id got %v, want a failure", m)
	}
	browser := dialWS(t, url)
	browser.WriteJSON(announceJSON(ih, ID{200}, 1))
	readJSON(t, browser)
	select {
	case m := <-got:
		if !strings.Contains(string(m), `"offer"`) {
			t.Fatalf("node got %s, want the browser's offer", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the browser's offer did not reach the node")
	}

	// A browser's seat: refused to another socket while it lives.
	other := dialWS(t, url)
	other.WriteJSON(announceJSON(ih, ID{200}, 0))
	if m := readJSON(t, other); m["failure reason"] != errPeerIDTaken.Error() {
		t.Fatalf("an announce with a live browser's peer id got %v, want a failure", m)
	}
	browser.Close()
	err = testnet.WaitFor(5*time.Second, func() error {
		other.WriteJSON(announceJSON(ih, ID{200}, 0))
		if m := readJSON(t, other); m["failure reason"] != nil {
			return fmt.Errorf("after the browser left, its peer id got %v", m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// countingPeer makes offers nobody answers and counts those alive.
type countingPeer struct {
	live, most atomic.Int64
}

type countedOffer struct{ p *countingPeer }

func (p *countingPeer) Offer(ctx context.Context, ih infohash.Hash) (PendingOffer, error) {
	n := p.live.Add(1)
	for m := p.most.Load(); n > m && !p.most.CompareAndSwap(m, n); m = p.most.Load() {
	}
	return &countedOffer{p}, nil
}

func (p *countingPeer) Answer(ctx context.Context, ih infohash.Hash, from ID, sdp string) (string, error) {
	return "", context.Canceled
}

func (o *countedOffer) SDP() string                                       { return "offer" }
func (o *countedOffer) Answered(ctx context.Context, from ID, sdp string) {}
func (o *countedOffer) Close()                                            { o.p.live.Add(-1) }

// TestJoinOffersBounded floods the tracker with announces of fresh peer
// ids without offers, all from one host: the node offers to at most
// maxJoinOffersPerHost of them at once, not one offer per announce.
func TestJoinOffersBounded(t *testing.T) {
	srv, url := newTestServer(t)
	ih := infohash.Hash{4}
	p := &countingPeer{}
	cl, err := NewClient(ClientConfig{Local: srv, PeerID: ID{'-', 'S', 'C', '2'}, Peer: p, Offers: 1,
		Torrents: func() []Announce { return []Announce{{InfoHash: ih, Left: 0}} }})
	if err != nil {
		t.Fatal(err)
	}
	stop := testnet.Run(t, cl.Run)
	defer func() {
		stop()
		if n := p.live.Load(); n != 0 {
			t.Errorf("%d offers left open after Run returned", n)
		}
	}()
	c := dialWS(t, url)
	const flood = 300
	for i := range flood {
		c.WriteJSON(announceJSON(ih, ID{'f', byte(i >> 8), byte(i)}, 0))
		readJSON(t, c)
	}
	// One offer of the node's own announce, and the flood's share: the
	// node does offer to the first joiners.
	err = testnet.WaitFor(5*time.Second, func() error {
		if most := p.most.Load(); most < 1+maxJoinOffersPerHost {
			return fmt.Errorf("%d announces made only %d offers at once; want the node to offer to the first %d", flood, most, maxJoinOffersPerHost)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // for any offer the bound let through late
	if most := p.most.Load(); most > 1+maxJoinOffersPerHost {
		t.Fatalf("%d announces from one host made %d offers at once; want at most %d", flood, most, 1+maxJoinOffersPerHost)
	}
}

// TestClientRefresh checks that Refresh announces a torrent added since
// the last round at once, and takes a removed one's peer out of its
// swarm, long before the next round.
func TestClientRefresh(t *testing.T) {
	srv, _ := newTestServer(t)
	a, b := infohash.Hash{1}, infohash.Hash{2}
	var mu sync.Mutex
	list := []infohash.Hash{a}
	torrents := func() []Announce {
		mu.Lock()
		defer mu.Unlock()
		var out []Announce
		for _, ih := range list {
			out = append(out, Announce{InfoHash: ih, Left: 0})
		}
		return out
	}
	node := ID{'-', 'S', 'C', '9'}
	cl, err := NewClient(ClientConfig{Local: srv, PeerID: node, Peer: &fakePeer{}, Torrents: torrents, Offers: 1})
	if err != nil {
		t.Fatal(err)
	}
	testnet.Run(t, cl.Run)
	listed := func(ih infohash.Hash) bool {
		in := false
		srv.withSwarm(ih, false, func(sw *swarm) { _, in = sw.ws[node] })
		return in
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		// The round interval is 120 s: only Refresh can do it in 5.
		err := testnet.WaitFor(5*time.Second, func() error {
			if !cond() {
				return errors.New(what)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	waitFor("the first torrent not announced", func() bool { return listed(a) })
	mu.Lock()
	list = []infohash.Hash{b}
	mu.Unlock()
	cl.Refresh()
	waitFor("after Refresh: the new torrent not announced, or the removed one still listed", func() bool {
		return listed(b) && !listed(a)
	})
	if n := srv.Stats().WSAnnounce.Load(); n != 3 {
		t.Errorf("%d announces, want 3: the first, the new torrent's and the removed one's stopped", n)
	}
}

// TestServerGauges checks the figures a scrape of the node's metrics
// reads: open WebSockets (not the node's local connection), swarms, and
// offers dropped because their recipient's queue is full.
func TestServerGauges(t *testing.T) {
	srv, err := New(Config{SendQueueLen: 1})
	if err != nil {
		t.Fatal(err)
	}
	url := "ws" + strings.TrimPrefix(serve(t, srv), "http") + "/announce"
	ih, node := infohash.Hash{3}, ID{'-', 'S', 'C'}
	// The node reads its first message and then nothing: its queue of
	// one fills with the first offer, and the next is dropped.
	release := make(chan struct{})
	defer close(release)
	var lc *LocalConn
	lc, err = srv.ConnectLocal(func([]byte) {
		select {
		case <-release:
		case <-lc.Done():
		}
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	b, _ := json.Marshal(announceJSON(ih, node, 0))
	if err := lc.Send(b); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		c := dialWS(t, url)
		c.WriteJSON(announceJSON(ih, ID{byte(10 + i)}, 1))
		readJSON(t, c)
	}
	err = testnet.WaitFor(5*time.Second, func() error {
		if n := srv.Sockets(); n != 2 {
			return fmt.Errorf("%d sockets, want 2", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.Swarms(); n != 1 {
		t.Errorf("%d swarms, want 1", n)
	}
	// An announce's reply may reach its socket before its offers reach
	// their recipients.
	err = testnet.WaitFor(5*time.Second, func() error {
		st := srv.Stats()
		if r, d := st.OffersRelay.Load(), st.OffersDropped.Load(); r != 1 || d != 1 {
			return fmt.Errorf("offers relayed %d, dropped %d; want 1 and 1", r, d)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}
