package signaling

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"time"

	"github.com/seedcast/seedcast/infohash"
)

// Limits of an HTTP announce.
const (
	maxQueryBytes   = 4 << 10
	defaultNumwant  = 50
	maxNumwant      = 200
	maxHTTPScrapeIH = maxScrapeItems
)

// httpAnnounce is a validated BEP 3 announce.
type httpAnnounce struct {
	InfoHash infohash.Hash
	PeerID   ID
	Port     uint16
	Left     int64 // -1 when absent
	Event    event
	Compact  bool
	Numwant  int
}

// parseHTTPAnnounce validates the query of an HTTP announce. Every error
// reads well as a "failure reason".
func parseHTTPAnnounce(rawQuery string) (*httpAnnounce, error) {
	if len(rawQuery) > maxQueryBytes {
		return nil, fmt.Errorf("query over %d bytes", maxQueryBytes)
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, fmt.Errorf("invalid query: %v", err)
	}
	a := &httpAnnounce{Left: -1, Numwant: defaultNumwant}
	ih, err := rawID(q, "info_hash")
	if err != nil {
		return nil, err
	}
	a.InfoHash = infohash.Hash(ih)
	if a.PeerID, err = rawID(q, "peer_id"); err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(q.Get("port"), 10, 16)
	if err != nil || port == 0 {
		return nil, errors.New("invalid port: want 1 to 65535")
	}
	a.Port = uint16(port)
	if s := q.Get("left"); s != "" {
		if a.Left, err = strconv.ParseInt(s, 10, 64); err != nil || a.Left < 0 {
			return nil, errors.New("invalid left")
		}
	}
	for _, k := range []string{"uploaded", "downloaded"} {
		if s := q.Get(k); s != "" {
			if v, err := strconv.ParseInt(s, 10, 64); err != nil || v < 0 {
				return nil, fmt.Errorf("invalid %s", k)
			}
		}
	}
	a.Event = parseEvent(q.Get("event"))
	a.Compact = q.Get("compact") != "0"
	if s := q.Get("numwant"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, errors.New("invalid numwant")
		}
		a.Numwant = min(n, maxNumwant)
	}
	return a, nil
}

func rawID(q url.Values, key string) (ID, error) {
	var id ID
	vs := q[key]
	if len(vs) != 1 || len(vs[0]) != len(id) {
		return id, fmt.Errorf("invalid %s: want 20 bytes", key)
	}
	copy(id[:], vs[0])
	return id, nil
}

// httpFailure is the reply to an announce or scrape the tracker refuses.
func httpFailure(reason string) bdict { return bdict{"failure reason": reason} }

func (srv *Server) serveHTTPAnnounce(w http.ResponseWriter, r *http.Request) {
	srv.stats.HTTPAnnounce.Add(1)
	a, err := parseHTTPAnnounce(r.URL.RawQuery)
	if err != nil {
		writeBencode(w, httpFailure(err.Error()))
		return
	}
	if !srv.allowed(a.InfoHash) {
		writeBencode(w, httpFailure(errNotTracked.Error()))
		return
	}
	remote, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		writeBencode(w, httpFailure("cannot tell your address"))
		return
	}
	self := netip.AddrPortFrom(remote.Addr().Unmap(), a.Port)
	var picked []netip.AddrPort
	var complete, incomplete int
	tooMany := false
	nodeIn := false // the node is a peer of the swarm already, over its local socket
	now := time.Now()
	if a.Event == eventStopped {
		srv.withSwarm(a.InfoHash, false, func(sw *swarm) {
			sw.delHTTP(self)
			complete, incomplete = sw.counts()
		})
	} else if !srv.withSwarm(a.InfoHash, true, func(sw *swarm) {
		p := sw.addHTTP(self)
		if p == nil {
			tooMany = true
			return
		}
		p.id, p.seen = a.PeerID, now
		if a.Event == eventCompleted {
			sw.completed++
		}
		sw.setComplete(&p.complete, a.Left == 0 || a.Event == eventCompleted)
		picked = sample(sw.http, self, a.Numwant)
		complete, incomplete = sw.counts()
		nodeIn = len(sw.local) > 0
	}) {
		writeBencode(w, httpFailure(errTrackerFull.Error()))
		return
	}
	if tooMany {
		writeBencode(w, httpFailure(errTooManyFromIP.Error()))
		return
	}

	// The node of this process comes first: it is the one peer sure to
	// have every piece.
	if srv.cfg.Node != nil && a.Event != eventStopped && a.Numwant > 0 {
		local := localAddr(r)
		if node, seeding, ok := srv.cfg.Node.TCPPeer(a.InfoHash, local); ok && node != self {
			if seeding && a.Left != 0 {
				srv.cfg.Node.Leecher(a.InfoHash, self)
			}
			picked = append([]netip.AddrPort{node}, picked...)
			if len(picked) > a.Numwant {
				picked = picked[:a.Numwant]
			}
			switch {
			case nodeIn: // counted in its swarm
			case seeding:
				complete++
			default:
				incomplete++
			}
		}
	}

	reply := bdict{
		"interval":     int(srv.cfg.HTTPInterval / time.Second),
		"min interval": int(srv.cfg.HTTPInterval / time.Second / 5),
		"complete":     complete,
		"incomplete":   incomplete,
	}
	if a.Compact {
		v4, v6 := compactPeers(picked)
		reply["peers"] = v4
		if len(v6) > 0 {
			reply["peers6"] = v6
		}
	} else {
		// BEP 3's original form: a list of dictionaries, without "peer
		// id", which the node's own entry has none of.
		list := make(blist, 0, len(picked))
		for _, ap := range picked {
			list = append(list, bdict{"ip": ap.Addr().String(), "port": int(ap.Port())})
		}
		reply["peers"] = list
	}
	writeBencode(w, reply)
}

// compactPeers encodes peers as BEP 23 (IPv4, 6 bytes each) and BEP 7
// (IPv6, 18 bytes each) strings: the address, then the port big-endian.
func compactPeers(peers []netip.AddrPort) (v4, v6 []byte) {
	v4 = []byte{} // "peers" is present even when empty
	for _, ap := range peers {
		a, port := ap.Addr().Unmap(), ap.Port()
		if a.Is4() {
			v4 = append(v4, a.AsSlice()...)
			v4 = append(v4, byte(port>>8), byte(port))
		} else {
			v6 = append(v6, a.AsSlice()...)
			v6 = append(v6, byte(port>>8), byte(port))
		}
	}
	return v4, v6
}

// localAddr is the tracker's end of the request's connection.
func localAddr(r *http.Request) netip.Addr {
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ap, err := netip.ParseAddrPort(a.String()); err == nil {
			return ap.Addr().Unmap()
		}
	}
	return netip.Addr{}
}

// serveScrape serves an HTTP scrape (BEP 48): counts for each info_hash
// given, or for every swarm when none is.
func (srv *Server) serveScrape(w http.ResponseWriter, r *http.Request) {
	if len(r.URL.RawQuery) > maxQueryBytes {
		writeBencode(w, httpFailure("query too long"))
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeBencode(w, httpFailure("invalid query"))
		return
	}
	vs := q["info_hash"]
	if len(vs) > maxHTTPScrapeIH {
		writeBencode(w, httpFailure(fmt.Sprintf("at most %d info hashes", maxHTTPScrapeIH)))
		return
	}
	var ihs []infohash.Hash // nil: every swarm
	for _, v := range vs {
		var ih infohash.Hash
		if len(v) != len(ih) {
			writeBencode(w, httpFailure("invalid info_hash: want 20 bytes"))
			return
		}
		copy(ih[:], v)
		ihs = append(ihs, ih)
	}
	files := bdict{}
	srv.scrapeFiles(ihs, true, func(ih infohash.Hash, c, i, d int) {
		// BEP 48's keys, in lower case: clients look them up exactly.
		files[string(ih[:])] = bdict{"complete": c, "downloaded": d, "incomplete": i}
	})
	writeBencode(w, bdict{"files": files})
}

// writeBencode answers 200 with v bencoded; BEP 3 clients read a failure
// reason only from a successful response.
func writeBencode(w http.ResponseWriter, v bdict) {
	b := appendBencode(nil, v)
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b)
}
