// Package swarm owns seedcast's BitTorrent client: it seeds files and
// folders in place, builds their metainfo, adds .torrent files and magnets,
// keeps piece completion and the node's identity in a data dir, and counts
// peers and bytes per transport.
package swarm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/anacrolix/dht/v2"
	g "github.com/anacrolix/generics"
	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
	pp "github.com/anacrolix/torrent/peer_protocol"
	"github.com/anacrolix/torrent/storage"
	"golang.org/x/time/rate"

	"github.com/seedcast/seedcast/infohash"
)

// DefaultBTPort is the TCP and uTP port when Config.BTPort is zero.
const DefaultBTPort = 6881

// maxPeerRequests is the number of requests anacrolix queues per peer
// (localClientReqq in v1.59.1), and blockBytes the block size every client
// in use requests (BEP 3 suggests 16 KiB; WebTorrent's BLOCK_LENGTH).
const (
	maxPeerRequests = 1024
	blockBytes      = 16 << 10
)

// Config configures a Swarm. The zero value of a field means its default.
type Config struct {
	// Logger receives the swarm's logs; nil means slog.Default().
	Logger *slog.Logger
	// DataDir holds the node's state (required).
	DataDir string

	// BTPort is the TCP and uTP listening port; zero means DefaultBTPort
	// and -1 a port the system picks.
	BTPort int
	// ListenHost is the address the BitTorrent listeners bind; empty means
	// every interface.
	ListenHost string
	// DisableTCP and DisableUTP turn off those transports.
	DisableTCP, DisableUTP bool
	// NoDHT turns off the DHT.
	NoDHT bool
	// NoPortForwarding turns off UPnP and NAT-PMP port mapping.
	NoPortForwarding bool
	// UploadRate caps the node's upload, in bytes per second, over every
	// transport: BitTorrent peers through the client, HTTP through
	// UploadLimiter. Zero means no cap.
	UploadRate int64
	// DialLoopback lets the node dial native clients that its HTTP
	// tracker saw at loopback or link-local addresses: right for a node
	// whose public URL is on loopback (a desktop, a test), wrong for one
	// behind a proxy on its own host, where every client seems to come
	// from loopback and dialling back would probe the host's own ports
	// for anyone who announces.
	DialLoopback bool
	// NoSuperSeed tells browser peers of a complete torrent every piece
	// at once, as to any other peer, instead of super-seeding to them
	// (superseed.go).
	NoSuperSeed bool
	// NATIP, if valid, is the node's public IP behind 1:1 NAT: the
	// tracker lists it to native clients in place of the local address
	// they reached it at.
	NATIP netip.Addr

	// Announce is the first tier of the announce-list of every torrent the
	// node serves: its own tracker, as ws(s):// and http(s)://. The node
	// does not announce to these itself; the tracker lists the node
	// directly.
	Announce []string
	// Trackers are further trackers, put in the served metainfo and
	// announced to.
	Trackers []string
	// WebSeedBase, if set, is the prefix of the node's BEP 19 web seed; the
	// url-list of a torrent is WebSeedBase + hex info hash + "/".
	WebSeedBase string
	// Meter shows hashing and fetching; nil means LogMeter(Logger).
	Meter Meter
}

// Swarm is a BitTorrent client. Use New, then Run.
type Swarm struct {
	cfg   Config
	log   *slog.Logger
	meter Meter

	up      chan struct{} // closed once Run has started the client
	stopped chan struct{} // closed once Run has stopped it
	runErr  error         // why Run stopped or failed to start; set before stopped closes
	running sync.Once

	mu       sync.Mutex
	st       *state
	pc       storage.PieceCompletion
	cl       *torrent.Client
	torrents []*Torrent

	quit     <-chan struct{}           // Run's ctx.Done(), set before the client starts
	upload   *rate.Limiter             // the upload cap; infinite without one
	dialBack *rate.Limiter             // dials to clients the HTTP tracker saw
	conns    *conns                    // conns handed in by AddConn
	closed   *closedConns              // peer conns anacrolix closed, waiting to be counted
	pace     pacer                     // peers' request queues
	kept     *keptList                 // what Restore adds again after a restart
	fetch    *http.Client              // for AddURL
	retired  map[string]TransportStats // bytes of removed torrents, under mu
	wg       sync.WaitGroup
}

// Errors callers branch on.
var (
	// ErrNotStarted is returned by methods that need the client running.
	ErrNotStarted = errors.New("swarm: not started")
	// ErrStopped is returned once Run has returned.
	ErrStopped = errors.New("swarm: stopped")
	// ErrPortInUse means the BitTorrent port is taken.
	ErrPortInUse = errors.New("swarm: BitTorrent port in use")
)

// New validates cfg. It opens nothing: Run does.
func New(cfg Config) (*Swarm, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("swarm: Config.DataDir is required")
	}
	if cfg.BTPort == 0 {
		cfg.BTPort = DefaultBTPort
	}
	if cfg.BTPort < -1 || cfg.BTPort > 65535 {
		return nil, fmt.Errorf("swarm: Config.BTPort %d out of range", cfg.BTPort)
	}
	if cfg.UploadRate < 0 {
		return nil, fmt.Errorf("swarm: Config.UploadRate %d is negative", cfg.UploadRate)
	}
	upload := rate.Limit(1 << 50) // too high to ever make a peer wait
	if cfg.UploadRate > 0 {
		upload = rate.Limit(cfg.UploadRate)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	log := cfg.Logger.With("component", "swarm")
	meter := cfg.Meter
	if meter == nil {
		meter = LogMeter(log)
	}
	return &Swarm{
		cfg:      cfg,
		log:      log,
		meter:    meter,
		up:       make(chan struct{}),
		stopped:  make(chan struct{}),
		upload:   rate.NewLimiter(upload, blockBytes),
		dialBack: rate.NewLimiter(dialBackRate, dialBackBurst),
		conns:    newConns(),
		closed:   newClosedConns(),
		fetch:    newFetchClient(),
	}, nil
}

// Run opens the data dir, starts the client's listeners and serves until
// ctx is done; then it closes every conn and listener, flushes piece
// completion and returns once its goroutines have stopped. It returns nil
// after a clean stop and the reason otherwise; Run runs once.
func (s *Swarm) Run(ctx context.Context) error {
	err := errors.New("swarm: Run called twice")
	s.running.Do(func() { err = s.run(ctx) })
	return err
}

func (s *Swarm) run(ctx context.Context) (err error) {
	defer func() {
		s.runErr = err
		if err == nil {
			s.runErr = ErrStopped
		}
		close(s.stopped)
	}()
	s.quit = ctx.Done()
	if err := s.start(); err != nil {
		return err
	}
	close(s.up)
	s.wg.Go(func() { s.closed.count(ctx, s) })
	s.wg.Go(func() { s.conns.expire(ctx) })
	s.wg.Go(func() { s.watchStalls(ctx) })
	<-ctx.Done()

	s.mu.Lock()
	cl, pc := s.cl, s.pc
	s.mu.Unlock()
	// The client goes first: anacrolix spins on a closed listener while
	// its client is open.
	errs := cl.Close()
	s.conns.close()
	s.wg.Wait()
	s.closed.drain(s) // the conns the client closed as it went
	errs = append(errs, pc.Close())
	return errors.Join(errs...)
}

// Up waits until Run has started the client. It returns Run's error if
// the client failed to start or has stopped, or ctx's.
func (s *Swarm) Up(ctx context.Context) error {
	select {
	case <-s.up:
		select {
		case <-s.stopped:
			return s.runErr
		default:
			return nil
		}
	case <-s.stopped:
		return s.runErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// start opens the data dir and starts the client's listeners.
func (s *Swarm) start() error {
	st, err := openState(s.cfg.DataDir)
	if err != nil {
		return fmt.Errorf("swarm: %w", err)
	}
	peerID, err := st.peerID()
	if err != nil {
		return fmt.Errorf("swarm: peer id: %w", err)
	}
	pc, err := storage.NewBoltPieceCompletion(filepath.Join(s.cfg.DataDir, "completion"))
	if err != nil {
		return fmt.Errorf("swarm: piece completion in %s: %w (is another seedcast using this --data dir?)", s.cfg.DataDir, err)
	}
	kept, err := openKept(s.cfg.DataDir)
	if err != nil {
		pc.Close()
		return fmt.Errorf("swarm: %w", err)
	}

	cc := torrent.NewDefaultClientConfig()
	cc.Slogger = slog.New(quietCancels{s.cfg.Logger.Handler()}).With("component", "anacrolix")
	cc.DataDir = filepath.Join(s.cfg.DataDir, "downloads")
	cc.DefaultStorage = storage.NewFileOpts(storage.NewFileClientOpts{
		ClientBaseDir:   cc.DataDir,
		PieceCompletion: sharedCompletion{pc},
		// With part files, anacrolix writes name.part until every piece
		// of the file is in, and on opening a torrent takes each file
		// still .part as holding no verified piece at all (v1.59.1
		// setCompletionFromPartFiles): a restart, or a kill, threw away
		// all of an unfinished download. Written in place, the pieces
		// verified stay verified, as the completion in --data says.
		UsePartFiles: g.Some(false),
		Logger:       s.cfg.Logger,
	})
	cc.PeerID = peerID
	cc.Seed = true
	cc.ListenPort = max(s.cfg.BTPort, 0)
	if h := s.cfg.ListenHost; h != "" {
		cc.ListenHost = func(string) string { return h }
		// anacrolix listens on both families unless told; a host of one
		// family cannot serve the other.
		if ip, err := netip.ParseAddr(h); err == nil {
			cc.DisableIPv6 = ip.Is4()
			cc.DisableIPv4 = ip.Is6()
		}
	}
	cc.DisableTCP = s.cfg.DisableTCP
	cc.DisableUTP = s.cfg.DisableUTP
	cc.NoDHT = s.cfg.NoDHT
	cc.DhtStartingNodes = s.dhtStartingNodes
	cc.NoDefaultPortForwarding = s.cfg.NoPortForwarding
	// The webrtc package carries browser peers; anacrolix's own WebTorrent
	// client stalls uploads (anacrolix/torrent#402) and cannot be given a
	// SettingEngine.
	cc.DisableWebtorrent = true
	// anacrolix reserves memory for each request a peer makes against this
	// per-conn budget, in arrival order, but serves requests in map order:
	// once a peer has more than the budget outstanding, the request server
	// can wait on a reservation behind others that only it would release,
	// and uploading to that peer stops for good. WebTorrent pipelines a
	// second's worth of 16 KiB blocks (hundreds), so the default 1 MiB
	// budget stalls every fast browser: the stall of anacrolix/torrent#402.
	// A budget covering the most requests anacrolix queues per peer (1024,
	// rejecting the rest) at 16 KiB each keeps the wait from ever forming.
	cc.MaxAllocPeerRequestDataPerConn = maxPeerRequests * blockBytes
	// That budget holds only for 16 KiB blocks: longer requests could
	// outgrow it and stall the peer's conn again. BEP 3: "All current
	// implementations use 2^14 (16 kiB), and close connections which
	// request an amount greater than that." anacrolix refuses longer
	// requests (a reject with BEP 6, else it closes the conn) only when its
	// upload rate limiter has a finite rate, up to the limiter's burst: the
	// node's upload cap, or without one a rate too high to ever make a
	// peer wait, and a burst of one block.
	cc.UploadRateLimiter = s.upload
	cc.Callbacks.PeerConnClosed = func(c *torrent.PeerConn) {
		s.pace.closed(c)
		s.closed.add(c)
	}
	cc.Callbacks.ReadExtendedHandshake = func(c *torrent.PeerConn, m *pp.ExtendedHandshakeMessage) {
		s.pace.handshake(c, m.Reqq)
	}
	cc.Callbacks.ReceivedUsefulData = append(cc.Callbacks.ReceivedUsefulData, s.pace.received)
	cc.Callbacks.PeerConnAdded = append(cc.Callbacks.PeerConnAdded, s.pace.add)
	cc.Callbacks.ReadMessage = s.pace.read
	cc.Callbacks.SentRequest = append(cc.Callbacks.SentRequest, s.pace.sent)
	// Wakes a conn writer that missed its wake-up (stall.go).
	cc.KeepAliveTimeout = keepAliveTimeout
	cc.ExtendedHandshakeClientVersion = "seedcast"
	cc.HTTPUserAgent = "seedcast"

	cl, err := torrent.NewClient(cc)
	if err != nil {
		pc.Close()
		if isAddrInUse(err) {
			return fmt.Errorf("%w: port %d; set --bt-port or SEEDCAST_BT_PORT", ErrPortInUse, s.cfg.BTPort)
		}
		return fmt.Errorf("swarm: start client: %w", err)
	}
	cl.AddListener(s.conns.ln)
	cl.AddDialer(s.conns)
	s.mu.Lock()
	s.st, s.pc, s.cl, s.kept = st, pc, cl, kept
	s.mu.Unlock()
	s.log.Info("bittorrent listening", "port", cl.LocalPort(), "peer_id", peerID, "dht", !s.cfg.NoDHT)
	return nil
}

func isAddrInUse(err error) bool {
	var se *os.SyscallError
	return errors.As(err, &se) && strings.Contains(se.Err.Error(), "address already in use")
}

// UploadLimiter returns the node's upload cap, shared by every transport,
// for HTTP responses to draw from; nil if the node has none.
func (s *Swarm) UploadLimiter() *rate.Limiter {
	if s.cfg.UploadRate == 0 {
		return nil
	}
	return s.upload
}

// Port returns the BitTorrent listening port, 0 before Start.
func (s *Swarm) Port() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cl == nil {
		return 0
	}
	return s.cl.LocalPort()
}

// Add adds a magnet link, an info hash alone (as its magnet), the
// http(s):// URL of a .torrent, a .torrent file, or a file or folder to
// seed in place, as the argument's form says. It waits for Run to start
// the client.
func (s *Swarm) Add(ctx context.Context, arg string) (*Torrent, error) {
	if err := s.Up(ctx); err != nil {
		return nil, err
	}
	switch kindOf(arg) {
	case argMagnet:
		return s.AddMagnet(arg)
	case argInfoHash:
		return s.AddMagnet(infoHashMagnet(arg))
	case argURL:
		return s.AddURL(ctx, arg)
	case argTorrentFile:
		return s.AddTorrentFile(arg)
	default:
		return s.AddPath(ctx, arg)
	}
}

// AddPath seeds the file or folder at path where it lies. Its info is
// hashed once and kept in the data dir; later starts reuse it while the
// files keep their sizes and modification times.
func (s *Swarm) AddPath(ctx context.Context, path string) (*Torrent, error) {
	cl, st, err := s.client()
	if err != nil {
		return nil, err
	}
	src, err := walkSource(path)
	if err != nil {
		return nil, fmt.Errorf("swarm: add %s: %w", path, err)
	}
	sig := src.signature()
	var ih metainfo.Hash
	infoBytes, cached := st.cachedInfo(src.root, sig)
	if !cached {
		info, err := buildInfo(ctx, src, s.log, s.meter)
		if err != nil {
			return nil, fmt.Errorf("swarm: add %s: %w", path, err)
		}
		if infoBytes, err = bencode.Marshal(info); err != nil {
			return nil, fmt.Errorf("swarm: add %s: %w", path, err)
		}
		ih = metainfo.HashBytes(infoBytes)
		// Every piece was just read and hashed from these very files.
		for i := range info.NumPieces() {
			if err := s.pc.Set(metainfo.PieceKey{InfoHash: ih, Index: i}, true); err != nil {
				return nil, fmt.Errorf("swarm: add %s: piece completion: %w", path, err)
			}
		}
		if err := st.saveInfo(src.root, sig, infoBytes); err != nil {
			return nil, fmt.Errorf("swarm: add %s: save info: %w", path, err)
		}
	}
	ih = metainfo.HashBytes(infoBytes)
	t, _ := cl.AddTorrentOpt(torrent.AddTorrentOpts{
		InfoHash:  ih,
		InfoBytes: infoBytes,
		Storage: storage.NewFileOpts(storage.NewFileClientOpts{
			ClientBaseDir:   filepath.Dir(src.root),
			PieceCompletion: sharedCompletion{s.pc},
			UsePartFiles:    g.Some(false), // the files are the artist's: never rename them
			Logger:          s.cfg.Logger,
		}),
	})
	if trackers := s.announceTo(nil); len(trackers) > 0 {
		t.AddTrackers([][]string{trackers})
	}
	return s.track(t, nil, nil, origin{root: src.root}, cached)
}

// AddTorrentFile adds the torrent described by a .torrent file, downloading
// it into the data dir. A file that is no torrent is ErrBadTorrentFile.
func (s *Swarm) AddTorrentFile(path string) (*Torrent, error) {
	mi, err := loadTorrentFile(path)
	if err != nil {
		return nil, err
	}
	return s.AddMetainfo(mi)
}

// AddURL fetches the .torrent at the http(s):// URL u, within 30 s, at
// most 10 MiB of it and through at most 5 redirects, and adds its torrent
// as AddMetainfo does. Keep keeps its metainfo, not u: a restart needs no
// network. A URL that cannot be fetched is ErrFetch; an answer that is no
// .torrent is ErrBadTorrentFile.
func (s *Swarm) AddURL(ctx context.Context, u string) (*Torrent, error) {
	if _, _, err := s.client(); err != nil {
		return nil, err
	}
	mi, err := loadTorrentURL(ctx, s.fetch, u, fetchTimeout)
	if err != nil {
		return nil, err
	}
	return s.AddMetainfo(mi)
}

// AddTorrent adds the torrent of the bytes of a .torrent, downloading it
// into the data dir. Bytes that are no torrent are ErrBadTorrentFile.
func (s *Swarm) AddTorrent(b []byte) (*Torrent, error) {
	mi, err := parseTorrent("torrent", bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return s.AddMetainfo(mi)
}

// AddMetainfo adds a torrent from its metainfo, downloading it into the
// data dir.
func (s *Swarm) AddMetainfo(mi *metainfo.MetaInfo) (*Torrent, error) {
	cl, _, err := s.client()
	if err != nil {
		return nil, err
	}
	info, err := mi.UnmarshalInfo()
	if err != nil {
		return nil, fmt.Errorf("swarm: add metainfo: %w", err)
	}
	if !info.HasV1() {
		return nil, errors.New("swarm: add metainfo: v2-only torrents are not supported: browsers speak v1 only")
	}
	spec, err := torrent.TorrentSpecFromMetaInfoErr(mi)
	if err != nil {
		return nil, fmt.Errorf("swarm: add metainfo: %w", err)
	}
	t, trackers, webseeds, err := s.addSpec(cl, spec)
	if err != nil {
		return nil, fmt.Errorf("swarm: add metainfo: %w", err)
	}
	t.DownloadAll()
	return s.track(t, trackers, webseeds, origin{metainfo: true}, false)
}

// AddMagnet adds a torrent by magnet link; its info comes from peers, or
// from the data dir if the node fetched it before. A link that does not
// read is ErrBadMagnet.
func (s *Swarm) AddMagnet(uri string) (*Torrent, error) {
	cl, st, err := s.client()
	if err != nil {
		return nil, err
	}
	spec, err := parseMagnet(uri)
	if err != nil {
		return nil, err
	}
	spec.InfoBytes = st.knownInfo(spec.InfoHash)
	// The swarm dials the peer hints itself, within its bounds and again
	// until the info comes (hints.go); anacrolix would dial them once.
	hints, bad := parsePeerHints(spec.PeerAddrs)
	spec.PeerAddrs = nil
	_, had := s.Torrent(infohash.Hash(spec.InfoHash))
	t, trackers, webseeds, err := s.addSpec(cl, spec)
	if err != nil {
		return nil, fmt.Errorf("swarm: add magnet: %w", err)
	}
	ih := infohash.Hash(t.InfoHash())
	for _, b := range bad {
		s.log.Warn("peer hint skipped", "infohash", ih, "hint", b)
	}
	if len(hints) > 0 && !had {
		s.wg.Go(func() { s.dialHints(t, hints) })
	}
	s.wg.Go(func() {
		select {
		case <-t.GotInfo():
			t.DownloadAll()
			// A restart then knows the torrent's name and files at once,
			// with no peer to ask.
			if err := st.saveKnownInfo(t.InfoHash(), t.Metainfo().InfoBytes); err != nil {
				s.log.Warn("keeping a magnet's info", "infohash", ih, "err", err)
			}
		case <-t.Closed():
		}
	})
	return s.track(t, trackers, webseeds, origin{magnet: uri}, false)
}

// addSpec adds a torrent from a metainfo or a magnet to cl, announcing to
// announceTo of its trackers, and returns it with its own trackers and web
// seeds, for the node's metainfo.
func (s *Swarm) addSpec(cl *torrent.Client, spec *torrent.TorrentSpec) (t *torrent.Torrent, trackers, webseeds []string, err error) {
	trackers = slices.Concat(spec.Trackers...)
	webseeds = spec.Webseeds
	spec.Trackers = [][]string{s.announceTo(trackers)}
	spec.Webseeds = nil
	t, _, err = cl.AddTorrentSpec(spec)
	if err != nil {
		return nil, nil, nil, err
	}
	t.AddWebSeeds(webseeds)
	return t, trackers, webseeds, nil
}

// announceTo returns the trackers the client itself announces to: the
// torrent's own and Config.Trackers, less the node's own tracker, which
// lists the node without being told.
func (s *Swarm) announceTo(trackers []string) []string {
	// A node with neither TCP nor uTP has no port to announce to a tracker
	// of native peers, nor a way to dial the peers it lists.
	webOnly := s.cfg.DisableTCP && s.cfg.DisableUTP
	var out []string
	for _, u := range slices.Concat(trackers, s.cfg.Trackers) {
		if u == "" || slices.Contains(s.cfg.Announce, u) || slices.Contains(out, u) {
			continue
		}
		if webOnly && !isWSTracker(u) {
			continue
		}
		out = append(out, u)
	}
	return out
}

// client returns the running client, or why there is none.
func (s *Swarm) client() (*torrent.Client, *state, error) {
	select {
	case <-s.stopped:
		return nil, nil, ErrStopped
	default:
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cl == nil {
		return nil, nil, ErrNotStarted
	}
	return s.cl, s.st, nil
}

// track records t, once, in the order torrents were added.
func (s *Swarm) track(t *torrent.Torrent, trackers, webseeds []string, o origin, cached bool) (*Torrent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, have := range s.torrents {
		if have.t == t {
			return have, nil
		}
	}
	tt := &Torrent{s: s, t: t, ih: infohash.Hash(t.InfoHash()), trackers: trackers, webseeds: webseeds, origin: o, added: time.Now()}
	s.torrents = append(s.torrents, tt)
	if o.root == "" {
		s.wg.Go(func() { s.watchFetch(tt) })
	}
	s.log.Info("torrent added", "infohash", tt.ih, "name", t.Name(), "path", o.root, "hashed_before", cached)
	return tt, nil
}

// Torrents returns the torrents in the order they were added.
func (s *Swarm) Torrents() []*Torrent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.torrents)
}

// Torrent returns the torrent with info hash ih.
func (s *Swarm) Torrent(ih infohash.Hash) (*Torrent, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.torrents {
		if t.ih == ih {
			return t, true
		}
	}
	return nil, false
}

// sharedCompletion lets one piece-completion store serve every torrent's
// storage; Run closes it once, as it stops.
type sharedCompletion struct{ storage.PieceCompletion }

func (sharedCompletion) Close() error { return nil }

// AddPeer tells the torrent ih of a peer at addr, such as an HTTP
// tracker's leecher.
func (s *Swarm) AddPeer(ih infohash.Hash, addr netip.AddrPort) bool {
	t, ok := s.Torrent(ih)
	if !ok {
		return false
	}
	t.t.AddPeers([]torrent.PeerInfo{{Addr: addr, Source: torrent.PeerSourceTracker}})
	return true
}

// PeerID returns the node's peer id, the same across restarts.
func (s *Swarm) PeerID() [20]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cl == nil {
		return [20]byte{}
	}
	return s.cl.PeerID()
}

// maxDHTWait bounds the wait between two failed lookups of the DHT's
// bootstrap nodes.
const maxDHTWait = time.Minute

// dhtStartingNodes looks up the DHT's bootstrap nodes, as anacrolix does
// by default. When none resolves (no DNS, no network: a node on a LAN or
// in a container without either) it waits before saying so, from a
// second up to maxDHTWait, or until Run stops: anacrolix v1.59.1
// announces to the DHT again at once on that error, and such a node spun
// a core and logged 100 000 warnings a second.
func (s *Swarm) dhtStartingNodes(network string) dht.StartingNodesGetter {
	return startingNodes(network, dht.GlobalBootstrapAddrs, s.quit)
}

// startingNodes is dhtStartingNodes with the lookup and the stop given.
func startingNodes(network string, lookup func(string) ([]dht.Addr, error), quit <-chan struct{}) dht.StartingNodesGetter {
	var mu sync.Mutex
	var wait time.Duration
	return func() ([]dht.Addr, error) {
		addrs, err := lookup(network)
		if err == nil && len(addrs) > 0 {
			mu.Lock()
			wait = 0
			mu.Unlock()
			return addrs, nil
		}
		if err == nil {
			err = errors.New("no bootstrap node")
		}
		mu.Lock()
		wait = min(max(2*wait, time.Second), maxDHTWait)
		d := wait
		mu.Unlock()
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-quit:
		case <-t.C:
		}
		return nil, fmt.Errorf("%w (tried again in %v)", err, d)
	}
}
