// Package webrtc carries BitTorrent peer connections over WebRTC data
// channels, the way browsers running WebTorrent connect. Every
// PeerConnection shares one pion API whose SettingEngine puts them all on
// one UDP port, rewrites host candidates for 1:1 NAT and resolves the mDNS
// (.local) candidates that browsers send. An opened channel becomes a
// net.Conn, handed to whoever asked for it: the Offer it was accepted on,
// or the callback given to Answer.
package webrtc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"
	pion "github.com/pion/webrtc/v4"
)

// Config configures a Transport. The zero value of a field means its
// default.
type Config struct {
	// Logger receives the transport's logs; nil means slog.Default().
	Logger *slog.Logger
	// UDPPort is the one UDP port of every PeerConnection (required).
	UDPPort int
	// NATIPs are public IPs to advertise in place of local host
	// candidates, for a node behind 1:1 NAT.
	NATIPs []string
	// ICEServers are STUN and TURN servers in the forms ParseICEServer
	// reads. Pages get the STUN ones; a TURN server with a password is
	// this node's alone, and one without joins TURNServers.
	ICEServers []string
	// TURNServers are turn: and turns: URLs without credentials, of TURN
	// servers that share TURNSecret with this node.
	TURNServers []string
	// TURNSecret, if set, is the secret this node shares with the TURN
	// servers of TURNServers (coturn's static-auth-secret): from it the
	// node mints credentials that expire after TURNTTL, for each page and
	// for its own peer connections. The secret itself goes nowhere.
	TURNSecret string
	// TURNTTL is how long minted TURN credentials last; zero means
	// DefaultTURNTTL.
	TURNTTL time.Duration
	// Interfaces, if set, are the only network interfaces ICE uses.
	Interfaces []string
	// Loopback lets ICE use loopback addresses (tests between two nodes on
	// one machine).
	Loopback bool
	// ConnectTimeout bounds an offer or answer from creation to an open
	// channel; zero means 30 s. WebTorrent gives up after 25 s.
	ConnectTimeout time.Duration
}

// Transport makes WebRTC peer connections. Use New, then Run.
type Transport struct {
	cfg     Config
	log     *slog.Logger
	stun    []ICEServer      // STUN servers, for pages and the node
	static  []ICEServer      // TURN servers with a password: the node's alone
	turn    *turnMinter      // nil without TURN servers that share a secret
	pionICE []pion.ICEServer // stun and static in pion's form, for every PeerConnection

	up      chan struct{} // closed once Run has opened the port
	stopped chan struct{} // closed once Run has returned
	runErr  error         // why Run stopped; set before stopped closes
	running sync.Once
	wg      sync.WaitGroup  // goroutines of the transport's own
	runCtx  context.Context // Run's; set before up closes

	mu     sync.Mutex
	api    *pion.API
	mux    *ice.MultiUDPMuxDefault
	closed bool
	pcs    map[*pion.PeerConnection]*time.Timer // with its connect timer, if any
	mdns   *mdnsResolver                        // nil if the mDNS group could not be joined
}

// mdnsWait bounds the resolution of a peer's .local candidates.
const mdnsWait = 3 * time.Second

// Errors callers branch on.
var (
	// ErrPortInUse means the WebRTC UDP port is taken.
	ErrPortInUse = errors.New("webrtc: UDP port in use")
	// ErrStopped is returned once Run has returned.
	ErrStopped = errors.New("webrtc: transport stopped")
)

// New validates cfg. It opens nothing: Run does.
func New(cfg Config) (*Transport, error) {
	if cfg.UDPPort <= 0 || cfg.UDPPort > 65535 {
		return nil, fmt.Errorf("webrtc: Config.UDPPort %d out of range", cfg.UDPPort)
	}
	for _, ip := range cfg.NATIPs {
		if _, err := netip.ParseAddr(ip); err != nil {
			return nil, fmt.Errorf("webrtc: NAT IP %q: %w", ip, err)
		}
	}
	var stun, static []ICEServer
	var minted []string
	for _, raw := range cfg.ICEServers {
		srv, err := ParseICEServer(raw)
		if err != nil {
			return nil, err
		}
		switch {
		case !isTURN(srv):
			stun = append(stun, srv)
		case srv.Username == "" && srv.Credential == "":
			minted = append(minted, srv.URLs...)
		default:
			static = append(static, srv)
		}
	}
	for _, raw := range cfg.TURNServers {
		u, err := parseTURNServer(raw)
		if err != nil {
			return nil, err
		}
		minted = append(minted, u)
	}
	var turn *turnMinter
	switch {
	case len(minted) > 0 && cfg.TURNSecret == "":
		return nil, fmt.Errorf("webrtc: %s: %w", strings.Join(minted, ", "), ErrTURNNoSecret)
	case len(minted) == 0 && cfg.TURNSecret != "":
		return nil, fmt.Errorf("webrtc: %w", ErrTURNNoServer)
	case len(minted) > 0:
		if cfg.TURNTTL < 0 {
			return nil, fmt.Errorf("webrtc: Config.TURNTTL %v is negative", cfg.TURNTTL)
		}
		if cfg.TURNTTL == 0 {
			cfg.TURNTTL = DefaultTURNTTL
		}
		turn = &turnMinter{secret: cfg.TURNSecret, ttl: cfg.TURNTTL, urls: minted, now: time.Now}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 30 * time.Second
	}
	return &Transport{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "webrtc"),
		stun:    stun,
		static:  static,
		turn:    turn,
		pionICE: pionICEServers(slices.Concat(stun, static)),
		up:      make(chan struct{}),
		stopped: make(chan struct{}),
		pcs:     make(map[*pion.PeerConnection]*time.Timer),
	}, nil
}

// ICEServer is a STUN or TURN server, in the form of a browser's
// RTCIceServer.
type ICEServer struct {
	URLs       []string
	Username   string
	Credential string
}

// ErrICEServer is why a string is not an ICE server.
var ErrICEServer = errors.New("want stun:HOST:PORT or turn://USER:PASSWORD@HOST:PORT")

// ParseICEServer reads a STUN or TURN server: stun:host:port, or
// turn(s)://user:password@host:port?transport=udp|tcp for TURN with its
// credentials (turn:host:port for one without).
func ParseICEServer(s string) (ICEServer, error) {
	bad := fmt.Errorf("webrtc: ICE server %q: %w", RedactICEServer(s), ErrICEServer)
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok {
		return ICEServer{}, bad
	}
	switch scheme {
	case "stun", "stuns":
		return ICEServer{URLs: []string{s}}, nil
	case "turn", "turns":
	default:
		return ICEServer{}, bad
	}
	if !strings.HasPrefix(rest, "//") {
		return ICEServer{URLs: []string{s}}, nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return ICEServer{}, bad
	}
	srv := ICEServer{URLs: []string{scheme + ":" + u.Host}}
	if u.RawQuery != "" {
		srv.URLs[0] += "?" + u.RawQuery
	}
	if u.User != nil {
		srv.Username = u.User.Username()
		srv.Credential, _ = u.User.Password()
	}
	return srv, nil
}

// RedactICEServer returns s, an ICE server as ParseICEServer reads it,
// with any password in it replaced, for errors and logs.
func RedactICEServer(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	at := strings.LastIndex(rest, "@")
	if !ok || at < 0 {
		return s
	}
	user, _, hasPass := strings.Cut(rest[:at], ":")
	if !hasPass {
		return s
	}
	return scheme + "://" + user + ":xxxxx" + rest[at:]
}

// ICEServers returns what a page may know of the transport's STUN and
// TURN servers, for its own peer connections: the STUN servers, and the
// TURN servers that share the TURN secret with credentials minted for
// this call. TURN servers with a static password are the node's alone and
// never in it, nor is the secret. Each page should make its own call.
func (t *Transport) ICEServers() []ICEServer {
	out := slices.Clone(t.stun)
	if t.turn != nil {
		out = append(out, t.turn.mint(pageLabel()))
	}
	return out
}

// pionConfig returns the configuration of a new PeerConnection: every
// server, with TURN credentials minted now.
func (t *Transport) pionConfig() pion.Configuration {
	servers := t.pionICE
	if t.turn != nil {
		servers = append(slices.Clone(servers), pionICEServers([]ICEServer{t.turn.mint(nodeLabel)})...)
	}
	return pion.Configuration{ICEServers: servers}
}

// logICEServers says at start which servers the node uses and what pages
// learn of them; no password or secret goes in the log.
func (t *Transport) logICEServers() {
	for _, s := range t.static {
		t.log.Info("TURN server with a static password: used by this node alone, never given to pages; for pages to relay, share a secret with the TURN server (--turn-secret or SEEDCAST_TURN_SECRET)", "urls", s.URLs)
	}
	if t.turn != nil {
		t.log.Info("TURN credentials minted per page and per peer connection from the TURN secret", "urls", t.turn.urls, "ttl", t.turn.ttl)
	}
}

// pionICEServers returns servers in pion's form.
func pionICEServers(servers []ICEServer) []pion.ICEServer {
	var out []pion.ICEServer
	for _, s := range servers {
		ps := pion.ICEServer{URLs: s.URLs, Username: s.Username}
		if s.Credential != "" {
			ps.Credential = s.Credential
		}
		out = append(out, ps)
	}
	return out
}

// Run opens the UDP port and makes and answers offers until ctx is done;
// then it closes every PeerConnection and the port, and returns once its
// goroutines have stopped. It returns nil after a clean stop; Run runs
// once.
func (t *Transport) Run(ctx context.Context) error {
	err := errors.New("webrtc: Run called twice")
	t.running.Do(func() { err = t.run(ctx) })
	return err
}

func (t *Transport) run(ctx context.Context) (err error) {
	defer func() {
		t.runErr = err
		if err == nil {
			t.runErr = ErrStopped
		}
		close(t.stopped)
	}()
	if err := t.start(); err != nil {
		return err
	}
	t.runCtx = ctx
	close(t.up)
	<-ctx.Done()
	return t.shutdown()
}

// Up waits until Run has opened the port. It returns Run's error if it
// failed or has stopped, or ctx's.
func (t *Transport) Up(ctx context.Context) error {
	select {
	case <-t.up:
		select {
		case <-t.stopped:
			return t.runErr
		default:
			return nil
		}
	case <-t.stopped:
		return t.runErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// start opens the UDP port and builds the pion API.
func (t *Transport) start() error {
	lf := logging.NewDefaultLoggerFactory()
	opts := []ice.UDPMuxFromPortOption{
		ice.UDPMuxFromPortWithLogger(lf.NewLogger("udpmux")),
		ice.UDPMuxFromPortWithNetworks(ice.NetworkTypeUDP4, ice.NetworkTypeUDP6),
		// Browsers' data arrives in bursts; a large socket buffer keeps
		// the kernel from dropping it while the Go side is busy.
		ice.UDPMuxFromPortWithReadBufferSize(4 << 20),
		ice.UDPMuxFromPortWithWriteBufferSize(4 << 20),
	}
	if len(t.cfg.Interfaces) > 0 {
		opts = append(opts, ice.UDPMuxFromPortWithInterfaceFilter(t.keepInterface))
	}
	if t.cfg.Loopback {
		opts = append(opts, ice.UDPMuxFromPortWithLoopback())
	}
	opts = append(opts, ice.UDPMuxFromPortWithIPFilter(keepIP))
	mux, err := ice.NewMultiUDPMuxFromPort(t.cfg.UDPPort, opts...)
	if err != nil {
		if strings.Contains(err.Error(), "address already in use") {
			return fmt.Errorf("%w: UDP port %d; set --webrtc-port or SEEDCAST_WEBRTC_PORT", ErrPortInUse, t.cfg.UDPPort)
		}
		return fmt.Errorf("webrtc: open UDP port %d: %w", t.cfg.UDPPort, err)
	}

	var se pion.SettingEngine
	se.LoggerFactory = lf
	se.DetachDataChannels()
	se.SetICEUDPMux(mux)
	se.SetNetworkTypes([]pion.NetworkType{pion.NetworkTypeUDP4, pion.NetworkTypeUDP6})
	if len(t.cfg.Interfaces) > 0 {
		se.SetInterfaceFilter(t.keepInterface)
	}
	se.SetIPFilter(keepIP)
	se.SetIncludeLoopbackCandidate(t.cfg.Loopback)
	if len(t.cfg.NATIPs) > 0 {
		// 1:1 NAT: advertise the public IPs in place of the host ones.
		err := se.SetICEAddressRewriteRules(pion.ICEAddressRewriteRule{
			External:        t.cfg.NATIPs,
			AsCandidateType: pion.ICECandidateTypeHost,
			Mode:            pion.ICEAddressRewriteReplace,
		})
		if err != nil {
			mux.Close()
			return fmt.Errorf("webrtc: NAT IPs %v: %w", t.cfg.NATIPs, err)
		}
	}
	// Browsers' .local host candidates are resolved by the one resolver of
	// the transport before pion sees them; our own IPs go out as they are:
	// a server has nothing to hide.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// A browser whose .local name did not resolve is reached through the
	// peer-reflexive candidate its checks reveal; pion waits a second
	// before using one unless told not to (measured: 1010 ms, against
	// 200 ms without the wait).
	se.SetPrflxAcceptanceMinWait(0)
	mdns, err := newMDNSResolver(t.cfg.Interfaces, t.cfg.Loopback, t.log)
	if err != nil {
		t.log.Warn("mDNS unavailable: browsers on this LAN connect through peer-reflexive candidates only", "err", err)
	}
	// Cap SCTP's retransmission back-off: its default maximum of 60 s
	// outlasts WebTorrent's 30 s piece timeout, after which the browser
	// drops the wire.
	se.SetSCTPRTOMax(2 * time.Second)
	// Accept messages as large as Chromium sends (its
	// a=max-message-size is 256 KiB).
	se.SetSCTPMaxMessageSize(maxRecvBytes)

	t.mu.Lock()
	t.api = pion.NewAPI(pion.WithSettingEngine(se))
	t.mux = mux
	t.mdns = mdns
	t.mu.Unlock()
	addrs := []string{}
	for _, a := range mux.GetListenAddresses() {
		addrs = append(addrs, a.String())
	}
	t.log.Info("webrtc listening", "udp", addrs)
	t.logICEServers()
	return nil
}

// keepIP leaves out IPv6 link-local addresses: browsers never reach a
// server through them, and binding one fails while the kernel still
// checks it for duplicates, right after an interface comes up.
func keepIP(ip net.IP) bool { return !ip.IsLinkLocalUnicast() }

func (t *Transport) keepInterface(name string) bool {
	return slices.Contains(t.cfg.Interfaces, name)
}

// shutdown closes every PeerConnection, the mDNS resolver and the UDP
// port, and waits for the transport's goroutines.
func (t *Transport) shutdown() error {
	t.mu.Lock()
	t.closed = true
	pcs := make([]*pion.PeerConnection, 0, len(t.pcs))
	for pc, timer := range t.pcs {
		if timer != nil {
			timer.Stop()
		}
		pcs = append(pcs, pc)
	}
	mux, mdns := t.mux, t.mdns
	t.mu.Unlock()
	for _, pc := range pcs {
		// GracefulClose returns once the connection's goroutines are done.
		pc.GracefulClose()
	}
	if mdns != nil {
		mdns.Close()
	}
	t.wg.Wait()
	return mux.Close()
}

// newPeerConnection makes a PeerConnection that Run closes as it stops,
// once Run has opened the port. With a connectTimeout, the connection is
// closed unless connected by then.
func (t *Transport) newPeerConnection(ctx context.Context, connectTimeout time.Duration) (*pion.PeerConnection, error) {
	if err := t.Up(ctx); err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, ErrStopped
	}
	pc, err := t.api.NewPeerConnection(t.pionConfig())
	if err != nil {
		return nil, fmt.Errorf("webrtc: new peer connection: %w", err)
	}
	var timer *time.Timer
	if connectTimeout > 0 {
		timer = time.AfterFunc(connectTimeout, func() {
			// No channel within the timeout: WebTorrent has given up too.
			if pc.ConnectionState() != pion.PeerConnectionStateConnected {
				pc.Close()
			}
		})
	}
	t.pcs[pc] = timer
	pc.OnConnectionStateChange(func(s pion.PeerConnectionState) {
		if s == pion.PeerConnectionStateClosed || s == pion.PeerConnectionStateFailed {
			t.mu.Lock()
			if timer := t.pcs[pc]; timer != nil {
				timer.Stop()
			}
			delete(t.pcs, pc)
			t.mu.Unlock()
			if s == pion.PeerConnectionStateFailed {
				pc.Close()
			}
		}
	})
	return pc, nil
}

// connected stops pc's connect timer: its channel is open.
func (t *Transport) connected(pc *pion.PeerConnection) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if timer := t.pcs[pc]; timer != nil {
		timer.Stop()
		t.pcs[pc] = nil
	}
}

// gather sets desc as the local description and waits for every candidate:
// WebTorrent signals without trickle ICE.
func gather(ctx context.Context, pc *pion.PeerConnection, desc pion.SessionDescription) (string, error) {
	done := pion.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(desc); err != nil {
		return "", err
	}
	select {
	case <-done:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return pc.LocalDescription().SDP, nil
}

// Offer is a data channel this node offered, waiting for an answer.
type Offer struct {
	t     *Transport
	pc    *pion.PeerConnection
	dc    *pion.DataChannel
	sdp   string
	id    string
	opens chan *Conn
	once  sync.Once
}

// NewOffer creates a PeerConnection with one data channel and returns its
// offer, every candidate gathered.
func (t *Transport) NewOffer(ctx context.Context) (*Offer, error) {
	pc, err := t.newPeerConnection(ctx, 0)
	if err != nil {
		return nil, err
	}
	id := randomID()
	// Ordered and reliable, the browser's default; the label is free.
	dc, err := pc.CreateDataChannel(id, nil)
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("webrtc: create data channel: %w", err)
	}
	o := &Offer{t: t, pc: pc, dc: dc, id: id, opens: make(chan *Conn, 1)}
	dc.OnOpen(func() { o.opened() })
	desc, err := pc.CreateOffer(nil)
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("webrtc: create offer: %w", err)
	}
	if o.sdp, err = gather(ctx, pc, desc); err != nil {
		pc.Close()
		return nil, fmt.Errorf("webrtc: gather offer candidates: %w", err)
	}
	return o, nil
}

// SDP returns the offer's session description.
func (o *Offer) SDP() string { return o.sdp }

func (o *Offer) opened() {
	raw, err := o.dc.DetachWithDeadline()
	if err != nil {
		o.t.log.Debug("detach offered channel", "err", err)
		o.pc.Close()
		return
	}
	o.opens <- newConn(o.pc, o.dc, raw, o.id)
}

// Accept applies the answer and waits, up to ConnectTimeout, for the data
// channel to open.
func (o *Offer) Accept(ctx context.Context, answerSDP string) (*Conn, error) {
	if err := o.t.setRemote(o.pc, pion.SDPTypeAnswer, answerSDP); err != nil {
		o.Close()
		return nil, fmt.Errorf("webrtc: apply answer: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, o.t.cfg.ConnectTimeout)
	defer cancel()
	select {
	case c := <-o.opens:
		return c, nil
	case <-ctx.Done():
		o.Close()
		return nil, fmt.Errorf("webrtc: offered channel did not open: %w", ctx.Err())
	}
}

// Close abandons the offer.
func (o *Offer) Close() { o.once.Do(func() { o.pc.Close() }) }

// Answer answers a remote offer and returns the answer's SDP. When the
// remote's data channel opens, within ConnectTimeout, opened receives its
// conn and owns it.
func (t *Transport) Answer(ctx context.Context, offerSDP string, opened func(*Conn)) (string, error) {
	pc, err := t.newPeerConnection(ctx, t.cfg.ConnectTimeout)
	if err != nil {
		return "", err
	}
	id := randomID()
	start := time.Now()
	pc.OnDataChannel(func(dc *pion.DataChannel) {
		dc.OnOpen(func() {
			t.connected(pc)
			t.log.Debug("answered channel open", "conn", id, "since_offer", time.Since(start))
			raw, err := dc.DetachWithDeadline()
			if err != nil {
				t.log.Debug("detach answered channel", "err", err)
				pc.Close()
				return
			}
			opened(newConn(pc, dc, raw, id))
		})
	})
	if err := t.setRemote(pc, pion.SDPTypeOffer, offerSDP); err != nil {
		pc.Close()
		return "", fmt.Errorf("webrtc: apply offer: %w", err)
	}
	desc, err := pc.CreateAnswer(nil)
	if err != nil {
		pc.Close()
		return "", fmt.Errorf("webrtc: create answer: %w", err)
	}
	sdp, err := gather(ctx, pc, desc)
	if err != nil {
		pc.Close()
		return "", fmt.Errorf("webrtc: gather answer candidates: %w", err)
	}
	return sdp, nil
}

// setRemote applies a remote description at once. Its .local host
// candidates are left out, and added to pc as their names resolve: a name
// that never resolves, as at a node on the internet, delays nothing, since
// the peer's connectivity checks reveal its address anyway (a
// peer-reflexive candidate).
func (t *Transport) setRemote(pc *pion.PeerConnection, typ pion.SDPType, sdp string) error {
	sdp, pending := t.mdns.splitSDP(sdp)
	if err := pc.SetRemoteDescription(pion.SessionDescription{Type: typ, SDP: sdp}); err != nil {
		return err
	}
	if len(pending) == 0 || t.mdns == nil {
		return nil
	}
	t.wg.Go(func() {
		ctx, cancel := context.WithTimeout(t.runCtx, mdnsWait)
		defer cancel()
		start := time.Now()
		t.mdns.resolveCandidates(ctx, pending, func(c mdnsCandidate) {
			init := pion.ICECandidateInit{Candidate: strings.TrimPrefix(c.line, "a="), SDPMLineIndex: &c.index}
			if c.mid != "" {
				init.SDPMid = &c.mid
			}
			err := pc.AddICECandidate(init)
			t.log.Debug("remote candidate resolved", "name", c.name, "took", time.Since(start), "err", err)
		})
	})
	return nil
}

func randomID() string {
	var b [8]byte
	rand.Read(b[:])
	// The letter keeps the id from parsing as a port number, so that
	// dialers of other networks fail on "webrtc:c..." without a lookup.
	return "c" + hex.EncodeToString(b[:])
}
