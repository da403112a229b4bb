package bench

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/seedcast/seedcast/e2e/testnet"
)

// bridgeReport is the bridge table make bench prints.
type bridgeReport struct {
	Facts facts
	Film  film
	// Rate is the native seeder's upload cap, in bytes/s.
	Rate                  int
	Rows                  []*bridgeRow
	Elapsed               time.Duration
	LoadBefore, LoadAfter string
}

// timesCell is the median of v over the runs that succeeded, in seconds,
// then each run's, "fail" for one that failed; ok is false if none
// succeeded.
func timesCell(runs []bridgeRun, v func(bridgeRun) float64) (cell string, m float64, ok bool) {
	m, n, _ := medianRun(runs, v)
	var each []string
	for _, r := range runs {
		if r.Err != nil {
			each = append(each, "fail")
			continue
		}
		each = append(each, fmt.Sprintf("%.2f", v(r)))
	}
	if n == 0 {
		return "n/a (" + strings.Join(each, " ") + ")", 0, false
	}
	return fmt.Sprintf("%.2f s (%s)", m, strings.Join(each, " ")), m, true
}

// mbCell is the median of v over the runs that succeeded, in MB, or "n/a".
func mbCell(runs []bridgeRun, v func(bridgeRun) int64) string {
	m, n, _ := medianRun(runs, func(r bridgeRun) float64 { return float64(v(r)) })
	if n == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f", m/1e6)
}

// Print writes the table.
func (rep bridgeReport) Print(w io.Writer) {
	f := rep.Film
	size := float64(f.Size)
	rep.Facts.printHeader(w, "seedcast bridge bench", rep.Elapsed, rep.LoadBefore, rep.LoadAfter)
	fmt.Fprintf(w, "film: %.0f s of 640×360 H.264 (testsrc2) and AAC, faststart, %.1f MB at %.2f Mbit/s, made by ffmpeg in %v\n",
		f.Seconds, size/1e6, f.BitRate/1e6, f.Made.Round(100*time.Millisecond))
	fmt.Fprintf(w, "native swarm: one libtorrent seeder in a host of its own, TCP only, its upload capped at %.0f kB/s (%d × the film's bitrate), pieces of %d KiB;\n",
		float64(rep.Rate)/1e3, bridgeRate, bridgePieceLen>>10)
	fmt.Fprintf(w, "(1) fetches the film from it by magnet (magnet:?xt=urn:btih:…&x.pe=<seeder>), (2) serves the film's file; every run a fresh node (fresh\n")
	fmt.Fprintf(w, "--data) and a fresh Chromium profile; the page opens once the node's API lists the film's files, plays past %g s, then seeks to %.0f %%\n\n",
		bridgePlayedSec, *flagSeekFrac*100)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "row\tAPI lists the film\tfirst frame\tplayed past %g s\tseek to %.0f %%\tnode held at first frame, at %g s\tnode in: TCP (MB)\tout: WebRTC, /stream, web seed (MB)\tthe page's bytes (median run)\t\n",
		bridgePlayedSec, *flagSeekFrac*100, bridgePlayedSec)
	med := make(map[string]map[string]float64)
	for _, row := range rep.Rows {
		label := fmt.Sprintf("(%s) %s", row.Key, row.Title)
		if len(row.Runs) == 0 {
			na := row.NA
			if na == "" {
				na = "not measured"
			}
			fmt.Fprintf(tw, "%s\tn/a (%s)\t\t\t\t\t\t\t\t\n", label, na)
			continue
		}
		m := make(map[string]float64)
		cell := func(name string, v func(bridgeRun) float64) string {
			c, x, ok := timesCell(row.Runs, v)
			if ok {
				m[name] = x
			}
			return c
		}
		listed := cell("listed", func(r bridgeRun) float64 { return r.Listed })
		first := cell("first", func(r bridgeRun) float64 { return r.FirstFrame })
		played := cell("played", func(r bridgeRun) float64 { return r.Played })
		seek := cell("seek", func(r bridgeRun) float64 { return r.Seek })
		held, src := "n/a", ""
		if hf, n, _ := medianRun(row.Runs, func(r bridgeRun) float64 { return float64(r.HeldFirst) }); n > 0 {
			hp, _, _ := medianRun(row.Runs, func(r bridgeRun) float64 { return float64(r.HeldPlayed) })
			held = fmt.Sprintf("%.0f %%, %.0f %%", hf/size*100, hp/size*100)
			m["held-played"] = hp / size
		}
		out := fmt.Sprintf("%s, %s, %s", mbCell(row.Runs, func(r bridgeRun) int64 { return r.RTCOut }),
			mbCell(row.Runs, func(r bridgeRun) int64 { return r.StreamOut }), mbCell(row.Runs, func(r bridgeRun) int64 { return r.WebSeedOut }))
		if _, _, mid := medianRun(row.Runs, func(r bridgeRun) float64 { return r.Played }); mid >= 0 {
			src = row.Runs[mid].Source
		}
		med[row.Key] = m
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", label, listed, first, played, seek, held,
			mbCell(row.Runs, func(r bridgeRun) int64 { return r.TCPIn }), out, src)
	}
	tw.Flush()

	fmt.Fprintf(w, "\ntimes: median of the runs that did not fail, then each run. API lists the film: from starting seedcast serve until\n")
	fmt.Fprintf(w, "GET /api/torrents/{infohash} lists its files (for (1) the info from the seeder; the page is opened then). first frame: from\n")
	fmt.Fprintf(w, "navigation to the video's currentTime > 0, checked every 4 ms in the page; played past %g s: from navigation until currentTime\n", bridgePlayedSec)
	fmt.Fprintf(w, "> %g s with the page handed over to its peers (p2p mode); seek: from setting currentTime to playing past it again. node held:\n", bridgePlayedSec)
	fmt.Fprintf(w, "bytes_completed of the API as a share of the film, read when the harness saw the first frame and %g s played (medians).\n", bridgePlayedSec)
	fmt.Fprintf(w, "node in/out: the API's transports at the end of each run (a fresh node: the run's bytes), medians; the page's bytes: its\n")
	fmt.Fprintf(w, "own figures at the end of the median run. A run fails without %g s played within %v, or unless the page ends in p2p mode.\n", bridgePlayedSec, bridgeLimit)
	for _, row := range rep.Rows {
		if _, _, mid := medianRun(row.Runs, func(r bridgeRun) float64 { return r.Played }); mid >= 0 && row.Runs[mid].Marks != "" {
			fmt.Fprintf(w, "(%s) the page's marks in its median run, ms since navigation: %s\n", row.Key, row.Runs[mid].Marks)
		}
	}
	fmt.Fprintln(w)

	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "target\tvalue\ttarget\tresult\tby\t")
	b, c := med["1"], med["2"]
	v, ok := b["played"]
	printTarget(tw, fmt.Sprintf("bridge (1): played past %g s over WebRTC, from opening the page", bridgePlayedSec), v, ok, targetBridgePlayed, " s", false)
	v, ok = b["seek"]
	printTarget(tw, fmt.Sprintf("bridge (1): playing again after a seek to %.0f %%", *flagSeekFrac*100), v, ok, targetBridgeSeek, " s", false)
	if v, ok := b["held-played"]; ok {
		fmt.Fprintf(tw, "bridge (1): share of the film the node held at %g s played\t%.0f %%\t— (issue 13: under half)\t\t\t\n", bridgePlayedSec, v*100)
	}
	for _, r := range []struct{ name, key string }{
		{"API lists the film", "listed"},
		{"first frame", "first"},
		{fmt.Sprintf("played past %g s", bridgePlayedSec), "played"},
		{"seek", "seek"},
	} {
		x, okB := b[r.key]
		y, okC := c[r.key]
		if !okB || !okC || y == 0 {
			fmt.Fprintf(tw, "bridge ÷ complete (1/2), %s\tn/a\t—\t\t\t\n", r.name)
			continue
		}
		fmt.Fprintf(tw, "bridge ÷ complete (1/2), %s\t%.2f\t—\t\t\t\n", r.name, x/y)
	}
	tw.Flush()

	var failed []string
	for _, row := range rep.Rows {
		failed = append(failed, failures(row.Key, row.Runs)...)
	}
	printFailures(w, failed)
}

func TestBridgeReport(t *testing.T) {
	const size = 20_000_000
	run := func(played, seek float64) bridgeRun {
		return bridgeRun{Listed: 0.5, FirstFrame: played - 2, Played: played, Seek: seek,
			HeldFirst: size / 10, HeldPlayed: size / 4, TCPIn: size / 2, RTCOut: size / 5, Source: fmt.Sprintf("p2p at %g", played)}
	}
	failed := bridgeRun{Err: errors.New("no first frame")}
	rep := bridgeReport{
		Film: film{File: testnet.File{Size: size}, Seconds: 120, BitRate: 1.5e6},
		Rate: 562_500,
		Rows: []*bridgeRow{
			{Key: "1", Title: "bridge", Runs: []bridgeRun{run(5, 4), failed, run(7, 2), run(6, 3.5)}},
			{Key: "2", Title: "complete", Runs: []bridgeRun{run(2, 0.5), run(3, 0.5), run(4, 1)}},
		},
	}
	var buf strings.Builder
	rep.Print(&buf)
	// Columns are padded with spaces: one stands for any run of them.
	out := strings.Join(strings.Fields(buf.String()), " ")
	for _, want := range []string{
		"6.00 s (5.00 fail 7.00 6.00)", // played past 3 s of (1): the median of the three that played
		"4.00 s (3.00 fail 5.00 4.00)", // first frame of (1)
		"10 %, 25 %",
		"p2p at 6", // the median run's bytes
		"played past 3 s over WebRTC, from opening the page 6.00 s ≤ 8.00 s PASS 2.00 s to spare",
		"playing again after a seek to 80 % 3.50 s ≤ 3.00 s MISS 0.50 s over",
		"bridge ÷ complete (1/2), played past 3 s 2.00",
		"(1) run 2: no first frame",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q:\n%s", want, buf.String())
		}
	}
}
