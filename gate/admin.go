package gate

import (
	"context"
	"encoding/csv"
	"net/http"
	"strconv"
	"time"

	"github.com/seedcast/seedcast/bundle"
	"github.com/seedcast/seedcast/store"
)

// The artist's view: what each bundle's gates collected. Its routes are
// the admin API's, behind its token (Register's protect).

// Ledger is what the gates of one bundle collected, from the store.
type Ledger interface {
	Emails(ctx context.Context, bundleID string) ([]store.Email, error)
	Payments(ctx context.Context, bundleID string) ([]store.Payment, error)
	Unlocks(ctx context.Context, bundleID string) ([]store.Unlock, error)
	Downloads(ctx context.Context, bundleID string) (map[string]int64, error)
}

// AdminBundle is one bundle in the artist's view.
type AdminBundle struct {
	BundleJSON
	Emails    []AdminEmail     `json:"emails"`
	Payments  []AdminPayment   `json:"payments"`
	Unlocks   map[string]int   `json:"unlocks"` // by gate
	Downloads map[string]int64 `json:"downloads"`
}

// AdminEmail is an address an email gate collected.
type AdminEmail struct {
	Address   string `json:"address"`
	ConsentAt string `json:"consent_at"`
	Confirmed bool   `json:"confirmed"`
}

// AdminPayment is a confirmed payment.
type AdminPayment struct {
	Event  string `json:"event"`
	Amount string `json:"amount"`
	Email  string `json:"email,omitempty"`
	At     string `json:"at"`
}

// RegisterAdmin adds the artist's view to mux, each route behind protect
// (the admin token): GET /api/admin/bundles and GET
// /admin/bundles/{id}/emails.csv. The page at /admin is web's, drawn
// from AdminBundles.
func (s *Server) RegisterAdmin(mux *http.ServeMux, ledger Ledger, protect func(http.Handler) http.Handler) {
	s.ledger = ledger
	mux.Handle("GET /api/admin/bundles", protect(s.errs.Handler(s.serveAdminJSON)))
	mux.Handle("GET /admin/bundles/{id}/emails.csv", protect(s.errs.Handler(s.serveEmailsCSV)))
}

// AdminBundles returns every bundle with what its gates collected, for
// the artist: addresses included. RegisterAdmin must have been called.
func (s *Server) AdminBundles(r *http.Request) ([]AdminBundle, error) {
	ctx := r.Context()
	bs, err := s.cfg.Store.Bundles(ctx)
	if err != nil {
		return nil, err
	}
	out := []AdminBundle{}
	for _, b := range bs {
		bj, err := s.describe(ctx, b, nil)
		if err != nil {
			return nil, err
		}
		ab := AdminBundle{BundleJSON: bj, Unlocks: map[string]int{}}
		emails, err := s.ledger.Emails(ctx, b.ID)
		if err != nil {
			return nil, err
		}
		for _, e := range emails {
			ab.Emails = append(ab.Emails, AdminEmail{Address: e.Address, ConsentAt: e.ConsentAt.UTC().Format(time.RFC3339), Confirmed: e.Confirmed})
		}
		pays, err := s.ledger.Payments(ctx, b.ID)
		if err != nil {
			return nil, err
		}
		for _, p := range pays {
			ab.Payments = append(ab.Payments, AdminPayment{Event: p.EventID, Amount: bundle.FormatMoney(p.Money), Email: p.Email, At: p.At.UTC().Format(time.RFC3339)})
		}
		unlocks, err := s.ledger.Unlocks(ctx, b.ID)
		if err != nil {
			return nil, err
		}
		for _, u := range unlocks {
			ab.Unlocks[u.Gate]++
		}
		if ab.Downloads, err = s.ledger.Downloads(ctx, b.ID); err != nil {
			return nil, err
		}
		out = append(out, ab)
	}
	return out, nil
}

func (s *Server) serveAdminJSON(w http.ResponseWriter, r *http.Request) error {
	abs, err := s.AdminBundles(r)
	if err != nil {
		return err
	}
	return writeJSON(w, abs)
}

// serveEmailsCSV exports the addresses an email gate collected, with
// when and to what their owners consented.
func (s *Server) serveEmailsCSV(w http.ResponseWriter, r *http.Request) error {
	b, err := s.bundle(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	emails, err := s.ledger.Emails(r.Context(), b.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+b.ID+`-emails.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	cw.Write([]string{"email", "consent_at", "confirmed", "consent"})
	for _, e := range emails {
		// A cell a spreadsheet would run as a formula is quoted as text.
		cw.Write([]string{csvCell(e.Address), e.ConsentAt.UTC().Format(time.RFC3339), strconv.FormatBool(e.Confirmed), csvCell(e.Consent)})
	}
	cw.Flush()
	return cw.Error()
}

// csvCell keeps a cell from being read as a formula (CSV injection).
func csvCell(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@') {
		return "'" + s
	}
	return s
}
