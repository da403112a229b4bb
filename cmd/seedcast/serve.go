package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/anacrolix/torrent/metainfo"
	pion "github.com/pion/webrtc/v4"
	"golang.org/x/sync/errgroup"

	"github.com/seedcast/seedcast/cmd/seedcast/pilot"
	"github.com/seedcast/seedcast/infohash"
	"github.com/seedcast/seedcast/player"
	"github.com/seedcast/seedcast/signaling"
	"github.com/seedcast/seedcast/swarm"
	"github.com/seedcast/seedcast/web"
	"github.com/seedcast/seedcast/webrtc"
)

// httpFlags are the flags of the HTTP listener, shared by serve and tracker.
type httpFlags struct {
	Addr      string `default:"127.0.0.1:8080" env:"SEEDCAST_ADDR" help:"HTTP listen address (tracker, player, API)."`
	PublicURL string `name:"public-url" env:"SEEDCAST_PUBLIC_URL" placeholder:"URL" help:"Base URL viewers and peers reach this node at, e.g. https://films.example.org (default: from --addr)."`
	TLSCert   string `name:"tls-cert" env:"SEEDCAST_TLS_CERT" type:"existingfile" help:"TLS certificate (PEM) to serve HTTPS and WSS."`
	TLSKey    string `name:"tls-key" env:"SEEDCAST_TLS_KEY" type:"existingfile" help:"TLS private key (PEM) for --tls-cert."`
}

// publicURL returns the node's base URL without a trailing slash.
func (f *httpFlags) publicURL() (*url.URL, error) {
	raw := f.PublicURL
	if raw == "" {
		scheme := "http"
		if f.TLSCert != "" {
			scheme = "https"
		}
		raw = scheme + "://" + urlHost(f.Addr)
	}
	u, err := url.Parse(strings.TrimSuffix(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--public-url %q: want http(s)://host[:port][/path]", raw)
	}
	return u, nil
}

func (f *httpFlags) validate() error {
	if (f.TLSCert == "") != (f.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together; set both or neither")
	}
	return nil
}

// announceURLs returns the node's own tracker as WebSocket and HTTP URLs.
func announceURLs(base *url.URL) []string {
	ws := *base
	ws.Scheme = map[string]string{"http": "ws", "https": "wss"}[base.Scheme]
	return []string{ws.String() + "/announce", base.String() + "/announce"}
}

type serveCmd struct {
	httpFlags
	Paths []string `arg:"" optional:"" name:"path" help:"Files, folders, .torrent files or magnet links (none: the built-in demo pilot)."`

	Data             string   `default:"${data_default}" env:"SEEDCAST_DATA" help:"State dir: piece completion, hashed info, peer id, downloads."`
	BTPort           int      `name:"bt-port" default:"6881" env:"SEEDCAST_BT_PORT" help:"BitTorrent TCP and uTP port."`
	NatIP            string   `name:"nat-ip" env:"SEEDCAST_NAT_IP" placeholder:"IP" help:"Public IP of this node when it sits behind 1:1 NAT; given to peers in place of its local address."`
	Tracker          []string `env:"SEEDCAST_TRACKER" placeholder:"URL" help:"Extra tracker to list in torrents and announce to (repeatable)."`
	NoDHT            bool     `name:"no-dht" env:"SEEDCAST_NO_DHT" help:"Do not join the DHT."`
	NoWebseed        bool     `name:"no-webseed" env:"SEEDCAST_NO_WEBSEED" help:"Leave this node's web seed out of the torrents it serves."`
	NoPortForwarding bool     `name:"no-port-forwarding" env:"SEEDCAST_NO_PORT_FORWARDING" help:"Do not ask the router for port mappings (UPnP, NAT-PMP)."`
	NoTCP            bool     `name:"no-tcp" env:"SEEDCAST_NO_TCP" help:"No BitTorrent over TCP."`
	NoUTP            bool     `name:"no-utp" env:"SEEDCAST_NO_UTP" help:"No BitTorrent over uTP."`

	WebRTCPort  int      `name:"webrtc-port" default:"3478" env:"SEEDCAST_WEBRTC_PORT" help:"The one UDP port of every WebRTC peer connection (browsers)."`
	ICEServer   []string `name:"ice-server" env:"SEEDCAST_ICE_SERVER" placeholder:"URL" help:"STUN or TURN server for WebRTC, stun:HOST:PORT or turn://USER:PASSWORD@HOST:PORT (repeatable)."`
	WebRTCIface []string `name:"webrtc-interface" env:"SEEDCAST_WEBRTC_INTERFACE" placeholder:"NAME" help:"Network interface WebRTC may use (repeatable; default: all but loopback; naming lo allows loopback)."`
}

func (c *serveCmd) Run(ctx context.Context, log *slog.Logger) error {
	if err := c.validate(); err != nil {
		return err
	}
	base, err := c.publicURL()
	if err != nil {
		return err
	}
	var natIP netip.Addr
	if c.NatIP != "" {
		if natIP, err = netip.ParseAddr(c.NatIP); err != nil {
			return fmt.Errorf("--nat-ip %q: not an IP address", c.NatIP)
		}
	}
	webSeedBase := base.String() + "/webseed/"
	if c.NoWebseed {
		webSeedBase = ""
	}
	var natIPs []string
	if natIP.IsValid() {
		natIPs = []string{natIP.String()}
	}
	var iceServers []pion.ICEServer
	for _, s := range c.ICEServer {
		srv, err := parseICEServer(s)
		if err != nil {
			return err
		}
		iceServers = append(iceServers, srv)
	}
	rtc, err := webrtc.New(webrtc.Config{Logger: log, UDPPort: c.WebRTCPort, NATIPs: natIPs, ICEServers: iceServers,
		Interfaces: c.WebRTCIface, Loopback: slices.Contains(c.WebRTCIface, "lo")})
	if err != nil {
		return err
	}
	sw, err := swarm.New(swarm.Config{
		Logger:           log,
		DataDir:          c.Data,
		BTPort:           c.BTPort,
		DisableTCP:       c.NoTCP,
		DisableUTP:       c.NoUTP,
		NoDHT:            c.NoDHT,
		NoPortForwarding: c.NoPortForwarding,
		Announce:         announceURLs(base),
		Trackers:         c.Tracker,
		WebSeedBase:      webSeedBase,
	})
	if err != nil {
		return err
	}
	tr, err := signaling.New(signaling.Config{Logger: log, Node: trackerNode{sw: sw, natIP: natIP}})
	if err != nil {
		return err
	}
	pl, err := player.New(player.Config{Swarm: sw, PublicURL: base.String(), Logger: log})
	if err != nil {
		return err
	}
	var pageICE []web.ICEServer
	for _, s := range iceServers {
		cred, _ := s.Credential.(string) // parseICEServer sets a string or nothing
		pageICE = append(pageICE, web.ICEServer{URLs: s.URLs, Username: s.Username, Credential: cred})
	}
	pages, err := web.New(web.Config{Library: webLibrary{sw: sw, base: base.String()}, PublicURL: base.String(), Logger: log, ICEServers: pageICE})
	if err != nil {
		return err
	}
	if err := sw.Start(); err != nil {
		return err
	}
	if err := rtc.Start(); err != nil {
		sw.Close()
		return err
	}
	// The client goes first: anacrolix spins on a closed listener while
	// its client is open.
	defer func() {
		sw.Close()
		rtc.Close()
	}()
	if err := sw.AddTransport(rtc); err != nil {
		return err
	}
	peer := &rtcPeer{tr: rtc, sw: sw, log: log.With("component", "webrtc")}

	var ready atomic.Bool
	mux := http.NewServeMux()
	tr.Register(mux)
	pl.Register(mux)
	pages.Register(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if !ready.Load() {
			http.Error(w, "starting: adding torrents", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})

	g, gctx, ln, err := c.start(ctx, log, mux, tr)
	if err != nil {
		return err
	}
	log.Info("http listening", "addr", ln.Addr().String(), "public_url", base.String())

	g.Go(func() error {
		args := c.Paths
		if len(args) == 0 {
			p, err := pilot.Install(c.Data)
			if err != nil {
				return err
			}
			args = []string{p}
		}
		for _, a := range args {
			t, err := sw.Add(gctx, a)
			if err != nil {
				return err
			}
			// A magnet prints once its info arrives, which may take the
			// peers the tracker clients below are about to find.
			go printTorrent(gctx, t, pl)
		}
		// Announce with offers to the tracker in process, and to every
		// WebSocket tracker the torrents name.
		clients := []signaling.ClientConfig{{Local: tr, Torrents: announces(sw, "")}}
		for _, u := range wsTrackers(sw) {
			clients = append(clients, signaling.ClientConfig{URL: u, Torrents: announces(sw, u)})
		}
		for _, cc := range clients {
			cc.Logger, cc.PeerID, cc.Peer = log, signaling.ID(sw.PeerID()), peer
			cl, err := signaling.NewClient(cc)
			if err != nil {
				return err
			}
			g.Go(func() error { return cl.Run(gctx) })
		}
		ready.Store(true)
		return nil
	})
	err = g.Wait()
	if errors.Is(err, context.Canceled) || ctx.Err() != nil {
		log.Info("stopped")
		return nil
	}
	return err
}

// printTorrent prints what a user needs to share t, once its info is known.
func printTorrent(ctx context.Context, t *swarm.Torrent, pl *player.Server) {
	select {
	case <-t.GotInfo():
	case <-ctx.Done():
		return
	}
	fmt.Printf("name:     %s\ninfohash: %s\nmagnet:   %s\nwatch:    %s\n\n",
		t.Name(), t.InfoHash().HexString(), t.Magnet(), pl.WatchURL(infohash.Hash(t.InfoHash())))
}

// start opens the HTTP listener and serves mux on it, and runs the
// tracker, in a group whose context ends at the first error or when ctx
// does; the tracker's Run closes its sockets then, as
// http.Server.Shutdown leaves hijacked WebSockets alone.
func (f *httpFlags) start(ctx context.Context, log *slog.Logger, mux *http.ServeMux, tr *signaling.Server) (*errgroup.Group, context.Context, net.Listener, error) {
	ln, err := listen(f.Addr)
	if err != nil {
		return nil, nil, nil, err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return serveHTTP(gctx, srv, ln, f.TLSCert, f.TLSKey) })
	g.Go(func() error { return tr.Run(gctx) })
	return g, gctx, ln, nil
}

// listen opens the HTTP listener with an error that says what to do.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		var se *os.SyscallError
		if errors.As(err, &se) && strings.Contains(se.Error(), "address already in use") {
			return nil, fmt.Errorf("HTTP address %s in use; set --addr or SEEDCAST_ADDR", addr)
		}
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

// serveHTTP serves until ctx is done, then shuts down within 5 s.
func serveHTTP(ctx context.Context, srv *http.Server, ln net.Listener, cert, key string) error {
	errc := make(chan error, 1)
	go func() {
		if cert != "" {
			errc <- srv.ServeTLS(ln, cert, key)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// WebSockets are hijacked and not waited for by Shutdown; the tracker
	// closes them.
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	return ctx.Err()
}

// trackerNode tells the tracker where the node's BitTorrent listener is.
type trackerNode struct {
	sw    *swarm.Swarm
	natIP netip.Addr
}

func (n trackerNode) TCPPeer(ih infohash.Hash, local netip.Addr) (netip.AddrPort, bool, bool) {
	t, ok := n.sw.Torrent(metainfo.Hash(ih))
	if !ok {
		return netip.AddrPort{}, false, false
	}
	ip := local
	if n.natIP.IsValid() {
		ip = n.natIP
	}
	return netip.AddrPortFrom(ip, uint16(n.sw.Port())), t.Seeding(), true
}

func (n trackerNode) Leecher(ih infohash.Hash, addr netip.AddrPort) {
	n.sw.AddPeer(metainfo.Hash(ih), addr.String())
}
