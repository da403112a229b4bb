package swarm

import (
	"log/slog"
	"sync"
	"time"
)

// Meter shows the progress of the swarm's long tasks: hashing a file or
// folder, and fetching a torrent added by magnet or .torrent file. A
// terminal shows bars; LogMeter writes a log line every few seconds.
type Meter interface {
	// Start shows a new task: task is "hashing" or "fetching", name the
	// torrent's, total its bytes.
	Start(task, name string, total int64) Bar
}

// Bar is one task of a Meter. Its methods are called from one goroutine.
type Bar interface {
	// Set says that done bytes of the total are done.
	Set(done int64)
	// Finish ends the task; complete is false when it stopped short.
	Finish(complete bool)
}

// progressEvery is how often a LogMeter logs a task.
const progressEvery = 5 * time.Second

// infoWaitLogs are the waits at which a magnet waiting for its info says
// so, and infoWaitLogEvery how often it says so after the last: soon
// enough that a user who just started the node sees why nothing plays,
// rarely enough that a magnet nobody seeds does not fill the log.
var infoWaitLogs = []time.Duration{5 * time.Second, 15 * time.Second, time.Minute}

const infoWaitLogEvery = 5 * time.Minute

// infoWaitLogAt returns the wait at which line n (from 0) of a magnet's
// wait for its info is due.
func infoWaitLogAt(n int) time.Duration {
	if n < len(infoWaitLogs) {
		return infoWaitLogs[n]
	}
	return infoWaitLogs[len(infoWaitLogs)-1] + time.Duration(n-len(infoWaitLogs)+1)*infoWaitLogEvery
}

// fetchTick is how often a fetch's progress is read for its Bar.
const fetchTick = 500 * time.Millisecond

// LogMeter returns a Meter that logs each task to log at Info every few
// seconds, and once as it finishes.
func LogMeter(log *slog.Logger) Meter { return logMeter{log} }

type logMeter struct{ log *slog.Logger }

func (m logMeter) Start(task, name string, total int64) Bar {
	return &logBar{log: m.log, task: task, name: name, total: total, start: time.Now(), last: time.Now()}
}

type logBar struct {
	log         *slog.Logger
	task, name  string
	total, done int64
	start, last time.Time
	mu          sync.Mutex
}

func (b *logBar) Set(done int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done = done
	if time.Since(b.last) < progressEvery {
		return
	}
	b.last = time.Now()
	b.log.Info(b.task, "name", b.name, "done_bytes", done, "total_bytes", b.total, "took", time.Since(b.start).Round(time.Second))
}

func (b *logBar) Finish(complete bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !complete {
		b.log.Info(b.task+" stopped", "name", b.name, "done_bytes", b.done, "total_bytes", b.total)
	}
}

// watchFetch shows the fetch of t, a torrent added by magnet or .torrent
// file, on the swarm's Meter until it is complete or closed. While a
// magnet's info has not come, it logs how many peers it found and is
// connected to, and how long it has waited: at the waits infoWaitLogAt
// says.
func (s *Swarm) watchFetch(t *Torrent) {
	tick := time.NewTicker(fetchTick)
	defer tick.Stop()
	waitLogs := 0
	var bar Bar
	for {
		select {
		case <-t.t.Closed():
			if bar != nil {
				bar.Finish(false)
			}
			return
		case <-tick.C:
		}
		if !t.haveInfo() {
			if waited := time.Since(t.added); waited >= infoWaitLogAt(waitLogs) {
				for waited >= infoWaitLogAt(waitLogs) { // once, after a suspend too
					waitLogs++
				}
				s.log.Info("waiting for the torrent's info", "infohash", t.ih, "peers", t.Peers(),
					"peers_found", t.PeersFound(), "waited", waited.Round(time.Second))
			}
			continue
		}
		if bar == nil {
			bar = s.meter.Start("fetching", t.Name(), t.t.Length())
		}
		bar.Set(t.t.BytesCompleted())
		if t.t.BytesMissing() == 0 {
			bar.Finish(true)
			s.log.Info("fetched", "infohash", t.ih, "name", t.Name(), "bytes", t.t.Length(), "took", time.Since(t.added).Round(time.Second))
			return
		}
	}
}
