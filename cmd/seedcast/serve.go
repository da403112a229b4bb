package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"sync/atomic"

	"golang.org/x/crypto/acme/autocert"
	"golang.org/x/sync/errgroup"

	"github.com/seedcast/seedcast/gate"
	"github.com/seedcast/seedcast/infohash"
	"github.com/seedcast/seedcast/player"
	"github.com/seedcast/seedcast/signaling"
	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/swarm"
	"github.com/seedcast/seedcast/web"
	"github.com/seedcast/seedcast/webrtc"
)

type serveCmd struct {
	httpFlags
	gateFlags
	trackerFlags
	acmeFlags
	turnFlags
	debugFlags
	Paths []string `arg:"" optional:"" name:"path" help:"Files, folders, .torrent files, http(s) URLs of .torrent files, magnet links (x.pe peer hints are dialled until the info comes) or info hashes alone. One that cannot be served is reported and skipped; serve fails only if none can and --data keeps nothing from earlier runs. None: the built-in demo pilot."`

	Data             string   `default:"${data_default}" env:"SEEDCAST_DATA" help:"State dir: piece completion, hashed info, peer id, downloads."`
	BTPort           int      `name:"bt-port" default:"6881" env:"SEEDCAST_BT_PORT" help:"BitTorrent TCP and uTP port."`
	NatIP            string   `name:"nat-ip" env:"SEEDCAST_NAT_IP" placeholder:"IP" help:"Public IP of this node when it sits behind 1:1 NAT; given to peers in place of its local address."`
	Tracker          []string `env:"SEEDCAST_TRACKER" placeholder:"URL" help:"Extra tracker to list in torrents and announce to (repeatable)."`
	NoDHT            bool     `name:"no-dht" env:"SEEDCAST_NO_DHT" help:"Do not join the DHT."`
	NoWebseed        bool     `name:"no-webseed" env:"SEEDCAST_NO_WEBSEED" help:"Leave this node's web seed out of the torrents it serves."`
	NoPortForwarding bool     `name:"no-port-forwarding" env:"SEEDCAST_NO_PORT_FORWARDING" help:"Do not ask the router for port mappings (UPnP, NAT-PMP)."`
	NoTCP            bool     `name:"no-tcp" env:"SEEDCAST_NO_TCP" help:"No BitTorrent over TCP."`
	NoUTP            bool     `name:"no-utp" env:"SEEDCAST_NO_UTP" help:"No BitTorrent over uTP."`
	P2PMinViewers    int      `name:"p2p-min-viewers" env:"SEEDCAST_P2P_MIN_VIEWERS" placeholder:"N" help:"Pages stream from this node alone until N viewers watch the same film (default 0: peer-to-peer from the first)."`
	TrackerOpen      bool     `name:"tracker-open" env:"SEEDCAST_TRACKER_OPEN" help:"Track any torrent announced to this node's tracker, not only the node's own."`
	NoSuperSeed      bool     `name:"no-super-seed" env:"SEEDCAST_NO_SUPER_SEED" help:"Tell browser peers every piece at once instead of each a few that no viewer has yet (BEP 16 super-seeding)."`
	UploadRate       string   `name:"upload-rate" env:"SEEDCAST_UPLOAD_RATE" placeholder:"RATE" help:"Cap on the node's upload over every transport, as an uplink is, e.g. 4Mbit/s or 500KB/s (default: no cap)."`

	WebRTCPort  int      `name:"webrtc-port" default:"3478" env:"SEEDCAST_WEBRTC_PORT" help:"The one UDP port of every WebRTC peer connection (browsers)."`
	ICEServer   []string `name:"ice-server" env:"SEEDCAST_ICE_SERVER" placeholder:"URL" help:"STUN or TURN server for WebRTC, stun:HOST:PORT or turn://USER:PASSWORD@HOST:PORT (repeatable). Pages get the STUN servers; a TURN password is this node's alone (see --turn-secret)."`
	WebRTCIface []string `name:"webrtc-interface" env:"SEEDCAST_WEBRTC_INTERFACE" placeholder:"NAME" help:"Network interface WebRTC may use (repeatable; default: all but loopback; naming lo allows loopback)."`

	AdminToken string   `name:"admin-token" env:"SEEDCAST_ADMIN_TOKEN" placeholder:"TOKEN" help:"Bearer token of the admin API (POST and DELETE /api/torrents); prefer the environment variable, which ps does not show (default: one made into --data at first start and printed once)."`
	AllowRoot  []string `name:"allow-root" env:"SEEDCAST_ALLOW_ROOT" placeholder:"DIR" help:"Folder under which the admin API may add files and folders by path, symlinks resolved (repeatable; default: none, adding by path is refused)."`
}

// nodeConfig is what serve's flags say of each part of the node.
type nodeConfig struct {
	base    *url.URL
	swarm   swarm.Config
	webrtc  webrtc.Config
	tracker signaling.Config
	// trackerOpen tracks any torrent, not only the node's own.
	trackerOpen bool
	web         web.Config // all but the parts made from the others
	paths       []string   // what to serve; empty means the demo pilot
	admin       adminConfig
	// publicURLFor, if set, names the node by the URL a request reached
	// it at, through a trusted proxy.
	publicURLFor func(*http.Request) string
	acme         *autocert.Manager
	gates        gateConfig
}

// config turns the flags into the parts' configs, naming the flag of any
// bad value.
func (c *serveCmd) config(log *slog.Logger) (nodeConfig, error) {
	if err := c.validate(); err != nil {
		return nodeConfig{}, err
	}
	if err := c.trackerFlags.check(); err != nil {
		return nodeConfig{}, err
	}
	if err := c.acmeFlags.check(c.httpFlags); err != nil {
		return nodeConfig{}, err
	}
	base, err := c.acmeFlags.baseURL(c.httpFlags)
	if err != nil {
		return nodeConfig{}, err
	}
	acme, err := c.manager(c.Data)
	if err != nil {
		return nodeConfig{}, err
	}
	var natIP netip.Addr
	var natIPs []string
	if c.NatIP != "" {
		if natIP, err = netip.ParseAddr(c.NatIP); err != nil {
			return nodeConfig{}, fmt.Errorf("--nat-ip %q: not an IP address", c.NatIP)
		}
		natIPs = []string{natIP.String()}
	}
	for _, s := range c.ICEServer {
		if _, err := webrtc.ParseICEServer(s); err != nil {
			return nodeConfig{}, fmt.Errorf("--ice-server %q: %w", webrtc.RedactICEServer(s), webrtc.ErrICEServer)
		}
	}
	if c.P2PMinViewers < 0 {
		return nodeConfig{}, fmt.Errorf("--p2p-min-viewers %d: want 0 or more", c.P2PMinViewers)
	}
	uploadRate, err := parseRate(c.UploadRate)
	if err != nil {
		return nodeConfig{}, fmt.Errorf("--upload-rate %w", err)
	}
	ac, err := c.adminConfig()
	if err != nil {
		return nodeConfig{}, err
	}
	webSeedBase := base.String() + "/webseed/"
	if c.NoWebseed {
		webSeedBase = ""
	}
	cfg := nodeConfig{
		base: base,
		acme: acme,
		swarm: swarm.Config{
			Logger:           log,
			DataDir:          c.Data,
			BTPort:           c.BTPort,
			DisableTCP:       c.NoTCP,
			DisableUTP:       c.NoUTP,
			NoDHT:            c.NoDHT,
			NoPortForwarding: c.NoPortForwarding,
			UploadRate:       uploadRate,
			NoSuperSeed:      c.NoSuperSeed,
			DialLoopback:     isLoopbackHost(base.Hostname()),
			NATIP:            natIP,
			Announce:         announceURLs(base),
			Trackers:         c.Tracker,
			WebSeedBase:      webSeedBase,
			Meter:            terminalMeter(),
		},
		webrtc: webrtc.Config{
			Logger:     log,
			UDPPort:    c.WebRTCPort,
			NATIPs:     natIPs,
			ICEServers: c.ICEServer,
			Interfaces: c.WebRTCIface,
			Loopback:   slices.Contains(c.WebRTCIface, "lo"),
		},
		tracker:     c.trackerFlags.config(log),
		trackerOpen: c.TrackerOpen,
		web:         web.Config{Logger: log, PublicURL: base.String(), P2PMinViewers: c.P2PMinViewers},
		paths:       c.Paths,
		admin:       ac,
	}
	if c.PublicURL == "" && len(c.ACMEDomain) == 0 && len(c.TrustedProxy) > 0 {
		cfg.publicURLFor = publicURLFor(base)
		cfg.web.PublicURLFor = cfg.publicURLFor
	}
	if cfg.gates, err = c.gateFlags.config(); err != nil {
		return nodeConfig{}, err
	}
	return cfg, c.turnFlags.webrtcConfig(&cfg.webrtc)
}

func (c *serveCmd) Run(ctx context.Context, log *slog.Logger) error {
	cfg, err := c.config(log)
	if err != nil {
		return err
	}
	if err := c.preflight(cfg); err != nil {
		return err
	}
	n, err := newNode(cfg, log)
	if err != nil {
		return err
	}
	warnPlainHTTP(log, cfg.base)
	hs := &httpServer{flags: c.httpFlags, handler: n.mux, log: log, listening: func(a net.Addr) {
		log.Info("http listening", "addr", a.String(), "public_url", cfg.base.String())
	}, acme: cfg.acme, acmeDomains: c.ACMEDomain, redirectAddr: c.HTTPRedirectAddr, base: cfg.base}
	add := func(ctx context.Context, g *errgroup.Group) error { return n.addTorrents(ctx, g, cfg) }
	return n.run(ctx, hs, add, func(ctx context.Context) error { return c.runPprof(ctx, log) })
}

// node is the parts of a serving node, wired together.
type node struct {
	log   *slog.Logger
	sw    *swarm.Swarm
	rtc   *webrtc.Transport
	tr    *signaling.Server
	pl    *player.Server
	st    *store.Store // bundles and gates
	gates *gate.Server
	pages *web.Server
	mux   *http.ServeMux
	ops   *ops
	ready atomic.Bool // every torrent added
}

func newNode(cfg nodeConfig, log *slog.Logger) (*node, error) {
	n := &node{log: log}
	var err error
	if n.rtc, err = webrtc.New(cfg.webrtc); err != nil {
		return nil, err
	}
	if n.sw, err = swarm.New(cfg.swarm); err != nil {
		return nil, err
	}
	cfg.tracker.Node = n.sw
	if !cfg.trackerOpen {
		// An artist's node is not a free tracker for anyone's files.
		cfg.tracker.Allow = func(ih infohash.Hash) bool {
			_, ok := n.sw.Torrent(ih)
			return ok
		}
	}
	if n.tr, err = signaling.New(cfg.tracker); err != nil {
		return nil, err
	}
	base := cfg.base.String()
	st, gates, err := openGates(context.Background(), cfg.gates, cfg.swarm.DataDir, base, log)
	if err != nil {
		return nil, err
	}
	n.st, n.gates = st, gates
	if n.pl, err = player.New(player.Config{Swarm: n.sw, PublicURL: base, Logger: log, PublicURLFor: cfg.publicURLFor, Gate: playerGate(gates)}); err != nil {
		st.Close()
		return nil, err
	}
	cfg.web.Library = webLibrary{sw: n.sw, pl: n.pl, base: base}
	cfg.web.Bundles = webBundles{gates}
	cfg.web.ICEServers = n.pageICEServers
	if n.pages, err = web.New(cfg.web); err != nil {
		st.Close()
		return nil, err
	}
	n.mux = http.NewServeMux()
	n.tr.Register(n.mux)
	n.pl.Register(n.mux)
	gates.Register(n.mux)
	n.pages.Register(n.mux)
	n.mux.HandleFunc("GET /healthz", n.serveHealth)
	if n.ops, err = newOps(n, cfg); err != nil {
		return nil, err
	}
	return n, nil
}

func (n *node) serveHealth(w http.ResponseWriter, r *http.Request) {
	if !n.ready.Load() {
		http.Error(w, "starting: adding torrents", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok")
}

// run runs the node until ctx is done or one of its parts fails: the
// swarm, WebRTC, the tracker and hs, and each of also, in one group;
// meanwhile add adds the torrents to start with, and may start more in
// the group, and then the tracker clients start. It returns nil after a
// clean stop. serve and watch both start their node through it.
func (n *node) run(ctx context.Context, hs *httpServer, add func(context.Context, *errgroup.Group) error, also ...func(context.Context) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return n.sw.Run(gctx) })
	g.Go(func() error { return n.rtc.Run(gctx) })
	g.Go(func() error { return n.tr.Run(gctx) })
	g.Go(func() error { return hs.Run(gctx) })
	for _, f := range also {
		g.Go(func() error { return f(gctx) })
	}
	g.Go(func() error { return n.addAndAnnounce(gctx, g, add) })
	err := g.Wait()
	if cerr := n.st.Close(); cerr != nil {
		n.log.Warn("closing the store", "err", cerr)
	}
	if err != nil {
		return err
	}
	n.log.Info("stopped")
	return nil
}

// addAndAnnounce adds the torrents to start with by add, then starts the
// tracker clients in g: one for the tracker of this process and one for
// every WebSocket tracker the torrents name.
func (n *node) addAndAnnounce(ctx context.Context, g *errgroup.Group, add func(context.Context, *errgroup.Group) error) error {
	if err := add(ctx, g); err != nil {
		return err
	}
	if err := n.ops.ann.start(ctx, g); err != nil {
		return err
	}
	n.ready.Store(true)
	return nil
}

// printTorrent prints what a user needs to share t, once its info is known.
func (n *node) printTorrent(ctx context.Context, t *swarm.Torrent) {
	select {
	case <-t.GotInfo():
	case <-ctx.Done():
		return
	}
	fmt.Fprintf(stdout, "name:     %s\ninfohash: %s\nmagnet:   %s\nwatch:    %s\n\n",
		t.Name(), t.InfoHash(), t.Magnet(), n.pl.WatchURL(t.InfoHash()))
}
