package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"runtime/debug"
	"slices"

	"github.com/seedcast/seedcast/admin"
	"github.com/seedcast/seedcast/infohash"
	"github.com/seedcast/seedcast/metrics"
	"github.com/seedcast/seedcast/signaling"
	"github.com/seedcast/seedcast/swarm"
)

// adminConfig is what serve's flags say of the admin API.
type adminConfig struct {
	token string   // "" to use the one kept in --data
	roots []string // resolved
	// off leaves the admin API out: watch's node is one viewer's, and
	// its --data may be a temporary dir where a token would be lost.
	off bool
}

// adminConfig checks the admin flags, naming the flag of a bad value.
func (c *serveCmd) adminConfig() (adminConfig, error) {
	ac := adminConfig{token: c.AdminToken}
	if c.AdminToken != "" {
		if err := admin.CheckToken(c.AdminToken); err != nil {
			return ac, fmt.Errorf("--admin-token: %v; set another with --admin-token or SEEDCAST_ADMIN_TOKEN, or neither to have one made into --data", err)
		}
	}
	for _, r := range c.AllowRoot {
		res, err := admin.ResolveRoot(r)
		if err != nil {
			return ac, fmt.Errorf("--allow-root %v; name an existing folder with --allow-root or SEEDCAST_ALLOW_ROOT", err)
		}
		ac.roots = append(ac.roots, res)
	}
	return ac, nil
}

// ops is the node's operations side: its metrics, its admin API, and the
// tracker clients that follow the torrents the API adds and removes.
type ops struct {
	ann *announcers
	cli cliSet // info hashes named on the command line
}

func (o *ops) fromCLI(ih infohash.Hash) { o.cli.add(ih) }

// newOps makes the node's metrics and admin API and adds their routes to
// its mux. Without --admin-token, the token is the one kept in --data,
// made at first start and printed then, on stdout and never in the log.
func newOps(n *node, cfg nodeConfig) (*ops, error) {
	o := &ops{ann: &announcers{
		sw:   n.sw,
		tr:   n.tr,
		peer: &rtcPeer{rtc: n.rtc, sw: n.sw, log: n.log.With("component", "webrtc")},
		log:  n.log,
	}}
	bv := readVersion(readBuildInfo())
	m, err := metrics.New(metrics.Config{Read: n.figures, Version: bv.Module, Revision: bv.commit(), Logger: n.log})
	if err != nil {
		return nil, err
	}
	n.mux.Handle("GET /metrics", m.Handler())
	if cfg.admin.off {
		return o, nil
	}

	token := cfg.admin.token
	if token == "" {
		var made bool
		token, made, err = admin.LoadToken(cfg.swarm.DataDir)
		if err != nil {
			return nil, fmt.Errorf("admin token: %w", err)
		}
		if made {
			fmt.Printf("admin token: %s\n  made now and kept in %s; printed this once. Send it as Authorization: Bearer TOKEN to POST and DELETE /api/torrents.\n\n",
				token, filepath.Join(cfg.swarm.DataDir, admin.TokenFile))
		}
	}
	a, err := admin.New(admin.Config{Node: adminNode{n: n, o: o}, Token: token, AllowRoots: cfg.admin.roots, Logger: n.log})
	if err != nil {
		return nil, err
	}
	a.Register(n.mux)
	// The artist's view of the bundles, behind the same token.
	if n.gates != nil {
		n.gates.RegisterAdmin(n.mux, n.st, a.Protect)
		n.mux.Handle("GET /admin", a.Protect(n.pages.Admin(webLedger{n.gates})))
	}
	return o, nil
}

func readBuildInfo() *debug.BuildInfo {
	bi, _ := debug.ReadBuildInfo()
	return bi
}

// figures reads the node's figures for a scrape: the swarm's per
// transport, the player's HTTP bytes and open responses, and the
// tracker's.
func (n *node) figures() metrics.Figures {
	f := metrics.Figures{Transports: make(map[string]metrics.Transport)}
	for name, ts := range n.sw.Totals() {
		f.Transports[name] = metrics.Transport{Peers: ts.Peers, BytesIn: ts.BytesIn, BytesOut: ts.BytesOut}
	}
	h := n.pl.HTTPTotals()
	f.Transports["webseed"] = metrics.Transport{Peers: h.WebSeeds, BytesOut: h.WebSeedBytes}
	f.Transports["stream"] = metrics.Transport{Peers: h.Streams, BytesOut: h.StreamBytes}
	f.StreamViewers = h.Streams
	for _, t := range n.sw.Torrents() {
		f.Torrents++
		if t.Seeding() {
			f.Seeding++
		}
	}
	f.HashFailures = n.sw.HashFailures()
	f.Tracker = trackerFigures(n.tr)
	return f
}

// trackerFigures reads the tracker's figures for a scrape.
func trackerFigures(tr *signaling.Server) *metrics.Tracker {
	st := tr.Stats()
	return &metrics.Tracker{
		Sockets:          tr.Sockets(),
		Swarms:           tr.Swarms(),
		WSAnnounces:      st.WSAnnounce.Load(),
		HTTPAnnounces:    st.HTTPAnnounce.Load(),
		OffersRelayed:    st.OffersRelay.Load(),
		OffersDropped:    st.OffersDropped.Load(),
		AnswersRelayed:   st.AnswersRelay.Load(),
		MessagesDropped:  st.WSDropped.Load(),
		MessagesRejected: st.WSRejected.Load(),
	}
}

// adminNode is the admin.Node of the node: the swarm adds, keeps and
// removes, the player describes, and the tracker clients hear of each
// change at once.
type adminNode struct {
	n *node
	o *ops
}

var _ admin.Node = adminNode{}

func (a adminNode) AddPath(ctx context.Context, path string) (infohash.Hash, bool, error) {
	return a.add(func() (*swarm.Torrent, error) { return a.n.sw.AddPath(ctx, path) })
}

func (a adminNode) AddMagnet(ctx context.Context, uri string) (infohash.Hash, bool, error) {
	return a.add(func() (*swarm.Torrent, error) { return a.n.sw.AddMagnet(uri) })
}

func (a adminNode) AddTorrent(ctx context.Context, b []byte) (infohash.Hash, bool, error) {
	return a.add(func() (*swarm.Torrent, error) { return a.n.sw.AddTorrent(b) })
}

// add adds a torrent with f and keeps it; a torrent that cannot be kept
// is not served either, so that what the node serves is what comes back
// after a restart.
func (a adminNode) add(f func() (*swarm.Torrent, error)) (infohash.Hash, bool, error) {
	// Until the start-up torrents are in, an add could race Restore.
	if !a.n.ready.Load() {
		return infohash.Hash{}, false, admin.ErrUnavailable
	}
	before := a.n.sw.Torrents()
	t, err := f()
	if err != nil {
		return infohash.Hash{}, false, swarmErr(err)
	}
	added := !slices.Contains(before, t)
	if err := a.n.sw.Keep(t); err != nil {
		if added {
			a.n.sw.Remove(t.InfoHash())
		}
		return infohash.Hash{}, false, swarmErr(err)
	}
	if err := a.o.ann.sync(); err != nil {
		a.n.log.Warn("tracker clients", "err", err)
	}
	return t.InfoHash(), added, nil
}

func (a adminNode) Remove(ctx context.Context, ih infohash.Hash) error {
	if !a.n.ready.Load() {
		return admin.ErrUnavailable
	}
	if err := a.n.sw.Remove(ih); err != nil {
		if errors.Is(err, swarm.ErrNoTorrent) {
			return admin.ErrNoTorrent
		}
		return swarmErr(err)
	}
	if a.o.cli.has(ih) {
		a.n.log.Warn("torrent removed, but it is named on the command line: it comes back when the node restarts with that command line", "infohash", ih)
	}
	if err := a.o.ann.sync(); err != nil {
		a.n.log.Warn("tracker clients", "err", err)
	}
	return nil
}

func (a adminNode) Describe(ih infohash.Hash) (any, bool) { return a.n.pl.Describe(ih) }

// swarmErr maps the swarm's state errors to the admin API's.
func swarmErr(err error) error {
	if errors.Is(err, swarm.ErrStopped) || errors.Is(err, swarm.ErrNotStarted) {
		return admin.ErrUnavailable
	}
	return err
}

// trackerMetrics registers /metrics of the tracker alone on mux.
func trackerMetrics(mux *http.ServeMux, tr *signaling.Server, log *slog.Logger) error {
	bv := readVersion(readBuildInfo())
	m, err := metrics.New(metrics.Config{
		Read:    func() metrics.Figures { return metrics.Figures{Tracker: trackerFigures(tr)} },
		Version: bv.Module, Revision: bv.commit(), Logger: log,
	})
	if err != nil {
		return err
	}
	mux.Handle("GET /metrics", m.Handler())
	return nil
}
