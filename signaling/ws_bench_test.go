package signaling

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"
)

// BenchmarkWSAnnounce measures the tracker's whole path for WebTorrent's
// announce of 5 offers over real WebSockets on loopback: read, parse,
// swarm, reply and 5 relayed offers, with the clients in the same
// process. Profile it with -cpuprofile and look at the server's
// functions; allocs/op count the clients' too.
func BenchmarkWSAnnounce(b *testing.B) {
	const sockets = 64
	srv, err := New(Config{MessageRate: 1e9})
	if err != nil {
		b.Fatal(err)
	}
	url := "ws" + strings.TrimPrefix(serve(b, srv), "http") + "/announce"
	base := announceOf5()
	peer := []byte(bin("-WW0300-", 'x'))
	type client struct {
		c       *websocket.Conn
		msg     []byte
		replies chan struct{}
	}
	var clients []*client
	var readers sync.WaitGroup
	for i := range sockets {
		// A whole announce in one frame, as browsers send it.
		d := websocket.Dialer{WriteBufferSize: 32 << 10}
		c, _, err := d.Dial(url, nil)
		if err != nil {
			b.Fatal(err)
		}
		// Every socket a peer of its own in one swarm.
		id := []byte(bin("-WW0300-"+string(rune('A'+i%26))+string(rune('A'+i/26)), 'x'))
		cl := &client{c: c, msg: bytes.Replace(base, peer, id, 1), replies: make(chan struct{}, 1)}
		clients = append(clients, cl)
		readers.Go(func() {
			for {
				_, m, err := c.ReadMessage()
				if err != nil {
					return
				}
				if bytes.Contains(m, []byte(`"interval"`)) {
					cl.replies <- struct{}{}
				}
			}
		})
	}
	defer func() {
		for _, cl := range clients {
			cl.c.Close()
		}
		readers.Wait()
	}()
	b.SetBytes(int64(len(base)))
	b.ReportAllocs()
	b.ResetTimer()
	var next sync.Mutex
	n := 0
	var wg sync.WaitGroup
	for _, cl := range clients {
		wg.Go(func() {
			for {
				next.Lock()
				if n == b.N {
					next.Unlock()
					return
				}
				n++
				next.Unlock()
				if err := cl.c.WriteMessage(websocket.TextMessage, cl.msg); err != nil {
					b.Error(err)
					return
				}
				<-cl.replies
			}
		})
	}
	wg.Wait()
}
