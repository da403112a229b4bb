package bench

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/seedcast/seedcast/e2e/testnet"
)

// Flags of the benchmark, after -args on the go test command line (make
// bench passes BENCHFLAGS there). The defaults are the figures of issue 4:
// 200 MB, medians of 3 runs.
var (
	flagRuns       = flag.Int("runs", 3, "runs per figure; the table shows each and their median")
	flagFileBytes  = flag.Int64("file-bytes", 200_000_000, "size of the random file of figures (b), (c) and (d), in bytes")
	flagRawBytes   = flag.Int64("raw-bytes", 200<<20, "bytes sent over the raw data channel of figure (a)")
	flagMsgBytes   = flag.Int("raw-msg-bytes", 64<<10, "size of one send on the raw data channel of figure (a)")
	flagRunTimeout = flag.Duration("run-timeout", 3*time.Minute, "give up on a run after this long")
	flagGiveUp     = flag.Duration("give-up", 30*time.Second, "give up on a run that makes no progress for this long (WebTorrent drops a silent peer after 30 s)")
	flagStall      = flag.Duration("stall", 2*time.Second, "a gap without progress this long or longer counts as a stall; shorter ones are SCTP retransmission timeouts (pion's minimum RTO is 1 s)")
	flagFigures    = flag.String("figures", "abcd", "which figures to measure")
	flagSeedcast   = flag.String("seedcast", "", "seedcast binary (default: go build ./cmd/seedcast into a temporary directory)")
	flagChromium   = flag.String("chromium", "chromium", "Chromium binary")
	flagConsole    = flag.Bool("console", false, "print the console of every page after its run")
	flagLogDir     = flag.String("logs", "", "save the whole output of every program the benchmark starts to files in this directory")
	flagLogLevel   = flag.String("seedcast-log-level", "info", "seedcast's --log-level; its log is printed when a run fails")
)

// Addresses inside the test network, all on the seed host; seedcast serve
// listens on testnet.ServeHTTPPort.
const (
	trackerPort = 8000 // seedcast tracker, figure (c)
	btPort      = 6881
	webrtcPort  = 3478 // seedcast's --webrtc-port, and the raw sender's
)

// Back-pressure of the raw sender, as seedcast's webrtc.Conn does it: a
// send waits while more than highWaterBytes are buffered, until the low
// threshold callback reports lowWaterBytes.
const (
	rawHighWaterBytes = 1 << 20
	rawLowWaterBytes  = 512 << 10
)

//go:embed testdata/page
var pageFS embed.FS

func TestMain(m *testing.M) {
	if os.Getenv(rawSendEnv) != "" {
		os.Exit(rawSendMain())
	}
	if os.Getenv(refSeedEnv) != "" {
		os.Exit(refSeedMain())
	}
	if os.Getenv(loadgenEnv) != "" {
		os.Exit(loadgenMain())
	}
	flag.Parse()
	os.Exit(m.Run())
}

// env is what every figure needs: the test network, the programs, the file
// and the pages' origin.
type env struct {
	net      *testnet.Net
	facts    facts
	modules  string // web/node_modules
	seedcast string
	chromium string
	self     string       // this test binary, which is also the raw sender
	data     testnet.File // the file of figures (b) to (d)
	pilot    testnet.File // the demo pilot, for the playback table (no SHA-256)
	origin   string       // http://10.231.0.1:port, serving testdata/page
	pages    *pageServer
	log      *slog.Logger
}

// BenchmarkTransports measures figures (a) to (d) of BENCHMARKS.md in one
// test network and prints them as one table. Every figure is flagRuns runs
// of a full transfer; Go's b.N does not apply, so it must run with
// -benchtime 1x. A Ctrl-C stops the run in progress, and every process,
// Chromium and namespace it started is cleaned up before it exits.
func BenchmarkTransports(b *testing.B) {
	if *flagRuns < 1 {
		b.Fatalf("-runs %d: want at least 1", *flagRuns)
	}
	ctx, e := newEnv(b, 2)
	e.data = testnet.WriteRandomFile(b, *flagFileBytes)

	figs := []*figure{
		{Key: "a", Title: "raw data channel, pion → Chromium", once: rawOnce},
		{Key: "b", Title: "seedcast → WebTorrent, WebRTC only", setup: setupSeedcastWebRTC},
		{Key: "c", Title: "WebTorrent browser → browser", setup: setupBrowserSeed},
		{Key: "d", Title: "WebTorrent ← seedcast HTTP web seed", setup: setupWebSeed},
	}
	start, loadBefore := time.Now(), loadAverage()
	rows := make([]row, len(figs))
	for i, f := range figs {
		rows[i] = f
	}
	measureRows(ctx, b, e, rows, "-figures", *flagFigures)
	rep := report{Facts: e.facts, Figures: figs, Elapsed: time.Since(start), Stall: *flagStall,
		LoadBefore: loadBefore, LoadAfter: loadAverage()}
	printReport(ctx, b, rep)
}

// newEnv checks what the benchmarks need, builds seedcast unless -seedcast
// names it, and starts the test network, with the seed host, viewer1 to
// viewer<viewers> and the hosts more, and the pages' server; b's cleanups
// take them down. The context it returns ends on Ctrl-C or SIGTERM.
func newEnv(b *testing.B, viewers int, more ...string) (context.Context, *env) {
	if _, err := exec.LookPath(*flagChromium); err != nil {
		b.Fatalf("no Chromium: %v; install it (apt-get install chromium) or pass -chromium PATH", err)
	}
	ctx, e := prepareEnv(b)
	if _, err := os.Stat(filepath.Join(e.modules, "webtorrent/dist/webtorrent.min.js")); err != nil {
		b.Fatalf("no WebTorrent in %s: run make web (npm ci): %v", e.modules, err)
	}
	hosts := []string{"seed"}
	for i := range viewers {
		hosts = append(hosts, fmt.Sprintf("viewer%d", i+1))
	}
	hosts = append(hosts, more...)
	e.net = testnet.New(b, hosts...)
	e.origin, e.pages = servePages(b, e, e.modules)
	return ctx, e
}

// prepareEnv checks what every benchmark needs, builds seedcast unless
// -seedcast names it, and gathers the facts of the machine; the caller
// starts the test network. The context it returns ends on Ctrl-C or
// SIGTERM.
func prepareEnv(b *testing.B) (context.Context, *env) {
	if bt := flag.Lookup("test.benchtime"); bt == nil || bt.Value.String() != "1x" {
		b.Fatal("run with -benchtime 1x: each figure is -runs runs of its own (make bench does this)")
	}
	if os.Geteuid() != 0 {
		b.Fatal("the benchmark needs root: it creates network namespaces so that all its traffic stays on a private bridge; run `sudo make bench`")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	b.Cleanup(stop)
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("component", "bench")

	e := &env{log: log}
	var err error
	if *flagLogDir != "" {
		if *flagLogDir, err = filepath.Abs(*flagLogDir); err == nil {
			err = os.MkdirAll(*flagLogDir, 0o755)
		}
		if err != nil {
			b.Fatalf("-logs: %v", err)
		}
	}
	// A missing Chromium shows in the facts; the benchmarks that need one
	// check for it.
	e.chromium, _ = exec.LookPath(*flagChromium)
	if _, err := exec.LookPath("ip"); err != nil {
		b.Fatalf("no ip command: %v; install iproute2", err)
	}
	if e.modules, err = filepath.Abs("../web/node_modules"); err != nil {
		b.Fatal(err)
	}
	if e.self, err = os.Executable(); err != nil {
		b.Fatal(err)
	}
	e.seedcast = *flagSeedcast
	if e.seedcast == "" {
		e.seedcast = buildSeedcast(b)
	} else if e.seedcast, err = filepath.Abs(e.seedcast); err != nil {
		b.Fatal(err)
	}
	e.facts = machineFacts(ctx, e.chromium, e.modules)
	log.Info("machine", "facts", e.facts.String())
	return ctx, e
}

// row is a row of a table: a figure of the transports or a row of the
// playback table.
type row interface {
	key() string
	// skip marks the row not measured, for the reason na.
	skip(na string)
	// measured reports whether the row has runs or a reason it has none.
	measured() bool
	measure(ctx context.Context, b *testing.B, e *env)
}

// measureRows measures, in order, the rows whose key is in which (the value
// of the flag named flagName), until ctx is done.
func measureRows(ctx context.Context, b *testing.B, e *env, rows []row, flagName, which string) {
	for _, r := range rows {
		if !strings.Contains(which, r.key()) {
			r.skip(fmt.Sprintf("not measured (%s %s)", flagName, which))
			continue
		}
		if !b.Run(r.key(), func(b *testing.B) { r.measure(ctx, b, e) }) && !r.measured() {
			r.skip("setup failed; see the log above")
		}
		if ctx.Err() != nil {
			return
		}
	}
}

func (f *figure) key() string    { return f.Key }
func (f *figure) skip(na string) { f.NA = na }
func (f *figure) measured() bool { return len(f.Runs) > 0 || f.NA != "" }
func (r runResult) err() error   { return r.Err }

// figure is one row of the table.
type figure struct {
	Key, Title string
	// NA says why the figure was not measured; then Runs is empty.
	NA   string
	Runs []runResult

	// setup prepares the figure in b, whose cleanups end with the figure,
	// and returns the function that makes one run; or it returns a reason
	// the figure cannot be measured.
	setup func(ctx context.Context, b *testing.B, e *env) (once onceFunc, na string)
	once  onceFunc
}

// onceFunc makes one run of a figure; b's cleanups end with the run.
type onceFunc func(ctx context.Context, b *testing.B, e *env) runResult

// runResult is one transfer.
type runResult struct {
	Err error
	// Size bytes, the file or the raw stream, arrived in Seconds; the page
	// counted Bytes in all, which a peer's duplicate blocks make more.
	// TTFB is the time to the first byte.
	Size, Bytes   int64
	Seconds, TTFB float64
	// Gap is the longest time without progress, at the page's sampling
	// resolution; for a run that failed, as far as it got.
	Gap gap
	// CPU is the CPU time the sender used during the run, and CPUKnown
	// whether it was measured.
	CPU      float64
	CPUKnown bool
	// Rx is the CPU the receiving host's programs (its Chromium) used
	// during the run, and RxKnown whether it was measured.
	Rx      hostCPU
	RxKnown bool
	// Load is the 1-minute load average at the end of the run.
	Load string
}

// MBps returns the rate of useful bytes in 10⁶ bytes per second.
func (r runResult) MBps() float64 { return float64(r.Size) / 1e6 / r.Seconds }

func (f *figure) measure(ctx context.Context, b *testing.B, e *env) {
	once := f.once
	if f.setup != nil {
		var na string
		once, na = f.setup(ctx, b, e)
		if na != "" {
			f.NA = na
			b.Skip(na)
		}
	}
	runs(ctx, b, e, *flagRuns, false, once, func(b *testing.B, i int, r runResult) []any {
		r.Load = loadAverage()
		f.Runs = append(f.Runs, r)
		if r.Err != nil {
			return nil
		}
		b.ReportMetric(r.MBps(), "MB/s")
		b.ReportMetric(r.TTFB, "ttfb-s")
		b.ReportMetric(r.Gap.Seconds, "gap-s")
		return []any{"figure", f.Key, "MB/s", fmt.Sprintf("%.2f", r.MBps()),
			"ttfb_s", fmt.Sprintf("%.2f", r.TTFB), "gap_s", fmt.Sprintf("%.2f", r.Gap.Seconds),
			"gap_at_s", fmt.Sprintf("%.2f", r.Gap.At), "gap_at_MB", fmt.Sprintf("%.1f", float64(r.Gap.Bytes)/1e6)}
	})
}

// runs makes n runs of once, each a sub-benchmark bounded by -run-timeout,
// until ctx is done. done records each result and returns what to log of
// one that succeeded. A failed run fails the benchmark unless tolerated:
// the reference's failures are figures, not faults of the benchmark.
func runs[R interface{ err() error }](ctx context.Context, b *testing.B, e *env, n int, tolerated bool,
	once func(context.Context, *testing.B, *env) R, done func(b *testing.B, i int, r R) []any) {
	for i := range n {
		b.Run(fmt.Sprintf("run%d", i+1), func(b *testing.B) {
			rctx, cancel := context.WithTimeout(ctx, *flagRunTimeout)
			defer cancel()
			r := once(rctx, b, e)
			b.ReportMetric(0, "ns/op")
			attrs := done(b, i, r)
			if err := r.err(); err != nil {
				if tolerated {
					e.log.Warn("run of the reference failed", "test", b.Name(), "err", err)
					return
				}
				e.log.Error("run failed", "test", b.Name(), "err", err)
				b.Error(err)
				return
			}
			e.log.Info("run done", append([]any{"run", i + 1}, attrs...)...)
		})
		if ctx.Err() != nil {
			return
		}
	}
}

// ---- (a) raw data channel ----

// rawOnce sends flagRawBytes from a pion PeerConnection in the seed host
// to a page in viewer1 that counts them. The offer and the answer go
// through the DevTools protocol.
func rawOnce(ctx context.Context, b *testing.B, e *env) runResult {
	page := e.net.StartChromium(ctx, b, "viewer1", e.chromium, e.origin)
	defer printConsole(page)
	if err := page.Navigate(ctx, e.origin+"/"); err != nil {
		return runResult{Err: err}
	}
	cfg, _ := json.Marshal(rawSendConfig{
		UDPPort:        webrtcPort,
		Bytes:          *flagRawBytes,
		MsgBytes:       *flagMsgBytes,
		HighWaterBytes: rawHighWaterBytes,
		LowWaterBytes:  rawLowWaterBytes,
		StallTimeout:   30 * time.Second,
	})
	cmd := e.net.Command(ctx, "seed", e.self, "-test.run=^$")
	cmd.Env = append(os.Environ(), rawSendEnv+"="+string(cfg))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return runResult{Err: err}
	}
	defer stdin.Close()
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	sender := startProcess(b, "raw sender", cmd)
	if *flagConsole {
		defer func() { fmt.Fprintf(os.Stderr, "--- raw sender:\n%s", sender.Output().String()) }()
	}
	lines := make(chan rawSendMsg, 2)
	go func() {
		defer close(lines)
		dec := json.NewDecoder(pr)
		for {
			var m rawSendMsg
			if dec.Decode(&m) != nil {
				return
			}
			lines <- m
		}
	}()
	go func() {
		<-sender.Done()
		pw.Close()
	}()
	next := func(what string) (rawSendMsg, error) {
		select {
		case m, ok := <-lines:
			if !ok {
				<-sender.Done()
				return m, fmt.Errorf("raw sender exited before sending its %s: %v\n%s", what, sender.Err(), sender.Output().Tail(4<<10))
			}
			return m, nil
		case <-ctx.Done():
			return rawSendMsg{}, fmt.Errorf("waiting for the raw sender's %s: %w", what, ctx.Err())
		}
	}

	offer, err := next("offer")
	if err != nil {
		return runResult{Err: err}
	}
	rx0, err := hostThreads(e, page.Host)
	if err != nil {
		return runResult{Err: err}
	}
	var answer string
	if err := page.Call(ctx, &answer, "rawAnswer", offer.Offer, *flagRawBytes, flagGiveUp.Milliseconds()); err != nil {
		return runResult{Err: fmt.Errorf("answering in the page: %w", err)}
	}
	msg, _ := json.Marshal(rawSendMsg{Answer: answer})
	if _, err := stdin.Write(append(msg, '\n')); err != nil {
		return runResult{Err: fmt.Errorf("giving the raw sender the answer: %w", err)}
	}
	var got struct {
		transfer
		OpenMS float64
	}
	if err := page.Call(ctx, &got, "rawDone"); err != nil {
		return partial(page, page.Host, *flagRawBytes, err)
	}
	r := got.result(page.Host, *flagRawBytes)
	if r.Err != nil {
		return r
	}
	rx1, err := hostThreads(e, page.Host)
	if err != nil {
		return runResult{Err: err}
	}
	r.Rx, r.RxKnown = cpuSince(rx0, rx1), true
	stats, err := next("statistics")
	if err != nil {
		return runResult{Err: err}
	}
	// TTFB counts from the page's receipt of the offer, so that it covers
	// ICE, DTLS and SCTP as the other figures' does; the rate counts from
	// the open channel.
	r.TTFB += got.OpenMS / 1e3
	r.CPU, r.CPUKnown = stats.CPUMS/1e3, true
	// The page has every byte: closing stdin lets the sender hang up.
	stdin.Close()
	if err := sender.Wait(testnet.StopTimeout); err != nil {
		return runResult{Err: fmt.Errorf("raw sender: %w", err)}
	}
	return r
}

// ---- (b) seedcast over WebRTC ----

// setupSeedcastWebRTC starts seedcast serve with the file, WebRTC on one
// port and no web seed, and returns runs in which a fresh Chromium adds the
// node's .torrent and downloads it from the node over WebRTC only.
func setupSeedcastWebRTC(ctx context.Context, b *testing.B, e *env) (onceFunc, string) {
	if na := seedcastLacks(ctx, e.seedcast, "serve", "--webrtc-port"); na != "" {
		return nil, na
	}
	node := startServe(ctx, b, e, "--no-webseed", "--webrtc-port", fmt.Sprint(webrtcPort))
	mi := node.metainfo(ctx, b)
	if len(mi.UrlList) > 0 {
		b.Fatalf("seedcast serve --no-webseed lists web seeds %q in %s.torrent", mi.UrlList, node.infohash)
	}
	torrentURL := node.URL + "/torrents/" + node.infohash + ".torrent"
	return func(ctx context.Context, b *testing.B, e *env) runResult {
		return downloadOnce(ctx, b, e, "viewer1", node.Proc, map[string]any{"torrentURL": torrentURL}, "webrtc")
	}, ""
}

// ---- (c) browser to browser ----

// setupBrowserSeed starts seedcast tracker and a Chromium in viewer1 that
// seeds the file, and returns runs in which a fresh Chromium in viewer2
// downloads it from that page through the tracker.
func setupBrowserSeed(ctx context.Context, b *testing.B, e *env) (onceFunc, string) {
	addr := netip.AddrPortFrom(e.net.Addr("seed"), trackerPort).String()
	tracker := startProcess(b, "seedcast tracker", seedcastCommand(ctx, e, "tracker", "--addr", addr))
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := e.net.WaitHTTP(wctx, "seed", "http://"+addr+"/healthz", tracker); err != nil {
		b.Fatalf("seedcast tracker not healthy: %v", err)
	}
	announce := "ws://" + addr + "/announce"
	seeder := e.net.StartChromium(ctx, b, "viewer1", e.chromium, e.origin)
	if err := seeder.Navigate(ctx, e.origin+"/"); err != nil {
		b.Fatal(err)
	}
	var seeded struct {
		MagnetURI string
		Length    int64
	}
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := seeder.Call(sctx, &seeded, "seed", e.origin+"/data.bin", announce, "random.bin"); err != nil {
		b.Fatalf("viewer1 seeding: %v", err)
	}
	if seeded.Length != e.data.Size {
		b.Fatalf("viewer1 seeds %d bytes, want %d", seeded.Length, e.data.Size)
	}
	return func(ctx context.Context, b *testing.B, e *env) runResult {
		return downloadOnce(ctx, b, e, "viewer2", hostMeter{e, "viewer1"}, map[string]any{"magnetURI": seeded.MagnetURI, "announce": []string{announce}}, "webrtc")
	}, ""
}

// ---- (d) HTTP web seed ----

// setupWebSeed starts seedcast serve with the file and its web seed, and
// returns runs in which a fresh Chromium adds the node's .torrent stripped
// of its trackers, so that WebTorrent has no way to a peer and takes every
// byte from /webseed/.
func setupWebSeed(ctx context.Context, b *testing.B, e *env) (onceFunc, string) {
	node := startServe(ctx, b, e)
	mi := node.metainfo(ctx, b)
	if len(mi.UrlList) == 0 {
		b.Fatalf("seedcast serve lists no web seed in %s.torrent", node.infohash)
	}
	mi.Announce, mi.AnnounceList = "", nil
	var buf bytes.Buffer
	if err := mi.Write(&buf); err != nil {
		b.Fatal(err)
	}
	name := node.infohash + ".torrent"
	e.pages.addTorrent(name, buf.Bytes())
	torrentURL := e.origin + "/d/" + name
	return func(ctx context.Context, b *testing.B, e *env) runResult {
		return downloadOnce(ctx, b, e, "viewer1", node.Proc, map[string]any{"torrentURL": torrentURL}, "webSeed")
	}, ""
}

// ---- WebTorrent runs ----

// transfer is what the page reports of a transfer (bench.js Progress).
type transfer struct {
	MS          float64
	FirstByteMS *float64
	Bytes       int64
	Samples     [][2]float64 // [ms, bytes]
	// Error says why the transfer ended before its end.
	Error string
}

// result turns the transfer of want bytes into a runResult.
func (t transfer) result(host string, want int64) runResult {
	r := runResult{Size: want, Bytes: t.Bytes, Seconds: t.MS / 1e3, Gap: longestGap(t.Samples)}
	if t.FirstByteMS != nil {
		r.TTFB = *t.FirstByteMS / 1e3
	}
	switch {
	case t.Error != "":
		r.Gap = t.gapToEnd()
		r.Err = fmt.Errorf("%s: %s (after %.1f s; longest gap without progress %.2f s, from %.1f s at %.1f MB)",
			host, t.Error, t.MS/1e3, r.Gap.Seconds, r.Gap.At, float64(r.Gap.Bytes)/1e6)
	case t.Bytes < want:
		r.Err = fmt.Errorf("%s counted %d bytes, want %d", host, t.Bytes, want)
	}
	return r
}

// gapToEnd returns the longest gap of a transfer that did not finish,
// counting the time from its last progress to its end as a gap too: it may
// be stuck for good.
func (t transfer) gapToEnd() gap {
	g := longestGap(t.Samples)
	if len(t.Samples) == 0 {
		return g
	}
	last := t.Samples[len(t.Samples)-1]
	i := len(t.Samples) - 1
	for i > 0 && t.Samples[i-1][1] == last[1] {
		i--
	}
	if d := (last[0] - t.Samples[i][0]) / 1e3; d > g.Seconds {
		g = gap{Seconds: d, At: t.Samples[i][0] / 1e3, Bytes: int64(last[1]), ToEnd: true}
	}
	return g
}

// gap is the longest time without progress of a transfer.
type gap struct {
	Seconds float64 // 0: none at the sampling resolution
	At      float64 // seconds from the start at which it began
	Bytes   int64   // bytes arrived when it began
	ToEnd   bool    // it lasted until the run ended, unfinished
}

// longestGap returns the longest time between the first byte and the end
// during which the byte count did not move: the time between two samples
// that saw progress, less one sampling period, so that a transfer that
// moved at every sample has no gap.
func longestGap(samples [][2]float64) gap {
	const periodMS = 250 // bench.js SAMPLE_MS
	var g gap
	var last [2]float64
	started := false
	for i, s := range samples {
		if !started {
			if s[1] > 0 {
				started, last = true, s
			}
			continue
		}
		if s[1] > samples[i-1][1] {
			// Less than half a period late is the jitter of the page's
			// timer, not a sample that saw no progress.
			if d := (s[0] - last[0] - periodMS) / 1e3; d >= periodMS/2e3 && d > g.Seconds {
				g = gap{Seconds: d, At: last[0] / 1e3, Bytes: int64(last[1])}
			}
			last = s
		}
	}
	return g
}

// cpuMeter tells the CPU time a sender has used so far: a process, or a
// host of the test network (a browser seeding).
type cpuMeter interface{ CPU() (time.Duration, error) }

// hostMeter measures all the programs of a host.
type hostMeter struct {
	e    *env
	host string
}

// CPU returns the CPU time that all the threads of the host's programs
// have used so far.
func (h hostMeter) CPU() (time.Duration, error) {
	threads, err := hostThreads(h.e, h.host)
	var d time.Duration
	for _, t := range threads {
		d += t.cpu
	}
	return d, err
}

// cpuSample is the CPU time used so far by a sender and by the threads of
// a receiving host.
type cpuSample struct {
	sender time.Duration
	rx     map[string]threadCPU
}

// sampleCPU samples the CPU time of sender and of host's threads.
func sampleCPU(e *env, sender cpuMeter, host string) (cpuSample, error) {
	d, err := sender.CPU()
	if err != nil {
		return cpuSample{}, err
	}
	rx, err := hostThreads(e, host)
	return cpuSample{sender: d, rx: rx}, err
}

// downloadOnce starts a fresh Chromium in host, has bench.js download()
// the torrent that args describe, and checks the bytes: the SHA-256 of the
// file in the page, and that every byte came over a wire of wireType. The
// CPU of sender and of host's Chromium are measured over the run.
func downloadOnce(ctx context.Context, b *testing.B, e *env, host string, sender cpuMeter, args map[string]any, wireType string) runResult {
	page := e.net.StartChromium(ctx, b, host, e.chromium, e.origin)
	defer printConsole(page)
	if err := page.Navigate(ctx, e.origin+"/"); err != nil {
		return runResult{Err: err}
	}
	cpu0, err := sampleCPU(e, sender, host)
	if err != nil {
		return runResult{Err: err}
	}
	args["giveUpMs"] = flagGiveUp.Milliseconds()
	var got struct {
		transfer
		SHA256          string
		ByteLength      int64
		Length          int64
		Wires           int
		BytesByWireType map[string]int64
	}
	if err := page.Call(ctx, &got, "download", args); err != nil {
		return partial(page, host, e.data.Size, err)
	}
	r := got.result(host, e.data.Size)
	cpu1, err := sampleCPU(e, sender, host)
	if err != nil {
		return runResult{Err: err}
	}
	r.CPU, r.CPUKnown = (cpu1.sender - cpu0.sender).Seconds(), true
	r.Rx, r.RxKnown = cpuSince(cpu0.rx, cpu1.rx), true
	switch {
	case r.Err != nil:
	case got.SHA256 != e.data.SHA256 || got.ByteLength != e.data.Size:
		r.Err = fmt.Errorf("%s holds %d bytes with SHA-256 %s, want %d bytes with %s", host, got.ByteLength, got.SHA256, e.data.Size, e.data.SHA256)
	case got.BytesByWireType[wireType] < e.data.Size || len(got.BytesByWireType) != 1:
		r.Err = fmt.Errorf("%s got %v bytes by wire type over %d wires, want all %d over %s", host, got.BytesByWireType, got.Wires, e.data.Size, wireType)
	}
	return r
}

// printConsole prints the page's console to stderr if -console is set.
func printConsole(page *testnet.Page) {
	if *flagConsole {
		fmt.Fprintf(os.Stderr, "--- console of %s:\n%s", page.Host, page.Console())
	}
}

// partial asks the page how far the transfer under way got, for a run
// that did not finish in time.
func partial(page *testnet.Page, host string, want int64, err error) runResult {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var t *transfer
	if perr := page.Call(ctx, &t, "progress"); perr != nil || t == nil {
		return runResult{Err: err}
	}
	t.Error = err.Error()
	return t.result(host, want)
}

// ---- seedcast ----

// seedcastCommand returns seedcast with args in the seed host, with no
// SEEDCAST_* variables from the environment to change its flags.
func seedcastCommand(ctx context.Context, e *env, args ...string) *exec.Cmd {
	args = append(args[:1:1], append([]string{"--log-level", *flagLogLevel}, args[1:]...)...)
	cmd := e.net.Command(ctx, "seed", e.seedcast, args...)
	cmd.Env = testnet.CleanEnv()
	return cmd
}

// seedcastLacks returns why seedcast cannot run a figure when `seedcast
// cmd --help` does not mention flag, else "".
func seedcastLacks(ctx context.Context, bin, cmd, flag string) string {
	out, err := exec.CommandContext(ctx, bin, cmd, "--help").CombinedOutput()
	if err != nil {
		return fmt.Sprintf("seedcast %s --help: %v", cmd, err)
	}
	if !bytes.Contains(out, []byte(flag)) {
		return fmt.Sprintf("seedcast %s has no %s flag: no WebRTC transport yet", cmd, flag)
	}
	return ""
}

// serveNode is a running seedcast serve with one file.
type serveNode struct {
	*testnet.Serve
	infohash string // of the file's torrent, in lower case
}

// startServe starts seedcast serve on the random file in the seed host,
// with extra flags, and waits until it is ready and lists the torrent.
func startServe(ctx context.Context, b *testing.B, e *env, flags ...string) *serveNode {
	return startNode(ctx, b, e, e.data, flags...)
}

// startNode starts seedcast serve on f in the seed host, with extra flags,
// and waits until it is ready and lists the torrent.
func startNode(ctx context.Context, b *testing.B, e *env, f testnet.File, flags ...string) *serveNode {
	n := launchNode(ctx, b, e, append(flags[:len(flags):len(flags)], f.Path)...)
	var list []struct {
		Infohash string `json:"infohash"`
		Length   int64  `json:"length"`
	}
	if err := n.GetJSON(ctx, "/api/torrents", &list); err != nil {
		b.Fatalf("seedcast serve: %v", err)
	}
	if len(list) != 1 || list[0].Length != f.Size {
		b.Fatalf("seedcast serve lists %+v, want one torrent of %d bytes", list, f.Size)
	}
	n.infohash = strings.ToLower(list[0].Infohash)
	e.log.Info("seedcast serve ready", "flags", strings.Join(flags, " "), "infohash", n.infohash)
	return n
}

// launchNode starts seedcast serve in the seed host with a fresh data
// directory of b, its BitTorrent port, no DHT and no port forwarding, then
// args (flags, then what to serve), and waits until it is ready. The node
// knows no info hash yet.
func launchNode(ctx context.Context, b *testing.B, e *env, args ...string) *serveNode {
	args = append([]string{
		"--bt-port", fmt.Sprint(btPort),
		"--no-dht",
		"--no-port-forwarding",
	}, args...)
	n := &serveNode{Serve: e.net.StartServe(ctx, b, "seed", testnet.ServeOptions{
		Bin:      e.seedcast,
		LogLevel: *flagLogLevel,
		Args:     args,
	})}
	saveOutput(b, n.Proc)
	if err := n.WaitReady(ctx, 2*time.Minute); err != nil {
		b.Fatalf("seedcast serve not ready: %v", err)
	}
	return n
}

// metainfo fetches the node's .torrent for the file.
func (n *serveNode) metainfo(ctx context.Context, b *testing.B) *metainfo.MetaInfo {
	body, err := n.Get(ctx, "/torrents/"+n.infohash+".torrent")
	if err != nil {
		b.Fatal(err)
	}
	mi, err := metainfo.Load(bytes.NewReader(body))
	if err != nil {
		b.Fatalf("/torrents/%s.torrent: %v", n.infohash, err)
	}
	if got := mi.HashInfoBytes().HexString(); got != n.infohash {
		b.Fatalf("/torrents/%s.torrent has info hash %s", n.infohash, got)
	}
	return mi
}

// buildSeedcast builds ./cmd/seedcast, without the race detector, into a
// temporary directory.
func buildSeedcast(b *testing.B) string {
	bin := filepath.Join(b.TempDir(), "seedcast")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/seedcast")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("building seedcast: %v\n%s", err, out)
	}
	return bin
}

// ---- files and pages ----

// pageServer serves the pages, WebTorrent, the data file and rewritten
// torrents from the seed host.
type pageServer struct {
	mu       sync.Mutex
	torrents map[string][]byte // by file name, under /d/
	// sent counts the bytes of the bodies it has sent, which the offload
	// table tells apart from the node's in the seed host's upload.
	sent atomic.Int64
}

// countingWriter counts what a handler writes of a body into n.
type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w countingWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.n.Add(int64(n))
	return n, err
}

// ReadFrom keeps http.ServeFile's sendfile path, counting what it sends.
func (w countingWriter) ReadFrom(r io.Reader) (int64, error) {
	n, err := io.Copy(w.ResponseWriter, r)
	w.n.Add(n)
	return n, err
}

func (s *pageServer) addTorrent(name string, b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.torrents[name] = b
}

// servePages serves testdata/page, WebTorrent's dist build, the random
// file (to viewer1 only, the seeder of figure (c): every other byte a page
// gets must come through the transport measured) and the torrents of
// addTorrent, over HTTP from the seed host, and returns the origin.
func servePages(b *testing.B, e *env, modules string) (string, *pageServer) {
	ps := &pageServer{torrents: make(map[string][]byte)}
	page, err := fs.Sub(pageFS, "testdata/page")
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /", http.FileServerFS(page))
	// WebTorrent's service worker, for play.html, whose scope is the origin.
	mux.HandleFunc("GET /sw.min.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(modules, "webtorrent/dist/sw.min.js"))
	})
	mux.Handle("GET /webtorrent/", http.StripPrefix("/webtorrent/", http.FileServer(http.Dir(filepath.Join(modules, "webtorrent/dist")))))
	mux.HandleFunc("GET /data.bin", func(w http.ResponseWriter, r *http.Request) {
		ip, _, _ := net.SplitHostPort(r.RemoteAddr)
		if ip != e.net.Addr("viewer1").String() {
			http.Error(w, "the data file is for viewer1 only", http.StatusForbidden)
			return
		}
		http.ServeFile(w, r, e.data.Path)
	})
	mux.HandleFunc("GET /d/{name}", func(w http.ResponseWriter, r *http.Request) {
		ps.mu.Lock()
		t, ok := ps.torrents[r.PathValue("name")]
		ps.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/x-bittorrent")
		w.Write(t)
	})
	count := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(countingWriter{w, &ps.sent}, r)
	})
	return e.net.ServeHandler(b, "seed", count), ps
}
