package signaling

import (
	"errors"

	"github.com/seedcast/seedcast/infohash"
)

// LocalConn is an in-process connection to the tracker, for the node of
// the same process: it speaks the WebSocket protocol's messages without a
// socket, and its peers are preferred recipients of every offer.
type LocalConn struct {
	s *socket
}

// ErrClosed is returned by a LocalConn after it closed or its Server's Run
// ended, and by ConnectLocal after Run ended.
var ErrClosed = errors.New("signaling: closed")

// ConnectLocal connects the node of this process. recv receives every
// message the tracker sends it, in order, from one goroutine; it must
// return promptly once Done is closed, for Run waits for it. joined, if
// not nil, hears of each peer that newly joins a swarm the node announced
// in without offers of its own, and of the host it announced from, so that
// the node can offer to it without waiting for its next announce; it must
// not block.
func (srv *Server) ConnectLocal(recv func(msg []byte), joined func(ih infohash.Hash, peer ID, host string)) (*LocalConn, error) {
	s := srv.newSocket("local")
	s.local = true
	s.recv = recv
	s.joined = joined
	if s.joined == nil {
		s.joined = func(infohash.Hash, ID, string) {}
	}
	if !srv.register(s, 1) {
		return nil, ErrClosed
	}
	go s.localPump()
	return &LocalConn{s: s}, nil
}

// Send hands the tracker one message, as if read from a WebSocket.
func (lc *LocalConn) Send(msg []byte) error {
	lc.s.readMu.Lock()
	defer lc.s.readMu.Unlock()
	select {
	case <-lc.s.done:
		return ErrClosed
	default:
	}
	if len(msg) > maxMsgBytes {
		return errors.New("signaling: message over 64 KiB")
	}
	lc.s.srv.stats.WSMessages.Add(1)
	lc.s.srv.handleWS(lc.s, msg)
	return nil
}

// Done is closed when the connection is closed.
func (lc *LocalConn) Done() <-chan struct{} { return lc.s.done }

// SendOffer relays one offer of the node straight to peer to, for a peer
// that just joined. It reports whether the offer was queued for to; it is
// not once the connection is closed.
func (lc *LocalConn) SendOffer(ih infohash.Hash, from, to, offerID ID, sdp []byte) bool {
	select {
	case <-lc.s.done:
		return false
	default:
	}
	var dst *socket
	lc.s.srv.withSwarm(ih, false, func(sw *swarm) {
		if p := sw.ws[to]; p != nil {
			dst = p.sock
		}
	})
	if dst == nil {
		return false
	}
	if dst.enqueue(relayMessage("offer", sdp, offerID, from, ID(ih))) {
		lc.s.srv.stats.OffersRelay.Add(1)
		return true
	}
	lc.s.srv.stats.OffersDropped.Add(1)
	return false
}

// Close removes the node's peers from their swarms. It does not wait for
// recv to return; Run does, when it ends.
func (lc *LocalConn) Close() error {
	lc.s.close()
	return nil
}

// localPump removes the local socket's peers once it closes.
func (s *socket) localPump() {
	defer s.srv.wg.Done()
	<-s.done
	s.finish()
}

// localWriter hands the queue to recv until it is empty, as writer does
// to a WebSocket.
func (s *socket) localWriter() {
	defer s.srv.wg.Done()
	for {
		_, msgs := s.next() // a local socket has no partial frame
		if len(msgs) == 0 {
			return
		}
		for _, m := range msgs {
			if !s.closed() && m.op == frameText {
				s.recv(m.b)
			}
		}
	}
}
