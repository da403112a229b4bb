package webrtc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/seedcast/seedcast/e2e/testnet"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// freeUDPPort returns a UDP port free on loopback now.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// loopbackTransport is a transport whose ICE stays on loopback.
func loopbackTransport(t *testing.T) *Transport {
	t.Helper()
	tr, err := New(Config{UDPPort: freeUDPPort(t), Interfaces: []string{"lo"}, Loopback: true, ConnectTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	testnet.Run(t, tr.Run)
	if err := tr.Up(context.Background()); err != nil {
		t.Fatal(err)
	}
	return tr
}

// connect opens a channel from a to b and returns both ends.
func connect(t *testing.T, a, b *Transport) (offered, answered net.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	o, err := a.NewOffer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan net.Conn, 1)
	answer, err := b.Answer(ctx, o.SDP(), func(c *Conn) { got <- c })
	if err != nil {
		t.Fatal(err)
	}
	c, err := o.Accept(ctx, answer)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ac := <-got:
		return c, ac
	case <-ctx.Done():
		t.Fatal("answered channel never opened")
	}
	return nil, nil
}

func randomBytes(n int, seed byte) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewChaCha8([32]byte{seed}))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestStream sends a byte stream each way in writes of uneven sizes, some
// far over one message, and checks it arrives whole and in order.
func TestStream(t *testing.T) {
	a, b := loopbackTransport(t), loopbackTransport(t)
	offered, answered := connect(t, a, b)
	defer offered.Close()
	defer answered.Close()
	for _, dir := range []struct {
		name string
		w, r net.Conn
	}{{"offerer to answerer", offered, answered}, {"answerer to offerer", answered, offered}} {
		t.Run(dir.name, func(t *testing.T) {
			want := randomBytes(8<<20+17, 1)
			errc := make(chan error, 1)
			go func() {
				r := rand.New(rand.NewPCG(1, 2))
				p := want
				for len(p) > 0 {
					n := min(len(p), 1+r.IntN(200<<10))
					if _, err := dir.w.Write(p[:n]); err != nil {
						errc <- err
						return
					}
					p = p[n:]
				}
				errc <- nil
			}()
			got := make([]byte, len(want))
			dir.r.SetReadDeadline(time.Now().Add(30 * time.Second))
			if _, err := io.ReadFull(dir.r, got); err != nil {
				t.Fatalf("read: %v", err)
			}
			if err := <-errc; err != nil {
				t.Fatalf("write: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatal("bytes differ")
			}
		})
	}
}

// TestDeadline checks that a read deadline ends a blocked read with
// os.ErrDeadlineExceeded, as net.Conn promises.
func TestDeadline(t *testing.T) {
	a, b := loopbackTransport(t), loopbackTransport(t)
	offered, answered := connect(t, a, b)
	defer offered.Close()
	defer answered.Close()
	answered.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	_, err := answered.Read(make([]byte, 10))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read past deadline: %v, want a timeout", err)
	}
}

func TestConfigRejects(t *testing.T) {
	for _, cfg := range []Config{{}, {UDPPort: 70000}, {UDPPort: 5000, NATIPs: []string{"not-an-ip"}}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

func TestParseICEServer(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ICEServer
		bad  bool
	}{
		{in: "stun:stun.example.org:3478", want: ICEServer{URLs: []string{"stun:stun.example.org:3478"}}},
		{in: "turn:turn.example.org:3478", want: ICEServer{URLs: []string{"turn:turn.example.org:3478"}}},
		{in: "turn://ann:s3cret@turn.example.org:3478", want: ICEServer{URLs: []string{"turn:turn.example.org:3478"}, Username: "ann", Credential: "s3cret"}},
		{in: "turns://ann:s3cret@turn.example.org:5349?transport=tcp", want: ICEServer{URLs: []string{"turns:turn.example.org:5349?transport=tcp"}, Username: "ann", Credential: "s3cret"}},
		{in: "http://example.org", bad: true},
		{in: "turn://", bad: true},
		{in: "nothing", bad: true},
	} {
		got, err := ParseICEServer(tc.in)
		if tc.bad {
			if !errors.Is(err, ErrICEServer) {
				t.Errorf("ParseICEServer(%q) = %+v, %v; want ErrICEServer", tc.in, got, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got.URLs, tc.want.URLs) || got.Username != tc.want.Username || got.Credential != tc.want.Credential {
			t.Errorf("ParseICEServer(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	if _, err := New(Config{UDPPort: 5000, ICEServers: []string{"bogus"}}); !errors.Is(err, ErrICEServer) {
		t.Errorf("New with a bad ICE server: %v, want ErrICEServer", err)
	}
}
