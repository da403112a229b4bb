package gate

import (
	"context"
	"encoding/csv"
	"html/template"
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
// (the admin token): GET /admin, GET /api/admin/bundles and GET
// /admin/bundles/{id}/emails.csv.
func (s *Server) RegisterAdmin(mux *http.ServeMux, ledger Ledger, protect func(http.Handler) http.Handler) {
	s.ledger = ledger
	mux.Handle("GET /admin", protect(s.errs.Handler(s.serveAdmin)))
	mux.Handle("GET /api/admin/bundles", protect(s.errs.Handler(s.serveAdminJSON)))
	mux.Handle("GET /admin/bundles/{id}/emails.csv", protect(s.errs.Handler(s.serveEmailsCSV)))
}

func (s *Server) adminBundles(r *http.Request) ([]AdminBundle, error) {
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
	abs, err := s.adminBundles(r)
	if err != nil {
		return err
	}
	return writeJSON(w, abs)
}

var adminPage = template.Must(template.New("admin").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>seedcast: bundles</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border-bottom:1px solid #ddd;padding:.25rem .75rem;text-align:left}</style>
</head><body>
<h1>Bundles</h1>
{{range .}}
<section>
<h2>{{.Title}} <small>({{.ID}})</small></h2>
<p>{{len .Emails}} email addresses (<a href="/admin/bundles/{{.ID}}/emails.csv">CSV</a>), {{len .Payments}} payments{{with .Campaign}}, {{.Backers}} of {{.GoalBackers}} backers, {{.Pledged}} {{.Currency}} pledged{{end}}.
Unlocks: {{range $g, $n := .Unlocks}}{{$g}} {{$n}} {{else}}none{{end}}.</p>
<table><tr><th>file</th><th>gate</th><th>downloads</th></tr>
{{$d := .Downloads}}{{range .Files}}<tr><td>{{.Path}}</td><td>{{.Gate}} {{.Price}}</td><td>{{index $d .Path}}</td></tr>{{end}}</table>
{{if .Payments}}<table><tr><th>payment</th><th>amount</th><th>email</th><th>at</th></tr>
{{range .Payments}}<tr><td>{{.Event}}</td><td>{{.Amount}}</td><td>{{.Email}}</td><td>{{.At}}</td></tr>{{end}}</table>{{end}}
</section>
{{else}}<p>No bundle yet: make one with <code>seedcast bundle create</code>.</p>{{end}}
</body></html>
`))

func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) error {
	abs, err := s.adminBundles(r)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	return adminPage.Execute(w, abs)
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
