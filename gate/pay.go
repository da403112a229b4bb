package gate

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/seedcast/seedcast/httperr"
	"github.com/seedcast/seedcast/store"
)

// maxEventBytes bounds a webhook's body: Stripe's checkout events are a
// few KiB.
const maxEventBytes = 64 << 10

// price returns what unlocking b's price gate costs: the prices of its
// files behind one, added; false if none is.
func price(b store.Bundle) (store.Money, bool, error) {
	var sum store.Money
	found := false
	for _, f := range b.Files {
		if f.Gate.Kind != store.GatePrice {
			continue
		}
		if found && f.Gate.Price.Currency != sum.Currency {
			return store.Money{}, false, fmt.Errorf("bundle %s prices its files in %s and %s; give them one currency", b.ID, sum.Currency, f.Gate.Price.Currency)
		}
		sum.Currency = f.Gate.Price.Currency
		sum.Amount += f.Gate.Price.Amount
		found = true
	}
	return sum, found, nil
}

// serveCheckout starts the pay gate: POST /bundle/{id}/checkout makes a
// Stripe Checkout session for this viewer's session and sends the
// browser to it.
func (s *Server) serveCheckout(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	b, err := s.bundle(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	cost, ok, err := price(b)
	if err != nil {
		return err
	}
	if !ok {
		return httperr.Errorf(http.StatusBadRequest, "bundle %s has no file with a price", b.ID)
	}
	if s.cfg.Stripe == nil {
		return httperr.Errorf(http.StatusServiceUnavailable, "this node takes no payments (its artist has not set up --stripe-key)")
	}
	if err := s.limited(w, r); err != nil {
		return err
	}
	sess, err := s.ensureSession(w, r)
	if err != nil {
		return err
	}
	var opts []stripe.ClientOption
	if s.cfg.Stripe.APIBase != "" {
		opts = append(opts, stripe.WithBackends(stripe.NewBackendsWithConfig(&stripe.BackendConfig{URL: stripe.String(s.cfg.Stripe.APIBase)})))
	}
	sc := stripe.NewClient(s.cfg.Stripe.SecretKey, opts...)
	page := s.cfg.PublicURL + "/bundle/" + b.ID
	cs, err := sc.V1CheckoutSessions.Create(ctx, &stripe.CheckoutSessionCreateParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModePayment)),
		ClientReferenceID: stripe.String(sess),
		SuccessURL:        stripe.String(page + "?paid=1"),
		CancelURL:         stripe.String(page),
		Metadata:          map[string]string{"bundle": b.ID},
		LineItems: []*stripe.CheckoutSessionCreateLineItemParams{{
			Quantity: stripe.Int64(1),
			PriceData: &stripe.CheckoutSessionCreateLineItemPriceDataParams{
				Currency:    stripe.String(strings.ToLower(cost.Currency)),
				UnitAmount:  stripe.Int64(cost.Amount),
				ProductData: &stripe.CheckoutSessionCreateLineItemPriceDataProductDataParams{Name: stripe.String(b.Title + " by " + b.Artist)},
			},
		}},
	})
	if err != nil {
		s.log.Error("checkout", "bundle", b.ID, "err", err)
		return httperr.Errorf(http.StatusBadGateway, "the payment provider did not answer; try again in a minute")
	}
	s.log.Info("checkout started", "bundle", b.ID, "checkout", cs.ID)
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		return json.NewEncoder(w).Encode(struct {
			URL string `json:"url"`
		}{cs.URL})
	}
	http.Redirect(w, r, cs.URL, http.StatusSeeOther)
	return nil
}

// serveWebhook takes Stripe's signed events: a paid checkout of a
// bundle counts a backer and unlocks the bundle's price gate for the
// session the checkout was made for. An event whose signature does not
// verify, whose timestamp is over five minutes old, or that was seen
// before, unlocks nothing and is logged.
func (s *Server) serveWebhook(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Stripe == nil {
		return httperr.Errorf(http.StatusNotFound, "this node takes no payments")
	}
	payload, err := httperr.ReadBody(w, r, maxEventBytes)
	if err != nil {
		return err
	}
	ev, err := webhook.ConstructEventWithOptions(payload, r.Header.Get("Stripe-Signature"), s.cfg.Stripe.WebhookSecret,
		webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
	if err != nil {
		s.log.Warn("payment event refused", "remote", r.RemoteAddr, "err", err)
		return httperr.Errorf(http.StatusBadRequest, "event refused: %v", err)
	}
	switch ev.Type {
	case stripe.EventTypeCheckoutSessionCompleted, stripe.EventTypeCheckoutSessionAsyncPaymentSucceeded:
	default:
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	var cs stripe.CheckoutSession
	if ev.Data == nil {
		s.log.Warn("payment event refused", "event", ev.ID, "err", "no data")
		return httperr.Errorf(http.StatusBadRequest, "event %s has no data", ev.ID)
	}
	if err := json.Unmarshal(ev.Data.Raw, &cs); err != nil {
		s.log.Warn("payment event refused", "event", ev.ID, "err", err)
		return httperr.Errorf(http.StatusBadRequest, "event %s: its checkout session does not parse: %v", ev.ID, err)
	}
	if cs.PaymentStatus != stripe.CheckoutSessionPaymentStatusPaid {
		s.log.Info("checkout not paid yet", "event", ev.ID, "status", cs.PaymentStatus)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	id := cs.Metadata["bundle"]
	b, err := s.bundle(r.Context(), id)
	if err != nil {
		s.log.Warn("payment event for no bundle of this node", "event", ev.ID, "bundle", id)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	sess := cs.ClientReferenceID
	if raw, err := hex.DecodeString(sess); err != nil || len(raw) != sessionIDLen {
		sess = ""
	}
	paid := store.Money{Amount: cs.AmountTotal, Currency: strings.ToUpper(string(cs.Currency))}
	p := store.Payment{EventID: ev.ID, BundleID: b.ID, Money: paid, Session: sess, At: time.Unix(ev.Created, 0)}
	if cs.CustomerDetails != nil {
		p.Email = cs.CustomerDetails.Email
	}
	err = s.cfg.Store.RecordPayment(r.Context(), p)
	if errors.Is(err, store.ErrDuplicate) {
		s.log.Warn("payment event seen before: counted once", "event", ev.ID, "bundle", b.ID)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrMixedCurrency) {
		s.log.Warn("payment event refused", "event", ev.ID, "bundle", b.ID, "err", err)
		return httperr.Errorf(http.StatusBadRequest, "event %s: %v", ev.ID, err)
	}
	if err != nil {
		return err
	}
	cost, _, _ := price(b)
	switch {
	case sess == "":
		s.log.Warn("payment counted, but its checkout names no session to unlock", "event", ev.ID, "bundle", b.ID)
	case cost.Amount > 0 && (paid.Currency != cost.Currency || paid.Amount < cost.Amount):
		s.log.Warn("payment counted, but under the price: nothing unlocked", "event", ev.ID, "bundle", b.ID, "paid", paid.Amount, "price", cost.Amount)
	default:
		if err := s.grant(r.Context(), sess, b.ID, store.GatePrice); err != nil {
			return err
		}
		s.log.Info("price gate unlocked", "event", ev.ID, "bundle", b.ID)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
