package gate

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/seedcast/seedcast/store"
)

// FuzzWebhook feeds the payment webhook events of any shape, signed with
// the node's secret so that they reach the parsing behind the signature:
// it answers 204 or 400, never fails otherwise, and an event it refuses
// counts no payment.
func FuzzWebhook(f *testing.F) {
	now := time.Now()
	f.Add(event("evt_1", "0123456789abcdef0123456789abcdef", 995, now), true)
	f.Add([]byte(`{"id":"evt_2","type":"checkout.session.completed","data":{"object":{"payment_status":"paid","metadata":{"bundle":"x"}}}}`), true)
	f.Add([]byte(`{"type":"checkout.session.completed","data":{"object":"nope"}}`), true)
	f.Add([]byte(`not json`), false)
	st, err := store.Open(f.Context(), "", f.TempDir(), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	b, keys := pilot()
	if err := st.PutBundle(f.Context(), b, keys); err != nil {
		f.Fatal(err)
	}
	srv, err := New(Config{Store: st, PublicURL: "http://node.test", Stripe: &Stripe{SecretKey: "sk_test_0", WebhookSecret: webhookSecret}})
	if err != nil {
		f.Fatal(err)
	}
	mux := http.NewServeMux()
	srv.Register(mux)
	f.Fuzz(func(t *testing.T, payload []byte, signed bool) {
		before, err := st.Totals(t.Context(), b.ID)
		if err != nil {
			t.Fatal(err)
		}
		sig := "t=1,v1=00"
		if signed {
			sig = webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: webhookSecret, Timestamp: time.Now()}).Header
		}
		req := httptest.NewRequest("POST", "/webhooks/payment", bytes.NewReader(payload))
		req.Header.Set("Stripe-Signature", sig)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != http.StatusNoContent && rec.Code != http.StatusBadRequest && rec.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("answered %d %s to %q", rec.Code, rec.Body, payload)
		}
		after, err := st.Totals(t.Context(), b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Code != http.StatusNoContent && after != before {
			t.Fatalf("a refused event (%d) moved the totals from %+v to %+v", rec.Code, before, after)
		}
		if !signed && after != before {
			t.Fatalf("an unsigned event moved the totals")
		}
	})
}
