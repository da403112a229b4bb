package testnet

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// maxBiDiMsgBytes bounds a message from the browser: a reply carries at
// most the JSON text of one value a test reads from a page.
const maxBiDiMsgBytes = 16 << 20

// bidiWriteTimeout bounds the write of one command to the browser, which
// reads on loopback.
const bidiWriteTimeout = 10 * time.Second

// bidi is a WebDriver BiDi connection to a browser
// (https://w3c.github.io/webdriver-bidi/). Commands go out one at a time,
// as gorilla/websocket allows one writer; one read pump hands each reply
// to the call that waits for its id, and drops events: no session here
// subscribes to any. A call whose context ends leaves the connection
// usable, its reply dropped when it comes.
type bidi struct {
	conn *websocket.Conn
	wmu  sync.Mutex // held while writing

	mu     sync.Mutex
	nextID int64
	calls  map[int64]chan bidiReply // by command id, until the reply comes

	done    chan struct{} // closed when the read pump ends
	readErr error         // why it ended; set before done is closed
}

// bidiReply is a message from the browser: a command's result or error,
// or an event.
type bidiReply struct {
	Type    string          `json:"type"` // success, error or event
	ID      int64           `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   string          `json:"error"`
	Message string          `json:"message"`
}

// dialBiDi connects to the WebDriver BiDi endpoint wsURL (such as
// ws://127.0.0.1:9222/session) through dial and starts the read pump.
func dialBiDi(ctx context.Context, dial func(ctx context.Context, network, addr string) (net.Conn, error), wsURL string) (*bidi, error) {
	d := websocket.Dialer{NetDialContext: dial, HandshakeTimeout: 10 * time.Second}
	conn, res, err := d.DialContext(ctx, wsURL, nil)
	if err != nil {
		if res != nil {
			err = fmt.Errorf("%w (%s)", err, res.Status)
		}
		return nil, fmt.Errorf("connecting to WebDriver BiDi at %s: %w", wsURL, err)
	}
	conn.SetReadLimit(maxBiDiMsgBytes)
	b := &bidi{conn: conn, calls: make(map[int64]chan bidiReply), done: make(chan struct{})}
	go b.readPump()
	return b, nil
}

// readPump reads the browser's messages until the connection fails or
// closes.
func (b *bidi) readPump() {
	for {
		var r bidiReply
		if err := b.conn.ReadJSON(&r); err != nil {
			b.readErr = err
			close(b.done)
			return
		}
		if r.Type == "event" {
			continue
		}
		b.mu.Lock()
		ch := b.calls[r.ID]
		delete(b.calls, r.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- r // buffered: the caller may have gone
		}
	}
}

// call sends command method with params, waits for its reply, and decodes
// its result into out unless out is nil.
func (b *bidi) call(ctx context.Context, method string, params, out any) error {
	ch := make(chan bidiReply, 1)
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	b.calls[id] = ch
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.calls, id)
		b.mu.Unlock()
	}()

	b.wmu.Lock()
	b.conn.SetWriteDeadline(time.Now().Add(bidiWriteTimeout))
	err := b.conn.WriteJSON(map[string]any{"id": id, "method": method, "params": params})
	b.wmu.Unlock()
	if err != nil {
		return fmt.Errorf("WebDriver BiDi %s: %w", method, err)
	}
	var r bidiReply
	select {
	case r = <-ch:
	case <-ctx.Done():
		return fmt.Errorf("WebDriver BiDi %s: %w", method, ctx.Err())
	case <-b.done:
		return fmt.Errorf("WebDriver BiDi %s: the browser closed the connection: %w", method, b.readErr)
	}
	if r.Type == "error" {
		return fmt.Errorf("WebDriver BiDi %s: %s: %s", method, r.Error, r.Message)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(r.Result, out); err != nil {
		return fmt.Errorf("WebDriver BiDi %s: decoding %.200s: %w", method, r.Result, err)
	}
	return nil
}

// close closes the connection and waits for the read pump to end.
func (b *bidi) close() {
	b.conn.Close()
	<-b.done
}
