package webrtc

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// offlineResolver is a resolver with no socket: it answers from its cache
// and times out on anything else.
func offlineResolver(cached map[string]string) *mdnsResolver {
	r := &mdnsResolver{
		log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		waiters: make(map[string][]chan netip.Addr),
		cache:   make(map[string]mdnsEntry),
		done:    make(chan struct{}),
	}
	for name, a := range cached {
		r.cache[name] = mdnsEntry{addr: netip.MustParseAddr(a), expires: time.Now().Add(time.Minute)}
	}
	return r
}

// TestSplitSDP checks that a remote description loses its .local
// candidates but for cached ones, which get their address in place, and
// that the others come back with their address once resolved.
func TestSplitSDP(t *testing.T) {
	sdp := strings.Join([]string{
		"v=0",
		"m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
		"a=mid:0",
		"a=candidate:1 1 udp 2122260223 1f4712db-ea17-4bcf-a596-105139dfd8bf.local 54400 typ host generation 0",
		"a=candidate:2 1 udp 2122260223 9b36eaac-bb2e-49bb-bb78-21c41c499900.local 54401 typ host generation 0",
		"a=candidate:4 1 udp 2122260223 9B36EAAC-bb2e-49bb-bb78-21c41c499900.local 54403 typ host generation 0",
		"a=candidate:3 1 udp 1686052607 203.0.113.7 54402 typ srflx raddr 0.0.0.0 rport 0",
		"",
	}, "\r\n")
	r := offlineResolver(map[string]string{"1f4712db-ea17-4bcf-a596-105139dfd8bf.local": "10.231.0.2"})
	got, pending := r.splitSDP(sdp)
	if !strings.Contains(got, "a=candidate:1 1 udp 2122260223 10.231.0.2 54400 typ host") {
		t.Errorf("cached name not put in place:\n%s", got)
	}
	if strings.Contains(strings.ToLower(got), "9b36eaac") {
		t.Errorf("unresolved .local candidate kept:\n%s", got)
	}
	if !strings.Contains(got, "203.0.113.7 54402 typ srflx") || !strings.HasPrefix(got, "v=0\r\nm=application") || !strings.HasSuffix(got, "rport 0\r\n") {
		t.Errorf("other lines changed:\n%s", got)
	}
	if len(pending) != 2 || pending[0].mid != "0" || pending[0].index != 0 || pending[0].name != pending[1].name {
		t.Fatalf("pending %+v, want candidates 2 and 4 of section 0, one name", pending)
	}

	// The name resolves while the candidates wait.
	var added []string
	var mu sync.Mutex
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.resolveCandidates(ctx, pending, func(c mdnsCandidate) {
			mu.Lock()
			defer mu.Unlock()
			added = append(added, c.line)
		})
	}()
	answer := mdnsAnswer(t, pending[0].name, "10.231.0.3")
	for {
		r.handle(answer)
		select {
		case <-done:
		case <-time.After(10 * time.Millisecond):
			continue
		}
		break
	}
	slices.Sort(added)
	want := []string{
		"a=candidate:2 1 udp 2122260223 10.231.0.3 54401 typ host generation 0",
		"a=candidate:4 1 udp 2122260223 10.231.0.3 54403 typ host generation 0",
	}
	if !slices.Equal(added, want) {
		t.Errorf("added %q, want %q", added, want)
	}

	var none *mdnsResolver
	got, pending = none.splitSDP(sdp)
	if strings.Contains(got, ".local") || len(pending) != 3 {
		t.Errorf("without a resolver: %d pending, SDP:\n%s", len(pending), got)
	}
	none.resolveCandidates(ctx, pending, func(mdnsCandidate) { t.Error("a nil resolver resolved a name") })
}

// TestMDNSHandle feeds a response as Chromium's responder sends it and
// checks that a waiting resolution gets its address.
func TestMDNSHandle(t *testing.T) {
	r := offlineResolver(nil)
	name := "1f4712db-ea17-4bcf-a596-105139dfd8bf.local"
	ch := make(chan netip.Addr, 1)
	r.waiters[name] = []chan netip.Addr{ch}
	r.handle(mdnsAnswer(t, name, "10.231.0.3"))
	select {
	case a := <-ch:
		if a != netip.MustParseAddr("10.231.0.3") {
			t.Fatalf("resolved to %v", a)
		}
	default:
		t.Fatal("waiter not told")
	}
}

// mdnsAnswer returns the response Chromium's responder sends for name,
// giving its IPv4 address addr.
func mdnsAnswer(t *testing.T, name, addr string) []byte {
	t.Helper()
	n, err := dnsmessage.NewName(name + ".")
	if err != nil {
		t.Fatal(err)
	}
	m := dnsmessage.Message{
		Header: dnsmessage.Header{Response: true, Authoritative: true},
		Answers: []dnsmessage.Resource{{
			Header: dnsmessage.ResourceHeader{Name: n, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 120},
			Body:   &dnsmessage.AResource{A: netip.MustParseAddr(addr).As4()},
		}},
	}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzMDNSHandle checks that no packet on the mDNS group crashes the
// resolver or grows its cache past its bound.
func FuzzMDNSHandle(f *testing.F) {
	n, _ := dnsmessage.NewName("x.local.")
	for _, m := range []dnsmessage.Message{
		{Header: dnsmessage.Header{Response: true}, Answers: []dnsmessage.Resource{{
			Header: dnsmessage.ResourceHeader{Name: n, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 120},
			Body:   &dnsmessage.AResource{A: [4]byte{10, 0, 0, 1}}}}},
		{Questions: []dnsmessage.Question{{Name: n, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}}},
	} {
		b, _ := m.Pack()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := offlineResolver(nil)
		r.handle(b)
		if len(r.cache) > mdnsMaxCacheSize {
			t.Fatalf("cache grew to %d", len(r.cache))
		}
	})
}
