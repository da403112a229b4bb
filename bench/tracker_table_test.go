package bench

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// idlePerSocket returns the RSS the tracker grew by per socket opened,
// and whether it was measured.
func (r *trackerRow) idlePerSocket() (float64, bool) {
	if r.Open == nil || r.Open.Open == 0 || r.RSSIdle == 0 {
		return 0, false
	}
	return float64(r.RSSIdle-r.RSSStart) / float64(r.Open.Open), true
}

// limit returns the step of the highest rate that passed and what
// bounded the step above it (loadStep.bound), or "" when no step failed:
// the search stopped at -tracker-max-rate or was cut short.
func (r *trackerRow) limit() (best *loadStep, bound string) {
	best = r.bestPass()
	if best == nil {
		return nil, ""
	}
	if fail := r.firstFailAbove(best.Rate); fail != nil {
		bound = fail.bound()
	}
	return best, bound
}

// loadgenCost is the generator's CPU per announce, in core-seconds, at
// the highest rate the tracker carried: its cost per announce falls as
// the rate rises (each wake-up handles more), so the lower steps would
// overstate it.
func (r *trackerRow) loadgenCost() (float64, bool) {
	best := r.bestPass()
	if best == nil || best.LoadgenCores <= 0 || best.PerSecond() <= 0 {
		return 0, false
	}
	return best.LoadgenCores / best.PerSecond(), true
}

// mustCPUList is cpuList of a list already checked.
func mustCPUList(list string) []int {
	c, _ := cpuList(list)
	return c
}

// Print writes the table.
func (rep trackerReport) Print(w io.Writer) {
	f, su := rep.Facts, rep.Setup
	fmt.Fprintf(w, "seedcast tracker bench, %s, %s wall time\n", f.Date.Format("2006-01-02 15:04 MST"), rep.Elapsed.Round(time.Second))
	fmt.Fprintf(w, "machine: %d cores (%s), Linux %s; 1-minute load average %s before, %s after\n",
		f.CPUs, f.CPUModel, f.Kernel, rep.LoadBefore, rep.LoadAfter)
	fmt.Fprintf(w, "software: %s, seedcast checkout %s; Node %s, npm bittorrent-tracker %s\n", f.Go, f.SeedcastRev, su.Node, su.RefVersion)
	fmt.Fprintf(w, "peers: %s WebSockets from the clients host, %s torrents of Zipf(%g) popularity (the largest swarm %s peers); announces of 5 offers,\n",
		thousands(float64(su.Sockets)), thousands(float64(su.Torrents)), *flagTrackerZipf, thousands(float64(su.Largest)))
	fmt.Fprintf(w, "SDP of %d bytes each (Chromium's shape, candidates gathered); %.0f %% of the peers answer the offers relayed to them (SDP of %d bytes)\n",
		su.OfferBytes, *flagTrackerAnswer*100, su.AnswerBytes)
	fmt.Fprintf(w, "CPUs: tracker on %s, load generator on %s; one tracker at a time, each a fresh process in the tracker host\n\n",
		cpuPhrase(su.TrackerCPUs), cpuPhrase(su.LoadgenCPUs))

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fixedHead := fmt.Sprintf("fixed %s/s: reply p50", thousands(*flagTrackerRate))
	fmt.Fprintf(tw, "row\tmax announces/s, p99 < %v\t%s\tp99\toffers relayed\tanswers delivered\toffer→answer p50\tp99\tRSS per idle socket\tRSS start → idle → end\tsockets open (errors)\t\n",
		*flagTrackerP99, fixedHead)
	for _, r := range rep.Rows {
		label := fmt.Sprintf("(%s) %s", r.Key, r.Title)
		if r.Open == nil {
			na := r.NA
			if na == "" && r.Err != nil {
				na = r.Err.Error()
			}
			fmt.Fprintf(tw, "%s\tn/a (%s)\t\t\t\t\t\t\t\t\t\t\n", label, na)
			continue
		}
		maxCol := "n/a (no step passed)"
		if best, bound := r.limit(); best != nil {
			maxCol = thousands(best.PerSecond())
			switch bound {
			case "":
				maxCol = "≥ " + maxCol + " (search stopped)"
			case "generator's CPU full":
				maxCol = "≥ " + maxCol + " (above: " + bound + ")"
			default:
				maxCol += " (above: " + bound + ")"
			}
		}
		p50, p99, offers, answers, rtt50, rtt99 := "n/a", "", "", "", "", ""
		if fx := r.Fixed; fx != nil {
			p50, p99 = msFig(fx.ReplyP50)+" ms", msFig(fx.ReplyP99)+" ms"
			if !fx.Pass {
				p99 += " (" + fx.Why + ")"
			}
			offers = fmt.Sprintf("%s of %s", thousands(float64(fx.OffersRelayed)), thousands(float64(fx.OffersSent)))
			answers = fmt.Sprintf("%s of %s", thousands(float64(fx.AnswersDelivered)), thousands(float64(fx.AnswersSent)))
			rtt50, rtt99 = msFig(fx.RTTP50)+" ms", msFig(fx.RTTP99)+" ms"
		}
		idle := "n/a"
		if v, ok := r.idlePerSocket(); ok {
			idle = kbFig(v)
		}
		rss := fmt.Sprintf("%.1f → %.1f → %.1f MB", float64(r.RSSStart)/1e6, float64(r.RSSIdle)/1e6, float64(r.RSSEnd)/1e6)
		if r.RSSEnd == 0 {
			rss = fmt.Sprintf("%.1f → %.1f MB", float64(r.RSSStart)/1e6, float64(r.RSSIdle)/1e6)
		}
		open := fmt.Sprintf("%s of %s in %.1f s (%d)", thousands(float64(r.Open.Open)), thousands(float64(rep.Setup.Sockets)), r.Open.Seconds, r.Open.ErrorCount())
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", label, maxCol, p50, p99, offers, answers, rtt50, rtt99, idle, rss, open)
	}
	tw.Flush()

	fmt.Fprintf(w, "\nEvery load and step of the saturation search:\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "row\tload\tasked/s\treplied/s\treply p50\tp99\tmax\toffers relayed\tanswers delivered\toffer→answer p50\tp99\tCPU: tracker\tits CPUs\tgenerator\tits CPUs\tresult\t")
	for _, r := range rep.Rows {
		if r.Open == nil {
			continue
		}
		o := r.Open
		fmt.Fprintf(tw, "(%s)\topen %s sockets\t\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\t\t\t\t%s\t\n", r.Key, thousands(float64(rep.Setup.Sockets)),
			thousands(o.PerSecond()), msFig(o.ReplyP50), msFig(o.ReplyP99), msFig(o.ReplyMax),
			thousands(float64(o.OffersRelayed)), thousands(float64(o.AnswersDelivered)), msFig(o.RTTP50), msFig(o.RTTP99), errorsCol(*o))
		steps := slices.Clone(r.Steps)
		sort.SliceStable(steps, func(i, j int) bool { return steps[i].Rate < steps[j].Rate })
		if r.Fixed != nil {
			steps = append([]loadStep{*r.Fixed}, steps...)
		}
		for i, st := range steps {
			name := fmt.Sprintf("step %.0f s", st.Seconds)
			if i == 0 && r.Fixed != nil {
				name = fmt.Sprintf("fixed %.0f s", st.Seconds)
			}
			res := "pass"
			if !st.Pass {
				res = "fail: " + st.Why + "; " + st.bound()
			}
			fmt.Fprintf(tw, "(%s)\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%.0f %%\t%.2f\t%.0f %%\t%s\t\n", r.Key, name, thousands(st.Rate), thousands(st.PerSecond()),
				msFig(st.ReplyP50), msFig(st.ReplyP99), msFig(st.ReplyMax),
				thousands(float64(st.OffersRelayed)), thousands(float64(st.AnswersDelivered)), msFig(st.RTTP50), msFig(st.RTTP99),
				st.TrackerCores, st.TrackerBusy*100, st.LoadgenCores, st.LoadgenBusy*100, res)
		}
	}
	tw.Flush()

	fmt.Fprintf(w, "\nmax announces/s: replies a second in the step of the highest rate that passed: no error, replies to %.0f %% or more of the\n", saturationMinShare*100)
	fmt.Fprintf(w, "announces asked for, and their 99th percentile under %v. The search starts at the fixed load, multiplies the rate by %g while\n", *flagTrackerP99, saturationGrowth)
	fmt.Fprintf(w, "steps pass, then tries %d rates between the last that passed and the first that failed; above: what bounded that first\n", saturationRefine)
	fmt.Fprintf(w, "failed step: the tracker's CPUs %.0f %% busy or more (with the tracker, the kernel's work for its sockets or other work), the\n", saturationBusy*100)
	fmt.Fprintf(w, "generator's, or neither; a figure bounded by the generator is a floor (≥). Announces come from sockets picked\n")
	fmt.Fprintf(w, "at random, one awaiting its reply at a time as a browser's; reply: from sending an announce to its reply, ms; offers\n")
	fmt.Fprintf(w, "relayed / answers delivered: what reached the generator's peers of what they sent; offer→answer: from sending an offer to\n")
	fmt.Fprintf(w, "its answer's arrival at the offering peer, through the tracker twice and the answering peer. RSS per idle socket: VmRSS\n")
	fmt.Fprintf(w, "of the tracker with every socket open, each having announced once with its offers, and the answers in, less VmRSS before\n")
	fmt.Fprintf(w, "the first socket, per socket; KB: 1 024 bytes. CPU: cores the tracker and the generator processes used while announces\n")
	fmt.Fprintf(w, "were sent, and how busy their CPUs were then, with anything.\n\n")

	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "target\tvalue\ttarget\tresult\tby\t")
	var sc, ref *trackerRow
	for _, r := range rep.Rows {
		switch r.Key {
		case "s":
			sc = r
		case "r":
			ref = r
		}
	}
	// The ratio of announces/s.
	name := fmt.Sprintf("max announces/s at p99 < %v, seedcast ÷ reference", *flagTrackerP99)
	var sBest, rBest *loadStep
	var sBound, rBound string
	if sc != nil {
		sBest, sBound = sc.limit()
	}
	if ref != nil {
		rBest, rBound = ref.limit()
	}
	switch {
	case sBest == nil || rBest == nil || rBest.PerSecond() == 0:
		fmt.Fprintf(tw, "%s\tn/a\t≥ %g ×\tn/a\t\t\n", name, targetTrackerRatio)
	default:
		v := sBest.PerSecond() / rBest.PerSecond()
		// A figure is a floor when the generator bounded the step above
		// it, or when no step above failed.
		sFloor := sBound == "generator's CPU full" || sBound == ""
		rFloor := rBound == "generator's CPU full" || rBound == ""
		val := fmt.Sprintf("%.1f × (%s ÷ %s)", v, thousands(sBest.PerSecond()), thousands(rBest.PerSecond()))
		if sFloor {
			val = "≥ " + val
		}
		res, by := "PASS", fmt.Sprintf("%.1f to spare", v-targetTrackerRatio)
		switch {
		case v < targetTrackerRatio && sFloor:
			res = "n/a"
			by = fmt.Sprintf("seedcast not saturated (above %s/s: %s): this machine cannot drive its limit", thousands(sBest.PerSecond()), boundOr(sBound))
		case v < targetTrackerRatio:
			res, by = "MISS", fmt.Sprintf("%.1f short", targetTrackerRatio-v)
		case sFloor:
			by += " (seedcast's figure is a floor)"
		}
		if rFloor {
			by += fmt.Sprintf("; the reference's figure is a floor too (above it: %s)", boundOr(rBound))
		}
		fmt.Fprintf(tw, "%s\t%s\t≥ %g ×\t%s\t%s\t\n", name, val, targetTrackerRatio, res, by)
		// Whether this machine could drive the target at all: the
		// generator's own CPU per announce, from the steps it carried.
		want := targetTrackerRatio * rBest.PerSecond()
		if per, ok := sc.loadgenCost(); ok {
			cpus := len(mustCPUList(rep.Setup.LoadgenCPUs))
			if cpus == 0 {
				cpus = rep.Facts.CPUs
			}
			reach := saturationBusy * float64(cpus) / per
			verdict := fmt.Sprintf("within the generator's reach (%.2f of its cores)", want*per)
			if want > reach {
				verdict = fmt.Sprintf("above the generator's reach: it alone would need %.2f cores", want*per)
			}
			fmt.Fprintf(tw, "announces/s the generator can send on %d CPU(s) at %.0f %% busy\t%s (%.0f µs of CPU an announce)\t—\t\t%s/s for %g × the reference: %s\t\n",
				cpus, saturationBusy*100, thousands(reach), per*1e6, thousands(want), targetTrackerRatio, verdict)
		}
	}
	// RSS per idle socket.
	at := fmt.Sprintf("at %s sockets", thousands(float64(rep.Setup.Sockets)))
	var sIdle, rIdle float64
	var okS, okR bool
	if sc != nil {
		sIdle, okS = sc.idlePerSocket()
	}
	if ref != nil {
		rIdle, okR = ref.idlePerSocket()
	}
	if okS {
		res, by := "PASS", kbFig(targetIdleSocket-sIdle)+" to spare"
		if sIdle > targetIdleSocket {
			res, by = "MISS", kbFig(sIdle-targetIdleSocket)+" over"
		}
		fmt.Fprintf(tw, "RSS per idle socket, seedcast, %s\t%s\t≤ %s\t%s\t%s\t\n", at, kbFig(sIdle), kbFig(targetIdleSocket), res, by)
	} else {
		fmt.Fprintf(tw, "RSS per idle socket, seedcast, %s\tn/a\t≤ %s\tn/a\t\t\n", at, kbFig(targetIdleSocket))
	}
	if okR {
		fmt.Fprintf(tw, "RSS per idle socket, reference, %s\t%s\t—\t\t\t\n", at, kbFig(rIdle))
	}
	if okS && okR && sIdle > 0 {
		fmt.Fprintf(tw, "RSS per idle socket, reference ÷ seedcast\t%.2f ×\t—\t\t\t\n", rIdle/sIdle)
	}
	// Sockets without error.
	for _, r := range []*trackerRow{sc, ref} {
		if r == nil || r.Open == nil {
			continue
		}
		who := "seedcast"
		if r == ref {
			who = "reference"
		}
		errs := r.Open.ErrorCount()
		if r.Fixed != nil {
			errs += r.Fixed.ErrorCount()
		}
		val := fmt.Sprintf("%s open, %d errors", thousands(float64(r.Open.Open)), errs)
		name := fmt.Sprintf("concurrent sockets without error (opening and fixed load), %s", who)
		if r == ref {
			fmt.Fprintf(tw, "%s\t%s\t—\t\t\t\n", name, val)
			continue
		}
		res, by := "PASS", ""
		switch {
		case errs > 0:
			res, by = "MISS", fmt.Sprintf("%d errors", errs)
		case r.Open.Open < targetSockets:
			res, by = "MISS", fmt.Sprintf("%s sockets short", thousands(float64(targetSockets-r.Open.Open)))
			if rep.Setup.Sockets < targetSockets {
				res, by = "n/a", fmt.Sprintf("-tracker-sockets %d", rep.Setup.Sockets)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s, 0 errors\t%s\t%s\t\n", name, val, thousands(targetSockets), res, by)
	}
	tw.Flush()

	var failed []string
	for _, r := range rep.Rows {
		if r.Err != nil {
			failed = append(failed, fmt.Sprintf("(%s): %v", r.Key, r.Err))
		}
		for _, st := range r.allLoads() {
			for kind, e := range st.Errors {
				failed = append(failed, fmt.Sprintf("(%s) %s at %s/s: %d %s errors, the first: %s", r.Key, loadName(st), thousands(st.Rate), e.N, kind, e.First))
			}
		}
	}
	printFailures(w, failed)
}

// allLoads returns the opening, the fixed load and the steps.
func (r *trackerRow) allLoads() []loadResult {
	var all []loadResult
	if r.Open != nil {
		all = append(all, *r.Open)
	}
	if r.Fixed != nil {
		all = append(all, r.Fixed.loadResult)
	}
	for _, st := range r.Steps {
		all = append(all, st.loadResult)
	}
	return all
}

func loadName(r loadResult) string {
	if r.Rate == 0 {
		return "opening"
	}
	return "load"
}

// boundOr returns what bounded a row's figure, or says no step failed.
func boundOr(b string) string {
	if b == "" {
		return "no step failed up to -tracker-max-rate"
	}
	return b
}

func errorsCol(r loadResult) string {
	if n := r.ErrorCount(); n > 0 {
		return fmt.Sprintf("%d errors", n)
	}
	return "no errors"
}

// cpuPhrase says which CPUs a taskset list names.
func cpuPhrase(list string) string {
	if list == "" {
		return "any CPU"
	}
	if c, err := cpuList(list); err == nil && len(c) == 1 {
		return fmt.Sprintf("CPU %d (taskset -c %s)", c[0], list)
	}
	return fmt.Sprintf("CPUs %s (taskset -c %s)", list, list)
}

// thousands formats x rounded to a whole number with a space between
// thousands: 10 000.
func thousands(x float64) string {
	s := fmt.Sprintf("%.0f", math.Round(x))
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// msFig formats milliseconds with about three significant digits.
func msFig(ms float64) string {
	switch {
	case ms < 10:
		return fmt.Sprintf("%.2f", ms)
	case ms < 100:
		return fmt.Sprintf("%.1f", ms)
	}
	return fmt.Sprintf("%.0f", ms)
}

// kbFig formats bytes in KB of 1 024 bytes.
func kbFig(bytes float64) string { return fmt.Sprintf("%.1f KB", bytes/1024) }
