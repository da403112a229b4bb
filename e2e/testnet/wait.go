package testnet

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// WaitHTTP polls url from host's namespace until it answers 200 OK, the
// process p (if not nil) exits, or ctx is done.
func (n *Net) WaitHTTP(ctx context.Context, host, url string, p *Process) error {
	return WaitOK(ctx, n.HTTPClient(host), url, p)
}

// WaitOK polls url with c until it answers 200 OK, the process p (if not
// nil) exits, or ctx is done; the error says which, as Poll's does.
func WaitOK(ctx context.Context, c *http.Client, url string, p *Process) error {
	return Poll(ctx, p, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
		if err != nil {
			return err
		}
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	})
}

// WaitTCP polls addr from host's namespace until it accepts a TCP connection,
// the process p (if not nil) exits, or ctx is done.
func (n *Net) WaitTCP(ctx context.Context, host, addr string, p *Process) error {
	dial := n.DialContext(host)
	return Poll(ctx, p, func(ctx context.Context) error {
		c, err := dial(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	})
}

// Poll calls try every 50 ms, each call bounded by 1 s, until it returns nil,
// p (if not nil) exits, or ctx is done. The error says which, with the last
// error of try.
func Poll(ctx context.Context, p *Process, try func(context.Context) error) error {
	var exited <-chan struct{}
	if p != nil {
		exited = p.Done()
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		tctx, cancel := context.WithTimeout(ctx, time.Second)
		err := try(tctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-exited:
			return fmt.Errorf("%s exited: %v (last error: %v)", p, p.Err(), err)
		case <-tick.C:
		}
	}
}

// WaitFor calls try every 50 ms until it returns nil or maxWait has passed:
// the one way tests wait on a condition (tailscale's tstest.WaitFor). It
// returns nil, or an error that wraps context.DeadlineExceeded and quotes
// try's last error.
func WaitFor(maxWait time.Duration, try func() error) error {
	ctx, cancel := context.WithTimeout(context.Background(), maxWait)
	defer cancel()
	return Poll(ctx, nil, func(context.Context) error { return try() })
}
