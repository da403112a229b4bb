// Package signaling is seedcast's BitTorrent tracker: the WebTorrent
// WebSocket protocol that browsers use to trade WebRTC offers and answers,
// and the HTTP announce and scrape of BEP 3 and BEP 23 for native clients,
// both on one /announce route.
//
// The wire format follows the npm bittorrent-tracker server, which every
// WebTorrent client is written against; see notes/webtorrent-interop.md in
// the shared design folder for where the two differ and why.
package signaling

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/seedcast/seedcast/infohash"
)

// Config configures a Server. The zero value of every field means its
// default.
type Config struct {
	// Logger receives the server's logs; nil means slog.Default().
	Logger *slog.Logger

	// WSInterval is the announce interval told to WebSocket clients.
	// Zero means 120 s, bittorrent-tracker's.
	WSInterval time.Duration
	// HTTPInterval is the announce interval told to HTTP clients.
	// Zero means 5 minutes.
	HTTPInterval time.Duration

	// MaxSwarms bounds the info hashes tracked at once. Zero means 100,000.
	MaxSwarms int
	// MaxSwarmsPerSocket bounds the (info hash, peer id) pairs one WebSocket
	// may announce. Zero means 100.
	MaxSwarmsPerSocket int
	// MaxSocketsPerIP bounds the WebSockets open from one address at
	// once. Zero means 256: a campus behind one NAT has many viewers.
	MaxSocketsPerIP int
	// MessageRate bounds the messages one WebSocket may send a second,
	// with a burst of ten times as many. Zero means 10.
	MessageRate float64
	// SendQueueLen is the number of messages queued for one WebSocket before
	// further ones are dropped. Zero means 256.
	SendQueueLen int

	// Node is the BitTorrent node running in this process, if any. The
	// tracker lists its TCP listener to HTTP announcers.
	Node Node

	// Allow, if set, says which info hashes the tracker tracks; an
	// announce of any other gets a failure. nil tracks every one.
	Allow func(infohash.Hash) bool
	// AllowOrigins, if set, are the only origins (scheme://host[:port])
	// whose pages may open a WebSocket; a public tracker takes every one.
	AllowOrigins []string
}

// errNotTracked is the failure for an info hash Config.Allow refuses.
var errNotTracked = errors.New("torrent not tracked here")

// allowed reports whether the tracker tracks ih.
func (srv *Server) allowed(ih infohash.Hash) bool {
	return srv.cfg.Allow == nil || srv.cfg.Allow(ih)
}

// Node is what the tracker needs from the seeding node of its process.
type Node interface {
	// TCPPeer returns the address at which the node's BitTorrent listener
	// serves ih to a client that reached the tracker at local (the tracker's
	// end of that client's connection), whether the node is seeding, and
	// false if the node does not have ih.
	TCPPeer(ih infohash.Hash, local netip.Addr) (addr netip.AddrPort, seeding bool, ok bool)
	// Leecher tells the node of an HTTP client still downloading ih at
	// addr, so that the node can connect to it: some clients (Transmission
	// among them) never dial a peer on a loopback or martian address, and
	// would otherwise wait for the node to find them.
	Leecher(ih infohash.Hash, addr netip.AddrPort)
}

// Server is a tracker. Its zero value is not usable: call New.
type Server struct {
	cfg      Config
	log      *slog.Logger
	upgrader *websocket.Upgrader

	mu     sync.RWMutex
	swarms map[infohash.Hash]*swarm

	sockMu  sync.Mutex
	sockets map[*socket]struct{}
	perIP   map[string]int // WebSockets open by host
	closed  bool
	wg      sync.WaitGroup
	// wgMu guards wg's Adds for goroutines that start as messages come
	// (writers, woken readers) against close's Wait: shared, not a
	// mutex every message of every socket would queue on.
	wgMu     sync.RWMutex
	wgClosed bool

	// poller wakes parked sockets while Run runs; nil before and after,
	// and on systems without one, where every socket keeps its read
	// goroutine.
	poller atomic.Pointer[poller]

	stats      Stats
	statsCache statsCache
}

// Stats are the server's running counters.
type Stats struct {
	WSMessages    atomic.Int64 // messages read from WebSockets
	WSRejected    atomic.Int64 // messages answered with a failure reason
	WSDropped     atomic.Int64 // messages dropped on full send queues
	WSAnnounce    atomic.Int64 // WebSocket announces, "stopped" ones included
	OffersRelay   atomic.Int64 // offers forwarded
	OffersDropped atomic.Int64 // offers for a recipient whose socket was full or closing
	AnswersRelay  atomic.Int64 // answers forwarded
	HTTPAnnounce  atomic.Int64 // HTTP announces served
	Evicted       atomic.Int64 // idle swarms dropped to make room for new ones
}

// New returns a Server. It starts nothing: Register adds its routes to a
// mux, and Run expires peers that stopped announcing and closes every
// socket when it ends.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.WSInterval == 0 {
		cfg.WSInterval = 120 * time.Second
	}
	if cfg.HTTPInterval == 0 {
		cfg.HTTPInterval = 5 * time.Minute
	}
	if cfg.MaxSwarms == 0 {
		cfg.MaxSwarms = 100_000
	}
	if cfg.MaxSwarmsPerSocket == 0 {
		cfg.MaxSwarmsPerSocket = 100
	}
	if cfg.SendQueueLen == 0 {
		cfg.SendQueueLen = 256
	}
	if cfg.MaxSocketsPerIP == 0 {
		cfg.MaxSocketsPerIP = 256
	}
	if cfg.MessageRate == 0 {
		cfg.MessageRate = 10
	}
	switch {
	case cfg.WSInterval < time.Second:
		return nil, errors.New("signaling: Config.WSInterval under 1 s")
	case cfg.HTTPInterval < time.Second:
		return nil, errors.New("signaling: Config.HTTPInterval under 1 s")
	case cfg.MaxSwarms < 0, cfg.MaxSwarmsPerSocket < 0, cfg.SendQueueLen < 0, cfg.MaxSocketsPerIP < 0, cfg.MessageRate < 0:
		return nil, errors.New("signaling: negative limit in Config")
	}
	for _, o := range cfg.AllowOrigins {
		if u, err := url.Parse(o); err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" || u.RawQuery != "" {
			return nil, fmt.Errorf("signaling: allowed origin %q: want scheme://host[:port], such as https://films.example.org", o)
		}
	}
	return &Server{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "tracker"),
		upgrader: newUpgrader(cfg.AllowOrigins),
		swarms:   make(map[infohash.Hash]*swarm),
		sockets:  make(map[*socket]struct{}),
		perIP:    make(map[string]int),
	}, nil
}

// Stats returns the server's counters.
func (srv *Server) Stats() *Stats { return &srv.stats }

// Sockets returns the number of WebSockets open now; the node's local
// connection is not one.
func (srv *Server) Sockets() int {
	srv.sockMu.Lock()
	defer srv.sockMu.Unlock()
	n := 0
	for s := range srv.sockets {
		if !s.local {
			n++
		}
	}
	return n
}

// Swarms returns the number of info hashes the tracker has peers of now.
func (srv *Server) Swarms() int {
	srv.mu.RLock()
	defer srv.mu.RUnlock()
	return len(srv.swarms)
}

// Register adds the tracker's routes to mux: GET /announce, a WebSocket
// upgrade into the WebTorrent tracker or else an HTTP announce (BEP 3), and
// GET /scrape (BEP 48), and GET /stats, the tracker's figures in HTML or JSON.
func (srv *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /announce", srv.serveAnnounce)
	mux.HandleFunc("GET /scrape", srv.serveScrape)
	mux.HandleFunc("GET /stats", srv.serveStats)
}

// Run expires peers that have not announced for three intervals until ctx
// is done. Then it closes every WebSocket and local connection, waits for
// their goroutines, and returns nil; a socket that connects after that is
// refused (ConnectLocal returns ErrClosed). The WebSockets must be closed
// here because http.Server.Shutdown does not wait for hijacked
// connections. Run is meant to be called once.
func (srv *Server) Run(ctx context.Context) error {
	defer srv.close()
	if p, err := newPoller(srv.wake); err == nil {
		srv.wg.Add(1)
		go func() {
			defer srv.wg.Done()
			p.run()
		}()
		srv.poller.Store(p)
	} else if !errors.Is(err, errors.ErrUnsupported) {
		srv.log.Warn("idle WebSockets keep a goroutine each", "err", err)
	}
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	pings := time.NewTicker(pingPeriod)
	defer pings.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			srv.expire(now)
		case <-pings.C:
			srv.ping()
		}
	}
}

// ping queues a ping for every WebSocket. One that has not answered
// (nor sent anything) within pongWait is closed: by its read deadline if
// a goroutine reads it, else here, within pingPeriod more.
func (srv *Server) ping() {
	srv.sockMu.Lock()
	socks := make([]*socket, 0, len(srv.sockets))
	for s := range srv.sockets {
		if !s.local {
			socks = append(socks, s)
		}
	}
	srv.sockMu.Unlock()
	silent := time.Now().Add(-pongWait).UnixNano()
	for _, s := range socks {
		if s.seen.Load() < silent {
			srv.log.Debug("websocket closed: no pong", "remote", s.addr)
			s.close()
			if s.claim() {
				s.finish()
			}
			continue
		}
		s.push(outMsg{op: framePing})
	}
}

func (srv *Server) expire(now time.Time) {
	wsBefore := now.Add(-3 * srv.cfg.WSInterval)
	httpBefore := now.Add(-3 * srv.cfg.HTTPInterval)
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for ih, sw := range srv.swarms {
		sw.mu.Lock()
		sw.expire(wsBefore, httpBefore)
		if sw.empty() {
			delete(srv.swarms, ih)
		}
		sw.mu.Unlock()
	}
}

// close refuses new sockets, closes every socket and waits for their
// goroutines. A WebSocket's close frame gets closeWait, all of them at
// once; closing the conn ends its read pump and any write. A local
// socket's writer ends once its recv returns.
func (srv *Server) close() {
	srv.wgMu.Lock()
	srv.wgClosed = true
	srv.wgMu.Unlock()
	srv.sockMu.Lock()
	srv.closed = true
	socks := make([]*socket, 0, len(srv.sockets))
	for s := range srv.sockets {
		socks = append(socks, s)
	}
	srv.sockMu.Unlock()
	var wg sync.WaitGroup
	for _, s := range socks {
		wg.Go(func() {
			s.close()
			if s.claim() {
				s.finish() // it was parked: no read pump will
			}
		})
	}
	wg.Wait()
	// The poller's goroutine is one of srv.wg's: it must end first. A
	// socket it wakes from now on finds the server closed.
	if p := srv.poller.Swap(nil); p != nil {
		p.close()
	}
	srv.wg.Wait()
}

// withSwarm runs f on the swarm of ih under its lock, creating the swarm if
// create is set. It reports false if there is no such swarm or no room for
// a new one. The server's read lock is held throughout so that expire,
// which deletes empty swarms under the write lock, cannot orphan a swarm f
// is adding to.
func (srv *Server) withSwarm(ih infohash.Hash, create bool, f func(sw *swarm)) bool {
	srv.mu.RLock()
	if sw := srv.swarms[ih]; sw != nil {
		sw.mu.Lock()
		if create {
			sw.last = time.Now()
		}
		f(sw)
		sw.mu.Unlock()
		srv.mu.RUnlock()
		return true
	}
	srv.mu.RUnlock()
	if !create {
		return false
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	sw := srv.swarms[ih]
	if sw == nil {
		if len(srv.swarms) >= srv.cfg.MaxSwarms && !srv.evictIdle() {
			return false
		}
		sw = newSwarm()
		srv.swarms[ih] = sw
	}
	sw.mu.Lock()
	sw.last = time.Now()
	f(sw)
	sw.mu.Unlock()
	return true
}

// evictSample is how many swarms evictIdle looks at.
const evictSample = 16

// evictIdle makes room for a swarm when the tracker is full: of a few
// swarms picked at random (map order), it drops the one announced to
// longest ago that has no WebSocket peer, whose socket would hold on to
// it; HTTP peers come back at their next announce. So a flood of random
// info hashes displaces its own idle swarms, not the torrents in use. It
// reports whether it dropped one; srv.mu is held.
func (srv *Server) evictIdle() bool {
	var oldest infohash.Hash
	var at time.Time
	found, seen := false, 0
	for ih, sw := range srv.swarms {
		if seen++; seen > evictSample {
			break
		}
		sw.mu.Lock()
		idle, last := len(sw.ws) == 0, sw.last
		sw.mu.Unlock()
		if idle && (!found || last.Before(at)) {
			oldest, at, found = ih, last, true
		}
	}
	if found {
		delete(srv.swarms, oldest)
		srv.stats.Evicted.Add(1)
	}
	return found
}

// scrapeFiles returns the counts of the swarms asked for, or of every swarm
// (at most maxScrapeAll) when ihs is nil. With withNode, the node of this
// process counts as a seeder of what it seeds: HTTP clients are listed its
// TCP listener.
func (srv *Server) scrapeFiles(ihs []infohash.Hash, withNode bool, each func(ih infohash.Hash, complete, incomplete, downloaded int)) {
	const maxScrapeAll = 1000
	one := func(ih infohash.Hash, sw *swarm) {
		c, i := sw.counts()
		// The node counts once: as a peer of the swarm if it announced
		// to it over its local socket, else here.
		if withNode && len(sw.local) == 0 && srv.nodeSeeds(ih) {
			c++
		}
		each(ih, c, i, sw.completed)
	}
	if ihs != nil {
		for _, ih := range ihs {
			if !srv.withSwarm(ih, false, func(sw *swarm) { one(ih, sw) }) {
				one(ih, newSwarm())
			}
		}
		return
	}
	srv.mu.RLock()
	defer srv.mu.RUnlock()
	n := 0
	for ih, sw := range srv.swarms {
		if n == maxScrapeAll {
			break
		}
		n++
		sw.mu.Lock()
		one(ih, sw)
		sw.mu.Unlock()
	}
}

// nodeSeeds reports whether the node of this process seeds ih.
func (srv *Server) nodeSeeds(ih infohash.Hash) bool {
	if srv.cfg.Node == nil {
		return false
	}
	_, seeding, ok := srv.cfg.Node.TCPPeer(ih, netip.Addr{})
	return ok && seeding
}
