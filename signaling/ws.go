package signaling

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sync"
	"time"

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

var upgrader = websocket.Upgrader{
	ReadBufferSize:  4 << 10,
	WriteBufferSize: 4 << 10,
	// A public tracker serves pages of every origin.
	CheckOrigin: func(*http.Request) bool { return true },
}

// swarmKey is one (info hash, peer id) pair a socket announced.
type swarmKey struct {
	ih   infohash.Hash
	peer ID
}

// socket is one WebSocket client: one read pump, one write pump, and a
// bounded queue between the tracker and the write pump.
type socket struct {
	srv  *Server
	conn *websocket.Conn // nil for a local socket
	send chan []byte
	addr string // for logs

	// local is the in-process node's socket: recv gets what the tracker
	// sends it, and joined hears of peers that start in its swarms.
	local  bool
	recv   func(msg []byte)
	joined func(ih infohash.Hash, peer ID)

	closeOnce sync.Once
	done      chan struct{}

	// readMu serialises the handling of this socket's messages with its
	// clean-up; the read pump holds it implicitly, being one goroutine,
	// but a local socket's messages come from its node.
	readMu sync.Mutex
	keys   map[swarmKey]struct{}
}

// serveAnnounce serves GET /announce: a WebSocket upgrade joins the
// WebTorrent tracker; any other request is an HTTP announce.
func (srv *Server) serveAnnounce(w http.ResponseWriter, r *http.Request) {
	if !websocket.IsWebSocketUpgrade(r) {
		srv.serveHTTPAnnounce(w, r)
		return
	}
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		// Upgrade has already replied with an HTTP error.
		srv.log.Debug("websocket upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	// The request's address, not the conn's: behind a trusted proxy the
	// node has put the client's there.
	s := srv.newSocket(r.RemoteAddr)
	s.conn = conn
	if !srv.register(s, 2) {
		conn.Close()
		return
	}
	go s.writePump()
	go s.readPump()
}

func (srv *Server) newSocket(addr string) *socket {
	return &socket{
		srv:  srv,
		addr: addr,
		send: make(chan []byte, srv.cfg.SendQueueLen),
		done: make(chan struct{}),
		keys: make(map[swarmKey]struct{}),
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

func (s *socket) close() { s.closeOnce.Do(func() { close(s.done) }) }

// enqueue queues msg for the write pump without blocking; a full queue
// drops the message, since one slow reader must not stall the tracker.
func (s *socket) enqueue(msg []byte) bool {
	select {
	case <-s.done:
		return false
	default:
	}
	select {
	case s.send <- msg:
		return true
	default:
		s.srv.stats.WSDropped.Add(1)
		s.srv.log.Debug("send queue full, message dropped", "remote", s.addr)
		return false
	}
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

func (s *socket) readPump() {
	defer s.srv.wg.Done()
	defer s.finish()
	s.conn.SetReadLimit(maxMsgBytes)
	s.conn.SetReadDeadline(time.Now().Add(pongWait))
	s.conn.SetPongHandler(func(string) error {
		return s.conn.SetReadDeadline(time.Now().Add(pongWait))
	})
	for {
		_, msg, err := s.conn.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				s.srv.stats.WSRejected.Add(1)
				s.srv.log.Info("websocket closed: message too big", "remote", s.addr, "limit", maxMsgBytes)
			}
			return
		}
		s.conn.SetReadDeadline(time.Now().Add(pongWait))
		s.srv.stats.WSMessages.Add(1)
		s.srv.handleWS(s, msg)
	}
}

// finish removes the socket's peers from their swarms, as a "stopped" for
// each, and stops the write pump.
func (s *socket) finish() {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	s.close()
	for k := range s.keys {
		s.srv.removeWS(s, k)
	}
	s.srv.sockMu.Lock()
	delete(s.srv.sockets, s)
	s.srv.sockMu.Unlock()
}

func (s *socket) writePump() {
	defer s.srv.wg.Done()
	ping := time.NewTicker(pingPeriod)
	defer func() {
		ping.Stop()
		s.conn.Close() // also ends the read pump
	}()
	for {
		select {
		case msg := <-s.send:
			s.conn.SetWriteDeadline(time.Now().Add(writeWait))
			if err := s.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
				s.close()
				return
			}
		case <-ping.C:
			if err := s.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				s.close()
				return
			}
		case <-s.done:
			s.conn.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
			return
		}
	}
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
	if _, ok := s.keys[key]; !ok && len(s.keys) >= srv.cfg.MaxSwarmsPerSocket {
		return nil, 0, 0, errTooManySwarms
	}
	now := time.Now()
	ok := srv.withSwarm(ih, true, func(sw *swarm) {
		p := sw.ws[req.PeerID]
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
			p.complete = true
		} else if req.Event == eventStarted {
			p.complete = false
		}
		for _, id := range pickRecipients(sw, req.PeerID, nOffers) {
			recipients = append(recipients, sw.ws[id].sock)
		}
		complete, incomplete = sw.counts()
	})
	if !ok {
		return nil, 0, 0, errTrackerFull
	}
	s.keys[key] = struct{}{}
	for _, l := range joined {
		l.joined(ih, req.PeerID)
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
)

func (srv *Server) announceWS(s *socket, req *request) {
	ih := req.InfoHashes[0]
	if req.Event == eventStopped {
		srv.removeWS(s, swarmKey{ih, req.PeerID})
		delete(s.keys, swarmKey{ih, req.PeerID})
		c, i := 0, 0
		srv.withSwarm(ih, false, func(sw *swarm) { c, i = sw.counts() })
		s.reply(announceReply{Action: actionAnnounce, Interval: srv.wsIntervalSecs(), InfoHash: ID(ih), Complete: c, Incomplete: i})
		return
	}
	recipients, c, i, err := srv.touchWS(s, req, len(req.Offers))
	if err != nil {
		srv.stats.WSRejected.Add(1)
		s.reply(failure(ih, err.Error()))
		return
	}
	srv.log.Debug("announce", "infohash", ih, "peer_id", req.PeerID, "remote", s.addr,
		"event", req.Event, "offers", len(req.Offers), "recipients", len(recipients), "complete", c, "incomplete", i)
	// The announcer hears back before its offers go out, as in
	// bittorrent-tracker.
	s.reply(announceReply{Action: actionAnnounce, Interval: srv.wsIntervalSecs(), InfoHash: ID(ih), Complete: c, Incomplete: i})
	for n, to := range recipients {
		o := req.Offers[n]
		b, err := marshalOffer(ih, req.PeerID, o.ID, o.SDP)
		if err != nil {
			srv.log.Error("marshal offer", "err", err)
			return
		}
		if to.enqueue(b) {
			srv.stats.OffersRelay.Add(1)
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
	b, err := json.Marshal(answerRelay{Action: actionAnnounce, Answer: req.Answer, OfferID: req.OfferID, PeerID: req.PeerID, InfoHash: ID(ih)})
	if err != nil {
		srv.log.Error("marshal answer", "err", err)
		return
	}
	if to.enqueue(b) {
		srv.stats.AnswersRelay.Add(1)
		srv.log.Debug("answer relayed", "infohash", ih, "peer_id", req.PeerID, "to_peer_id", req.ToPeerID, "offer_id", req.OfferID)
	}
}

// removeWS removes the peer of k from its swarm if s still owns it: after a
// reconnect the same peer id may belong to a newer socket.
func (srv *Server) removeWS(s *socket, k swarmKey) {
	srv.withSwarm(k.ih, false, func(sw *swarm) {
		if p := sw.ws[k.peer]; p != nil && p.sock == s {
			delete(sw.ws, k.peer)
			delete(sw.local, k.peer)
		}
	})
}

func marshalOffer(ih infohash.Hash, from, offerID ID, sdp json.RawMessage) ([]byte, error) {
	return json.Marshal(offerRelay{Action: actionAnnounce, Offer: sdp, OfferID: offerID, PeerID: from, InfoHash: ID(ih)})
}

func (srv *Server) wsIntervalSecs() int { return int(srv.cfg.WSInterval / time.Second) }
