package swarm

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"sync"
	"time"

	"github.com/anacrolix/torrent"

	"github.com/seedcast/seedcast/infohash"
)

// ErrConnected is why AddConn declines a second conn to one peer:
// WebTorrent destroys a duplicate wire anyway.
var ErrConnected = errors.New("swarm: already connected to that peer")

// peerIDPrefix starts the peer id of every seedcast node (state.peerID).
const peerIDPrefix = "-SC"

// isSeedcastPeer reports whether id is a seedcast node's peer id.
func isSeedcastPeer(id [20]byte) bool { return string(id[:len(peerIDPrefix)]) == peerIDPrefix }

// AddConn hands torrent ih a conn that a transport such as WebRTC opened
// to the peer whose id is remote; offered says whether this node made the
// offer the conn answers. AddConn owns c from then on, and closes it on
// error.
//
// Who sends the BitTorrent handshake first follows the other end: a
// browser sends its own the moment a channel opens, whoever offered, so
// the node answers it; another seedcast node answering an offer waits for
// the offerer's, so then this node speaks first.
func (s *Swarm) AddConn(ih infohash.Hash, c net.Conn, remote [20]byte, offered bool) error {
	err := s.addConn(ih, c, remote, offered)
	if err != nil {
		c.Close()
	}
	return err
}

func (s *Swarm) addConn(ih infohash.Hash, c net.Conn, remote [20]byte, offered bool) error {
	if _, _, err := s.client(); err != nil {
		return err
	}
	t, ok := s.Torrent(ih)
	if !ok {
		return fmt.Errorf("swarm: no torrent %s", ih)
	}
	if t.HasPeer(remote) {
		return ErrConnected
	}
	if !isSeedcastPeer(remote) && !s.cfg.NoSuperSeed {
		if ss := t.superSeed(); ss != nil {
			c = ss.wrap(c)
		}
	}
	if !offered || !isSeedcastPeer(remote) {
		if !s.conns.ln.deliver(c) {
			return errors.New("swarm: too many conns waiting for their handshake")
		}
		return nil
	}
	// anacrolix v1.59.1 sends the handshake first only on conns it dials
	// itself, so the conn waits under its own address for the dial that
	// AddPeers brings at once.
	addr := s.conns.hold(c)
	t.t.AddPeers([]torrent.PeerInfo{{Addr: connAddr(addr), Source: torrent.PeerSourceTracker}})
	return nil
}

// connAddr is the address of a held conn, understood by conns.Dial alone.
type connAddr string

func (a connAddr) String() string { return string(a) }

// conns holds the conns AddConn was given until anacrolix takes them: its
// listener for conns on which the remote speaks first, its dialer for the
// rest.
type conns struct {
	ln *connListener

	mu   sync.Mutex
	held map[string]heldConn // by remote address
}

type heldConn struct {
	c     net.Conn
	since time.Time
}

// connsNetwork is the network anacrolix reports for these conns, and so the
// transport name in Stats. The conns AddConn takes today are WebRTC data
// channels.
const connsNetwork = "webrtc"

// holdFor bounds how long a held conn waits to be dialled; anacrolix dials
// a new peer at once unless the torrent is closing.
const holdFor = 30 * time.Second

func newConns() *conns {
	return &conns{ln: newConnListener(), held: make(map[string]heldConn)}
}

// hold keeps c until Dial takes it, and returns its address.
func (cs *conns) hold(c net.Conn) string {
	addr := c.RemoteAddr().String()
	cs.mu.Lock()
	cs.held[addr] = heldConn{c: c, since: time.Now()}
	cs.mu.Unlock()
	return addr
}

// Dial hands anacrolix the held conn of addr.
func (cs *conns) Dial(ctx context.Context, addr string) (net.Conn, error) {
	cs.mu.Lock()
	h, ok := cs.held[addr]
	delete(cs.held, addr)
	cs.mu.Unlock()
	if !ok {
		return nil, &net.OpError{Op: "dial", Net: connsNetwork, Err: os.ErrNotExist}
	}
	return h.c, nil
}

// DialerNetwork names the network of the held conns.
func (cs *conns) DialerNetwork() string { return connsNetwork }

// expire closes held conns nobody dialled within holdFor, until ctx is
// done.
func (cs *conns) expire(ctx context.Context) {
	tick := time.NewTicker(holdFor / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			var stale []net.Conn
			cs.mu.Lock()
			maps.DeleteFunc(cs.held, func(_ string, h heldConn) bool {
				if now.Sub(h.since) <= holdFor {
					return false
				}
				stale = append(stale, h.c)
				return true
			})
			cs.mu.Unlock()
			for _, c := range stale {
				c.Close()
			}
		}
	}
}

// close closes the listener and every held or queued conn.
func (cs *conns) close() {
	cs.ln.Close()
	cs.mu.Lock()
	held := cs.held
	cs.held = make(map[string]heldConn)
	cs.mu.Unlock()
	for _, h := range held {
		h.c.Close()
	}
	for {
		select {
		case c := <-cs.ln.conns:
			c.Close()
		default:
			return
		}
	}
}

// connListener queues conns for anacrolix's accept loop.
type connListener struct {
	conns  chan net.Conn
	done   chan struct{}
	closer sync.Once
}

// maxQueuedConns bounds the conns waiting for anacrolix's accept loop,
// which takes each at once.
const maxQueuedConns = 64

func newConnListener() *connListener {
	return &connListener{conns: make(chan net.Conn, maxQueuedConns), done: make(chan struct{})}
}

// deliver queues c, or reports false if the queue is full or closed.
func (l *connListener) deliver(c net.Conn) bool {
	select {
	case <-l.done:
		return false
	default:
	}
	select {
	case l.conns <- c:
		return true
	default:
		return false
	}
}

// Accept waits for the next conn. It blocks until Close: anacrolix's accept
// loop spins on errors while its client is open.
func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Addr() net.Addr { return listenerAddr{} }

func (l *connListener) Close() error {
	l.closer.Do(func() { close(l.done) })
	return nil
}

type listenerAddr struct{}

func (listenerAddr) Network() string { return connsNetwork }
func (listenerAddr) String() string  { return connsNetwork + ":listener" }

// closedConns queues the peer conns anacrolix closed so that their bytes
// stay counted. anacrolix reports a closed conn under its client lock,
// which reading the conn's figures takes too: the report only queues, and
// Run's counting goroutine reads them once the lock is free. The queue
// grows by one conn per close and is drained at once, so it holds no more
// than the conns closed in one burst.
type closedConns struct {
	mu   sync.Mutex
	pcs  []closedConn
	wake chan struct{}
}

type closedConn struct {
	pc *torrent.PeerConn
	t  *torrent.Torrent // read under the client lock, as the callback runs
}

func newClosedConns() *closedConns { return &closedConns{wake: make(chan struct{}, 1)} }

// add is anacrolix's PeerConnClosed callback: it must not block.
func (q *closedConns) add(pc *torrent.PeerConn) {
	t := pc.Torrent()
	if t == nil {
		return
	}
	q.mu.Lock()
	q.pcs = append(q.pcs, closedConn{pc: pc, t: t})
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// count adds the bytes of closed conns to their torrents until ctx is
// done.
func (q *closedConns) count(ctx context.Context, s *Swarm) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
			q.drain(s)
		}
	}
}

// drain counts every queued conn.
func (q *closedConns) drain(s *Swarm) {
	q.mu.Lock()
	pcs := q.pcs
	q.pcs = nil
	q.mu.Unlock()
	for _, c := range pcs {
		// A torrent removed and added again is another anacrolix torrent:
		// the conns of the one removed were counted as it went.
		if t, ok := s.Torrent(infohash.Hash(c.t.InfoHash())); ok && t.t == c.t {
			t.addGone(transportName(c.pc.Network), c.pc.Stats())
		}
	}
}
