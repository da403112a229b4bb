// Package player serves torrents over HTTP: Range streaming of their files
// with sequential priority, the BEP 19 web seed, the .torrent files and the
// JSON API of what the node holds.
package player

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/seedcast/seedcast/httperr"
	"github.com/seedcast/seedcast/infohash"
	"github.com/seedcast/seedcast/store"
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
	// PublicURLFor, if set, returns the base URL that request r reached
	// the node at, when it may differ from PublicURL (behind a reverse
	// proxy that says so), or "" for PublicURL. A .torrent served to r
	// names the node's own tracker and web seed by it.
	PublicURLFor func(r *http.Request) string
	// Gate, if set, says whether request r may read file path of torrent
	// ih in plain: (nil, false) for a file of no bundle or a free one;
	// its key for a gated file r's session unlocked, which /stream then
	// decrypts; locked for a gated file r has not unlocked, which /stream
	// refuses (403). The web seed serves every file as it is stored,
	// ciphertext for gated ones.
	Gate func(r *http.Request, ih infohash.Hash, path string) (key *store.FileKey, locked bool, err error)
}

// Server serves the player's routes.
type Server struct {
	cfg  Config
	log  *slog.Logger
	errs httperr.Adapter

	rates    rates
	servedMu sync.Mutex
	served   map[infohash.Hash]*counters
	reports  map[infohash.Hash]*deliveries
	open     openResponses
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
	log := cfg.Logger.With("component", "player")
	return &Server{
		cfg:     cfg,
		log:     log,
		errs:    httperr.Adapter{Log: log},
		rates:   rates{m: make(map[fileKey]fileRate)},
		served:  make(map[infohash.Hash]*counters),
		reports: make(map[infohash.Hash]*deliveries),
	}, nil
}

// Register adds the player's routes to mux.
func (p *Server) Register(mux *http.ServeMux) {
	mux.Handle("GET /torrents/{file}", p.errs.Handler(p.serveTorrentFile))
	mux.Handle("GET /api/torrents", p.errs.Handler(p.serveList))
	mux.Handle("GET /api/torrents/{infohash}", p.errs.Handler(p.serveOne))
	mux.Handle("POST /api/torrents/{infohash}/delivery", p.errs.Handler(p.serveDelivery))
	mux.Handle("POST /api/torrents/{infohash}/want", p.errs.Handler(p.serveWant))
	mux.Handle("GET /webseed/{infohash}/{path...}", p.errs.Handler(p.serveWebSeed))
	mux.Handle("GET /stream/{infohash}/{path...}", p.errs.Handler(p.serveStream))
	mux.Handle("OPTIONS /webseed/{infohash}/{path...}", p.errs.Handler(p.servePreflight))
}

// WatchURL returns the URL of the watch page of the torrent with info
// hash ih.
func (p *Server) WatchURL(ih infohash.Hash) string {
	return p.cfg.PublicURL + "/watch/" + ih.String()
}

// torrent finds the torrent with info hash ih in the swarm.
func (p *Server) torrent(ih infohash.Hash) (*swarm.Torrent, bool) { return p.cfg.Swarm.Torrent(ih) }

// lookup parses the info hash of a URL, 40 hex digits in either case, and
// finds its torrent: 400 for a bad info hash, 404 for one not on this
// node.
func (p *Server) lookup(raw string) (*swarm.Torrent, error) {
	ih, err := infohash.Parse(raw)
	if err != nil {
		return nil, httperr.Errorf(http.StatusBadRequest, "bad info hash %q: %w", raw, infohash.ErrSyntax)
	}
	t, ok := p.torrent(ih)
	if !ok {
		return nil, httperr.Errorf(http.StatusNotFound, "no torrent %s on this node", ih)
	}
	return t, nil
}

func (p *Server) serveTorrentFile(w http.ResponseWriter, r *http.Request) error {
	name, ok := strings.CutSuffix(r.PathValue("file"), ".torrent")
	if !ok {
		return httperr.Errorf(http.StatusNotFound, "want /torrents/{infohash}.torrent")
	}
	t, err := p.lookup(name)
	if err != nil {
		return err
	}
	mi, ok := t.Metainfo()
	if !ok {
		return httperr.Errorf(http.StatusServiceUnavailable, "metadata of %s not yet known; retry shortly", name)
	}
	if p.cfg.PublicURLFor != nil {
		if base := strings.TrimSuffix(p.cfg.PublicURLFor(r), "/"); base != "" && base != p.cfg.PublicURL {
			rebase(mi, p.cfg.PublicURL, base)
		}
	}
	w.Header().Set("Content-Type", "application/x-bittorrent")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", t.Name()+".torrent"))
	w.Header().Set("Access-Control-Allow-Origin", "*")
	return mi.Write(w)
}

// torrentJSON is one torrent in the API.
type torrentJSON struct {
	InfoHash   infohash.Hash `json:"infohash"`
	Name       string        `json:"name"`
	Length     int64         `json:"length"`
	Files      []swarm.File  `json:"files"`
	Magnet     string        `json:"magnet"`
	TorrentURL string        `json:"torrent_url"`
	WatchURL   string        `json:"watch_url"`
	swarm.Stats
	Offload Offload `json:"offload"`
}

// stats returns t's figures with the bytes it served over HTTP.
func (p *Server) stats(t *swarm.Torrent) swarm.Stats {
	st := t.Stats()
	c := p.counters(t.InfoHash())
	st.Transports["webseed"] = swarm.TransportStats{BytesOut: c.webseed.Load()}
	st.Transports["http"] = swarm.TransportStats{BytesOut: c.stream.Load()}
	return st
}

func (p *Server) describe(t *swarm.Torrent) torrentJSON {
	ih := t.InfoHash()
	files := t.Files()
	if files == nil {
		files = []swarm.File{}
	}
	st := p.stats(t)
	return torrentJSON{
		InfoHash:   ih,
		Name:       t.Name(),
		Length:     t.Length(),
		Files:      files,
		Magnet:     t.Magnet(),
		TorrentURL: p.cfg.PublicURL + "/torrents/" + ih.String() + ".torrent",
		WatchURL:   p.WatchURL(ih),
		Stats:      st,
		Offload:    p.offload(ih, st),
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
	t, err := p.lookup(r.PathValue("infohash"))
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
