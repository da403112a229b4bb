package swarm

import (
	"context"
	"errors"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/seedcast/seedcast/infohash"
)

// Torrent is one torrent of the swarm.
type Torrent struct {
	s        *Swarm
	t        *torrent.Torrent
	ih       infohash.Hash
	trackers []string // from the .torrent or magnet it was added by
	webseeds []string
	origin   origin // what it was added from, for Keep
	added    time.Time

	// gone holds the bytes of closed peer conns per transport, so that
	// the totals do not drop when a peer leaves.
	goneMu sync.Mutex
	gone   map[string]TransportStats

	ssOnce sync.Once
	ss     *superSeed // made when the first browser peer comes to a seed

	wants wants // where viewers play, and what that fetches first
	stall stall // restartStalled's
}

// superSeed returns the torrent's super-seeding state if the node has
// every piece, nil otherwise (a node still fetching announces what it has).
func (t *Torrent) superSeed() *superSeed {
	if !t.Seeding() {
		return nil
	}
	t.ssOnce.Do(func() {
		t.ss = newSuperSeed(t.t.NumPieces(), t.t.Info().PieceLength)
	})
	return t.ss
}

// InfoHash returns the v1 info hash.
func (t *Torrent) InfoHash() infohash.Hash { return t.ih }

// Name returns the torrent's name, or its info hash until the info is known.
func (t *Torrent) Name() string { return t.t.Name() }

// haveInfo reports whether the info is known. It waits on GotInfo, not
// on Info() != nil: anacrolix sets the info before its files, and reading
// Files between the two races (GotInfo closes after both).
func (t *Torrent) haveInfo() bool {
	select {
	case <-t.t.GotInfo():
		return true
	default:
		return false
	}
}

// GotInfo is closed once the torrent's info is known.
func (t *Torrent) GotInfo() <-chan struct{} { return t.t.GotInfo() }

// File is one file of a torrent.
type File struct {
	// Path is slash-separated and starts with the torrent's name for
	// multi-file torrents.
	Path   string `json:"path"`
	Length int64  `json:"length"`
}

// Files returns the torrent's files, nil until the info is known.
func (t *Torrent) Files() []File {
	if !t.haveInfo() {
		return nil
	}
	var out []File
	for _, f := range t.t.Files() {
		out = append(out, File{Path: f.Path(), Length: f.Length()})
	}
	return out
}

// Length returns the total length in bytes, 0 until the info is known.
func (t *Torrent) Length() int64 {
	if !t.haveInfo() {
		return 0
	}
	return t.t.Length()
}

// Announce returns the announce-list the node serves for t: the node's
// own tracker first, then the rest.
func (t *Torrent) Announce() [][]string {
	tiers := [][]string{slices.Clone(t.s.cfg.Announce)}
	var rest []string
	for _, u := range slices.Concat(t.trackers, t.s.cfg.Trackers) {
		if !slices.Contains(tiers[0], u) && !slices.Contains(rest, u) {
			rest = append(rest, u)
		}
	}
	if len(rest) > 0 {
		tiers = append(tiers, rest)
	}
	if len(tiers[0]) == 0 {
		tiers = tiers[1:]
	}
	return tiers
}

// WebSeeds returns the url-list the node serves for t.
func (t *Torrent) WebSeeds() []string {
	var out []string
	if b := t.s.cfg.WebSeedBase; b != "" {
		out = append(out, b+t.ih.String()+"/")
	}
	return append(out, t.webseeds...)
}

// Metainfo returns the .torrent the node serves for t, with its current
// trackers and web seeds, or false until the info is known.
func (t *Torrent) Metainfo() (*metainfo.MetaInfo, bool) {
	if !t.haveInfo() {
		return nil, false
	}
	mi := t.t.Metainfo()
	// anacrolix makes an empty map for a v1 torrent, which bencode leaves
	// out but AddMetainfo of this value would take for missing v2 layers.
	if len(mi.PieceLayers) == 0 {
		mi.PieceLayers = nil
	}
	tiers := t.Announce()
	mi.AnnounceList = tiers
	mi.Announce = ""
	if len(tiers) > 0 {
		// BEP 12 clients read announce-list; announce is for the rest.
		mi.Announce = tiers[0][0]
		for _, u := range slices.Concat(tiers...) {
			if strings.HasPrefix(u, "http") {
				mi.Announce = u
				break
			}
		}
	}
	mi.UrlList = t.WebSeeds()
	mi.CreatedBy = "seedcast"
	return &mi, true
}

// Magnet returns a magnet link naming the node's trackers and web seed.
func (t *Torrent) Magnet() string {
	m := metainfo.Magnet{InfoHash: metainfo.Hash(t.ih), DisplayName: t.Name(), Trackers: slices.Concat(t.Announce()...)}
	if ws := t.WebSeeds(); len(ws) > 0 {
		m.Params = map[string][]string{"ws": ws}
	}
	return m.String()
}

// Seeding reports whether the node has every piece, verified. It is not
// BytesMissing() == 0, which anacrolix reaches once every block is
// written, before the last pieces are hashed and their completion kept.
func (t *Torrent) Seeding() bool {
	return t.haveInfo() && t.t.Complete().Bool()
}

// Stats are a torrent's progress and per-transport figures.
type Stats struct {
	BytesCompleted int64                     `json:"bytes_completed"`
	Progress       float64                   `json:"progress"`
	Seeding        bool                      `json:"seeding"`
	Transports     map[string]TransportStats `json:"transports"`
	// WaitingForInfo is set while the torrent's info has not come (a
	// magnet looking for peers).
	WaitingForInfo bool `json:"waiting_for_info"`
	// InfoWaitSeconds is how long the node has waited for the torrent's
	// info, while it has not come; 0 once it has.
	InfoWaitSeconds float64 `json:"info_wait_seconds"`
	// WaitingSince is when the node began to wait for the info, while it
	// has not come.
	WaitingSince time.Time `json:"waiting_since,omitzero"`
	// PeersFound is the peers the node knows of for the torrent:
	// connected, being dialled, and found (by trackers, the DHT, peer
	// exchange or the magnet's hints) and waiting to be dialled.
	PeersFound int `json:"peers_found"`
}

// TransportStats counts the peers connected over one transport, and the
// payload bytes moved over it by every peer, connected now or before.
type TransportStats struct {
	Peers    int   `json:"peers"`
	BytesIn  int64 `json:"bytes_in"`
	BytesOut int64 `json:"bytes_out"`
}

// Transports named in Stats.
var transports = []string{"tcp", "utp", "webrtc"}

// Stats returns t's figures now.
func (t *Torrent) Stats() Stats {
	st := Stats{Transports: make(map[string]TransportStats)}
	for _, name := range transports {
		st.Transports[name] = TransportStats{}
	}
	t.goneMu.Lock()
	maps.Copy(st.Transports, t.gone)
	t.goneMu.Unlock()
	if t.haveInfo() {
		st.BytesCompleted = t.t.BytesCompleted()
		if n := t.t.Length(); n > 0 {
			st.Progress = float64(st.BytesCompleted) / float64(n)
		}
		st.Seeding = t.Seeding()
	} else {
		st.WaitingForInfo = true
		st.InfoWaitSeconds = time.Since(t.added).Seconds()
		st.WaitingSince = t.added.UTC().Truncate(time.Millisecond)
	}
	st.PeersFound = t.PeersFound()
	for _, pc := range t.t.PeerConns() {
		name := transportName(pc.Network)
		ps := pc.Stats()
		ts := st.Transports[name]
		ts.Peers++
		ts.BytesIn += ps.BytesReadData.Int64()
		ts.BytesOut += ps.BytesWrittenData.Int64()
		st.Transports[name] = ts
	}
	return st
}

// addGone adds the figures of a closed conn over transport to t's totals.
func (t *Torrent) addGone(transport string, ps torrent.PeerStats) {
	t.goneMu.Lock()
	defer t.goneMu.Unlock()
	if t.gone == nil {
		t.gone = make(map[string]TransportStats)
	}
	ts := t.gone[transport]
	ts.BytesIn += ps.BytesReadData.Int64()
	ts.BytesOut += ps.BytesWrittenData.Int64()
	t.gone[transport] = ts
}

// transportName maps anacrolix's network names to ours.
func transportName(network string) string {
	switch {
	case strings.HasPrefix(network, "tcp"):
		return "tcp"
	case strings.HasPrefix(network, "udp"), strings.HasPrefix(network, "utp"):
		return "utp"
	}
	return network
}

// ErrNoFile is returned for a file index out of range or a torrent without
// its info yet.
var ErrNoFile = errors.New("swarm: no such file")

// FileReader reads one file of a torrent. Reads wait for verified pieces,
// and the pieces from the read position to the readahead are fetched
// first, in order; a seek moves that window at once.
type FileReader interface {
	io.ReadSeekCloser
	// SetContext ends waiting reads when ctx is done.
	SetContext(ctx context.Context)
	// SetReadahead sets how many bytes past the read position to fetch
	// with priority.
	SetReadahead(n int64)
}

// OpenFile returns a reader of file i. The caller closes it.
func (t *Torrent) OpenFile(i int) (FileReader, error) {
	if !t.haveInfo() {
		return nil, ErrNoFile
	}
	files := t.t.Files()
	if i < 0 || i >= len(files) {
		return nil, ErrNoFile
	}
	return files[i].NewReader(), nil
}

// FileIndex returns the index of the file whose Path is path.
func (t *Torrent) FileIndex(path string) (int, bool) {
	for i, f := range t.Files() {
		if f.Path == path {
			return i, true
		}
	}
	return 0, false
}

// FileComplete reports whether every piece of file i is verified.
func (t *Torrent) FileComplete(i int) bool {
	if !t.haveInfo() {
		return false
	}
	files := t.t.Files()
	if i < 0 || i >= len(files) {
		return false
	}
	return files[i].BytesCompleted() == files[i].Length()
}

// HasPeer reports whether a peer with id is connected to t.
func (t *Torrent) HasPeer(id [20]byte) bool {
	for _, pc := range t.t.PeerConns() {
		if pc.PeerID == id {
			return true
		}
	}
	return false
}

// Trackers returns the trackers t was added with, for the client to
// announce to, less the node's own.
func (t *Torrent) Trackers() []string { return t.s.announceTo(t.trackers) }

// Left returns the bytes t still needs, or -1 until its info is known.
func (t *Torrent) Left() int64 {
	if !t.haveInfo() {
		return -1
	}
	return t.t.BytesMissing()
}

// InfoWait returns how long the node has waited for t's info, while it
// has not come (a magnet); 0 once it has.
func (t *Torrent) InfoWait() time.Duration {
	if t.haveInfo() {
		return 0
	}
	return time.Since(t.added)
}

// Peers returns the number of peers connected to t, over every transport.
func (t *Torrent) Peers() int { return len(t.t.PeerConns()) }

// PeersFound returns the number of peers the node knows of for t:
// connected, being dialled, or waiting to be dialled.
func (t *Torrent) PeersFound() int { return t.t.Stats().TotalPeers }
