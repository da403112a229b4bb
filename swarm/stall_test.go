package swarm

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
	pp "github.com/anacrolix/torrent/peer_protocol"

	"github.com/seedcast/seedcast/e2e/testnet"
)

// rejectingSeed is the test's end of a conn from a native seed with BEP 6
// that rejects the requests it gets in its first second, as libtorrent
// does with each request it will not serve (one that came as it choked,
// or one it was asked to cancel), and then serves every request from
// data.
type rejectingSeed struct {
	*fakeBrowser
	data     []byte
	pieceLen int64
	choking  bool         // it never unchokes the leech
	until    time.Time    // requests before it are rejected
	rejected atomic.Int64 // requests rejected
	served   atomic.Int64 // blocks sent
}

// connectRejectingSeed makes leech dial such a seed of lt, and returns it
// once they have shaken hands.
func connectRejectingSeed(t *testing.T, leech *Swarm, lt *Torrent, data []byte) *rejectingSeed {
	t.Helper()
	mi, ok := lt.Metainfo()
	if !ok {
		t.Fatal("the leech has no info")
	}
	info, err := mi.UnmarshalInfo()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	lt.t.AddPeers([]torrent.PeerInfo{{Addr: ln.Addr().(*net.TCPAddr).AddrPort(), Source: torrent.PeerSourceDirect}})
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
	var id [20]byte
	copy(id[:], "-LT2000-rejecting000")
	var bits pp.PeerExtensionBits
	bits.SetBit(pp.ExtensionBitFast, true)
	ih := metainfo.Hash(lt.InfoHash())
	for {
		// anacrolix dials with MSE first, then in the clear.
		c, err := ln.Accept()
		if err != nil {
			t.Fatalf("the leech did not dial the seed in the clear: %v", err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(c)
		if head, err := r.Peek(20); err != nil || string(head) != "\x13BitTorrent protocol" {
			c.Close()
			continue
		}
		rw := struct {
			io.Reader
			io.Writer
		}{r, c}
		if _, err := pp.Handshake(context.Background(), rw, &ih, id, bits); err != nil {
			c.Close()
			t.Fatalf("handshake: %v", err)
		}
		c.SetDeadline(time.Time{})
		return &rejectingSeed{
			fakeBrowser: wirePeer(t, c, r),
			data:        data, pieceLen: info.PieceLength, until: time.Now().Add(time.Second),
		}
	}
}

// serve runs the seed until its conn closes.
func (s *rejectingSeed) serve() {
	write := func(m pp.Message) error {
		_, err := s.conn.Write(m.MustMarshalBinary())
		return err
	}
	if write(pp.Message{Type: pp.HaveAll}) != nil || !s.choking && write(pp.Message{Type: pp.Unchoke}) != nil {
		return
	}
	for {
		var m pp.Message
		if err := s.dec.Decode(&m); err != nil {
			return
		}
		if m.Keepalive {
			continue
		}
		var err error
		switch m.Type {
		case pp.Request:
			if time.Now().Before(s.until) {
				s.rejected.Add(1)
				err = write(pp.Message{Type: pp.Reject, Index: m.Index, Begin: m.Begin, Length: m.Length})
				break
			}
			off := int64(m.Index)*s.pieceLen + int64(m.Begin)
			if off < 0 || off+int64(m.Length) > int64(len(s.data)) {
				return
			}
			err = write(pp.Message{Type: pp.Piece, Index: m.Index, Begin: m.Begin, Piece: s.data[off : off+int64(m.Length)]})
			s.served.Add(1)
		case pp.Cancel:
			err = write(pp.Message{Type: pp.Reject, Index: m.Index, Begin: m.Begin, Length: m.Length})
		}
		if err != nil {
			return
		}
	}
}

// leechOfFakeSeed returns a leech of a 4 MiB file, without a peer or a web
// seed, and the file.
func leechOfFakeSeed(t *testing.T) (*Swarm, *Torrent, []byte) {
	t.Helper()
	f := newFixture(t, 4<<20, 0, 31)
	f.mi.UrlList = nil // the fake seed is the leech's only source
	leech, _, lt := f.startLeech(t)
	return leech, lt, f.data
}

// start serves until the test ends.
func (s *rejectingSeed) start(t *testing.T) {
	done := make(chan struct{})
	go func() { defer close(done); s.serve() }()
	t.Cleanup(func() { s.conn.Close(); <-done })
}

// TestFetchAfterRejects checks that a torrent whose only peer rejects
// every request the node has out is still fetched. anacrolix v1.59.1
// makes no new request on a reject (requesting.go: it waits for an
// unchoke), and a peer that stays unchoked never sends one: the conn
// stayed open and idle for good, as the bridge's did in CI with a
// libtorrent seeder.
func TestFetchAfterRejects(t *testing.T) {
	leech, lt, want := leechOfFakeSeed(t)
	s := connectRejectingSeed(t, leech, lt, want)
	start := time.Now()
	s.start(t)

	err := testnet.WaitFor(20*time.Second, func() error {
		if got := lt.Stats().BytesCompleted; got < int64(len(want)) {
			return fmt.Errorf("the leech holds %d of %d bytes; the seed rejected %d requests and served %d blocks", got, len(want), s.rejected.Load(), s.served.Load())
		}
		return nil
	})
	if err != nil {
		var b strings.Builder
		leech.cl.WriteStatus(&b)
		t.Log(b.String())
		t.Fatal(err)
	}
	t.Logf("fetched in %v; the seed rejected %d requests first", time.Since(start).Round(time.Millisecond), s.rejected.Load())
	if s.rejected.Load() == 0 {
		t.Error("the seed rejected no request: the test tested nothing")
	}
}

// TestChokedIsNoStall checks that a peer that keeps the node choked does
// not count as stalling it: anacrolix asks again once the peer unchokes,
// and restarting would only cancel what other peers have out.
func TestChokedIsNoStall(t *testing.T) {
	leech, lt, want := leechOfFakeSeed(t)
	s := connectRejectingSeed(t, leech, lt, want)
	s.choking = true
	s.start(t)
	err := testnet.WaitFor(5*time.Second, func() error {
		if n := lt.Peers(); n != 1 {
			return fmt.Errorf("%d peers, want the fake seed", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c := lt.t.PeerConns()[0]
	lt.s.pace.mu.Lock()
	p := lt.s.pace.conns[c]
	tracked := p != nil && p.choked
	lt.s.pace.mu.Unlock()
	if !tracked {
		t.Fatal("the pacer does not know the conn as choked")
	}
	// The fake seed has every piece, and was asked for nothing.
	if idle, _, _ := lt.stalled(time.Now().Add(time.Hour)); idle != 0 {
		t.Errorf("%d peers stall the torrent while the only one chokes it; want 0", idle)
	}
}
