package bench

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/seedcast/seedcast/e2e/testnet"
)

// Flags of the offload benchmark (issue 10). The defaults are the issue's:
// 4 viewers joining 10 s apart, each playing at least 60 s of a 3-minute
// film.
var (
	flagOffloadRows = flag.String("offload", "12345s", "which rows of the offload table to measure")
	flagViewers     = flag.Int("offload-viewers", 4, "viewers per row of the offload table, each a Chromium in a host of its own")
	flagJoinEvery   = flag.Duration("offload-join", 10*time.Second, "time between two viewers opening the page")
	flagPlaySec     = flag.Float64("offload-play-sec", 60, "seconds of film every viewer plays (the seeker: to the end, if that is nearer)")
	flagFilmSec     = flag.Int("film-sec", 180, "length of the film made for the offload table, in seconds")
	flagFilmRate    = flag.Int("film-kbit", 1500, "bitrate of that film, in kbit/s, audio included")
)

// Targets of issue 10: what the node sends, in file sizes, for 4 viewers
// and for 8, with the deadline policy; the /watch first frame against the
// /stream one; seeks.
const (
	targetUpload4       = 1.3
	targetUpload8       = 1.6
	targetFirstOverSelf = 1.2
	targetOffloadSeek   = 0.3 // seconds
)

// offloadFrameLimit bounds the wait for a viewer's first frame. It is
// longer than -first-frame-limit: a viewer that gets its first frame late
// still counts for the node's upload and its rebuffering.
const offloadFrameLimit = 30 * time.Second

// saturatedBusy is the machine's busy share, all cores, above which the
// report says a row's times were bound by the machine.
const saturatedBusy = 0.95

// offloadSettle bounds the wait, at the end of a row, for the node's
// figures from the pages' reports (every 5 s, web/src/report.ts) to catch
// up with what the pages show.
const offloadSettle = 15 * time.Second

// offloadProbeJS runs before the scripts of every page of a viewer (the
// argument, %g, is where the viewer seeks, as a fraction of the duration,
// or 0 for none). In window.__bench it records, in ms since navigation,
// the first frame (currentTime > 0, checked every 4 ms, as probeJS); every
// rebuffering after it (a 'waiting' event while playing, not seeking,
// until the video plays again); and, for the seeker, the seek it makes at
// once at the first frame, from setting currentTime to playing past it.
// from is where the viewer's playing began in the film, for how far it
// got. The watch page replaces its video element when it hands over from
// the node's opening stream to its peers, so the element shown is looked
// up afresh each time, and a rebuffering also ends when the element shown
// plays (checked every 50 ms), 'playing' event or not.
const offloadProbeJS = `(frac => {
  if (window.top !== window) return
  const b = window.__bench = { firstFrame: null, from: 0, seek: null, seekError: '', seeking: false, waits: [], error: '' }
  const now = () => performance.now()
  const video = () => document.querySelector('video')
  let open = null
  const close = () => {
    if (open) open.ms = now() - open.at
    open = null
  }
  const seek = () => {
    b.seeking = true
    const target = video().duration * frac
    const t0 = now()
    b.from = target
    video().currentTime = target
    const check = () => {
      const v = video()
      if (!v.seeking && !v.paused && v.currentTime > target) {
        b.seek = now() - t0
        b.seeking = false
        return
      }
      if (now() - t0 > 15000) {
        b.seekError = 'not playing 15 s after the seek: currentTime ' + v.currentTime + ', readyState ' + v.readyState + ', paused ' + v.paused
        b.seeking = false
        return
      }
      setTimeout(check, 4)
    }
    check()
  }
  const first = () => {
    if (b.firstFrame !== null) return
    const v = video()
    if (v && v.currentTime > 0) {
      b.firstFrame = now()
      if (frac > 0) seek()
      return
    }
    setTimeout(first, 4)
  }
  setInterval(() => {
    const v = video()
    if (open && v && !v.paused && !v.seeking && v.readyState >= HTMLMediaElement.HAVE_FUTURE_DATA) close()
  }, 50)
  addEventListener('loadstart', e => {
    const v = e.target
    if (!(v instanceof HTMLVideoElement) || v.__benchProbe) return
    v.__benchProbe = true
    v.addEventListener('waiting', () => {
      if (v !== video() || b.firstFrame === null || b.seeking || v.seeking || v.ended || open) return
      open = { at: now(), t: v.currentTime, ms: null }
      b.waits.push(open)
    })
    v.addEventListener('playing', () => { if (v === video()) close() })
    v.addEventListener('error', () => { if (v === video()) b.error = 'media error ' + v.error?.code + ': ' + (v.error?.message || '') })
    first()
  }, true)
})(%g)`

// viewerStateJS is what the probe and the video say of a viewer so far.
const viewerStateJS = `(() => {
  const b = window.__bench
  const v = document.querySelector('video')
  const t = performance.now()
  return {
    firstFrame: b.firstFrame, seek: b.seek, seekError: b.seekError, seeking: b.seeking, error: b.error,
    played: v ? v.currentTime - b.from : 0, ended: !!v?.ended,
    waits: b.waits.map(w => ({ at: w.at - b.firstFrame, ms: w.ms ?? t - w.at, open: w.ms === null }))
  }
})()`

// BenchmarkOffload measures what the node sends while viewers watch a
// film together (issue 10): -offload-viewers headless Chromiums, each in a
// host of its own, open a page -offload-join apart and play; the last
// seeks to -seek at once. Every row starts a fresh node and fresh
// Chromiums. It prints its own table.
func BenchmarkOffload(b *testing.B) {
	if *flagViewers < 1 || *flagFilmSec < 10 || *flagPlaySec <= 0 {
		b.Fatalf("-offload-viewers %d, -film-sec %d, -offload-play-sec %g: want at least 1 viewer, 10 s of film and some playing",
			*flagViewers, *flagFilmSec, *flagPlaySec)
	}
	ctx, e := newEnv(b, max(2, *flagViewers))
	start, loadBefore := time.Now(), loadAverage()
	f := testnet.MakeFilm(ctx, b, *flagFilmSec, *flagFilmRate)
	e.log.Info("film", "path", f.Path, "bytes", f.Size, "duration_s", f.Seconds, "bitrate_kbit", f.BitRate/1e3, "made_in", f.Made.Round(time.Millisecond))

	// The cap of row (4): twice the film's bitrate, in kB/s.
	capRate := fmt.Sprintf("%dKB/s", int64(2*f.BitRate/8/1e3))
	rows := []*offloadRow{
		{Key: "1", Title: "seedcast /watch, deadline policy (the default page)", page: "watch"},
		{Key: "2", Title: "seedcast /watch?deadline=0, the policy off", page: "watch", query: "?deadline=0"},
		{Key: "3", Title: "reference: WebTorrent 3 page, the node's web seed and tracker", page: "plain"},
		{Key: "4", Title: "(1) with the node's --upload-rate " + capRate + " (2 × the film's bitrate)", page: "watch", flags: []string{"--upload-rate", capRate}},
		{Key: "5", Title: "(4) without super-seeding (--no-super-seed)", page: "watch", flags: []string{"--upload-rate", capRate, "--no-super-seed"}},
		{Key: "s", Title: "seedcast /watch?p2p=0, one viewer: /stream", page: "watch", query: "?p2p=0", single: true},
	}
	measured := make([]row, len(rows))
	for i, r := range rows {
		r.film = f
		measured[i] = r
	}
	measureRows(ctx, b, e, measured, "-offload", *flagOffloadRows)
	rep := offloadReport{Facts: e.facts, Film: f, Rows: rows, Viewers: *flagViewers, Elapsed: time.Since(start),
		LoadBefore: loadBefore, LoadAfter: loadAverage()}
	printReport(ctx, b, rep)
}

// film is the film of the offload table.
type film = testnet.Film

// offloadRow is one row of the offload table: a page, a node, and viewers
// watching.
type offloadRow struct {
	Key, Title string
	NA         string
	Run        *offloadRun

	// page is "watch", seedcast's watch page with query, or "plain",
	// play.html with the node's .torrent.
	page, query string
	// flags are seedcast serve's.
	flags []string
	// single has one viewer, which does not seek.
	single bool
	film   film
}

// mode is the mode a watch page of the row must play in.
func (row *offloadRow) mode() string {
	if strings.Contains(row.query, "p2p=0") {
		return "stream"
	}
	return "p2p"
}

func (row *offloadRow) key() string    { return row.Key }
func (row *offloadRow) skip(na string) { row.NA = na }
func (row *offloadRow) measured() bool { return row.Run != nil || row.NA != "" }

// offloadRun is what a row measured.
type offloadRun struct {
	// Err says why the row has no figures of the node.
	Err     error
	Viewers []viewerRun
	// Sent is what the seed host sent at its interface during the row,
	// and PagesSent what of it the benchmark's own page server sent.
	Sent, PagesSent int64
	// API is the node's figures of the film at the end; APISettled says
	// whether its offload figures caught up with the pages' reports.
	API        apiTorrent
	APISettled bool
	// CPU is what the viewers' hosts (their Chromiums) and the seed host
	// used during the row; Busy is the machine's busy share of its cores.
	CPUViewers, CPUSeed time.Duration
	Busy                float64
	Seconds             float64
	Load                string
}

// apiTorrent is what GET /api/torrents/{infohash} says of the film.
type apiTorrent struct {
	Length int64 `json:"length"`
	// Files is empty until the node has the torrent's info (a magnet).
	Files []struct {
		Path   string `json:"path"`
		Length int64  `json:"length"`
	} `json:"files"`
	// BytesCompleted is what the node holds of the torrent's data.
	BytesCompleted int64 `json:"bytes_completed"`
	// Transports is keyed by tcp, utp, webrtc, webseed and http.
	Transports map[string]struct {
		BytesIn  int64 `json:"bytes_in"`
		BytesOut int64 `json:"bytes_out"`
	} `json:"transports"`
	Offload struct {
		NodeToViewers    int64   `json:"node_to_viewers"`
		ViewersToViewers int64   `json:"viewers_to_viewers"`
		ViewerShare      float64 `json:"viewer_share"`
		Viewers          int     `json:"viewers"`
	} `json:"offload"`
}

// BytesOut sums what the node counts it sent, over every transport.
func (a apiTorrent) BytesOut() int64 {
	var n int64
	for _, t := range a.Transports {
		n += t.BytesOut
	}
	return n
}

// viewerRun is one viewer of a row.
type viewerRun struct {
	Host string
	Err  error
	// Joined is when it opened the page, in seconds from the row's start.
	Joined float64
	// FirstFrame is from navigation to currentTime > 0; Seek from setting
	// currentTime to playing past it, Seeked whether it seeks; in seconds.
	FirstFrame, Seek float64
	Seeked           bool
	// Waits are its rebufferings after the first frame, WaitSec their
	// time until playing again (an open one until the row's end), and
	// Open whether one lasted to the end.
	Waits   int
	WaitSec float64
	Open    bool
	// Played is how far it played in the film, from its first frame (the
	// seeker: from the seek), in seconds; Ended whether it reached the end.
	Played float64
	Ended  bool
	// FromNode, FromWebSeed and FromViewers are the page's own counts of
	// its bytes: the node over WebRTC, the node's web seed, other viewers.
	// Mode is the watch page's mode.
	FromNode, FromWebSeed, FromViewers int64
	Mode                               string
}

func (row *offloadRow) measure(ctx context.Context, b *testing.B, e *env) {
	n := *flagViewers
	if row.single {
		n = 1
	}
	// Every viewer joins, plays, and may take a while for its first
	// frame; two minutes more cover starting a node and the settling.
	limit := time.Duration(n-1)*(*flagJoinEvery) + time.Duration(*flagPlaySec*float64(time.Second)) + offloadFrameLimit + 2*time.Minute
	rctx, cancel := context.WithTimeout(ctx, max(limit, *flagRunTimeout))
	defer cancel()
	r := offloadOnce(rctx, b, e, row, n)
	r.Load = loadAverage()
	row.Run = &r
	attrs := []any{"row", row.Key, "node_upload_files", fmt.Sprintf("%.2f", float64(r.Sent)/float64(row.film.Size)),
		"api_upload_files", fmt.Sprintf("%.2f", float64(r.API.BytesOut())/float64(row.film.Size)), "busy", fmt.Sprintf("%.2f", r.Busy)}
	for _, v := range r.Viewers {
		if v.Err != nil {
			e.log.Warn("viewer failed", "row", row.Key, "host", v.Host, "err", v.Err)
			continue
		}
		attrs = append(attrs, v.Host, fmt.Sprintf("first %.2f s, waits %d (%.2f s), seek %.2f s, played %.0f s, node %d, web seed %d, viewers %d",
			v.FirstFrame, v.Waits, v.WaitSec, v.Seek, v.Played, v.FromNode, v.FromWebSeed, v.FromViewers))
	}
	if r.Err != nil {
		e.log.Error("row failed", "row", row.Key, "err", r.Err)
		return
	}
	e.log.Info("row done", attrs...)
	b.ReportMetric(float64(r.Sent)/float64(row.film.Size), "upload-files")
}

// offloadOnce starts a node on the film with the row's flags and has n
// viewers watch the row's page.
func offloadOnce(ctx context.Context, b *testing.B, e *env, row *offloadRow, n int) offloadRun {
	node := startNode(ctx, b, e, row.film.File, row.flags...)
	u := node.URL + "/watch/" + node.infohash + row.query
	if row.page == "plain" {
		mi := node.metainfo(ctx, b)
		if len(mi.UrlList) == 0 || len(mi.UpvertedAnnounceList().DistinctValues()) == 0 {
			return offloadRun{Err: fmt.Errorf("the node's .torrent lists web seeds %q and trackers %q: want both", mi.UrlList, mi.UpvertedAnnounceList())}
		}
		var buf bytes.Buffer
		if err := mi.Write(&buf); err != nil {
			b.Fatal(err)
		}
		name := "offload-" + node.infohash + ".torrent"
		e.pages.addTorrent(name, buf.Bytes())
		u = e.origin + "/play.html?torrent=" + url.QueryEscape("/d/"+name)
	}

	var r offloadRun
	hosts := make([]string, n)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("viewer%d", i+1)
	}
	cpu0 := make(map[string]map[string]threadCPU)
	for _, h := range append([]string{"seed"}, hosts...) {
		t, err := hostThreads(e, h)
		if err != nil {
			return offloadRun{Err: err}
		}
		cpu0[h] = t
	}
	busy0, busyErr := readCPUStat()
	sent0, err := e.net.SentBytes(ctx, "seed")
	if err != nil {
		return offloadRun{Err: err}
	}
	pages0 := e.pages.sent.Load()
	start := time.Now()

	r.Viewers = make([]viewerRun, n)
	pages := make([]*testnet.Page, n)
	var wg sync.WaitGroup
	// A Chromium that fails to start ends the row with b.Fatal: the
	// viewers under way stop before their pages close.
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		wg.Wait()
	}()
	for i, h := range hosts {
		if i > 0 {
			select {
			case <-time.After(time.Until(start.Add(time.Duration(i) * *flagJoinEvery))):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			r.Viewers[i] = viewerRun{Host: h, Err: fmt.Errorf("not started: %w", ctx.Err())}
			continue
		}
		seekFrac := 0.0
		if i == n-1 && !row.single {
			seekFrac = *flagSeekFrac
		}
		// Chromium starts here, in the benchmark's goroutine, which may
		// fail b; the page is driven from its own.
		pages[i] = e.net.StartChromium(ctx, b, h, e.chromium, e.origin, node.URL)
		r.Viewers[i] = viewerRun{Host: h, Joined: time.Since(start).Seconds(), Seeked: seekFrac > 0}
		wg.Add(1)
		go func() {
			defer wg.Done()
			watch(ctx, pages[i], u, seekFrac, &r.Viewers[i])
		}()
	}
	wg.Wait()

	// What the pages got, by their own counts.
	var fromViewers int64
	reporting := 0
	for i, page := range pages {
		v := &r.Viewers[i]
		if page == nil {
			continue
		}
		if err := pageBytes(ctx, page, row.page, row.mode(), v); err != nil && v.Err == nil {
			v.Err = err
		}
		fromViewers += v.FromViewers
		if v.Mode != "" {
			reporting++
		}
	}
	// The node's figures: its transports now, its offload figures once
	// the pages' last reports are in.
	err = testnet.WaitFor(offloadSettle, func() error {
		if err := node.GetJSON(ctx, "/api/torrents/"+node.infohash, &r.API); err != nil {
			return err
		}
		o := r.API.Offload
		if row.page == "watch" && (o.Viewers < reporting || !within(o.ViewersToViewers, fromViewers, 0.05)) {
			return fmt.Errorf("the node counts %d viewers and %d bytes between viewers; the pages %d and %d", o.Viewers, o.ViewersToViewers, reporting, fromViewers)
		}
		return nil
	})
	r.APISettled = err == nil
	if err != nil && r.API.Length == 0 {
		r.Err = fmt.Errorf("the node's figures: %w", err)
	}
	sent1, serr := e.net.SentBytes(ctx, "seed")
	r.Sent, r.PagesSent = sent1-sent0, e.pages.sent.Load()-pages0
	r.Seconds = time.Since(start).Seconds()
	if serr != nil && r.Err == nil {
		r.Err = serr
	}
	for _, h := range append([]string{"seed"}, hosts...) {
		t, err := hostThreads(e, h)
		if err != nil {
			continue
		}
		d := cpuSince(cpu0[h], t).Total
		if h == "seed" {
			r.CPUSeed = d
		} else {
			r.CPUViewers += d
		}
	}
	if busy1, err := readCPUStat(); err == nil && busyErr == nil {
		r.Busy = busy1.busySince(busy0)
	}
	return r
}

// watch opens u in page with the probe, waits for its first frame and
// until it has played -offload-play-sec (or to the end), and records it
// in v.
func watch(ctx context.Context, page *testnet.Page, u string, seekFrac float64, v *viewerRun) {
	if err := page.InitScript(ctx, fmt.Sprintf(offloadProbeJS, seekFrac)); err != nil {
		v.Err = err
		return
	}
	if err := page.Open(ctx, u); err != nil {
		v.Err = err
		return
	}
	var st viewerState
	fctx, cancel := context.WithTimeout(ctx, offloadFrameLimit)
	defer cancel()
	err := testnet.Poll(fctx, nil, func(ctx context.Context) error {
		if err := page.Eval(ctx, viewerStateJS, &st); err != nil {
			return err
		}
		if st.FirstFrame == nil {
			return errors.New("no frame yet")
		}
		return nil
	})
	if err != nil {
		v.Err = fmt.Errorf("no first frame within %v of navigating: %w; the page: %s", offloadFrameLimit, err, videoState(ctx, page))
		return
	}
	v.FirstFrame = *st.FirstFrame / 1e3
	// Played enough, or to the end; a stalled viewer is given as long
	// again before the row goes on without it.
	playFor := time.Duration(*flagPlaySec * float64(time.Second))
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	deadline := time.Now().Add(2*playFor + offloadFrameLimit)
	for {
		if err := page.Eval(ctx, viewerStateJS, &st); err != nil {
			v.Err = err
			return
		}
		if !st.Seeking && (st.Ended || st.Played >= *flagPlaySec) {
			break
		}
		if st.Error != "" || time.Now().After(deadline) {
			break
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			v.Err = fmt.Errorf("played %.1f s of %g: %w", st.Played, *flagPlaySec, ctx.Err())
			return
		}
	}
	st.record(v)
	switch {
	case st.Error != "":
		v.Err = fmt.Errorf("the video: %s, after playing %.1f s", st.Error, st.Played)
	case st.SeekError != "":
		v.Err = fmt.Errorf("seeking to %.0f %%: %s", seekFrac*100, st.SeekError)
	case !st.Ended && st.Played < *flagPlaySec:
		v.Err = fmt.Errorf("played %.1f s of %g in %v after its first frame", st.Played, *flagPlaySec, 2*playFor+offloadFrameLimit)
	}
}

// viewerState is what viewerStateJS returns.
type viewerState struct {
	FirstFrame, Seek *float64
	SeekError, Error string
	Seeking, Ended   bool
	Played           float64
	Waits            []struct {
		At, MS float64
		Open   bool
	}
}

// record copies the state into v.
func (st viewerState) record(v *viewerRun) {
	if st.Seek != nil {
		v.Seek = *st.Seek / 1e3
	}
	v.Played, v.Ended = st.Played, st.Ended
	v.Waits = len(st.Waits)
	for _, w := range st.Waits {
		v.WaitSec += w.MS / 1e3
		v.Open = v.Open || w.Open
	}
}

// pageBytes reads where the page's bytes came from, by its own counts:
// the watch page's delivery figures, or play.js's bytes by source. A watch
// page must be in wantMode.
func pageBytes(ctx context.Context, page *testnet.Page, kind, wantMode string, v *viewerRun) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if kind == "plain" {
		var st struct {
			BytesBySource struct{ Node, WebSeed, Viewers int64 }
			Error         string
		}
		if err := page.Eval(sctx, "window.benchPlay", &st); err != nil {
			return err
		}
		v.FromNode, v.FromWebSeed, v.FromViewers = st.BytesBySource.Node, st.BytesBySource.WebSeed, st.BytesBySource.Viewers
		if st.Error != "" {
			return fmt.Errorf("play.js: %s", st.Error)
		}
		return nil
	}
	var st struct {
		Mode               string
		RTC, HTTP, Viewers int64
	}
	if err := page.Eval(sctx, watchStatsJS, &st); err != nil {
		return err
	}
	v.Mode, v.FromNode, v.FromWebSeed, v.FromViewers = st.Mode, st.RTC, st.HTTP, st.Viewers
	if st.Mode != wantMode {
		return fmt.Errorf("the watch page plays in mode %s, want %s", st.Mode, wantMode)
	}
	return nil
}

// within reports whether got is within frac of want.
func within(got, want int64, frac float64) bool {
	d := float64(got - want)
	return d <= frac*float64(want) && -d <= frac*float64(want)
}

// cpuStat is the machine's CPU time so far, all cores, from /proc/stat,
// in clock ticks.
type cpuStat struct{ total, idle int64 }

// readCPUStat reads the CPU time of cpus from /proc/stat, of every CPU
// for none.
func readCPUStat(cpus ...int) (cpuStat, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuStat{}, err
	}
	want := map[string]bool{"cpu": len(cpus) == 0}
	for _, c := range cpus {
		want["cpu"+strconv.Itoa(c)] = true
	}
	var s cpuStat
	found := 0
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) < 6 || !want[f[0]] {
			continue
		}
		found++
		for i, x := range f[1:] {
			v, err := strconv.ParseInt(x, 10, 64)
			if err != nil {
				return cpuStat{}, fmt.Errorf("/proc/stat: %q", line)
			}
			// user nice system idle iowait irq softirq steal guest
			// guest_nice; guest time is in user's already.
			switch {
			case i == 3 || i == 4:
				s.idle += v
				s.total += v
			case i < 8:
				s.total += v
			}
		}
	}
	if found != max(len(cpus), 1) {
		return cpuStat{}, fmt.Errorf("/proc/stat: %d of the lines of CPUs %v", found, cpus)
	}
	return s, nil
}

// busySince returns the share of the machine's CPU time, all cores, that
// was busy from s0 to s.
func (s cpuStat) busySince(s0 cpuStat) float64 {
	total := s.total - s0.total
	if total <= 0 {
		return 0
	}
	return 1 - float64(s.idle-s0.idle)/float64(total)
}

// offloadReport is the offload table make bench prints.
type offloadReport struct {
	Facts                 facts
	Film                  film
	Rows                  []*offloadRow
	Viewers               int
	Elapsed               time.Duration
	LoadBefore, LoadAfter string
}

// targetUpload returns issue 10's bound on the node's upload for n
// viewers with the deadline policy, in file sizes, or 0 if it sets none:
// 1.3 for 4, 1.6 for 8 (and for fewer, the bound of the next size up).
func targetUpload(n int) float64 {
	switch {
	case n <= 4:
		return targetUpload4
	case n <= 8:
		return targetUpload8
	}
	return 0
}

// firstFrames returns the first frames of the row's viewers that had one,
// in order of joining; none for a row not measured (nil included).
func (row *offloadRow) firstFrames() []float64 {
	if row == nil || row.Run == nil {
		return nil
	}
	var fs []float64
	for _, v := range row.Run.Viewers {
		if v.FirstFrame > 0 {
			fs = append(fs, v.FirstFrame)
		}
	}
	return fs
}

// Print writes the table.
func (rep offloadReport) Print(w io.Writer) {
	f := rep.Film
	rep.Facts.printHeader(w, "seedcast offload bench", rep.Elapsed, rep.LoadBefore, rep.LoadAfter)
	fmt.Fprintf(w, "film: %.0f s of 640×360 H.264 (testsrc2) and AAC, faststart, %.1f MB at %.2f Mbit/s, made by ffmpeg in %v\n",
		f.Seconds, float64(f.Size)/1e6, f.BitRate/1e6, f.Made.Round(100*time.Millisecond))
	fmt.Fprintf(w, "viewers: %d headless Chromiums, one per host, a fresh profile each, opening the page %v apart; each plays %g s of film, the last seeks to %.0f %% at its first frame and plays %g s or to the end; a fresh node per row\n\n",
		rep.Viewers, *flagJoinEvery, *flagPlaySec, *flagSeekFrac*100, *flagPlaySec)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "row\tnode upload ÷ file: interface\tAPI\tfrom viewers: pages\tAPI (viewers)\tfirst frame (s)\trebuffering (n/s)\tseek\tplayed (s)\tCPU: viewers, node, machine busy\tload after\t")
	for _, row := range rep.Rows {
		label := fmt.Sprintf("(%s) %s", row.Key, row.Title)
		r := row.Run
		if r == nil {
			na := row.NA
			if na == "" {
				na = "not measured"
			}
			fmt.Fprintf(tw, "%s\tn/a (%s)\t\t\t\t\t\t\t\t\t\t\n", label, na)
			continue
		}
		size := float64(f.Size)
		iface, api, share, apiShare := "n/a", "n/a", "n/a", "n/a"
		if r.Err == nil {
			iface = fmt.Sprintf("%.2f", float64(r.Sent)/size)
			api = fmt.Sprintf("%.2f", float64(r.API.BytesOut())/size)
			if row.page == "watch" {
				apiShare = fmt.Sprintf("%.0f %% (%d)", r.API.Offload.ViewerShare*100, r.API.Offload.Viewers)
				if !r.APISettled {
					apiShare += " unsettled"
				}
			} else {
				apiShare = "— (no reports)"
			}
		} else {
			iface = "n/a (" + r.Err.Error() + ")"
		}
		var got, fromViewers int64
		var firsts, waits, seeks, played []string
		for _, v := range r.Viewers {
			got += v.FromNode + v.FromWebSeed + v.FromViewers
			fromViewers += v.FromViewers
			if v.FirstFrame == 0 {
				firsts, waits, played = append(firsts, "fail"), append(waits, "—"), append(played, "—")
				continue
			}
			firsts = append(firsts, fmt.Sprintf("%.2f", v.FirstFrame))
			ws := fmt.Sprintf("%d/%.1f", v.Waits, v.WaitSec)
			if v.Open {
				ws += "+"
			}
			waits = append(waits, ws)
			p := fmt.Sprintf("%.0f", v.Played)
			if v.Ended {
				p += " (end)"
			}
			played = append(played, p)
			if v.Seeked {
				if v.Seek > 0 {
					seeks = append(seeks, fmt.Sprintf("%.2f s", v.Seek))
				} else {
					seeks = append(seeks, "fail")
				}
			}
		}
		switch {
		case got > 0:
			share = fmt.Sprintf("%.0f %%", float64(fromViewers)/float64(got)*100)
		case row.page == "watch" && row.mode() == "stream":
			share = "— (stream)"
		}
		seek := "—"
		if len(seeks) > 0 {
			seek = strings.Join(seeks, " ")
		}
		cpu := fmt.Sprintf("%.2f, %.2f cores; %.0f %%", r.CPUViewers.Seconds()/r.Seconds, r.CPUSeed.Seconds()/r.Seconds, r.Busy*100)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", label, iface, api, share, apiShare,
			strings.Join(firsts, " "), strings.Join(waits, " "), seek, strings.Join(played, " "), cpu, r.Load)
	}
	tw.Flush()

	fmt.Fprintf(w, "\nnode upload ÷ file: what the node sent during the row, in sizes of the film; interface: the seed host's eth0 tx bytes\n")
	fmt.Fprintf(w, "(pages, scripts, signaling and packet headers included; in (3) also the benchmark's page server, see below); API: the sum\n")
	fmt.Fprintf(w, "of transports[*].bytes_out of GET /api/torrents/{infohash}. from viewers: share of the viewers' bytes that came from other\n")
	fmt.Fprintf(w, "viewers, by the pages' own counts (the watch page's delivery figures; play.js by peer id); API (viewers): the node's\n")
	fmt.Fprintf(w, "offload.viewer_share from the pages' reports, and offload.viewers. first frame: from navigation to currentTime > 0, per viewer\n")
	fmt.Fprintf(w, "in order of joining; rebuffering: 'waiting' events after the first frame (not while seeking) / their time until\n")
	fmt.Fprintf(w, "'playing' (+: still waiting at the end); seek: from setting currentTime to playing past it; played: film time played\n")
	fmt.Fprintf(w, "from the first frame (the seeker: from the seek). CPU: the viewers' Chromiums together and the seed host, over the row;\n")
	fmt.Fprintf(w, "machine busy: share of all %d cores busy during the row (other work on the machine included).\n", rep.Facts.CPUs)
	var saturated []string
	for _, row := range rep.Rows {
		if row.Run != nil && row.Run.Busy >= saturatedBusy {
			saturated = append(saturated, fmt.Sprintf("(%s) %.0f %%", row.Key, row.Run.Busy*100))
		}
	}
	if len(saturated) > 0 {
		fmt.Fprintf(w, "the machine was saturated during %s: the times (first frame, rebuffering, seek) there are the machine's as much as the page's.\n",
			strings.Join(saturated, ", "))
	}
	for _, row := range rep.Rows {
		r := row.Run
		if r == nil {
			continue
		}
		var parts []string
		for _, v := range r.Viewers {
			parts = append(parts, fmt.Sprintf("%s %.1f/%.1f/%.1f", v.Host, float64(v.FromNode)/1e6, float64(v.FromWebSeed)/1e6, float64(v.FromViewers)/1e6))
		}
		extra := ""
		if r.PagesSent > 0 {
			extra = fmt.Sprintf("; the page server sent %.1f MB of it", float64(r.PagesSent)/1e6)
		}
		fmt.Fprintf(w, "(%s) MB from the node over WebRTC/web seed/viewers: %s; interface %.1f MB%s; API: %s\n",
			row.Key, strings.Join(parts, ", "), float64(r.Sent)/1e6, extra, r.API.transportsString())
	}
	fmt.Fprintln(w)

	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "target\tvalue\ttarget\tresult\tby\t")
	rows := make(map[string]*offloadRow)
	for _, row := range rep.Rows {
		if row.Run != nil && row.Run.Err == nil {
			rows[row.Key] = row
		}
	}
	upload := func(key string, api bool) (float64, bool) {
		row, ok := rows[key]
		if !ok {
			return 0, false
		}
		if api {
			return float64(row.Run.API.BytesOut()) / float64(f.Size), true
		}
		return float64(row.Run.Sent) / float64(f.Size), true
	}
	nv := rep.Viewers
	v, ok := upload("1", false)
	printTarget(tw, fmt.Sprintf("node upload ÷ file, %d viewers, policy (1), interface", nv), v, ok, targetUpload(nv), "", false)
	v, ok = upload("1", true)
	printTarget(tw, fmt.Sprintf("node upload ÷ file, %d viewers, policy (1), API", nv), v, ok, targetUpload(nv), "", false)
	for _, k := range []string{"2", "3", "4", "5"} {
		if v, ok := upload(k, false); ok {
			api, _ := upload(k, true)
			note := ""
			if k == "3" {
				note = " (issue 10 expects ≈ 3.3 for 4)"
			}
			fmt.Fprintf(tw, "node upload ÷ file (%s), interface / API\t%.2f / %.2f\t—%s\t\t\t\n", k, v, api, note)
		}
	}
	if row, ok := rows["5"]; ok {
		waits, sec := rebuffering(row)
		fmt.Fprintf(tw, "rebuffering after the first frame, (5) without super-seeding\t%d (%.1f s)\t—\t\t\t\n", waits, sec)
	}
	if row, ok := rows["4"]; ok {
		waits, sec, failed := 0, 0.0, 0
		for _, v := range row.Run.Viewers {
			if v.FirstFrame == 0 {
				failed++
				continue
			}
			waits += v.Waits
			sec += v.WaitSec
		}
		res, by := "PASS", ""
		if waits > 0 || failed > 0 {
			res, by = "MISS", fmt.Sprintf("%d rebufferings, %.1f s", waits, sec)
			if failed > 0 {
				by += fmt.Sprintf("; %d viewers without a first frame", failed)
			}
		}
		fmt.Fprintf(tw, "rebuffering after the first frame, capped node (4)\t%d (%.1f s)\tnone\t%s\t%s\t\n", waits, sec, res, by)
	} else {
		fmt.Fprintf(tw, "rebuffering after the first frame, capped node (4)\tn/a\tnone\tn/a\t\t\n")
	}
	var ratio float64
	w1, s1 := rows["1"].firstFrames(), rows["s"].firstFrames()
	ok = len(w1) > 0 && len(s1) > 0
	if ok {
		ratio = medianOf(w1) / medianOf(s1)
	}
	printTarget(tw, "/watch first frame (1, median of viewers) ÷ /stream first frame (s)", ratio, ok, targetFirstOverSelf, "", false)
	if ok {
		printTarget(tw, "  the same, the first viewer alone (viewer1 of (1))", w1[0]/medianOf(s1), true, targetFirstOverSelf, "", false)
	}
	for _, k := range []string{"1", "2", "4", "5", "3"} {
		row, ok := rows[k]
		if !ok {
			continue
		}
		for _, v := range row.Run.Viewers {
			if !v.Seeked {
				continue
			}
			name := fmt.Sprintf("seek (%s), %s", k, v.Host)
			if k == "3" {
				if v.Seek > 0 {
					fmt.Fprintf(tw, "%s\t%.2f s\t— (reference)\t\t\t\n", name, v.Seek)
				}
				continue
			}
			printTarget(tw, name, v.Seek, v.Seek > 0, targetOffloadSeek, " s", true)
		}
	}
	tw.Flush()

	var failed []string
	for _, row := range rep.Rows {
		if row.Run == nil {
			continue
		}
		if row.Run.Err != nil {
			failed = append(failed, fmt.Sprintf("(%s): %v", row.Key, row.Run.Err))
		}
		for _, v := range row.Run.Viewers {
			if v.Err != nil {
				failed = append(failed, fmt.Sprintf("(%s) %s: %v", row.Key, v.Host, v.Err))
			}
		}
	}
	printFailures(w, failed)
}

// transportsString lists the node's bytes out by transport, in MB.
func (a apiTorrent) transportsString() string {
	var parts []string
	for _, name := range []string{"webrtc", "webseed", "http", "tcp", "utp"} {
		if t, ok := a.Transports[name]; ok && t.BytesOut > 0 {
			parts = append(parts, fmt.Sprintf("%s %.1f MB", name, float64(t.BytesOut)/1e6))
		}
	}
	if len(parts) == 0 {
		return "nothing sent"
	}
	return strings.Join(parts, ", ")
}

// rebuffering sums the waits after the first frame of a row's viewers.
func rebuffering(row *offloadRow) (waits int, sec float64) {
	for _, v := range row.Run.Viewers {
		waits += v.Waits
		sec += v.WaitSec
	}
	return waits, sec
}
