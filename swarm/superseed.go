package swarm

import (
	"encoding/binary"
	"net"
	"sync"
	"time"

	pp "github.com/anacrolix/torrent/peer_protocol"
)

// Super-seeding (in the spirit of BEP 16) for the browser peers of a
// complete torrent. A node seeding to viewers spends its upload best on
// pieces no viewer has yet, each given to one viewer, who passes it on.
// So a browser peer is not told that the node has every piece: its
// bitfield holds a few pieces no viewer holds and no other viewer is
// fetching, from where that viewer is in the file onwards, and each piece
// it announces (a have) opens the next. A piece given to one viewer that
// has not arrived within giveUpAfter may go to another. What a viewer
// needs before any peer can deliver it, it reads from the node's web seed
// (the watch page's deadline policy), which super-seeding leaves alone.
//
// anacrolix writes the messages; a superConn between it and the data
// channel rewrites the node's bitfield (or have-all) on the way out, adds
// the haves that reveal further pieces between the node's messages, and
// reads the browser's bitfield and haves on the way in. Native peers and
// other seedcast nodes are served as before.

const (
	// revealBytes bounds the pieces a viewer has been given and not yet
	// announced: about ten seconds of a 1.5 Mbit/s film, enough to keep a
	// data channel busy between two haves.
	revealBytes = 2 << 20
	// minReveal is the least number of such pieces, for long pieces.
	minReveal = 4
	// giveUpAfter is how long a piece given to one viewer stays its own.
	giveUpAfter = 10 * time.Second
	// handshakeBytes is the length of a BitTorrent handshake: its
	// protocol string's length and name, reserved bits, info hash, peer id.
	handshakeBytes = 1 + 19 + 8 + 20 + 20
)

// superSeed holds what the node knows of the pieces of one torrent among
// its browser peers.
type superSeed struct {
	pieces int
	reveal int // pieces a viewer may hold given and not yet announced

	mu      sync.Mutex
	viewers map[*superConn]struct{}
	holders []int32      // per piece: viewers that announced it
	givenTo []*superConn // per piece: the viewer it was last given to
	givenAt []time.Time
}

func newSuperSeed(pieces int, pieceLength int64) *superSeed {
	return &superSeed{
		pieces:  pieces,
		reveal:  max(minReveal, int(revealBytes/max(pieceLength, 1))),
		viewers: make(map[*superConn]struct{}),
		holders: make([]int32, pieces),
		givenTo: make([]*superConn, pieces),
		givenAt: make([]time.Time, pieces),
	}
}

// wrap returns c with super-seeding between it and anacrolix.
func (ss *superSeed) wrap(c net.Conn) net.Conn {
	sc := &superConn{Conn: c, ss: ss, have: make([]bool, ss.pieces), shown: make([]bool, ss.pieces)}
	sc.in.want = func(id pp.MessageType) bool {
		return id == pp.Have || id == pp.Bitfield || id == pp.HaveAll || id == pp.HaveNone
	}
	sc.out.want = func(id pp.MessageType) bool { return id == pp.Bitfield || id == pp.HaveAll }
	sc.out.ended = sc.sendPending
	sc.in.maxBody = ss.pieces/8 + 1
	sc.out.maxBody = ss.pieces/8 + 1
	ss.mu.Lock()
	ss.viewers[sc] = struct{}{}
	ss.mu.Unlock()
	return sc
}

// free reports whether piece i may be given to v: no viewer holds it, and
// it is not on its way to another one.
func (ss *superSeed) free(i int, v *superConn, now time.Time) bool {
	if ss.holders[i] > 0 {
		return false
	}
	g := ss.givenTo[i]
	return g == nil || g == v || now.Sub(ss.givenAt[i]) > giveUpAfter
}

// next picks the pieces to give v now, from where v is onwards, and marks
// them given. ss.mu is held.
func (ss *superSeed) next(v *superConn, now time.Time) []int {
	open := 0
	for i, g := range ss.givenTo {
		if g == v && now.Sub(ss.givenAt[i]) <= giveUpAfter {
			open++
		}
	}
	var out []int
	for k := 0; k < ss.pieces && open+len(out) < ss.reveal; k++ {
		i := (v.at + k) % ss.pieces
		if v.have[i] || v.shown[i] || !ss.free(i, v, now) {
			continue
		}
		out = append(out, i)
		v.shown[i] = true
		ss.givenTo[i], ss.givenAt[i] = v, now
	}
	return out
}

// announced records that v holds piece i, and returns the pieces to give
// it next.
func (ss *superSeed) announced(v *superConn, i int) []int {
	if i < 0 || i >= ss.pieces {
		return nil
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if _, ok := ss.viewers[v]; !ok || v.have[i] {
		return nil
	}
	v.have[i] = true
	ss.holders[i]++
	if ss.givenTo[i] == v {
		ss.givenTo[i] = nil
	}
	v.at = (i + 1) % ss.pieces
	return ss.next(v, time.Now())
}

// bitfield returns the bitfield to send v in place of the node's whole
// one: the first pieces to give it.
func (ss *superSeed) bitfield(v *superConn) []byte {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	b := make([]byte, (ss.pieces+7)/8)
	for _, i := range ss.next(v, time.Now()) {
		b[i/8] |= 0x80 >> (i % 8)
	}
	return b
}

// gone forgets v: the pieces it held and those on their way to it.
func (ss *superSeed) gone(v *superConn) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if _, ok := ss.viewers[v]; !ok {
		return
	}
	delete(ss.viewers, v)
	for i, h := range v.have {
		if h {
			ss.holders[i]--
		}
	}
	for i, g := range ss.givenTo {
		if g == v {
			ss.givenTo[i] = nil
		}
	}
}

// superConn is a browser peer's conn under super-seeding.
type superConn struct {
	net.Conn
	ss *superSeed

	// have, shown and at are guarded by ss.mu: the pieces the viewer
	// announced, those the node told it of, and where it is in the file
	// (the piece after the one it announced last).
	have, shown []bool
	at          int

	in wireScanner // guarded by Read's single caller

	wmu     sync.Mutex // serializes writes to Conn; guards what follows
	out     wireScanner
	pending []int // haves to send at the next message boundary
	werr    error // the first write error

	closed sync.Once
}

// Read passes the browser's bytes on to anacrolix, noting the pieces it
// announces.
func (c *superConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	var reveal []int
	c.in.scan(b[:n], nil, func(id pp.MessageType, payload []byte) []byte {
		switch id {
		case pp.Have:
			if len(payload) == 4 {
				reveal = append(reveal, c.ss.announced(c, int(binary.BigEndian.Uint32(payload)))...)
			}
		case pp.Bitfield:
			for i := 0; i < len(payload)*8 && i < c.ss.pieces; i++ {
				if payload[i/8]&(0x80>>(i%8)) != 0 {
					reveal = append(reveal, c.ss.announced(c, i)...)
				}
			}
		case pp.HaveAll:
			// A seed needs nothing from the node; it holds every piece.
			for i := range c.ss.pieces {
				c.ss.announced(c, i)
			}
		}
		return nil
	})
	if len(reveal) > 0 {
		c.wmu.Lock()
		c.pending = append(c.pending, reveal...)
		c.wmu.Unlock()
		// Sent from the writer's side: Read must not block on a write.
		go c.flush()
	}
	return n, err
}

// Write passes anacrolix's messages on, with the node's bitfield cut
// down, and sends pending haves at a message boundary.
func (c *superConn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.sendPending(); err != nil {
		return 0, err
	}
	c.out.scan(b, c.emit, func(pp.MessageType, []byte) []byte {
		bf := c.ss.bitfield(c)
		m := binary.BigEndian.AppendUint32(nil, uint32(1+len(bf)))
		return append(append(m, byte(pp.Bitfield)), bf...)
	})
	if err := c.werr; err != nil {
		return 0, err
	}
	return len(b), nil
}

// emit writes p to the conn, unless a write failed before; c.wmu is
// held.
func (c *superConn) emit(p []byte) {
	if c.werr == nil && len(p) > 0 {
		_, c.werr = c.Conn.Write(p)
	}
}

func (c *superConn) flush() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.sendPending() // an error shows on anacrolix's next write
}

// sendPending sends the pending haves if the stream is at a message
// boundary; c.wmu is held.
func (c *superConn) sendPending() error {
	if len(c.pending) > 0 && c.out.atBoundary() {
		var b []byte
		for _, i := range c.pending {
			b = append(b, 0, 0, 0, 5, byte(pp.Have))
			b = binary.BigEndian.AppendUint32(b, uint32(i))
		}
		c.pending = c.pending[:0]
		c.emit(b)
	}
	return c.werr
}

// Close forgets the viewer and closes the conn.
func (c *superConn) Close() error {
	c.closed.Do(func() { c.ss.gone(c) })
	return c.Conn.Close()
}

// wireScanner follows a stream of BitTorrent messages after the
// handshake, passing every byte on through emit (when given) except the
// messages it wants: each of those it holds until whole, hands to onMsg,
// and emits what onMsg returns instead. Wanted messages longer than
// maxBody are passed on unread.
type wireScanner struct {
	want    func(pp.MessageType) bool
	maxBody int
	ended   func() error // called after each message, if set

	handshake int    // handshake bytes seen, up to handshakeBytes
	hdr       []byte // the length and id of the message begun, up to 5 bytes
	left      int    // bytes of the current message's body still to come
	held      []byte // the body of a wanted message, while left > 0
	holding   bool   // the current message is held
}

// atBoundary reports whether the stream is between two messages.
func (w *wireScanner) atBoundary() bool {
	return w.handshake == handshakeBytes && len(w.hdr) == 0 && w.left == 0
}

func (w *wireScanner) scan(b []byte, emit func([]byte), onMsg func(pp.MessageType, []byte) []byte) {
	if emit == nil {
		emit = func([]byte) {}
	}
	if w.handshake < handshakeBytes {
		k := min(len(b), handshakeBytes-w.handshake)
		emit(b[:k])
		w.handshake += k
		b = b[k:]
	}
	for len(b) > 0 {
		if w.left == 0 {
			// A message header: 4 bytes of length, then, unless the
			// length is 0 (a keep-alive), the id.
			upTo := 4
			if len(w.hdr) >= 4 {
				upTo = 5
			}
			k := min(len(b), upTo-len(w.hdr))
			w.hdr = append(w.hdr, b[:k]...)
			b = b[k:]
			if len(w.hdr) == 4 && binary.BigEndian.Uint32(w.hdr) == 0 {
				emit(w.hdr) // a keep-alive
				w.hdr = w.hdr[:0]
				w.end()
				continue
			}
			if len(w.hdr) < 5 {
				continue
			}
			length := int(binary.BigEndian.Uint32(w.hdr))
			id := pp.MessageType(w.hdr[4])
			w.left = length - 1
			w.holding = w.want(id) && w.left <= w.maxBody
			if !w.holding {
				emit(w.hdr)
			}
			if w.left == 0 {
				w.done(emit, onMsg)
			}
			continue
		}
		k := min(len(b), w.left)
		if w.holding {
			w.held = append(w.held, b[:k]...)
		} else {
			emit(b[:k])
		}
		w.left -= k
		b = b[k:]
		if w.left == 0 {
			w.done(emit, onMsg)
		}
	}
}

// done ends the current message.
func (w *wireScanner) done(emit func([]byte), onMsg func(pp.MessageType, []byte) []byte) {
	if w.holding {
		if r := onMsg(pp.MessageType(w.hdr[4]), w.held); r != nil {
			emit(r)
		} else {
			emit(w.hdr)
			emit(w.held)
		}
	}
	w.hdr, w.held, w.holding = w.hdr[:0], w.held[:0], false
	w.end()
}

func (w *wireScanner) end() {
	if w.ended != nil {
		w.ended()
	}
}
