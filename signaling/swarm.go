package signaling

import (
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"
)

// swarm is the tracker's state for one info hash. WebSocket and HTTP peers
// live apart and are never listed to each other, as in bittorrent-tracker:
// a browser cannot dial a TCP peer, nor a native client a WebRTC one.
type swarm struct {
	mu        sync.Mutex
	ws        map[ID]*wsPeer
	local     map[ID]struct{} // peers of ws on a local socket
	http      map[netip.AddrPort]*httpPeer
	completed int       // "downloaded" in scrapes: completed events seen
	last      time.Time // of the last announce
}

type wsPeer struct {
	sock     *socket
	complete bool
	seen     time.Time
}

type httpPeer struct {
	id       ID
	complete bool
	seen     time.Time
}

func newSwarm() *swarm {
	return &swarm{ws: make(map[ID]*wsPeer), local: make(map[ID]struct{}), http: make(map[netip.AddrPort]*httpPeer)}
}

// counts returns the seeders and leechers of both kinds.
func (sw *swarm) counts() (complete, incomplete int) {
	for _, p := range sw.ws {
		if p.complete {
			complete++
		} else {
			incomplete++
		}
	}
	for _, p := range sw.http {
		if p.complete {
			complete++
		} else {
			incomplete++
		}
	}
	return complete, incomplete
}

func (sw *swarm) empty() bool { return len(sw.ws) == 0 && len(sw.http) == 0 }

// sample returns up to n keys of m other than skip, chosen uniformly at
// random by reservoir sampling (one pass, no copy of the map), in random
// order.
func sample[K comparable, V any](m map[K]V, skip K, n int) []K {
	if n <= 0 {
		return nil
	}
	picked := make([]K, 0, min(n, len(m)))
	seen := 0
	for k := range m {
		if k == skip {
			continue
		}
		seen++
		if len(picked) < n {
			picked = append(picked, k)
		} else if j := rand.IntN(seen); j < n {
			picked[j] = k
		}
	}
	rand.Shuffle(len(picked), func(i, j int) { picked[i], picked[j] = picked[j], picked[i] })
	return picked
}

// expire removes peers not seen since before.
func (sw *swarm) expire(before time.Time, httpBefore time.Time) {
	for id, p := range sw.ws {
		// The node's own peers live as long as its local socket.
		if p.seen.Before(before) && !p.sock.local {
			delete(sw.ws, id)
		}
	}
	for ap, p := range sw.http {
		if p.seen.Before(httpBefore) {
			delete(sw.http, ap)
		}
	}
}
