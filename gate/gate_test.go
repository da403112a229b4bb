package gate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"
	"go.uber.org/goleak"

	"github.com/seedcast/seedcast/bundle"
	"github.com/seedcast/seedcast/e2e/testnet"
	"github.com/seedcast/seedcast/infohash"
	"github.com/seedcast/seedcast/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const webhookSecret = "whsec_test_0123456789"

// pilot is the bundle of the tests: a free pilot, an episode behind an
// email, one behind a price, and a campaign.
func pilot() (store.Bundle, map[string]store.FileKey) {
	b := store.Bundle{
		ID: "children-of-the-machine", Title: "Children of the Machine", Artist: "Tommy Pallotta",
		InfoHash: infohash.Hash{1, 2, 3},
		Files: []store.BundleFile{
			{Path: "com/01-pilot.mp4", Gate: store.Gate{Kind: store.GateFree}, Length: 1000},
			{Path: "com/02-episode.mp4", Gate: store.Gate{Kind: store.GateEmail}, Length: 2000},
			{Path: "com/03-finale.mp4", Gate: store.Gate{Kind: store.GatePrice, Price: store.Money{Amount: 995, Currency: "USD"}}, Length: 3000},
		},
		Campaign: &store.Campaign{GoalBackers: 250_000, Price: store.Money{Amount: 995, Currency: "USD"}},
	}
	keys := map[string]store.FileKey{
		"com/02-episode.mp4": {Key: [32]byte{2}, IV: [16]byte{2}},
		"com/03-finale.mp4":  {Key: [32]byte{3}, IV: [16]byte{3}},
	}
	return b, keys
}

// node is a gate server on a store of one backend, with a viewer's
// browser (a cookie jar that follows no redirect).
type node struct {
	st   *store.Store
	srv  *Server
	url  string
	logs *testnet.Buffer
	// checkouts are what the Stripe stand-in was asked to make.
	checkouts chan url.Values
}

// newNode serves a gate over st (a fresh store of one backend) with the
// pilot bundle, a Stripe stand-in for checkouts and smtp if not nil.
func newNode(t *testing.T, st *store.Store, smtp *SMTP) *node {
	t.Helper()
	b, keys := pilot()
	if err := st.PutBundle(t.Context(), b, keys); err != nil {
		t.Fatal(err)
	}
	n := &node{st: st, logs: &testnet.Buffer{}, checkouts: make(chan url.Values, 4)}
	// No payment provider is reachable from here: checkouts go to a
	// stand-in for Stripe's one endpoint they use, which answers as the
	// API documents. Webhooks are real: signed with the test secret.
	stripeAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || r.URL.Path != "/v1/checkout/sessions" || !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer sk_test_") {
			http.Error(w, `{"error":{"message":"unexpected request"}}`, http.StatusBadRequest)
			return
		}
		r.ParseForm()
		n.checkouts <- r.PostForm
		fmt.Fprintf(w, `{"id":"cs_test_1","object":"checkout.session","url":"https://checkout.stripe.com/c/pay/cs_test_1","client_reference_id":%q}`, r.PostForm.Get("client_reference_id"))
	}))
	t.Cleanup(stripeAPI.Close)
	srv, err := New(Config{
		Store:     st,
		PublicURL: "http://node.test",
		Logger:    slog.New(slog.NewTextHandler(n.logs, nil)),
		SMTP:      smtp,
		Stripe:    &Stripe{SecretKey: "sk_test_0000", WebhookSecret: webhookSecret, APIBase: stripeAPI.URL},
	})
	if err != nil {
		t.Fatal(err)
	}
	n.srv = srv
	mux := http.NewServeMux()
	srv.Register(mux)
	mux.HandleFunc("GET /access/{ih}/{path...}", func(w http.ResponseWriter, r *http.Request) {
		ih, _ := infohash.Parse(r.PathValue("ih"))
		k, err := srv.Access(r, ih, r.PathValue("path"))
		switch {
		case errors.Is(err, ErrLocked):
			http.Error(w, "locked", http.StatusForbidden)
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		case k == nil:
			fmt.Fprint(w, "plain")
		default:
			fmt.Fprintf(w, "key %x", k.Key[:1])
		}
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	n.url = ts.URL
	return n
}

// viewer is a browser: cookies kept, redirects not followed.
func viewer(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func do(t *testing.T, c *http.Client, method, u string, body io.Reader, header ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

func postForm(t *testing.T, c *http.Client, u string, form url.Values) (int, string, http.Header) {
	t.Helper()
	return do(t, c, "POST", u, strings.NewReader(form.Encode()), "Content-Type", "application/x-www-form-urlencoded")
}

// access asks the player's question for each file of the pilot.
func (n *node) access(t *testing.T, c *http.Client) []string {
	t.Helper()
	b, _ := pilot()
	var out []string
	for _, f := range b.Files {
		_, body, _ := do(t, c, "GET", n.url+"/access/"+b.InfoHash.String()+"/"+f.Path, nil)
		out = append(out, strings.TrimSpace(body))
	}
	return out
}

func (n *node) keys(t *testing.T, c *http.Client) (int, bundle.KeyFile) {
	t.Helper()
	code, body, _ := do(t, c, "GET", n.url+"/api/bundles/children-of-the-machine/keys", nil)
	var k bundle.KeyFile
	if code == http.StatusOK {
		if err := json.Unmarshal([]byte(body), &k); err != nil {
			t.Fatalf("keys: %v in %s", err, body)
		}
	}
	return code, k
}

func (n *node) view(t *testing.T, c *http.Client) BundleJSON {
	t.Helper()
	code, body, _ := do(t, c, "GET", n.url+"/api/bundles/children-of-the-machine", nil)
	var b BundleJSON
	if code != http.StatusOK || json.Unmarshal([]byte(body), &b) != nil {
		t.Fatalf("GET /api/bundles/{id}: %d %s", code, body)
	}
	return b
}

// backends opens a fresh store of each kind for run.
func backends(t *testing.T, run func(t *testing.T, st *store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := store.Open(t.Context(), "", t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		run(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		st, err := store.Open(t.Context(), testnet.StartPostgres(t), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		run(t, st)
	})
}

// TestEmailGate: an address and the box unlock the episode behind the
// email at once (no --smtp), for that browser only; the keys it gets are
// that episode's, not the finale's behind the price.
func TestEmailGate(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		n := newNode(t, st, nil)
		fan, other := viewer(t), viewer(t)
		if got := n.access(t, fan); !equal(got, "plain", "locked", "locked") {
			t.Errorf("before the gate: %v", got)
		}
		if code, _ := n.keys(t, fan); code != http.StatusForbidden {
			t.Errorf("keys before the gate: %d, want 403", code)
		}
		for _, bad := range []url.Values{
			{"email": {"fan@example.org"}},
			{"email": {"not an address"}, "consent": {"yes"}},
			{"email": {"Fan <fan@example.org>"}, "consent": {"yes"}},
			{"email": {strings.Repeat("a", 250) + "@example.org"}, "consent": {"yes"}},
			{"email": {"fan@example.org\r\nBcc: x@example.org"}, "consent": {"yes"}},
		} {
			if code, body, _ := postForm(t, fan, n.url+"/bundle/children-of-the-machine/unlock", bad); code != http.StatusBadRequest {
				t.Errorf("unlock with %v: %d %s, want 400", bad, code, body)
			}
		}
		code, _, h := postForm(t, fan, n.url+"/bundle/children-of-the-machine/unlock", url.Values{"email": {"fan@example.org"}, "consent": {"yes"}})
		if code != http.StatusSeeOther || h.Get("Location") != "/bundle/children-of-the-machine?unlocked=1" {
			t.Fatalf("unlock: %d to %q, want 303 to the bundle page", code, h.Get("Location"))
		}
		if got := n.access(t, fan); !equal(got, "plain", "key 02", "locked") {
			t.Errorf("after the email gate: %v", got)
		}
		code, k := n.keys(t, fan)
		want := append([]byte{2}, make([]byte, 31)...)
		if code != http.StatusOK || len(k.Files) != 1 || !bytes.Equal(k.Files["com/02-episode.mp4"].Key, want) || k.InfoHash != (infohash.Hash{1, 2, 3}) {
			t.Errorf("keys after the email gate: %d %+v", code, k)
		}
		if v := n.view(t, fan); !equal(v.Unlocked, "email") || !v.Files[1].Unlocked || v.Files[2].Unlocked {
			t.Errorf("the fan's view: %+v", v)
		}
		if got := n.access(t, other); !equal(got, "plain", "locked", "locked") {
			t.Errorf("another browser: %v", got)
		}
		for _, id := range []string{"nope", "Not_An-ID", strings.Repeat("a", 65)} {
			if code, _, _ := do(t, fan, "GET", n.url+"/api/bundles/"+id, nil); code != http.StatusNotFound {
				t.Errorf("GET /api/bundles/%s: %d, want 404", id, code)
			}
		}
		emails, err := st.Emails(t.Context(), "children-of-the-machine")
		if err != nil || len(emails) != 1 || emails[0].Address != "fan@example.org" || emails[0].Consent != Consent || !emails[0].Confirmed {
			t.Errorf("emails kept: %+v, %v", emails, err)
		}
		if strings.Contains(n.logs.String(), "fan@example.org") {
			t.Errorf("an address reached the log: %s", n.logs.String())
		}
	})
}

// TestEmailGateConfirmed: with --smtp, an address unlocks once the link
// of the mail a real SMTP server received is opened.
func TestEmailGateConfirmed(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		smtp := testnet.StartSMTP(t)
		n := newNode(t, st, &SMTP{Addr: smtp.Addr, From: "artist@node.test"})
		fan := viewer(t)
		code, body, _ := do(t, fan, "POST", n.url+"/bundle/children-of-the-machine/unlock",
			strings.NewReader(url.Values{"email": {"fan@example.org"}, "consent": {"yes"}}.Encode()),
			"Content-Type", "application/x-www-form-urlencoded", "Accept", "application/json")
		if code != http.StatusOK || !strings.Contains(body, `"sent":true`) {
			t.Fatalf("unlock: %d %s", code, body)
		}
		if got := n.access(t, fan); !equal(got, "plain", "locked", "locked") {
			t.Errorf("before the confirmation: %v", got)
		}
		link := regexp.MustCompile(`http://node\.test(/bundle/children-of-the-machine/confirm\?token=[A-Za-z0-9_%-]+)`)
		var path string
		err := testnet.WaitFor(10*time.Second, func() error {
			m := link.FindStringSubmatch(smtp.Mails())
			if m == nil {
				return fmt.Errorf("no confirmation link among the mails: %q", smtp.Mails())
			}
			path = m[1]
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(smtp.Mails(), "fan@example.org") || !strings.Contains(smtp.Mails(), "Subject: Confirm your address for Children of the Machine") {
			t.Errorf("the mail: %s", smtp.Mails())
		}
		if code, _, _ := do(t, fan, "GET", n.url+"/bundle/children-of-the-machine/confirm?token=wrong", nil); code != http.StatusNotFound {
			t.Errorf("a wrong token: %d, want 404", code)
		}
		if code, _, _ := do(t, fan, "GET", n.url+path, nil); code != http.StatusSeeOther {
			t.Errorf("the link: %d, want 303", code)
		}
		if got := n.access(t, fan); !equal(got, "plain", "key 02", "locked") {
			t.Errorf("after the confirmation: %v", got)
		}
	})
}

// event is a Stripe event of a paid checkout of the pilot for session.
func event(id, session string, amount int64, created time.Time) []byte {
	return fmt.Appendf(nil, `{"id":%q,"object":"event","api_version":"2020-08-27","created":%d,"type":"checkout.session.completed",`+
		`"data":{"object":{"id":"cs_test_1","object":"checkout.session","payment_status":"paid","client_reference_id":%q,`+
		`"metadata":{"bundle":"children-of-the-machine"},"amount_total":%d,"currency":"usd","customer_details":{"email":"backer@example.org"}}}}`,
		id, created.Unix(), session, amount)
}

func (n *node) webhook(t *testing.T, payload []byte, secret string, at time.Time) int {
	t.Helper()
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: at})
	code, _, _ := do(t, http.DefaultClient, "POST", n.url+"/webhooks/payment", bytes.NewReader(payload), "Stripe-Signature", sp.Header, "Content-Type", "application/json")
	return code
}

// TestPayGate: a checkout names the viewer's session; a signed event of
// its payment unlocks the finale (and the episode) for that session,
// moves the meter by one backer and the price, and survives a restart of
// the server; a bad signature, a stale event and a replay unlock nothing
// and are logged.
func TestPayGate(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		n := newNode(t, st, nil)
		fan := viewer(t)
		// The fan opened the email gate first, and played the episode
		// (Access keeps that unlock): paying must open the rest at once.
		if code, body, _ := postForm(t, fan, n.url+"/bundle/children-of-the-machine/unlock", url.Values{"email": {"fan@example.org"}, "consent": {"yes"}}); code != http.StatusSeeOther {
			t.Fatalf("unlock: %d %s", code, body)
		}
		if got := n.access(t, fan); !equal(got, "plain", "key 02", "locked") {
			t.Errorf("after the email gate: %v", got)
		}
		code, _, h := do(t, fan, "POST", n.url+"/bundle/children-of-the-machine/checkout", nil)
		if code != http.StatusSeeOther || h.Get("Location") != "https://checkout.stripe.com/c/pay/cs_test_1" {
			t.Fatalf("checkout: %d to %q", code, h.Get("Location"))
		}
		var form url.Values
		select {
		case form = <-n.checkouts:
		case <-time.After(5 * time.Second):
			t.Fatal("no checkout was made")
		}
		session := form.Get("client_reference_id")
		if form.Get("line_items[0][price_data][unit_amount]") != "995" || form.Get("line_items[0][price_data][currency]") != "usd" ||
			form.Get("metadata[bundle]") != "children-of-the-machine" || len(session) != 32 || form.Get("mode") != "payment" {
			t.Errorf("checkout asked: %v", form)
		}

		now := time.Now()
		for _, bad := range []struct {
			name    string
			payload []byte
			secret  string
			at      time.Time
		}{
			{"wrong secret", event("evt_bad", session, 995, now), "whsec_wrong", now},
			{"stale", event("evt_stale", session, 995, now.Add(-10*time.Minute)), webhookSecret, now.Add(-10 * time.Minute)},
		} {
			if code := n.webhook(t, bad.payload, bad.secret, bad.at); code != http.StatusBadRequest {
				t.Errorf("%s: %d, want 400", bad.name, code)
			}
		}
		// A signature over other bytes.
		sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: event("evt_x", session, 1, now), Secret: webhookSecret, Timestamp: now})
		if code, _, _ := do(t, http.DefaultClient, "POST", n.url+"/webhooks/payment", bytes.NewReader(event("evt_x", session, 995, now)), "Stripe-Signature", sp.Header); code != http.StatusBadRequest {
			t.Errorf("tampered: %d, want 400", code)
		}
		if got := n.access(t, fan); !equal(got, "plain", "key 02", "locked") {
			t.Errorf("after refused events: %v", got)
		}
		if c := n.view(t, fan).Campaign; c == nil || c.Backers != 0 || c.Pledged != "0.00" {
			t.Errorf("the meter after refused events: %+v", c)
		}
		if refused := strings.Count(n.logs.String(), "payment event refused"); refused != 3 {
			t.Errorf("%d refused events logged, want 3: %s", refused, n.logs.String())
		}

		if code := n.webhook(t, event("evt_paid", session, 995, now), webhookSecret, now); code != http.StatusNoContent {
			t.Fatalf("the payment's event: %d, want 204", code)
		}
		if got := n.access(t, fan); !equal(got, "plain", "key 02", "key 03") {
			t.Errorf("after the payment: %v", got)
		}
		c := n.view(t, fan).Campaign
		if c == nil || c.Backers != 1 || c.Pledged != "9.95" || c.Currency != "USD" || c.GoalBackers != 250_000 {
			t.Errorf("the meter after the payment: %+v", c)
		}
		if code := n.webhook(t, event("evt_paid", session, 995, now), webhookSecret, now); code != http.StatusNoContent {
			t.Errorf("the replay: %d, want 204 (Stripe retries until it gets a 2xx)", code)
		}
		if c := n.view(t, fan).Campaign; c.Backers != 1 || c.Pledged != "9.95" {
			t.Errorf("the meter after the replay: %+v", c)
		}
		if !strings.Contains(n.logs.String(), "payment event seen before") {
			t.Errorf("the replay is not logged: %s", n.logs.String())
		}

		// A restart: a new server on the same store still knows the
		// session's unlock.
		n2 := newNodeOver(t, n)
		if got := n2.access(t, fan); !equal(got, "plain", "key 02", "key 03") {
			t.Errorf("after a restart: %v", got)
		}
	})
}

// newNodeOver serves another gate over n's store, as the node restarted.
func newNodeOver(t *testing.T, n *node) *node {
	t.Helper()
	n2 := newNode(t, n.st, nil)
	// The cookie jar keys cookies by host; both servers are 127.0.0.1.
	return n2
}

func equal[T comparable](got []T, want ...T) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// TestAdminView: the artist's view, behind the admin token, lists the
// addresses an email gate collected (CSV with their consent time, a
// formula quoted as text) and the payments, and refuses a request without
// the token.
func TestAdminView(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		n := newNode(t, st, nil)
		mux := http.NewServeMux()
		protect := func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer artist-token" {
					http.Error(w, "no", http.StatusUnauthorized)
					return
				}
				h.ServeHTTP(w, r)
			})
		}
		n.srv.RegisterAdmin(mux, st, protect)
		admin := httptest.NewServer(mux)
		t.Cleanup(admin.Close)
		for _, addr := range []string{"fan@example.org", "=cmd@example.org"} {
			if code, body, _ := postForm(t, viewer(t), n.url+"/bundle/children-of-the-machine/unlock", url.Values{"email": {addr}, "consent": {"yes"}}); code != http.StatusSeeOther {
				t.Fatalf("unlock %s: %d %s", addr, code, body)
			}
		}
		if code, _, _ := do(t, http.DefaultClient, "GET", admin.URL+"/admin/bundles/children-of-the-machine/emails.csv", nil); code != http.StatusUnauthorized {
			t.Errorf("the CSV without the token: %d, want 401", code)
		}
		code, csv, h := do(t, http.DefaultClient, "GET", admin.URL+"/admin/bundles/children-of-the-machine/emails.csv", nil, "Authorization", "Bearer artist-token")
		lines := strings.Split(strings.TrimSpace(csv), "\n")
		if code != http.StatusOK || h.Get("Content-Type") != "text/csv; charset=utf-8" || len(lines) != 3 ||
			lines[0] != "email,consent_at,confirmed,consent" || !strings.HasPrefix(lines[1], "fan@example.org,20") ||
			!strings.HasPrefix(lines[2], "'=cmd@example.org,") || !strings.Contains(lines[1], ",true,") {
			t.Errorf("the CSV: %d %s", code, csv)
		}
		if code, _, _ := do(t, http.DefaultClient, "GET", admin.URL+"/api/admin/bundles", nil); code != http.StatusUnauthorized {
			t.Errorf("the artist's view without the token: %d, want 401", code)
		}
		code, body, _ := do(t, http.DefaultClient, "GET", admin.URL+"/api/admin/bundles", nil, "Authorization", "Bearer artist-token")
		var abs []AdminBundle
		if err := json.Unmarshal([]byte(body), &abs); code != http.StatusOK || err != nil || len(abs) != 1 ||
			len(abs[0].Emails) != 2 || abs[0].Campaign == nil || abs[0].Campaign.Backers != 0 || abs[0].Campaign.GoalBackers != 250_000 {
			t.Errorf("the artist's view: %d %s", code, body)
		}
	})
}

// TestGateLimit: one client address gets a few gate requests, then 429,
// and another address is not held back by it.
func TestGateLimit(t *testing.T) {
	st, err := store.Open(t.Context(), "", t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	n := newNode(t, st, nil)
	codes := map[int]int{}
	for i := range gateBurst + 3 {
		code, _, _ := postForm(t, viewer(t), n.url+"/bundle/children-of-the-machine/unlock", url.Values{"email": {fmt.Sprintf("fan%d@example.org", i)}, "consent": {"yes"}})
		codes[code]++
	}
	if codes[http.StatusSeeOther] != gateBurst || codes[http.StatusTooManyRequests] != 3 {
		t.Errorf("answers to %d addresses from one client: %v; want %d × 303 then 429", gateBurst+3, codes, gateBurst)
	}
	// A typo is not a try: bad forms never count.
	if code, _, _ := postForm(t, viewer(t), n.url+"/bundle/children-of-the-machine/unlock", url.Values{"email": {"x"}, "consent": {"yes"}}); code != http.StatusBadRequest {
		t.Errorf("a bad address over the limit: %d, want 400", code)
	}
	req := httptest.NewRequest("POST", "/bundle/children-of-the-machine/unlock", nil)
	req.RemoteAddr = "192.0.2.7:1234"
	if !n.srv.limit.allow(req) {
		t.Errorf("another address is held back")
	}
}

// TestLimiterForgets: at maxLimited addresses the limiter forgets the
// idle ones first, then others down to half, and stays bounded.
func TestLimiterForgets(t *testing.T) {
	now := time.Unix(1e9, 0)
	l := limiter{now: func() time.Time { return now }, rate: gateRate}
	req := func(i int) *http.Request {
		r := httptest.NewRequest("POST", "/", nil)
		r.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:1", i>>16&255, i>>8&255, i&255)
		return r
	}
	for i := range maxLimited / 4 {
		l.allow(req(i)) // idle by the time the rest come
	}
	now = now.Add(time.Hour)
	for i := maxLimited / 4; i < maxLimited; i++ {
		l.allow(req(i))
	}
	if len(l.by) != maxLimited {
		t.Fatalf("%d addresses, want %d", len(l.by), maxLimited)
	}
	l.allow(req(maxLimited))
	if n := len(l.by); n > maxLimited/2+1 || n == 0 {
		t.Errorf("%d addresses after forgetting, want at most %d", n, maxLimited/2+1)
	}
	for i := range maxLimited / 4 {
		host, _, _ := strings.Cut(req(i).RemoteAddr, ":")
		if _, ok := l.by[host]; ok {
			t.Fatalf("idle address %s kept", host)
		}
	}
}

// TestAccessCounting: a viewer's play of a file counts once, however
// many requests from its start the player makes, and again after
// playWindow; what Access reads from the store is kept for accessTTL.
func TestAccessCounting(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		n := newNode(t, st, nil)
		now := time.Now()
		n.srv.cfg.Now = func() time.Time { return now }
		b, _ := pilot()
		pilotURL := n.url + "/access/" + b.InfoHash.String() + "/" + b.Files[0].Path
		count := func() int64 {
			t.Helper()
			d, err := st.Downloads(t.Context(), b.ID)
			if err != nil {
				t.Fatal(err)
			}
			return d[b.Files[0].Path]
		}
		fan, other := viewer(t), viewer(t)
		// A probe, the stream, a range further on and a replay.
		for _, rg := range []string{"", "bytes=0-", "bytes=500-", "bytes=0-"} {
			do(t, fan, "GET", pilotURL, nil, "Range", rg, "User-Agent", "fan's browser")
		}
		do(t, other, "GET", pilotURL, nil, "User-Agent", "another browser")
		do(t, other, "GET", pilotURL, nil, "Range", "bytes=0-", "User-Agent", "another browser")
		if got := count(); got != 2 {
			t.Errorf("two viewers: %d downloads counted, want 2", got)
		}
		now = now.Add(playWindow)
		do(t, fan, "GET", pilotURL, nil, "User-Agent", "fan's browser")
		if got := count(); got != 3 {
			t.Errorf("the fan again an hour later: %d downloads counted, want 3", got)
		}

		// A torrent that is no bundle is known to be none for accessTTL;
		// another node sharing the database may make it one meanwhile.
		late := store.Bundle{ID: "late", Title: "Late", InfoHash: infohash.Hash{9},
			Files: []store.BundleFile{{Path: "late.mp4", Gate: store.Gate{Kind: store.GateEmail}, Length: 10}}}
		lateURL := n.url + "/access/" + late.InfoHash.String() + "/late.mp4"
		if _, body, _ := do(t, fan, "GET", lateURL, nil); strings.TrimSpace(body) != "plain" {
			t.Fatalf("no bundle yet: %q, want plain", body)
		}
		if err := st.PutBundle(t.Context(), late, map[string]store.FileKey{"late.mp4": {Key: [32]byte{9}}}); err != nil {
			t.Fatal(err)
		}
		now = now.Add(accessTTL)
		if _, body, _ := do(t, fan, "GET", lateURL, nil); strings.TrimSpace(body) != "locked" {
			t.Errorf("a bundle added %v ago: %q, want locked", accessTTL, body)
		}
		// The library's titles come from the same cache.
		if id, title, ok, err := n.srv.TitleOf(t.Context(), late.InfoHash); err != nil || !ok || id != "late" || title != "Late" {
			t.Errorf("TitleOf the late bundle: %q %q %v %v", id, title, ok, err)
		}
		if _, _, ok, err := n.srv.TitleOf(t.Context(), infohash.Hash{8}); err != nil || ok {
			t.Errorf("TitleOf a torrent that is no bundle: %v %v", ok, err)
		}
	})
}
