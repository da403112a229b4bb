package bench

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seedcast/seedcast/e2e/testnet"
)

// Flags of the playback benchmark. The defaults are issue 5's: medians of
// at least 5 runs.
var (
	flagPlayRuns   = flag.Int("play-runs", 5, "runs per row of the playback table")
	flagPlayRows   = flag.String("play", "pidswmrh", "which rows of the playback table to measure")
	flagFrameLimit = flag.Duration("first-frame-limit", 10*time.Second, "give up on a run without a first frame after this long (the reference may stall)")
	flagSeekFrac   = flag.Float64("seek", 0.8, "where the seek goes, as a fraction of the duration")
)

// pilotPath is the demo pilot in the checkout: seedcast serve without paths
// seeds these bytes, and the reference seeds them too.
const pilotPath = "../cmd/seedcast/pilot/seedcast-pilot.mp4"

// Ports of the playback table's programs, on the seed host.
const refTrackerPort = 8000 // npm bittorrent-tracker

// Targets of issue 5.
const (
	targetP2POverRef  = 0.5
	targetStreamFirst = 0.3 // seconds
	targetSeek        = 0.3 // seconds
)

// probeJS runs before the scripts of every page of a run. It records in
// window.__bench the time, in ms since navigation, at which a <video>'s
// currentTime first passes 0: a frame of the film is on the screen and
// moving. It checks every 4 ms from the video's loadstart, so the time is
// that fine; the harness only reads it afterwards.
const probeJS = `(() => {
  if (window.top !== window) return
  const b = window.__bench = { firstFrame: null }
  addEventListener('loadstart', e => {
    const v = e.target
    if (!(v instanceof HTMLVideoElement) || v.__benchProbe) return
    v.__benchProbe = true
    const check = () => {
      if (b.firstFrame !== null) return
      if (v.currentTime > 0) b.firstFrame = performance.now()
      else setTimeout(check, 4)
    }
    check()
  }, true)
})()`

// seekJS seeks the page's video to a fraction (%g) of its duration and
// resolves to the ms until it plays again: not seeking, not paused, and
// currentTime past the target.
const seekJS = `(async frac => {
  // The watch page replaces its video element when it hands over from the
  // node's opening stream to its peers: the element is looked up afresh.
  const video = () => document.querySelector('video')
  const target = video().duration * frac
  const t0 = performance.now()
  video().currentTime = target
  return await new Promise((resolve, reject) => {
    const check = () => {
      const v = video()
      if (!v.seeking && !v.paused && v.currentTime > target) return resolve(performance.now() - t0)
      if (performance.now() - t0 > 15000) return reject(new Error('not playing 15 s after the seek: currentTime ' + v.currentTime + ', readyState ' + v.readyState + ', paused ' + v.paused))
      setTimeout(check, 4)
    }
    check()
  })
})(%g)`

// videoStateJS describes the page's video and its WebTorrent, for the
// error of a run without a first frame.
const videoStateJS = `(() => {
  const v = document.querySelector('video')
  return JSON.stringify({
    src: v?.currentSrc, readyState: v?.readyState, networkState: v?.networkState, error: v?.error?.message,
    controlled: !!navigator.serviceWorker?.controller, play: window.benchPlay, mode: document.querySelector('[data-player]')?.dataset.mode
  })
})()`

// videoState describes page's video for an error, within 5 s even after
// ctx is done.
func videoState(ctx context.Context, page *testnet.Page) string {
	var state string
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if page.Eval(sctx, videoStateJS, &state) != nil {
		return "unknown"
	}
	return state
}

// marksJS lists the watch page's performance marks, in ms since
// navigation.
const marksJS = `performance.getEntriesByType('mark').filter(m => m.name.startsWith('seedcast: ')).map(m => m.name.slice(10) + ' ' + Math.round(m.startTime)).join(', ')`

// watchStatsJS is where a watch page's bytes came from, from its figures.
const watchStatsJS = `(() => {
  const p = document.querySelector('[data-player]')
  const n = name => Number(document.querySelector('[data-stat="' + name + '"]')?.dataset.value || 0)
  return { mode: p.dataset.mode, rtc: n('server-rtc'), http: n('server-http'), viewers: n('viewers') }
})()`

// BenchmarkPlayback measures how soon a viewer sees the pilot and how soon
// a seek plays, on seedcast's watch page and on the reference (issue 5): a
// plain WebTorrent page fed by anacrolix/torrent's built-in WebTorrent
// through the npm bittorrent-tracker. Every run is a fresh Chromium with a
// fresh profile, as a first visit is. It prints its own table.
func BenchmarkPlayback(b *testing.B) {
	if *flagPlayRuns < 1 {
		b.Fatalf("-play-runs %d: want at least 1", *flagPlayRuns)
	}
	ctx, e := newEnv(b, 2)
	pilot, err := filepath.Abs(pilotPath)
	if err != nil {
		b.Fatal(err)
	}
	st, err := os.Stat(pilot)
	if err != nil {
		b.Fatalf("the demo pilot: %v", err)
	}
	e.pilot = testnet.File{Path: pilot, Size: st.Size()}

	rows := []*playRow{
		{Key: "p", Title: "seedcast /watch?head=0, P2P: WebRTC from the node, no web seed", setup: setupWatch(watchOpts{mode: "p2p", query: "?head=0", flags: []string{"--no-webseed"}})},
		{Key: "i", Title: "  the same, the node unable to resolve mDNS (a server on the internet)", setup: setupWatch(watchOpts{mode: "p2p", query: "?head=0", dropMDNS: true, flags: []string{"--no-webseed"}})},
		{Key: "d", Title: "seedcast /watch as served: opening stream, then WebRTC and web seed", setup: setupWatch(watchOpts{mode: "p2p"})},
		{Key: "s", Title: "seedcast /watch?p2p=0: /stream", setup: setupWatch(watchOpts{mode: "stream", query: "?p2p=0"})},
		{Key: "w", Title: "WebTorrent page ← seedcast, WebRTC only", setup: setupPlainSeedcast},
		{Key: "m", reference: true, Title: "reference: WebTorrent page ← anacrolix v1.59.1 via npm bittorrent-tracker", setup: setupReference(nil, false)},
		{Key: "r", reference: true, Title: "  the same, the seeder unable to resolve mDNS (a server on the internet)", setup: setupReference(nil, true)},
		{Key: "h", reference: true, Title: "  the same, Chromium's mDNS candidates off", setup: setupReference(noMDNS, false)},
	}
	start, loadBefore := time.Now(), loadAverage()
	measured := make([]row, len(rows))
	for i, r := range rows {
		measured[i] = r
	}
	measureRows(ctx, b, e, measured, "-play", *flagPlayRows)
	rep := playReport{Facts: e.facts, Rows: rows, Elapsed: time.Since(start), LoadBefore: loadBefore, LoadAfter: loadAverage()}
	printReport(ctx, b, rep)
}

// playRow is one row of the playback table.
type playRow struct {
	Key, Title string
	NA         string
	Runs       []playRun
	// reference rows may fail without failing the benchmark.
	reference bool
	setup     func(ctx context.Context, b *testing.B, e *env) playOnceFunc
}

// playOnceFunc makes one run of a row.
type playOnceFunc func(ctx context.Context, b *testing.B, e *env) playRun

// playRun is one visit to a page.
type playRun struct {
	Err error
	// FirstFrame is the time from navigation to currentTime > 0, Seek from
	// the seek to playing again; in seconds.
	FirstFrame, Seek float64
	// Source says where the bytes came from; Marks are the watch page's
	// performance marks.
	Source, Marks string
}

func (row *playRow) key() string    { return row.Key }
func (row *playRow) skip(na string) { row.NA = na }
func (row *playRow) measured() bool { return len(row.Runs) > 0 || row.NA != "" }
func (r playRun) err() error        { return r.Err }

func (row *playRow) measure(ctx context.Context, b *testing.B, e *env) {
	once := row.setup(ctx, b, e)
	runs(ctx, b, e, *flagPlayRuns, row.reference, once, func(b *testing.B, i int, r playRun) []any {
		row.Runs = append(row.Runs, r)
		if r.Err != nil {
			return nil
		}
		b.ReportMetric(r.FirstFrame, "first-frame-s")
		b.ReportMetric(r.Seek, "seek-s")
		return []any{"row", row.Key, "first_frame_s", fmt.Sprintf("%.3f", r.FirstFrame),
			"seek_s", fmt.Sprintf("%.3f", r.Seek), "source", r.Source, "marks", r.Marks}
	})
}

// watchOpts describes a row of seedcast's watch page.
type watchOpts struct {
	// mode is where the player must end up taking the bytes from: "p2p"
	// (then over WebRTC alone if the node has no web seed) or "stream".
	mode string
	// query is added to the page's URL.
	query string
	// dropMDNS keeps the node from resolving Chromium's .local names.
	dropMDNS bool
	// flags are seedcast serve's, beyond the WebRTC port.
	flags []string
}

// setupWatch starts seedcast serve on the demo pilot as o says, and returns
// runs that open its watch page and check where the bytes came from.
func setupWatch(o watchOpts) func(context.Context, *testing.B, *env) playOnceFunc {
	return func(ctx context.Context, b *testing.B, e *env) playOnceFunc {
		node := startNode(ctx, b, e, e.pilot, append([]string{"--webrtc-port", fmt.Sprint(webrtcPort)}, o.flags...)...)
		if o.dropMDNS {
			e.net.BlockMulticast(b, "seed")
		}
		webSeed := len(node.metainfo(ctx, b).UrlList) > 0
		u := node.URL + "/watch/" + node.infohash + o.query
		wantMode := o.mode
		return func(ctx context.Context, b *testing.B, e *env) playRun {
			page, r := visit(ctx, b, e, nil, u, node.URL)
			if r.Err != nil {
				return r
			}
			if err := page.Eval(ctx, marksJS, &r.Marks); err != nil {
				r.Err = err
				return r
			}
			r.Source, r.Err = watchSource(ctx, page, wantMode, webSeed)
			return r
		}
	}
}

// watchSource waits until the watch page in page has handed over from the
// node's opening stream and counts bytes, and says where they came from.
// The error says if the page plays in another mode than wantMode ("p2p" or
// "stream"), or in p2p without a web seed took bytes from elsewhere than
// the node over WebRTC.
func watchSource(ctx context.Context, page *testnet.Page, wantMode string, webSeed bool) (string, error) {
	var st struct {
		Mode               string
		RTC, HTTP, Viewers int64
	}
	// The page updates its figures every second.
	err := testnet.Poll(ctx, nil, func(ctx context.Context) error {
		if err := page.Eval(ctx, watchStatsJS, &st); err != nil {
			return err
		}
		if st.Mode == "head" {
			// The first frame came from the node's opening stream; the
			// hand-over to peers follows within a second or two.
			return errors.New("the page still plays its opening stream")
		}
		if st.Mode == "p2p" && st.RTC+st.HTTP == 0 {
			return errors.New("the page counts no byte yet")
		}
		return nil
	})
	src := fmt.Sprintf("%s: node WebRTC %.1f MB, web seed %.1f MB", st.Mode, float64(st.RTC)/1e6, float64(st.HTTP)/1e6)
	switch {
	case err != nil:
		return src, fmt.Errorf("reading the page's figures: %w", err)
	case st.Mode != wantMode:
		return src, fmt.Errorf("the player streams in mode %s, want %s", st.Mode, wantMode)
	case wantMode == "p2p" && !webSeed && (st.RTC == 0 || st.HTTP > 0):
		return src, fmt.Errorf("the page got %d bytes over WebRTC and %d from a web seed, want WebRTC alone", st.RTC, st.HTTP)
	}
	return src, nil
}

// setupPlainSeedcast starts seedcast serve on the pilot without web seed,
// and returns runs in which the reference's page (play.js) plays it from
// the node: the plain WebTorrent page without seedcast's player, for
// telling the page's share of the time from the seeder's.
func setupPlainSeedcast(ctx context.Context, b *testing.B, e *env) playOnceFunc {
	node := startNode(ctx, b, e, e.pilot, "--no-webseed", "--webrtc-port", fmt.Sprint(webrtcPort))
	mi := node.metainfo(ctx, b)
	var buf bytes.Buffer
	if err := mi.Write(&buf); err != nil {
		b.Fatal(err)
	}
	name := "seedcast-" + node.infohash + ".torrent"
	e.pages.addTorrent(name, buf.Bytes())
	return plainRuns(e.origin+"/play.html?torrent="+url.QueryEscape("/d/"+name), nil)
}

// noMDNS are the Chromium flags that turn its mDNS host candidates off: its
// host candidates then carry its addresses. anacrolix v1.59.1 drops every
// WebRTC connection whose remote candidate is an mDNS one, which pion
// resolves on a LAN: Client.badPeerAddr finds no IP in "<uuid>.local".
var noMDNS = map[string]any{"disable-features": "WebRtcHideLocalIpsWithMdns"}

// setupReference returns the setup of the reference: the npm
// bittorrent-tracker and an anacrolix/torrent client (v1.59.1, this
// module's) with its built-in WebTorrent, seeding the pilot under the same
// info as seedcast's, with the tracker as its only one. The runs play it on
// play.html in a Chromium with chromiumFlags; with dropMDNS the seeder
// cannot resolve Chromium's .local names.
func setupReference(chromiumFlags map[string]any, dropMDNS bool) func(context.Context, *testing.B, *env) playOnceFunc {
	return func(ctx context.Context, b *testing.B, e *env) playOnceFunc {
		if dropMDNS {
			e.net.BlockMulticast(b, "seed")
		}
		return startReference(ctx, b, e, chromiumFlags)
	}
}

func startReference(ctx context.Context, b *testing.B, e *env, chromiumFlags map[string]any) playOnceFunc {
	node, err := exec.LookPath("node")
	if err != nil {
		b.Fatalf("no node: %v; the reference tracker is the npm bittorrent-tracker", err)
	}
	// The info of seedcast's torrent of the pilot: same pieces, same
	// bytes. A seedcast serve makes it, then goes.
	sc := startNode(ctx, b, e, e.pilot, "--no-webseed")
	mi := sc.metainfo(ctx, b)
	if err := sc.Proc.Stop(testnet.StopTimeout); err != nil {
		b.Fatalf("stopping seedcast serve: %v", err)
	}
	info, err := mi.UnmarshalInfo()
	if err != nil {
		b.Fatal(err)
	}

	addr := netip.AddrPortFrom(e.net.Addr("seed"), refTrackerPort)
	script, err := filepath.Abs("../e2e/testdata/reference-tracker.mjs")
	if err != nil {
		b.Fatal(err)
	}
	serverURL := (&url.URL{Scheme: "file", Path: filepath.Join(e.modules, "bittorrent-tracker/server.js")}).String()
	tracker := startProcess(b, "bittorrent-tracker", e.net.Command(ctx, "seed", node, script, serverURL, addr.Addr().String(), strconv.Itoa(int(addr.Port()))))
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := e.net.WaitTCP(wctx, "seed", addr.String(), tracker); err != nil {
		b.Fatalf("bittorrent-tracker not listening: %v", err)
	}

	mi.Announce, mi.AnnounceList, mi.UrlList = "ws://"+addr.String(), nil, nil
	var buf bytes.Buffer
	if err := mi.Write(&buf); err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	torrentPath := filepath.Join(dir, "reference.torrent")
	if err := os.WriteFile(torrentPath, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.Symlink(e.pilot.Path, filepath.Join(data, info.Name)); err != nil {
		b.Fatal(err)
	}
	seeder := startRefSeed(ctx, b, e, refSeedConfig{Torrent: torrentPath, Dir: data})
	e.log.Info("reference ready", "tracker", "ws://"+addr.String(), "seeder", seeder.String())

	name := "reference-" + sc.infohash + ".torrent"
	e.pages.addTorrent(name, buf.Bytes())
	return plainRuns(e.origin+"/play.html?torrent="+url.QueryEscape("/d/"+name), chromiumFlags)
}

// plainRuns returns runs that open play.html at u in a Chromium with
// chromiumFlags and check that the bytes came over WebRTC.
func plainRuns(u string, chromiumFlags map[string]any) playOnceFunc {
	return func(ctx context.Context, b *testing.B, e *env) playRun {
		page, r := visit(ctx, b, e, chromiumFlags, u)
		if r.Err != nil {
			return r
		}
		var st struct {
			BytesByWireType map[string]int64
			Error           string
		}
		if err := page.Eval(ctx, "window.benchPlay", &st); err != nil {
			r.Err = err
			return r
		}
		var parts []string
		for k, v := range st.BytesByWireType {
			parts = append(parts, fmt.Sprintf("%s %.1f MB", k, float64(v)/1e6))
		}
		r.Source = strings.Join(parts, ", ")
		switch {
		case st.Error != "":
			r.Err = fmt.Errorf("play.js: %s", st.Error)
		case st.BytesByWireType["webrtc"] == 0 || len(st.BytesByWireType) != 1:
			r.Err = fmt.Errorf("the page got %v by wire type, want WebRTC alone", st.BytesByWireType)
		}
		return r
	}
}

// visit opens u in a fresh Chromium in viewer1 (a first visit: no service
// worker, nothing cached) started with chromiumFlags, waits for the first
// frame and seeks at once. Pages of the bench origin and of origins count as
// secure contexts.
func visit(ctx context.Context, b *testing.B, e *env, chromiumFlags map[string]any, u string, origins ...string) (*testnet.Page, playRun) {
	page, first, err := openProbed(ctx, b, e, chromiumFlags, *flagFrameLimit, u, origins...)
	defer printConsole(page)
	r := playRun{FirstFrame: first, Err: err}
	if err != nil {
		return page, r
	}
	// The viewer seeks as soon as the film moves, before the page can
	// hold much of it.
	r.Seek, r.Err = seekPlays(ctx, page)
	return page, r
}

// openProbed opens u with probeJS in a fresh Chromium in viewer1 (a first
// visit: no service worker, nothing cached) started with chromiumFlags,
// and waits up to limit for the first frame; it returns the page and the
// first frame, in seconds from navigation. Pages of the bench origin and
// of origins count as secure contexts.
func openProbed(ctx context.Context, b *testing.B, e *env, chromiumFlags map[string]any, limit time.Duration, u string, origins ...string) (*testnet.Page, float64, error) {
	page := e.net.StartChromiumFlags(ctx, b, "viewer1", e.chromium, chromiumFlags, append([]string{e.origin}, origins...)...)
	if err := page.InitScript(ctx, probeJS); err != nil {
		return page, 0, err
	}
	if err := page.Open(ctx, u); err != nil {
		return page, 0, err
	}
	fctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var ms *float64
	err := testnet.Poll(fctx, nil, func(ctx context.Context) error {
		if err := page.Eval(ctx, "window.__bench.firstFrame", &ms); err != nil {
			return err
		}
		if ms == nil {
			return errors.New("no frame yet")
		}
		return nil
	})
	if err != nil {
		return page, 0, fmt.Errorf("no first frame within %v of navigating (a stall?): %w; the page: %s", limit, err, videoState(ctx, page))
	}
	return page, *ms / 1e3, nil
}

// seekPlays seeks the video of page to -seek of its duration and returns
// the seconds until it plays past that point again.
func seekPlays(ctx context.Context, page *testnet.Page) (float64, error) {
	var ms float64
	if err := page.Eval(ctx, fmt.Sprintf(seekJS, *flagSeekFrac), &ms); err != nil {
		return 0, fmt.Errorf("seeking to %.0f %%: %w", *flagSeekFrac*100, err)
	}
	return ms / 1e3, nil
}
