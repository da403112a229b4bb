package testnet

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// A Process is a program that the Wait methods watch while they poll: once it
// has exited it will never answer, so they give up at once instead of at
// their deadline.
type Process interface {
	// Done returns a channel that is closed when the process has exited.
	Done() <-chan struct{}
	// Err returns the error from waiting for the process, once Done is
	// closed: nil for a clean exit.
	Err() error
}

// WaitHTTP polls url from host's namespace until it answers 200 OK, the
// process p (if not nil) exits, or ctx is done.
func (n *Net) WaitHTTP(ctx context.Context, host, url string, p Process) error {
	c := n.HTTPClient(host)
	return Poll(ctx, p, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
		if err != nil {
			return err
		}
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	})
}

// WaitTCP polls addr from host's namespace until it accepts a TCP connection,
// the process p (if not nil) exits, or ctx is done.
func (n *Net) WaitTCP(ctx context.Context, host, addr string, p Process) error {
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
func Poll(ctx context.Context, p Process, try func(context.Context) error) error {
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
			return fmt.Errorf("%s exited: %v (last error: %v)", processName(p), p.Err(), err)
		case <-tick.C:
		}
	}
}

// processName names p in errors: its String method if it has one.
func processName(p Process) string {
	if s, ok := p.(fmt.Stringer); ok {
		return s.String()
	}
	return "the process"
}

// WaitFor calls try every 50 ms until it returns nil or maxWait has passed,
// and then returns try's last error: the one way tests wait on a condition
// (tailscale's tstest.WaitFor).
func WaitFor(maxWait time.Duration, try func() error) error {
	ctx, cancel := context.WithTimeout(context.Background(), maxWait)
	defer cancel()
	return Poll(ctx, nil, func(context.Context) error { return try() })
}
