package gate

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/seedcast/seedcast/bundle"
	"github.com/seedcast/seedcast/httperr"
	"github.com/seedcast/seedcast/infohash"
	"github.com/seedcast/seedcast/store"
)

// FileJSON is one file of a bundle in the API.
type FileJSON struct {
	Path   string `json:"path"`
	Gate   string `json:"gate"`
	Price  string `json:"price,omitempty"` // "9.95 USD" for a price gate
	Length int64  `json:"length"`
	// Unlocked is true when the request's session may play the file.
	Unlocked bool `json:"unlocked"`
}

// CampaignJSON is a bundle's campaign in the API, counted from confirmed
// payments only.
type CampaignJSON struct {
	Backers     int64  `json:"backers"`
	GoalBackers int64  `json:"goal_backers"`
	Pledged     string `json:"pledged"` // in major units, as "2487.50"
	Currency    string `json:"currency"`
	Price       string `json:"price"` // a backer's pledge, "9.95 USD"
	Ends        string `json:"ends,omitempty"`
}

// BundleJSON is a bundle in GET /api/bundles and /api/bundles/{id}, and
// what the bundle page shows.
type BundleJSON struct {
	ID          string        `json:"id"`
	Title       string        `json:"title"`
	Artist      string        `json:"artist"`
	Description string        `json:"description,omitempty"`
	InfoHash    string        `json:"infohash"`
	Poster      string        `json:"poster,omitempty"`
	Files       []FileJSON    `json:"files"`
	Campaign    *CampaignJSON `json:"campaign,omitempty"`
	// Unlocked lists the gates the request's session has opened.
	Unlocked []string `json:"unlocked"`
	// Payments and Mail say what the node offers: a checkout, and
	// confirmation mails.
	Payments bool `json:"payments"`
	Mail     bool `json:"mail"`
}

// View returns bundle id as the request r's session sees it.
func (s *Server) View(r *http.Request, id string) (BundleJSON, error) {
	b, err := s.bundle(r.Context(), id)
	if err != nil {
		return BundleJSON{}, err
	}
	unlocked, err := s.unlocked(r, b.ID)
	if err != nil {
		return BundleJSON{}, err
	}
	return s.describe(r.Context(), b, unlocked)
}

// TitleOf returns the id and title of the bundle of torrent ih, false if
// the torrent is no bundle. It reads what Access keeps for accessTTL, so
// that a library of many torrents costs no query per torrent per view.
func (s *Server) TitleOf(ctx context.Context, ih infohash.Hash) (id, title string, ok bool, err error) {
	e, err := s.bundleOf(ctx, ih)
	if err != nil || e.b == nil {
		return "", "", false, err
	}
	return e.b.ID, e.b.Title, true, nil
}

// ViewOf returns the bundle of torrent ih as r's session sees it; false
// if the torrent is no bundle.
func (s *Server) ViewOf(r *http.Request, ih infohash.Hash) (BundleJSON, bool, error) {
	b, err := s.cfg.Store.BundleByInfoHash(r.Context(), ih)
	if errors.Is(err, store.ErrNotFound) {
		return BundleJSON{}, false, nil
	}
	if err != nil {
		return BundleJSON{}, false, err
	}
	unlocked, err := s.unlocked(r, b.ID)
	if err != nil {
		return BundleJSON{}, false, err
	}
	bj, err := s.describe(r.Context(), b, unlocked)
	return bj, err == nil, err
}

func (s *Server) describe(ctx context.Context, b store.Bundle, unlocked []string) (BundleJSON, error) {
	out := BundleJSON{ID: b.ID, Title: b.Title, Artist: b.Artist, Description: b.Description, InfoHash: b.InfoHash.String(),
		Poster: b.Poster, Unlocked: unlocked, Payments: s.cfg.Stripe != nil, Mail: s.mail != nil}
	if out.Unlocked == nil {
		out.Unlocked = []string{}
	}
	for _, f := range b.Files {
		fj := FileJSON{Path: f.Path, Gate: f.Gate.Kind, Length: f.Length, Unlocked: opens(unlocked, f.Gate.Kind)}
		if f.Gate.Kind == store.GatePrice {
			fj.Price = bundle.FormatMoney(f.Gate.Price)
		}
		out.Files = append(out.Files, fj)
	}
	if c := b.Campaign; c != nil {
		t, err := s.cfg.Store.Totals(ctx, b.ID)
		if err != nil {
			return BundleJSON{}, err
		}
		cur := t.Pledged.Currency
		if cur == "" {
			cur = c.Price.Currency
		}
		out.Campaign = &CampaignJSON{Backers: t.Backers, GoalBackers: c.GoalBackers, Currency: cur,
			Pledged: bundle.FormatAmount(store.Money{Amount: t.Pledged.Amount, Currency: cur}),
			Price:   bundle.FormatMoney(c.Price)}
		if !c.Ends.IsZero() {
			out.Campaign.Ends = c.Ends.UTC().Format(time.RFC3339)
		}
	}
	return out, nil
}

func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	return json.NewEncoder(w).Encode(v)
}

func (s *Server) serveList(w http.ResponseWriter, r *http.Request) error {
	bs, err := s.cfg.Store.Bundles(r.Context())
	if err != nil {
		return err
	}
	out := []BundleJSON{}
	for _, b := range bs {
		unlocked, err := s.unlocked(r, b.ID)
		if err != nil {
			return err
		}
		bj, err := s.describe(r.Context(), b, unlocked)
		if err != nil {
			return err
		}
		out = append(out, bj)
	}
	return writeJSON(w, out)
}

func (s *Server) serveOne(w http.ResponseWriter, r *http.Request) error {
	bj, err := s.View(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, bj)
}

// serveKeys gives the request's session the keys of the files it
// unlocked, as a key file (bundle.KeyFile): 403 if it unlocked none.
func (s *Server) serveKeys(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	b, err := s.bundle(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	unlocked, err := s.unlocked(r, b.ID)
	if err != nil {
		return err
	}
	if len(unlocked) == 0 {
		return httperr.Errorf(http.StatusForbidden, "unlock the bundle first: its page shows what each file needs")
	}
	keys, err := s.cfg.Store.Keys(ctx, b.ID)
	if err != nil {
		return err
	}
	// The key file `seedcast unlock` takes, of the files the session
	// opened.
	open := b
	open.Files = nil
	for _, f := range b.Files {
		if f.Gate.Kind != store.GateFree && opens(unlocked, f.Gate.Kind) {
			open.Files = append(open.Files, f)
		}
	}
	kf, err := bundle.NewKeyFile(open, keys)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+b.ID+`.keys.json"`)
	return writeJSON(w, kf)
}
