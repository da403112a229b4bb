package main

import (
	"strings"
	"testing"
)

// TestGateFlags checks the gate flags' wiring: --smtp's URL, both Stripe
// secrets or neither, and errors that name the flag and show no
// password.
func TestGateFlags(t *testing.T) {
	gc, err := gateFlags{SMTP: "smtp://artist:hunter2@mail.example.org:587?from=news@example.org"}.config()
	if err != nil {
		t.Fatal(err)
	}
	if s := gc.smtp; s == nil || s.Addr != "mail.example.org:587" || s.From != "news@example.org" || s.User != "artist" || s.Password != "hunter2" {
		t.Errorf("--smtp: %+v", gc.smtp)
	}
	if gc.stripe != nil {
		t.Errorf("no Stripe flags, yet %+v", gc.stripe)
	}
	gc, err = gateFlags{StripeKey: "sk_test_1", StripeWebhookSecret: "whsec_1", DB: "postgres://h/db"}.config()
	if err != nil || gc.stripe == nil || gc.stripe.SecretKey != "sk_test_1" || gc.stripe.WebhookSecret != "whsec_1" || gc.db != "postgres://h/db" {
		t.Errorf("Stripe and --db: %+v, %v", gc, err)
	}
	for _, bad := range []gateFlags{
		{SMTP: "http://artist:hunter2@mail.example.org:587?from=a@b.org"},
		{SMTP: "smtp://artist:hunter2@mail.example.org?from=a@b.org"},
		{SMTP: "smtp://artist:hunter2@mail.example.org:25"},
		{SMTP: "smtp://artist:hunter2@mail.example.org:25?from=nobody"},
		{StripeKey: "sk_test_1"},
		{StripeWebhookSecret: "whsec_1"},
	} {
		_, err := bad.config()
		if err == nil {
			t.Errorf("%+v: no error", bad)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "sk_test_1") || strings.Contains(err.Error(), "whsec_1") {
			t.Errorf("%+v: the error shows a secret: %v", bad, err)
		}
		if !strings.Contains(err.Error(), "--smtp") && !strings.Contains(err.Error(), "--stripe") {
			t.Errorf("%+v: the error names no flag: %v", bad, err)
		}
	}
}
