// Package gate serves the gates of bundles: a viewer unlocks a bundle's
// gated files with an email address or a payment, and gets their keys for
// that viewer's session. The files' bytes stay ciphertext wherever they
// travel (peers, the web seed, native clients); the page decrypts what it
// plays, and /stream decrypts for an unlocked session.
//
// Routes: GET /api/bundles, GET /api/bundles/{id}, GET
// /api/bundles/{id}/keys, POST /bundle/{id}/unlock (the email gate), GET
// /bundle/{id}/confirm (a confirmation mail's link), POST
// /bundle/{id}/checkout (the pay gate, at Stripe) and POST
// /webhooks/payment (Stripe's signed events). The bundle page itself is
// web's, drawn from View.
package gate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/seedcast/seedcast/httperr"
	"github.com/seedcast/seedcast/infohash"
	"github.com/seedcast/seedcast/store"
)

// Store is the state the gates keep (store.Store).
type Store interface {
	Bundles(ctx context.Context) ([]store.Bundle, error)
	Bundle(ctx context.Context, id string) (store.Bundle, error)
	BundleByInfoHash(ctx context.Context, ih infohash.Hash) (store.Bundle, error)
	Keys(ctx context.Context, bundleID string) (map[string]store.FileKey, error)
	AddEmail(ctx context.Context, e store.Email) (token string, err error)
	ConfirmEmail(ctx context.Context, token string) (store.Email, error)
	RecordPayment(ctx context.Context, p store.Payment) error
	Totals(ctx context.Context, bundleID string) (store.Totals, error)
	Grant(ctx context.Context, u store.Unlock) error
	Unlocked(ctx context.Context, session, bundleID string, now time.Time) ([]string, error)
	Secret(ctx context.Context) ([]byte, error)
	CountDownload(ctx context.Context, bundleID, path string) error
}

// SMTP is where confirmation mails go out.
type SMTP struct {
	// Addr is host:port of the SMTP server.
	Addr string
	// From is the mails' sender address.
	From string
	// User and Password authenticate (PLAIN, over TLS only) if User is
	// set.
	User, Password string
}

// Stripe is the payment provider's configuration.
type Stripe struct {
	// SecretKey makes checkouts (sk_live_… or sk_test_…).
	SecretKey string
	// WebhookSecret verifies the signatures of its events (whsec_…).
	WebhookSecret string
	// APIBase is Stripe's API URL; "" is https://api.stripe.com.
	APIBase string
}

// Config configures a Server.
type Config struct {
	// Store keeps bundles, keys, emails, payments and unlocks (required).
	Store Store
	// PublicURL is the node's base URL, for links in mails and the
	// return URLs of checkouts (required).
	PublicURL string
	// Logger receives the gates' logs; nil means slog.Default().
	Logger *slog.Logger
	// SMTP, if set, has an email gate send a confirmation mail and
	// unlock once its link is opened; without it an address unlocks at
	// once.
	SMTP *SMTP
	// Stripe, if set, lets viewers pay a price gate; without it the page
	// says that the node takes no payments.
	Stripe *Stripe
	// SessionTTL is how long an unlock and its session last; 0 means
	// 30 days.
	SessionTTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Consent is the wording an email gate shows beside its box, and stores
// with each address.
const Consent = "I agree that the artist may send me news of their work by email. I can unsubscribe at any time."

// Errors of Access.
var (
	// ErrLocked: the file is gated and the request's session has not
	// unlocked it (403).
	ErrLocked = errors.New("gate: locked")
)

// Server serves the gates.
type Server struct {
	cfg  Config
	log  *slog.Logger
	errs httperr.Adapter
	mail mailer
	// ledger is the store's record of the gates, for the artist's view.
	ledger Ledger
	// limit bounds each client's unlocks and checkouts.
	limit limiter
	// cache keeps what Access asks the store on every /stream request.
	cache cache
}

// New validates cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("gate: Config.Store is required")
	}
	if cfg.PublicURL == "" {
		return nil, errors.New("gate: Config.PublicURL is required")
	}
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	if _, err := url.Parse(cfg.PublicURL); err != nil {
		return nil, fmt.Errorf("gate: public URL: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 30 * 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Stripe != nil && (cfg.Stripe.SecretKey == "" || cfg.Stripe.WebhookSecret == "") {
		return nil, errors.New("gate: Stripe needs both its secret key and its webhook signing secret")
	}
	log := cfg.Logger.With("component", "gate")
	s := &Server{cfg: cfg, log: log, errs: httperr.Adapter{Log: log}, limit: limiter{now: cfg.Now, rate: gateRate}}
	if cfg.SMTP != nil {
		s.mail = smtpMailer{cfg: *cfg.SMTP}
	}
	return s, nil
}

// Register adds the gates' routes to mux.
func (s *Server) Register(mux *http.ServeMux) {
	mux.Handle("GET /api/bundles", s.errs.Handler(s.serveList))
	mux.Handle("GET /api/bundles/{id}", s.errs.Handler(s.serveOne))
	mux.Handle("GET /api/bundles/{id}/keys", s.errs.Handler(s.serveKeys))
	mux.Handle("POST /bundle/{id}/unlock", s.errs.Handler(s.serveUnlock))
	mux.Handle("GET /bundle/{id}/confirm", s.errs.Handler(s.serveConfirm))
	mux.Handle("POST /bundle/{id}/checkout", s.errs.Handler(s.serveCheckout))
	mux.Handle("POST /webhooks/payment", s.errs.Handler(s.serveWebhook))
}

// limited returns a 429 error if r's client is over its share of the
// gate requests that write to the store, mail or make a checkout.
func (s *Server) limited(w http.ResponseWriter, r *http.Request) error {
	if s.limit.allow(r) {
		return nil
	}
	w.Header().Set("Retry-After", "60")
	s.log.Info("gate request refused: too many from one address", "path", r.URL.Path)
	return httperr.Errorf(http.StatusTooManyRequests, "too many tries from your address; try again in a minute")
}

// bundle finds bundle id: 404 if there is none, or if id is none the
// store could keep (store.ErrInvalid).
func (s *Server) bundle(ctx context.Context, id string) (store.Bundle, error) {
	b, err := s.cfg.Store.Bundle(ctx, id)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
		return store.Bundle{}, httperr.Errorf(http.StatusNotFound, "no bundle %q", id)
	}
	return b, err
}

// opens reports whether a session that unlocked gates may have a file
// behind gate: a payment opens email gates too.
func opens(unlocked []string, gate string) bool {
	for _, g := range unlocked {
		if g == gate || g == store.GatePrice {
			return true
		}
	}
	return gate == store.GateFree
}

// Access tells the player whether request r may read file path of the
// torrent ih in plain: (nil, nil) for a file of no bundle or a free one;
// its key for a gated file r's session unlocked; ErrLocked otherwise.
func (s *Server) Access(r *http.Request, ih infohash.Hash, path string) (*store.FileKey, error) {
	e, err := s.bundleOf(r.Context(), ih)
	if err != nil || e.b == nil {
		return nil, err
	}
	b := e.b
	var gate string
	for _, f := range b.Files {
		if f.Path == path {
			gate = f.Gate.Kind
		}
	}
	if rg := r.Header.Get("Range"); rg == "" || strings.HasPrefix(rg, "bytes=0-") {
		// A read from the start: a play or a download of the file.
		s.countPlay(r, b.ID, path)
	}
	if gate == "" || gate == store.GateFree {
		return nil, nil
	}
	unlocked, err := s.unlockedCached(r, b.ID, gate)
	if err != nil {
		return nil, err
	}
	if !opens(unlocked, gate) {
		return nil, ErrLocked
	}
	keys, err := s.keysOf(r.Context(), e)
	if err != nil {
		return nil, err
	}
	k, ok := keys[path]
	if !ok {
		return nil, fmt.Errorf("gate: bundle %s has no key for its gated file %q", b.ID, path)
	}
	return &k, nil
}

func (s *Server) unlocked(r *http.Request, id string) ([]string, error) {
	sess, ok := s.session(r)
	if !ok {
		return nil, nil
	}
	return s.cfg.Store.Unlocked(r.Context(), sess, id, s.cfg.Now())
}
