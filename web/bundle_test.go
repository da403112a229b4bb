package web

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/seedcast/seedcast/httperr"
	"github.com/seedcast/seedcast/infohash"
)

// fakeBundles is one bundle over the test library's Night Train, as a
// viewer who opened its email gate sees it when the request carries
// ?opened.
type fakeBundles struct{}

func (fakeBundles) bundle(r *http.Request) Bundle {
	opened := r.URL.Query().Has("opened")
	return Bundle{
		ID: "night-train", Title: "Night Train, live", Artist: "The <Band>", InfoHash: mustHash(bundleIH),
		Files: []BundleFile{
			{Path: "Night Train/trailer.mp4", Gate: "free", Length: 1000, Unlocked: true},
			{Path: "Night Train/night-train.mp4", Gate: "email", Length: 3949668, Unlocked: opened},
			{Path: "Night Train/01 Overture.mp3", Gate: "price", Price: "9.95 USD", Length: 721042},
		},
		Campaign: &Campaign{Backers: 2, GoalBackers: 250000, Pledged: "19.90", Currency: "USD", Price: "9.95 USD"},
		Payments: true, Consent: "I agree to <mails>.",
		Unlocked: map[bool][]string{true: {"email"}, false: nil}[opened],
	}
}

func (b fakeBundles) Bundle(r *http.Request, id string) (Bundle, error) {
	if id != "night-train" {
		return Bundle{}, httperr.Errorf(http.StatusNotFound, "no bundle %q", id)
	}
	return b.bundle(r), nil
}

func (b fakeBundles) BundleOf(r *http.Request, ih infohash.Hash) (Bundle, bool, error) {
	if ih != mustHash(bundleIH) {
		return Bundle{}, false, nil
	}
	return b.bundle(r), true, nil
}

func (b fakeBundles) TitleOf(_ context.Context, ih infohash.Hash) (id, title string, ok bool, err error) {
	if ih != mustHash(bundleIH) {
		return "", "", false, nil
	}
	return "night-train", "Night Train, live", true, nil
}

// TestBundlePage: the page lists each file with its gate, offers the
// gates not yet opened, links to watch only what the viewer may play,
// shows the campaign's meter, and escapes what the artist wrote; the
// watch page of a gated file says it is locked until the gate is open;
// the library names the bundle by its title.
func TestBundlePage(t *testing.T) {
	srv := newTestServerConfig(t, Config{Library: testLibrary(t), Bundles: fakeBundles{}}, testDist())
	res, body := get(t, srv.Client(), srv.URL+"/bundle/night-train")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /bundle/night-train: %d", res.StatusCode)
	}
	for _, want := range []string{
		`action="/bundle/night-train/unlock"`, `name="consent" value="yes" required`, `I agree to &lt;mails&gt;.`,
		`action="/bundle/night-train/checkout"`, `Pay 9.95 USD`,
		`<progress max="250000" value="2" data-role="meter">0.0 %</progress>`, `<strong data-role="pledged">19.90</strong> USD pledged`,
		`The &lt;Band&gt;`, `>For your email address<`, `>9.95 USD<`,
		`href="/watch/` + bundleIH + `?file=Night&#43;Train/trailer.mp4"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the bundle page lacks %q", want)
		}
	}
	for _, absent := range []string{`?file=Night&#43;Train/night-train.mp4`, `/keys`} {
		if strings.Contains(body, absent) {
			t.Errorf("the bundle page shows %q before the gate is open", absent)
		}
	}
	_, body = get(t, srv.Client(), srv.URL+"/bundle/night-train?opened&unlocked=1")
	for _, want := range []string{`?file=Night&#43;Train/night-train.mp4"`, `/api/bundles/night-train/keys`, `Unlocked: the files below`} {
		if !strings.Contains(body, want) {
			t.Errorf("after the email gate, the bundle page lacks %q", want)
		}
	}
	if strings.Contains(body, `action="/bundle/night-train/unlock"`) {
		t.Errorf("after the email gate, the page still offers it")
	}
	if res, _ := get(t, srv.Client(), srv.URL+"/bundle/nope"); res.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown bundle: %d, want 404", res.StatusCode)
	}

	_, body = get(t, srv.Client(), srv.URL+"/watch/"+bundleIH+"?file=Night%20Train/night-train.mp4")
	for _, want := range []string{`<h1 class="title">Night Train, live</h1>`, `"bundle":"night-train"`, `<strong data-role="backers">2</strong> of 250000 backers`, `href="/bundle/night-train"`, `"path":"Night Train/night-train.mp4","name":"night-train.mp4"`, `"gate":"email","locked":true`} {
		if !strings.Contains(body, want) {
			t.Errorf("the watch page of a locked file lacks %q", want)
		}
	}
	// The library names the bundle by its title and links to its page.
	_, body = get(t, srv.Client(), srv.URL+"/")
	for _, want := range []string{`<a href="/bundle/night-train">Night Train, live</a>`, `class="btn small" href="/bundle/night-train"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the library lacks %q", want)
		}
	}

	_, body = get(t, srv.Client(), srv.URL+"/watch/"+bundleIH+"?file=Night%20Train/night-train.mp4&opened")
	if strings.Contains(body, `"locked":true,"captions"`) || !strings.Contains(body, `"gate":"email"`) {
		t.Errorf("the watch page of an opened file: %s", body[:min(len(body), 200)])
	}
}
