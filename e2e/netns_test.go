//go:build e2e

package e2e

import "github.com/seedcast/seedcast/e2e/testnet"

// process is a testnet.Process, so the test network's Wait methods give up
// as soon as the program they wait for has exited.
var _ testnet.Process = (*process)(nil)

// Done returns a channel that is closed when the process has exited.
func (p *process) Done() <-chan struct{} { return p.done }

// Err returns the error from cmd.Wait once Done is closed.
func (p *process) Err() error { return p.waitErr }

// String returns the name the test gave the process.
func (p *process) String() string { return p.name }
