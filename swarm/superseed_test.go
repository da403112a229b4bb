package swarm

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"
	pp "github.com/anacrolix/torrent/peer_protocol"

	"github.com/seedcast/seedcast/e2e/testnet"
)

// fakeBrowser is the test's end of a browser peer's conn: it speaks the
// wire as WebTorrent does and reads what the node tells it.
type fakeBrowser struct {
	t    *testing.T
	conn net.Conn
	dec  pp.Decoder
}

// connectBrowser hands the seed a conn from a browser peer with peer id
// -WW0001-name, handshakes as that browser (with BEP 6 if fast), and
// returns it.
func connectBrowser(t *testing.T, seed *Swarm, st *Torrent, name string, fast bool) *fakeBrowser {
	t.Helper()
	a, b := connPair(t)
	t.Cleanup(func() { b.Close() })
	var id [20]byte
	copy(id[:], "-WW0001-"+name+"00000000000000")
	if err := seed.AddConn(st.InfoHash(), a, id, false); err != nil {
		t.Fatal(err)
	}
	b.SetDeadline(time.Now().Add(20 * time.Second))
	var bits pp.PeerExtensionBits
	if fast {
		bits.SetBit(pp.ExtensionBitFast, true)
	}
	ih := metainfo.Hash(st.InfoHash())
	if _, err := pp.Handshake(context.Background(), b, &ih, id, bits); err != nil {
		t.Fatalf("%s: handshake: %v", name, err)
	}
	return wirePeer(t, b, bufio.NewReader(b))
}

// wirePeer returns the test's end of conn, reading it through r.
func wirePeer(t *testing.T, conn net.Conn, r *bufio.Reader) *fakeBrowser {
	return &fakeBrowser{t: t, conn: conn, dec: pp.Decoder{
		R:         r,
		Pool:      &sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }},
		MaxLength: 256 << 10,
	}}
}

func (f *fakeBrowser) send(m pp.Message) {
	f.t.Helper()
	if _, err := f.conn.Write(m.MustMarshalBinary()); err != nil {
		f.t.Fatalf("send %v: %v", m.Type, err)
	}
}

// next returns the next message of one of types, skipping the others.
func (f *fakeBrowser) next(types ...pp.MessageType) pp.Message {
	f.t.Helper()
	for {
		var m pp.Message
		if err := f.dec.Decode(&m); err != nil {
			f.t.Fatalf("waiting for %v: %v", types, err)
		}
		if !m.Keepalive && slices.Contains(types, m.Type) {
			return m
		}
	}
}

// pieces returns the pieces a bitfield holds.
func pieces(bf []bool) []int {
	var out []int
	for i, ok := range bf {
		if ok {
			out = append(out, i)
		}
	}
	return out
}

// TestSuperSeed checks that the node tells each browser peer a few pieces
// that no viewer has and no other viewer is fetching, reveals the next
// one for each it announces, still serves them, and gives a viewer's
// pieces to others once it leaves.
func TestSuperSeed(t *testing.T) {
	dir := t.TempDir()
	const pieceLen = 64 << 10 // PieceLength of 16 MiB
	want := writeRandom(t, filepath.Join(dir, "film.bin"), 16<<20, 21)
	seed, _ := startSwarm(t, testConfig(t, t.TempDir()))
	st, err := seed.Add(context.Background(), filepath.Join(dir, "film.bin"))
	if err != nil {
		t.Fatal(err)
	}
	reveal := revealBytes / pieceLen // 32 of 256 pieces

	// The first viewer, with BEP 6: its have-all becomes a bitfield of
	// the first pieces.
	a := connectBrowser(t, seed, st, "a", true)
	gotA := pieces(a.next(pp.Bitfield, pp.HaveAll).Bitfield)
	if len(gotA) != reveal || gotA[0] != 0 || gotA[reveal-1] != reveal-1 {
		t.Fatalf("first viewer told of pieces %v; want 0 to %d", gotA, reveal-1)
	}
	// The second viewer is told of the pieces after those.
	b := connectBrowser(t, seed, st, "b", false)
	gotB := pieces(b.next(pp.Bitfield, pp.HaveAll).Bitfield)
	if len(gotB) != reveal || gotB[0] != reveal {
		t.Fatalf("second viewer told of pieces %v; want %d onwards", gotB, reveal)
	}

	// The node serves what it told of, through the rewriting conn.
	a.send(pp.Message{Type: pp.Interested})
	a.next(pp.Unchoke)
	a.send(pp.Message{Type: pp.Request, Index: 3, Begin: 16 << 10, Length: 16 << 10})
	if m := a.next(pp.Piece); m.Index != 3 || !bytes.Equal(m.Piece, want[3*pieceLen+16<<10:][:16<<10]) {
		t.Fatalf("piece 3 block 1: got index %d, %d bytes, not the file's", m.Index, len(m.Piece))
	}

	// Each piece a viewer announces opens the next one nobody has.
	a.send(pp.Message{Type: pp.Have, Index: 0})
	if m := a.next(pp.Have); m.Index != 2*pp.Integer(reveal) {
		t.Fatalf("after its have of 0 the first viewer was told of %d; want %d", m.Index, 2*reveal)
	}
	// A piece b got elsewhere (0, from a) leaves b's own on their way;
	// one of its own arriving opens the next piece nobody has.
	b.send(pp.Message{Type: pp.Have, Index: 0})
	b.send(pp.Message{Type: pp.Have, Index: pp.Integer(reveal)})
	if m := b.next(pp.Have); m.Index != 2*pp.Integer(reveal)+1 {
		t.Fatalf("after its haves of 0 and %d the second viewer was told of %d; want %d", reveal, m.Index, 2*reveal+1)
	}

	// Once a leaves, the pieces it was fetching go to the next viewer.
	a.conn.Close()
	err = testnet.WaitFor(10*time.Second, func() error {
		st.ss.mu.Lock()
		defer st.ss.mu.Unlock()
		if n := len(st.ss.viewers); n != 1 {
			return fmt.Errorf("%d viewers after the first left, want 1", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c := connectBrowser(t, seed, st, "c", false)
	gotC := pieces(c.next(pp.Bitfield).Bitfield)
	if len(gotC) != reveal || gotC[0] != 1 || gotC[reveal-1] != 2*reveal || slices.Contains(gotC, reveal+1) {
		t.Fatalf("third viewer, after the first left, told of %v; want the first's: 1 to %d and %d", gotC, reveal-1, 2*reveal)
	}
}

// FuzzWireScanner checks that any byte stream, in any chunks, passes the
// scanner unchanged when no message is rewritten, and that a held
// message never outgrows maxBody.
func FuzzWireScanner(f *testing.F) {
	hs := bytes.Repeat([]byte{0}, handshakeBytes)
	f.Add(append(hs, 0, 0, 0, 5, 4, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 3, 5, 0xff, 0x80), uint8(3))
	f.Add(append(hs, 0, 0, 0, 1, 14, 0xff, 0xff, 0xff, 0xff, 7), uint8(1))
	f.Fuzz(func(t *testing.T, b []byte, step uint8) {
		w := wireScanner{want: func(id pp.MessageType) bool { return id == pp.Have || id == pp.Bitfield }, maxBody: 16}
		var out []byte
		emit := func(p []byte) { out = append(out, p...) }
		onMsg := func(_ pp.MessageType, payload []byte) []byte {
			if len(payload) > 16 {
				t.Fatalf("held %d bytes, over maxBody 16", len(payload))
			}
			return nil
		}
		n := max(int(step), 1)
		for rest := b; len(rest) > 0; rest = rest[min(n, len(rest)):] {
			w.scan(rest[:min(n, len(rest))], emit, onMsg)
		}
		// What is still held is a message's start: the rest is emitted.
		if w.holding {
			out = append(append(out, w.hdr...), w.held...)
		} else if w.left == 0 {
			out = append(out, w.hdr...)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("stream changed in passing:\n got %x\nwant %x", out, b)
		}
	})
}
