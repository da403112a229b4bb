package swarm

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"
	pp "github.com/anacrolix/torrent/peer_protocol"
)

func TestPieceLength(t *testing.T) {
	tests := []struct {
		total int64
		want  int64
	}{
		{0, 64 << 10},
		{4 << 20, 64 << 10},
		{50 << 20, 64 << 10},
		{200 << 20, 256 << 10},
		{2 << 30, 1 << 20},
		{50 << 30, 1 << 20},
	}
	for _, tt := range tests {
		if got := PieceLength(tt.total); got != tt.want {
			t.Errorf("PieceLength(%d) = %d, want %d", tt.total, got, tt.want)
		}
	}
}

// testConfig is a swarm that sends nothing beyond loopback.
func testConfig(t *testing.T, dataDir string) Config {
	return Config{
		DataDir:          dataDir,
		BTPort:           -1,
		ListenHost:       "127.0.0.1",
		NoDHT:            true,
		NoPortForwarding: true,
		Announce:         []string{"ws://127.0.0.1:1/announce", "http://127.0.0.1:1/announce"},
		WebSeedBase:      "http://127.0.0.1:1/webseed/",
	}
}

func startSwarm(t *testing.T, cfg Config) *Swarm {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	return s
}

func writeRandom(t *testing.T, path string, n int, seed uint64) []byte {
	t.Helper()
	b := make([]byte, n)
	r := rand.New(rand.NewChaCha8([32]byte{byte(seed)}))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSeedInPlaceAndRestart seeds a folder where it lies, restarts, and
// checks that the second start reuses the hashed info and trusts the
// stored piece completion: every piece is there the moment it is added.
func TestSeedInPlaceAndRestart(t *testing.T) {
	content := t.TempDir()
	dir := filepath.Join(content, "film")
	main := writeRandom(t, filepath.Join(dir, "film.bin"), 3<<20+123, 1)
	writeRandom(t, filepath.Join(dir, "extras", "notes.txt"), 1000, 2)
	writeRandom(t, filepath.Join(dir, ".DS_Store"), 10, 3)
	data := t.TempDir()

	var ih metainfo.Hash
	for run := range 2 {
		s := startSwarm(t, testConfig(t, data))
		tor, err := s.Add(context.Background(), dir)
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if !tor.Seeding() {
			t.Fatalf("run %d: not seeding right after add: completion was not kept", run)
		}
		if run == 0 {
			ih = tor.InfoHash()
		} else if tor.InfoHash() != ih {
			t.Fatalf("restart changed the info hash: %s, then %s", ih, tor.InfoHash())
		}
		files := tor.Files()
		want := []File{{"film/extras/notes.txt", 1000}, {"film/film.bin", int64(len(main))}}
		if len(files) != len(want) || files[0] != want[0] || files[1] != want[1] {
			t.Fatalf("files %v, want %v (hidden files left out, sorted)", files, want)
		}
		r, err := tor.OpenFile(1)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, main) {
			t.Fatalf("run %d: reading film.bin back: %v, equal %v", run, err, bytes.Equal(got, main))
		}
		mi, ok := tor.Metainfo()
		if !ok {
			t.Fatal("no metainfo")
		}
		if mi.AnnounceList[0][0] != "ws://127.0.0.1:1/announce" || mi.UrlList[0] != "http://127.0.0.1:1/webseed/"+ih.HexString()+"/" {
			t.Errorf("announce-list %v, url-list %v", mi.AnnounceList, mi.UrlList)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// Nothing was copied into the data dir: the files are seeded in place.
	entries, err := os.ReadDir(filepath.Join(data, "downloads"))
	if err != nil || len(entries) != 0 {
		t.Errorf("downloads dir holds %v (err %v), want it empty", entries, err)
	}
}

// TestChangedFileIsHashedAgain checks that an edited file does not keep
// the info hashed before the edit.
func TestChangedFileIsHashedAgain(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.bin")
	writeRandom(t, p, 200<<10, 1)
	data := t.TempDir()
	s := startSwarm(t, testConfig(t, data))
	t1, err := s.Add(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	writeRandom(t, p, 200<<10, 2)
	os.Chtimes(p, time.Now().Add(time.Hour), time.Now().Add(time.Hour))
	s = startSwarm(t, testConfig(t, data))
	defer s.Close()
	t2, err := s.Add(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if t1.InfoHash() == t2.InfoHash() {
		t.Fatal("edited file kept the old info hash")
	}
	if !t2.Seeding() {
		t.Fatal("not seeding the edited file")
	}
}

func TestAddRejects(t *testing.T) {
	s := startSwarm(t, testConfig(t, t.TempDir()))
	defer s.Close()
	empty := t.TempDir()
	for _, arg := range []string{filepath.Join(empty, "missing"), empty, "magnet:?xt=urn:btmh:1220" + string(bytes.Repeat([]byte("a"), 64)), "magnet:?dn=nothing"} {
		if _, err := s.Add(context.Background(), arg); err == nil {
			t.Errorf("Add(%q) succeeded", arg)
		}
	}
}

// TestDownloadBetweenNodes downloads a torrent by magnet from another node
// over loopback TCP.
func TestDownloadBetweenNodes(t *testing.T) {
	dir := t.TempDir()
	want := writeRandom(t, filepath.Join(dir, "clip.bin"), 2<<20, 7)
	seed := startSwarm(t, testConfig(t, t.TempDir()))
	defer seed.Close()
	st, err := seed.Add(context.Background(), filepath.Join(dir, "clip.bin"))
	if err != nil {
		t.Fatal(err)
	}
	leech := startSwarm(t, testConfig(t, t.TempDir()))
	defer leech.Close()
	lt, err := leech.AddMagnet(st.Magnet() + "&x.pe=127.0.0.1:" + itoa(seed.Port()))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-lt.GotInfo():
	case <-time.After(30 * time.Second):
		t.Fatal("no metadata from the seed in 30 s")
	}
	r, err := lt.OpenFile(0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("download: %v, equal %v", err, bytes.Equal(got, want))
	}
	// The two complete peers part; the bytes they moved stay counted.
	deadline := time.Now().Add(10 * time.Second)
	for lt.Stats().Transports["tcp"].BytesIn < int64(len(want)) {
		if time.Now().After(deadline) {
			t.Fatalf("TCP bytes in %+v, want at least %d", lt.Stats().Transports["tcp"], len(want))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestOversizedRequest asks a seed for blocks as a peer on the wire: a
// 16 KiB block comes, and a request for 32 KiB closes the conn, as BEP 3
// has it (this peer offers no BEP 6 to be rejected with). Longer blocks
// would outgrow the node's request budget and could stall the conn.
func TestOversizedRequest(t *testing.T) {
	dir := t.TempDir()
	want := writeRandom(t, filepath.Join(dir, "clip.bin"), 1<<20, 9)
	seed := startSwarm(t, testConfig(t, t.TempDir()))
	defer seed.Close()
	st, err := seed.Add(context.Background(), filepath.Join(dir, "clip.bin"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", "127.0.0.1:"+itoa(seed.Port()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	ih := st.InfoHash()
	var id [20]byte
	copy(id[:], "-XX0001-oversizedreq")
	if _, err := pp.Handshake(ctx, conn, &ih, id, pp.PeerExtensionBits{}); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	send := func(m pp.Message) {
		t.Helper()
		if _, err := conn.Write(m.MustMarshalBinary()); err != nil {
			t.Fatalf("send %v: %v", m.Type, err)
		}
	}
	dec := pp.Decoder{
		R:         bufio.NewReader(conn),
		Pool:      &sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }},
		MaxLength: 256 << 10,
	}
	// next returns the next message that is not a keep-alive, bitfield,
	// have or extended message.
	next := func() (pp.Message, error) {
		for {
			var m pp.Message
			if err := dec.Decode(&m); err != nil {
				return m, err
			}
			switch {
			case m.Keepalive, m.Type == pp.Bitfield, m.Type == pp.Have, m.Type == pp.Extended:
				continue
			}
			return m, nil
		}
	}
	send(pp.Message{Type: pp.Interested})
	if m, err := next(); err != nil || m.Type != pp.Unchoke {
		t.Fatalf("after interested: %v %v, want unchoke", m.Type, err)
	}
	send(pp.Message{Type: pp.Request, Index: 0, Begin: 0, Length: 16 << 10})
	m, err := next()
	if err != nil || m.Type != pp.Piece || len(m.Piece) != 16<<10 || !bytes.Equal(m.Piece, want[:16<<10]) {
		t.Fatalf("a 16 KiB request got %v (%d bytes), %v; want the block", m.Type, len(m.Piece), err)
	}
	send(pp.Message{Type: pp.Request, Index: 1, Begin: 0, Length: 32 << 10})
	if m, err := next(); err == nil {
		t.Fatalf("a 32 KiB request got %v (%d bytes); want the conn closed", m.Type, len(m.Piece))
	} else if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("after a 32 KiB request: %v, want the conn closed", err)
	}
}
