//go:build !linux

package signaling

import "errors"

// poller is Linux's alone (park_linux.go): elsewhere every socket keeps
// its read goroutine.
type poller struct{}

func newPoller(wake func(*socket)) (*poller, error) {
	return nil, errors.ErrUnsupported
}

func (p *poller) run()              {}
func (p *poller) arm(*socket) error { return errors.ErrUnsupported }
func (p *poller) forget(*socket)    {}
func (p *poller) close()            {}
