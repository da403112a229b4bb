package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/unix"
)

// facts describes the machine and the software measured.
type facts struct {
	Date                    time.Time
	CPUs                    int
	CPUModel, Kernel        string
	Chromium, Go, Pion      string
	WebTorrent, SeedcastRev string
}

func (f facts) String() string {
	return fmt.Sprintf("%d cores (%s), Linux %s; %s; %s; pion/webrtc %s; WebTorrent %s; seedcast %s",
		f.CPUs, f.CPUModel, f.Kernel, f.Chromium, f.Go, f.Pion, f.WebTorrent, f.SeedcastRev)
}

// machineFacts gathers facts; what it cannot find it calls "unknown".
func machineFacts(ctx context.Context, chromium, modules string) facts {
	f := facts{
		Date:       time.Now().UTC(),
		CPUs:       runtime.NumCPU(),
		CPUModel:   "unknown CPU",
		Kernel:     "unknown",
		Chromium:   "Chromium unknown",
		Go:         runtime.Version(),
		Pion:       "unknown",
		WebTorrent: "unknown",
	}
	if c, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(c)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				f.CPUModel = strings.TrimSpace(v)
				break
			}
		}
		c.Close()
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		f.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	if out, err := exec.CommandContext(ctx, chromium, "--version").Output(); err == nil {
		f.Chromium = strings.TrimSpace(strings.SplitN(string(out), " built on", 2)[0])
	}
	// A test binary carries no module list (runtime/debug.ReadBuildInfo
	// has no Deps in it), so ask the go command.
	list := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Version}}", "github.com/pion/webrtc/v4")
	list.Dir = ".."
	if out, err := list.Output(); err == nil {
		f.Pion = strings.TrimSpace(string(out))
	}
	if b, err := os.ReadFile(filepath.Join(modules, "webtorrent/package.json")); err == nil {
		var pkg struct{ Version string }
		if json.Unmarshal(b, &pkg) == nil && pkg.Version != "" {
			f.WebTorrent = pkg.Version
		}
	}
	f.SeedcastRev = "unknown revision"
	if out, err := exec.CommandContext(ctx, "git", "-C", "..", "describe", "--always", "--dirty").Output(); err == nil {
		f.SeedcastRev = strings.TrimSpace(string(out))
	}
	return f
}

// report is the table make bench prints.
type report struct {
	Facts   facts
	Figures []*figure
	Elapsed time.Duration
	Stall   time.Duration
	// LoadBefore and LoadAfter are the 1-minute load averages before the
	// first figure and after the last: other work on the machine during a
	// run shows in them, and in the figures.
	LoadBefore, LoadAfter string
}

// loadAverage returns the 1-minute load average, or "?".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// Targets of issue 4.
const (
	targetBOverA = 0.8
	targetBOverC = 1.6
)

// median returns the median rate of f's runs, or why there is none.
func (f *figure) median() (float64, string) {
	if f.NA != "" {
		return 0, "n/a (" + f.NA + ")"
	}
	if len(f.Runs) == 0 {
		return 0, "n/a (no runs)"
	}
	var rates []float64
	for _, r := range f.Runs {
		if r.Err == nil {
			rates = append(rates, r.MBps())
		}
	}
	if failed := len(f.Runs) - len(rates); failed > 0 {
		return 0, fmt.Sprintf("n/a (%d of %d runs failed)", failed, len(f.Runs))
	}
	return medianOf(rates), ""
}

func medianOf(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Print writes the table.
func (rep report) Print(w io.Writer) {
	f := rep.Facts
	fmt.Fprintf(w, "seedcast bench, %s, %s wall time\n", f.Date.Format("2006-01-02 15:04 MST"), rep.Elapsed.Round(time.Second))
	fmt.Fprintf(w, "machine: %d cores (%s), Linux %s; 1-minute load average %s before, %s after\n",
		f.CPUs, f.CPUModel, f.Kernel, rep.LoadBefore, rep.LoadAfter)
	fmt.Fprintf(w, "software: %s, %s, pion/webrtc %s, WebTorrent %s, seedcast checkout %s\n", f.Chromium, f.Go, f.Pion, f.WebTorrent, f.SeedcastRev)
	fmt.Fprintf(w, "link: network namespaces on one Linux bridge (veth, MTU 1500); Chromium with default mDNS candidates, iceServers []\n\n")

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tMB/s\truns (MB/s)\tTTFB\tafter TTFB\tlongest gap\tsender CPU\tload after runs\tsize, received\t")
	med := make(map[string]float64)
	var stalls []string
	for _, fig := range rep.Figures {
		m, na := fig.median()
		label := fmt.Sprintf("(%s) %s", fig.Key, fig.Title)
		if na != "" && len(fig.Runs) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t\t\t\t\t\t\t\t\n", label, na)
			continue
		}
		var runs, cpus, loads []string
		var ttfb, after []float64
		var size, received int64
		longest, longestRun := gap{}, 0
		for i, r := range fig.Runs {
			loads = append(loads, r.Load)
			if r.Gap.Seconds > longest.Seconds {
				longest, longestRun = r.Gap, i+1
			}
			if r.Err != nil {
				runs = append(runs, "fail")
				continue
			}
			size, received = r.Size, max(received, r.Bytes)
			runs = append(runs, fmt.Sprintf("%.2f", r.MBps()))
			ttfb = append(ttfb, r.TTFB)
			if r.Seconds > r.TTFB && r.Size > 0 {
				after = append(after, float64(r.Size)/1e6/(r.Seconds-r.TTFB))
			}
			if r.CPUKnown {
				cpus = append(cpus, fmt.Sprintf("%.2f", r.CPU/r.Seconds))
			}
		}
		rate := na
		if na == "" {
			rate = fmt.Sprintf("%.2f", m)
			med[fig.Key] = m
		}
		ttfbs, afters := "", ""
		if len(ttfb) > 0 {
			ttfbs = fmt.Sprintf("%.2f s", medianOf(ttfb))
		}
		if len(after) > 0 && fig.Key != "a" {
			afters = fmt.Sprintf("%.2f", medianOf(after))
		}
		gapCol := "none"
		switch {
		case longest.ToEnd:
			gapCol = fmt.Sprintf("≥ %.2f s (run %d from %.1f MB: stuck)", longest.Seconds, longestRun, float64(longest.Bytes)/1e6)
		case longest.Seconds > 0:
			gapCol = fmt.Sprintf("%.2f s (run %d at %.1f MB)", longest.Seconds, longestRun, float64(longest.Bytes)/1e6)
		}
		if longest.Seconds >= rep.Stall.Seconds() {
			stalls = append(stalls, fmt.Sprintf("(%s) %s", fig.Key, gapCol))
		}
		cpu := "n/m"
		if len(cpus) > 0 {
			cpu = strings.Join(cpus, " ") + " cores"
		}
		sizes := ""
		if size > 0 {
			sizes = fmt.Sprintf("%.1f MB, %.1f MB", float64(size)/1e6, float64(received)/1e6)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", label, rate, strings.Join(runs, " "), ttfbs, afters, gapCol, cpu, strings.Join(loads, " "), sizes)
	}
	tw.Flush()
	if len(stalls) == 0 {
		fmt.Fprintf(w, "\nstall: none (no gap without progress of %v or more in any run)\n", rep.Stall)
	} else {
		fmt.Fprintf(w, "\nstall (a gap without progress of %v or more): %s\n", rep.Stall, strings.Join(stalls, "; "))
	}
	fmt.Fprintf(w, "\nMB/s: 10^6 bytes per second, median of %d runs (each run shown). (a) counts from the open channel to the last byte,\n", *flagRuns)
	fmt.Fprintf(w, "(b)-(d) from adding the torrent to 'done'. TTFB: median time to the first byte, for (a) from the page's receipt of the offer;\n")
	fmt.Fprintf(w, "after TTFB: median MB/s from the first byte to 'done', for (b)-(d).\n")
	fmt.Fprintf(w, "longest gap: without progress, over all runs, from 250 ms samples in the page. sender CPU: CPU time of the sending\n")
	fmt.Fprintf(w, "process over transfer time, per run (n/m: not measured, the sender is a browser). size, received: the payload of a\n")
	fmt.Fprintf(w, "run and the most bytes a page counted in one run, duplicate blocks included. load after runs: 1-minute load average\n")
	fmt.Fprintf(w, "at the end of each run; the benchmark itself brings it to 2-3 on 2 cores, other work on the machine adds to it.\n\n")

	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ratio\tvalue\ttarget\tresult\t")
	ratio := func(name, x, y string, target float64) {
		a, okA := med[x]
		b, okB := med[y]
		if !okA || !okB || b == 0 {
			t := "—"
			if target > 0 {
				t = fmt.Sprintf("≥ %.2f", target)
			}
			fmt.Fprintf(tw, "%s\tn/a\t%s\tn/a\t\n", name, t)
			return
		}
		v := a / b
		if target == 0 {
			fmt.Fprintf(tw, "%s\t%.2f\t—\t\t\n", name, v)
			return
		}
		res := "MISS"
		if v >= target {
			res = "PASS"
		}
		fmt.Fprintf(tw, "%s\t%.2f\t≥ %.2f\t%s\t\n", name, v, target, res)
	}
	ratio("b/a", "b", "a", targetBOverA)
	ratio("b/c", "b", "c", targetBOverC)
	ratio("b/d", "b", "d", 0)
	// No stall over 200 MB in (b).
	for _, fig := range rep.Figures {
		if fig.Key != "b" {
			continue
		}
		if fig.NA != "" {
			fmt.Fprintf(tw, "b stall\tn/a\tnone ≥ %v\tn/a\t\n", rep.Stall)
			break
		}
		var worst gap
		for _, r := range fig.Runs {
			if r.Gap.Seconds > worst.Seconds {
				worst = r.Gap
			}
		}
		if worst.Seconds >= rep.Stall.Seconds() {
			atLeast := ""
			if worst.ToEnd {
				atLeast = "≥ "
			}
			fmt.Fprintf(tw, "b stall\t%s%.2f s\tnone ≥ %v\tMISS\t\n", atLeast, worst.Seconds, rep.Stall)
		} else {
			fmt.Fprintf(tw, "b stall\tnone\tnone ≥ %v\tPASS\t\n", rep.Stall)
		}
	}
	tw.Flush()

	var errs []string
	for _, fig := range rep.Figures {
		for i, r := range fig.Runs {
			if r.Err != nil {
				errs = append(errs, fmt.Sprintf("(%s) run %d: %v", fig.Key, i+1, r.Err))
			}
		}
	}
	if len(errs) > 0 {
		fmt.Fprintf(w, "\nfailed runs:\n  %s\n", strings.Join(errs, "\n  "))
	}
}
