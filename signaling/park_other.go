//go:build !linux

package signaling

import (
	"errors"
	"syscall"
)

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

// writeFrameNow writes nothing: every frame goes through a writer.
func writeFrameNow(rc syscall.RawConn, hdr, payload []byte) int { return 0 }
