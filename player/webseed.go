package player

import (
	"net/http"

	"github.com/seedcast/seedcast/httperr"
)

// serveWebSeed answers BEP 19 web seed requests at
// /webseed/{infohash}/[name[/path]]. A single-file torrent is served both
// at the bare URL (WebTorrent appends nothing) and with its name appended
// (anacrolix and aria2 do); a multi-file torrent at name/path, with
// repeated slashes folded because WebTorrent joins with "/" whatever the
// URL ends in. Only paths of the torrent's own files are served, and only
// verified pieces.
func (p *Server) serveWebSeed(w http.ResponseWriter, r *http.Request) error {
	t, idx, f, rd, err := p.openRequested(r)
	if err != nil {
		return err
	}
	defer rd.Close()
	setCORS(w.Header())
	if !rangeOK(w, r, f.Length) {
		return nil
	}
	p.open.webseed.Add(1)
	defer p.open.webseed.Add(-1)
	if from, to, ok := singleRange(r.Header.Get("Range"), f.Length); ok && !t.FileComplete(idx) {
		// What is not here yet is fetched next, and read once verified:
		// a reader waiting on it would make it a piece needed now, beside
		// those the viewers' playheads need (swarm.Torrent.AwaitRange).
		if err := t.AwaitRange(r.Context(), idx, from, to); err != nil {
			if r.Context().Err() != nil {
				return nil // the client went away
			}
			return httperr.Errorf(http.StatusNotFound, "%s: %v", f.Path, err)
		}
	}
	// A web seed request is a whole piece or a run of them: no readahead
	// beyond what was asked.
	rd.SetReadahead(0)
	setUntrusted(w.Header())
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	// ServeContent answers Range with 206 and If-Range, and 416 beyond the
	// end.
	p.serveContent(p.body(w, r, &p.counters(t.InfoHash()).webseed), r, rd, "web seed served", "infohash", t.InfoHash(), "file", f.Path)
	return nil
}

// servePreflight answers the CORS preflight WebTorrent's fetch triggers:
// it sends Range, Cache-Control and User-Agent.
func (p *Server) servePreflight(w http.ResponseWriter, r *http.Request) error {
	setCORS(w.Header())
	w.Header().Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	w.Header().Set("Access-Control-Allow-Headers", "Range, Cache-Control, User-Agent")
	w.Header().Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func setCORS(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "Content-Range, Content-Length, Accept-Ranges")
}
