package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/seedcast/seedcast/gate"
	"github.com/seedcast/seedcast/infohash"
	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/web"
)

// gateFlags are serve's flags of bundles and their gates.
type gateFlags struct {
	DB                  string `name:"db" env:"SEEDCAST_DB" placeholder:"URL" help:"Where bundles, their keys, emails, payments and unlocks live: a postgres:// URL to share them between nodes (default: SQLite in --data)."`
	SMTP                string `name:"smtp" env:"SEEDCAST_SMTP" placeholder:"URL" help:"smtp://[USER:PASSWORD@]HOST:PORT?from=ADDRESS: an email gate mails a link to confirm the address before it unlocks (default: an address unlocks at once). Prefer the environment variable, which ps does not show."`
	StripeKey           string `name:"stripe-key" env:"SEEDCAST_STRIPE_KEY" placeholder:"KEY" help:"Stripe secret key (sk_...): price gates take payments through Stripe Checkout. Prefer the environment variable."`
	StripeWebhookSecret string `name:"stripe-webhook-secret" env:"SEEDCAST_STRIPE_WEBHOOK_SECRET" placeholder:"SECRET" help:"Signing secret (whsec_...) of the Stripe webhook endpoint PUBLIC-URL/webhooks/payment. Prefer the environment variable."`
	StripeAPI           string `name:"stripe-api" env:"SEEDCAST_STRIPE_API" hidden:"" help:"Stripe's API URL, for tests."`
}

// gateConfig is what the gate flags say.
type gateConfig struct {
	db     string
	smtp   *gate.SMTP
	stripe *gate.Stripe
}

// config checks the gate flags; its errors name the flag and never show
// a password or a key.
func (f gateFlags) config() (gateConfig, error) {
	gc := gateConfig{db: f.DB}
	if f.SMTP != "" {
		s, err := parseSMTP(f.SMTP)
		if err != nil {
			return gateConfig{}, fmt.Errorf("--smtp (SEEDCAST_SMTP): %w", err)
		}
		gc.smtp = s
	}
	switch {
	case f.StripeKey != "" && f.StripeWebhookSecret != "":
		gc.stripe = &gate.Stripe{SecretKey: f.StripeKey, WebhookSecret: f.StripeWebhookSecret, APIBase: f.StripeAPI}
	case f.StripeKey != "" || f.StripeWebhookSecret != "":
		return gateConfig{}, errors.New("give both --stripe-key (SEEDCAST_STRIPE_KEY) and --stripe-webhook-secret (SEEDCAST_STRIPE_WEBHOOK_SECRET): the node makes checkouts with the one and verifies their events with the other")
	}
	return gc, nil
}

// parseSMTP reads smtp://[USER:PASSWORD@]HOST:PORT?from=ADDRESS.
func parseSMTP(raw string) (*gate.SMTP, error) {
	const form = "want smtp://[USER:PASSWORD@]HOST:PORT?from=ADDRESS"
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("not a URL; %s", form)
	}
	if u.Scheme != "smtp" {
		return nil, fmt.Errorf("scheme %q; %s", u.Scheme, form)
	}
	if _, _, err := net.SplitHostPort(u.Host); err != nil {
		return nil, fmt.Errorf("no HOST:PORT; %s", form)
	}
	from := u.Query().Get("from")
	if from == "" || !strings.Contains(from, "@") {
		return nil, fmt.Errorf("no sender address (?from=); %s", form)
	}
	s := &gate.SMTP{Addr: u.Host, From: from}
	if u.User != nil {
		s.User = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	return s, nil
}

// openGates opens the node's store and its gates over it.
func openGates(ctx context.Context, gc gateConfig, dataDir, publicURL string, log *slog.Logger) (*store.Store, *gate.Server, error) {
	st, err := store.Open(ctx, gc.db, dataDir, log)
	if err != nil {
		return nil, nil, err
	}
	g, err := gate.New(gate.Config{Store: st, PublicURL: publicURL, Logger: log, SMTP: gc.smtp, Stripe: gc.stripe})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, g, nil
}

// playerGate is the player's question to the gates.
func playerGate(g *gate.Server) func(r *http.Request, ih infohash.Hash, path string) (*store.FileKey, bool, error) {
	return func(r *http.Request, ih infohash.Hash, path string) (*store.FileKey, bool, error) {
		k, err := g.Access(r, ih, path)
		if errors.Is(err, gate.ErrLocked) {
			return nil, true, nil
		}
		return k, false, err
	}
}

// webBundles shows the gates' bundles on the pages.
type webBundles struct{ g *gate.Server }

func (b webBundles) Bundle(r *http.Request, id string) (web.Bundle, error) {
	v, err := b.g.View(r, id)
	if err != nil {
		return web.Bundle{}, err
	}
	return toWeb(v), nil
}

func (b webBundles) BundleOf(r *http.Request, ih infohash.Hash) (web.Bundle, bool, error) {
	v, ok, err := b.g.ViewOf(r, ih)
	if err != nil || !ok {
		return web.Bundle{}, ok, err
	}
	return toWeb(v), true, nil
}

func (b webBundles) TitleOf(ctx context.Context, ih infohash.Hash) (id, title string, ok bool, err error) {
	return b.g.TitleOf(ctx, ih)
}

func toWeb(v gate.BundleJSON) web.Bundle {
	ih, _ := infohash.Parse(v.InfoHash)
	wb := web.Bundle{ID: v.ID, Title: v.Title, Artist: v.Artist, Description: v.Description, InfoHash: ih,
		Unlocked: v.Unlocked, Payments: v.Payments, Mail: v.Mail, Consent: gate.Consent}
	for _, f := range v.Files {
		wb.Files = append(wb.Files, web.BundleFile{Path: f.Path, Gate: f.Gate, Price: f.Price, Length: f.Length, Unlocked: f.Unlocked})
	}
	if c := v.Campaign; c != nil {
		wb.Campaign = &web.Campaign{Backers: c.Backers, GoalBackers: c.GoalBackers, Pledged: c.Pledged, Currency: c.Currency, Price: c.Price, Ends: c.Ends}
	}
	return wb
}

// webLedger shows the artist what the gates collected.
type webLedger struct{ g *gate.Server }

func (l webLedger) Ledger(r *http.Request) ([]web.LedgerBundle, error) {
	abs, err := l.g.AdminBundles(r)
	if err != nil {
		return nil, err
	}
	out := make([]web.LedgerBundle, 0, len(abs))
	for _, ab := range abs {
		lb := web.LedgerBundle{
			ID: ab.ID, Title: ab.Title, Emails: len(ab.Emails), Unlocks: ab.Unlocks,
			Campaign: toWeb(ab.BundleJSON).Campaign,
		}
		for _, e := range ab.Emails {
			if e.Confirmed {
				lb.Confirmed++
			}
		}
		for _, p := range ab.Payments {
			lb.Payments = append(lb.Payments, web.LedgerPayment{Event: p.Event, Amount: p.Amount, Email: p.Email, At: p.At})
		}
		for _, f := range ab.Files {
			lb.Files = append(lb.Files, web.LedgerFile{Path: f.Path, Gate: f.Gate, Price: f.Price, Downloads: ab.Downloads[f.Path]})
		}
		out = append(out, lb)
	}
	return out, nil
}
