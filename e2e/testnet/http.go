package testnet

import (
	"net/http"
	"net/netip"
	"testing"
	"time"
)

// ServeHandler serves h over HTTP on a free port of host's address until
// tb's cleanup, and returns the origin, http://10.231.0.<i>:<port>. It fails
// tb if it cannot listen.
func (n *Net) ServeHandler(tb testing.TB, host string, h http.Handler) (origin string) {
	tb.Helper()
	l, err := n.Listen(host, "tcp4", netip.AddrPortFrom(n.Addr(host), 0).String())
	if err != nil {
		tb.Fatalf("listening in %s: %v", host, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	tb.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String()
}
