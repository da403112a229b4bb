package testnet

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
)

// Forward relays every TCP connection made to addr (such as
// "127.0.0.1:8080") in host's namespace to target, dialled from host, until
// tb's cleanup, which closes them all. An origin of another host so appears
// on host's loopback, which every browser counts as a secure context: the
// way to one in a browser that takes no flag for it, such as WebKitGTK.
func (n *Net) Forward(tb testing.TB, host, addr, target string) {
	tb.Helper()
	l, err := n.Listen(host, "tcp4", addr)
	if err != nil {
		tb.Fatalf("forwarding %s in %s: %v", addr, host, err)
	}
	dial := n.DialContext(host)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	tb.Cleanup(func() {
		cancel()
		l.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { relay(ctx, c.(*net.TCPConn), dial, target) })
		}
	})
}

// relay copies between c and a new connection to target both ways until
// both sides have closed, or ctx is done.
func relay(ctx context.Context, c *net.TCPConn, dial func(ctx context.Context, network, addr string) (net.Conn, error), target string) {
	defer c.Close()
	uc, err := dial(ctx, "tcp4", target)
	if err != nil {
		return
	}
	u := uc.(*net.TCPConn)
	defer u.Close()
	defer context.AfterFunc(ctx, func() {
		c.Close()
		u.Close()
	})()
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(u, c)
		u.CloseWrite()
	}()
	io.Copy(c, u)
	c.CloseWrite()
	<-done
}
