package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"

	"github.com/anacrolix/torrent/metainfo"
	pion "github.com/pion/webrtc/v4"

	"github.com/seedcast/seedcast/infohash"
	"github.com/seedcast/seedcast/signaling"
	"github.com/seedcast/seedcast/swarm"
	"github.com/seedcast/seedcast/webrtc"
)

// rtcPeer connects the tracker client to the WebRTC transport and the
// swarm: it is the signaling.Peer of the node.
type rtcPeer struct {
	tr  *webrtc.Transport
	sw  *swarm.Swarm
	log *slog.Logger
}

// errConnected is why the node declines a second channel to one peer:
// WebTorrent would destroy it as a duplicate anyway.
var errConnected = errors.New("already connected to that peer")

// seedcastPeer reports whether id is another seedcast node's: it waits
// for the offerer to send the BitTorrent handshake, where a browser sends
// its own the moment the channel opens.
func seedcastPeer(id signaling.ID) bool { return bytes.HasPrefix(id[:], []byte("-SC")) }

func (p *rtcPeer) torrent(ih infohash.Hash) (*swarm.Torrent, error) {
	t, ok := p.sw.Torrent(metainfo.Hash(ih))
	if !ok {
		return nil, fmt.Errorf("no torrent %s", ih)
	}
	return t, nil
}

func (p *rtcPeer) Offer(ctx context.Context, ih infohash.Hash) (signaling.PendingOffer, error) {
	if _, err := p.torrent(ih); err != nil {
		return nil, err
	}
	o, err := p.tr.NewOffer(ctx)
	if err != nil {
		return nil, err
	}
	return &rtcOffer{p: p, o: o, ih: ih}, nil
}

func (p *rtcPeer) Answer(ctx context.Context, ih infohash.Hash, from signaling.ID, sdp string) (string, error) {
	t, err := p.torrent(ih)
	if err != nil {
		return "", err
	}
	if t.HasPeer(from) {
		return "", errConnected
	}
	return p.tr.Answer(ctx, sdp)
}

type rtcOffer struct {
	p  *rtcPeer
	o  *webrtc.Offer
	ih infohash.Hash
}

func (o *rtcOffer) SDP() string { return o.o.SDP() }
func (o *rtcOffer) Close()      { o.o.Close() }

func (o *rtcOffer) Answered(ctx context.Context, from signaling.ID, sdp string) {
	t, err := o.p.torrent(o.ih)
	if err != nil || t.HasPeer(from) {
		o.o.Close()
		return
	}
	c, err := o.o.Accept(ctx, sdp)
	if err != nil {
		o.p.log.Debug("offered channel failed", "infohash", o.ih, "peer_id", from, "err", err)
		return
	}
	addr, ok := o.p.tr.Deliver(c, !seedcastPeer(from))
	if !ok {
		c.Close()
		return
	}
	if addr != "" {
		o.p.sw.AddPeer(metainfo.Hash(o.ih), addr)
	}
}

// announces returns the torrents to announce to tracker, or every torrent
// for the node's own tracker (tracker == "").
func announces(sw *swarm.Swarm, tracker string) func() []signaling.Announce {
	return func() []signaling.Announce {
		var out []signaling.Announce
		for _, t := range sw.Torrents() {
			if tracker != "" && !slices.Contains(t.Trackers(), tracker) {
				continue
			}
			st := t.Stats()
			a := signaling.Announce{InfoHash: infohash.Hash(t.InfoHash()), Left: t.Left()}
			for _, tr := range st.Transports {
				a.Uploaded += tr.BytesOut
				a.Downloaded += tr.BytesIn
			}
			out = append(out, a)
		}
		return out
	}
}

// wsTrackers returns the WebSocket trackers of the swarm's torrents.
func wsTrackers(sw *swarm.Swarm) []string {
	var out []string
	for _, t := range sw.Torrents() {
		for _, u := range t.Trackers() {
			if (strings.HasPrefix(u, "ws://") || strings.HasPrefix(u, "wss://")) && !slices.Contains(out, u) {
				out = append(out, u)
			}
		}
	}
	return out
}

// parseICEServer reads a STUN or TURN server: stun:host:port, or
// turn(s)://user:password@host:port?transport=udp|tcp for TURN with its
// credentials.
func parseICEServer(s string) (pion.ICEServer, error) {
	bad := fmt.Errorf("--ice-server %q: want stun:HOST:PORT or turn://USER:PASSWORD@HOST:PORT", s)
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok {
		return pion.ICEServer{}, bad
	}
	switch scheme {
	case "stun", "stuns":
		return pion.ICEServer{URLs: []string{s}}, nil
	case "turn", "turns":
	default:
		return pion.ICEServer{}, bad
	}
	if !strings.HasPrefix(rest, "//") {
		return pion.ICEServer{URLs: []string{s}}, nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return pion.ICEServer{}, bad
	}
	srv := pion.ICEServer{URLs: []string{scheme + ":" + u.Host}}
	if u.RawQuery != "" {
		srv.URLs[0] += "?" + u.RawQuery
	}
	if u.User != nil {
		srv.Username = u.User.Username()
		srv.Credential, _ = u.User.Password()
	}
	return srv, nil
}
