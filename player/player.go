// Package player serves torrents over HTTP: Range streaming of their files
// with sequential priority, the BEP 19 web seed, the .torrent files and the
// JSON API of what the node holds.
package player

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/seedcast/seedcast/swarm"
)

// Config configures a Server.
type Config struct {
	// Swarm holds the torrents to serve (required).
	Swarm *swarm.Swarm
	// PublicURL is the node's base URL as viewers reach it, without a
	// trailing slash (required).
	PublicURL string
	// Logger receives the server's logs; nil means slog.Default().
	Logger *slog.Logger
}

// Server serves the player's routes.
type Server struct {
	cfg Config
	log *slog.Logger

	rates    rates
	servedMu sync.Mutex
	served   map[string]*counters // by hex info hash
}

// New validates cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Swarm == nil {
		return nil, errors.New("player: Config.Swarm is required")
	}
	if cfg.PublicURL == "" {
		return nil, errors.New("player: Config.PublicURL is required")
	}
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Server{
		cfg:    cfg,
		log:    cfg.Logger.With("component", "player"),
		rates:  rates{m: make(map[fileKey]int64)},
		served: make(map[string]*counters),
	}, nil
}

// Register adds the player's routes to mux.
func (p *Server) Register(mux *http.ServeMux) {
	mux.Handle("GET /torrents/{file}", handler(p.serveTorrentFile))
	mux.Handle("GET /api/torrents", handler(p.serveList))
	mux.Handle("GET /api/torrents/{infohash}", handler(p.serveOne))
	mux.Handle("GET /webseed/{infohash}/{path...}", handler(p.serveWebSeed))
	mux.Handle("GET /stream/{infohash}/{path...}", handler(p.serveStream))
	mux.Handle("OPTIONS /webseed/{infohash}/{path...}", handler(p.servePreflight))
}

// WatchURL returns the watch page of the torrent with info hash ih.
func (p *Server) WatchURL(ih metainfo.Hash) string {
	return p.cfg.PublicURL + "/watch/" + ih.HexString()
}

// httpError is an error with the status code it answers with.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func errorf(code int, format string, args ...any) error {
	return &httpError{code: code, msg: fmt.Sprintf(format, args...)}
}

// handler adapts a handler that returns an error, the one place errors
// become status codes.
type handler func(w http.ResponseWriter, r *http.Request) error

func (h handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	err := h(w, r)
	if err == nil {
		return
	}
	var he *httpError
	if !errors.As(err, &he) {
		slog.Error("http handler", "path", r.URL.Path, "err", err)
		he = &httpError{code: http.StatusInternalServerError, msg: "internal error"}
	}
	http.Error(w, he.msg, he.code)
}

// lookup parses a hex info hash from a URL and finds its torrent.
func (p *Server) lookup(s string) (*swarm.Torrent, error) {
	var ih metainfo.Hash
	if len(s) != 40 {
		return nil, errorf(http.StatusBadRequest, "bad info hash %q: want 40 hex digits", s)
	}
	if _, err := hex.Decode(ih[:], []byte(s)); err != nil {
		return nil, errorf(http.StatusBadRequest, "bad info hash %q: want 40 hex digits", s)
	}
	t, ok := p.cfg.Swarm.Torrent(ih)
	if !ok {
		return nil, errorf(http.StatusNotFound, "no torrent %s on this node", ih.HexString())
	}
	return t, nil
}

func (p *Server) serveTorrentFile(w http.ResponseWriter, r *http.Request) error {
	name, ok := strings.CutSuffix(r.PathValue("file"), ".torrent")
	if !ok {
		return errorf(http.StatusNotFound, "want /torrents/{infohash}.torrent")
	}
	t, err := p.lookup(strings.ToLower(name))
	if err != nil {
		return err
	}
	mi, ok := t.Metainfo()
	if !ok {
		return errorf(http.StatusServiceUnavailable, "metadata of %s not yet known; retry shortly", name)
	}
	w.Header().Set("Content-Type", "application/x-bittorrent")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", t.Name()+".torrent"))
	w.Header().Set("Access-Control-Allow-Origin", "*")
	return mi.Write(w)
}

// torrentJSON is one torrent in the API.
type torrentJSON struct {
	InfoHash   string       `json:"infohash"`
	Name       string       `json:"name"`
	Length     int64        `json:"length"`
	Files      []swarm.File `json:"files"`
	Magnet     string       `json:"magnet"`
	TorrentURL string       `json:"torrent_url"`
	WatchURL   string       `json:"watch_url"`
	swarm.Stats
}

// httpTransports adds the bytes served over HTTP to a torrent's figures.
func (p *Server) httpTransports(ih string, st *swarm.Stats) {
	c := p.counters(ih)
	st.Transports["webseed"] = swarm.TransportStats{BytesOut: c.webseed.Load()}
	st.Transports["http"] = swarm.TransportStats{BytesOut: c.stream.Load()}
}

func (p *Server) describe(t *swarm.Torrent) torrentJSON {
	ih := t.InfoHash().HexString()
	files := t.Files()
	if files == nil {
		files = []swarm.File{}
	}
	st := t.Stats()
	p.httpTransports(ih, &st)
	return torrentJSON{
		InfoHash:   ih,
		Name:       t.Name(),
		Length:     t.Length(),
		Files:      files,
		Magnet:     t.Magnet(),
		TorrentURL: p.cfg.PublicURL + "/torrents/" + ih + ".torrent",
		WatchURL:   p.WatchURL(t.InfoHash()),
		Stats:      st,
	}
}

func (p *Server) serveList(w http.ResponseWriter, r *http.Request) error {
	list := []torrentJSON{}
	for _, t := range p.cfg.Swarm.Torrents() {
		list = append(list, p.describe(t))
	}
	return writeJSON(w, list)
}

func (p *Server) serveOne(w http.ResponseWriter, r *http.Request) error {
	t, err := p.lookup(strings.ToLower(r.PathValue("infohash")))
	if err != nil {
		return err
	}
	return writeJSON(w, p.describe(t))
}

func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
