package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seedcast/seedcast/e2e/testnet"
)

// startProcess starts cmd with testnet.Start and, with -logs, saves the
// program's whole output to a file of that directory when tb ends.
func startProcess(tb testing.TB, name string, cmd *exec.Cmd) *testnet.Process {
	tb.Helper()
	p := testnet.Start(tb, name, cmd)
	if *flagLogDir == "" {
		return p
	}
	// Registered after Start's cleanup, so it runs first: it stops the
	// program itself, so that the file has all its output.
	tb.Cleanup(func() {
		if !p.Exited() {
			if err := p.Stop(testnet.StopTimeout); err != nil {
				tb.Logf("%s: %v", name, err)
			}
		}
		path := filepath.Join(*flagLogDir, fmt.Sprintf("%s-%s.log", strings.ReplaceAll(tb.Name(), "/", "-"), strings.ReplaceAll(name, " ", "-")))
		if err := os.WriteFile(path, p.Output().Bytes(), 0o644); err != nil {
			tb.Logf("%s: saving its output: %v", name, err)
		}
	})
	return p
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
			name, d, err := testnet.StatCPU("/proc/" + pid + "/task/" + t.Name() + "/stat")
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
