package swarm

import (
	"cmp"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/anacrolix/torrent"
)

// What a viewer needs comes first. While a torrent is still being
// fetched, the node asks its peers first for what its viewers will play
// soonest: a viewer's page tells it where it plays (Want), HTTP readers
// raise the pieces under them themselves (anacrolix's Reader), and the
// ends of a media file being streamed hold its index (PrioritizeEnds).
// With nobody watching, the torrent is fetched as a seed fetches, rarest
// first.
//
// A playhead is cut into tiers by how soon it plays a piece: the piece
// under it and the next nowSec are needed now, the next nextSec next,
// then readSec in order, then aheadSec may be fetched ahead. anacrolix
// fetches pieces of one tier in no set order (rarest first), so the
// tiers are narrow where the order matters. Several viewers share each
// tier, so a viewer far into the film is served beside one at its
// start, not after. The ends of a streamed file come after the nearest
// tiers: a player that needs an index at the end reads it there, and
// its reader raises it then.
//
// anacrolix keeps requests to a peer until the peer serves them, and its
// queue for a peer grows with the peer's rate; a native seed serving in
// order then answers a seek only after seconds of pieces nobody watches,
// and the first viewer of a torrent fetched for a while waits as long.
// A peer's queue is held to queueTime of what it delivers (pacer), as
// libtorrent sizes its own (request_queue_time), so that what a viewer
// needs next waits at most about that long. Raising the queue as the
// rate grows keeps a fast peer busy: a queue of queueTime covers every
// round trip shorter than that.

const (
	// wantTTL is how long a viewer's playhead stands after its page last
	// said where it plays; pages say so every few seconds.
	wantTTL = 10 * time.Second
	// maxWants bounds the playheads of one torrent; the oldest goes.
	maxWants = 64
	// nowSec, nextSec, readSec and aheadSec are the tiers past a
	// playhead.
	nowSec   = 1
	nextSec  = 4
	readSec  = 20
	aheadSec = 60
	// defaultWantRate is the rate of a film whose duration the page does
	// not know yet, in bytes per second: 2 Mbit/s.
	defaultWantRate = 256 << 10
	// queueTime is how much of a peer's delivery the node keeps requested
	// from it; minQueue blocks bound it below.
	queueTime = 500 * time.Millisecond
	minQueue  = 8
)

// ErrBadWant means a playhead names no file of the torrent, or a place
// outside it.
var ErrBadWant = errors.New("no such file or position")

// playhead is where one viewer plays.
type playhead struct {
	file         int
	offset, rate int64 // within the file; bytes per second
	at           time.Time
}

// wants holds a torrent's playheads and the piece priorities they and
// PrioritizeEnds set.
type wants struct {
	mu    sync.Mutex
	heads map[string]playhead
	ends  map[int]bool                  // pieces of the ends of streamed files
	await map[int]int                   // pieces AwaitRange waits for: how many wait
	set   map[int]torrent.PiecePriority // what was last applied
	timer *time.Timer
}

// Want records that viewer plays file i at offset, at rate bytes per
// second (0 if unknown), and fetches the pieces it needs first. It
// reports whether the torrent is still being fetched: once it is not,
// pages need not say where they play.
func (t *Torrent) Want(viewer string, i int, offset, rate int64) (fetching bool, err error) {
	if !t.haveInfo() {
		return true, nil
	}
	files := t.t.Files()
	if i < 0 || i >= len(files) || offset < 0 || offset > files[i].Length() || rate < 0 || rate > files[i].Length() {
		return false, ErrBadWant
	}
	if t.Seeding() {
		return false, nil
	}
	w := &t.wants
	w.mu.Lock()
	if w.heads == nil {
		w.heads = make(map[string]playhead)
	}
	if _, ok := w.heads[viewer]; !ok && len(w.heads) >= maxWants {
		var oldest string
		for id, h := range w.heads {
			if oldest == "" || h.at.Before(w.heads[oldest].at) {
				oldest = id
			}
		}
		delete(w.heads, oldest)
	}
	w.heads[viewer] = playhead{file: i, offset: offset, rate: rate, at: time.Now()}
	w.mu.Unlock()
	t.applyWants()
	return true, nil
}

// Playhead returns where the viewer that last said so plays file i, in
// bytes into it, with the file's bytes per second of play (0 if its page
// did not know); false if no viewer said so within wantTTL.
func (t *Torrent) Playhead(i int) (offset, rate int64, ok bool) {
	t.wants.mu.Lock()
	defer t.wants.mu.Unlock()
	return t.playheadLocked(i)
}

func (t *Torrent) playheadLocked(i int) (offset, rate int64, ok bool) {
	var last playhead
	for _, h := range t.wants.heads {
		if h.file == i && time.Since(h.at) < wantTTL && h.at.After(last.at) {
			last, ok = h, true
		}
	}
	return last.offset, last.rate, ok
}

// PrioritizeEnds fetches the first head and last tail bytes of file i
// first, where a media file keeps its index, while the file is streamed.
func (t *Torrent) PrioritizeEnds(i int, head, tail int64) {
	if !t.haveInfo() {
		return
	}
	files := t.t.Files()
	if i < 0 || i >= len(files) || files[i].Length() == 0 {
		return
	}
	f := files[i]
	pieceLen := t.t.Info().PieceLength
	w := &t.wants
	w.mu.Lock()
	if w.ends == nil {
		w.ends = make(map[int]bool)
	}
	mark := func(from, to int64) { // byte offsets within the torrent
		for p := from / pieceLen; p <= (to-1)/pieceLen && p < int64(t.t.NumPieces()); p++ {
			w.ends[int(p)] = true
		}
	}
	mark(f.Offset(), f.Offset()+min(head, f.Length()))
	mark(f.Offset()+max(0, f.Length()-tail), f.Offset()+f.Length())
	w.mu.Unlock()
	t.applyWants()
}

// applyWants sets the priority of every piece the playheads and ends
// want, and takes it back from pieces no longer wanted; playheads past
// wantTTL go. While some remain it runs again when the oldest expires.
func (t *Torrent) applyWants() {
	select {
	case <-t.t.Closed():
		return
	default:
	}
	files := t.t.Files()
	pieceLen := t.t.Info().PieceLength
	pieces := t.t.NumPieces()
	now := time.Now()

	w := &t.wants
	w.mu.Lock()
	want := make(map[int]torrent.PiecePriority)
	raise := func(p int, prio torrent.PiecePriority) {
		if p >= 0 && p < pieces && want[p] < prio {
			want[p] = prio
		}
	}
	for p := range w.ends {
		raise(p, torrent.PiecePriorityHigh)
	}
	for p := range w.await {
		raise(p, torrent.PiecePriorityNext)
	}
	var next time.Time
	for id, h := range w.heads {
		expires := h.at.Add(wantTTL)
		if !now.Before(expires) {
			delete(w.heads, id)
			continue
		}
		if next.IsZero() || expires.Before(next) {
			next = expires
		}
		f := files[h.file]
		rate := cmp.Or(h.rate, defaultWantRate)
		end := f.Offset() + f.Length() // exclusive
		at := f.Offset() + h.offset
		from := at
		for _, tier := range []struct {
			sec  int64
			prio torrent.PiecePriority
		}{
			{nowSec, torrent.PiecePriorityNow},
			{nextSec, torrent.PiecePriorityNext},
			{readSec, torrent.PiecePriorityReadahead},
			{aheadSec, torrent.PiecePriorityHigh},
		} {
			to := min(end, at+tier.sec*rate)
			for p := from / pieceLen; p*pieceLen < to; p++ {
				raise(int(p), tier.prio)
			}
			from = max(from, to)
		}
	}
	changed := make(map[int]torrent.PiecePriority)
	for p, prio := range want {
		if w.set[p] != prio {
			changed[p] = prio
		}
	}
	for p := range w.set {
		if _, ok := want[p]; !ok {
			changed[p] = torrent.PiecePriorityNone
		}
	}
	w.set = want
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	if !next.IsZero() {
		w.timer = time.AfterFunc(next.Sub(now), t.applyWants)
	}
	w.mu.Unlock()

	// anacrolix takes its client lock for each piece: outside ours.
	for p, prio := range changed {
		t.t.Piece(p).SetPriority(prio)
	}
}

// AwaitRange waits until bytes [from, to) of file i are verified,
// fetching their pieces meanwhile with the priority of a playhead's next
// seconds, and returns ctx's error if it is done first. A web seed
// request waits here before it reads: anacrolix makes the piece under
// each reader blocked in Read a piece needed now, and fetches the pieces
// needed now in random order, so a page's four or five web seed requests
// at once (WebTorrent asks for several pieces) would come before, and
// beside, the pieces its playhead needs to play again after a seek (Want).
// ErrNoTorrent if the torrent is dropped meanwhile.
func (t *Torrent) AwaitRange(ctx context.Context, i int, from, to int64) error {
	if !t.haveInfo() {
		return nil // the reader waits for the info
	}
	files := t.t.Files()
	if i < 0 || i >= len(files) {
		return ErrBadWant
	}
	f := files[i]
	from, to = max(0, from), min(to, f.Length())
	if from >= to {
		return nil
	}
	pieceLen := t.t.Info().PieceLength
	first, end := int((f.Offset()+from)/pieceLen), int((f.Offset()+to-1)/pieceLen)+1
	missing := func() bool {
		for p := first; p < end; p++ {
			if !t.t.PieceState(p).Complete {
				return true
			}
		}
		return false
	}
	// Subscribed before the first look, so that no completion is missed.
	sub := t.t.SubscribePieceStateChanges()
	defer sub.Close()
	if !missing() {
		return nil
	}
	w := &t.wants
	w.mu.Lock()
	if w.await == nil {
		w.await = make(map[int]int)
	}
	for p := first; p < end; p++ {
		w.await[p]++
	}
	w.mu.Unlock()
	t.applyWants()
	defer func() {
		w.mu.Lock()
		for p := first; p < end; p++ {
			if w.await[p]--; w.await[p] <= 0 {
				delete(w.await, p)
			}
		}
		w.mu.Unlock()
		t.applyWants()
	}()
	for missing() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.t.Closed():
			return ErrNoTorrent
		case <-sub.Values:
		}
	}
	return nil
}

// stopWants stops the expiry of playheads, for a torrent going away.
func (t *Torrent) stopWants() {
	w := &t.wants
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
}

// pacer holds each peer's request queue to queueTime of what the peer
// delivers. anacrolix calls it with its client lock held, so it calls
// nothing of the swarm's that could wait on it.
type pacer struct {
	mu    sync.Mutex
	conns map[*torrent.PeerConn]*pace
}

// pace is what the pacer knows of one conn.
type pace struct {
	reqq  int       // the queue the peer allows (BEP 10 reqq)
	since time.Time // start of the rate's window
	bytes int64     // received in it
	rate  float64   // bytes per second, smoothed

	// What restartStalled looks at.
	added    time.Time // when the pacer first heard of the conn
	choked   bool      // the peer chokes the node
	lastSent time.Time // the last request made of it
	lastData time.Time // the last useful block it sent
	rejects  int       // requests it rejected
}

// handshake notes the queue the peer allows, before anacrolix takes it.
func (pc *pacer) handshake(c *torrent.PeerConn, reqq int) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	p := pc.conn(c)
	if reqq > 0 {
		p.reqq = reqq
	}
}

func (pc *pacer) conn(c *torrent.PeerConn) *pace {
	if pc.conns == nil {
		pc.conns = make(map[*torrent.PeerConn]*pace)
	}
	p := pc.conns[c]
	if p == nil {
		// anacrolix's default until the peer says.
		now := time.Now()
		p = &pace{reqq: c.PeerMaxRequests, since: now, added: now, choked: true}
		pc.conns[c] = p
	}
	return p
}

// received measures the conn's rate and sets the queue anacrolix keeps
// for it: queueTime of it, within what the peer allows.
func (pc *pacer) received(e torrent.ReceivedUsefulDataEvent) {
	c, ok := e.Peer.TryAsPeerConn()
	if !ok {
		return
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	p := pc.conn(c)
	p.bytes += int64(len(e.Message.Piece))
	now := time.Now()
	p.lastData = now
	if d := now.Sub(p.since); d >= 250*time.Millisecond {
		r := float64(p.bytes) / d.Seconds()
		p.rate = cmp.Or(p.rate*0.5+r*0.5, r)
		p.bytes, p.since = 0, now
	}
	c.PeerMaxRequests = min(p.reqq, max(minQueue, int(p.rate*queueTime.Seconds())/blockBytes))
}

// closed forgets a conn.
func (pc *pacer) closed(c *torrent.PeerConn) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	delete(pc.conns, c)
}
