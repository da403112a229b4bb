package swarm

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2"
	"github.com/anacrolix/torrent/metainfo"
	pp "github.com/anacrolix/torrent/peer_protocol"
	"go.uber.org/goleak"

	"github.com/seedcast/seedcast/e2e/testnet"
	"github.com/seedcast/seedcast/infohash"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

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

// testConfig is a swarm that sends nothing beyond loopback, and so dials
// peers there (the peer hints of magnets among them).
func testConfig(t *testing.T, dataDir string) Config {
	return Config{
		DataDir:          dataDir,
		DialLoopback:     true,
		BTPort:           -1,
		ListenHost:       "127.0.0.1",
		NoDHT:            true,
		NoPortForwarding: true,
		Announce:         []string{"ws://127.0.0.1:1/announce", "http://127.0.0.1:1/announce"},
		WebSeedBase:      "http://127.0.0.1:1/webseed/",
	}
}

// startSwarm runs a swarm until stop is called or the test ends; stop
// returns what Run returned.
func startSwarm(t *testing.T, cfg Config) (s *Swarm, stop func() error) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop = testnet.Run(t, s.Run)
	if err := s.Up(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, stop
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

	var ih infohash.Hash
	for run := range 2 {
		s, stop := startSwarm(t, testConfig(t, data))
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
		if mi.AnnounceList[0][0] != "ws://127.0.0.1:1/announce" || mi.UrlList[0] != "http://127.0.0.1:1/webseed/"+ih.String()+"/" {
			t.Errorf("announce-list %v, url-list %v", mi.AnnounceList, mi.UrlList)
		}
		if err := stop(); err != nil {
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
	s, stop := startSwarm(t, testConfig(t, data))
	t1, err := s.Add(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	stop()

	writeRandom(t, p, 200<<10, 2)
	os.Chtimes(p, time.Now().Add(time.Hour), time.Now().Add(time.Hour))
	s, _ = startSwarm(t, testConfig(t, data))
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
	s, _ := startSwarm(t, testConfig(t, t.TempDir()))
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
	scfg := testConfig(t, t.TempDir())
	seedMeter := &recordingMeter{}
	scfg.Meter = seedMeter
	seed, _ := startSwarm(t, scfg)
	st, err := seed.Add(context.Background(), filepath.Join(dir, "clip.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := seedMeter.tasks(), []string{"hashing clip.bin 2097152/2097152 complete"}; !slices.Equal(got, want) {
		t.Errorf("the seed's meter showed %q, want %q", got, want)
	}
	// TCP only, so that the figures below have one transport to be in:
	// with uTP on, either may win the race to the seed.
	lcfg := testConfig(t, t.TempDir())
	lcfg.DisableUTP = true
	leechMeter := &recordingMeter{}
	lcfg.Meter = leechMeter
	leech, _ := startSwarm(t, lcfg)
	lt := fetchFrom(t, leech, seed, st, want)
	err = testnet.WaitFor(10*time.Second, func() error {
		if got, want := leechMeter.tasks(), []string{"fetching clip.bin 2097152/2097152 complete"}; !slices.Equal(got, want) {
			return fmt.Errorf("the leech's meter showed %q, want %q", got, want)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	// The two complete peers part; the bytes they moved stay counted.
	err = testnet.WaitFor(10*time.Second, func() error {
		if ts := lt.Stats().Transports["tcp"]; ts.BytesIn < int64(len(want)) {
			return fmt.Errorf("TCP bytes in %+v, want at least %d (all: %+v)", ts, len(want), lt.Stats().Transports)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// fetchFrom adds st to leech by magnet, with seed's TCP listener as its
// peer hint, reads its first file whole and checks it is want.
func fetchFrom(t *testing.T, leech, seed *Swarm, st *Torrent, want []byte) *Torrent {
	t.Helper()
	lt, err := leech.AddMagnet(st.Magnet() + "&x.pe=127.0.0.1:" + itoa(seed.Port()))
	if err != nil {
		t.Fatal(err)
	}
	readWhole(t, lt, want)
	return lt
}

// readWhole waits up to 30 s for lt's info, reads its first file whole and
// checks it is want.
func readWhole(t *testing.T, lt *Torrent, want []byte) {
	t.Helper()
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
}

// TestOversizedRequest asks a seed for blocks as a peer on the wire: a
// 16 KiB block comes, and a request for 32 KiB closes the conn, as BEP 3
// has it (this peer offers no BEP 6 to be rejected with). Longer blocks
// would outgrow the node's request budget and could stall the conn.
func TestOversizedRequest(t *testing.T) {
	dir := t.TempDir()
	want := writeRandom(t, filepath.Join(dir, "clip.bin"), 1<<20, 9)
	seed, _ := startSwarm(t, testConfig(t, t.TempDir()))
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
	ih := metainfo.Hash(st.InfoHash())
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

// chanAddr is the address of one end of a conn from a transport other than
// TCP or uTP, as webrtc.Addr is.
type chanAddr string

func (a chanAddr) Network() string { return connsNetwork }
func (a chanAddr) String() string  { return connsNetwork + ":" + string(a) }

// chanConn is a loopback TCP conn dressed as such a conn.
type chanConn struct {
	net.Conn
	local, remote chanAddr
}

func (c chanConn) LocalAddr() net.Addr  { return c.local }
func (c chanConn) RemoteAddr() net.Addr { return c.remote }

// connPair returns the two ends of one loopback TCP connection.
func connPair(t *testing.T) (a, b net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	a, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	return chanConn{a, "a", "b"}, chanConn{b, "b", "a"}
}

// TestAddConn hands two nodes the ends of one conn, as the WebRTC
// transport does with a channel: the node that offered to another seedcast
// node speaks first, and the file crosses.
func TestAddConn(t *testing.T) {
	dir := t.TempDir()
	want := writeRandom(t, filepath.Join(dir, "clip.bin"), 1<<20, 11)
	cfg := testConfig(t, t.TempDir())
	cfg.DisableTCP, cfg.DisableUTP = true, true // the conn below is the only way in
	seed, _ := startSwarm(t, cfg)
	st, err := seed.Add(context.Background(), filepath.Join(dir, "clip.bin"))
	if err != nil {
		t.Fatal(err)
	}
	cfg = testConfig(t, t.TempDir())
	cfg.DisableTCP, cfg.DisableUTP = true, true
	leech, _ := startSwarm(t, cfg)
	lt, err := leech.AddMagnet(st.Magnet())
	if err != nil {
		t.Fatal(err)
	}
	if !isSeedcastPeer(seed.PeerID()) || isSeedcastPeer([20]byte{'-', 'W', 'W'}) {
		t.Fatal("isSeedcastPeer does not tell seedcast's peer ids")
	}
	a, b := connPair(t)
	// The leech offered; the seed answered and waits for its handshake.
	if err := seed.AddConn(st.InfoHash(), a, leech.PeerID(), false); err != nil {
		t.Fatal(err)
	}
	if err := leech.AddConn(lt.InfoHash(), b, seed.PeerID(), true); err != nil {
		t.Fatal(err)
	}
	readWhole(t, lt, want)
	// The two seeds part once the leech is complete; its bytes stay
	// counted under the conn's transport.
	err = testnet.WaitFor(10*time.Second, func() error {
		if ts := lt.Stats().Transports["webrtc"]; ts.BytesIn < int64(len(want)) {
			return fmt.Errorf("leech's webrtc figures %+v, want at least %d bytes in", ts, len(want))
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

// TestAddConnTwice checks that a second conn to a peer already connected
// is refused and closed. The two nodes both lack the torrent's info, so
// that their conn stays up.
func TestAddConnTwice(t *testing.T) {
	dir := t.TempDir()
	writeRandom(t, filepath.Join(dir, "clip.bin"), 64<<10, 12)
	seed, _ := startSwarm(t, testConfig(t, t.TempDir()))
	st, err := seed.Add(context.Background(), filepath.Join(dir, "clip.bin"))
	if err != nil {
		t.Fatal(err)
	}
	var nodes [2]*Swarm
	var tors [2]*Torrent
	for i := range nodes {
		cfg := testConfig(t, t.TempDir())
		cfg.DisableTCP, cfg.DisableUTP = true, true
		nodes[i], _ = startSwarm(t, cfg)
		if tors[i], err = nodes[i].AddMagnet(st.Magnet()); err != nil {
			t.Fatal(err)
		}
	}
	a, b := connPair(t)
	if err := nodes[0].AddConn(st.InfoHash(), a, nodes[1].PeerID(), false); err != nil {
		t.Fatal(err)
	}
	if err := nodes[1].AddConn(st.InfoHash(), b, nodes[0].PeerID(), true); err != nil {
		t.Fatal(err)
	}
	err = testnet.WaitFor(10*time.Second, func() error {
		if !tors[1].HasPeer(nodes[0].PeerID()) {
			return errors.New("no conn between the two nodes")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c, d := connPair(t)
	defer d.Close()
	if err := nodes[1].AddConn(st.InfoHash(), c, nodes[0].PeerID(), true); !errors.Is(err, ErrConnected) {
		t.Errorf("second conn to one peer: %v, want ErrConnected", err)
	}
	d.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := d.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("the far end of a refused conn read %v, want EOF: the conn was left open", err)
	}
}

// TestHeldConnAddr checks that a held conn's address is one only the
// swarm's dialer takes, once: TCP dialers must not try it.
func TestHeldConnAddr(t *testing.T) {
	cs := newConns()
	a, b := connPair(t)
	defer b.Close()
	addr := cs.hold(a)
	if _, err := netip.ParseAddrPort(addr); err == nil {
		t.Fatalf("held address %q parses as an IP and port", addr)
	}
	if c, err := cs.Dial(context.Background(), addr); err != nil || c != a {
		t.Fatalf("Dial(%q) = %v, %v", addr, c, err)
	}
	if _, err := cs.Dial(context.Background(), addr); err == nil {
		t.Fatal("second Dial of one held conn succeeded")
	}
	cs.close()
	a.Close()
}

// TestUploadRate checks that Config.UploadRate caps what peers get: a
// leech cannot take 512 KiB from a seed capped at 128 KiB/s in under 3 s
// (4 s, less the limiter's burst of one block), and HTTP shares the cap.
func TestUploadRate(t *testing.T) {
	const capBytes, size = 128 << 10, 512 << 10
	dir := t.TempDir()
	want := writeRandom(t, filepath.Join(dir, "clip.bin"), size, 13)
	cfg := testConfig(t, t.TempDir())
	cfg.UploadRate = capBytes
	seed, _ := startSwarm(t, cfg)
	if lim := seed.UploadLimiter(); lim == nil || lim.Limit() != capBytes {
		t.Fatalf("UploadLimiter() = %v, want the cap of %d bytes/s", lim, capBytes)
	}
	st, err := seed.Add(context.Background(), filepath.Join(dir, "clip.bin"))
	if err != nil {
		t.Fatal(err)
	}
	lcfg := testConfig(t, t.TempDir())
	lcfg.DisableUTP = true
	leech, _ := startSwarm(t, lcfg)
	if leech.UploadLimiter() != nil {
		t.Error("a swarm without UploadRate has an UploadLimiter")
	}
	start := time.Now()
	fetchFrom(t, leech, seed, st, want)
	if took := time.Since(start); took < 3*time.Second {
		t.Errorf("512 KiB came in %v from a seed capped at 128 KiB/s; want at least 3 s", took)
	}
}

// TestDownloadResumes stops a node halfway through a download and starts
// it again on the same data dir: the pieces it had verified are still
// there, before any peer could have sent them again.
func TestDownloadResumes(t *testing.T) {
	f := newFixture(t, 4<<20, 512<<10, 31) // 8 s for the file
	leech, stop, lt := f.startLeech(t)
	leech.AddPeer(lt.InfoHash(), netip.MustParseAddrPort("127.0.0.1:"+itoa(f.seed.Port())))
	err := testnet.WaitFor(30*time.Second, func() error {
		if p := lt.Stats().Progress; p < 0.3 {
			return fmt.Errorf("progress %.2f, want 0.3 before stopping", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Whole pieces only: BytesCompleted counts blocks of pieces not yet
	// verified too, which nobody keeps.
	had := lt.t.Stats().PiecesComplete
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	// The same data dir, and no peer: what it has is what it kept.
	_, _, lt = f.startLeech(t)
	got := lt.t.Stats().PiecesComplete
	if got < had {
		t.Fatalf("after a restart %d pieces complete, had %d before", got, had)
	}
	t.Logf("%d of %d pieces verified before the stop, %d after the restart", had, lt.t.NumPieces(), got)
}

// TestLeecherDialBack checks which clients seen by the HTTP tracker the
// node dials: one on loopback only when told it may (a node whose public
// URL is on loopback), and never port 0.
func TestLeecherDialBack(t *testing.T) {
	dir := t.TempDir()
	writeRandom(t, filepath.Join(dir, "clip.bin"), 256<<10, 41)
	for _, dialLoopback := range []bool{false, true} {
		cfg := testConfig(t, t.TempDir())
		cfg.DialLoopback = dialLoopback
		cfg.DisableUTP = true // a uTP dial to the TCP listener below would outlive the node
		seed, stop := startSwarm(t, cfg)
		st, err := seed.Add(context.Background(), filepath.Join(dir, "clip.bin"))
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		dialled := make(chan struct{}, 1)
		go func() {
			if c, err := ln.Accept(); err == nil {
				c.Close()
				dialled <- struct{}{}
			}
		}()
		seed.Leecher(st.InfoHash(), netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), 0))
		seed.Leecher(st.InfoHash(), netip.MustParseAddrPort(ln.Addr().String()))
		select {
		case <-dialled:
			if !dialLoopback {
				t.Error("the node dialled a loopback client without DialLoopback")
			}
		case <-time.After(3 * time.Second):
			if dialLoopback {
				t.Error("the node did not dial a loopback client in 3 s with DialLoopback")
			}
		}
		ln.Close()
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	}
}

// recordingMeter is a Meter that keeps what its bars were told.
type recordingMeter struct {
	mu   sync.Mutex
	bars []*recordingBar
}

type recordingBar struct {
	m          *recordingMeter
	task, name string
	total      int64
	done       int64
	finished   string // "", "complete" or "stopped"
}

func (m *recordingMeter) Start(task, name string, total int64) Bar {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := &recordingBar{m: m, task: task, name: name, total: total}
	m.bars = append(m.bars, b)
	return b
}

func (b *recordingBar) Set(done int64) {
	b.m.mu.Lock()
	defer b.m.mu.Unlock()
	if done < b.done {
		b.finished = fmt.Sprintf("went back from %d to %d", b.done, done)
	}
	b.done = done
}

func (b *recordingBar) Finish(complete bool) {
	b.m.mu.Lock()
	defer b.m.mu.Unlock()
	b.finished = map[bool]string{true: "complete", false: "stopped"}[complete]
}

// tasks says what each bar showed: "task name done/total finished".
func (m *recordingMeter) tasks() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, b := range m.bars {
		out = append(out, fmt.Sprintf("%s %s %d/%d %s", b.task, b.name, b.done, b.total, b.finished))
	}
	return out
}

func TestLogMeter(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	b := LogMeter(log).Start("hashing", "film.mp4", 1000).(*logBar)
	b.Set(10) // too soon after the start
	b.last = time.Now().Add(-progressEvery)
	b.Set(400)
	b.Set(500) // too soon after the last line
	b.Finish(false)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("logged %d lines, want 2:\n%s", len(lines), buf.String())
	}
	for i, want := range []string{"msg=hashing name=film.mp4 done_bytes=400 total_bytes=1000", `msg="hashing stopped" name=film.mp4 done_bytes=500 total_bytes=1000`} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d %q lacks %q", i, lines[i], want)
		}
	}
}

// TestDHTStartingNodesBackOff checks that a failing lookup of the DHT's
// bootstrap nodes waits a second, then two, before it fails (anacrolix
// asks again at once), and not at all once the swarm stops. No lookup
// leaves the machine: the lookup here fails without asking anyone.
func TestDHTStartingNodesBackOff(t *testing.T) {
	quit := make(chan struct{})
	get := startingNodes("udp4", func(string) ([]dht.Addr, error) { return nil, errors.New("nothing resolved") }, quit)
	for _, want := range []time.Duration{time.Second, 2 * time.Second} {
		start := time.Now()
		if _, err := get(); err == nil {
			t.Fatal("a failed lookup succeeded")
		}
		if took := time.Since(start); took < want {
			t.Fatalf("a failed lookup returned after %v, want %v", took, want)
		}
	}
	close(quit)
	start := time.Now()
	get()
	if took := time.Since(start); took > time.Second {
		t.Errorf("after the stop a failed lookup still waited %v", took)
	}
}
