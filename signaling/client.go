package signaling

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	mrand "math/rand/v2"
	"sync"
	"time"

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

// PendingOffer is an offer waiting for its answer. The client calls either
// Answered or Close, once: Close when no answer came within 50 s
// (WebTorrent's offer timeout) or the connection to the tracker ended
// first.
type PendingOffer interface {
	SDP() string
	// Answered completes the connection with peer from's answer. It
	// returns when ctx is done, if not before.
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
	cfg     ClientConfig
	log     *slog.Logger
	refresh chan struct{} // Refresh's wake-up, one pending at most
}

// Timing of the client. offerTTL is WebTorrent's OFFER_TIMEOUT; offers are
// swept every offerSweep, so one lives at most offerTTL+offerSweep.
const (
	offerTTL        = 50 * time.Second
	offerSweep      = 5 * time.Second
	defaultInterval = 120 * time.Second
	minInterval     = 5 * time.Second
	maxBackoff      = 5 * time.Minute
	maxAnswering    = 16 // offers answered at once
	// Bounds on the offers the node makes to peers that joined without
	// offers of their own: each costs a PeerConnection for up to offerTTL,
	// and anyone can announce fresh peer ids by the thousand (10 000
	// announces once held 4 512 offers and 373 MB). A browser beyond them
	// still reaches the node through the offers it announces with, or at
	// the node's next announce.
	maxJoinOffers        = 64 // at once, in all
	maxJoinOffersPerHost = 4  // at once, to peers announcing from one host
	handshakeWait        = 10 * time.Second
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
	return &Client{cfg: cfg, log: cfg.Logger.With("component", "tracker-client", "tracker", tracker), refresh: make(chan struct{}, 1)}, nil
}

// Refresh has the client announce the torrents it has not announced yet
// at once, rather than at the end of its interval, and announce
// "stopped" for those no longer in Torrents, so that the tracker stops
// listing the node in their swarms: the node calls it when it adds or
// removes a torrent. It does not block; a client between connections
// announces everything when it connects.
func (c *Client) Refresh() {
	select {
	case c.refresh <- struct{}{}:
	default:
	}
}

// Run announces until ctx is done, reconnecting with exponential back-off
// and jitter. It returns nil when ctx is done, and only once every
// goroutine it started has stopped and every offer it made has been
// answered or closed.
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
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// link is one connection to a tracker.
type link interface {
	// send queues msg for the tracker without blocking.
	send(msg []byte) error
	// setInterval tells the link how often the session announces. The
	// tracker answers every announce, so a link that stays silent for
	// longer than that, pongs included, is dead.
	setInterval(d time.Duration)
	// close ends the link and waits for its goroutines.
	close()
}

type joinEvent struct {
	ih   infohash.Hash
	peer ID
	host string // where the peer announced from
}

// session is one connection: announce now and every interval, and answer
// what comes in, until the connection or ctx ends. It returns once every
// goroutine it started has stopped.
func (c *Client) session(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	in := make(chan []byte, 256)
	joins := make(chan joinEvent, 64)
	linkDone := make(chan error, 1) // the first error that ends the link
	interval := defaultInterval
	if c.cfg.MaxInterval > 0 {
		interval = min(interval, c.cfg.MaxInterval)
	}
	var l link
	var err error
	if c.cfg.Local != nil {
		l, err = c.dialLocal(in, joins, linkDone)
	} else {
		l, err = c.dialWS(ctx, interval, in, linkDone)
	}
	if err != nil {
		return err
	}
	s := &session{c: c, l: l, ctx: ctx, pending: make(map[ID]pendingOffer), joinOffers: make(map[string]int), announced: make(map[infohash.Hash]bool),
		sem: make(chan struct{}, maxAnswering)}
	defer func() {
		// In this order: the context first, so that offers being made
		// see it, then the offers, so that one made from here on is
		// closed at once, then the link and the goroutines.
		cancel()
		s.closePending()
		l.close()
		s.wg.Wait()
	}()

	s.announceAll()
	timer := time.NewTimer(interval)
	defer timer.Stop()
	sweep := time.NewTicker(offerSweep)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-linkDone:
			return err
		case msg := <-in:
			if iv := s.handle(msg); iv > 0 && iv != interval {
				interval = iv
				l.setInterval(interval)
				timer.Reset(interval)
			}
		case j := <-joins:
			s.offerTo(j.ih, j.peer, j.host)
		case now := <-sweep.C:
			s.expireOffers(now)
		case <-timer.C:
			s.announceAll()
			timer.Reset(interval)
		case <-c.refresh:
			s.announceChanged()
		}
	}
}

// session is the state of one connection.
type session struct {
	c   *Client
	l   link
	ctx context.Context // done when the session ends
	sem chan struct{}
	// wg counts every goroutine the session starts. Only the session's
	// own goroutine adds to it, and it waits after its loop has ended.
	wg sync.WaitGroup

	mu         sync.Mutex
	closed     bool                   // the session ended: no more pending offers
	pending    map[ID]pendingOffer    // by offer id
	joinOffers map[string]int         // offers to joined peers, pending or being made, by host
	joinTotal  int                    // their sum
	announced  map[infohash.Hash]bool // torrents announced with "started"
	torrents   map[infohash.Hash]bool // torrents of the last round
}

// pendingOffer is an offer of the session waiting for its answer.
type pendingOffer struct {
	po      PendingOffer
	expires time.Time
	host    string // of the joined peer it was made for; "" in an announce
}

// reserveJoin counts one more offer to a peer that joined from host, if
// the bounds allow it. s.mu is held.
func (s *session) reserveJoin(host string) bool {
	if s.joinTotal >= maxJoinOffers || s.joinOffers[host] >= maxJoinOffersPerHost {
		return false
	}
	s.joinOffers[host]++
	s.joinTotal++
	return true
}

// releaseJoin undoes reserveJoin once the offer is answered, expired or
// dropped. s.mu is held.
func (s *session) releaseJoin(host string) {
	if host == "" {
		return
	}
	s.joinTotal--
	if s.joinOffers[host]--; s.joinOffers[host] <= 0 {
		delete(s.joinOffers, host)
	}
}

// errSessionClosed is why an offer made as its session ended is dropped.
var errSessionClosed = errors.New("signaling: tracker connection closed")

// announceAll announces every torrent with fresh offers, and "stopped"
// for those announced before and gone since.
func (s *session) announceAll() { s.announceRound(true) }

// announceChanged announces the torrents not announced yet in this
// session, and "stopped" for those gone: a Refresh.
func (s *session) announceChanged() { s.announceRound(false) }

func (s *session) announceRound(all bool) {
	list := s.c.cfg.Torrents()
	now := make(map[infohash.Hash]bool, len(list))
	for _, a := range list {
		now[a.InfoHash] = true
	}
	var gone []infohash.Hash
	s.mu.Lock()
	announced := maps.Clone(s.announced)
	for ih := range s.announced {
		if !now[ih] {
			gone = append(gone, ih)
			delete(s.announced, ih)
		}
	}
	s.torrents = now
	s.mu.Unlock()
	for _, a := range list {
		if all || !announced[a.InfoHash] {
			s.wg.Go(func() { s.announce(a) })
		}
	}
	for _, ih := range gone {
		s.sendJSON(wireAnnounce{Action: actionAnnounce, InfoHash: ID(ih), PeerID: s.c.cfg.PeerID, Event: "stopped"})
	}
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
		wg.Go(func() {
			id, po, err := s.newOffer(a.InfoHash, "")
			if err != nil {
				s.c.log.Debug("make offer", "infohash", a.InfoHash, "err", err)
				return
			}
			offers[i] = wireOffer{Offer: sdpJSON{Type: "offer", SDP: po.SDP()}, OfferID: id}
			ok[i] = true
		})
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

// newOffer makes an offer and keeps it until answered or expired, for the
// peer that joined from host or, with host "", for an announce. An offer
// made after the session ended is closed at once.
func (s *session) newOffer(ih infohash.Hash, host string) (ID, PendingOffer, error) {
	var id ID
	rand.Read(id[:])
	ctx, cancel := context.WithTimeout(s.ctx, handshakeWait)
	defer cancel()
	po, err := s.c.cfg.Peer.Offer(ctx, ih)
	if err != nil {
		return id, nil, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		po.Close()
		return id, nil, errSessionClosed
	}
	s.pending[id] = pendingOffer{po: po, expires: time.Now().Add(offerTTL), host: host}
	s.mu.Unlock()
	return id, po, nil
}

// expireOffers closes the offers that have waited offerTTL for an answer.
func (s *session) expireOffers(now time.Time) {
	var expired []PendingOffer
	s.mu.Lock()
	maps.DeleteFunc(s.pending, func(_ ID, p pendingOffer) bool {
		if now.Before(p.expires) {
			return false
		}
		expired = append(expired, p.po)
		s.releaseJoin(p.host)
		return true
	})
	s.mu.Unlock()
	for _, po := range expired {
		po.Close()
	}
}

// closePending closes every offer still waiting and makes newOffer close
// the ones that complete later.
func (s *session) closePending() {
	s.mu.Lock()
	s.closed = true
	pending := s.pending
	s.pending = nil
	s.mu.Unlock()
	for _, p := range pending {
		p.po.Close()
	}
}

// offerTo offers straight to a peer that just joined a swarm of the
// node's own tracker, so that browsers which only answer are reached at
// once rather than at the node's next announce.
func (s *session) offerTo(ih infohash.Hash, peer ID, host string) {
	lc, ok := s.l.(*localLink)
	if !ok {
		return
	}
	s.mu.Lock()
	ok = s.reserveJoin(host)
	s.mu.Unlock()
	if !ok {
		s.c.log.Debug("no offer to a joined peer: too many pending", "infohash", ih, "host", host)
		return
	}
	s.wg.Go(func() {
		id, po, err := s.newOffer(ih, host)
		if err != nil {
			s.mu.Lock()
			s.releaseJoin(host)
			s.mu.Unlock()
			s.c.log.Debug("make offer", "infohash", ih, "err", err)
			return
		}
		sdp, _ := json.Marshal(sdpJSON{Type: "offer", SDP: po.SDP()})
		lc.conn.SendOffer(ih, s.c.cfg.PeerID, peer, id, sdp)
	})
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
		p, ok := s.pending[offerID]
		delete(s.pending, offerID)
		if ok {
			s.releaseJoin(p.host)
		}
		s.mu.Unlock()
		if !ok {
			s.c.log.Debug("answer to unknown or expired offer", "infohash", ih, "peer_id", from)
			return 0
		}
		s.wg.Go(func() { p.po.Answered(s.ctx, from, m.Answer.SDP) })
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
	s.wg.Go(func() {
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
	})
}
