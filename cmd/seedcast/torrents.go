package main

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/seedcast/seedcast/cmd/seedcast/pilot"
	"github.com/seedcast/seedcast/infohash"
	"github.com/seedcast/seedcast/signaling"
	"github.com/seedcast/seedcast/swarm"
)

// addTorrents adds what the node serves at start: the command line's
// torrents, which are kept, then those kept in --data from earlier runs,
// command line and admin API alike, less those already added. An argument
// that cannot be added is logged, naming it and why, and skipped. With
// neither arguments nor kept torrents, it seeds the demo pilot, which is
// not kept: it is a stand-in for a node that serves nothing yet. With
// arguments of which none could be added and nothing kept, it fails: the
// pilot is no stand-in for what was asked. Each torrent is printed once
// its info is known.
func (n *node) addTorrents(ctx context.Context, g *errgroup.Group, cfg nodeConfig) error {
	var added []*swarm.Torrent
	for _, p := range cfg.paths {
		t, err := n.addArg(ctx, p)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, swarm.ErrStopped) {
				return err
			}
			n.log.Error("argument skipped", "arg", redactArg(p), "err", err)
			continue
		}
		if err := n.sw.Keep(t); err != nil {
			return err
		}
		n.ops.fromCLI(t.InfoHash())
		added = append(added, t)
	}
	restored, err := n.sw.Restore(ctx)
	if err != nil {
		return err
	}
	if len(restored) > 0 {
		n.log.Info("torrents restored", "count", len(restored))
	}
	added = append(added, restored...)
	if len(added) == 0 && len(cfg.paths) > 0 {
		return errors.New("nothing to serve: no argument could be added (the errors above say why) and --data keeps nothing from earlier runs; fix them, or give no argument to serve the demo pilot")
	}
	if len(added) == 0 {
		p, err := pilot.Install(cfg.swarm.DataDir)
		if err != nil {
			return err
		}
		t, err := n.sw.Add(ctx, p)
		if err != nil {
			return err
		}
		added = append(added, t)
	}
	for _, t := range added {
		// A magnet prints once its info arrives, which may take the peers
		// the tracker clients are about to find.
		g.Go(func() error {
			n.printTorrent(ctx, t)
			return nil
		})
	}
	return nil
}

// addArg adds one argument of the command line, checked first as
// preflight checked it, for its clearer errors.
func (n *node) addArg(ctx context.Context, arg string) (*swarm.Torrent, error) {
	if err := swarm.CheckArg(arg); err != nil {
		return nil, err
	}
	return n.sw.Add(ctx, arg)
}

// redactArg is arg for a log line: a URL without its password.
func redactArg(arg string) string {
	if u, err := url.Parse(arg); err == nil && u.User != nil {
		return u.Redacted()
	}
	return arg
}

// announcers runs a tracker client for the tracker of this process and one
// for every WebSocket tracker the node's torrents name, as torrents come
// and go.
type announcers struct {
	sw   *swarm.Swarm
	tr   *signaling.Server
	peer signaling.Peer
	log  *slog.Logger

	mu      sync.Mutex
	ctx     context.Context // set by start; nil before
	g       *errgroup.Group
	clients map[string]runningClient // by tracker URL; "" for this process's
}

type runningClient struct {
	c    *signaling.Client
	stop context.CancelFunc
}

// start starts the clients in g, each until ctx is done.
func (a *announcers) start(ctx context.Context, g *errgroup.Group) error {
	a.mu.Lock()
	a.ctx, a.g = ctx, g
	a.clients = make(map[string]runningClient)
	a.mu.Unlock()
	return a.sync()
}

// sync starts a client for each WebSocket tracker newly named, stops
// those of trackers no longer named, and has the others announce the
// torrents added and removed since their last announce at once. Before
// start it does nothing: start announces everything.
func (a *announcers) sync() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ctx == nil || a.ctx.Err() != nil {
		return nil
	}
	want := append([]string{""}, a.sw.WSTrackers()...)
	for u, rc := range a.clients {
		if !slices.Contains(want, u) {
			rc.stop()
			delete(a.clients, u)
			continue
		}
		rc.c.Refresh()
	}
	for _, u := range want {
		if _, ok := a.clients[u]; ok {
			continue
		}
		cc := signaling.ClientConfig{URL: u, Torrents: a.announces(u), Logger: a.log, PeerID: signaling.ID(a.sw.PeerID()), Peer: a.peer}
		if u == "" {
			cc.Local = a.tr
		}
		cl, err := signaling.NewClient(cc)
		if err != nil {
			return err
		}
		ctx, stop := context.WithCancel(a.ctx)
		a.clients[u] = runningClient{c: cl, stop: stop}
		a.g.Go(func() error {
			defer stop()
			return cl.Run(ctx)
		})
	}
	return nil
}

// announces returns what to announce to tracker ("" for the tracker of
// this process).
func (a *announcers) announces(tracker string) func() []signaling.Announce {
	return func() []signaling.Announce {
		var out []signaling.Announce
		for _, an := range a.sw.Announces(tracker) {
			out = append(out, signaling.Announce(an))
		}
		return out
	}
}

// cliSet is the info hashes of the torrents named on the command line.
type cliSet struct {
	mu  sync.Mutex
	ihs map[infohash.Hash]bool
}

func (s *cliSet) add(ih infohash.Hash) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ihs == nil {
		s.ihs = make(map[infohash.Hash]bool)
	}
	s.ihs[ih] = true
}

func (s *cliSet) has(ih infohash.Hash) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ihs[ih]
}
