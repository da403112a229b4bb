package player

import (
	"net/http"
	"strings"
	"time"
)

// serveWebSeed answers BEP 19 web seed requests at
// /webseed/{infohash}/[name[/path]]. A single-file torrent is served both
// at the bare URL (WebTorrent appends nothing) and with its name appended
// (anacrolix and aria2 do); a multi-file torrent at name/path, with
// repeated slashes folded because WebTorrent joins with "/" whatever the
// URL ends in. Only paths of the torrent's own files are served.
func (p *Server) serveWebSeed(w http.ResponseWriter, r *http.Request) error {
	t, err := p.lookup(strings.ToLower(r.PathValue("infohash")))
	if err != nil {
		return err
	}
	files := t.Files()
	if files == nil {
		return errorf(http.StatusServiceUnavailable, "metadata not yet known; retry shortly")
	}
	rel := strings.Trim(r.PathValue("path"), "/")
	for strings.Contains(rel, "//") {
		rel = strings.ReplaceAll(rel, "//", "/")
	}
	idx := -1
	if len(files) == 1 && (rel == "" || rel == files[0].Path) {
		idx = 0
	} else {
		for i, f := range files {
			if f.Path == rel {
				idx = i
				break
			}
		}
	}
	if idx < 0 {
		return errorf(http.StatusNotFound, "no file %q in torrent %s", rel, t.InfoHash().HexString())
	}
	rd, err := t.OpenFile(idx)
	if err != nil {
		return errorf(http.StatusNotFound, "no file %q in torrent %s", rel, t.InfoHash().HexString())
	}
	defer rd.Close()
	setCORS(w.Header())
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	// ServeContent answers Range with 206 and If-Range, and 416 beyond the
	// end; a torrent's file never changes, so no modification time.
	http.ServeContent(w, r, "", time.Time{}, rd)
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
