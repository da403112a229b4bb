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
	"testing"
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

// printHeader writes the title line of a table and the facts of the machine
// and software it was measured on.
func (f facts) printHeader(w io.Writer, title string, elapsed time.Duration, loadBefore, loadAfter string) {
	fmt.Fprintf(w, "%s, %s, %s wall time\n", title, f.Date.Format("2006-01-02 15:04 MST"), elapsed.Round(time.Second))
	fmt.Fprintf(w, "machine: %d cores (%s), Linux %s; 1-minute load average %s before, %s after\n",
		f.CPUs, f.CPUModel, f.Kernel, loadBefore, loadAfter)
	fmt.Fprintf(w, "software: %s, %s, pion/webrtc %s, WebTorrent %s, seedcast checkout %s\n", f.Chromium, f.Go, f.Pion, f.WebTorrent, f.SeedcastRev)
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
	rep.Facts.printHeader(w, "seedcast bench", rep.Elapsed, rep.LoadBefore, rep.LoadAfter)
	fmt.Fprintf(w, "link: network namespaces on one Linux bridge (veth, MTU 1500); Chromium with default mDNS candidates, iceServers []\n\n")

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tMB/s\truns (MB/s)\tTTFB\tafter TTFB\tlongest gap\tsender CPU\treceiver CPU\tbusiest receiver thread\tload after runs\tsize, received\t")
	med := make(map[string]float64)
	var stalls []string
	for _, fig := range rep.Figures {
		m, na := fig.median()
		label := fmt.Sprintf("(%s) %s", fig.Key, fig.Title)
		if na != "" && len(fig.Runs) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t\t\t\t\t\t\t\t\t\t\n", label, na)
			continue
		}
		var runs, cpus, rxs, loads []string
		var busiest threadCPU
		var busiestShare float64
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
			if r.RxKnown {
				rxs = append(rxs, fmt.Sprintf("%.2f", r.Rx.Total.Seconds()/r.Seconds))
				if sh := r.Rx.Busiest.cpu.Seconds() / r.Seconds; sh > busiestShare {
					busiest, busiestShare = r.Rx.Busiest, sh
				}
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
		rx, thread := "n/m", ""
		if len(rxs) > 0 {
			rx = strings.Join(rxs, " ") + " cores"
			thread = fmt.Sprintf("%s %.2f", busiest.name, busiestShare)
		}
		sizes := ""
		if size > 0 {
			sizes = fmt.Sprintf("%.1f MB, %.1f MB", float64(size)/1e6, float64(received)/1e6)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", label, rate, strings.Join(runs, " "), ttfbs, afters, gapCol, cpu, rx, thread, strings.Join(loads, " "), sizes)
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
	fmt.Fprintf(w, "process (for (c) the seeding Chromium) over transfer time, per run. receiver CPU: the same for the receiving Chromium,\n")
	fmt.Fprintf(w, "all its processes; busiest receiver thread: its busiest thread in any run, and its share of one core. size, received: the payload of a\n")
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

	var failed []string
	for _, fig := range rep.Figures {
		failed = append(failed, failures(fig.Key, fig.Runs)...)
	}
	printFailures(w, failed)
}

// failures describes the runs of a row that failed.
func failures[R interface{ err() error }](key string, runs []R) []string {
	var out []string
	for i, r := range runs {
		if err := r.err(); err != nil {
			out = append(out, fmt.Sprintf("(%s) run %d: %v", key, i+1, err))
		}
	}
	return out
}

// printFailures lists the failed runs of a table.
func printFailures(w io.Writer, failed []string) {
	if len(failed) > 0 {
		fmt.Fprintf(w, "\nfailed runs:\n  %s\n", strings.Join(failed, "\n  "))
	}
}

// playReport is the playback table make bench prints.
type playReport struct {
	Facts                 facts
	Rows                  []*playRow
	Elapsed               time.Duration
	LoadBefore, LoadAfter string
}

// medians returns the median first frame and seek of the row's runs that
// succeeded, how many there were, and the run whose first frame is the
// median (its index), or ok false if none did.
func (row *playRow) medians() (first, seek float64, n, mid int, ok bool) {
	first, n, mid = medianRun(row.Runs, func(r playRun) float64 { return r.FirstFrame })
	seek, _, _ = medianRun(row.Runs, func(r playRun) float64 { return r.Seek })
	return first, seek, n, mid, n > 0
}

// medianRun returns the median of v over the runs that succeeded, how many
// there were, and the index of the run whose v is nearest the median (the
// first of equals), or -1 if none succeeded.
func medianRun[R interface{ err() error }](runs []R, v func(R) float64) (m float64, n, mid int) {
	var xs []float64
	for _, r := range runs {
		if r.err() == nil {
			xs = append(xs, v(r))
		}
	}
	if len(xs) == 0 {
		return 0, 0, -1
	}
	m = medianOf(xs)
	mid, best := -1, 0.0
	for i, r := range runs {
		if d := v(r) - m; r.err() == nil && (mid < 0 || d*d < best) {
			mid, best = i, d*d
		}
	}
	return m, len(xs), mid
}

// Print writes the table.
func (rep playReport) Print(w io.Writer) {
	rep.Facts.printHeader(w, "seedcast playback bench", rep.Elapsed, rep.LoadBefore, rep.LoadAfter)
	fmt.Fprintf(w, "film: the demo pilot (%s); every run a fresh Chromium profile, a first visit; seek to %.0f %% at the first frame\n\n",
		pilotPath, *flagSeekFrac*100)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "row\tfirst frame\truns (s)\tseek\truns (s)\tbytes from (median run)\t")
	med := make(map[string][2]float64)
	for _, row := range rep.Rows {
		label := fmt.Sprintf("(%s) %s", row.Key, row.Title)
		if row.NA != "" && len(row.Runs) == 0 {
			fmt.Fprintf(tw, "%s\tn/a (%s)\t\t\t\t\t\n", label, row.NA)
			continue
		}
		var firsts, seeks []string
		for _, r := range row.Runs {
			if r.Err != nil {
				firsts, seeks = append(firsts, "fail"), append(seeks, "—")
				continue
			}
			firsts = append(firsts, fmt.Sprintf("%.2f", r.FirstFrame))
			seeks = append(seeks, fmt.Sprintf("%.2f", r.Seek))
		}
		first, seek, n, mid, ok := row.medians()
		fs, ss, src := "n/a (every run failed)", "n/a", ""
		if ok {
			fs, ss, src = fmt.Sprintf("%.3f s", first), fmt.Sprintf("%.3f s", seek), row.Runs[mid].Source
			if n < len(row.Runs) {
				fs += fmt.Sprintf(" (%d of %d runs)", n, len(row.Runs))
			}
			med[row.Key] = [2]float64{first, seek}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", label, fs, strings.Join(firsts, " "), ss, strings.Join(seeks, " "), src)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nfirst frame: from navigation (performance.timeOrigin) to the video's currentTime > 0, checked every 4 ms in the page;\n")
	fmt.Fprintf(w, "seek: from setting currentTime to playing past it again. Medians of the runs that did not fail; a run fails\n")
	fmt.Fprintf(w, "without a first frame within %v, or when its bytes came from elsewhere than the row says.\n", *flagFrameLimit)
	for _, row := range rep.Rows {
		if _, _, _, mid, ok := row.medians(); ok && row.Runs[mid].Marks != "" {
			fmt.Fprintf(w, "(%s) the page's marks in its median run, ms since navigation: %s\n", row.Key, row.Runs[mid].Marks)
		}
	}
	fmt.Fprintln(w)

	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "target\tvalue\ttarget\tresult\t")
	// check prints a target of issue 5: "at most" (≤) for the ratio,
	// "under" (<) for the times.
	check := func(name string, v float64, ok bool, target float64, unit string, under bool) {
		op, met := "≤", v <= target
		if under {
			op, met = "<", v < target
		}
		if !ok {
			fmt.Fprintf(tw, "%s\tn/a\t%s %.2f%s\tn/a\t\n", name, op, target, unit)
			return
		}
		res := "MISS"
		if met {
			res = "PASS"
		}
		fmt.Fprintf(tw, "%s\t%.2f%s\t%s %.2f%s\t%s\t\n", name, v, unit, op, target, unit, res)
	}
	p, okP := med["p"]
	i, okI := med["i"]
	r, okR := med["r"]
	s, okS := med["s"]
	check("P2P first frame / reference, seeder unable to resolve mDNS (i/r)", i[0]/r[0], okI && okR && r[0] > 0, targetP2POverRef, "", false)
	check("/stream first frame (s)", s[0], okS, targetStreamFirst, " s", true)
	check("seek, P2P (p)", p[1], okP, targetSeek, " s", true)
	check("seek, P2P, node unable to resolve mDNS (i)", i[1], okI, targetSeek, " s", true)
	check("seek, /stream (s)", s[1], okS, targetSeek, " s", true)
	tw.Flush()

	var failed []string
	for _, row := range rep.Rows {
		failed = append(failed, failures(row.Key, row.Runs)...)
	}
	printFailures(w, failed)
}

// printTarget writes a line of a table of targets (target, value, target,
// result, by) to tw: v against target, "at most" (≤) or, with under,
// "under" (<), PASS or MISS and by how much; n/a if !ok. A target of 0
// sets none.
func printTarget(tw io.Writer, name string, v float64, ok bool, target float64, unit string, under bool) {
	op, met := "≤", v <= target
	if under {
		op, met = "<", v < target
	}
	if !ok || target == 0 {
		t := "—"
		if target > 0 {
			t = fmt.Sprintf("%s %.2f%s", op, target, unit)
		}
		fmt.Fprintf(tw, "%s\tn/a\t%s\tn/a\t\t\n", name, t)
		return
	}
	res := "PASS"
	if !met {
		res = "MISS"
	}
	fmt.Fprintf(tw, "%s\t%s%s\t%s %.2f%s\t%s\t%s\t\n", name, figure2(v, target), unit, op, target, unit, res, margin(v, target, unit, met))
}

// figure2 formats v with two decimals, or with up to four where fewer
// would show it equal to target and it is not.
func figure2(v, target float64) string {
	for d := 2; d < 4; d++ {
		if f := fmt.Sprintf("%.*f", d, v); v == target || f != fmt.Sprintf("%.*f", d, target) {
			return f
		}
	}
	return fmt.Sprintf("%.4f", v)
}

// margin says by how much v meets its target or misses it.
func margin(v, target float64, unit string, met bool) string {
	d := target - v
	if !met {
		d = -d
	}
	word := "to spare"
	if !met {
		word = "over"
	}
	return figure2(d, 0) + unit + " " + word
}

// printReport prints a table after a blank line, and fails b if ctx was
// interrupted before every row was measured.
func printReport(ctx context.Context, b *testing.B, rep interface{ Print(io.Writer) }) {
	fmt.Println()
	rep.Print(os.Stdout)
	b.ReportMetric(0, "ns/op")
	if ctx.Err() != nil {
		b.Fatal("interrupted: the table has the rows made so far")
	}
}
