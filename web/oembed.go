package web

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"image"
	_ "image/gif" // poster formats whose size oEmbed reports
	_ "image/jpeg"
	_ "image/png"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/seedcast/seedcast/httperr"
	"github.com/seedcast/seedcast/infohash"
)

// FileOpener may be implemented by a Library so that oEmbed answers and
// Open Graph tags give the size of a bundle's poster, which both want
// beside its URL.
type FileOpener interface {
	// OpenFile opens the file at path (as in File.Path) of the torrent
	// with info hash ih. Reads may wait for pieces until ctx is done.
	OpenFile(ctx context.Context, ih infohash.Hash, path string) (io.ReadCloser, error)
}

// posterTimeout bounds reading a poster's header, which may wait for the
// swarm when the node is still downloading.
const posterTimeout = 2 * time.Second

// posterSizes caches the sizes of posters by info hash and path: a
// torrent's files never change.
type posterSizes struct {
	mu sync.Mutex
	m  map[posterKey]image.Point
}

// posterKey names a poster: a file of a torrent.
type posterKey struct {
	ih   infohash.Hash
	path string
}

// posterSize returns the size of poster f of torrent ih, or false if the
// library cannot open files or the image cannot be decoded in time.
func (s *Server) posterSize(ctx context.Context, ih infohash.Hash, f fileView) (image.Point, bool) {
	op, ok := s.cfg.Library.(FileOpener)
	if !ok {
		return image.Point{}, false
	}
	key := posterKey{ih, f.Path}
	s.posters.mu.Lock()
	p, ok := s.posters.m[key]
	s.posters.mu.Unlock()
	if ok {
		return p, p != image.Point{}
	}
	ctx, cancel := context.WithTimeout(ctx, posterTimeout)
	defer cancel()
	rc, err := op.OpenFile(ctx, ih, f.Path)
	if err != nil {
		return image.Point{}, false
	}
	defer rc.Close()
	cfg, _, err := image.DecodeConfig(io.LimitReader(rc, 1<<20))
	if err != nil {
		if ctx.Err() != nil {
			return image.Point{}, false // not cached: the pieces may come
		}
		cfg = image.Config{} // cached as unknown: not an image Go reads
	}
	p = image.Pt(cfg.Width, cfg.Height)
	s.posters.mu.Lock()
	if s.posters.m == nil {
		s.posters.m = make(map[posterKey]image.Point)
	}
	s.posters.m[key] = p
	s.posters.mu.Unlock()
	return p, p != image.Point{}
}

// oembed is an oEmbed 1.0 response of type video (https://oembed.com/),
// in JSON or in XML.
type oembed struct {
	XMLName      xml.Name `json:"-" xml:"oembed"`
	Type         string   `json:"type" xml:"type"`
	Version      string   `json:"version" xml:"version"`
	Title        string   `json:"title" xml:"title"`
	AuthorName   string   `json:"author_name" xml:"author_name"`
	AuthorURL    string   `json:"author_url" xml:"author_url"`
	ProviderName string   `json:"provider_name" xml:"provider_name"`
	ProviderURL  string   `json:"provider_url" xml:"provider_url"`
	HTML         string   `json:"html" xml:"html"`
	Width        int      `json:"width" xml:"width"`
	Height       int      `json:"height" xml:"height"`
	// ThumbnailURL is the bundle's poster, whose size is given when Go
	// can read it. The spec asks for the size with the URL, but a poster
	// it cannot read (WebP, AVIF) still serves the previews that read
	// the URL alone.
	ThumbnailURL    string `json:"thumbnail_url,omitempty" xml:"thumbnail_url,omitempty"`
	ThumbnailWidth  int    `json:"thumbnail_width,omitempty" xml:"thumbnail_width,omitempty"`
	ThumbnailHeight int    `json:"thumbnail_height,omitempty" xml:"thumbnail_height,omitempty"`
}

// serveOEmbed answers /oembed?url=<watch page>[&maxwidth=&maxheight=]
// [&format=json|xml] with the embed's iframe, and 404 for any URL that is
// not a watch page of a torrent on this node.
func (s *Server) serveOEmbed(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	format := q.Get("format")
	if format != "" && format != "json" && format != "xml" {
		return httperr.Errorf(http.StatusNotImplemented, "oembed: format %q not implemented; use json or xml", format)
	}
	raw := q.Get("url")
	if raw == "" {
		return httperr.Errorf(http.StatusBadRequest, "oembed: want ?url= a watch page of this node")
	}
	base := s.requestBase(r)
	ih, file, ok := s.watchPage(raw, base)
	if !ok {
		return httperr.Errorf(http.StatusNotFound, "oembed: %q is not a watch page of this node (%s/watch/{infohash})", raw, base)
	}
	t, ok := s.cfg.Library.Torrent(ih)
	if !ok || t.Files == nil {
		return httperr.Errorf(http.StatusNotFound, "oembed: no torrent %s on this node", ih)
	}
	tv := s.view(t)
	cur, err := tv.pickFile(file)
	if err != nil {
		return httperr.Errorf(http.StatusNotFound, "oembed: %v", err)
	}
	width, height := fit(embedWidth, embedHeight, atoiOr(q.Get("maxwidth")), atoiOr(q.Get("maxheight")))
	src := base.String() + "/embed/" + ih.String()
	if file != "" {
		src += "?file=" + queryPath(tv.Files[cur].Path)
	}
	o := oembed{
		Type:    "video",
		Version: "1.0",
		Title:   tv.Title,
		// A torrent names no author (its "created by" is the program that
		// made it): the film is published by this node, named as the
		// library names it.
		AuthorName:   base.Host,
		AuthorURL:    base.String() + "/",
		ProviderName: "seedcast",
		ProviderURL:  base.String() + "/",
		HTML:         embedCode(src, tv.Title, width, height),
		Width:        width,
		Height:       height,
	}
	if tv.Poster >= 0 {
		o.ThumbnailURL = base.Scheme + "://" + base.Host + tv.Files[tv.Poster].URL
		if p, ok := s.posterSize(r.Context(), ih, tv.Files[tv.Poster]); ok {
			o.ThumbnailWidth, o.ThumbnailHeight = p.X, p.Y
		}
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cache-Control", "public, max-age=300")
	if format == "xml" {
		h.Set("Content-Type", "text/xml; charset=utf-8")
		b, err := xml.Marshal(o)
		if err != nil {
			return err
		}
		_, err = io.WriteString(w, xml.Header+string(b)+"\n")
		return err
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	return json.NewEncoder(w).Encode(o)
}

// watchPage parses a URL of this node's watch page of a torrent into its
// info hash and ?file=. Scheme and host must be the public URL's, or
// those of base, the URL the request came to (either scheme: a page may be
// linked by http before a redirect to https).
func (s *Server) watchPage(raw string, base *url.URL) (ih infohash.Hash, file string, ok bool) {
	u, err := url.Parse(raw)
	if err != nil || !(strings.EqualFold(u.Host, s.base.Host) || strings.EqualFold(u.Host, base.Host)) || (u.Scheme != "http" && u.Scheme != "https") {
		return ih, "", false
	}
	rest, ok := strings.CutPrefix(u.Path, s.basePath()+"/watch/")
	if !ok {
		return ih, "", false
	}
	ih, err = infohash.Parse(strings.TrimSuffix(rest, "/"))
	if err != nil {
		return ih, "", false
	}
	return ih, u.Query().Get("file"), true
}

// fit scales w × h down, keeping its shape, to at most maxW × maxH where
// those are positive.
func fit(w, h, maxW, maxH int) (int, int) {
	if maxW > 0 && w > maxW {
		w, h = maxW, h*maxW/w
	}
	if maxH > 0 && h > maxH {
		w, h = w*maxH/h, maxH
	}
	return w, h
}

func atoiOr(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
