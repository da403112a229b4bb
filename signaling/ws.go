package signaling

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/seedcast/seedcast/infohash"
)

// Timing of a WebSocket, the server's and the client's alike. Browsers
// answer pings without help from the page, so a dead socket is noticed
// within pongWait even if it never announces; the client waits the
// announce interval on top, in case a tracker does not answer pings.
const (
	writeWait  = 10 * time.Second
	pongWait   = 75 * time.Second
	pingPeriod = 30 * time.Second
)

// readBufferBytes is a socket's read buffer: messages longer than it are
// read in several calls, and idle sockets, the most of a tracker's, hold
// little.
const readBufferBytes = 512

// msgBuffers recycle the buffers of the messages the tracker sends: a
// WebSocket's writer puts each back once written (or dropped), so that
// relaying an announce's offers, 5 buffers of a few KB, allocates
// nothing in the steady state. A local socket's messages are handed to
// its node and never come back.
var msgBuffers sync.Pool

// maxPooledMsgBytes bounds the buffers msgBuffers keeps: a buffer holds
// its message in a send queue, and a few large ones must not make every
// queued message large.
const maxPooledMsgBytes = 8 << 10

// newMsgBuffer returns an empty buffer for a message of about n bytes.
func newMsgBuffer(n int) []byte {
	if bp, _ := msgBuffers.Get().(*[]byte); bp != nil && cap(*bp) >= n {
		return (*bp)[:0]
	}
	return make([]byte, 0, max(n, 2<<10))
}

// freeMsgBuffer puts b back for newMsgBuffer, unless it is too small or
// too large to be worth keeping; b must not be used after.
func freeMsgBuffer(b []byte) {
	if cap(b) >= 1<<10 && cap(b) <= maxPooledMsgBytes {
		msgBuffers.Put(&b)
	}
}

// readBuffers lend read goroutines the buffers they read messages into,
// grown to the largest message read; a message's request refers into
// its buffer only while it is handled.
var readBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// writeBuffers is the Upgrader's WriteBufferPool: with one, gorilla keeps
// no write buffer for each conn (without, it keeps the hijacked 4 KB
// one). It lends none in fact: gorilla writes only close frames now,
// which need none (frameWriter writes the rest).
var writeBuffers sync.Pool

// newUpgrader returns the WebSocket upgrader of a tracker that takes
// pages from origins (scheme://host[:port]), or from every origin if none
// are given. A request without an Origin header comes from no page (a
// program, not a browser) and is taken.
func newUpgrader(origins []string) *websocket.Upgrader {
	return &websocket.Upgrader{
		// An idle socket holds its read buffer (hijacker's) and nothing
		// else; the writer needs no buffer of gorilla's (frameWriter),
		// but for control frames, from a pool.
		WriteBufferPool: &writeBuffers,
		CheckOrigin: func(r *http.Request) bool {
			o := r.Header.Get("Origin")
			return len(origins) == 0 || o == "" || slices.ContainsFunc(origins, func(a string) bool { return strings.EqualFold(a, o) })
		},
	}
}

// swarmKey is one (info hash, peer id) pair a socket announced.
type swarmKey struct {
	ih   infohash.Hash
	peer ID
}

// socket is one WebSocket client: at most one read pump, which parks
// while the socket idles, at most one writer, and a bounded queue between
// the tracker and the writer.
type socket struct {
	srv  *Server
	conn *websocket.Conn // nil for a local socket
	addr string          // for logs

	// The frames waiting to be sent, and whether they are being written:
	// a message to a socket with nothing queued is written at once if
	// its conn takes it whole without waiting (push), else a writer
	// goroutine starts, and ends once the queue is empty, so that an
	// idle socket holds neither a goroutine nor a buffer for its writes.
	// partial is the rest of a frame such a write left: it goes first.
	qmu     sync.Mutex
	queue   []outMsg
	partial []byte
	writing bool

	// local is the in-process node's socket: recv gets what the tracker
	// sends it, and joined hears of peers that start in its swarms.
	local  bool
	recv   func(msg []byte)
	joined func(ih infohash.Hash, peer ID, host string)

	closeOnce sync.Once
	done      chan struct{}
	// shut is set as done closes: closed reads it on every message
	// pushed, where a select on done would take the channel's lock.
	shut atomic.Bool

	// readMu serialises the handling of this socket's messages with its
	// clean-up; the read pump holds it implicitly, being one goroutine,
	// but a local socket's messages come from its node.
	readMu sync.Mutex
	// counted is the host reserveHost counted this socket under.
	counted string
	// tokens and lastMsg are the read pump's message budget.
	tokens  float64
	lastMsg time.Time

	// br is the reader gorilla reads the conn through, and rc the conn's
	// fd: a socket with nothing in br parks (park) if it has an rc (a
	// plain TCP conn; a TLS conn may hold input of its own).
	br *bufio.Reader
	rc syscall.RawConn
	// seen is when the socket last sent a message or a pong, in Unix
	// nanoseconds: the ping ticker closes a parked socket silent for
	// pongWait, as the read deadline closes one being read.
	seen atomic.Int64
	// parked says the socket has no read goroutine; whoever clears it
	// (claim) reads the socket or finishes it. token is its key in the
	// poller. Both under parkMu.
	parkMu sync.Mutex
	parked bool
	token  uint64

	// keys are the (info hash, peer id) pairs the socket announced: a
	// few, searched in order (a map would cost an idle socket far more).
	keys []swarmKey
}

// serveAnnounce serves GET /announce: a WebSocket upgrade joins the
// WebTorrent tracker; any other request is an HTTP announce.
func (srv *Server) serveAnnounce(w http.ResponseWriter, r *http.Request) {
	if !websocket.IsWebSocketUpgrade(r) {
		srv.serveHTTPAnnounce(w, r)
		return
	}
	host := hostOf(r.RemoteAddr)
	if !srv.reserveHost(host) {
		srv.stats.WSRejected.Add(1)
		http.Error(w, fmt.Sprintf("over %d WebSockets from your address; close some and retry", srv.cfg.MaxSocketsPerIP), http.StatusTooManyRequests)
		return
	}
	hj := &hijacker{ResponseWriter: w}
	conn, err := srv.upgrader.Upgrade(hj, r, nil)
	if err != nil {
		// Upgrade has already replied with an HTTP error.
		srv.log.Debug("websocket upgrade failed", "remote", r.RemoteAddr, "err", err)
		srv.releaseHost(host)
		return
	}
	// The request's address, not the conn's: behind a trusted proxy the
	// node has put the client's there.
	s := srv.newSocket(r.RemoteAddr)
	s.conn = conn
	s.counted = host
	s.seen.Store(time.Now().UnixNano())
	if tc, ok := conn.NetConn().(*net.TCPConn); ok && hj.br != nil {
		s.br = hj.br
		s.rc, _ = tc.SyscallConn()
	}
	conn.SetReadLimit(maxMsgBytes)
	conn.SetPongHandler(func(string) error {
		s.pong()
		return nil
	})
	conn.SetPingHandler(func(data string) error {
		s.push(outMsg{op: framePong, b: []byte(data)})
		return nil
	})
	if !srv.register(s, 1) {
		srv.releaseHost(host)
		conn.Close()
		return
	}
	go s.readPump(false)
}

// hijacker hands gorilla's Upgrader a reader of the tracker's for the
// conn, so that the tracker can tell whether gorilla has input buffered
// before it parks a socket. With Upgrader.ReadBufferSize zero, gorilla
// (v1.5.3, Upgrade in server.go) reads through the hijacked reader when
// it is larger than 256 bytes.
type hijacker struct {
	http.ResponseWriter
	br *bufio.Reader
}

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil || brw.Reader.Buffered() > 0 {
		// Input before the handshake ended: gorilla refuses it, seeing
		// it buffered.
		return nc, brw, err
	}
	h.br = bufio.NewReaderSize(nc, readBufferBytes)
	return nc, bufio.NewReadWriter(h.br, brw.Writer), nil
}

func (srv *Server) newSocket(addr string) *socket {
	return &socket{
		srv:  srv,
		addr: addr,
		done: make(chan struct{}),
	}
}

// register adds s to the server's sockets, with n goroutines for Run to
// wait for when it ends, unless it has ended.
func (srv *Server) register(s *socket, n int) bool {
	srv.sockMu.Lock()
	defer srv.sockMu.Unlock()
	if srv.closed {
		return false
	}
	srv.sockets[s] = struct{}{}
	srv.wg.Add(n)
	return true
}

// goroutine counts one more goroutine for Run to wait for, unless it has
// ended.
func (srv *Server) goroutine() bool {
	srv.wgMu.RLock()
	defer srv.wgMu.RUnlock()
	if srv.wgClosed {
		return false
	}
	srv.wg.Add(1)
	return true
}

// close marks the socket closed and, for a WebSocket, says goodbye and
// closes the conn, which ends the read pump and any write.
func (s *socket) close() {
	s.closeOnce.Do(func() {
		s.shut.Store(true)
		close(s.done)
		if s.conn != nil {
			s.conn.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(closeWait))
			s.conn.Close()
		}
	})
}

// closeWait bounds the close frame's write.
const closeWait = 100 * time.Millisecond

// outMsg is a frame to send: a text message, a ping or a pong.
type outMsg struct {
	op byte // frameText, framePing or framePong
	b  []byte
}

// enqueue queues msg, as push does.
func (s *socket) enqueue(msg []byte) bool {
	return s.push(outMsg{op: frameText, b: msg})
}

// push queues m without blocking, or writes it at once if nothing is
// queued and the conn takes it without waiting; else it starts a writer
// if none runs. A full queue drops the message, since one slow reader
// must not stall the tracker. Pongs come here too, not through gorilla,
// so that nothing else writes to the conn while a frame is half written.
func (s *socket) push(m outMsg) bool {
	s.qmu.Lock()
	if s.closed() {
		s.qmu.Unlock()
		freeMsgBuffer(m.b)
		return false
	}
	if len(s.queue) >= s.srv.cfg.SendQueueLen {
		s.qmu.Unlock()
		freeMsgBuffer(m.b)
		s.srv.stats.WSDropped.Add(1)
		s.srv.log.Debug("send queue full, message dropped", "remote", s.addr)
		return false
	}
	if !s.writing && s.rc != nil {
		// No goroutine for a write the conn takes at once, the most of
		// them: the socket's buffer has room.
		s.writing = true
		s.qmu.Unlock()
		if s.writeNow(m) {
			s.qmu.Lock()
			if len(s.queue) == 0 {
				s.writing = false
				s.qmu.Unlock()
				return true
			}
			s.qmu.Unlock()
		}
		return s.startWriter()
	}
	s.queue = append(s.queue, m)
	start := !s.writing
	s.writing = true
	s.qmu.Unlock()
	if start {
		return s.startWriter()
	}
	return true
}

// startWriter starts the goroutine that writes the queue.
func (s *socket) startWriter() bool {
	if !s.srv.goroutine() {
		s.close() // the server is closing
		return false
	}
	if s.local {
		go s.localWriter()
	} else {
		go s.writer()
	}
	return true
}

// writeNow writes m's frame if the conn takes it without waiting, and
// reports whether it took it whole; what it did not take is queued
// first (partial), for a writer. writing is set.
func (s *socket) writeNow(m outMsg) bool {
	var hdr [10]byte
	h := appendFrameHeader(hdr[:0], m.op, len(m.b))
	n := writeFrameNow(s.rc, h, m.b)
	if n == len(h)+len(m.b) {
		freeMsgBuffer(m.b)
		return true
	}
	if n <= 0 {
		s.qmu.Lock()
		s.queue = slices.Insert(s.queue, 0, m)
		s.qmu.Unlock()
		return false
	}
	rest := make([]byte, 0, len(h)+len(m.b)-n)
	if n < len(h) {
		rest = append(append(rest, h[n:]...), m.b...)
	} else {
		rest = append(rest, m.b[n-len(h):]...)
	}
	freeMsgBuffer(m.b)
	s.qmu.Lock()
	s.partial = rest
	s.qmu.Unlock()
	return false
}

// next takes the queued frames, or ends the writer when there are none.
func (s *socket) next() (partial []byte, msgs []outMsg) {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	partial, msgs = s.partial, s.queue
	s.partial, s.queue = nil, nil
	if partial == nil && len(msgs) == 0 {
		s.writing = false
	}
	return partial, msgs
}

// reply marshals v and queues it.
func (s *socket) reply(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Every reply type marshals; this is a bug.
		s.srv.log.Error("marshal reply", "err", err)
		return
	}
	s.enqueue(b)
}

// readPump reads the socket's messages and handles them, one at a time,
// until the socket closes or, for one that can park, until it has no
// input buffered: then it parks the socket and ends, and the poller runs
// another when input arrives (woken). Only one runs for a socket at a
// time.
func (s *socket) readPump(woken bool) {
	defer s.srv.wg.Done()
	bp := readBuffers.Get().(*[]byte)
	defer readBuffers.Put(bp)
	armed := time.Now()
	s.conn.SetReadDeadline(armed.Add(pongWait))
	if woken {
		// The fd is readable: fill br, so that what came is seen.
		if _, err := s.br.Peek(1); err != nil {
			s.finish()
			return
		}
	}
	for {
		if s.rc != nil {
			more, err := s.controlFrames()
			if err != nil {
				s.finish()
				return
			}
			if !more && s.park() {
				return
			}
		}
		msg, err := s.read((*bp)[:0])
		*bp = msg[:0]
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				s.srv.stats.WSRejected.Add(1)
				s.srv.log.Info("websocket closed: message too big", "remote", s.addr, "limit", maxMsgBytes)
			}
			s.finish()
			return
		}
		now := time.Now()
		s.seen.Store(now.UnixNano())
		if s.rc == nil || now.Sub(armed) > pongWait/4 {
			// A socket that parks gets its deadline when woken, and
			// seldom reads for long after: setting it costs a timer
			// update, which every message would pay.
			armed = now
			s.conn.SetReadDeadline(now.Add(pongWait))
		}
		s.srv.stats.WSMessages.Add(1)
		if !s.allowMessage(now) {
			s.srv.stats.WSRejected.Add(1)
			s.srv.log.Debug("message over the socket's rate, dropped", "remote", s.addr)
			continue
		}
		if s.rc != nil {
			// This goroutine ends when the socket idles, and its stack
			// with it.
			s.srv.handleWS(s, msg)
			continue
		}
		// The message is handled on a goroutine of its own, awaited:
		// decoding and relaying offers grow a stack to several KB, and
		// a read pump that never parks waits on an idle socket for
		// minutes, keeping a stack as large as it ever grew.
		handled := make(chan struct{})
		go func() {
			defer close(handled)
			s.srv.handleWS(s, msg)
		}()
		<-handled
	}
}

// read reads the socket's next message into buf.
func (s *socket) read(buf []byte) ([]byte, error) {
	_, r, err := s.conn.NextReader()
	if err != nil {
		return buf, err
	}
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, cap(buf)+512)
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// pong notes a pong: the socket is alive.
func (s *socket) pong() {
	now := time.Now()
	s.seen.Store(now.UnixNano())
	s.conn.SetReadDeadline(now.Add(pongWait))
}

// controlFrames handles the pings and pongs whole in br as gorilla would,
// and reports whether br holds more: a frame for gorilla to read (or to
// refuse). Without it, a parked socket woken by a pong would wait in
// gorilla's reader, past the pong, for its next message.
func (s *socket) controlFrames() (more bool, err error) {
	for s.br.Buffered() > 0 {
		h, err := s.br.Peek(2)
		if err != nil {
			return false, err
		}
		// RFC 6455 5.2: FIN, no RSV bits, a ping or a pong; masked, as
		// a client's frames are; 125 bytes at most (5.5).
		op, n := h[0]&0x0f, int(h[1]&0x7f)
		if h[0]&0xf0 != 0x80 || h[1]&0x80 == 0 || n > 125 || (op != websocket.PingMessage && op != websocket.PongMessage) {
			return true, nil
		}
		f, err := s.br.Peek(6 + n)
		if err != nil {
			return false, err
		}
		var payload [125]byte
		for i := range n {
			payload[i] = f[6+i] ^ f[2+i%4]
		}
		s.br.Discard(6 + n)
		if op == websocket.PongMessage {
			s.pong()
			continue
		}
		s.push(outMsg{op: framePong, b: slices.Clone(payload[:n])})
	}
	return false, nil
}

// park ends the socket's read goroutine, arming the poller to wake it
// (Server.wake) when input arrives. It reports false if the socket cannot
// park, and its caller reads on.
func (s *socket) park() bool {
	p := s.srv.poller.Load()
	if p == nil {
		return false
	}
	s.parkMu.Lock()
	defer s.parkMu.Unlock()
	if s.closed() {
		return false
	}
	// Armed under parkMu: a wake, which claims, waits until parked is
	// set and the arming done.
	s.parked = true
	if err := p.arm(s); err != nil {
		s.parked = false
		return false
	}
	return true
}

// claim takes a parked socket out of the poller's hands: the caller must
// read it (readPump) or finish it. It reports false if the socket was not
// parked.
func (s *socket) claim() bool {
	s.parkMu.Lock()
	defer s.parkMu.Unlock()
	if !s.parked {
		return false
	}
	s.parked = false
	return true
}

// wake runs a read goroutine for a parked socket with input.
func (srv *Server) wake(s *socket) {
	if !s.claim() {
		return
	}
	if !srv.goroutine() {
		s.finish() // the server is closing
		return
	}
	go s.readPump(true)
}

// finish removes the socket's peers from their swarms, as a "stopped" for
// each, and stops the write pump.
func (s *socket) finish() {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	s.close()
	for _, k := range s.keys {
		s.srv.removeWS(s, k)
	}
	if p := s.srv.poller.Load(); p != nil {
		p.forget(s)
	}
	s.srv.sockMu.Lock()
	delete(s.srv.sockets, s)
	if s.counted != "" {
		if s.srv.perIP[s.counted]--; s.srv.perIP[s.counted] <= 0 {
			delete(s.srv.perIP, s.counted)
		}
	}
	s.srv.sockMu.Unlock()
}

// writer writes the queue to the WebSocket until it is empty, all that
// is queued at once in one write. A failed write closes the socket; the
// writer then drains what is left without writing, so that the socket
// never starts another.
func (s *socket) writer() {
	defer s.srv.wg.Done()
	nc := s.conn.NetConn()
	w := frameWriters.Get().(*frameWriter)
	defer frameWriters.Put(w)
	for {
		partial, msgs := s.next()
		if partial == nil && len(msgs) == 0 {
			return
		}
		if !s.closed() {
			nc.SetWriteDeadline(time.Now().Add(writeWait))
			if err := w.write(nc, partial, msgs); err != nil {
				s.close()
			}
		}
		for _, m := range msgs {
			freeMsgBuffer(m.b)
		}
	}
}

// frameWriters lend writers their frameWriter.
var frameWriters = sync.Pool{New: func() any { return new(frameWriter) }}

// frameWriter writes a socket's messages as WebSocket frames straight to
// its conn, bypassing gorilla's writer, which copies each message into a
// write buffer and makes a write of each. A server's frames are not
// masked, so a message needs only a header before it: the headers and
// the messages go out as they are in one writev. That is safe beside
// gorilla's own writes (pongs, the close frame) because the conn takes
// one Write or writev whole before another (its fd's write lock).
type frameWriter struct {
	hdrs []byte
	bufs net.Buffers
	join []byte // for conns without writev (TLS): one Write of all
}

// Frame headers (RFC 6455 5.2): FIN and the opcode, then the length.
const (
	frameText = 0x80 | websocket.TextMessage
	framePing = 0x80 | websocket.PingMessage
	framePong = 0x80 | websocket.PongMessage
)

// appendFrameHeader appends the header of an unmasked final frame of op
// with n bytes of payload.
func appendFrameHeader(b []byte, op byte, n int) []byte {
	switch {
	case n <= 125:
		return append(b, op, byte(n))
	case n <= 0xffff:
		return append(b, op, 126, byte(n>>8), byte(n))
	}
	return append(b, op, 127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// write writes partial, the rest of a frame, then msgs' frames to nc.
func (w *frameWriter) write(nc net.Conn, partial []byte, msgs []outMsg) error {
	w.hdrs = w.hdrs[:0]
	for _, m := range msgs {
		w.hdrs = appendFrameHeader(w.hdrs, m.op, len(m.b))
	}
	if _, ok := nc.(*net.TCPConn); !ok {
		w.join = append(w.join[:0], partial...)
		h := w.hdrs
		for _, m := range msgs {
			n := frameHeaderLen(len(m.b))
			w.join = append(append(w.join, h[:n]...), m.b...)
			h = h[n:]
		}
		_, err := nc.Write(w.join)
		return err
	}
	w.bufs = w.bufs[:0]
	if len(partial) > 0 {
		w.bufs = append(w.bufs, partial)
	}
	h := w.hdrs
	for _, m := range msgs {
		n := frameHeaderLen(len(m.b))
		w.bufs = append(w.bufs, h[:n:n])
		if len(m.b) > 0 {
			w.bufs = append(w.bufs, m.b)
		}
		h = h[n:]
	}
	bufs := w.bufs // WriteTo consumes its receiver
	_, err := bufs.WriteTo(nc)
	clear(w.bufs) // the messages go back to msgBuffers
	return err
}

// frameHeaderLen is the length of appendFrameHeader's header.
func frameHeaderLen(n int) int {
	switch {
	case n <= 125:
		return 2
	case n <= 0xffff:
		return 4
	}
	return 10
}

// handleWS answers one message of s.
func (srv *Server) handleWS(s *socket, msg []byte) {
	req, err := parseRequest(msg)
	if err != nil {
		srv.stats.WSRejected.Add(1)
		srv.log.Debug("bad tracker message", "remote", s.addr, "err", err)
		re, ok := errors.AsType[*requestError](err)
		if !ok {
			// parseRequest documents only *requestError; should that
			// change, the reply still carries an action, so that the
			// browser keeps its socket.
			re = &requestError{Action: actionAnnounce, Reason: err.Error()}
		}
		s.reply(re.reply())
		return
	}
	switch {
	case req.Action == actionScrape:
		s.reply(srv.wsScrape(req.InfoHashes))
	case req.Answer != nil:
		srv.routeAnswer(s, req)
	default:
		srv.announceWS(s, req)
	}
}

func (srv *Server) wsScrape(ihs []infohash.Hash) scrapeReply {
	r := scrapeReply{Action: actionScrape, Files: make(map[string]scrapeFile)}
	r.Flags.MinRequestInterval = int(srv.cfg.WSInterval / time.Second)
	srv.scrapeFiles(ihs, false, func(ih infohash.Hash, c, i, d int) {
		r.Files[ID(ih).binaryString()] = scrapeFile{Complete: c, Incomplete: i, Downloaded: d}
	})
	return r
}

// touchWS adds or refreshes the peer of req in its swarm, owned by s, and
// returns the recipients for its offers. It fails only when s has
// announced too many swarms or the tracker is full.
func (srv *Server) touchWS(s *socket, req *request, nOffers int) (recipients []*socket, complete, incomplete int, err error) {
	var joined []*socket // local sockets to tell that a peer started
	ih := req.InfoHashes[0]
	key := swarmKey{ih, req.PeerID}
	known := slices.Contains(s.keys, key)
	if !known && len(s.keys) >= srv.cfg.MaxSwarmsPerSocket {
		return nil, 0, 0, errTooManySwarms
	}
	now := time.Now()
	taken := false
	ok := srv.withSwarm(ih, true, func(sw *swarm) {
		p := sw.ws[req.PeerID]
		if p != nil && p.sock != s && (p.sock.local || !p.sock.closed()) {
			// Another live socket, or the node of this process, holds
			// this peer id: whoever learnt it (from any offer) must not
			// take over its seat and the offers meant for it.
			taken = true
			return
		}
		if p == nil {
			p = &wsPeer{}
			sw.ws[req.PeerID] = p
			// A peer that brought offers reaches the node through
			// them; one without needs the node to offer.
			if !s.local && nOffers == 0 {
				for id := range sw.local {
					joined = append(joined, sw.ws[id].sock)
				}
			}
		}
		p.sock = s
		p.seen = now
		if s.local {
			sw.local[req.PeerID] = struct{}{}
		}
		if req.Event == eventCompleted {
			sw.completed++
		}
		if req.Event == eventCompleted || (req.Left != nil && *req.Left == 0) {
			sw.setComplete(&p.complete, true)
		} else if req.Event == eventStarted {
			sw.setComplete(&p.complete, false)
		}
		for _, id := range pickRecipients(sw, req.PeerID, nOffers) {
			recipients = append(recipients, sw.ws[id].sock)
		}
		complete, incomplete = sw.counts()
	})
	if taken {
		return nil, 0, 0, errPeerIDTaken
	}
	if !ok {
		return nil, 0, 0, errTrackerFull
	}
	if !known {
		s.keys = append(s.keys, key)
	}
	for _, l := range joined {
		l.joined(ih, req.PeerID, s.host())
	}
	return recipients, complete, incomplete, nil
}

// pickRecipients chooses who gets an announcer's offers: a node of this
// process first, if one is in the swarm, then peers at random. Without
// that a browser's 5 offers reach a given peer of N with probability 5/N,
// and the one peer sure to have every piece would often hear none.
func pickRecipients(sw *swarm, announcer ID, n int) []ID {
	picked := sample(sw.ws, announcer, n)
	for id := range sw.local {
		if id == announcer || slices.Contains(picked, id) {
			continue
		}
		if len(picked) < n {
			picked = append(picked, id)
		}
		if len(picked) > 0 {
			// Put the node first; the one it displaces goes last.
			j := slices.Index(picked, id)
			if j < 0 {
				j = len(picked) - 1
				picked[j] = id
			}
			picked[0], picked[j] = picked[j], picked[0]
		}
		break
	}
	return picked
}

var (
	errTooManySwarms = errors.New("too many torrents announced on one socket")
	errTrackerFull   = errors.New("tracker is full; try again later")
	errPeerIDTaken   = errors.New("peer_id in use by another connection")
	errTooManyFromIP = fmt.Errorf("over %d peers of this torrent from one address", maxHTTPPeersPerIP)
)

// host is the address the socket's peer connects from, without its port.
func (s *socket) host() string { return hostOf(s.addr) }

// hostOf is addr without its port.
func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// reserveHost counts one more WebSocket from host, if it has fewer than
// MaxSocketsPerIP.
func (srv *Server) reserveHost(host string) bool {
	srv.sockMu.Lock()
	defer srv.sockMu.Unlock()
	if srv.perIP[host] >= srv.cfg.MaxSocketsPerIP {
		return false
	}
	srv.perIP[host]++
	return true
}

func (srv *Server) releaseHost(host string) {
	srv.sockMu.Lock()
	defer srv.sockMu.Unlock()
	if srv.perIP[host]--; srv.perIP[host] <= 0 {
		delete(srv.perIP, host)
	}
}

// allowMessage takes one of the socket's message tokens, refilled at
// MessageRate a second up to ten seconds' worth; it reports false when
// none is left. Only the read pump calls it.
func (s *socket) allowMessage(now time.Time) bool {
	rate := s.srv.cfg.MessageRate
	if s.lastMsg.IsZero() {
		s.tokens = 10 * rate
	} else {
		s.tokens = min(10*rate, s.tokens+rate*now.Sub(s.lastMsg).Seconds())
	}
	s.lastMsg = now
	if s.tokens < 1 {
		return false
	}
	s.tokens--
	return true
}

// closed reports whether the socket has closed.
func (s *socket) closed() bool { return s.shut.Load() }

func (srv *Server) announceWS(s *socket, req *request) {
	srv.stats.WSAnnounce.Add(1)
	ih := req.InfoHashes[0]
	if req.Event == eventStopped {
		srv.removeWS(s, swarmKey{ih, req.PeerID})
		s.keys = slices.DeleteFunc(s.keys, func(k swarmKey) bool { return k == swarmKey{ih, req.PeerID} })
		c, i := 0, 0
		srv.withSwarm(ih, false, func(sw *swarm) { c, i = sw.counts() })
		s.enqueue(announceReplyMessage(srv.wsIntervalSecs(), ih, c, i))
		return
	}
	if !srv.allowed(ih) {
		srv.stats.WSRejected.Add(1)
		s.reply(failure(ih, errNotTracked.Error()))
		return
	}
	recipients, c, i, err := srv.touchWS(s, req, len(req.Offers))
	if err != nil {
		srv.stats.WSRejected.Add(1)
		s.reply(failure(ih, err.Error()))
		return
	}
	if srv.debug() {
		srv.log.Debug("announce", "infohash", ih, "peer_id", req.PeerID, "remote", s.addr,
			"event", req.Event, "offers", len(req.Offers), "recipients", len(recipients), "complete", c, "incomplete", i)
	}
	// The announcer hears back before its offers go out, as in
	// bittorrent-tracker.
	s.enqueue(announceReplyMessage(srv.wsIntervalSecs(), ih, c, i))
	for n, to := range recipients {
		o := req.Offers[n]
		if to.enqueue(relayMessage("offer", o.SDP, o.ID, req.PeerID, ID(ih))) {
			srv.stats.OffersRelay.Add(1)
		} else {
			srv.stats.OffersDropped.Add(1)
		}
	}
}

// routeAnswer forwards an answer to the peer whose offer it answers. Like
// bittorrent-tracker it counts as an update of the answerer and gets no
// reply, except a failure reason when the offerer is gone, which
// bittorrent-tracker only logs: the answerer should learn that its answer
// went nowhere.
func (srv *Server) routeAnswer(s *socket, req *request) {
	ih := req.InfoHashes[0]
	if _, _, _, err := srv.touchWS(s, req, 0); err != nil {
		srv.stats.WSRejected.Add(1)
		s.reply(failure(ih, err.Error()))
		return
	}
	var to *socket
	srv.withSwarm(ih, false, func(sw *swarm) {
		if p := sw.ws[req.ToPeerID]; p != nil {
			to = p.sock
		}
	})
	if to == nil {
		srv.stats.WSRejected.Add(1)
		s.reply(failure(ih, "unknown to_peer_id: the offering peer left the swarm"))
		return
	}
	if to.enqueue(relayMessage("answer", req.Answer, req.OfferID, req.PeerID, ID(ih))) {
		srv.stats.AnswersRelay.Add(1)
		if srv.debug() {
			srv.log.Debug("answer relayed", "infohash", ih, "peer_id", req.PeerID, "to_peer_id", req.ToPeerID, "offer_id", req.OfferID)
		}
	}
}

// debug reports whether the log takes Debug records: the logs of every
// announce and answer are built only then, their ids boxed into
// interfaces being most of a disabled log's cost.
func (srv *Server) debug() bool { return srv.log.Enabled(context.Background(), slog.LevelDebug) }

// removeWS removes the peer of k from its swarm if s still owns it: after a
// reconnect the same peer id may belong to a newer socket.
func (srv *Server) removeWS(s *socket, k swarmKey) {
	srv.withSwarm(k.ih, false, func(sw *swarm) {
		if p := sw.ws[k.peer]; p != nil && p.sock == s {
			sw.delWS(k.peer)
		}
	})
}

// relayMessage writes the announce that relays an offer or answer (kind)
// as json.Marshal of offerRelay or answerRelay would, but by hand: the
// SDP, up to a few KB that came in as valid JSON, is copied as it is,
// where encoding/json would check and compact it again for every
// recipient (the most of a relay's CPU).
func relayMessage(kind string, sdp []byte, offerID, from, ih ID) []byte {
	b := newMsgBuffer(len(sdp) + 200)
	b = append(b, `{"action":"announce","`...)
	b = append(b, kind...)
	b = append(b, `":`...)
	b = append(b, sdp...)
	b = append(b, `,"offer_id":`...)
	b = appendIDJSON(b, offerID)
	b = append(b, `,"peer_id":`...)
	b = appendIDJSON(b, from)
	b = append(b, `,"info_hash":`...)
	b = appendIDJSON(b, ih)
	return append(b, '}')
}

// appendIDJSON appends id as a JSON string of its binary string form,
// one character per byte.
func appendIDJSON(b []byte, id ID) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, c := range id {
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		case c < 0x80:
			b = append(b, c)
		default:
			b = utf8.AppendRune(b, rune(c))
		}
	}
	return append(b, '"')
}

func (srv *Server) wsIntervalSecs() int { return int(srv.cfg.WSInterval / time.Second) }

// announceReplyMessage writes the reply to an announce as json.Marshal of
// announceReply would (FuzzRelayMessage holds it to that), without
// reflection: it goes out for every announce.
func announceReplyMessage(interval int, ih infohash.Hash, complete, incomplete int) []byte {
	b := newMsgBuffer(160)
	b = append(b, `{"action":"announce","interval":`...)
	b = strconv.AppendInt(b, int64(interval), 10)
	b = append(b, `,"info_hash":`...)
	b = appendIDJSON(b, ID(ih))
	b = append(b, `,"complete":`...)
	b = strconv.AppendInt(b, int64(complete), 10)
	b = append(b, `,"incomplete":`...)
	b = strconv.AppendInt(b, int64(incomplete), 10)
	return append(b, '}')
}
