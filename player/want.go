package player

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/seedcast/seedcast/httperr"
	"github.com/seedcast/seedcast/swarm"
)

// maxWantBytes bounds the body of a want: an id, a path and two numbers.
const maxWantBytes = 4 << 10

// wantReport is the body of POST /api/torrents/{infohash}/want: where a
// viewer's page plays one of the torrent's files.
type wantReport struct {
	// Viewer is a random id the page makes once: 16 to 64 hex digits.
	Viewer string `json:"viewer"`
	// Path is the file's path as in the API.
	Path string `json:"path"`
	// Offset is where it plays, in bytes into the file; Rate the file's
	// bytes per second of play, 0 while the page does not know.
	Offset int64 `json:"offset"`
	Rate   int64 `json:"rate"`
}

// parseWant reads a want.
func parseWant(b []byte) (wantReport, error) {
	var w wantReport
	if err := json.Unmarshal(b, &w); err != nil {
		return w, fmt.Errorf("bad want: %w", err)
	}
	if !isViewerID(w.Viewer) {
		return w, errors.New("bad want: viewer must be 16 to 64 hex digits")
	}
	if w.Path == "" {
		return w, errors.New("bad want: no path")
	}
	return w, nil
}

// isViewerID reports whether id is a page's viewer id: 16 to 64 lowercase
// hex digits.
func isViewerID(id string) bool {
	if n := len(id); n < 16 || n > 64 {
		return false
	}
	for _, c := range id {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// serveWant takes where a viewer plays, so that a node still fetching the
// torrent fetches what the viewer needs first; it answers whether the
// node is still fetching.
func (p *Server) serveWant(w http.ResponseWriter, r *http.Request) error {
	t, err := p.lookup(r.PathValue("infohash"))
	if err != nil {
		return err
	}
	b, err := httperr.ReadBody(w, r, maxWantBytes)
	if err != nil {
		return err
	}
	want, err := parseWant(b)
	if err != nil {
		return httperr.Errorf(http.StatusBadRequest, "%v", err)
	}
	fetching := true
	if i, ok := t.FileIndex(want.Path); ok {
		fetching, err = t.Want(want.Viewer, i, want.Offset, want.Rate)
		if errors.Is(err, swarm.ErrBadWant) {
			return httperr.Errorf(http.StatusBadRequest, "bad want: offset and rate must be 0 to the file's length")
		}
	} else if len(t.Files()) > 0 {
		return httperr.Errorf(http.StatusBadRequest, "bad want: no file %q in torrent %s", want.Path, t.InfoHash())
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	return json.NewEncoder(w).Encode(struct {
		Fetching bool `json:"fetching"`
	}{fetching})
}
