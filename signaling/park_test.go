package signaling

import (
	"encoding/json"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/seedcast/seedcast/infohash"
)

// waitParked waits until every WebSocket of srv is parked, with no read
// goroutine, where the system has a poller.
func waitParked(t *testing.T, srv *Server) {
	t.Helper()
	if runtime.GOOS != "linux" {
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		srv.sockMu.Lock()
		n, parked := 0, 0
		for s := range srv.sockets {
			if s.local {
				continue
			}
			n++
			s.parkMu.Lock()
			if s.parked {
				parked++
			}
			s.parkMu.Unlock()
		}
		srv.sockMu.Unlock()
		if n > 0 && parked == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d sockets parked after 5 s", parked, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestParkedSocket checks that a socket whose read goroutine ended while
// it idled still answers what comes: a message, a ping, a pong alone
// (after which it parks again), and a message that arrives in pieces.
func TestParkedSocket(t *testing.T) {
	srv, url := newTestServer(t)
	c := dialWS(t, url)
	waitParked(t, srv) // before its first message

	announce := func() {
		t.Helper()
		if err := c.WriteJSON(announceJSON(infohash.Hash{7}, ID{1}, 0)); err != nil {
			t.Fatal(err)
		}
		if m := readJSON(t, c); m["interval"] == nil {
			t.Fatalf("got %v, want an announce's reply", m)
		}
	}
	announce()
	waitParked(t, srv)

	pongs := make(chan string, 1)
	c.SetPongHandler(func(s string) error { pongs <- s; return nil })
	if err := c.WriteControl(websocket.PingMessage, []byte("hello"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	// The pong arrives while the client reads.
	go func() {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		c.ReadMessage()
	}()
	select {
	case s := <-pongs:
		if s != "hello" {
			t.Errorf("pong %q, want hello", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no pong to a ping sent to a parked socket")
	}
	waitParked(t, srv)

	before := time.Now().UnixNano()
	if err := c.WriteControl(websocket.PongMessage, nil, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	seenSince := func() bool {
		srv.sockMu.Lock()
		defer srv.sockMu.Unlock()
		for s := range srv.sockets {
			if s.seen.Load() < before {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(5 * time.Second)
	for !seenSince() {
		if time.Now().After(deadline) {
			t.Fatal("a pong to a parked socket did not count as a sign of life")
		}
		time.Sleep(5 * time.Millisecond)
	}
	waitParked(t, srv)
	c.Close()

	// A text frame in two writes, the second after the socket woke for
	// the first.
	c2 := dialWS(t, url)
	waitParked(t, srv)
	msg, _ := json.Marshal(announceJSON(infohash.Hash{7}, ID{2}, 0))
	frame := append([]byte{0x81, 0x80 | 126, byte(len(msg) >> 8), byte(len(msg)), 1, 2, 3, 4}, msg...)
	for i := range msg {
		frame[8+i] ^= []byte{1, 2, 3, 4}[i%4]
	}
	if _, err := c2.NetConn().Write(frame[:5]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let the socket wake and wait for the rest
	if _, err := c2.NetConn().Write(frame[5:]); err != nil {
		t.Fatal(err)
	}
	if m := readJSON(t, c2); m["interval"] == nil {
		t.Fatalf("got %v, want an announce's reply", m)
	}
	waitParked(t, srv)
}

// TestParkedSocketsClose checks that a parked socket whose client goes
// wakes and finishes, its peers leaving their swarms; Run's end finishes
// the one still parked (serve checks that Run returns, goleak that no
// goroutine stays).
func TestParkedSocketsClose(t *testing.T) {
	srv, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	url := "ws" + serve(t, srv)[len("http"):] + "/announce"
	c := dialWS(t, url)
	c.WriteJSON(announceJSON(infohash.Hash{8}, ID{1}, 0))
	readJSON(t, c)
	waitParked(t, srv)
	if srv.Swarms() != 1 {
		t.Fatalf("%d swarms, want 1", srv.Swarms())
	}
	// Closing the client wakes its parked socket, which finishes.
	c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for srv.Sockets() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("a parked socket whose client closed is still open")
		}
		time.Sleep(5 * time.Millisecond)
	}
	c2 := dialWS(t, url)
	c2.WriteJSON(announceJSON(infohash.Hash{8}, ID{2}, 0))
	readJSON(t, c2)
	waitParked(t, srv)
}

// TestParkedSocketsStress has sockets announce over and over, each
// awaiting its reply, with pauses that let them park and without: no
// message may be left unread in a parked socket.
func TestParkedSocketsStress(t *testing.T) {
	srv, url := newTestServer(t)
	const sockets, rounds = 40, 60
	var wg sync.WaitGroup
	for i := range sockets {
		c := dialWS(t, url)
		msg, _ := json.Marshal(announceJSON(infohash.Hash{9}, ID{byte(i), 1}, 0))
		wg.Go(func() {
			for r := range rounds {
				if r%7 == 0 {
					time.Sleep(time.Duration(r%3) * time.Millisecond)
				}
				if err := c.WriteMessage(websocket.TextMessage, msg); err != nil {
					t.Error(err)
					return
				}
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				if _, _, err := c.ReadMessage(); err != nil {
					t.Errorf("socket %d, round %d: %v", i, r, err)
					return
				}
			}
		})
	}
	wg.Wait()
	waitParked(t, srv)
}

// TestSlowReaderFrames relays offers of 8 KB to a socket that reads
// slowly, and then to one that does not read until its conn's buffers
// and send queue are full, so that writes are cut short and messages
// dropped: every frame that arrives must be whole, and every offer
// queued must arrive.
func TestSlowReaderFrames(t *testing.T) {
	srv, url := newTestServer(t)
	r := dialWS(t, url)
	r.WriteJSON(announceJSON(infohash.Hash{5}, ID{1}, 0))
	readJSON(t, r)

	sdp := strings.Repeat("a=candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host\r\n", 150)
	s := dialWS(t, url)
	send := func(n int) {
		for i := range n {
			m := announceJSON(infohash.Hash{5}, ID{2}, 0)
			m["offers"] = []any{map[string]any{"offer": map[string]string{"type": "offer", "sdp": sdp}, "offer_id": ID{byte(i), 1}.binaryString()}}
			if err := s.WriteJSON(m); err != nil {
				t.Error(err)
				return
			}
			readJSON(t, s)
		}
	}
	// read reads n offers, pausing after each if slow. (A read that
	// times out ends a gorilla conn: each waits long.)
	read := func(n int, slow bool) {
		for i := range n {
			r.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, b, err := r.ReadMessage()
			if err != nil {
				t.Errorf("offer %d of %d: %v", i, n, err)
				return
			}
			var m struct{ Offer struct{ SDP string } }
			if err := json.Unmarshal(b, &m); err != nil || m.Offer.SDP != sdp {
				t.Errorf("offer %d of %d: %v, %.100q", i, n, err, b)
				return
			}
			if slow {
				time.Sleep(time.Millisecond)
			}
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		read(50, true)
	}()
	send(50)
	<-done

	relayed := srv.stats.OffersRelay.Load()
	send(2000)
	relayed = srv.stats.OffersRelay.Load() - relayed
	t.Logf("%d offers of 2000 queued for a reader that waited, %d dropped", relayed, srv.stats.OffersDropped.Load())
	read(int(relayed), false)
}
