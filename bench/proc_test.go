package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seedcast/seedcast/e2e/testnet"
)

// stopTimeout bounds how long a program may take to exit after SIGINT
// before it is killed.
const stopTimeout = 10 * time.Second

// process is a program the harness started in the test network, with its
// output captured. It implements testnet.Process.
type process struct {
	name string
	cmd  *exec.Cmd
	out  testnet.Buffer // stdout and stderr interleaved

	done    chan struct{}
	waitErr error // set before done is closed
}

// startProcess starts cmd (made by testnet.Net.Command), capturing its
// output unless cmd.Stdout is already set, and registers a cleanup that
// stops it: SIGINT, then SIGKILL to its process group after stopTimeout.
// The program runs in a process group of its own, so that a Ctrl-C at the
// terminal reaches only the harness, which then stops everything in order.
func startProcess(tb testing.TB, name string, cmd *exec.Cmd) *process {
	tb.Helper()
	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	if cmd.Stdout == nil {
		cmd.Stdout = &p.out
	}
	cmd.Stderr = &p.out
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	// Keep testnet's Pdeathsig: the program dies with the harness.
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		tb.Fatalf("%s: start: %v", name, err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	tb.Cleanup(func() {
		if err := p.stop(); err != nil {
			tb.Logf("%s: %v", name, err)
		}
		if *flagLogDir != "" {
			path := filepath.Join(*flagLogDir, fmt.Sprintf("%s-%s.log", strings.ReplaceAll(tb.Name(), "/", "-"), strings.ReplaceAll(name, " ", "-")))
			if err := os.WriteFile(path, []byte(p.out.String()), 0o644); err != nil {
				tb.Logf("%s: saving its output: %v", name, err)
			}
		}
		if tb.Failed() {
			tb.Logf("%s: output (last 16 KiB):\n%s", name, p.out.Tail(16<<10))
		}
	})
	return p
}

// Done returns a channel closed when the process has exited.
func (p *process) Done() <-chan struct{} { return p.done }

// Err returns the error of the exited process: nil for status 0.
func (p *process) Err() error { return p.waitErr }

// String returns the name of the process, for testnet's errors.
func (p *process) String() string { return p.name }

// stop interrupts the process and waits up to stopTimeout for it to exit,
// then kills its process group. It returns nil for a clean exit.
func (p *process) stop() error {
	select {
	case <-p.done:
		return nil // it exited before: its status is not news here
	default:
	}
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("SIGINT: %w", err)
	}
	t := time.NewTimer(stopTimeout)
	defer t.Stop()
	select {
	case <-p.done:
		if p.waitErr != nil {
			return fmt.Errorf("exited after SIGINT with %w", p.waitErr)
		}
		return nil
	case <-t.C:
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		return fmt.Errorf("did not exit within %v of SIGINT; killed it", stopTimeout)
	}
}

// wait waits up to timeout for the process to exit by itself and returns
// its exit error, or an error saying it still runs.
func (p *process) wait(timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
		return p.waitErr
	case <-t.C:
		return fmt.Errorf("%s still running %v after it was told to exit", p.name, timeout)
	}
}

// cpu returns the user and system CPU time the process has used so far,
// all its threads together, from /proc/<pid>/stat.
func (p *process) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; the fields after its
	// closing parenthesis start with field 3, so utime (14) and stime (15)
	// are the 12th and 13th.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no ')' in %q", p.cmd.Process.Pid, b)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields after the name, want 13 or more", p.cmd.Process.Pid, len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", p.cmd.Process.Pid, err)
		}
		ticks += n
	}
	// /proc counts in USER_HZ, which is 100 on every Linux ABI.
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}
