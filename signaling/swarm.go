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
	mu    sync.Mutex
	ws    map[ID]*wsPeer
	local map[ID]struct{} // peers of ws on a local socket
	http  map[netip.AddrPort]*httpPeer
	// httpPerIP counts the HTTP peers of each IP, for maxHTTPPeersPerIP.
	httpPerIP map[netip.Addr]int
	// seeders counts the complete peers of ws and http, so that an
	// announce need not count them all.
	seeders   int
	completed int       // "downloaded" in scrapes: completed events seen
	last      time.Time // of the last announce
}

// maxHTTPPeersPerIP bounds the HTTP peers (ports) one IP may have in a
// swarm: a household behind one NAT has a few, and 65 535 from one
// address only make every announce slower.
const maxHTTPPeersPerIP = 8

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
	return &swarm{ws: make(map[ID]*wsPeer), local: make(map[ID]struct{}),
		http: make(map[netip.AddrPort]*httpPeer), httpPerIP: make(map[netip.Addr]int)}
}

// counts returns the seeders and leechers of both kinds.
func (sw *swarm) counts() (complete, incomplete int) {
	return sw.seeders, len(sw.ws) + len(sw.http) - sw.seeders
}

// setComplete sets a peer's complete flag, keeping the count.
func (sw *swarm) setComplete(flag *bool, complete bool) {
	if *flag != complete {
		*flag = complete
		if complete {
			sw.seeders++
		} else {
			sw.seeders--
		}
	}
}

// addHTTP returns the HTTP peer at ap, added if new; nil if its IP has
// maxHTTPPeersPerIP already.
func (sw *swarm) addHTTP(ap netip.AddrPort) *httpPeer {
	if p := sw.http[ap]; p != nil {
		return p
	}
	if sw.httpPerIP[ap.Addr()] >= maxHTTPPeersPerIP {
		return nil
	}
	p := &httpPeer{}
	sw.http[ap] = p
	sw.httpPerIP[ap.Addr()]++
	return p
}

// delHTTP removes the HTTP peer at ap, if any.
func (sw *swarm) delHTTP(ap netip.AddrPort) {
	p := sw.http[ap]
	if p == nil {
		return
	}
	sw.setComplete(&p.complete, false)
	delete(sw.http, ap)
	if sw.httpPerIP[ap.Addr()]--; sw.httpPerIP[ap.Addr()] <= 0 {
		delete(sw.httpPerIP, ap.Addr())
	}
}

// delWS removes the WebSocket peer id, if any.
func (sw *swarm) delWS(id ID) {
	p := sw.ws[id]
	if p == nil {
		return
	}
	sw.setComplete(&p.complete, false)
	delete(sw.ws, id)
	delete(sw.local, id)
}

func (sw *swarm) empty() bool { return len(sw.ws) == 0 && len(sw.http) == 0 }

// sample returns up to n keys of m other than skip, at random, in random
// order. It reads at most n+1 keys: a range over a map starts at a random
// place, so the keys that follow are a random run of the hashed keys,
// and a swarm of many peers costs an announce no more than a small one.
func sample[K comparable, V any](m map[K]V, skip K, n int) []K {
	if n <= 0 {
		return nil
	}
	picked := make([]K, 0, min(n, len(m)))
	for k := range m {
		if len(picked) == n {
			break
		}
		if k != skip {
			picked = append(picked, k)
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
			sw.delWS(id)
		}
	}
	for ap, p := range sw.http {
		if p.seen.Before(httpBefore) {
			sw.delHTTP(ap)
		}
	}
}
