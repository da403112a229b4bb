package swarm

import (
	"context"
	"time"

	"github.com/anacrolix/torrent"
	pp "github.com/anacrolix/torrent/peer_protocol"
)

// Two faults of anacrolix v1.59.1 can leave a conn open and idle for good
// while it has work: the bridge stood 50 s with pieces to fetch from its
// libtorrent seeder, and a node 60 s with aria2's requests unanswered,
// both in CI only (TestFetchAfterRejects shows both, more often with the
// race detector).
//
// Its conn writer can miss a wake-up. It takes the signal to wait on only
// after it has looked for work, so work that comes in between (a request
// to serve, a request update) waits for the next wake-up; and a request
// update still pending turns every later one into a no-op. Only its
// keep-alive timer, a minute by default, ended the wait. keepAliveTimeout
// wakes the writer of a conn with work at most that long after its last
// write (sending a 4-byte keep-alive when nothing else went out), as
// anacrolix's own tests set it.
//
// It makes no new request of a peer on a reject: it waits for the peer to
// unchoke it again ("don't add requests on receipt of a reject",
// requesting.go), and its timer for that is off
// (enableUpdateRequestsTimer). A peer with BEP 6 answers each request it
// drops with a reject; one that rejects what the node has out while it
// keeps the node unchoked (libtorrent does, for requests it took as it
// choked and unchoked, or was asked to cancel) is never asked again.
// restartStalled finds such a torrent (nothing received for stallAfter
// while a peer that unchokes the node holds pieces it lacks and was asked
// for nothing meanwhile) and makes anacrolix request again: it disallows
// and allows data download, whose second half runs anacrolix's request
// update of every peer for a reason other than a reject. Disallowing
// cancels what the torrent has out, but nothing came of it for stallAfter.

const (
	// keepAliveTimeout bounds a writer's missed wake-up.
	keepAliveTimeout = time.Second
	// stallAfter is how long a torrent with such a peer receives nothing
	// before its requests are restarted: longer than the gaps between
	// blocks of any peer worth fetching from (a 16 KiB block in 2 s is
	// 8 KB/s), and shorter than a viewer's patience.
	stallAfter = 2 * time.Second
	stallTick  = time.Second
)

// watchStalls restarts the requests of stalled torrents until ctx is
// done.
func (s *Swarm) watchStalls(ctx context.Context) {
	tick := time.NewTicker(stallTick)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			for _, t := range s.Torrents() {
				t.restartStalled(now)
			}
		}
	}
}

// stall is the watch's state of one torrent; only watchStalls uses it.
type stall struct {
	restarted time.Time // the last restart
	restarts  int       // since data last came
}

// restartStalled restarts the torrent's requests if it is stalled at
// now, and reports whether it did.
func (t *Torrent) restartStalled(now time.Time) bool {
	if now.Sub(t.stall.restarted) < stallAfter {
		return false
	}
	idle, rejects, flowing := t.stalled(now)
	if flowing {
		t.stall.restarts = 0
	}
	if idle == 0 {
		return false
	}
	t.t.DisallowDataDownload()
	t.t.AllowDataDownload()
	t.stall.restarted = now
	t.stall.restarts++
	log := t.s.log.Debug
	if t.stall.restarts == 1 {
		log = t.s.log.Info
	}
	log("requests restarted: a peer that unchokes the node was asked for nothing while nothing came",
		"infohash", t.ih, "peers", idle, "rejects", rejects, "restarts", t.stall.restarts)
	return true
}

// stalled returns how many of the torrent's peers stall it at now (they
// unchoke the node, hold pieces it lacks, and were asked for nothing
// while nothing came for stallAfter) and the rejects they sent, or
// flowing if data came within stallAfter.
func (t *Torrent) stalled(now time.Time) (idle, rejects int, flowing bool) {
	if !t.haveInfo() || t.Seeding() {
		return 0, 0, false
	}
	pc := &t.s.pace
	var conns []*torrent.PeerConn
	// anacrolix takes pc.mu under its client lock (the pacer's
	// callbacks): its conns are listed before.
	all := t.t.PeerConns()
	pc.mu.Lock()
	for _, c := range all {
		p := pc.conns[c]
		if p == nil {
			continue
		}
		if now.Sub(p.lastData) < stallAfter {
			pc.mu.Unlock()
			return 0, 0, true
		}
		if !p.choked && now.Sub(p.lastSent) >= stallAfter && now.Sub(p.added) >= stallAfter {
			conns = append(conns, c)
			rejects += p.rejects
		}
	}
	pc.mu.Unlock()
	if len(conns) == 0 || !t.lacksPieceOf(conns) {
		return 0, 0, false
	}
	return len(conns), rejects, false
}

// lacksPieceOf reports whether one of conns holds a piece the torrent
// lacks.
func (t *Torrent) lacksPieceOf(conns []*torrent.PeerConn) bool {
	missing := make([]bool, 0, t.t.NumPieces())
	for _, run := range t.t.PieceStateRuns() {
		for range run.Length {
			missing = append(missing, !run.Complete)
		}
	}
	for _, c := range conns {
		it := c.PeerPieces().Iterator()
		for it.HasNext() {
			if i := int(it.Next()); i < len(missing) && missing[i] {
				return true
			}
		}
	}
	return false
}

// read notes what a peer's message says of its requests: whether it
// chokes the node, and its rejects. anacrolix calls it for every message,
// with its client lock held.
func (pc *pacer) read(c *torrent.PeerConn, m *pp.Message) {
	if m.Keepalive || m.Type != pp.Choke && m.Type != pp.Unchoke && m.Type != pp.Reject {
		return
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	p := pc.conn(c)
	switch m.Type {
	case pp.Choke:
		p.choked = true
	case pp.Unchoke:
		p.choked = false
	case pp.Reject:
		p.rejects++
	}
}

// add starts to follow a conn as anacrolix adds it to a torrent.
func (pc *pacer) add(c *torrent.PeerConn) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	pc.conn(c)
}

// sent notes a request made of a peer.
func (pc *pacer) sent(e torrent.PeerRequestEvent) {
	c, ok := e.Peer.TryAsPeerConn()
	if !ok {
		return
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	pc.conn(c).lastSent = time.Now()
}
