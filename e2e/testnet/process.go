package testnet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// StopTimeout is how long a program may take to exit after SIGINT before
// the cleanup of Start kills it. seedcast's contract is a clean exit on
// SIGINT, so 10 s is plenty.
const StopTimeout = 10 * time.Second

// logTailBytes is how much of a program's output the cleanup of Start puts
// into the log of a failed test.
const logTailBytes = 64 << 10

// Process is a program started by Start, with its output captured. Its
// methods may be called from several goroutines. Given to Poll or the Wait
// methods, it makes them give up as soon as the program exits: it will
// never answer then.
type Process struct {
	name string
	cmd  *exec.Cmd

	out    Buffer // stdout and stderr interleaved, as a reader of the terminal would see them
	stdout Buffer // stdout alone, for programs whose stdout is a contract

	done    chan struct{} // closed when the process has exited
	waitErr error         // the error from cmd.Wait, set before done is closed
}

// Start starts cmd, made by Net.Command or exec.Command, as the program
// called name, and registers a cleanup that stops it if it still runs
// (SIGINT, then SIGKILL to its process group after StopTimeout) and logs the
// tail of its output if tb failed. Unless cmd.Stdout is set, the program's
// stdout goes to Stdout and Output; its stderr always goes to Output, so
// cmd.Stderr must be unset.
//
// The program runs in a process group of its own, so that a Ctrl-C at the
// terminal reaches only the test, which then stops everything in order, and
// a kill reaches whatever the program started. It gets SIGKILL if the test
// process dies first: Start keeps the OS thread that forks it for as long as
// the program runs, because Linux sends the death signal when that thread
// exits, not the process (Go ends a thread whose goroutine exits locked, as
// Net.Do may). If cmd cannot start, Start fails tb.
func Start(tb testing.TB, name string, cmd *exec.Cmd) *Process {
	tb.Helper()
	p := &Process{name: name, cmd: cmd, done: make(chan struct{})}
	if cmd.Stdout == nil {
		cmd.Stdout = io.MultiWriter(&p.out, &p.stdout)
	}
	cmd.Stderr = &p.out
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	tb.Logf("%s: starting %s", name, ShellQuote(cmd.Args))
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		tb.Fatalf("%s: start: %v", name, err)
	}
	tb.Cleanup(func() {
		if !p.Exited() {
			if err := p.Stop(StopTimeout); err != nil {
				tb.Logf("%s: stopping at cleanup: %v", name, err)
			}
		}
		if tb.Failed() {
			p.logTail(tb)
		}
	})
	return p
}

// Done returns a channel that is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err returns the error from waiting for the process once Done is closed:
// nil for exit status 0.
func (p *Process) Err() error { return p.waitErr }

// String returns the name given to Start, for errors.
func (p *Process) String() string { return p.name }

// Pid returns the process id of the program.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Output returns the program's stdout and stderr, interleaved as written.
func (p *Process) Output() *Buffer { return &p.out }

// Stdout returns the program's stdout alone; it stays empty when the
// caller of Start set cmd.Stdout.
func (p *Process) Stdout() *Buffer { return &p.stdout }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits up to timeout for the process to exit by itself and returns
// its exit error (nil for status 0), or an error saying it still runs.
func (p *Process) Wait(timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.done:
		return p.waitErr
	case <-timer.C:
		return fmt.Errorf("%s still running after %v", p.name, timeout)
	}
}

// Signal sends sig to the program; it is an error if it has exited.
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Stop sends SIGINT and waits up to timeout for the process to exit. If it
// does not, Stop kills its whole process group and says so. It returns nil
// only for a clean exit with status 0; for a process that had exited
// before, it returns its exit error.
func (p *Process) Stop(timeout time.Duration) error {
	if p.Exited() {
		return p.waitErr
	}
	if err := p.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("%s: SIGINT: %w", p.name, err)
	}
	if err := p.Wait(timeout); err != nil {
		if !p.Exited() {
			p.Kill()
			return fmt.Errorf("%s did not exit within %v of SIGINT; killed it", p.name, timeout)
		}
		return fmt.Errorf("%s exited after SIGINT with %w", p.name, err)
	}
	return nil
}

// Kill sends SIGKILL to the process group and waits for the process to
// exit.
func (p *Process) Kill() {
	_ = syscall.Kill(-p.Pid(), syscall.SIGKILL)
	<-p.done
}

// CPU returns the user and system CPU time the process has used so far, all
// its threads together, from /proc/<pid>/stat.
func (p *Process) CPU() (time.Duration, error) {
	_, d, err := StatCPU(fmt.Sprintf("/proc/%d/stat", p.Pid()))
	return d, err
}

// StatCPU reads the /proc stat file of a process or thread at path (such as
// /proc/<pid>/task/<tid>/stat) and returns its command name and the user and
// system CPU time it has used.
func StatCPU(path string) (name string, cpu time.Duration, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", 0, err
	}
	// The command name (field 2) may hold spaces; the fields after its
	// closing parenthesis start with field 3, so utime (14) and stime (15)
	// are the 12th and 13th (proc(5)).
	i, j := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if i < 0 || j < i {
		return "", 0, fmt.Errorf("%s: no (name) in %q", path, b)
	}
	f := strings.Fields(string(b[j+1:]))
	if len(f) < 13 {
		return "", 0, fmt.Errorf("%s: %d fields after the name, want 13 or more", path, len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return "", 0, fmt.Errorf("%s: %w", path, err)
		}
		ticks += n
	}
	// /proc counts in USER_HZ, which is 100 on every Linux ABI.
	return string(b[i+1 : j]), time.Duration(ticks) * 10 * time.Millisecond, nil
}

// logTail logs the last logTailBytes of the process's output.
func (p *Process) logTail(tb testing.TB) {
	tb.Helper()
	b := overwriteCR(p.out.Bytes())
	cut := ""
	if len(b) > logTailBytes {
		b = b[len(b)-logTailBytes:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
		cut = fmt.Sprintf(", last %d KiB", logTailBytes>>10)
	}
	tb.Logf("---- %s output (%s%s) ----\n%s\n---- end of %s output ----", p.name, ShellQuote(p.cmd.Args), cut, b, p.name)
}

// overwriteCR keeps of each line only what follows its last carriage
// return, as a terminal shows it: progress meters such as transmission-cli's
// redraw one line many times a second and would fill the log tail.
func overwriteCR(b []byte) []byte {
	if bytes.IndexByte(b, '\r') < 0 {
		return b
	}
	var out []byte
	for line := range bytes.Lines(b) {
		body := bytes.TrimRight(line, "\r\n")
		if i := bytes.LastIndexByte(body, '\r'); i >= 0 {
			body = body[i+1:]
		}
		out = append(out, bytes.TrimRight(body, " ")...)
		if bytes.HasSuffix(line, []byte("\n")) {
			out = append(out, '\n')
		}
	}
	return out
}

// ShellQuote renders args as a command line that a POSIX shell reads back as
// args: a word of safe characters stays as it is, any other is put in single
// quotes.
func ShellQuote(args []string) string {
	var sb strings.Builder
	for i, a := range args {
		if i > 0 {
			sb.WriteByte(' ')
		}
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,@+%", r))
		}) < 0 {
			sb.WriteString(a)
			continue
		}
		sb.WriteString("'" + strings.ReplaceAll(a, "'", `'\''`) + "'")
	}
	return sb.String()
}
