// Package webrtc carries BitTorrent peer connections over WebRTC data
// channels, the way browsers running WebTorrent connect. Every
// PeerConnection shares one pion API whose SettingEngine puts them all on
// one UDP port, rewrites host candidates for 1:1 NAT and resolves the mDNS
// (.local) candidates that browsers send. Opened channels become net.Conns
// for the BitTorrent client: answered channels through a Listener, offered
// ones through a Dialer when the other end waits for us to speak first.
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
	"os"
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
	// ICEServers are STUN and TURN servers, with credentials for TURN.
	ICEServers []pion.ICEServer
	// Interfaces, if set, are the only network interfaces ICE uses.
	Interfaces []string
	// Loopback lets ICE use loopback addresses (tests between two nodes on
	// one machine).
	Loopback bool
	// ConnectTimeout bounds an offer or answer from creation to an open
	// channel; zero means 30 s. WebTorrent gives up after 25 s.
	ConnectTimeout time.Duration
}

// Transport makes WebRTC peer connections. Use New, then Start.
type Transport struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex
	api    *pion.API
	mux    *ice.MultiUDPMuxDefault
	closed bool
	pcs    map[*pion.PeerConnection]struct{}

	ln     *listener
	dialer *dialer
	mdns   *mdnsResolver // nil if the mDNS group could not be joined
}

// mdnsWait bounds the resolution of a peer's .local candidates.
const mdnsWait = 3 * time.Second

// ErrPortInUse means the WebRTC UDP port is taken.
var ErrPortInUse = errors.New("webrtc: UDP port in use")

// New validates cfg. It opens nothing: Start does.
func New(cfg Config) (*Transport, error) {
	if cfg.UDPPort <= 0 || cfg.UDPPort > 65535 {
		return nil, fmt.Errorf("webrtc: Config.UDPPort %d out of range", cfg.UDPPort)
	}
	for _, ip := range cfg.NATIPs {
		if _, err := netip.ParseAddr(ip); err != nil {
			return nil, fmt.Errorf("webrtc: NAT IP %q: %w", ip, err)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 30 * time.Second
	}
	t := &Transport{
		cfg: cfg,
		log: cfg.Logger.With("component", "webrtc"),
		pcs: make(map[*pion.PeerConnection]struct{}),
	}
	t.ln = newListener()
	t.dialer = newDialer()
	return t, nil
}

// Start opens the UDP port and builds the pion API.
func (t *Transport) Start() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.api != nil {
		return nil
	}
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
	if r, err := newMDNSResolver(t.cfg.Interfaces, t.cfg.Loopback, t.log); err != nil {
		t.log.Warn("mDNS unavailable: browsers on this LAN connect through peer-reflexive candidates only", "err", err)
	} else {
		t.mdns = r
	}
	// Cap SCTP's retransmission back-off: its default maximum of 60 s
	// outlasts WebTorrent's 30 s piece timeout, after which the browser
	// drops the wire.
	se.SetSCTPRTOMax(2 * time.Second)
	// Accept messages as large as Chromium sends (its
	// a=max-message-size is 256 KiB).
	se.SetSCTPMaxMessageSize(maxRecvBytes)

	t.api = pion.NewAPI(pion.WithSettingEngine(se))
	t.mux = mux
	addrs := []string{}
	for _, a := range mux.GetListenAddresses() {
		addrs = append(addrs, a.String())
	}
	t.log.Info("webrtc listening", "udp", addrs)
	return nil
}

// keepIP leaves out IPv6 link-local addresses: browsers never reach a
// server through them, and binding one fails while the kernel still
// checks it for duplicates, right after an interface comes up.
func keepIP(ip net.IP) bool { return !ip.IsLinkLocalUnicast() }

func (t *Transport) keepInterface(name string) bool {
	return slices.Contains(t.cfg.Interfaces, name)
}

// Close closes every PeerConnection, the listener and the UDP port. It is
// safe to call more than once.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	pcs := make([]*pion.PeerConnection, 0, len(t.pcs))
	for pc := range t.pcs {
		pcs = append(pcs, pc)
	}
	mux := t.mux
	t.mu.Unlock()
	for _, pc := range pcs {
		pc.Close()
	}
	t.ln.Close()
	t.dialer.close()
	if t.mdns != nil {
		t.mdns.Close()
	}
	if mux != nil {
		return mux.Close()
	}
	return nil
}

// Listener returns the listener of conns answered by this node, for
// anacrolix's Client.AddListener. On those conns the remote speaks first,
// as WebTorrent does the moment a channel opens.
func (t *Transport) Listener() net.Listener { return t.ln }

// Dialer returns the dialer of conns this node offered to peers that wait
// for the offerer's handshake, for anacrolix's Client.AddDialer.
func (t *Transport) Dialer() interface {
	Dial(ctx context.Context, addr string) (net.Conn, error)
	DialerNetwork() string
} {
	return t.dialer
}

// newPeerConnection makes a PeerConnection tracked for Close.
func (t *Transport) newPeerConnection() (*pion.PeerConnection, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || t.api == nil {
		return nil, errors.New("webrtc: transport not running")
	}
	pc, err := t.api.NewPeerConnection(pion.Configuration{ICEServers: t.cfg.ICEServers})
	if err != nil {
		return nil, fmt.Errorf("webrtc: new peer connection: %w", err)
	}
	t.pcs[pc] = struct{}{}
	pc.OnConnectionStateChange(func(s pion.PeerConnectionState) {
		if s == pion.PeerConnectionStateClosed || s == pion.PeerConnectionStateFailed {
			t.mu.Lock()
			delete(t.pcs, pc)
			t.mu.Unlock()
			if s == pion.PeerConnectionStateFailed {
				pc.Close()
			}
		}
	})
	return pc, nil
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
	pc, err := t.newPeerConnection()
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

// Answer answers a remote offer. When the remote's data channel opens, the
// conn is handed to the Listener.
func (t *Transport) Answer(ctx context.Context, offerSDP string) (string, error) {
	pc, err := t.newPeerConnection()
	if err != nil {
		return "", err
	}
	id := randomID()
	timer := time.AfterFunc(t.cfg.ConnectTimeout, func() {
		// No channel within the timeout: WebTorrent has given up too.
		if pc.ConnectionState() != pion.PeerConnectionStateConnected {
			pc.Close()
		}
	})
	start := time.Now()
	pc.OnDataChannel(func(dc *pion.DataChannel) {
		dc.OnOpen(func() {
			timer.Stop()
			t.log.Debug("answered channel open", "conn", id, "since_offer", time.Since(start))
			raw, err := dc.DetachWithDeadline()
			if err != nil {
				t.log.Debug("detach answered channel", "err", err)
				pc.Close()
				return
			}
			c := newConn(pc, dc, raw, id)
			if !t.ln.deliver(c) {
				c.Close()
			}
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

// Deliver hands a conn this node offered to the BitTorrent client. If the
// remote end speaks first (a browser), it goes to the Listener as if
// accepted; otherwise (another seedcast) it waits for the client to dial
// the returned address, so that the client sends the handshake first.
func (t *Transport) Deliver(c *Conn, remoteSpeaksFirst bool) (dialAddr string, ok bool) {
	if remoteSpeaksFirst {
		return "", t.ln.deliver(c)
	}
	return t.dialer.park(c), true
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
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), mdnsWait)
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
	}()
	return nil
}

func randomID() string {
	var b [8]byte
	rand.Read(b[:])
	// The letter keeps the id from parsing as a port number, so that
	// dialers of other networks fail on "webrtc:c..." without a lookup.
	return "c" + hex.EncodeToString(b[:])
}

// listener queues conns for anacrolix's accept loop.
type listener struct {
	conns  chan net.Conn
	done   chan struct{}
	closer sync.Once
}

func newListener() *listener {
	return &listener{conns: make(chan net.Conn, 64), done: make(chan struct{})}
}

// deliver queues c, or reports false if the queue is full or closed.
func (l *listener) deliver(c net.Conn) bool {
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
func (l *listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *listener) Addr() net.Addr { return Addr{id: "listener"} }

func (l *listener) Close() error {
	l.closer.Do(func() { close(l.done) })
	return nil
}

// dialer hands parked conns to anacrolix when it dials their address.
type dialer struct {
	mu     sync.Mutex
	parked map[string]*Conn
}

func newDialer() *dialer { return &dialer{parked: make(map[string]*Conn)} }

// park keeps c until it is dialed or closed, and returns its address.
func (d *dialer) park(c *Conn) string {
	addr := c.remote.String()
	d.mu.Lock()
	d.parked[addr] = c
	d.mu.Unlock()
	// A parked conn nobody dials must not live forever.
	time.AfterFunc(30*time.Second, func() {
		d.mu.Lock()
		left, ok := d.parked[addr]
		delete(d.parked, addr)
		d.mu.Unlock()
		if ok {
			left.Close()
		}
	})
	return addr
}

func (d *dialer) Dial(ctx context.Context, addr string) (net.Conn, error) {
	d.mu.Lock()
	c, ok := d.parked[addr]
	delete(d.parked, addr)
	d.mu.Unlock()
	if !ok {
		return nil, &net.OpError{Op: "dial", Net: Network, Err: os.ErrNotExist}
	}
	return c, nil
}

func (d *dialer) DialerNetwork() string { return Network }

func (d *dialer) close() {
	d.mu.Lock()
	parked := d.parked
	d.parked = make(map[string]*Conn)
	d.mu.Unlock()
	for _, c := range parked {
		c.Close()
	}
}
