package signaling

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/seedcast/seedcast/infohash"
)

// Peer is what the tracker client needs from the WebRTC side: making
// offers and answering them. The webrtc package provides it, wired in by
// cmd/seedcast; signaling never sees a PeerConnection.
type Peer interface {
	// Offer makes an offer to connect for ih.
	Offer(ctx context.Context, ih infohash.Hash) (PendingOffer, error)
	// Answer answers peer from's offer for ih and returns the answer's SDP.
	Answer(ctx context.Context, ih infohash.Hash, from ID, offerSDP string) (string, error)
}

// PendingOffer is an offer waiting for its answer.
type PendingOffer interface {
	SDP() string
	// Answered completes the connection with peer from's answer.
	Answered(ctx context.Context, from ID, answerSDP string)
	// Close abandons the offer.
	Close()
}

// Announce is one torrent as the client announces it.
type Announce struct {
	InfoHash   infohash.Hash
	Left       int64 // -1 while unknown
	Uploaded   int64
	Downloaded int64
}

// ClientConfig configures a Client.
type ClientConfig struct {
	// Logger receives the client's logs; nil means slog.Default().
	Logger *slog.Logger
	// URL is a ws:// or wss:// tracker. Exactly one of URL and Local is set.
	URL string
	// Local is the tracker of this process, reached without a socket.
	Local *Server
	// PeerID is the node's one stable peer id (required).
	PeerID ID
	// Peer makes and answers offers (required).
	Peer Peer
	// Torrents returns what to announce (required). It is called on every
	// announce round.
	Torrents func() []Announce
	// Offers is the number of offers per announce per torrent. Zero means
	// 5, what WebTorrent sends.
	Offers int
	// MaxInterval caps the announce interval the tracker asks for. Zero
	// means no cap.
	MaxInterval time.Duration
}

// Client announces the node's torrents to one WebTorrent tracker with
// offers, answers the offers the tracker relays, and reconnects with
// back-off when the connection drops.
type Client struct {
	cfg ClientConfig
	log *slog.Logger
}

// Timing of the client. offerTTL is WebTorrent's OFFER_TIMEOUT.
const (
	offerTTL        = 50 * time.Second
	defaultInterval = 120 * time.Second
	minInterval     = 5 * time.Second
	maxBackoff      = 5 * time.Minute
	maxAnswering    = 16 // offers answered at once
	handshakeWait   = 10 * time.Second
)

// NewClient validates cfg.
func NewClient(cfg ClientConfig) (*Client, error) {
	if (cfg.URL == "") == (cfg.Local == nil) {
		return nil, errors.New("signaling: ClientConfig needs exactly one of URL and Local")
	}
	if cfg.Peer == nil || cfg.Torrents == nil {
		return nil, errors.New("signaling: ClientConfig.Peer and Torrents are required")
	}
	if cfg.Offers == 0 {
		cfg.Offers = 5
	}
	if cfg.Offers < 0 || cfg.Offers > maxOffers {
		return nil, fmt.Errorf("signaling: ClientConfig.Offers %d: want 0 to %d", cfg.Offers, maxOffers)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	tracker := cfg.URL
	if tracker == "" {
		tracker = "local"
	}
	return &Client{cfg: cfg, log: cfg.Logger.With("component", "tracker-client", "tracker", tracker)}, nil
}

// Run announces until ctx is done, reconnecting with exponential back-off
// and jitter. It returns nil when ctx is done.
func (c *Client) Run(ctx context.Context) error {
	backoff := time.Second
	for {
		start := time.Now()
		err := c.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(start) > time.Minute {
			backoff = time.Second
		}
		wait := backoff/2 + mrand.N(backoff/2+1)
		c.log.Info("tracker connection lost; reconnecting", "err", err, "in", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// link is one connection to a tracker.
type link interface {
	send(msg []byte) error
	close()
}

type joinEvent struct {
	ih   infohash.Hash
	peer ID
}

// session is one connection: announce now and every interval, and answer
// what comes in, until the connection or ctx ends.
func (c *Client) session(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	in := make(chan []byte, 256)
	joins := make(chan joinEvent, 64)
	linkDone := make(chan error, 1)
	var l link
	var err error
	if c.cfg.Local != nil {
		l, err = c.dialLocal(in, joins, linkDone)
	} else {
		l, err = c.dialWS(ctx, in, linkDone)
	}
	if err != nil {
		return err
	}
	defer l.close()
	s := &session{c: c, l: l, ctx: ctx, pending: make(map[ID]PendingOffer), announced: make(map[infohash.Hash]bool),
		sem: make(chan struct{}, maxAnswering)}
	defer s.closePending()

	interval := defaultInterval
	if c.cfg.MaxInterval > 0 {
		interval = min(interval, c.cfg.MaxInterval)
	}
	s.announceAll()
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-linkDone:
			return err
		case msg := <-in:
			if iv := s.handle(msg); iv > 0 && iv != interval {
				interval = iv
				timer.Reset(interval)
			}
		case j := <-joins:
			s.offerTo(j.ih, j.peer)
		case <-timer.C:
			s.announceAll()
			timer.Reset(interval)
		}
	}
}

// session is the state of one connection.
type session struct {
	c   *Client
	l   link
	ctx context.Context
	sem chan struct{}

	mu        sync.Mutex
	pending   map[ID]PendingOffer    // by offer id
	announced map[infohash.Hash]bool // torrents announced with "started"
	torrents  map[infohash.Hash]bool // torrents of the last round
}

func (s *session) announceAll() {
	list := s.c.cfg.Torrents()
	now := make(map[infohash.Hash]bool, len(list))
	for _, a := range list {
		now[a.InfoHash] = true
		go s.announce(a)
	}
	s.mu.Lock()
	s.torrents = now
	s.mu.Unlock()
}

// wireAnnounce is the JSON of an announce the client sends.
type wireAnnounce struct {
	Action     string      `json:"action"`
	InfoHash   ID          `json:"info_hash"`
	PeerID     ID          `json:"peer_id"`
	Numwant    int         `json:"numwant"`
	Uploaded   int64       `json:"uploaded"`
	Downloaded int64       `json:"downloaded"`
	Left       *int64      `json:"left,omitempty"`
	Event      string      `json:"event,omitempty"`
	Offers     []wireOffer `json:"offers,omitempty"`
}

type wireOffer struct {
	Offer   sdpJSON `json:"offer"`
	OfferID ID      `json:"offer_id"`
}

type sdpJSON struct {
	Type string `json:"type"`
	SDP  string `json:"sdp"`
}

type wireAnswer struct {
	Action   string  `json:"action"`
	InfoHash ID      `json:"info_hash"`
	PeerID   ID      `json:"peer_id"`
	ToPeerID ID      `json:"to_peer_id"`
	Answer   sdpJSON `json:"answer"`
	OfferID  ID      `json:"offer_id"`
}

// announce sends one announce of a with fresh offers.
func (s *session) announce(a Announce) {
	s.mu.Lock()
	event := ""
	if !s.announced[a.InfoHash] {
		event = "started"
		s.announced[a.InfoHash] = true
	}
	s.mu.Unlock()
	msg := wireAnnounce{Action: actionAnnounce, InfoHash: ID(a.InfoHash), PeerID: s.c.cfg.PeerID,
		Uploaded: a.Uploaded, Downloaded: a.Downloaded, Event: event}
	if a.Left >= 0 {
		msg.Left = &a.Left
	}
	var wg sync.WaitGroup
	offers := make([]wireOffer, s.c.cfg.Offers)
	ok := make([]bool, len(offers))
	for i := range offers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, po, err := s.newOffer(a.InfoHash)
			if err != nil {
				s.c.log.Debug("make offer", "infohash", a.InfoHash, "err", err)
				return
			}
			offers[i] = wireOffer{Offer: sdpJSON{Type: "offer", SDP: po.SDP()}, OfferID: id}
			ok[i] = true
		}()
	}
	wg.Wait()
	for i, o := range offers {
		if ok[i] {
			msg.Offers = append(msg.Offers, o)
		}
	}
	msg.Numwant = len(msg.Offers)
	s.sendJSON(msg)
}

// newOffer makes an offer and keeps it until answered or expired.
func (s *session) newOffer(ih infohash.Hash) (ID, PendingOffer, error) {
	var id ID
	rand.Read(id[:])
	ctx, cancel := context.WithTimeout(s.ctx, handshakeWait)
	defer cancel()
	po, err := s.c.cfg.Peer.Offer(ctx, ih)
	if err != nil {
		return id, nil, err
	}
	s.mu.Lock()
	s.pending[id] = po
	s.mu.Unlock()
	time.AfterFunc(offerTTL, func() {
		s.mu.Lock()
		left, ok := s.pending[id]
		delete(s.pending, id)
		s.mu.Unlock()
		if ok {
			left.Close()
		}
	})
	return id, po, nil
}

// offerTo offers straight to a peer that just joined a swarm of the
// node's own tracker, so that browsers which only answer are reached at
// once rather than at the node's next announce.
func (s *session) offerTo(ih infohash.Hash, peer ID) {
	lc, ok := s.l.(*localLink)
	if !ok {
		return
	}
	go func() {
		id, po, err := s.newOffer(ih)
		if err != nil {
			s.c.log.Debug("make offer", "infohash", ih, "err", err)
			return
		}
		sdp, _ := json.Marshal(sdpJSON{Type: "offer", SDP: po.SDP()})
		lc.conn.SendOffer(ih, s.c.cfg.PeerID, peer, id, sdp)
	}()
}

func (s *session) sendJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.c.log.Error("marshal", "err", err)
		return
	}
	if err := s.l.send(b); err != nil {
		s.c.log.Debug("send to tracker", "err", err)
	}
}

// trackerMsg is what a tracker sends.
type trackerMsg struct {
	Action   string          `json:"action"`
	InfoHash json.RawMessage `json:"info_hash"`
	PeerID   json.RawMessage `json:"peer_id"`
	OfferID  json.RawMessage `json:"offer_id"`
	Offer    *sdpJSON        `json:"offer"`
	Answer   *sdpJSON        `json:"answer"`
	Interval int             `json:"interval"`
	Failure  string          `json:"failure reason"`
	Warning  string          `json:"warning message"`
}

// handle acts on one message and returns the interval it asks for, if any.
func (s *session) handle(raw []byte) time.Duration {
	var m trackerMsg
	if err := json.Unmarshal(raw, &m); err != nil {
		s.c.log.Debug("bad message from tracker", "err", err)
		return 0
	}
	if m.Action != actionAnnounce {
		return 0
	}
	ih, err := parseJSONInfoHash(m.InfoHash)
	if err != nil {
		return 0
	}
	if m.Failure != "" {
		s.c.log.Warn("tracker refused announce", "infohash", ih, "reason", m.Failure)
		return 0
	}
	if m.Warning != "" {
		s.c.log.Debug("tracker warning", "infohash", ih, "warning", m.Warning)
	}
	from, _ := parseJSONID(m.PeerID)
	offerID, _ := parseJSONID(m.OfferID)
	switch {
	case m.Offer != nil && from != s.c.cfg.PeerID:
		s.answer(ih, from, offerID, m.Offer.SDP)
	case m.Answer != nil && from != s.c.cfg.PeerID:
		s.mu.Lock()
		po, ok := s.pending[offerID]
		delete(s.pending, offerID)
		s.mu.Unlock()
		if !ok {
			s.c.log.Debug("answer to unknown or expired offer", "infohash", ih, "peer_id", from)
			return 0
		}
		go po.Answered(s.ctx, from, m.Answer.SDP)
	case m.Interval > 0:
		iv := max(time.Duration(m.Interval)*time.Second, minInterval)
		if s.c.cfg.MaxInterval > 0 {
			iv = min(iv, s.c.cfg.MaxInterval)
		}
		return iv
	}
	return 0
}

// answer answers a relayed offer, if the torrent is one the node announces
// and the node is not already answering too many.
func (s *session) answer(ih infohash.Hash, from, offerID ID, sdp string) {
	s.mu.Lock()
	known := s.torrents[ih]
	s.mu.Unlock()
	if !known {
		return
	}
	select {
	case s.sem <- struct{}{}:
	default:
		s.c.log.Debug("too many offers being answered; offer dropped", "infohash", ih, "peer_id", from)
		return
	}
	go func() {
		defer func() { <-s.sem }()
		ctx, cancel := context.WithTimeout(s.ctx, handshakeWait)
		defer cancel()
		start := time.Now()
		answer, err := s.c.cfg.Peer.Answer(ctx, ih, from, sdp)
		if err != nil {
			s.c.log.Debug("answer offer", "infohash", ih, "peer_id", from, "err", err)
			return
		}
		s.c.log.Debug("offer answered", "infohash", ih, "peer_id", from, "took", time.Since(start))
		s.sendJSON(wireAnswer{Action: actionAnnounce, InfoHash: ID(ih), PeerID: s.c.cfg.PeerID, ToPeerID: from,
			Answer: sdpJSON{Type: "answer", SDP: answer}, OfferID: offerID})
	}()
}

func (s *session) closePending() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, po := range s.pending {
		po.Close()
		delete(s.pending, id)
	}
}

// localLink is a connection to the tracker of this process.
type localLink struct{ conn *LocalConn }

func (c *Client) dialLocal(in chan<- []byte, joins chan<- joinEvent, done chan<- error) (link, error) {
	var lc *LocalConn
	lc, err := c.cfg.Local.ConnectLocal(
		func(msg []byte) {
			select {
			case in <- msg:
			case <-lc.Done():
			}
		},
		func(ih infohash.Hash, peer ID) {
			select {
			case joins <- joinEvent{ih, peer}:
			default: // the peer will hear the node's next announce
			}
		})
	if err != nil {
		return nil, err
	}
	go func() {
		<-lc.Done()
		done <- ErrClosed
	}()
	return &localLink{conn: lc}, nil
}

func (l *localLink) send(msg []byte) error { return l.conn.Send(msg) }
func (l *localLink) close()                { l.conn.Close() }

// wsLink is a WebSocket to a tracker, with one read pump and one write
// pump.
type wsLink struct {
	conn *websocket.Conn
	out  chan []byte
	done chan struct{}
	once sync.Once
}

func (c *Client) dialWS(ctx context.Context, in chan<- []byte, done chan<- error) (link, error) {
	d := websocket.Dialer{HandshakeTimeout: 15 * time.Second, Proxy: http.ProxyFromEnvironment}
	conn, _, err := d.DialContext(ctx, c.cfg.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", c.cfg.URL, err)
	}
	conn.SetReadLimit(maxMsgBytes)
	l := &wsLink{conn: conn, out: make(chan []byte, 256), done: make(chan struct{})}
	go func() {
		defer l.close()
		for {
			conn.SetReadDeadline(time.Now().Add(pongWait + defaultInterval))
			_, msg, err := conn.ReadMessage()
			if err != nil {
				done <- err
				return
			}
			select {
			case in <- msg:
			case <-l.done:
				return
			}
		}
	}()
	go func() {
		ping := time.NewTicker(pingPeriod)
		defer ping.Stop()
		for {
			select {
			case msg := <-l.out:
				conn.SetWriteDeadline(time.Now().Add(writeWait))
				if err := conn.WriteMessage(websocket.TextMessage, msg); err != nil {
					l.close()
					return
				}
			case <-ping.C:
				if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
					l.close()
					return
				}
			case <-l.done:
				return
			}
		}
	}()
	return l, nil
}

func (l *wsLink) send(msg []byte) error {
	select {
	case l.out <- msg:
		return nil
	case <-l.done:
		return ErrClosed
	default:
		return errors.New("signaling: send queue full")
	}
}

func (l *wsLink) close() {
	l.once.Do(func() {
		close(l.done)
		l.conn.Close()
	})
}
