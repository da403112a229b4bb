package main

import (
	"io"
	"os"
	"sync"

	"github.com/mattn/go-isatty"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/seedcast/seedcast/swarm"
)

// stdout is where commands print what a user reads (URLs, the torrent
// written): the terminal's bars when they show, which keep it above them.
var stdout io.Writer = os.Stdout

// bars is the terminal's progress bars, nil when stderr is no terminal;
// set by run before a command runs.
var bars *terminal

// terminalMeter returns the meter of hashing and fetching: bars on a
// terminal, or nil, which has the swarm log every few seconds instead.
func terminalMeter() swarm.Meter {
	if bars == nil {
		return nil
	}
	return bars
}

// terminal shows progress bars on stderr, and prints log lines (and
// stdout, if it is the same terminal) above them.
type terminal struct {
	out *os.File

	// mu guards p, which exists only while a bar shows: mpb prints a
	// write at its next redraw, so that writes go through it while it
	// draws, and straight to the terminal once it has drawn for the last
	// time and stopped.
	mu     sync.Mutex
	p      *mpb.Progress
	active int // bars showing
	done   bool
}

// startTerminal returns the bars of stderr if it is a terminal, else nil.
func startTerminal(stderr *os.File) *terminal {
	if !isatty.IsTerminal(stderr.Fd()) {
		return nil
	}
	return &terminal{out: stderr}
}

// Write prints b above the bars, or straight to the terminal when none
// shows.
func (t *terminal) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.p != nil {
		if n, err := t.p.Write(b); err == nil {
			return n, nil
		}
	}
	return t.out.Write(b)
}

// Stop ends every bar that still shows; later bars show nothing.
func (t *terminal) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.done = true
	if t.p != nil {
		t.p.Shutdown()
		t.p = nil
	}
}

// Start is the swarm.Meter of the terminal.
func (t *terminal) Start(task, name string, total int64) swarm.Bar {
	return t.add(total,
		mpb.PrependDecorators(
			decor.Name(task+" ", decor.WCSyncSpaceR),
			decor.Name(name, decor.WCSyncSpaceR),
			decor.CountersKibiByte("% .1f / % .1f", decor.WCSyncSpace),
		),
		mpb.AppendDecorators(
			decor.Percentage(decor.WCSyncSpace),
			decor.OnComplete(decor.AverageSpeed(decor.SizeB1024(0), "% .1f", decor.WCSyncSpace), ""),
			decor.OnComplete(decor.AverageETA(decor.ET_STYLE_GO, decor.WCSyncSpace), "done"),
		),
	)
}

// StartLine shows a bar of name, total bytes, followed by the text line
// returns, read again at each redraw from mpb's goroutine.
func (t *terminal) StartLine(name string, total int64, line func() string) swarm.Bar {
	return t.add(total,
		mpb.PrependDecorators(
			decor.Name(name, decor.WCSyncSpaceR),
			decor.Percentage(decor.WCSyncSpace),
		),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return line() })),
	)
}

// add shows a new bar of total with opts, or nothing once Stop has run.
func (t *terminal) add(total int64, opts ...mpb.BarOption) swarm.Bar {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return nopBar{}
	}
	if t.p == nil {
		t.p = mpb.New(mpb.WithOutput(t.out), mpb.WithWidth(80))
	}
	t.active++
	return &termBar{t: t, b: t.p.AddBar(total, opts...)}
}

type termBar struct {
	t     *terminal
	b     *mpb.Bar
	ended bool
}

func (b *termBar) Set(done int64) { b.b.SetCurrent(done) }

func (b *termBar) Finish(complete bool) {
	if b.ended {
		return
	}
	b.ended = true
	if complete {
		b.b.SetTotal(-1, true)
	} else {
		b.b.Abort(false)
	}
	b.t.mu.Lock()
	defer b.t.mu.Unlock()
	b.t.active--
	if b.t.active == 0 && b.t.p != nil {
		b.t.p.Wait() // every bar has ended: drawn for the last time
		b.t.p = nil
	}
}

type nopBar struct{}

func (nopBar) Set(int64)   {}
func (nopBar) Finish(bool) {}
