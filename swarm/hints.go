package swarm

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/anacrolix/torrent"

	"github.com/seedcast/seedcast/infohash"
)

// A magnet's x.pe parameters (BEP 9) name peers to dial as host:port.
// anacrolix v1.59.1 dials each once as the magnet is added (MergeSpec adds
// it to the torrent's peers, and a failed dial forgets it), so a hinted
// seeder that starts a moment after the node was never reached. The swarm
// takes the hints out of the spec and dials them itself, again and again,
// until the torrent's info has come.
const (
	// maxPeerHints bounds the hints of one magnet the node dials; more
	// are dropped, as no seeder needs a long list to be found.
	maxPeerHints = 16
	// firstHintRetry and maxHintRetry bound the wait between two rounds
	// of dials to the hints: 1 s, doubling up to a minute, so that a
	// seeder starting seconds later is found within seconds and one that
	// never comes costs a few dials a minute.
	firstHintRetry = time.Second
	maxHintRetry   = time.Minute
	// hintLookupTimeout bounds the lookup of a hint given by host name.
	hintLookupTimeout = 5 * time.Second
)

// hintRetry returns how long to wait after round n (from 0) of dials to
// the hints before the next.
func hintRetry(n int) time.Duration {
	d := firstHintRetry
	for range n {
		if d *= 2; d >= maxHintRetry {
			return maxHintRetry
		}
	}
	return d
}

// peerHint is one x.pe of a magnet: an address, or a host name looked up
// at each round.
type peerHint struct {
	addr netip.AddrPort // valid for an IP address
	host string         // a name, with port
	port uint16
}

func (h peerHint) String() string {
	if h.addr.IsValid() {
		return h.addr.String()
	}
	return net.JoinHostPort(h.host, strconv.Itoa(int(h.port)))
}

// parsePeerHints reads x.pe values: host:port, ipv4:port or [ipv6]:port.
// It returns the first maxPeerHints good ones, each once, and the values
// it could not read or dropped, each with why.
func parsePeerHints(values []string) (hints []peerHint, bad []string) {
	for _, v := range values {
		host, portText, err := net.SplitHostPort(v)
		port, perr := strconv.ParseUint(portText, 10, 16)
		switch {
		case err != nil || host == "":
			bad = append(bad, fmt.Sprintf("%q: not host:port", short(v)))
			continue
		case perr != nil || port == 0:
			bad = append(bad, fmt.Sprintf("%q: bad port", short(v)))
			continue
		}
		var h peerHint
		if ip, err := netip.ParseAddr(host); err == nil {
			h.addr = netip.AddrPortFrom(ip.Unmap(), uint16(port))
		} else {
			h.host, h.port = host, uint16(port)
		}
		dup := false
		for _, have := range hints {
			dup = dup || have == h
		}
		switch {
		case dup:
		case len(hints) == maxPeerHints:
			bad = append(bad, fmt.Sprintf("%q: over %d hints", short(v), maxPeerHints))
		default:
			hints = append(hints, h)
		}
	}
	return hints, bad
}

// mayDial reports whether the node dials a peer at addr that it was told
// of by a tracker's client or a magnet, and if not why: never port 0, an
// unspecified or multicast address, nor (unless Config.DialLoopback) a
// loopback or link-local one, which would let whoever writes the address
// probe the node's own host.
func (s *Swarm) mayDial(addr netip.AddrPort) (ok bool, why string) {
	ip := addr.Addr()
	switch {
	case addr.Port() == 0:
		return false, "port 0"
	case ip.IsUnspecified(), ip.IsMulticast():
		return false, "not a peer's address"
	case (ip.IsLoopback() || ip.IsLinkLocalUnicast()) && !s.cfg.DialLoopback:
		return false, "a loopback or link-local address, which this node dials only when its public URL is on loopback"
	}
	return true, ""
}

// dialHints dials the peer hints of t, a magnet, at once and then after
// hintRetry of each round, until t's info has come, t is dropped or the
// swarm stops. A hint the node may not dial is logged once and left; each
// dial takes a token of the dial-back limiter, so hints dial no faster than
// a tracker's leechers do.
func (s *Swarm) dialHints(t *torrent.Torrent, hints []peerHint) {
	ih := infohash.Hash(t.InfoHash())
	refused := make(map[netip.AddrPort]bool)
	for round := 0; ; round++ {
		var peers []torrent.PeerInfo
		named := false // a hint by name may have other addresses next round
		for _, h := range hints {
			named = named || h.host != ""
			for _, addr := range s.resolveHint(h) {
				if ok, why := s.mayDial(addr); !ok {
					if !refused[addr] {
						refused[addr] = true
						s.log.Warn("peer hint not dialled", "infohash", ih, "hint", h.String(), "addr", addr, "why", why)
					}
					continue
				}
				if !s.dialBack.Allow() {
					continue // the next round tries again
				}
				peers = append(peers, torrent.PeerInfo{Addr: addr, Source: torrent.PeerSourceDirect})
			}
		}
		if len(peers) > 0 {
			// anacrolix skips an address it is connected or connecting to.
			t.AddPeers(peers)
			s.log.Debug("dialling peer hints", "infohash", ih, "peers", len(peers), "round", round)
		}
		if !named && len(refused) == len(hints) {
			return // the node may dial none of them
		}
		wait := time.NewTimer(hintRetry(round))
		select {
		case <-t.GotInfo():
		case <-t.Closed():
		case <-s.quit:
		case <-wait.C:
			continue
		}
		wait.Stop()
		return
	}
}

// resolveHint returns the addresses of h: its own, or those its host name
// has now (none if the lookup fails, logged at Debug).
func (s *Swarm) resolveHint(h peerHint) []netip.AddrPort {
	if h.addr.IsValid() {
		return []netip.AddrPort{h.addr}
	}
	ctx, cancel := context.WithTimeout(context.Background(), hintLookupTimeout)
	defer cancel()
	go func() {
		select {
		case <-s.quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", h.host)
	if err != nil {
		s.log.Debug("peer hint not found", "hint", h.String(), "err", err)
		return nil
	}
	var out []netip.AddrPort
	for _, ip := range ips {
		out = append(out, netip.AddrPortFrom(ip.Unmap(), h.port))
	}
	return out
}
