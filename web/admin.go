package web

import (
	"net/http"
)

// The artist's page: what the gates of each bundle collected, with the
// site's look. Its route, GET /admin, belongs behind the node's admin
// token, so the caller registers the handler Admin returns where it
// keeps that token.

// Ledger gives the artist's page its figures.
type Ledger interface {
	// Ledger returns every bundle of the node with what its gates
	// collected.
	Ledger(r *http.Request) ([]LedgerBundle, error)
}

// LedgerBundle is one bundle on the artist's page.
type LedgerBundle struct {
	ID, Title string
	// Emails counts the addresses an email gate collected, Confirmed
	// those confirmed by mail; /admin/bundles/{id}/emails.csv exports
	// them.
	Emails, Confirmed int
	Payments          []LedgerPayment
	Campaign          *Campaign
	// Unlocks counts the sessions that opened each gate.
	Unlocks map[string]int
	Files   []LedgerFile
}

// LedgerFile is one file of a bundle with its plays.
type LedgerFile struct {
	Path, Gate, Price string
	// Downloads counts viewers who played or downloaded it, each once an
	// hour.
	Downloads int64
}

// LedgerPayment is one confirmed payment.
type LedgerPayment struct {
	Event, Amount, Email, At string
}

// adminView is the artist's page.
type adminView struct {
	Title   string
	Bundles []LedgerBundle
}

// Admin returns the handler of the artist's page over l. It shows
// addresses: the caller must put it behind the admin token.
func (s *Server) Admin(l Ledger) http.Handler {
	return s.page(func(w http.ResponseWriter, r *http.Request) error {
		bs, err := l.Ledger(r)
		if err != nil {
			return err
		}
		// Addresses and payments: kept by no cache, framed by no page.
		w.Header().Set("Cache-Control", "no-store")
		return s.render(w, http.StatusOK, "admin", "'none'", adminView{Title: "Your bundles", Bundles: bs})
	})
}
