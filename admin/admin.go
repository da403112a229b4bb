// Package admin serves the node's admin API: POST /api/torrents adds a
// file or folder by path (only under the allowed roots), a magnet, or an
// uploaded .torrent, and DELETE /api/torrents/{infohash} stops serving a
// torrent and forgets it. Every request carries the node's bearer token
// (RFC 6750); the read-only routes of the API are the player's, and stay
// public.
//
// Everything a request brings is bounded and parsed here, at the edge: a
// path is resolved through its symlinks and must lie under a root, a
// magnet must name a v1 info hash, a .torrent must hold a sound v1 info
// dictionary. What is left to the Node is adding and removing.
package admin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/seedcast/seedcast/httperr"
	"github.com/seedcast/seedcast/infohash"
)

// Node is what the admin API needs of the node: adding, removing and
// describing torrents. Every torrent it adds it keeps, so that a restart
// brings it back; every one it removes it forgets.
type Node interface {
	// AddPath seeds the file or folder at path, absolute with no symlink
	// in it, where it lies. It reports whether the torrent is new to the
	// node.
	AddPath(ctx context.Context, path string) (ih infohash.Hash, added bool, err error)
	// AddMagnet adds the torrent of a magnet link whose v1 info hash is
	// known to parse.
	AddMagnet(ctx context.Context, uri string) (ih infohash.Hash, added bool, err error)
	// AddTorrent adds the torrent of the bytes of a .torrent whose v1
	// info has been checked.
	AddTorrent(ctx context.Context, torrent []byte) (ih infohash.Hash, added bool, err error)
	// Remove stops serving torrent ih and forgets it, deleting no file.
	// It returns ErrNoTorrent if the node neither serves nor keeps ih.
	Remove(ctx context.Context, ih infohash.Hash) error
	// Describe returns torrent ih as GET /api/torrents/{infohash} shows
	// it, and false if the node has no such torrent.
	Describe(ih infohash.Hash) (any, bool)
}

// Errors a Node returns for the API to answer with their status.
var (
	// ErrNoTorrent: the node has no such torrent (404).
	ErrNoTorrent = errors.New("admin: no such torrent")
	// ErrUnavailable: the node is starting or stopping (503).
	ErrUnavailable = errors.New("admin: node not running")
)

// Bounds of what a request may bring.
const (
	// maxJSONBytes bounds a JSON body: a path (PATH_MAX is 4096 on
	// Linux) or a magnet with a few dozen trackers fits many times over.
	maxJSONBytes = 64 << 10
	// maxTorrentBytes bounds an uploaded .torrent: libtorrent's
	// load_torrent_limits.max_buffer_size, 10 MiB, which the .torrent of
	// a very large folder stays under.
	maxTorrentBytes = 10 << 20
	// maxPathBytes is Linux's PATH_MAX.
	maxPathBytes = 4096
	// maxTrackers and maxWebSeeds bound the URLs a magnet or .torrent
	// makes the node announce to or fetch from; public magnets carry a
	// few dozen trackers at most.
	maxTrackers  = 64
	maxWebSeeds  = 16
	maxURLBytes  = 2048
	maxPathParts = 64 // components of one file's path in a .torrent
)

// Config configures a Server.
type Config struct {
	// Node adds and removes torrents (required).
	Node Node
	// Token is the bearer token every request must carry (required): at
	// least 16 characters of RFC 6750's b64token.
	Token string
	// AllowRoots are the folders under which POST may add files and
	// folders by path. Each must exist; symlinks in them are resolved.
	// Without any, adding by path is refused.
	AllowRoots []string
	// Logger receives the server's logs; nil means slog.Default().
	Logger *slog.Logger
}

// Server serves the admin routes.
type Server struct {
	node     Node
	tokenSum [sha256.Size]byte
	roots    []string // resolved
	log      *slog.Logger
	errs     httperr.Adapter
	adding   chan struct{} // one add at a time: hashing a folder takes the disk
}

// New validates cfg, resolving the roots.
func New(cfg Config) (*Server, error) {
	if cfg.Node == nil {
		return nil, errors.New("admin: Config.Node is required")
	}
	if err := CheckToken(cfg.Token); err != nil {
		return nil, fmt.Errorf("admin: Config.Token: %w", err)
	}
	var roots []string
	for _, r := range cfg.AllowRoots {
		res, err := ResolveRoot(r)
		if err != nil {
			return nil, fmt.Errorf("admin: Config.AllowRoots: %w", err)
		}
		roots = append(roots, res)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	log := cfg.Logger.With("component", "admin")
	return &Server{
		node:     cfg.Node,
		tokenSum: sha256.Sum256([]byte(cfg.Token)),
		roots:    roots,
		log:      log,
		errs:     httperr.Adapter{Log: log, Render: renderJSON},
		adding:   make(chan struct{}, 1),
	}, nil
}

// ResolveRoot returns dir, absolute and with its symlinks resolved, if it
// is an existing folder.
func ResolveRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	res, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("%q: %w", dir, err)
	}
	fi, err := os.Stat(res)
	if err != nil {
		return "", fmt.Errorf("%q: %w", dir, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%q is not a folder", dir)
	}
	return res, nil
}

// Register adds the admin routes to mux.
func (a *Server) Register(mux *http.ServeMux) {
	mux.Handle("POST /api/torrents", a.errs.Handler(a.authorized(a.serveAdd)))
	mux.Handle("DELETE /api/torrents/{infohash}", a.errs.Handler(a.authorized(a.serveRemove)))
}

// errorJSON is the body of every error answer.
type errorJSON struct {
	Error string `json:"error"`
}

func renderJSON(w http.ResponseWriter, r *http.Request, e *httperr.Error) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.Code)
	json.NewEncoder(w).Encode(errorJSON{Error: e.Msg})
}

// Protect serves h to requests that carry the admin token, as a bearer
// token or as the password of HTTP Basic authentication (which a browser
// asks for), and answers the rest 401.
func (a *Server) Protect(h http.Handler) http.Handler {
	return a.errs.Handler(a.authorized(func(w http.ResponseWriter, r *http.Request) error {
		h.ServeHTTP(w, r)
		return nil
	}))
}

// realm names the protection space in WWW-Authenticate (RFC 6750 3).
const realm = `Bearer realm="seedcast admin"`

// authorized runs f for requests that carry the token, compared in
// constant time (of the SHA-256 of each, so that not even the length
// leaks), and answers the rest 401 with a challenge.
func (a *Server) authorized(f httperr.Func) httperr.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query()
		if q.Has("access_token") || q.Has("token") {
			// RFC 6750 2.3 allows it, but a URL ends up in logs and
			// histories: the token never travels in one here.
			return httperr.Errorf(http.StatusBadRequest, "send the admin token in an Authorization: Bearer header, never in the URL")
		}
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if strings.EqualFold(scheme, "Basic") {
			// A browser asks for a password: the token is the password
			// (the artist's view, /admin), whatever the user name.
			_, pw, basic := r.BasicAuth()
			scheme, token, ok = "Bearer", pw, basic
		}
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			a.log.Debug("admin request without a token", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
			w.Header().Set("WWW-Authenticate", realm)
			w.Header().Add("WWW-Authenticate", `Basic realm="seedcast admin", charset="UTF-8"`)
			return httperr.Errorf(http.StatusUnauthorized, "admin token required: send Authorization: Bearer TOKEN (--admin-token, SEEDCAST_ADMIN_TOKEN, or the admin_token file in --data)")
		}
		sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
		if subtle.ConstantTimeCompare(sum[:], a.tokenSum[:]) != 1 {
			a.log.Debug("admin request with a wrong token", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
			w.Header().Set("WWW-Authenticate", realm+`, error="invalid_token"`)
			return httperr.Errorf(http.StatusUnauthorized, "wrong admin token")
		}
		return f(w, r)
	}
}

// addRequest is the JSON body of POST /api/torrents: exactly one field.
type addRequest struct {
	Path   string `json:"path"`
	Magnet string `json:"magnet"`
}

// serveAdd adds a torrent and answers 201 with its JSON, or 200 if the
// node had it already.
func (a *Server) serveAdd(w http.ResponseWriter, r *http.Request) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		mt = ""
	}
	var add func(ctx context.Context) (infohash.Hash, bool, error)
	var from string
	switch mt {
	case "application/json":
		req, err := decodeAdd(w, r)
		if err != nil {
			return err
		}
		if req.Path != "" {
			path, err := a.resolve(req.Path)
			if err != nil {
				return err
			}
			add = func(ctx context.Context) (infohash.Hash, bool, error) { return a.node.AddPath(ctx, path) }
			from = "path"
		} else {
			if err := checkMagnet(req.Magnet); err != nil {
				return err
			}
			add = func(ctx context.Context) (infohash.Hash, bool, error) { return a.node.AddMagnet(ctx, req.Magnet) }
			from = "magnet"
		}
	case "application/x-bittorrent":
		b, err := readTorrent(w, r)
		if err != nil {
			return err
		}
		add = func(ctx context.Context) (infohash.Hash, bool, error) { return a.node.AddTorrent(ctx, b) }
		from = "torrent"
	default:
		return httperr.Errorf(http.StatusUnsupportedMediaType,
			`send Content-Type application/json with {"path": "..."} or {"magnet": "..."}, or application/x-bittorrent with a .torrent`)
	}

	select {
	case a.adding <- struct{}{}:
	case <-r.Context().Done():
		return errGone
	}
	ih, added, err := add(r.Context())
	<-a.adding
	if err != nil {
		return addError(err)
	}
	a.log.Info("torrent added through the API", "infohash", ih, "from", from, "new", added, "remote", r.RemoteAddr)
	var body any = struct {
		InfoHash infohash.Hash `json:"infohash"`
	}{ih}
	if d, ok := a.node.Describe(ih); ok {
		body = d
	}
	code := http.StatusOK
	if added {
		code = http.StatusCreated
	}
	w.Header().Set("Location", "/api/torrents/"+ih.String())
	return writeJSON(w, code, body)
}

// addError answers a failed add: the node's state with its status, a
// gone client with nothing, and what the node could not add with 422 and
// the reason, which names what it tried (a path or a tracker the admin
// gave, never a secret).
func addError(err error) error {
	switch {
	case errors.Is(err, ErrUnavailable):
		return httperr.Errorf(http.StatusServiceUnavailable, "the node is starting or stopping; try again in a moment")
	case errors.Is(err, context.Canceled):
		return errGone
	}
	return httperr.Errorf(http.StatusUnprocessableEntity, "could not add it: %v", err)
}

// errGone answers a request whose client left: nobody reads it, and it
// is no fault of the node to log.
var errGone = httperr.Errorf(http.StatusServiceUnavailable, "request cancelled")

// decodeAdd reads and checks the JSON body of an add.
func decodeAdd(w http.ResponseWriter, r *http.Request) (addRequest, error) {
	var req addRequest
	b, err := httperr.ReadBody(w, r, maxJSONBytes)
	if err != nil {
		return req, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, httperr.Errorf(http.StatusBadRequest, `bad JSON: %v; want {"path": "/abs/path"} or {"magnet": "magnet:?xt=urn:btih:..."}`, err)
	}
	if dec.More() {
		return req, httperr.Errorf(http.StatusBadRequest, "bad JSON: one object, and nothing after it")
	}
	if (req.Path == "") == (req.Magnet == "") {
		return req, httperr.Errorf(http.StatusBadRequest, `want exactly one of "path" and "magnet"`)
	}
	return req, nil
}

// resolve checks a path from a request and returns it resolved: absolute,
// its symlinks followed, under an allowed root, an existing file or
// folder. Whether a path outside the roots exists is not told.
func (a *Server) resolve(path string) (string, error) {
	switch {
	case len(path) > maxPathBytes:
		return "", httperr.Errorf(http.StatusBadRequest, "path over %d bytes", maxPathBytes)
	case strings.ContainsRune(path, 0):
		return "", httperr.Errorf(http.StatusBadRequest, "path holds a NUL byte")
	case !filepath.IsAbs(path):
		return "", httperr.Errorf(http.StatusBadRequest, "path %q is relative; send an absolute path", path)
	}
	if len(a.roots) == 0 {
		return "", httperr.Errorf(http.StatusForbidden, "adding by path is off: start the node with --allow-root DIR (SEEDCAST_ALLOW_ROOT) to allow paths under DIR")
	}
	clean := filepath.Clean(path)
	res, err := filepath.EvalSymlinks(clean)
	if err != nil {
		if !a.under(clean) {
			return "", a.outside(path)
		}
		if errors.Is(err, fs.ErrNotExist) {
			return "", httperr.Errorf(http.StatusNotFound, "no file or folder at %q", path)
		}
		return "", httperr.Errorf(http.StatusBadRequest, "path %q: %v", path, err)
	}
	if !a.under(res) {
		return "", a.outside(path)
	}
	fi, err := os.Stat(res)
	if err != nil {
		return "", httperr.Errorf(http.StatusNotFound, "no file or folder at %q", path)
	}
	if !fi.Mode().IsRegular() && !fi.IsDir() {
		return "", httperr.Errorf(http.StatusBadRequest, "%q is neither a file nor a folder", path)
	}
	return res, nil
}

func (a *Server) outside(path string) error {
	return httperr.Errorf(http.StatusForbidden, "path %q is outside the allowed roots %q (symlinks resolved); move it under one, or add its folder with --allow-root (SEEDCAST_ALLOW_ROOT)", path, a.roots)
}

// under reports whether p, clean and absolute, is a root or lies below
// one.
func (a *Server) under(p string) bool {
	for _, root := range a.roots {
		rel, err := filepath.Rel(root, p)
		if err != nil {
			continue
		}
		if rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))) {
			return true
		}
	}
	return false
}

// checkMagnet checks that uri is a magnet link with a v1 info hash and
// a bounded number of sound tracker and web seed URLs. It parses as the
// swarm does (anacrolix's TorrentSpecFromMagnetUri), so that what passes
// here is what the swarm adds: a hybrid's btmh must parse too.
func checkMagnet(uri string) error {
	m, err := metainfo.ParseMagnetV2Uri(uri)
	if err != nil {
		return httperr.Errorf(http.StatusBadRequest, "bad magnet: %v; want magnet:?xt=urn:btih:<40 hex digits>", err)
	}
	if !m.InfoHash.Ok {
		return httperr.Errorf(http.StatusBadRequest, "bad magnet: no v1 info hash (xt=urn:btih:...): browsers speak v1 only")
	}
	if m.InfoHash.Value == (metainfo.Hash{}) {
		return httperr.Errorf(http.StatusBadRequest, "bad magnet: its info hash is zero")
	}
	if err := checkURLs("tracker", m.Trackers, maxTrackers, "http", "https", "udp", "ws", "wss"); err != nil {
		return httperr.Errorf(http.StatusBadRequest, "bad magnet: %v", err)
	}
	if err := checkURLs("web seed", m.Params["ws"], maxWebSeeds, "http", "https"); err != nil {
		return httperr.Errorf(http.StatusBadRequest, "bad magnet: %v", err)
	}
	return nil
}

// checkURLs checks at most max URLs of the given schemes.
func checkURLs(what string, urls []string, max int, schemes ...string) error {
	if len(urls) > max {
		return fmt.Errorf("%d %ss; at most %d", len(urls), what, max)
	}
	for _, u := range urls {
		if len(u) > maxURLBytes {
			return fmt.Errorf("a %s URL over %d bytes", what, maxURLBytes)
		}
		scheme, _, ok := strings.Cut(u, "://")
		if !ok || !containsFold(schemes, scheme) {
			return fmt.Errorf("%s %q: want a URL of %s", what, truncate(u), strings.Join(schemes, ", "))
		}
	}
	return nil
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func truncate(s string) string {
	if len(s) > 100 {
		return s[:100] + "…"
	}
	return s
}

// readTorrent reads an uploaded .torrent and checks it as anacrolix's
// validateInfo does, and more (parseTorrent): a v1 info, pieces that match the length,
// file paths that stay inside the torrent, and bounded trackers and web
// seeds.
func readTorrent(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := httperr.ReadBody(w, r, maxTorrentBytes)
	if err != nil {
		return nil, err
	}
	if _, err := parseTorrent(b); err != nil {
		return nil, err
	}
	return b, nil
}

// parseTorrent parses and checks the bytes of a .torrent.
func parseTorrent(b []byte) (*metainfo.MetaInfo, error) {
	mi, err := metainfo.Load(bytes.NewReader(b))
	if err != nil {
		return nil, httperr.Errorf(http.StatusBadRequest, "not a .torrent: %v", err)
	}
	info, err := mi.UnmarshalInfo()
	if err != nil {
		return nil, httperr.Errorf(http.StatusBadRequest, "bad .torrent: its info: %v", err)
	}
	if err := checkInfo(&info); err != nil {
		return nil, httperr.Errorf(http.StatusBadRequest, "bad .torrent: %v", err)
	}
	var trackers []string
	for _, tier := range mi.UpvertedAnnounceList() {
		trackers = append(trackers, tier...)
	}
	if err := checkURLs("tracker", trackers, maxTrackers, "http", "https", "udp", "ws", "wss"); err != nil {
		return nil, httperr.Errorf(http.StatusBadRequest, "bad .torrent: %v", err)
	}
	if err := checkURLs("web seed", mi.UrlList, maxWebSeeds, "http", "https"); err != nil {
		return nil, httperr.Errorf(http.StatusBadRequest, "bad .torrent: %v", err)
	}
	return mi, nil
}

func checkInfo(info *metainfo.Info) error {
	if !info.HasV1() {
		return errors.New("no v1 info (v2-only torrents are not supported: browsers speak v1 only)")
	}
	if info.PieceLength <= 0 {
		return errors.New("piece length is not positive")
	}
	if len(info.Pieces) == 0 || len(info.Pieces)%sha1Size != 0 {
		return errors.New("pieces is not a list of SHA-1 hashes")
	}
	var total int64
	if len(info.Files) == 0 {
		total = info.Length
	}
	for _, f := range info.Files {
		if f.Length < 0 {
			return errors.New("a file of negative length")
		}
		total += f.Length
		if len(f.Path) == 0 || len(f.Path) > maxPathParts {
			return fmt.Errorf("a file path of %d components", len(f.Path))
		}
		for _, c := range f.Path {
			if c == "" || c == "." || c == ".." || strings.ContainsAny(c, "/\\\x00") {
				return fmt.Errorf("file path %q leaves the torrent's folder", strings.Join(f.Path, "/"))
			}
		}
	}
	if n := (total + info.PieceLength - 1) / info.PieceLength; total < 0 || n != int64(len(info.Pieces)/sha1Size) {
		return fmt.Errorf("%d pieces for %d bytes at %d bytes a piece", len(info.Pieces)/sha1Size, total, info.PieceLength)
	}
	if name := info.BestName(); name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
		return fmt.Errorf("bad name %q", name)
	}
	return nil
}

const sha1Size = 20

// serveRemove stops serving a torrent and forgets it: 204, or 404 if the
// node has no such torrent.
func (a *Server) serveRemove(w http.ResponseWriter, r *http.Request) error {
	raw := r.PathValue("infohash")
	ih, err := infohash.Parse(raw)
	if err != nil {
		return httperr.Errorf(http.StatusBadRequest, "bad info hash %q: %w", truncate(raw), infohash.ErrSyntax)
	}
	switch err := a.node.Remove(r.Context(), ih); {
	case errors.Is(err, ErrNoTorrent):
		return httperr.Errorf(http.StatusNotFound, "no torrent %s on this node", ih)
	case errors.Is(err, ErrUnavailable):
		return httperr.Errorf(http.StatusServiceUnavailable, "the node is starting or stopping; try again in a moment")
	case err != nil:
		return err
	}
	a.log.Info("torrent removed through the API", "infohash", ih, "remote", r.RemoteAddr)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func writeJSON(w http.ResponseWriter, code int, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, err = w.Write(append(b, '\n'))
	return err
}
