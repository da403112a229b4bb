package player

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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

// fileKey names one file of one torrent.
type fileKey struct {
	ih  string
	idx int
}

// rates remembers each file's bitrate once measured.
type rates struct {
	mu sync.Mutex
	m  map[fileKey]int64 // bytes per second; 0 while being measured
}

// counters are bytes a torrent served over HTTP.
type counters struct {
	webseed, stream atomic.Int64
}

func (p *Server) counters(ih string) *counters {
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

// countingWriter counts the body bytes written.
type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w countingWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.n.Add(int64(n))
	return n, err
}

// fileOf finds the file that a path below /stream/{ih}/ or
// /webseed/{ih}/ names: a file's path as the API lists it, with repeated
// slashes folded; for a single-file torrent also the bare URL.
func fileOf(t *swarm.Torrent, rel string) (int, swarm.File, error) {
	files := t.Files()
	if files == nil {
		return 0, swarm.File{}, errorf(http.StatusServiceUnavailable, "metadata not yet known; retry shortly")
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
	return 0, swarm.File{}, errorf(http.StatusNotFound, "no file %q in torrent %s", rel, t.InfoHash().HexString())
}

// openRequested opens the file that r's {infohash} and {path} name, with
// reads that end with the request. The caller closes the reader.
func (p *Server) openRequested(r *http.Request) (*swarm.Torrent, int, swarm.File, swarm.FileReader, error) {
	t, err := p.lookup(strings.ToLower(r.PathValue("infohash")))
	if err != nil {
		return nil, 0, swarm.File{}, nil, err
	}
	idx, f, err := fileOf(t, r.PathValue("path"))
	if err != nil {
		return nil, 0, swarm.File{}, nil, err
	}
	rd, err := t.OpenFile(idx)
	if err != nil {
		return nil, 0, swarm.File{}, nil, errorf(http.StatusNotFound, "no file %q", f.Path)
	}
	rd.SetContext(r.Context())
	return t, idx, f, rd, nil
}

// contentType is the MIME type of a file by its extension, with the types
// browsers need for video that some systems' tables lack.
func contentType(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".mp4", ".m4v":
		return "video/mp4"
	case ".m4a":
		return "audio/mp4"
	case ".webm":
		return "video/webm"
	case ".mkv":
		return "video/x-matroska"
	case ".vtt":
		return "text/vtt; charset=utf-8"
	case ".srt":
		return "application/x-subrip; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

func isMP4(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".mp4", ".m4v", ".m4a", ".mov":
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
	ih := t.InfoHash().HexString()
	rd.SetReadahead(p.readahead(t, fileKey{ih, idx}, f))
	if !t.FileComplete(idx) && isMP4(f.Path) {
		t.PrioritizeEnds(idx, endBytes, endBytes)
	}
	h := w.Header()
	h.Set("Content-Type", contentType(f.Path))
	// A torrent's file never changes: its info hash and path name it, and
	// the ETag lets If-Range work.
	h.Set("ETag", fmt.Sprintf(`"%s-%d"`, ih, idx))
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("Access-Control-Allow-Origin", "*")
	setUntrusted(h)
	if r.URL.Query().Has("download") {
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": path.Base(f.Path)}))
	}
	http.ServeContent(countingWriter{w, &p.counters(ih).stream}, r, "", time.Time{}, rd)
	return nil
}

// readahead returns the readahead for a file: readaheadTime at its
// bitrate, measured once from an MP4's movie header in the background,
// and defaultReadahead until then or for other files.
func (p *Server) readahead(t *swarm.Torrent, k fileKey, f swarm.File) int64 {
	p.rates.mu.Lock()
	defer p.rates.mu.Unlock()
	rate, known := p.rates.m[k]
	if !known && isMP4(f.Path) {
		p.rates.m[k] = 0
		go p.measure(t, k, f)
	}
	if rate == 0 {
		return defaultReadahead
	}
	return min(max(rate*int64(readaheadTime/time.Second), minReadahead), maxReadahead)
}

func (p *Server) measure(t *swarm.Torrent, k fileKey, f swarm.File) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rd, err := t.OpenFile(k.idx)
	if err != nil {
		return
	}
	defer rd.Close()
	rd.SetContext(ctx)
	d, err := mp4Duration(rd)
	if err != nil || d < time.Second {
		p.log.Debug("bitrate unknown", "infohash", k.ih, "file", f.Path, "err", err)
		return
	}
	rate := f.Length * int64(time.Second) / int64(d)
	p.rates.mu.Lock()
	p.rates.m[k] = rate
	p.rates.mu.Unlock()
	p.log.Debug("bitrate measured", "infohash", k.ih, "file", f.Path, "duration", d, "bytes_per_second", rate)
}
