package testnet

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// firefoxPrefs go into the user.js of every Firefox profile StartFirefox
// makes. Nothing leaves a test network anyway, but a Firefox that tries
// fills its log with failures, and its background fetches would compete
// with the page under test. The Remote Agent sets more of the kind itself
// (remote.prefs.recommended). Remote Settings still polls
// firefox.settings.services.mozilla.com about a dozen times in its first
// seconds, a name no test network resolves: ESR builds ignore
// services.settings.server outside Mozilla's own test harness.
var firefoxPrefs = map[string]any{
	"app.update.auto":                              false,
	"app.update.disabledForTesting":                true,
	"browser.shell.checkDefaultBrowser":            false,
	"browser.startup.homepage_override.mstone":     "ignore",
	"browser.safebrowsing.malware.enabled":         false,
	"browser.safebrowsing.phishing.enabled":        false,
	"browser.safebrowsing.downloads.enabled":       false,
	"browser.safebrowsing.blockedURIs.enabled":     false,
	"browser.safebrowsing.update.enabled":          false,
	"datareporting.policy.dataSubmissionEnabled":   false,
	"datareporting.healthreport.uploadEnabled":     false,
	"toolkit.telemetry.enabled":                    false,
	"toolkit.telemetry.unified":                    false,
	"network.captive-portal-service.enabled":       false,
	"network.connectivity-service.enabled":         false,
	"network.dns.disablePrefetch":                  true,
	"network.prefetch-next":                        false,
	"network.http.speculative-parallel-limit":      0,
	"extensions.update.enabled":                    false,
	"extensions.blocklist.enabled":                 false,
	"media.gmp-manager.updateEnabled":              false,
	"signon.management.page.breach-alerts.enabled": false,
	"app.normandy.enabled":                         false,
	// The test network's origins count as secure (secureOrigins), which
	// makes Firefox upgrade their media requests to https, as it does
	// those of http media in https pages, and the node has no https.
	"security.mixed_content.upgrade_display_content": false,
	// Films may start with sound without a click, as after a viewer's
	// click on play; the page would otherwise fall back to muted.
	"media.autoplay.default": 0,
	// The page's console goes to Firefox's stdout, and so into the test
	// log when the test fails.
	"devtools.console.stdout.content": true,
}

// firefoxStartTimeout bounds the wait for Firefox's WebDriver BiDi server.
const firefoxStartTimeout = 30 * time.Second

// bidiListeningRE matches the line Firefox prints once its WebDriver BiDi
// server listens, with the port it chose.
var bidiListeningRE = regexp.MustCompile(`WebDriver BiDi listening on (ws://127\.0\.0\.1:\d+)`)

// Firefox is the tab of a headless Firefox started by StartFirefox,
// driven over WebDriver BiDi.
type Firefox struct {
	// Host is the test network host whose namespace Firefox runs in.
	Host string

	proc *Process
	bidi *bidi
	tab  string // the browsing context id of the tab
}

// StartFirefox starts a headless Firefox (the program firefox, such as
// /usr/bin/firefox-esr) in host's namespace, with a fresh profile whose
// background networking is off, and returns its tab. Pages from the hosts
// of secureOrigins (such as "http://10.231.0.1:8080") count as secure
// contexts, which crypto.subtle and service workers need; Firefox matches
// the host alone. WebRTC keeps Firefox's defaults, mDNS host candidates
// included. The test drives it over WebDriver BiDi, whose server listens on
// the namespace's loopback. When the test fails, Firefox's output, the
// page's console among it, goes into the test log. A cleanup closes
// Firefox.
func (n *Net) StartFirefox(ctx context.Context, t testing.TB, host, firefox string, secureOrigins ...string) *Firefox {
	t.Helper()
	profile := t.TempDir()
	prefs := maps.Clone(firefoxPrefs)
	if len(secureOrigins) > 0 {
		hosts, err := secureHosts(secureOrigins)
		if err != nil {
			t.Fatal(err)
		}
		prefs["dom.securecontext.allowlist"] = strings.Join(hosts, ",")
	}
	if err := writeUserJS(filepath.Join(profile, "user.js"), prefs); err != nil {
		t.Fatal(err)
	}
	// Port 0: Firefox picks one and says which.
	cmd := n.Command(context.WithoutCancel(ctx), host, firefox, "--headless", "--profile", profile, "--remote-debugging-port=0", "about:blank")
	f := &Firefox{Host: host, proc: Start(t, "firefox in "+host, cmd)}

	sctx, cancel := context.WithTimeout(ctx, firefoxStartTimeout)
	defer cancel()
	var wsURL string
	err := Poll(sctx, f.proc, func(context.Context) error {
		m := bidiListeningRE.FindStringSubmatch(f.proc.Output().String())
		if m == nil {
			return fmt.Errorf("no %q line in its output", "WebDriver BiDi listening on")
		}
		wsURL = m[1]
		return nil
	})
	if err != nil {
		t.Fatalf("starting Firefox in %s: %v", host, err)
	}
	f.bidi, err = dialBiDi(sctx, n.DialContext(host), wsURL+"/session")
	if err != nil {
		t.Fatalf("Firefox in %s: %v", host, err)
	}
	// Registered after Start's cleanup, so it runs first: Firefox closes
	// itself, and Start's cleanup only stops a Firefox that did not.
	t.Cleanup(f.close)
	if err := f.bidi.call(sctx, "session.new", map[string]any{"capabilities": map[string]any{}}, nil); err != nil {
		t.Fatalf("Firefox in %s: %v", host, err)
	}
	var tree struct {
		Contexts []struct {
			Context string `json:"context"`
		} `json:"contexts"`
	}
	if err := f.bidi.call(sctx, "browsingContext.getTree", map[string]any{"maxDepth": 0}, &tree); err != nil {
		t.Fatalf("Firefox in %s: %v", host, err)
	}
	if len(tree.Contexts) == 0 {
		t.Fatalf("Firefox in %s has no tab", host)
	}
	f.tab = tree.Contexts[0].Context
	return f
}

// writeUserJS writes prefs as the user.js of a Firefox profile at path.
func writeUserJS(path string, prefs map[string]any) error {
	var sb strings.Builder
	for _, k := range slices.Sorted(maps.Keys(prefs)) {
		// JSON's strings, numbers and booleans are JavaScript's.
		v, err := json.Marshal(prefs[k])
		if err != nil {
			return fmt.Errorf("testnet: Firefox pref %s: %w", k, err)
		}
		fmt.Fprintf(&sb, "user_pref(%q, %s);\n", k, v)
	}
	return os.WriteFile(path, []byte(sb.String()), 0o644)
}

// close asks Firefox to quit and waits a while for it to exit; the cleanup
// of Start stops it if it does not.
func (f *Firefox) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Firefox may exit before it answers: the error says nothing then.
	_ = f.bidi.call(ctx, "browser.close", map[string]any{}, nil)
	f.bidi.close()
	_ = f.proc.Wait(StopTimeout)
}

// Open loads url and waits for its load event.
func (f *Firefox) Open(ctx context.Context, url string) error {
	params := map[string]any{"context": f.tab, "url": url, "wait": "complete"}
	if err := f.bidi.call(ctx, "browsingContext.navigate", params, nil); err != nil {
		return fmt.Errorf("%s: navigating to %s: %w", f.Host, url, err)
	}
	return nil
}

// Eval evaluates the JavaScript expression expr in the page, awaits it if it
// is a promise, and decodes its JSON value into out.
func (f *Firefox) Eval(ctx context.Context, expr string, out any) error {
	params := map[string]any{
		"expression":      jsonExpr(expr),
		"target":          map[string]any{"context": f.tab},
		"awaitPromise":    true,
		"resultOwnership": "none",
	}
	var res struct {
		Type   string `json:"type"` // success or exception
		Result struct {
			Type  string `json:"type"`
			Value string `json:"value"`
		} `json:"result"`
		ExceptionDetails struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := f.bidi.call(ctx, "script.evaluate", params, &res); err != nil {
		return fmt.Errorf("%s: %w", f.Host, err)
	}
	if res.Type == "exception" {
		return fmt.Errorf("%s: %s", f.Host, res.ExceptionDetails.Text)
	}
	if res.Result.Type != "string" {
		return fmt.Errorf("%s: evaluating %.60q gave a %s, want its JSON text", f.Host, expr, res.Result.Type)
	}
	if err := json.Unmarshal([]byte(res.Result.Value), out); err != nil {
		return fmt.Errorf("%s: decoding the value of %.60q: %w", f.Host, expr, err)
	}
	return nil
}
