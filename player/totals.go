package player

import (
	"sync/atomic"

	"github.com/seedcast/seedcast/infohash"
)

// openResponses counts the responses being written now, per route.
type openResponses struct {
	stream, webseed atomic.Int64
}

// HTTPTotals are what the node serves over HTTP, over every torrent.
type HTTPTotals struct {
	// StreamBytes and WebSeedBytes are the body bytes written by /stream
	// and /webseed since the server started, those of torrents removed
	// since included: they only grow.
	StreamBytes, WebSeedBytes int64
	// Streams and WebSeeds are the /stream and /webseed responses being
	// written now. Each open /stream response is a viewer playing, or a
	// download.
	Streams, WebSeeds int
}

// HTTPTotals returns the server's HTTP figures now.
func (p *Server) HTTPTotals() HTTPTotals {
	h := HTTPTotals{Streams: int(p.open.stream.Load()), WebSeeds: int(p.open.webseed.Load())}
	p.servedMu.Lock()
	defer p.servedMu.Unlock()
	// A torrent's counters stay in served when it is removed, so that
	// these sums never go down; one entry per torrent ever served.
	for _, c := range p.served {
		h.StreamBytes += c.stream.Load()
		h.WebSeedBytes += c.webseed.Load()
	}
	return h
}

// Describe returns the JSON value of torrent ih that GET
// /api/torrents/{infohash} answers with, and false if the node has no
// such torrent.
func (p *Server) Describe(ih infohash.Hash) (any, bool) {
	t, ok := p.torrent(ih)
	if !ok {
		return nil, false
	}
	return p.describe(t), true
}
