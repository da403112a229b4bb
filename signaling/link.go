package signaling

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/seedcast/seedcast/infohash"
)

// linkQueueLen is the number of messages queued for a tracker before
// further ones are dropped: the 256 of gorilla's chat example, as for the
// server's sockets.
const linkQueueLen = 256

// errQueueFull is why a message for the tracker was dropped.
var errQueueFull = errors.New("signaling: send queue full")

// reportLinkErr hands the first error that ends a link to its session without
// blocking: errc has room for one, and later errors add nothing.
func reportLinkErr(errc chan<- error, err error) {
	select {
	case errc <- err:
	default:
	}
}

// localLink is a connection to the tracker of this process.
type localLink struct {
	conn *LocalConn
	wg   sync.WaitGroup
}

// dialLocal connects to the tracker of this process. Messages from it go
// to in and joins to joins; done hears ErrClosed when the connection ends.
func (c *Client) dialLocal(in chan<- []byte, joins chan<- joinEvent, done chan<- error) (link, error) {
	var lc *LocalConn
	lc, err := c.cfg.Local.ConnectLocal(
		func(msg []byte) {
			select {
			case in <- msg:
			case <-lc.Done():
			}
		},
		func(ih infohash.Hash, peer ID, host string) {
			select {
			case joins <- joinEvent{ih, peer, host}:
			default: // the peer will hear the node's next announce
			}
		})
	if err != nil {
		return nil, fmt.Errorf("signaling: connect to the local tracker: %w", err)
	}
	l := &localLink{conn: lc}
	l.wg.Go(func() {
		<-lc.Done()
		reportLinkErr(done, ErrClosed)
	})
	return l, nil
}

func (l *localLink) send(msg []byte) error { return l.conn.Send(msg) }

// setInterval does nothing: the local tracker cannot go quiet.
func (l *localLink) setInterval(time.Duration) {}

func (l *localLink) close() {
	l.conn.Close()
	l.wg.Wait()
}

// wsLink is a WebSocket to a tracker, shaped like the server's sockets and
// gorilla's chat client: one read pump, one write pump with a ping ticker,
// and a bounded queue in front of the write pump.
type wsLink struct {
	conn *websocket.Conn
	out  chan []byte
	// readWait is how long the read pump waits for a message or a pong:
	// the announce interval plus pongWait, since the tracker may say
	// nothing between the replies to two announces.
	readWait atomic.Int64 // a time.Duration

	done chan struct{} // closed to stop the pumps
	once sync.Once
	wg   sync.WaitGroup
}

// dialWS connects to the tracker at the client's URL, for a session that
// announces every interval. Messages go to in; done hears the first error
// that ends the link.
func (c *Client) dialWS(ctx context.Context, interval time.Duration, in chan<- []byte, done chan<- error) (link, error) {
	d := websocket.Dialer{HandshakeTimeout: 15 * time.Second, Proxy: http.ProxyFromEnvironment}
	conn, resp, err := d.DialContext(ctx, c.cfg.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("signaling: dial %s: %w", c.cfg.URL, err)
	}
	resp.Body.Close()
	l := &wsLink{conn: conn, out: make(chan []byte, linkQueueLen), done: make(chan struct{})}
	l.setInterval(interval)
	l.wg.Go(func() { l.readPump(in, done) })
	l.wg.Go(l.writePump)
	return l, nil
}

// extendRead moves the read deadline readWait ahead.
func (l *wsLink) extendRead() error {
	return l.conn.SetReadDeadline(time.Now().Add(time.Duration(l.readWait.Load())))
}

func (l *wsLink) readPump(in chan<- []byte, done chan<- error) {
	defer l.stop()
	l.conn.SetReadLimit(maxMsgBytes)
	l.extendRead()
	l.conn.SetPongHandler(func(string) error { return l.extendRead() })
	for {
		_, msg, err := l.conn.ReadMessage()
		if err != nil {
			reportLinkErr(done, err)
			return
		}
		l.extendRead()
		select {
		case in <- msg:
		case <-l.done:
			return
		}
	}
}

func (l *wsLink) writePump() {
	ping := time.NewTicker(pingPeriod)
	defer func() {
		ping.Stop()
		l.conn.Close() // also ends the read pump
	}()
	for {
		select {
		case msg := <-l.out:
			l.conn.SetWriteDeadline(time.Now().Add(writeWait))
			if err := l.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
				l.stop()
				return
			}
		case <-ping.C:
			if err := l.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				l.stop()
				return
			}
		case <-l.done:
			l.conn.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
			return
		}
	}
}

func (l *wsLink) send(msg []byte) error {
	select {
	case <-l.done:
		return ErrClosed
	default:
	}
	select {
	case l.out <- msg:
		return nil
	default:
		return errQueueFull
	}
}

func (l *wsLink) setInterval(d time.Duration) { l.readWait.Store(int64(d + pongWait)) }

// stop tells both pumps to end.
func (l *wsLink) stop() { l.once.Do(func() { close(l.done) }) }

// close ends the link and waits for its pumps: at most writeWait for a
// write under way, then a second for the close frame.
func (l *wsLink) close() {
	l.stop()
	l.wg.Wait()
}
