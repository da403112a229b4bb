package webrtc

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"strings"
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

func TestResolveSDP(t *testing.T) {
	sdp := strings.Join([]string{
		"v=0",
		"a=candidate:1 1 udp 2122260223 1f4712db-ea17-4bcf-a596-105139dfd8bf.local 54400 typ host generation 0",
		"a=candidate:2 1 udp 2122260223 9b36eaac-bb2e-49bb-bb78-21c41c499900.local 54401 typ host generation 0",
		"a=candidate:3 1 udp 1686052607 203.0.113.7 54402 typ srflx raddr 0.0.0.0 rport 0",
		"",
	}, "\r\n")
	r := offlineResolver(map[string]string{"1f4712db-ea17-4bcf-a596-105139dfd8bf.local": "10.231.0.2"})
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	got := r.resolveSDP(ctx, sdp)
	if !strings.Contains(got, "a=candidate:1 1 udp 2122260223 10.231.0.2 54400 typ host") {
		t.Errorf("resolved name not put in place:\n%s", got)
	}
	if strings.Contains(got, "9b36eaac") {
		t.Errorf("unresolved .local candidate kept:\n%s", got)
	}
	if !strings.Contains(got, "203.0.113.7 54402 typ srflx") || !strings.HasPrefix(got, "v=0\r\n") {
		t.Errorf("other lines changed:\n%s", got)
	}
	var none *mdnsResolver
	if got := none.resolveSDP(ctx, sdp); strings.Contains(got, ".local") {
		t.Errorf("without a resolver .local candidates stay:\n%s", got)
	}
}

// TestMDNSHandle feeds a response as Chromium's responder sends it and
// checks that a waiting resolution gets its address.
func TestMDNSHandle(t *testing.T) {
	r := offlineResolver(nil)
	name := "1f4712db-ea17-4bcf-a596-105139dfd8bf.local"
	ch := make(chan netip.Addr, 1)
	r.waiters[name] = []chan netip.Addr{ch}
	n, _ := dnsmessage.NewName(name + ".")
	m := dnsmessage.Message{
		Header: dnsmessage.Header{Response: true, Authoritative: true},
		Answers: []dnsmessage.Resource{{
			Header: dnsmessage.ResourceHeader{Name: n, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 120},
			Body:   &dnsmessage.AResource{A: [4]byte{10, 231, 0, 3}},
		}},
	}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	r.handle(b)
	select {
	case a := <-ch:
		if a != netip.MustParseAddr("10.231.0.3") {
			t.Fatalf("resolved to %v", a)
		}
	default:
		t.Fatal("waiter not told")
	}
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
