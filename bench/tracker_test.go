package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/seedcast/seedcast/e2e/testnet"
)

// Flags of the tracker table (issue 12). The defaults are the issue's: 10
// 000 sockets, p99 under 50 ms.
var (
	flagTrackerRows     = flag.String("trackers", "sr", "which rows of the tracker table: s seedcast tracker, r the reference, npm bittorrent-tracker")
	flagTrackerSockets  = flag.Int("tracker-sockets", 10_000, "WebSockets of the tracker table, one simulated WebTorrent peer each")
	flagTrackerTorrents = flag.Int("tracker-torrents", 0, "torrents the peers share (0: one for every 10 sockets)")
	flagTrackerZipf     = flag.Float64("tracker-zipf", 0.9, "exponent of the torrents' Zipf popularity: the k-th torrent has peers in proportion to 1/k^s")
	flagTrackerAnswer   = flag.Float64("tracker-answer-share", 0.5, "share of the peers that answer the offers relayed to them")
	flagTrackerRate     = flag.Float64("tracker-rate", 1000, "announces a second of the fixed load, which both trackers must carry")
	flagTrackerSeconds  = flag.Float64("tracker-seconds", 10, "length of the fixed load, in seconds")
	flagTrackerStep     = flag.Float64("tracker-step-seconds", 3, "length of each step of the saturation search, in seconds")
	flagTrackerMaxRate  = flag.Float64("tracker-max-rate", 200_000, "announces a second at which the saturation search stops raising the rate")
	flagTrackerP99      = flag.Duration("tracker-p99", 50*time.Millisecond, "the 99th percentile of announce replies a step must stay under")
	flagTrackerCPUs     = flag.String("tracker-cpus", "0", "CPUs the tracker runs on (taskset -c list; empty: any)")
	flagLoadgenCPUs     = flag.String("loadgen-cpus", "", "CPUs the load generator runs on (taskset -c list; default: every CPU but the tracker's)")
)

// Targets of issue 12.
const (
	targetTrackerRatio = 10.0    // seedcast's announces/s ÷ the reference's
	targetIdleSocket   = 8 << 10 // bytes of RSS an idle socket
	targetSockets      = 10_000  // concurrent sockets, 0 errors
)

// trackerSeed makes the population of peers: both trackers see the same.
const trackerSeed = 0x12_2026

// Ports of the two trackers in the tracker host.
const (
	trackerPortSeedcast = 8000
	trackerPortRef      = 8001
)

// The saturation search: from the fixed load up by saturationGrowth a
// step while steps pass, then saturationRefine steps between the last
// that passed and the first that failed.
const (
	saturationGrowth = 1.5
	saturationRefine = 2
	// A step must get replies to this share of the announces asked for.
	saturationMinShare = 0.95
	// A CPU busy for this share of its cores bounds a step.
	saturationBusy = 0.9
)

// trackerRow is one tracker of the table.
type trackerRow struct {
	Key, Title string
	NA         string
	// start starts the tracker in the tracker host and returns it and
	// its ws:// URL, once it listens.
	start func(ctx context.Context, b *testing.B, e *env) (*testnet.Process, string)

	Err error // the row could not be measured to its end

	Open                               *loadResult
	RSSStart, RSSIdle, RSSEnd, RSSPeak int64 // bytes
	Fixed                              *loadStep
	Steps                              []loadStep
}

// loadStep is a load of the generator with the CPU both sides used.
type loadStep struct {
	loadResult
	// TrackerCores and LoadgenCores are the CPU the tracker and the
	// generator used while announces were sent, in cores; TrackerBusy
	// and LoadgenBusy the share of their CPUs busy then, with anything
	// (the kernel's network work included).
	TrackerCores, LoadgenCores float64
	TrackerBusy, LoadgenBusy   float64
	Pass                       bool
	Why                        string // why it failed
}

func (r *trackerRow) key() string    { return r.Key }
func (r *trackerRow) skip(na string) { r.NA = na }
func (r *trackerRow) measured() bool { return r.Open != nil || r.NA != "" || r.Err != nil }

// trackerSetup is what the table says of how it was measured, for its
// header.
type trackerSetup struct {
	Sockets, Torrents, Largest int
	OfferBytes, AnswerBytes    int
	TrackerCPUs, LoadgenCPUs   string
	Node, RefVersion           string
}

// trackerReport is the tracker table make bench prints.
type trackerReport struct {
	Facts                 facts
	Setup                 trackerSetup
	Rows                  []*trackerRow
	Elapsed               time.Duration
	LoadBefore, LoadAfter string
}

// BenchmarkTracker measures seedcast's WebSocket tracker and npm
// bittorrent-tracker under the same simulated WebTorrent peers, one after
// the other in one test network: the tracker alone in the tracker host,
// the load generator (this test binary again) in the clients host, each
// on CPUs of its own. For each: RSS per idle socket with -tracker-sockets
// open, a fixed load, and the highest rate of announces at which the
// 99th percentile of replies stays under -tracker-p99.
func BenchmarkTracker(b *testing.B) {
	ctx, e := prepareEnv(b)
	node, err := exec.LookPath("node")
	if err != nil {
		b.Fatalf("no node: %v; the reference tracker is the npm bittorrent-tracker", err)
	}
	refServer := filepath.Join(e.modules, "bittorrent-tracker/server.js")
	if _, err := os.Stat(refServer); err != nil {
		b.Fatalf("no bittorrent-tracker in %s: run make web (npm ci): %v", e.modules, err)
	}
	if _, err := exec.LookPath("taskset"); err != nil && (*flagTrackerCPUs != "" || *flagLoadgenCPUs != "") {
		b.Fatalf("no taskset: %v; install util-linux, or pass -tracker-cpus '' to run unpinned", err)
	}
	if *flagTrackerSockets < 1 || *flagTrackerRate <= 0 || *flagTrackerSeconds <= 0 || *flagTrackerStep <= 0 {
		b.Fatal("-tracker-sockets, -tracker-rate, -tracker-seconds and -tracker-step-seconds must be positive")
	}
	setup := trackerSetup{Sockets: *flagTrackerSockets, Torrents: *flagTrackerTorrents, TrackerCPUs: *flagTrackerCPUs, LoadgenCPUs: *flagLoadgenCPUs}
	if setup.Torrents == 0 {
		setup.Torrents = max(1, setup.Sockets/10)
	}
	if setup.LoadgenCPUs == "" && setup.TrackerCPUs != "" {
		if setup.LoadgenCPUs, err = otherCPUs(setup.TrackerCPUs, runtime.NumCPU()); err != nil {
			b.Fatalf("-tracker-cpus %s: %v", setup.TrackerCPUs, err)
		}
	}
	if out, err := exec.CommandContext(ctx, node, "--version").Output(); err == nil {
		setup.Node = strings.TrimSpace(string(out))
	}
	setup.RefVersion = packageVersion(filepath.Join(e.modules, "bittorrent-tracker")) + " (ws " + packageVersion(filepath.Join(e.modules, "ws")) + ")"
	e.net = testnet.New(b, "tracker", "clients")

	rows := []*trackerRow{
		{Key: "s", Title: "seedcast tracker", start: func(ctx context.Context, b *testing.B, e *env) (*testnet.Process, string) {
			addr := netip.AddrPortFrom(e.net.Addr("tracker"), trackerPortSeedcast).String()
			cmd := pinned(ctx, e, "tracker", setup.TrackerCPUs, e.seedcast, "tracker", "--log-level", *flagLogLevel, "--addr", addr,
				// Every simulated peer comes from the one address of the
				// clients host, at rates no single browser sends: the
				// per-address and per-socket bounds are lifted so that the
				// table measures the tracker, as the reference has none.
				"--max-sockets-per-ip", "1000000", "--tracker-message-rate", "1000000")
			cmd.Env = testnet.CleanEnv()
			p := startProcess(b, "seedcast tracker", cmd)
			raiseNoFile(b, p.Pid(), setup.Sockets)
			wctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			if err := e.net.WaitHTTP(wctx, "clients", "http://"+addr+"/healthz", p); err != nil {
				b.Fatalf("seedcast tracker not healthy: %v", err)
			}
			return p, "ws://" + addr + "/announce"
		}},
		{Key: "r", Title: "reference: npm bittorrent-tracker", start: func(ctx context.Context, b *testing.B, e *env) (*testnet.Process, string) {
			addr := netip.AddrPortFrom(e.net.Addr("tracker"), trackerPortRef)
			script, err := filepath.Abs("../e2e/testdata/reference-tracker.mjs")
			if err != nil {
				b.Fatal(err)
			}
			serverURL := (&url.URL{Scheme: "file", Path: refServer}).String()
			p := startProcess(b, "bittorrent-tracker", pinned(ctx, e, "tracker", setup.TrackerCPUs, node, script, serverURL, addr.Addr().String(), strconv.Itoa(int(addr.Port()))))
			raiseNoFile(b, p.Pid(), setup.Sockets)
			wctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			if err := e.net.WaitTCP(wctx, "clients", addr.String(), p); err != nil {
				b.Fatalf("bittorrent-tracker not listening: %v", err)
			}
			return p, "ws://" + addr.String() + "/announce"
		}},
	}
	start, loadBefore := time.Now(), loadAverage()
	var generic []row
	for _, r := range rows {
		generic = append(generic, &trackerMeasure{r, &setup})
	}
	measureRows(ctx, b, e, generic, "-trackers", *flagTrackerRows)
	rep := trackerReport{Facts: e.facts, Setup: setup, Rows: rows, Elapsed: time.Since(start),
		LoadBefore: loadBefore, LoadAfter: loadAverage()}
	printReport(ctx, b, rep)
}

// trackerMeasure measures a row with the setup of the table, which it
// completes with what the generator tells.
type trackerMeasure struct {
	*trackerRow
	setup *trackerSetup
}

func (m *trackerMeasure) measure(ctx context.Context, b *testing.B, e *env) {
	if err := m.run(ctx, b, e); err != nil {
		m.Err = err
		e.log.Error("tracker row failed", "row", m.Key, "err", err)
		b.Error(err)
	}
	b.ReportMetric(0, "ns/op")
}

// run measures the row: the tracker, then the generator, which opens the
// sockets, then the fixed load, then the saturation search.
func (m *trackerMeasure) run(ctx context.Context, b *testing.B, e *env) error {
	r, setup := m.trackerRow, m.setup
	tracker, wsURL := r.start(ctx, b, e)
	var err error
	if r.RSSStart, err = procStatusBytes(tracker.Pid(), "VmRSS"); err != nil {
		return err
	}
	gen, err := startLoadgen(ctx, b, e, loadgenConfig{
		URL:         wsURL,
		Sockets:     setup.Sockets,
		Torrents:    setup.Torrents,
		Zipf:        *flagTrackerZipf,
		Offers:      5,
		AnswerShare: *flagTrackerAnswer,
		Seed:        trackerSeed,
	}, setup.LoadgenCPUs)
	if err != nil {
		return err
	}
	defer gen.close()
	setup.Largest, setup.OfferBytes, setup.AnswerBytes = gen.ready.Largest, gen.ready.OfferBytes, gen.ready.AnswerBytes

	// Every socket opens and announces once, then idles.
	open, err := gen.do(ctx, loadgenCmd{Op: "open"}, time.Minute+time.Duration(setup.Sockets)*10*time.Millisecond, nil)
	if err != nil {
		return err
	}
	r.Open = &open
	e.log.Info("sockets open", "row", r.Key, "open", open.Open, "seconds", fmt.Sprintf("%.1f", open.Seconds), "errors", open.ErrorCount())
	if open.Open == 0 {
		return fmt.Errorf("no socket opened: %v", open.Errors)
	}
	// The generator waited for a quiet half second; a second more lets
	// the tracker's collector catch up with the opening's garbage.
	sleepCtx(ctx, time.Second)
	if r.RSSIdle, err = procStatusBytes(tracker.Pid(), "VmRSS"); err != nil {
		return err
	}
	e.log.Info("idle sockets", "row", r.Key, "rss_start_MB", float64(r.RSSStart)/1e6, "rss_idle_MB", float64(r.RSSIdle)/1e6,
		"per_socket_bytes", (r.RSSIdle-r.RSSStart)/int64(max(open.Open, 1)))

	step := func(rate, seconds float64) (loadStep, error) {
		st, err := m.step(ctx, gen, tracker, rate, seconds)
		if err == nil {
			e.log.Info("load step", "row", r.Key, "step", st.String())
		}
		return st, err
	}
	fixed, err := step(*flagTrackerRate, *flagTrackerSeconds)
	if err != nil {
		return err
	}
	r.Fixed = &fixed

	// The search starts from the fixed load: up from it if it passed,
	// down by halves until a step passes if not.
	pass, fail := &fixed, (*loadStep)(nil)
	// try runs a search step at rate and records it as the last pass or
	// the last fail.
	try := func(rate float64) error {
		st, err := step(rate, *flagTrackerStep)
		if err != nil {
			return err
		}
		r.Steps = append(r.Steps, st)
		if st.Pass {
			pass = &r.Steps[len(r.Steps)-1]
		} else {
			fail = &r.Steps[len(r.Steps)-1]
		}
		return nil
	}
	if !fixed.Pass {
		pass, fail = nil, &fixed
		for rate := fixed.Rate / 2; pass == nil && rate >= 10 && ctx.Err() == nil; rate /= 2 {
			if err := try(rate); err != nil {
				return err
			}
		}
	}
	for pass != nil && fail == nil && ctx.Err() == nil {
		rate := pass.Rate * saturationGrowth
		if rate > *flagTrackerMaxRate {
			break
		}
		if err := try(rate); err != nil {
			return err
		}
	}
	// Refine between the two, unless the tracker lost sockets or
	// announces: then it has not recovered.
	for i := 0; i < saturationRefine && pass != nil && fail != nil && fail.ErrorCount() == 0 && ctx.Err() == nil; i++ {
		passRate, failRate := pass.Rate, fail.Rate
		st, err := step(math.Sqrt(passRate*failRate), *flagTrackerStep)
		if err != nil {
			return err
		}
		r.Steps = append(r.Steps, st)
		// Pointers into r.Steps may have moved with the append.
		pass, fail = r.bestPass(), r.firstFailAbove(passRate)
	}

	if r.RSSEnd, err = procStatusBytes(tracker.Pid(), "VmRSS"); err != nil {
		return err
	}
	r.RSSPeak, _ = procStatusBytes(tracker.Pid(), "VmHWM")
	if err := gen.close(); err != nil {
		return err
	}
	if err := tracker.Stop(testnet.StopTimeout); err != nil {
		return fmt.Errorf("stopping %s: %w", tracker, err)
	}
	return nil
}

// bestPass returns the step of the highest rate that passed (the fixed
// load included), or nil.
func (r *trackerRow) bestPass() *loadStep {
	var best *loadStep
	if r.Fixed != nil && r.Fixed.Pass {
		best = r.Fixed
	}
	for i := range r.Steps {
		if s := &r.Steps[i]; s.Pass && (best == nil || s.PerSecond() > best.PerSecond()) {
			best = s
		}
	}
	return best
}

// firstFailAbove returns the failed step of the lowest rate above rate, or
// nil.
func (r *trackerRow) firstFailAbove(rate float64) *loadStep {
	var first *loadStep
	all := []*loadStep{r.Fixed}
	for i := range r.Steps {
		all = append(all, &r.Steps[i])
	}
	for _, s := range all {
		if s != nil && !s.Pass && s.Rate > rate && (first == nil || s.Rate < first.Rate) {
			first = s
		}
	}
	return first
}

// step runs one load and judges it.
func (m *trackerMeasure) step(ctx context.Context, gen *loadgenProc, tracker *testnet.Process, rate, seconds float64) (loadStep, error) {
	tcpus, _ := cpuList(m.setup.TrackerCPUs)
	gcpus, _ := cpuList(m.setup.LoadgenCPUs)
	type sample struct {
		at               time.Time
		tracker, loadgen time.Duration
		tcpu, gcpu       cpuStat
	}
	var s0, s1 sample
	var sampleErr error
	take := func(s *sample) {
		s.at = time.Now()
		var errs [4]error
		s.tracker, errs[0] = tracker.CPU()
		s.loadgen, errs[1] = gen.p.CPU()
		s.tcpu, errs[2] = readCPUStat(tcpus...)
		s.gcpu, errs[3] = readCPUStat(gcpus...)
		if err := errors.Join(errs[:]...); err != nil {
			sampleErr = err
		}
	}
	res, err := gen.do(ctx, loadgenCmd{Op: "load", Rate: rate, Seconds: seconds}, time.Duration(seconds*float64(time.Second))+time.Minute,
		func(mark string) {
			switch mark {
			case "start":
				take(&s0)
			case "end":
				take(&s1)
			}
		})
	if err != nil {
		return loadStep{}, err
	}
	if sampleErr != nil {
		return loadStep{}, fmt.Errorf("CPU time of %s, the generator or their CPUs: %w", tracker, sampleErr)
	}
	st := loadStep{loadResult: res}
	if wall := s1.at.Sub(s0.at).Seconds(); wall > 0 {
		st.TrackerCores = (s1.tracker - s0.tracker).Seconds() / wall
		st.LoadgenCores = (s1.loadgen - s0.loadgen).Seconds() / wall
		st.TrackerBusy = s1.tcpu.busySince(s0.tcpu)
		st.LoadgenBusy = s1.gcpu.busySince(s0.gcpu)
	}
	st.judge(*flagTrackerP99)
	return st, nil
}

// judge decides whether the step passed: no error, the 99th percentile
// of replies under p99, and replies to nearly every announce asked for.
func (st *loadStep) judge(p99 time.Duration) {
	var why []string
	if n := st.ErrorCount(); n > 0 {
		why = append(why, fmt.Sprintf("%d errors", n))
	}
	if lim := float64(p99) / 1e6; st.ReplyP99 >= lim {
		why = append(why, fmt.Sprintf("p99 %s ms ≥ %s ms", msFig(st.ReplyP99), msFig(lim)))
	}
	if asked := st.Rate * st.Seconds; float64(st.Replies) < saturationMinShare*asked {
		why = append(why, fmt.Sprintf("replies to %.0f %% of the announces asked for", float64(st.Replies)/asked*100))
	}
	st.Pass, st.Why = len(why) == 0, strings.Join(why, ", ")
}

// bound says which side's CPUs were full during the step, if either:
// busy with the tracker and the kernel's work for its sockets, or with
// other work of the machine, which the figures of that side then share.
func (st *loadStep) bound() string {
	switch {
	case st.TrackerBusy >= saturationBusy:
		return "tracker's CPU full"
	case st.LoadgenBusy >= saturationBusy:
		return "generator's CPU full"
	}
	return "neither CPU full"
}

func (st loadStep) String() string {
	res := "pass"
	if !st.Pass {
		res = "fail: " + st.Why
	}
	return fmt.Sprintf("%s/s asked, %s/s replied, p50 %s p99 %s ms, CPU tracker %.2f (its CPUs %.0f %% busy) generator %.2f (%.0f %%), %s",
		thousands(st.Rate), thousands(st.PerSecond()), msFig(st.ReplyP50), msFig(st.ReplyP99),
		st.TrackerCores, st.TrackerBusy*100, st.LoadgenCores, st.LoadgenBusy*100, res)
}

// loadgenProc is the generator's process.
type loadgenProc struct {
	p      *testnet.Process
	stdin  io.WriteCloser
	lines  chan loadgenOut
	ready  loadgenOut
	closed bool
}

// startLoadgen starts the generator in the clients host, on cpus, and
// waits for it to make its population.
func startLoadgen(ctx context.Context, b *testing.B, e *env, cfg loadgenConfig, cpus string) (*loadgenProc, error) {
	js, _ := json.Marshal(cfg)
	cmd := pinned(ctx, e, "clients", cpus, e.self, "-test.run=^$")
	cmd.Env = append(os.Environ(), loadgenEnv+"="+string(js))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	g := &loadgenProc{stdin: stdin, lines: make(chan loadgenOut, 4)}
	g.p = startProcess(b, "load generator", cmd)
	raiseNoFile(b, g.p.Pid(), cfg.Sockets)
	go func() {
		defer close(g.lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var o loadgenOut
			if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
				e.log.Error("load generator said what it should not", "line", sc.Text())
				continue
			}
			g.lines <- o
		}
	}()
	go func() {
		<-g.p.Done()
		pw.Close()
	}()
	if g.ready, err = g.next(ctx, time.Minute); err != nil {
		return nil, err
	}
	if !g.ready.Ready {
		return nil, fmt.Errorf("load generator said %+v before it was ready", g.ready)
	}
	return g, nil
}

// next returns the generator's next line, waiting at most timeout.
func (g *loadgenProc) next(ctx context.Context, timeout time.Duration) (loadgenOut, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case o, ok := <-g.lines:
		if !ok {
			<-g.p.Done()
			return o, fmt.Errorf("load generator exited: %v\n%s", g.p.Err(), g.p.Output().Tail(4<<10))
		}
		return o, nil
	case <-t.C:
		return loadgenOut{}, fmt.Errorf("load generator silent for %v", timeout)
	case <-ctx.Done():
		return loadgenOut{}, ctx.Err()
	}
}

// do has the generator run c and returns its result; onMark hears its
// marks.
func (g *loadgenProc) do(ctx context.Context, c loadgenCmd, timeout time.Duration, onMark func(string)) (loadResult, error) {
	js, _ := json.Marshal(c)
	if _, err := g.stdin.Write(append(js, '\n')); err != nil {
		return loadResult{}, fmt.Errorf("load generator: %w", err)
	}
	for {
		o, err := g.next(ctx, timeout)
		if err != nil {
			return loadResult{}, fmt.Errorf("load generator, %s: %w", c.Op, err)
		}
		if o.Mark != "" && onMark != nil {
			onMark(o.Mark)
		}
		if o.Result != nil {
			return *o.Result, nil
		}
	}
}

// close has the generator close its sockets and exit.
func (g *loadgenProc) close() error {
	if g.closed {
		return nil
	}
	g.closed = true
	g.stdin.Write([]byte(`{"Op":"close"}` + "\n"))
	g.stdin.Close()
	return g.p.Wait(30 * time.Second)
}

// pinned returns a command that runs name with args in host, on cpus
// (taskset -c) unless cpus is empty.
func pinned(ctx context.Context, e *env, host, cpus, name string, args ...string) *exec.Cmd {
	if cpus != "" {
		args = append([]string{"-c", cpus, name}, args...)
		name = "taskset"
	}
	return e.net.Command(ctx, host, name, args...)
}

// raiseNoFile lets process pid open a descriptor for each of sockets and
// then some: it raises RLIMIT_NOFILE, both limits, as root may.
func raiseNoFile(b *testing.B, pid, sockets int) {
	var old unix.Rlimit
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, nil, &old); err != nil {
		b.Fatalf("prlimit %d: %v", pid, err)
	}
	want := max(old.Max, uint64(sockets)+1024)
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: want, Max: want}, nil); err != nil {
		b.Fatalf("prlimit %d: raising RLIMIT_NOFILE to %d: %v", pid, want, err)
	}
}

// procStatusBytes returns a "kB" field of /proc/pid/status, such as VmRSS,
// in bytes.
func procStatusBytes(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && k == field {
			f := strings.Fields(v)
			if len(f) != 2 || f[1] != "kB" {
				break
			}
			n, err := strconv.ParseInt(f[0], 10, 64)
			return n << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s in kB", pid, field)
}

// packageVersion returns the version of the npm package in dir.
func packageVersion(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return "unknown"
	}
	var pkg struct{ Version string }
	if json.Unmarshal(b, &pkg) != nil || pkg.Version == "" {
		return "unknown"
	}
	return pkg.Version
}

// cpuList parses a taskset -c list, such as "0", "1-3" or "0,2"; the empty
// list is none.
func cpuList(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var cpus []int
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("bad CPU list %q", s)
		}
		z := a
		if isRange {
			if z, err = strconv.Atoi(hi); err != nil || z < a {
				return nil, fmt.Errorf("bad CPU list %q", s)
			}
		}
		for c := a; c <= z; c++ {
			if !slices.Contains(cpus, c) {
				cpus = append(cpus, c)
			}
		}
	}
	return cpus, nil
}

// otherCPUs returns the CPUs of n not in list, as a taskset -c list.
func otherCPUs(list string, n int) (string, error) {
	taken, err := cpuList(list)
	if err != nil {
		return "", err
	}
	var rest []string
	for c := range n {
		if !slices.Contains(taken, c) {
			rest = append(rest, strconv.Itoa(c))
		}
	}
	if len(rest) == 0 {
		return "", errors.New("no CPU left for the load generator; pass -loadgen-cpus")
	}
	return strings.Join(rest, ","), nil
}
