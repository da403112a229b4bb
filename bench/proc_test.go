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
	_, d, err := statCPU(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	return d, err
}

// statCPU reads a /proc stat file of a process or thread and returns its
// name and the user and system CPU time it has used.
func statCPU(path string) (string, time.Duration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", 0, err
	}
	// The command name (field 2) may hold spaces; the fields after its
	// closing parenthesis start with field 3, so utime (14) and stime (15)
	// are the 12th and 13th.
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

// threadCPU is the CPU time a thread has used, and its name.
type threadCPU struct {
	name string
	cpu  time.Duration
}

// hostThreads returns the CPU time so far of every thread of every process
// in host's namespace, by "pid/tid". Threads that exit between two calls
// are missed; a browser's threads live as long as its page.
func hostThreads(e *env, host string) (map[string]threadCPU, error) {
	out, err := exec.Command("ip", "netns", "pids", e.net.Namespace(host)).Output()
	if err != nil {
		return nil, fmt.Errorf("ip netns pids: %w", err)
	}
	threads := make(map[string]threadCPU)
	for _, pid := range strings.Fields(string(out)) {
		tasks, err := os.ReadDir("/proc/" + pid + "/task")
		if err != nil {
			continue // gone
		}
		for _, t := range tasks {
			name, d, err := statCPU("/proc/" + pid + "/task/" + t.Name() + "/stat")
			if err == nil {
				threads[pid+"/"+t.Name()] = threadCPU{name: name, cpu: d}
			}
		}
	}
	return threads, nil
}

// hostCPU is the CPU a host's programs used over a run: all their threads,
// and the busiest one.
type hostCPU struct {
	Total   time.Duration
	Busiest threadCPU
}

// cpuSince returns what the threads of before used until after.
func cpuSince(before, after map[string]threadCPU) hostCPU {
	var h hostCPU
	for id, t := range after {
		t.cpu -= before[id].cpu
		h.Total += t.cpu
		if t.cpu > h.Busiest.cpu {
			h.Busiest = t
		}
	}
	return h
}
