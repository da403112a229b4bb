package web

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fakeLedger is the artist's figures for one bundle, or none, or an
// error.
type fakeLedger struct {
	bundles []LedgerBundle
	err     error
}

func (l fakeLedger) Ledger(*http.Request) ([]LedgerBundle, error) { return l.bundles, l.err }

// TestAdminPage: the artist's page shows each bundle's figures in the
// site's layout, escapes what viewers typed, is neither cached nor
// framed, and says how to make a bundle when there is none.
func TestAdminPage(t *testing.T) {
	s, err := newServer(Config{Library: testLibrary(t), PublicURL: "http://node.test/", Logger: slog.New(slog.DiscardHandler)}, testDist())
	if err != nil {
		t.Fatal(err)
	}
	full := fakeLedger{bundles: []LedgerBundle{{
		ID: "night-train", Title: "Night <Train>", Emails: 2, Confirmed: 1,
		Payments: []LedgerPayment{{Event: "evt_1", Amount: "9.95 USD", Email: "<b>fan</b>@example.org", At: "2026-12-01T02:00:00Z"}},
		Campaign: &Campaign{Backers: 1, GoalBackers: 250000, Pledged: "9.95", Currency: "USD", Price: "9.95 USD"},
		Unlocks:  map[string]int{"email": 2, "price": 1},
		Files: []LedgerFile{
			{Path: "Night Train/trailer.mp4", Gate: "free", Downloads: 7},
			{Path: "Night Train/finale.mp4", Gate: "price", Price: "9.95 USD", Downloads: 1},
		},
	}}}
	for _, c := range []struct {
		name   string
		ledger fakeLedger
		code   int
		want   []string
	}{
		{"a bundle", full, http.StatusOK, []string{
			`Night &lt;Train&gt;`, `2 email addresses (1 confirmed)`, `1 payment`, `email 2 price 1`,
			`href="/admin/bundles/night-train/emails.csv"`, `<progress max="250000" value="1">0.0 %</progress>`, `<strong>1</strong> of 250000 backers`,
			`<td class="path">Night Train/trailer.mp4</td><td>free</td><td class="num">7</td>`, `<td>9.95 USD</td><td class="num">1</td>`,
			`&lt;b&gt;fan&lt;/b&gt;@example.org`, `href="/bundle/night-train"`, `stylesheet`,
		}},
		{"none", fakeLedger{bundles: []LedgerBundle{}}, http.StatusOK, []string{`No bundle yet`, `seedcast bundle create`}},
		{"the store fails", fakeLedger{err: errors.New("database gone")}, http.StatusInternalServerError, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.Admin(c.ledger).ServeHTTP(rec, httptest.NewRequest("GET", "/admin", nil))
			body := rec.Body.String()
			if rec.Code != c.code {
				t.Fatalf("GET /admin: %d, want %d: %s", rec.Code, c.code, body)
			}
			for _, want := range c.want {
				if !strings.Contains(body, want) {
					t.Errorf("the artist's page lacks %q", want)
				}
			}
			if strings.Contains(body, "database gone") {
				t.Errorf("the store's error reached the page")
			}
			h := rec.Header()
			if c.code == http.StatusOK && (h.Get("Cache-Control") != "no-store" || !strings.HasSuffix(h.Get("Content-Security-Policy"), "frame-ancestors 'none'")) {
				t.Errorf("headers: Cache-Control %q, CSP %q; want no-store and frame-ancestors 'none'", h.Get("Cache-Control"), h.Get("Content-Security-Policy"))
			}
		})
	}
}
