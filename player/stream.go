package player

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/seedcast/seedcast/bundle"
	"github.com/seedcast/seedcast/httperr"
	"github.com/seedcast/seedcast/infohash"
	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/swarm"
)

// Readahead bounds: about readaheadTime of the file at its bitrate, so
// that a viewer's next seconds are fetched before they are played.
const (
	readaheadTime    = 20 * time.Second
	minReadahead     = 2 << 20
	maxReadahead     = 64 << 20
	defaultReadahead = 8 << 20
	endBytes         = 1 << 20 // head and tail of an MP4 fetched first
)

// The opening stream (/stream/...?head=1) of a watch page: the page plays
// from it at once, for a first frame as fast as plain HTTP, and hands over
// to its peers within a second or two. It comes at full speed up to the
// end of the MP4's movie header and headBurstTime of the film beyond (a
// player's first frame needs both; at least minHeadBurst), and then at
// headPace times the file's bitrate (the hand-over comes within a second
// or two, so a small margin over the bitrate is enough), so that the browser cannot read the
// film far ahead over HTTP before the hand-over: every byte it reads here
// is one the node sends and viewers never share.
const (
	headBurstTime    = time.Second
	minHeadBurst     = 64 << 10
	headPace         = 1.25
	defaultHeadBytes = 256 << 10 // per second, while the bitrate is unknown: 2 Mbit/s
)

// fileKey names one file of one torrent.
type fileKey struct {
	ih  infohash.Hash
	idx int
}

// rates remembers each file's bitrate once measured.
type rates struct {
	mu sync.Mutex
	m  map[fileKey]fileRate // zero while being measured
}

// fileRate is what the node learnt of a file from its MP4 header.
type fileRate struct {
	bytesPerSec int64
	moovEnd     int64 // where the movie header ends, in the file
}

// counters are bytes a torrent served over HTTP.
type counters struct {
	webseed, stream atomic.Int64
}

func (p *Server) counters(ih infohash.Hash) *counters {
	p.servedMu.Lock()
	defer p.servedMu.Unlock()
	c := p.served[ih]
	if c == nil {
		c = &counters{}
		p.served[ih] = c
	}
	return c
}

// setUntrusted keeps a torrent's files from acting on the node's origin:
// a bundle may hold an .html or .svg file, served here with its real type
// on the origin of the player's pages.
func setUntrusted(h http.Header) {
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'; media-src 'self'; img-src 'self'; style-src 'unsafe-inline'")
	h.Set("X-Content-Type-Options", "nosniff")
}

// bodyWriter writes a response body within the node's upload cap, if it
// has one, and within its own pace past a burst, if it has one; it counts
// the bytes written.
type bodyWriter struct {
	http.ResponseWriter
	ctx context.Context // the request's: a client gone stops the wait
	lim *rate.Limiter   // nil for no cap
	n   *atomic.Int64
	// first makes the body queue for the cap's tokens (WaitN) instead of
	// taking them only when they are there: a viewer's page reads over
	// HTTP what its playhead needs before any peer could deliver it (the
	// deadline policy of the watch page), so under a cap it is served
	// ahead of BitTorrent and WebRTC peers, which take tokens politely and
	// retry after the queue's delay.
	first bool

	pace  *rate.Limiter // nil for no pace
	burst int64         // bytes written before the pace applies
	sent  *int64        // bytes written so far
}

// body returns w as a bodyWriter for r that counts into n. Under an
// upload cap a browser's read goes first (see bodyWriter.first).
func (p *Server) body(w http.ResponseWriter, r *http.Request, n *atomic.Int64) bodyWriter {
	return bodyWriter{ResponseWriter: w, ctx: r.Context(), lim: p.cfg.Swarm.UploadLimiter(), n: n, first: fromBrowser(r)}
}

// fromBrowser reports whether a browser made r: browsers send Fetch
// Metadata (Sec-Fetch-Mode) with every request, a media element's and a
// web seed's fetch alike; BitTorrent clients reading the web seed do not.
func fromBrowser(r *http.Request) bool {
	return r.Header.Get("Sec-Fetch-Mode") != ""
}

// take waits until n bytes of lim's tokens are there, and takes them. It
// never reserves tokens ahead, as WaitN does: anacrolix takes the shared
// upload limiter's tokens only when they are there now (ReserveN, and a
// retry later on any delay), so writers that queued reservations ahead
// would leave every BitTorrent and WebRTC peer of a capped node starved.
func take(ctx context.Context, lim *rate.Limiter, n int) error {
	var timer *time.Timer
	for {
		r := lim.ReserveN(time.Now(), n)
		if !r.OK() {
			return fmt.Errorf("player: %d bytes over the upload limiter's burst", n)
		}
		d := r.Delay()
		if d == 0 {
			return nil
		}
		r.Cancel()
		if timer == nil {
			timer = time.NewTimer(d)
			defer timer.Stop()
		} else {
			timer.Reset(d)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
	}
}

// writeStall is how long one write of a body may wait for the client to
// read. A paused video element stops reading once its buffer is full and
// opens a new range request when it plays on, so a client that reads
// nothing for this long gives its conn back, instead of holding it (and
// one of the node's file descriptors) for as long as it likes.
var writeStall = 30 * time.Second

// write writes b within writeStall.
func (w bodyWriter) write(b []byte) (int, error) {
	// Not every ResponseWriter can (a test's recorder): then without.
	_ = http.NewResponseController(w.ResponseWriter).SetWriteDeadline(time.Now().Add(writeStall))
	return w.ResponseWriter.Write(b)
}

// waitN waits in lim's queue for n bytes of tokens.
func waitN(ctx context.Context, lim *rate.Limiter, n int) error { return lim.WaitN(ctx, n) }

// paced returns w paced at bytesPerSec once burst bytes are written.
func (w bodyWriter) paced(burst, bytesPerSec int64) bodyWriter {
	w.burst, w.sent = burst, new(int64)
	w.pace = rate.NewLimiter(rate.Limit(bytesPerSec), int(min(bytesPerSec, 64<<10)))
	return w
}

func (w bodyWriter) Write(b []byte) (int, error) {
	if w.lim == nil && w.pace == nil {
		n, err := w.write(b)
		w.n.Add(int64(n))
		return n, err
	}
	written := 0
	for len(b) > 0 {
		chunk := b
		if w.lim != nil {
			chunk = chunk[:min(len(chunk), w.lim.Burst())]
		}
		if w.pace != nil && *w.sent >= w.burst {
			chunk = chunk[:min(len(chunk), w.pace.Burst())]
			if err := w.pace.WaitN(w.ctx, len(chunk)); err != nil {
				return written, err
			}
		}
		if w.lim != nil {
			wait := take
			if w.first {
				wait = waitN
			}
			if err := wait(w.ctx, w.lim, len(chunk)); err != nil {
				return written, err
			}
		}
		n, err := w.write(chunk)
		written += n
		w.n.Add(int64(n))
		if w.sent != nil {
			*w.sent += int64(n)
		}
		if err != nil {
			return written, err
		}
		b = b[len(chunk):]
	}
	return written, nil
}

// fileOf finds the file that a path below /stream/{ih}/ or
// /webseed/{ih}/ names: a file's path as the API lists it, with repeated
// slashes folded; for a single-file torrent also the bare URL.
func fileOf(t *swarm.Torrent, rel string) (int, swarm.File, error) {
	files := t.Files()
	if files == nil {
		return 0, swarm.File{}, httperr.Errorf(http.StatusServiceUnavailable, "metadata not yet known; retry shortly")
	}
	rel = strings.Trim(rel, "/")
	for strings.Contains(rel, "//") {
		rel = strings.ReplaceAll(rel, "//", "/")
	}
	if len(files) == 1 && rel == "" {
		return 0, files[0], nil
	}
	for i, f := range files {
		if f.Path == rel {
			return i, f, nil
		}
	}
	return 0, swarm.File{}, httperr.Errorf(http.StatusNotFound, "no file %q in torrent %s", rel, t.InfoHash())
}

// openRequested opens the file that r's {infohash} and {path} name, with
// reads that end with the request. The caller closes the reader.
func (p *Server) openRequested(r *http.Request) (*swarm.Torrent, int, swarm.File, swarm.FileReader, error) {
	t, err := p.lookup(r.PathValue("infohash"))
	if err != nil {
		return nil, 0, swarm.File{}, nil, err
	}
	idx, f, err := fileOf(t, r.PathValue("path"))
	if err != nil {
		return nil, 0, swarm.File{}, nil, err
	}
	rd, err := t.OpenFile(idx)
	if err != nil {
		return nil, 0, swarm.File{}, nil, httperr.Errorf(http.StatusNotFound, "no file %q", f.Path)
	}
	rd.SetContext(r.Context())
	return t, idx, f, rd, nil
}

// contentTypes are the MIME types of files by lower-case extension: every
// type a browser plays, shows or reads as text in the pages, so that the
// Content-Type of /stream and what the pages make of a file never depend
// on the host's MIME tables (Go's built-in one lacks even .mp3 and .txt).
var contentTypes = map[string]string{
	// Video that plays in <video> in at least one major browser.
	".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime",
	".webm": "video/webm", ".ogv": "video/ogg", ".mkv": "video/x-matroska",
	// Audio likewise; Opus files are Ogg (RFC 7845).
	".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".aac": "audio/aac",
	".oga": "audio/ogg", ".ogg": "audio/ogg", ".opus": "audio/ogg",
	".flac": "audio/flac", ".wav": "audio/wav", ".weba": "audio/webm",
	// Images. SVG keeps the standard library's image/svg+xml, which the
	// pages do not count as a picture: opened from /stream it could run
	// scripts, were it not for setUntrusted.
	".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
	".gif": "image/gif", ".webp": "image/webp", ".avif": "image/avif",
	// Captions.
	".vtt": "text/vtt; charset=utf-8", ".srt": "application/x-subrip; charset=utf-8",
	// Text. An .nfo is usually CP437, so it claims no charset.
	".txt": "text/plain; charset=utf-8", ".log": "text/plain; charset=utf-8",
	".nfo": "text/plain", ".md": "text/markdown; charset=utf-8",
	".csv": "text/csv; charset=utf-8", ".json": "application/json",
}

// ContentType returns the MIME type of a file by the extension of its
// name, in either case: the type /stream serves it with. It never returns
// "": a file of no known type is application/octet-stream.
func ContentType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if t, ok := contentTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// isMP4 reports whether a file is in the ISO base media format (MP4 and
// QuickTime), whose movie header gives its duration.
func isMP4(name string) bool {
	switch ContentType(name) {
	case "video/mp4", "audio/mp4", "video/quicktime":
		return true
	}
	return false
}

// serveStream serves /stream/{infohash}/{path}: one file of a torrent with
// Range support, read in order with the pieces ahead fetched first, while
// the torrent is still downloading too.
func (p *Server) serveStream(w http.ResponseWriter, r *http.Request) error {
	t, idx, f, rd, err := p.openRequested(r)
	if err != nil {
		return err
	}
	defer rd.Close()
	if !rangeOK(w, r, f.Length) {
		return nil
	}
	ih := t.InfoHash()
	var body io.ReadSeeker = rd
	var key *store.FileKey
	if p.cfg.Gate != nil {
		var locked bool
		key, locked, err = p.cfg.Gate(r, ih, f.Path)
		switch {
		case err != nil:
			return err
		case locked:
			return httperr.Errorf(http.StatusForbidden, "%s is behind a gate: unlock it on its bundle page", f.Path)
		case key != nil:
			if body, err = bundle.NewSeekReader(rd, *key); err != nil {
				return err
			}
		}
	}
	p.open.stream.Add(1)
	defer p.open.stream.Add(-1)
	k := fileKey{ih, idx}
	head := r.URL.Query().Has("head")
	// The pace of an opening stream needs the bitrate before its first
	// byte; a header on disk takes milliseconds to read.
	fr := p.fileRate(r.Context(), t, k, f, head && t.FileComplete(idx), key)
	rd.SetReadahead(readahead(fr))
	if !t.FileComplete(idx) && isMP4(f.Path) {
		t.PrioritizeEnds(idx, endBytes, endBytes)
	}
	h := w.Header()
	h.Set("Content-Type", ContentType(f.Path))
	// A torrent's file never changes: its info hash and path name it, and
	// the ETag lets If-Range work.
	h.Set("ETag", fmt.Sprintf(`"%s-%d"`, ih, idx))
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("Access-Control-Allow-Origin", "*")
	setUntrusted(h)
	if r.URL.Query().Has("download") {
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": path.Base(f.Path)}))
	}
	bw := p.body(w, r, &p.counters(ih).stream)
	if head {
		bps := cmp.Or(fr.bytesPerSec, defaultHeadBytes)
		bw = bw.paced(max(minHeadBurst, fr.moovEnd+bps*int64(headBurstTime/time.Second)), int64(headPace*float64(bps)))
	}
	p.serveContent(bw, r, body, "stream served", "infohash", ih, "file", f.Path, "head", head, "complete", t.FileComplete(idx))
	return nil
}

// serveContent serves body with Range (http.ServeContent: a torrent's
// file never changes, so no modification time) and logs at debug level
// msg with attrs, the range asked, the bytes read, how long the first
// byte and the whole took: where a stream waited on peers.
func (p *Server) serveContent(w http.ResponseWriter, r *http.Request, body io.ReadSeeker, msg string, attrs ...any) {
	start := time.Now()
	fr := &firstRead{ReadSeeker: body}
	http.ServeContent(w, r, "", time.Time{}, fr)
	var first any = "none"
	if !fr.first.IsZero() {
		first = fr.first.Sub(start)
	}
	p.log.Debug(msg, append(attrs, "range", r.Header.Get("Range"), "bytes", fr.n, "first_byte", first, "took", time.Since(start))...)
}

// firstRead notes when its reader first returned data, and how much it
// returned, for the log.
type firstRead struct {
	io.ReadSeeker
	first time.Time
	n     int64
}

func (r *firstRead) Read(b []byte) (int, error) {
	n, err := r.ReadSeeker.Read(b)
	if n > 0 && r.first.IsZero() {
		r.first = time.Now()
	}
	r.n += int64(n)
	return n, err
}

// fileRate returns what the node learnt of file k's MP4 header, zero
// while it is unknown. The first request of an MP4 has it measured once:
// in the background, or before fileRate returns with wait.
func (p *Server) fileRate(ctx context.Context, t *swarm.Torrent, k fileKey, f swarm.File, wait bool, key *store.FileKey) fileRate {
	p.rates.mu.Lock()
	fr, known := p.rates.m[k]
	first := !known && isMP4(f.Path)
	if first {
		p.rates.m[k] = fileRate{}
	}
	p.rates.mu.Unlock()
	switch {
	case !first:
		return fr
	case !wait:
		go p.measure(context.Background(), t, k, f, key)
		return fr
	}
	p.measure(ctx, t, k, f, key)
	p.rates.mu.Lock()
	defer p.rates.mu.Unlock()
	return p.rates.m[k]
}

// readahead returns the readahead for a file of rate fr: readaheadTime at
// its bitrate, and defaultReadahead while that is unknown.
func readahead(fr fileRate) int64 {
	if fr.bytesPerSec == 0 {
		return defaultReadahead
	}
	return min(max(fr.bytesPerSec*int64(readaheadTime/time.Second), minReadahead), maxReadahead)
}

// measure reads a file's MP4 header for its bitrate, within a minute or
// until ctx is done; a gated file's through its key (nil for a file in
// the clear).
func (p *Server) measure(ctx context.Context, t *swarm.Torrent, k fileKey, f swarm.File, key *store.FileKey) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	rd, err := t.OpenFile(k.idx)
	if err != nil {
		return
	}
	defer rd.Close()
	rd.SetContext(ctx)
	var head io.Reader = rd
	if key != nil {
		if head, err = bundle.NewSeekReader(rd, *key); err != nil {
			return
		}
	}
	d, moovEnd, err := mp4Head(head)
	if err != nil || d < time.Second {
		p.log.Debug("bitrate unknown", "infohash", k.ih, "file", f.Path, "err", err)
		return
	}
	rate := f.Length * int64(time.Second) / int64(d)
	p.rates.mu.Lock()
	p.rates.m[k] = fileRate{bytesPerSec: rate, moovEnd: moovEnd}
	p.rates.mu.Unlock()
	p.log.Debug("bitrate measured", "infohash", k.ih, "file", f.Path, "duration", d, "bytes_per_second", rate)
}
