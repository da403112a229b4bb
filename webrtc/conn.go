package webrtc

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/pion/datachannel"
	pion "github.com/pion/webrtc/v4"
)

// Sizes of data-channel I/O (notes/webtorrent-interop.md 1.6 and 3).
const (
	// maxSendBytes is the largest message written: Chromium accepts 256 KiB
	// but every WebRTC stack takes 64 KiB, and one send per 64 KiB keeps the
	// per-byte CPU cost low.
	maxSendBytes = 64 << 10
	// maxRecvBytes bounds one received message; a detached channel refuses
	// to read a message into a smaller buffer (pion/sctp io.ErrShortBuffer).
	maxRecvBytes = 256 << 10
	// highWaterBytes and lowWaterBytes bound what waits in SCTP's queue:
	// writes block above highWaterBytes until the queue drains to
	// lowWaterBytes, so that memory and latency stay bounded when a
	// browser reads slower than the node sends.
	highWaterBytes = 1 << 20
	lowWaterBytes  = 512 << 10
)

// Conn is a WebRTC data channel as a net.Conn: a byte stream over
// messages, as WebTorrent treats it. Writes block while the channel's
// buffered amount is over its high-water mark.
type Conn struct {
	pc  *pion.PeerConnection
	dc  *pion.DataChannel
	raw datachannel.ReadWriteCloserDeadliner

	local, remote Addr

	readMu  sync.Mutex
	rbuf    []byte
	pending []byte // received but not yet read

	writeMu sync.Mutex
	drained chan struct{} // signalled when the buffered amount runs low

	deadlineMu    sync.Mutex
	writeDeadline time.Time

	closeOnce sync.Once
	closed    chan struct{}
	onClose   func()
}

// Addr is the address of one end of a data channel. Its string is not an
// IP:port, on purpose: anacrolix must neither rate-limit browsers behind one
// IP as one host, nor pass their UDP addresses on through PEX as TCP peers.
type Addr struct{ id string }

// Network returns "webrtc".
func (Addr) Network() string { return Network }

// String returns "webrtc:" and an identifier of the channel.
func (a Addr) String() string { return Network + ":" + a.id }

// Network is the network name of WebRTC conns, as anacrolix reports it.
const Network = "webrtc"

func newConn(pc *pion.PeerConnection, dc *pion.DataChannel, raw datachannel.ReadWriteCloserDeadliner, id string) *Conn {
	c := &Conn{
		pc:      pc,
		dc:      dc,
		raw:     raw,
		local:   Addr{id: "local-" + id},
		remote:  Addr{id: id},
		rbuf:    make([]byte, maxRecvBytes),
		drained: make(chan struct{}, 1),
		closed:  make(chan struct{}),
	}
	dc.SetBufferedAmountLowThreshold(lowWaterBytes)
	dc.OnBufferedAmountLow(func() {
		select {
		case c.drained <- struct{}{}:
		default:
		}
	})
	return c
}

// Read reads from the byte stream of received messages.
func (c *Conn) Read(p []byte) (int, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	if len(c.pending) == 0 {
		n, err := c.raw.Read(c.rbuf)
		if err != nil {
			return 0, c.mapErr(err)
		}
		c.pending = c.rbuf[:n]
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

// Write sends p in messages of at most 64 KiB, waiting while the channel
// has more than highWaterBytes queued.
func (c *Conn) Write(p []byte) (int, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	written := 0
	for len(p) > 0 {
		if err := c.waitDrained(); err != nil {
			return written, err
		}
		chunk := p[:min(len(p), maxSendBytes)]
		n, err := c.raw.Write(chunk)
		written += n
		if err != nil {
			return written, c.mapErr(err)
		}
		p = p[len(chunk):]
	}
	return written, nil
}

// waitDrained blocks while the buffered amount is above the high-water
// mark, until it drains, the write deadline passes or the conn closes.
func (c *Conn) waitDrained() error {
	for c.dc.BufferedAmount() > highWaterBytes {
		c.deadlineMu.Lock()
		dl := c.writeDeadline
		c.deadlineMu.Unlock()
		var timeout <-chan time.Time
		if !dl.IsZero() {
			d := time.Until(dl)
			if d <= 0 {
				return os.ErrDeadlineExceeded
			}
			t := time.NewTimer(d)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-c.drained:
		case <-timeout:
			return os.ErrDeadlineExceeded
		case <-c.closed:
			return net.ErrClosed
		}
	}
	return nil
}

func (c *Conn) mapErr(err error) error {
	select {
	case <-c.closed:
		return net.ErrClosed
	default:
	}
	if errors.Is(err, io.EOF) {
		return io.EOF
	}
	return err
}

// Close closes the data channel and its PeerConnection.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		close(c.closed)
		// pion/sctp keeps a goroutine per read deadline until the deadline
		// passes, closed stream or not; clearing it ends that goroutine now
		// rather than minutes after the conn is gone.
		c.raw.SetReadDeadline(time.Time{})
		c.raw.Close()
		c.pc.Close()
		if c.onClose != nil {
			c.onClose()
		}
	})
	return nil
}

// LocalAddr returns the local end's address.
func (c *Conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr returns the remote end's address.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline sets the read and write deadlines. It never fails: anacrolix
// panics if it does.
func (c *Conn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	c.SetWriteDeadline(t)
	return nil
}

// SetReadDeadline sets the read deadline.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.raw.SetReadDeadline(t)
	return nil
}

// SetWriteDeadline sets the write deadline, which also bounds the wait for
// the buffered amount to drain.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.deadlineMu.Lock()
	c.writeDeadline = t
	c.deadlineMu.Unlock()
	return nil
}
