// Package web serves seedcast's pages: the library of torrents, the watch
// page, the player alone for iframes and the oEmbed answers that let blogs
// embed it from a pasted link. The pages are html/template files; their
// scripts and styles are TypeScript and CSS in web/src, built by esbuild
// (`make web`) into web/dist together with WebTorrent's prebuilt ESM dist
// and service worker, and embedded in the binary.
//
// The package knows nothing of torrent internals: it reads what it shows
// through the Library interface, and the browser fetches the .torrent,
// /stream and /api routes that the player package serves.
package web

import (
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/seedcast/seedcast/httperr"
	"github.com/seedcast/seedcast/infohash"
)

// File is one file of a torrent.
type File struct {
	// Path is slash-separated and starts with the torrent's name for
	// multi-file torrents, as in /api/torrents and /stream URLs.
	Path   string
	Length int64
	// Type is the MIME type /stream serves the file with; the pages play,
	// show or list the file by it. "" is a file of no known type.
	Type string
}

// Torrent is what the pages show of one torrent. Every string in it may
// come from a stranger's .torrent and is escaped where it is shown.
type Torrent struct {
	// InfoHash is the torrent's v1 info hash.
	InfoHash infohash.Hash
	// Name is the torrent's name (its info hash until the info is known).
	Name   string
	Length int64
	// Files is nil until the torrent's info is known.
	Files []File
	// Magnet is a magnet link to the torrent.
	Magnet string
	// TorrentURL is the absolute URL of its .torrent file.
	TorrentURL string
	// Delivered is the bytes viewers have got so far, from the node and
	// from each other; ViewerShare is the part of them viewers carried, 0
	// to 1.
	Delivered   int64
	ViewerShare float64
	// Viewers is the number of pages watching it now.
	Viewers int
	// Peers is the number of peers the node is connected to for it, and
	// PeersFound those it knows of, connected or not; InfoWait how long
	// the node has waited for its info, while Files is nil (a magnet).
	Peers      int
	PeersFound int
	InfoWait   time.Duration
}

// Library is the set of torrents the node serves.
type Library interface {
	// Torrents returns every torrent, in the order the node added them.
	Torrents() []Torrent
	// Torrent returns the torrent with info hash ih, and false if the
	// node has none.
	Torrent(ih infohash.Hash) (Torrent, bool)
}

// Config configures a Server.
type Config struct {
	// Library holds the torrents to show (required).
	Library Library
	// PublicURL is the node's base URL as viewers reach it, such as
	// https://films.example.org; a trailing slash is ignored (required).
	PublicURL string
	// Logger receives the server's logs; nil means slog.Default().
	Logger *slog.Logger
	// P2PMinViewers, if over one, keeps pages streaming from the node
	// alone until that many viewers, the new one included, watch the
	// same torrent. Zero means peer-to-peer from the first viewer.
	P2PMinViewers int
	// PublicURLFor, if set, returns the base URL that request r reached
	// the node at, when it may differ from PublicURL (behind a reverse
	// proxy that says so), or "" for PublicURL. The absolute URLs,
	// links and magnets of the answer to r name the node by it.
	PublicURLFor func(r *http.Request) string
	// ICEServers, if set, returns the STUN and TURN servers a page gives
	// its peer connections; it is called for every page, so that each
	// gets TURN credentials of its own. Whatever it returns is public to
	// viewers: never a static TURN password or a secret.
	ICEServers func() []ICEServer
	// Bundles, if set, has the node's bundles and their gates: /bundle/{id}
	// shows one, and the watch page of a gated file plays it decrypted
	// once the viewer has opened its gate.
	Bundles Bundles
}

// ICEServer is a STUN or TURN server as RTCPeerConnection takes it.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// iceServers returns the servers for one page, an empty list for none.
func (s *Server) iceServers() []ICEServer {
	var out []ICEServer
	if s.cfg.ICEServers != nil {
		out = s.cfg.ICEServers()
	}
	if out == nil {
		return []ICEServer{}
	}
	return out
}

// Server serves the pages.
type Server struct {
	cfg      Config
	log      *slog.Logger
	errs     httperr.Adapter // answers in plain text
	pageErrs httperr.Adapter // answers with error pages
	base     *url.URL        // PublicURL parsed
	assets   *assets         // nil when the front end is not built
	tmpl     map[string]*template.Template
	csp      string // Content-Security-Policy of the pages, without frame-ancestors

	posters posterSizes
}

// New validates cfg and loads the templates and the built front end. A
// missing build is not an error: the pages then answer 503 saying how to
// build it, and everything else of the node works.
func New(cfg Config) (*Server, error) {
	return newServer(cfg, distFS)
}

// newServer is New with the build output read from dist, whose root holds
// what web/dist holds.
func newServer(cfg Config, dist fs.FS) (*Server, error) {
	if cfg.Library == nil {
		return nil, errors.New("web: Config.Library is required")
	}
	if cfg.PublicURL == "" {
		return nil, errors.New("web: Config.PublicURL is required")
	}
	base, err := url.Parse(strings.TrimSuffix(cfg.PublicURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("web: Config.PublicURL %q: want http(s)://host[:port][/path]", cfg.PublicURL)
	}
	cfg.PublicURL = base.String()
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With("component", "web"), base: base}
	s.errs = httperr.Adapter{Log: s.log}
	s.pageErrs = httperr.Adapter{Log: s.log, InternalMsg: "Something went wrong on this node.", Render: s.renderError}
	s.assets, err = loadAssets(dist)
	if err != nil {
		s.log.Warn("front end not built: pages answer 503 until it is; run make", "err", err)
	}
	s.tmpl, err = parseTemplates(s)
	if err != nil {
		return nil, err
	}
	s.csp = contentSecurityPolicy(base)
	return s, nil
}

// Register adds the pages' routes to mux.
func (s *Server) Register(mux *http.ServeMux) {
	mux.Handle("GET /{$}", s.page(s.serveLibrary))
	mux.Handle("GET /watch/{infohash}", s.page(s.serveWatch))
	mux.Handle("GET /embed/{infohash}", s.page(s.serveEmbed))
	mux.Handle("GET /bundle/{id}", s.page(s.serveBundle))
	mux.Handle("GET /oembed", s.errs.Handler(s.serveOEmbed))
	mux.Handle("GET /assets/{name}", s.errs.Handler(s.serveAsset))
	// The service worker sits at the root so that its scope, "/", covers
	// /watch and /embed; WebTorrent's stream URLs are then /webtorrent/...
	mux.Handle("GET /sw.min.js", s.errs.Handler(s.serveServiceWorker))
}

// page adapts a page handler: its errors become error pages, and it runs
// only once the front end is built.
func (s *Server) page(h httperr.Func) http.Handler {
	hh := s.pageErrs.Handler(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.assets == nil {
			// Without the build there is no style sheet to dress a page in.
			http.Error(w, "seedcast: front end not built: run make (or make web) in the source tree, then rebuild and restart seedcast", http.StatusServiceUnavailable)
			return
		}
		hh.ServeHTTP(w, r)
	})
}

// lookup parses the info hash of a page URL, 40 hex digits in either
// case, and finds its torrent: 400 for a bad info hash, 404 for one not
// on this node.
func (s *Server) lookup(raw string) (Torrent, error) {
	ih, err := infohash.Parse(raw)
	if err != nil {
		return Torrent{}, httperr.Errorf(http.StatusBadRequest, "bad info hash %q: %w", raw, infohash.ErrSyntax)
	}
	t, ok := s.cfg.Library.Torrent(ih)
	if !ok {
		return Torrent{}, httperr.Errorf(http.StatusNotFound, "No torrent %s on this node.", ih)
	}
	return t, nil
}

// contentSecurityPolicy is the policy of every page: scripts, styles,
// media and connections only from the node itself, so that a page leaks
// no viewer to anyone else even if a torrent names other trackers; blob:
// and data: for captions converted in the page and captured poster
// frames. frame-ancestors is added per page.
func contentSecurityPolicy(base *url.URL) string {
	origin := base.Scheme + "://" + base.Host
	ws := map[string]string{"http": "ws", "https": "wss"}[base.Scheme] + "://" + base.Host
	return strings.Join([]string{
		"default-src 'self'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self' data: blob: " + origin,
		"media-src 'self' blob: " + origin,
		"connect-src 'self' " + origin + " " + ws,
		"worker-src 'self'",
		"object-src 'none'",
		"base-uri 'none'",
		// The gates' forms post to the node; a payment's checkout page is
		// Stripe's, where the pay form's answer sends the browser.
		"form-action 'self' https://checkout.stripe.com",
	}, "; ")
}
