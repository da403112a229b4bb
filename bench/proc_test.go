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

// startProcess starts cmd with testnet.Start and has saveOutput save its
// output.
func startProcess(tb testing.TB, name string, cmd *exec.Cmd) *testnet.Process {
	tb.Helper()
	p := testnet.Start(tb, name, cmd)
	saveOutput(tb, p)
	return p
}

// saveOutput, with -logs, saves the whole output of p to a file of that
// directory when tb ends. Call it right after starting p: its cleanup then
// runs before Start's, and stops p itself so that the file has all of it.
func saveOutput(tb testing.TB, p *testnet.Process) {
	if *flagLogDir == "" {
		return
	}
	tb.Cleanup(func() {
		if !p.Exited() {
			if err := p.Stop(testnet.StopTimeout); err != nil {
				tb.Logf("%s: %v", p, err)
			}
		}
		path := filepath.Join(*flagLogDir, fmt.Sprintf("%s-%s.log", strings.ReplaceAll(tb.Name(), "/", "-"), strings.ReplaceAll(p.String(), " ", "-")))
		if err := os.WriteFile(path, p.Output().Bytes(), 0o644); err != nil {
			tb.Logf("%s: saving its output: %v", p, err)
		}
	})
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
