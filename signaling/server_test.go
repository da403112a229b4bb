package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/seedcast/seedcast/e2e/testnet"
	"github.com/seedcast/seedcast/infohash"
)

// TestRunClosesSockets checks that when Run's context ends, Run closes
// every WebSocket and local connection before it returns, and that
// sockets arriving afterwards are refused.
func TestRunClosesSockets(t *testing.T) {
	srv, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv.Register(mux)
	ts := httptest.NewServer(mux)
	defer ts.Close()
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/announce"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(ctx) }()

	c := dialWS(t, url)
	c.WriteJSON(announceJSON(infohash.Hash{1}, ID{2}, 0))
	readJSON(t, c)
	lc, err := srv.ConnectLocal(func([]byte) {}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(announceJSON(infohash.Hash{1}, ID{3}, 0))
	if err := lc.Send(b); err != nil {
		t.Fatal(err)
	}

	cancel()
	if err := <-ran; err != nil {
		t.Fatalf("Run: %v", err)
	}
	select {
	case <-lc.Done():
	default:
		t.Error("local connection still open after Run returned")
	}
	if err := lc.Send(b); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Run: %v, want ErrClosed", err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := c.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		t.Errorf("WebSocket read after Run: %v, want a normal close", err)
	}

	if _, err := srv.ConnectLocal(func([]byte) {}, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("ConnectLocal after Run: %v, want ErrClosed", err)
	}
	late := dialWS(t, url)
	late.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := late.ReadMessage(); err == nil {
		t.Error("a WebSocket that connected after Run was served")
	}
}

// TestAllowOrigins checks that a tracker given origins takes WebSockets
// from pages of those alone, and from programs that send no Origin.
func TestAllowOrigins(t *testing.T) {
	if _, err := New(Config{AllowOrigins: []string{"films.example.org"}}); err == nil {
		t.Error("an origin without a scheme was taken")
	}
	srv, err := New(Config{AllowOrigins: []string{"https://films.example.org"}})
	if err != nil {
		t.Fatal(err)
	}
	url := "ws" + strings.TrimPrefix(serve(t, srv), "http") + "/announce"
	for origin, ok := range map[string]bool{"https://films.example.org": true, "HTTPS://FILMS.example.org": true, "https://evil.example": false, "": true} {
		h := http.Header{}
		if origin != "" {
			h.Set("Origin", origin)
		}
		c, res, err := websocket.DefaultDialer.Dial(url, h)
		if err == nil {
			c.Close()
		}
		if (err == nil) != ok {
			status := 0
			if res != nil {
				status = res.StatusCode
			}
			t.Errorf("Origin %q: err %v (status %d), want allowed %v", origin, err, status, ok)
		}
	}
}

// TestSocketBounds checks the WebSockets one address may hold and the
// messages one socket may send.
func TestSocketBounds(t *testing.T) {
	srv, err := New(Config{MaxSocketsPerIP: 3, MessageRate: 1})
	if err != nil {
		t.Fatal(err)
	}
	url := "ws" + strings.TrimPrefix(serve(t, srv), "http") + "/announce"
	var conns []*websocket.Conn
	for range 3 {
		conns = append(conns, dialWS(t, url))
	}
	if c, res, err := websocket.DefaultDialer.Dial(url, nil); err == nil {
		c.Close()
		t.Fatal("a fourth WebSocket from one address was taken; want 429")
	} else if res == nil || res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a fourth WebSocket: %v, want 429", err)
	}
	conns[0].Close()
	err = testnet.WaitFor(5*time.Second, func() error {
		c, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err == nil {
			c.Close()
		}
		return err
	})
	if err != nil {
		t.Fatalf("after one closed, another WebSocket: %v", err)
	}

	// A burst of ten messages a socket, then one a second.
	c := conns[1]
	for range 15 {
		c.WriteJSON(announceJSON(infohash.Hash{8}, ID{9}, 0))
	}
	replies := 0
	for {
		c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		if _, _, err := c.ReadMessage(); err != nil {
			break
		}
		replies++
	}
	if replies < 10 || replies > 11 {
		t.Errorf("15 announces at once got %d replies; want the burst of 10 (11 if a second passed)", replies)
	}
}

// TestStatsPage checks /stats in JSON and HTML against a browser and a
// native client in one swarm.
func TestStatsPage(t *testing.T) {
	srv, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	base := serve(t, srv)
	ih := infohash.Hash{0x33}
	var browser ID
	copy(browser[:], "-WW0300-abcdefghijkl")
	c := dialWS(t, "ws"+strings.TrimPrefix(base, "http")+"/announce")
	c.WriteJSON(announceJSON(ih, browser, 0))
	readJSON(t, c)
	var native ID
	copy(native[:], "-TR3000-abcdefghijkl")
	res, err := http.Get(announceURL(base, ih, native, 7000, "&left=0"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()

	res, err = http.Get(base + "/stats?format=json")
	if err != nil {
		t.Fatal(err)
	}
	var st TrackerStats
	json.NewDecoder(res.Body).Decode(&st)
	res.Body.Close()
	want := []ClientCount{{"Transmission 3000", 1}, {"WebTorrent 0300", 1}}
	if st.Torrents != 1 || st.Peers != 2 || st.WebSocketPeers != 1 || st.HTTPPeers != 1 || st.Sockets != 1 || !slices.Equal(st.Clients, want) {
		t.Errorf("stats %+v; want 1 torrent, 2 peers (one of each kind), 1 socket, clients %v", st, want)
	}
	res, err = http.Get(base + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.Header.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(string(page), "<td>WebTorrent 0300</td><td>1</td>") {
		t.Errorf("stats page (%s):\n%s", res.Header.Get("Content-Type"), page)
	}
}
