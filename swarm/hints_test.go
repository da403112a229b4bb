package swarm

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seedcast/seedcast/e2e/testnet"
	"github.com/seedcast/seedcast/infohash"
)

func TestHintRetry(t *testing.T) {
	var got []time.Duration
	for n := range 9 {
		got = append(got, hintRetry(n))
	}
	want := []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second,
		32 * time.Second, time.Minute, time.Minute, time.Minute}
	if !slices.Equal(got, want) {
		t.Errorf("hintRetry(0..8) = %v, want %v", got, want)
	}
	if d := hintRetry(1 << 20); d != maxHintRetry {
		t.Errorf("hintRetry(1<<20) = %v, want %v", d, maxHintRetry)
	}
}

func TestParsePeerHints(t *testing.T) {
	many := make([]string, maxPeerHints+2)
	for i := range many {
		many[i] = fmt.Sprintf("10.0.0.%d:6881", i+1)
	}
	for _, tc := range []struct {
		in       []string
		want     []string
		wantBad  int
		badWords string
	}{
		{[]string{"10.231.0.2:6881"}, []string{"10.231.0.2:6881"}, 0, ""},
		{[]string{"[2001:db8::1]:51413", "[::ffff:10.0.0.1]:1"}, []string{"[2001:db8::1]:51413", "10.0.0.1:1"}, 0, ""},
		{[]string{"seeder.example.org:6881"}, []string{"seeder.example.org:6881"}, 0, ""},
		{[]string{"10.0.0.1:6881", "10.0.0.1:6881"}, []string{"10.0.0.1:6881"}, 0, ""},
		{[]string{"10.0.0.1"}, nil, 1, "not host:port"},
		{[]string{":6881"}, nil, 1, "not host:port"},
		{[]string{"10.0.0.1:0"}, nil, 1, "bad port"},
		{[]string{"10.0.0.1:70000"}, nil, 1, "bad port"},
		{[]string{"10.0.0.1:http"}, nil, 1, "bad port"},
		{many, many[:maxPeerHints], 2, "over 16 hints"},
	} {
		hints, bad := parsePeerHints(tc.in)
		var got []string
		for _, h := range hints {
			got = append(got, h.String())
		}
		if !slices.Equal(got, tc.want) || len(bad) != tc.wantBad {
			t.Errorf("parsePeerHints(%q) = %q, bad %q; want %q and %d bad", tc.in, got, bad, tc.want, tc.wantBad)
		}
		if tc.wantBad > 0 && !strings.Contains(bad[0], tc.badWords) {
			t.Errorf("parsePeerHints(%q): bad %q lacks %q", tc.in, bad, tc.badWords)
		}
	}
}

// FuzzParsePeerHints checks that any x.pe value reads without panic into
// at most maxPeerHints hints, each of a port and an address or a name,
// that read back as themselves.
func FuzzParsePeerHints(f *testing.F) {
	for _, seed := range []string{
		"10.231.0.2:6881",       // a hint as the e2e tests write it
		"[2001:db8::1]:51413",   // IPv6 (BEP 9: [ipv6-literal]:port)
		"seeder.example.org:80", // a host name
		"[::ffff:1.2.3.4]:1",    // IPv4-mapped
		"1.2.3.4",               // no port
		"[fe80::1%eth0]:6881",   // a zone
		"::1:6881",              // IPv6 without brackets
		"host:65536",
		"%zz:1",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		hints, bad := parsePeerHints([]string{v, v})
		if len(hints) > 1 || len(hints)+len(bad) > 2 {
			t.Fatalf("parsePeerHints(%q twice) = %v, %q", v, hints, bad)
		}
		for _, h := range hints {
			if h.addr.IsValid() == (h.host != "") {
				t.Fatalf("hint %+v of %q: want an address or a name", h, v)
			}
			if h.addr.IsValid() && h.addr.Port() == 0 || !h.addr.IsValid() && h.port == 0 {
				t.Fatalf("hint %+v of %q: port 0", h, v)
			}
			again, _ := parsePeerHints([]string{h.String()})
			if len(again) != 1 || again[0] != h {
				t.Fatalf("hint %v of %q reads back as %v", h, v, again)
			}
		}
	})
}

func TestMayDial(t *testing.T) {
	for _, dialLoopback := range []bool{false, true} {
		s := &Swarm{cfg: Config{DialLoopback: dialLoopback}}
		for _, tc := range []struct {
			addr string
			ok   bool
		}{
			{"10.231.0.2:6881", true},
			{"203.0.113.7:51413", true},
			{"[2001:db8::1]:6881", true},
			{"10.231.0.2:0", false},
			{"0.0.0.0:6881", false},
			{"[::]:6881", false},
			{"224.0.0.1:6881", false},
			{"127.0.0.1:6881", dialLoopback},
			{"[::1]:6881", dialLoopback},
			{"169.254.1.1:6881", dialLoopback},
		} {
			if ok, why := s.mayDial(netip.MustParseAddrPort(tc.addr)); ok != tc.ok || ok == (why != "") {
				t.Errorf("DialLoopback %v: mayDial(%s) = %v %q, want %v", dialLoopback, tc.addr, ok, why, tc.ok)
			}
		}
	}
}

// countingListener counts the TCP conns made to it, closing each at once
// as a peer that is not there yet would.
type countingListener struct {
	ln   net.Listener
	mu   sync.Mutex
	at   []time.Time
	done chan struct{}
}

func listenCounting(t *testing.T) *countingListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &countingListener{ln: ln, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
			l.mu.Lock()
			l.at = append(l.at, time.Now())
			l.mu.Unlock()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-l.done })
	return l
}

// rounds returns when each round of dials began: anacrolix makes two
// conns of a dial whose handshake fails, the second without encryption.
func (l *countingListener) rounds() []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []time.Time
	for i, at := range l.at {
		if i == 0 || at.Sub(l.at[i-1]) > 300*time.Millisecond {
			out = append(out, at)
		}
	}
	return out
}

func (l *countingListener) count() int { return len(l.rounds()) }

// TestPeerHintBackOff adds a magnet whose hinted peer closes every conn:
// the node dials it again after 1 s, then 2 s, and not at all once the
// torrent is removed. Without DialLoopback it never dials the hint, on
// loopback.
func TestPeerHintBackOff(t *testing.T) {
	const ih = "5eedca5700000000000000000000000000000002"
	t.Run("dialled again", func(t *testing.T) {
		s, _ := startSwarm(t, testConfig(t, t.TempDir()))
		peer := listenCounting(t)
		start := time.Now()
		if _, err := s.AddMagnet("magnet:?xt=urn:btih:" + ih + "&x.pe=" + peer.ln.Addr().String()); err != nil {
			t.Fatal(err)
		}
		// Rounds of dials at about 0, 1 and 3 s.
		err := testnet.WaitFor(10*time.Second, func() error {
			if n := peer.count(); n < 3 {
				return fmt.Errorf("%d rounds of dials to the hinted peer, want 3", n)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		at := peer.rounds()
		if d := at[2].Sub(start); d < 2500*time.Millisecond {
			t.Errorf("third round %v after adding, want about 3 s: the node does not back off (%v)", d, at)
		}
		h, _ := infohash.Parse(ih)
		if err := s.Remove(h); err != nil {
			t.Fatal(err)
		}
		n := peer.count()
		time.Sleep(5 * time.Second) // the next dial was due at 7 s
		if later := peer.count(); later != n {
			t.Errorf("%d rounds of dials after the torrent was removed", later-n)
		}
	})
	t.Run("not on loopback", func(t *testing.T) {
		cfg := testConfig(t, t.TempDir())
		cfg.DialLoopback = false
		s, _ := startSwarm(t, cfg)
		peer := listenCounting(t)
		if _, err := s.AddMagnet("magnet:?xt=urn:btih:" + ih + "&x.pe=" + peer.ln.Addr().String()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second) // two rounds
		if n := peer.count(); n != 0 {
			t.Errorf("%d rounds of dials to a loopback hint without DialLoopback", n)
		}
	})
}

// TestPeerHintLateSeeder adds a magnet whose hinted seeder starts 2 s
// later, on the hinted port: the node finds it and downloads the file.
func TestPeerHintLateSeeder(t *testing.T) {
	dir := t.TempDir()
	want := writeRandom(t, filepath.Join(dir, "clip.bin"), 512<<10, 11)
	seedData := t.TempDir()
	// A first run of the seed hashes the file and learns its info hash
	// and a port, then stops.
	scfg := testConfig(t, seedData)
	scfg.DisableUTP = true
	seed, stop := startSwarm(t, scfg)
	st, err := seed.Add(context.Background(), filepath.Join(dir, "clip.bin"))
	if err != nil {
		t.Fatal(err)
	}
	ih, port := st.InfoHash(), seed.Port()
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	lcfg := testConfig(t, t.TempDir())
	lcfg.DisableUTP = true
	leech, _ := startSwarm(t, lcfg)
	lt, err := leech.Add(context.Background(), fmt.Sprintf("magnet:?xt=urn:btih:%s&x.pe=127.0.0.1:%d", ih, port))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	select {
	case <-lt.GotInfo():
		t.Fatal("info before the seeder started")
	default:
	}
	scfg.BTPort = port
	seed, _ = startSwarm(t, scfg)
	if _, err := seed.Add(context.Background(), filepath.Join(dir, "clip.bin")); err != nil {
		t.Fatal(err)
	}
	readWhole(t, lt, want)
}

// TestAddInfoHash adds an info hash alone: a magnet of it, kept as one.
func TestAddInfoHash(t *testing.T) {
	s, _ := startSwarm(t, testConfig(t, t.TempDir()))
	for _, arg := range []string{"5eedca5700000000000000000000000000000003", "CZEGMBEVXVZHNQJ3HVR7J7A3WR4YGWVN"} {
		tt, err := s.Add(t.Context(), arg)
		if err != nil {
			t.Fatalf("Add(%q): %v", arg, err)
		}
		if !strings.EqualFold(tt.InfoHash().String(), arg) && len(arg) == 40 {
			t.Errorf("Add(%q) added %s", arg, tt.InfoHash())
		}
		if !tt.Stats().WaitingForInfo {
			t.Errorf("Add(%q): not waiting for its info", arg)
		}
		if err := s.Keep(tt); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range s.kept.list() {
		if !strings.HasPrefix(e.Magnet, "magnet:?xt=urn:btih:") {
			t.Errorf("kept %+v, want a magnet", e)
		}
	}
}
