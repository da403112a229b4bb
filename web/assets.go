package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/seedcast/seedcast/httperr"
)

// distFS is web/dist: the build output of `make web`, or on a fresh clone
// only its README, which keeps the pattern matching so that the package
// compiles without npm.
//
//go:embed all:dist
var distFS embed.FS

// requiredAssets are the files of dist the pages load; without any of
// them the front end counts as not built.
var requiredAssets = []string{"watch.js", "library.js", "pending.js", "bundle.js", "style.css", "webtorrent.min.js", "sw.min.js"}

// asset is one file of the build, ready to serve.
type asset struct {
	body  []byte
	gz    []byte // gzip of body, nil when that does not pay
	etag  string // quoted; a gzip variant appends -gz inside the quotes
	ctype string
}

// assets is the build output, by file name.
type assets struct {
	files map[string]*asset
}

// loadAssets reads and compresses every file at the root of dist. It
// fails if a required file is missing.
func loadAssets(dist fs.FS) (*assets, error) {
	a := &assets{files: make(map[string]*asset)}
	entries, err := fs.ReadDir(dist, "dist")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || name == "README.md" || strings.HasPrefix(name, ".") {
			continue
		}
		body, err := fs.ReadFile(dist, "dist/"+name)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(body)
		f := &asset{body: body, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, ctype: assetType(name)}
		if compressible(f.ctype) {
			var b bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
			zw.Write(body)
			zw.Close()
			if b.Len() < len(body)*9/10 {
				f.gz = b.Bytes()
			}
		}
		a.files[name] = f
	}
	var missing []string
	for _, name := range requiredAssets {
		if a.files[name] == nil {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("web/dist lacks %s", strings.Join(missing, ", "))
	}
	return a, nil
}

func assetType(name string) string {
	switch path.Ext(name) {
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".map", ".json":
		return "application/json"
	case ".svg":
		return "image/svg+xml"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || ctype == "application/json" || ctype == "image/svg+xml"
}

// url returns the path of the named asset under base, versioned by its
// content so that it may be cached for good.
func (a *assets) url(basePath, name string) (string, error) {
	f := a.files[name]
	if f == nil {
		return "", fmt.Errorf("web: no asset %q in the build", name)
	}
	return basePath + "/assets/" + name + "?v=" + strings.Trim(f.etag, `"`), nil
}

// serve writes the named asset. A request whose ?v= matches the content
// may be cached forever; any other is revalidated by ETag, which covers
// the files that modules import by plain relative URLs (WebTorrent's
// dist).
func (a *assets) serve(w http.ResponseWriter, r *http.Request, name, cacheControl string) error {
	f := a.files[name]
	if f == nil {
		return httperr.Errorf(http.StatusNotFound, "no asset %q", name)
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Vary", "Accept-Encoding")
	if cacheControl == "" {
		cacheControl = "no-cache"
		if r.URL.Query().Get("v") == strings.Trim(f.etag, `"`) {
			cacheControl = "public, max-age=31536000, immutable"
		}
	}
	h.Set("Cache-Control", cacheControl)
	body, etag := f.body, f.etag
	if f.gz != nil && acceptsGzip(r) {
		body, etag = f.gz, strings.TrimSuffix(f.etag, `"`)+`-gz"`
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	return nil
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		if v, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q="); ok {
			q, err := strconv.ParseFloat(v, 64)
			return err == nil && q > 0
		}
		return true
	}
	return false
}

var errNotBuilt = httperr.Errorf(http.StatusServiceUnavailable, "seedcast: front end not built: run make (or make web) in the source tree, then rebuild and restart seedcast")

func (s *Server) serveAsset(w http.ResponseWriter, r *http.Request) error {
	if s.assets == nil {
		return errNotBuilt
	}
	name := r.PathValue("name")
	if name == "sw.min.js" {
		// One service worker, at the root only: a second registration
		// under /assets/ would race the first for WebTorrent's requests.
		return httperr.Errorf(http.StatusNotFound, "no asset %q", name)
	}
	return s.assets.serve(w, r, name, "")
}

// serveServiceWorker serves WebTorrent's service worker at the root. The
// browser checks it for updates on every navigation, so it is never
// cached.
func (s *Server) serveServiceWorker(w http.ResponseWriter, r *http.Request) error {
	if s.assets == nil {
		return errNotBuilt
	}
	w.Header().Set("Service-Worker-Allowed", s.basePath()+"/")
	return s.assets.serve(w, r, "sw.min.js", "no-cache")
}

// basePath is the path of PublicURL, "" at the root of a host.
func (s *Server) basePath() string { return strings.TrimSuffix(s.base.Path, "/") }
