package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/seedcast/seedcast/swarm"
)

// How watch shows its fetch: figures read every progressTick, rates
// averaged over rateWindow, and without a terminal a log line every
// progressLogEvery.
const (
	progressTick     = 500 * time.Millisecond
	rateWindow       = 5 * time.Second
	progressLogEvery = 5 * time.Second
)

// fetchFigures is how the fetch of a watched torrent stands.
type fetchFigures struct {
	peers       int
	done, total int64 // bytes of the torrent, verified and all
	// ready is the bytes of the film (the torrent's largest file) that
	// the node holds without a gap from where the page plays it
	// (watching), or from its start while no page says where it plays:
	// what the viewer plays without waiting. rate is the film's bytes per
	// second of play, 0 if unknown.
	ready, film int64
	watching    bool
	rate        int64
	down, up    float64 // payload bytes a second from and to peers
	seeding     bool
}

// String is the figures as the terminal's progress line shows them.
func (f fetchFigures) String() string {
	head := fmt.Sprintf("%d peers  ↓ %s/s  ↑ %s/s  ", f.peers, siBytes(f.down), siBytes(f.up))
	if !f.watching {
		return head + fmt.Sprintf("%s of %s ready from the start", siBytes(float64(f.ready)), siBytes(float64(f.film)))
	}
	if f.rate > 0 {
		return head + fmt.Sprintf("%s (%d s) buffered ahead of the playhead", siBytes(float64(f.ready)), f.ready/f.rate)
	}
	return head + fmt.Sprintf("%s buffered ahead of the playhead", siBytes(float64(f.ready)))
}

// attrs are the figures as a log line's keys.
func (f fetchFigures) attrs() []any {
	pct := 0.0
	if f.total > 0 {
		pct = float64(f.done) * 100 / float64(f.total)
	}
	return []any{"peers", f.peers, "done_bytes", f.done, "total_bytes", f.total,
		"percent", fmt.Sprintf("%.1f", pct),
		"down_bytes_per_second", int64(f.down), "up_bytes_per_second", int64(f.up),
		readyKey(f.watching), f.ready}
}

// readyKey names the ready figure in a log line.
func readyKey(watching bool) string {
	if watching {
		return "ahead_of_playhead_bytes"
	}
	return "ready_from_start_bytes"
}

// siBytes writes n bytes with an SI prefix: 950 B, 1.2 MB.
func siBytes(n float64) string {
	const units = "kMGTP"
	if n < 1000 {
		return fmt.Sprintf("%.0f B", n)
	}
	i := -1
	for n >= 1000 && i < len(units)-1 {
		n /= 1000
		i++
	}
	return fmt.Sprintf("%.1f %cB", n, units[i])
}

// rateMeter turns running byte totals into rates over rateWindow.
type rateMeter struct {
	samples []rateSample // oldest first, spanning at most rateWindow
}

type rateSample struct {
	at      time.Time
	in, out int64
}

// add records the totals at time at and returns the rates since the
// oldest sample in the window.
func (m *rateMeter) add(at time.Time, in, out int64) (down, up float64) {
	m.samples = append(m.samples, rateSample{at, in, out})
	for len(m.samples) > 2 && at.Sub(m.samples[1].at) >= rateWindow {
		m.samples = m.samples[1:]
	}
	first := m.samples[0]
	dt := at.Sub(first.at).Seconds()
	if dt <= 0 {
		return 0, 0
	}
	return float64(in-first.in) / dt, float64(out-first.out) / dt
}

// readFigures reads t's figures now, film being the index of its
// largest file.
func readFigures(t *swarm.Torrent, film int, length int64, m *rateMeter, now time.Time) fetchFigures {
	st := t.Stats()
	var in, out int64
	for _, ts := range st.Transports {
		in += ts.BytesIn
		out += ts.BytesOut
	}
	f := fetchFigures{peers: t.Peers(), done: st.BytesCompleted, total: t.Length(), seeding: st.Seeding, film: length}
	off, rate, watching := t.Playhead(film)
	f.ready, f.watching, f.rate = t.Ahead(film, off), watching, rate
	f.down, f.up = m.add(now, in, out)
	return f
}

// largestFile returns the index and length of t's largest file: the film
// beside its extras.
func largestFile(t *swarm.Torrent) (int, int64) {
	best, length := 0, int64(-1)
	for i, f := range t.Files() {
		if f.Length > length {
			best, length = i, f.Length
		}
	}
	return best, max(length, 0)
}

// showProgress shows how the fetch of t stands until it is complete or ctx
// is done: on a terminal (term) a bar redrawn in place, else a log line
// every progressLogEvery. Until t's info is known the swarm says what it
// waits on.
func showProgress(ctx context.Context, t *swarm.Torrent, term *terminal, log *slog.Logger) error {
	select {
	case <-t.GotInfo():
	case <-ctx.Done():
		return nil
	}
	film, length := largestFile(t)
	var m rateMeter
	var bar swarm.Bar
	var line atomic.Pointer[string]
	if term != nil {
		line.Store(new(string))
		bar = term.StartLine(t.Name(), t.Length(), func() string { return *line.Load() })
	}
	tick := time.NewTicker(progressTick)
	defer tick.Stop()
	lastLog := time.Now()
	for {
		now := time.Now()
		f := readFigures(t, film, length, &m, now)
		switch {
		case bar != nil:
			s := f.String()
			line.Store(&s)
			bar.Set(f.done)
		case now.Sub(lastLog) >= progressLogEvery:
			lastLog = now
			log.Info("watching", append([]any{"name", t.Name()}, f.attrs()...)...)
		}
		if f.seeding {
			if bar != nil {
				bar.Finish(true)
			}
			log.Info("film complete; seeding on to its peers until Ctrl-C", "name", t.Name(), "peers", f.peers)
			return nil
		}
		select {
		case <-ctx.Done():
			if bar != nil {
				bar.Finish(false)
			}
			return nil
		case <-tick.C:
		}
	}
}
