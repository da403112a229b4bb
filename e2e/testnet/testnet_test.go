//go:build e2e

// The self-test creates namespaces, so it runs with the end-to-end tests,
// behind their build tag, which make test always sets.

package testnet

import (
	"context"
	"net"
	"testing"
	"time"
)

// TestNet checks the harness itself: hosts reach each other over TCP,
// multicast to the mDNS group reaches the other hosts, and nothing routes out.
func TestNet(t *testing.T) {
	tn := New(t, "a", "b", "c")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	l, err := tn.Listen("b", "tcp4", tn.Addr("b").String()+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("hi"))
			c.Close()
		}
	}()
	c, err := tn.DialContext("a")(ctx, "tcp4", l.Addr().String())
	if err != nil {
		t.Fatalf("dial b from a: %v", err)
	}
	got := make([]byte, 2)
	if _, err := c.Read(got); err != nil || string(got) != "hi" {
		t.Fatalf("read from b: %q, %v", got, err)
	}
	c.Close()
	// b's listener is not in the root namespace.
	if c, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp4", l.Addr().String()); err == nil {
		c.Close()
		t.Errorf("dialed %s from the root namespace", l.Addr())
	}

	// mDNS group: a sends, b and c must both receive.
	group := &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353}
	var recv []*net.UDPConn
	for _, h := range []string{"b", "c"} {
		err := tn.Do(h, func() error {
			ifi, err := net.InterfaceByName("eth0")
			if err != nil {
				return err
			}
			u, err := net.ListenMulticastUDP("udp4", ifi, group)
			if err != nil {
				return err
			}
			recv = append(recv, u)
			return nil
		})
		if err != nil {
			t.Fatalf("multicast listen in %s: %v", h, err)
		}
	}
	var send net.Conn
	if err := tn.Do("a", func() error {
		var err error
		send, err = net.DialUDP("udp4", nil, group)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer send.Close()
	for i, u := range recv {
		defer u.Close()
		buf := make([]byte, 64)
		var (
			n    int
			from *net.UDPAddr
		)
		// Multicast is datagrams: resend until received or ctx is done.
		err := Poll(ctx, nil, func(context.Context) error {
			send.Write([]byte("mdns?"))
			u.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			var err error
			n, from, err = u.ReadFromUDP(buf)
			return err
		})
		if err != nil {
			t.Fatalf("receiver %d: no multicast from a: %v", i, err)
		}
		if string(buf[:n]) != "mdns?" || !from.IP.Equal(tn.Addr("a").AsSlice()) {
			t.Errorf("receiver %d got %q from %v", i, buf[:n], from)
		}
	}

	// No way out: an address beyond the bridge is unreachable from a host.
	dctx, dcancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer dcancel()
	if c, err := tn.DialContext("a")(dctx, "tcp4", "192.0.2.1:80"); err == nil {
		c.Close()
		t.Error("dialed 192.0.2.1 (TEST-NET-1) from inside the test network")
	}
}
