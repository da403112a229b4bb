package swarm

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/seedcast/seedcast/infohash"
)

// Announce is one torrent's figures for a tracker announce (BEP 3).
type Announce struct {
	InfoHash infohash.Hash
	// Left is the bytes still missing, or -1 until the info is known.
	Left int64
	// Uploaded and Downloaded are payload bytes over every transport.
	Uploaded, Downloaded int64
}

// Announces returns the figures of the torrents to announce to tracker,
// or of every torrent for the node's own tracker (tracker == "").
func (s *Swarm) Announces(tracker string) []Announce {
	var out []Announce
	for _, t := range s.Torrents() {
		if tracker != "" && !slices.Contains(t.Trackers(), tracker) {
			continue
		}
		a := Announce{InfoHash: t.ih, Left: t.Left()}
		for _, ts := range t.Stats().Transports {
			a.Uploaded += ts.BytesOut
			a.Downloaded += ts.BytesIn
		}
		out = append(out, a)
	}
	return out
}

// WSTrackers returns the WebSocket trackers the swarm's torrents name,
// less the node's own, each once.
func (s *Swarm) WSTrackers() []string {
	var out []string
	for _, t := range s.Torrents() {
		for _, u := range t.Trackers() {
			if isWSTracker(u) && !slices.Contains(out, u) {
				out = append(out, u)
			}
		}
	}
	return out
}

func isWSTracker(u string) bool {
	return strings.HasPrefix(u, "ws://") || strings.HasPrefix(u, "wss://")
}

// TCPPeer returns where the node's BitTorrent listener serves ih to a
// native client that reached the tracker of this process at local (the
// tracker's end of that client's connection): Config.NATIP if set, else
// local. It reports whether the node seeds ih, and false if it has no
// such torrent.
func (s *Swarm) TCPPeer(ih infohash.Hash, local netip.Addr) (addr netip.AddrPort, seeding, ok bool) {
	t, ok := s.Torrent(ih)
	if !ok {
		return netip.AddrPort{}, false, false
	}
	ip := local
	if s.cfg.NATIP.IsValid() {
		ip = s.cfg.NATIP
	}
	return netip.AddrPortFrom(ip, uint16(s.Port())), t.Seeding(), true
}

// dialBackRate and dialBackBurst bound the dials Leecher and the peer
// hints of magnets start, whatever the HTTP tracker is told.
const (
	dialBackRate  = 10 // per second
	dialBackBurst = 20
)

// Leecher tells torrent ih of a native client still downloading it at
// addr, so that the node dials it: some clients (Transmission among them)
// never dial a peer on a loopback or martian address. The node dials as a
// tracker's client would, and no more: only addresses mayDial allows,
// and at most dialBackRate a second, shared with the dials to magnets'
// peer hints.
func (s *Swarm) Leecher(ih infohash.Hash, addr netip.AddrPort) {
	if ok, _ := s.mayDial(addr); !ok {
		return
	}
	if !s.dialBack.Allow() {
		return
	}
	s.AddPeer(ih, addr)
}
