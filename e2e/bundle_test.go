//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/seedcast/seedcast/e2e/testnet"
)

// bundleManifest is the bundle of TestBundleGates: a free pilot, an
// episode behind an email, a finale behind a price, and a campaign.
const bundleManifest = `title = "Children of the Machine"
artist = "Tommy Pallotta"
description = "A crowd-funded series."
id = "cotm"

[[file]]
path = "01-pilot.mp4"
gate = "free"

[[file]]
path = "02-episode.mp4"
gate = "email"

[[file]]
path = "03-finale.mp4"
gate = "price"
price = "9.95 USD"

[campaign]
goal_backers = 250000
price = "9.95 USD"
`

// stripeStandIn stands for the one endpoint of Stripe's API the node
// calls (no payment provider is reachable from here): it records each
// checkout the node makes and answers as the API documents. The events
// of the payments are real: signed with the webhook's test secret.
type stripeStandIn struct {
	mu       sync.Mutex
	sessions []string // client_reference_id of each checkout
}

func (s *stripeStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == "POST" && r.URL.Path == "/v1/checkout/sessions":
		r.ParseForm()
		s.mu.Lock()
		s.sessions = append(s.sessions, r.PostForm.Get("client_reference_id"))
		s.mu.Unlock()
		fmt.Fprintf(w, `{"id":"cs_test_e2e","object":"checkout.session","url":"http://%s/pay"}`, r.Host)
	case r.URL.Path == "/pay":
		fmt.Fprint(w, "<!doctype html><title>Checkout</title><p>Paying…")
	default:
		http.Error(w, `{"error":{"message":"unexpected"}}`, http.StatusBadRequest)
	}
}

func (s *stripeStandIn) last() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.sessions) == 0 {
		return ""
	}
	return s.sessions[len(s.sessions)-1]
}

const e2eWebhookSecret = "whsec_e2e_0123456789"

// TestBundleGates is issue 14's acceptance 1 to 3 in Chromium: the free
// pilot plays at once; the episode behind an email and the finale behind
// a price show their gate and nothing of them is readable before it
// (/stream 403, the web seed and the torrent carry ciphertext); after an
// address, and after a signed payment event, each plays and seeks to 80 %
// with bytes over WebRTC from another viewer who never unlocked it and
// holds only ciphertext; the meter moves by one backer and the price in
// the page and the API; the artist's CSV lists the address.
func TestBundleGates(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 6*time.Minute)
	defer cancel()
	tn, origin, chromium := pageNet(t, "seed", "viewer1", "viewer2")
	modules := requireWebNodeModules(t)

	// The bundle's folder, made into a bundle by the CLI.
	dir := filepath.Join(t.TempDir(), "cotm")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	plain := map[string]string{}
	for _, f := range []struct {
		name      string
		sec, kbit int
	}{{"01-pilot.mp4", 20, 800}, {"02-episode.mp4", 40, 1200}, {"03-finale.mp4", 30, 1000}} {
		film := testnet.MakeFilm(ctx, t, f.sec, f.kbit)
		if err := copyFile(film.Path, filepath.Join(dir, f.name)); err != nil {
			t.Fatal(err)
		}
		sum, err := sha256File(filepath.Join(dir, f.name))
		if err != nil {
			t.Fatal(err)
		}
		plain[f.name] = sum
	}
	if err := os.WriteFile(filepath.Join(dir, "bundle.toml"), []byte(bundleManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	data, out := filepath.Join(t.TempDir(), "data"), filepath.Join(t.TempDir(), "out")
	create := exec.CommandContext(ctx, seedcastBin, "bundle", "create", "--public-url", origin, "--data", data, dir, "-o", out)
	create.Env = testnet.CleanEnv()
	printed, err := create.CombinedOutput()
	if err != nil {
		t.Fatalf("seedcast bundle create: %v\n%s", err, printed)
	}
	t.Logf("seedcast bundle create:\n%s", printed)
	ih := regexp.MustCompile(`[0-9a-f]{40}`).FindString(string(printed))
	if ih == "" {
		t.Fatalf("bundle create printed no info hash")
	}

	// The node, its store in --data, with a Stripe stand-in in its host.
	var stripeAPI stripeStandIn
	stripeURL := tn.ServeHandler(t, "seed", &stripeAPI)
	node := startServeWith(ctx, t, tn, "seed", readyTimeout, testnet.ServeOptions{DataDir: data, Args: []string{
		"--no-dht", "--no-port-forwarding",
		"--stripe-key", "sk_test_e2e", "--stripe-webhook-secret", e2eWebhookSecret, "--stripe-api", stripeURL,
		filepath.Join(out, "cotm")}})
	episode, finale := "cotm/02-episode.mp4", "cotm/03-finale.mp4"

	// Acceptance 2: nothing of a gated file is readable without its key.
	c := tn.HTTPClient("viewer2")
	for _, gated := range []string{episode, finale} {
		res, body := httpGet(ctx, t, c, origin+"/stream/"+ih+"/"+gated)
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("/stream of %s before its gate: %d %.80s, want 403", gated, res.StatusCode, body)
		}
		checkCiphertext(ctx, t, c, origin+"/webseed/"+ih+"/"+gated, filepath.Join(dir, filepath.Base(gated)))
	}

	// viewer1 fetches the whole bundle over WebTorrent and never unlocks
	// anything: it holds the gated files as ciphertext, and seeds them.
	b2bOrigin, _ := serveB2BPages(t, tn, modules, testnet.File{}, "viewer1")
	carrier := tn.StartChromium(ctx, t, "viewer1", chromium, b2bOrigin)
	if err := carrier.Navigate(ctx, b2bOrigin+"/"); err != nil {
		t.Fatal(err)
	}
	announce := "ws" + strings.TrimPrefix(origin, "http") + "/announce"
	var held struct {
		Files map[string]struct {
			Length int64
			SHA256 string
		}
		BytesByWireType map[string]int64
	}
	if err := carrier.Call(ctx, &held, "downloadAll", "magnet:?xt=urn:btih:"+ih, announce); err != nil {
		t.Fatalf("viewer1 fetching the bundle: %v", err)
	}
	for name, sum := range plain {
		got, ok := held.Files["cotm/"+name]
		switch {
		case !ok:
			t.Errorf("viewer1 holds no %s: %v", name, held.Files)
		case strings.HasPrefix(name, "01-") && got.SHA256 != sum:
			t.Errorf("viewer1's free %s differs from the plain file", name)
		case !strings.HasPrefix(name, "01-") && got.SHA256 == sum:
			t.Errorf("viewer1 holds %s in plain", name)
		}
	}
	t.Logf("viewer1 holds the bundle (gated files as ciphertext), by wire type %v", held.BytesByWireType)

	// viewer2: the free pilot plays at once; the gated files show their
	// gate.
	page := tn.StartChromium(ctx, t, "viewer2", chromium, origin)
	st := play(ctx, t, page, origin+"/watch/"+ih)
	t.Logf("the pilot played: %+v", st)
	if err := page.Open(ctx, origin+"/watch/"+ih+"?file="+url.QueryEscape(episode)); err != nil {
		t.Fatal(err)
	}
	waitMessage(ctx, t, page, "behind a gate")
	if err := page.Open(ctx, origin+"/bundle/cotm"); err != nil {
		t.Fatal(err)
	}
	var gates struct{ Email, Pay bool }
	if err := page.Eval(ctx, `({email: !!document.querySelector('[data-role="email-gate"]'), pay: !!document.querySelector('[data-role="pay-gate"]')})`, &gates); err != nil || !gates.Email || !gates.Pay {
		t.Fatalf("the bundle page shows its gates: %+v, %v", gates, err)
	}

	// The email gate, then the episode: it plays, seeks, and came in part
	// from viewer1.
	err = page.Eval(ctx, `(() => {
  const f = document.querySelector('[data-role="email-gate"]')
  f.querySelector('input[name="email"]').value = 'fan@example.org'
  f.querySelector('input[name="consent"]').checked = true
  f.requestSubmit()
  return true
})()`, new(bool))
	if err != nil {
		t.Fatal(err)
	}
	waitLocation(ctx, t, page, "unlocked=1")
	checkGatedPlay(ctx, t, page, origin, ih, episode, carrier)

	// The pay gate: a checkout at the stand-in, then the provider's
	// signed event of the payment for this viewer's session.
	var before apiBundle
	getBundle(ctx, t, node, &before)
	if err := page.Open(ctx, origin+"/bundle/cotm"); err != nil {
		t.Fatal(err)
	}
	if err := page.Eval(ctx, `(document.querySelector('[data-role="pay-gate"]').requestSubmit(), true)`, new(bool)); err != nil {
		t.Fatal(err)
	}
	waitLocation(ctx, t, page, "/pay")
	session := stripeAPI.last()
	if len(session) != 32 {
		t.Fatalf("the checkout named session %q", session)
	}
	postPayment(ctx, t, c, origin, session, "evt_e2e_1")
	if err := page.Open(ctx, origin+"/bundle/cotm?paid=1"); err != nil {
		t.Fatal(err)
	}
	var after apiBundle
	getBundle(ctx, t, node, &after)
	if after.Campaign.Backers != before.Campaign.Backers+1 || after.Campaign.Pledged != "9.95" {
		t.Errorf("the meter in the API: %+v before, %+v after one payment of 9.95 USD", before.Campaign, after.Campaign)
	}
	var shown struct{ Backers, Pledged string }
	if err := page.Eval(ctx, `({backers: document.querySelector('[data-role="backers"]').textContent, pledged: document.querySelector('[data-role="pledged"]').textContent})`, &shown); err != nil || shown.Backers != "1" || shown.Pledged != "9.95" {
		t.Errorf("the meter in the page: %+v, %v", shown, err)
	}
	checkGatedPlay(ctx, t, page, origin, ih, finale, carrier)

	// The artist's CSV lists the address.
	tokenFile, err := os.ReadFile(filepath.Join(data, "admin_token"))
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(tokenFile))
	req, _ := http.NewRequestWithContext(ctx, "GET", origin+"/admin/bundles/cotm/emails.csv", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	csv, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(csv), "\nfan@example.org,") {
		t.Errorf("the artist's CSV: %d %s", res.StatusCode, csv)
	}
	// And the artist's page: one address, one payment, one backer.
	req, _ = http.NewRequestWithContext(ctx, "GET", origin+"/admin", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if res, err = c.Do(req); err != nil {
		t.Fatal(err)
	}
	adminPage, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{"1 email address", "1 payment", "<strong>1</strong> of", "9.95 USD"} {
		if res.StatusCode != http.StatusOK || !strings.Contains(string(adminPage), want) {
			t.Errorf("the artist's page: %d, no %q in %s", res.StatusCode, want, adminPage)
			break
		}
	}
	// The token is printed once, at the node's first start, and nowhere
	// after; no address is logged.
	if out := node.Proc.Output().String(); strings.Count(out, token) > 1 || strings.Contains(out, "fan@example.org") {
		t.Errorf("the node's log holds the token or the address")
	}
}

// apiBundle is GET /api/bundles/{id}.
type apiBundle struct {
	Unlocked []string
	Campaign struct {
		Backers     int64
		GoalBackers int64 `json:"goal_backers"`
		Pledged     string
	}
}

func getBundle(ctx context.Context, t *testing.T, node *nsNode, out *apiBundle) {
	t.Helper()
	if err := node.GetJSON(ctx, "/api/bundles/cotm", out); err != nil {
		t.Fatal(err)
	}
}

// checkGatedPlay opens the watch page of the gated file path, unlocked by
// now: it plays past 3 s in p2p mode, plays again within seekLimit of a
// seek to 80 %, and took bytes from viewer1 (carrier), which holds the
// file as ciphertext only.
func checkGatedPlay(ctx context.Context, t *testing.T, page *testnet.Page, origin, ih, path string, carrier *testnet.Page) {
	t.Helper()
	var upBefore int64
	carrier.Call(ctx, &upBefore, "uploaded")
	st := play(ctx, t, page, origin+"/watch/"+ih+"?file="+url.QueryEscape(path))
	if st.Mode != "p2p" {
		t.Errorf("%s plays in mode %s, want p2p", path, st.Mode)
	}
	seek := seekTo(ctx, t, page, 0.8)
	t.Logf("%s: played past %.0f s after %v; a seek to 80 %% plays again after %v", path, playedSec, st.played.Round(time.Millisecond), seek.Round(time.Millisecond))
	if seek > seekLimit {
		t.Errorf("%s: playing again %v after a seek to 80 %%, want within %v", path, seek, seekLimit)
	}
	if err := page.Eval(ctx, playerStateJS, &st); err != nil {
		t.Fatal(err)
	}
	var upAfter int64
	carrier.Call(ctx, &upAfter, "uploaded")
	t.Logf("%s: the page took %d bytes from viewers, %d from the node over WebRTC, %d over HTTP; viewer1 sent %d",
		path, st.Viewers, st.RTC, st.HTTP, upAfter-upBefore)
	if st.Viewers == 0 || upAfter == upBefore {
		t.Errorf("%s: no bytes from viewer1 (the page counts %d from viewers; viewer1 sent %d)", path, st.Viewers, upAfter-upBefore)
	}
}

// checkCiphertext reads samples of u, a gated file over the web seed, and
// checks they differ from the plain file at plainPath at every sample.
func checkCiphertext(ctx context.Context, t *testing.T, c *http.Client, u, plainPath string) {
	t.Helper()
	plainBytes, err := os.ReadFile(plainPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []int{0, 4096, len(plainBytes) / 2, len(plainBytes) - 64} {
		req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+63))
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusPartialContent || len(got) != 64 {
			t.Fatalf("web seed %s at %d: %d, %d bytes", u, off, res.StatusCode, len(got))
		}
		if bytes.Equal(got, plainBytes[off:off+64]) {
			t.Errorf("the web seed serves %s in plain at %d", u, off)
		}
	}
}

// postPayment posts the provider's signed event of a paid checkout of
// the bundle cotm for session.
func postPayment(ctx context.Context, t *testing.T, c *http.Client, origin, session, id string) {
	t.Helper()
	payload := fmt.Appendf(nil, `{"id":%q,"object":"event","api_version":"2020-08-27","created":%d,"type":"checkout.session.completed",`+
		`"data":{"object":{"id":"cs_test_e2e","object":"checkout.session","payment_status":"paid","client_reference_id":%q,`+
		`"metadata":{"bundle":"cotm"},"amount_total":995,"currency":"usd","customer_details":{"email":"backer@example.org"}}}}`,
		id, time.Now().Unix(), session)
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: e2eWebhookSecret, Timestamp: time.Now()})
	req, _ := http.NewRequestWithContext(ctx, "POST", origin+"/webhooks/payment", bytes.NewReader(payload))
	req.Header.Set("Stripe-Signature", sp.Header)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("the payment's event: %d, want 204", res.StatusCode)
	}
}

// waitMessage waits until the player in page shows a message containing
// want.
func waitMessage(ctx context.Context, t *testing.T, page *testnet.Page, want string) {
	t.Helper()
	err := testnet.WaitFor(15*time.Second, func() error {
		var msg string
		if err := page.Eval(ctx, `document.querySelector('[data-role="message"]')?.textContent ?? ''`, &msg); err != nil {
			return err
		}
		if !strings.Contains(msg, want) {
			return fmt.Errorf("the player says %q", msg)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// waitLocation waits until page's location contains want.
func waitLocation(ctx context.Context, t *testing.T, page *testnet.Page, want string) {
	t.Helper()
	err := testnet.WaitFor(15*time.Second, func() error {
		var href string
		if err := page.Eval(ctx, `location.href`, &href); err != nil {
			return err
		}
		if !strings.Contains(href, want) {
			return fmt.Errorf("the page is at %s", href)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
