package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/seedcast/seedcast/infohash"
	"github.com/seedcast/seedcast/signaling"
	"github.com/seedcast/seedcast/swarm"
	"github.com/seedcast/seedcast/webrtc"
)

// rtcPeer is the signaling.Peer of the node: the tracker client's offers
// and answers are made by the WebRTC transport, and the conns they open
// go to the swarm.
type rtcPeer struct {
	rtc *webrtc.Transport
	sw  *swarm.Swarm
	log *slog.Logger
}

var _ signaling.Peer = (*rtcPeer)(nil)

func (p *rtcPeer) torrent(ih infohash.Hash) (*swarm.Torrent, error) {
	t, ok := p.sw.Torrent(ih)
	if !ok {
		return nil, fmt.Errorf("no torrent %s", ih)
	}
	return t, nil
}

func (p *rtcPeer) Offer(ctx context.Context, ih infohash.Hash) (signaling.PendingOffer, error) {
	if _, err := p.torrent(ih); err != nil {
		return nil, err
	}
	o, err := p.rtc.NewOffer(ctx)
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
		return "", swarm.ErrConnected
	}
	return p.rtc.Answer(ctx, sdp, func(c *webrtc.Conn) { p.addConn(ih, c, from, false) })
}

// addConn hands an open channel to the swarm.
func (p *rtcPeer) addConn(ih infohash.Hash, c *webrtc.Conn, from signaling.ID, offered bool) {
	if err := p.sw.AddConn(ih, c, from, offered); err != nil {
		p.log.Debug("channel not taken", "infohash", ih, "peer_id", from, "err", err)
	}
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
	o.p.addConn(o.ih, c, from, true)
}
