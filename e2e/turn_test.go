//go:build e2e

package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seedcast/seedcast/e2e/testnet"
)

// turnPort is coturn's listening port in the test network.
const turnPort = 3478

// forceRelay is a script that runs before any script of every page: every
// RTCPeerConnection the page makes uses relay candidates alone
// (iceTransportPolicy 'relay'), as behind a firewall that lets a browser
// reach nothing but a TURN server; window.e2ePeerConnections lists them.
const forceRelay = `(() => {
  const C = window.RTCPeerConnection
  const pcs = []
  const Relay = function (config, ...rest) {
    const pc = new C({ ...(config || {}), iceTransportPolicy: 'relay' }, ...rest)
    pcs.push(pc)
    return pc
  }
  Relay.prototype = C.prototype
  Object.setPrototypeOf(Relay, C)
  window.RTCPeerConnection = Relay
  window.e2ePeerConnections = pcs
})()`

// relayStatsJS reads, for every connected peer connection of the page, the
// type of the local candidate of its selected pair and the bytes received
// on that pair.
const relayStatsJS = `(async () => {
  const out = []
  for (const pc of window.e2ePeerConnections) {
    if (pc.connectionState !== 'connected') continue
    const stats = await pc.getStats()
    for (const s of stats.values()) {
      if (s.type !== 'transport' || !s.selectedCandidatePairId) continue
      const pair = stats.get(s.selectedCandidatePairId)
      const local = stats.get(pair.localCandidateId)
      const remote = stats.get(pair.remoteCandidateId)
      out.push({ localType: local.candidateType, relayProtocol: local.relayProtocol || '', remote: remote.address + ':' + remote.port, bytesReceived: pair.bytesReceived })
    }
  }
  return out
})()`

// TestTURNRelay checks issue 11 acceptance 2. coturn runs in a host of its
// own with use-auth-secret and a static-auth-secret that only it and the
// node know (the node gets it from SEEDCAST_TURN_SECRET). The watch page,
// in a Chromium whose peer connections may use relay candidates alone,
// must play the film in mode p2p from the node over WebRTC, every
// connected pair going through the TURN server with the credentials the
// node minted for that page; the TURN host must have sent at least the
// bytes the page counts from the node. The secret must appear in no page,
// no script, no URL the page fetched and no line the node logged.
func TestTURNRelay(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	turnserver := requireTool(t, "turnserver")
	tn, origin, chromium := pageNet(t, "seed", "turn", "viewer1")
	secret := "e2e-turn-secret-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	turnAddr := netip.AddrPortFrom(tn.Addr("turn"), turnPort)
	startCoturn(ctx, t, tn, turnserver, "turn", secret)

	seed := startServeWith(ctx, t, tn, "seed", readyTimeout, testnet.ServeOptions{
		Args: []string{"--no-dht", "--no-port-forwarding", "--no-webseed",
			"--turn-server", "turn:" + turnAddr.String() + "?transport=udp", "--turn-ttl", "20m"},
		Env: []string{"SEEDCAST_TURN_SECRET=" + secret},
	})
	ih := pilotInfohash(ctx, t, seed)

	// What the page is given: the TURN server with credentials minted for
	// it, never the secret.
	client := tn.HTTPClient("viewer1")
	html := fetch(ctx, t, client, origin+"/watch/"+ih)
	m := regexp.MustCompile(`"urls":\["turn:` + regexp.QuoteMeta(turnAddr.String()) + `\?transport=udp"\],"username":"(\d+):([^"]+)","credential":"([^"]+)"`).FindStringSubmatch(html)
	if m == nil {
		t.Fatalf("the watch page gives no TURN server with minted credentials; its page data: %.2000s", pageDataJSON(html))
	}
	exp, _ := strconv.ParseInt(m[1], 10, 64)
	if d := time.Until(time.Unix(exp, 0)); d < 19*time.Minute || d > 21*time.Minute {
		t.Errorf("the page's TURN username %s:%s expires in %v, want --turn-ttl 20m", m[1], m[2], d)
	}
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(m[1] + ":" + m[2]))
	if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); m[3] != want {
		t.Errorf("the page's TURN credential %q is not base64(HMAC-SHA1(secret, %q)) = %q", m[3], m[1]+":"+m[2], want)
	}
	checkNoSecret(ctx, t, client, origin, html, secret)

	sentBefore, err := tn.SentBytes(ctx, "turn")
	if err != nil {
		t.Fatal(err)
	}
	page := tn.StartChromium(ctx, t, "viewer1", chromium, origin)
	if err := page.InitScript(ctx, forceRelay); err != nil {
		t.Fatal(err)
	}
	st := play(ctx, t, page, origin+"/watch/"+ih)
	var pairs []struct {
		LocalType, RelayProtocol, Remote string
		BytesReceived                    int64
	}
	if err := page.Eval(ctx, relayStatsJS, &pairs); err != nil {
		t.Fatal(err)
	}
	// The page's figures are read after the pairs' so that the pairs
	// have carried at least what the figures count.
	if err := page.Eval(ctx, playerStateJS, &st); err != nil {
		t.Fatal(err)
	}
	sentAfter, err := tn.SentBytes(ctx, "turn")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("mode %s; from the node %d bytes over WebRTC, %d over HTTP; selected pairs %+v; the TURN host sent %d bytes",
		st.Mode, st.RTC, st.HTTP, pairs, sentAfter-sentBefore)
	if st.Mode != "p2p" || st.RTC == 0 {
		t.Errorf("the page plays in mode %s with %d bytes from the node over WebRTC; want p2p and bytes over WebRTC", st.Mode, st.RTC)
	}
	var relayed int64
	for _, p := range pairs {
		if p.LocalType != "relay" {
			t.Errorf("a connected pair's local candidate is %s, want relay: %+v", p.LocalType, p)
		}
		relayed += p.BytesReceived
	}
	if len(pairs) == 0 || relayed < st.RTC {
		t.Errorf("the relayed pairs carried %d bytes; want at least the %d the page counts from the node over WebRTC", relayed, st.RTC)
	}
	if sent := sentAfter - sentBefore; sent < st.RTC {
		t.Errorf("the TURN host sent %d bytes; want at least the %d the page got over WebRTC", sent, st.RTC)
	}

	// No URL the page fetched, nothing in the page as it stands now, and
	// nothing the node logged holds the secret.
	var urls []string
	if err := page.Eval(ctx, `[location.href, ...performance.getEntriesByType('resource').map(e => e.name)]`, &urls); err != nil {
		t.Fatal(err)
	}
	for _, u := range urls {
		if strings.Contains(u, secret) {
			t.Errorf("the page fetched %s, with the TURN secret in it", u)
		}
	}
	var dom string
	if err := page.Eval(ctx, `document.documentElement.outerHTML`, &dom); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(dom, secret) {
		t.Error("the page's document holds the TURN secret")
	}
	if strings.Contains(seed.Proc.Output().String(), secret) {
		t.Error("the node logged the TURN secret")
	}
	if !strings.Contains(seed.Proc.Output().String(), `msg="TURN credentials minted per page and per peer connection from the TURN secret"`) {
		t.Error("the node did not log that it mints TURN credentials")
	}
}

// startCoturn runs coturn's turnserver in host with the TURN REST API
// (use-auth-secret) and secret, plain UDP and TCP on turnPort only, and
// waits until it listens.
func startCoturn(ctx context.Context, t *testing.T, tn *testnet.Net, bin, host, secret string) *testnet.Process {
	t.Helper()
	ip := tn.Addr(host).String()
	dir := t.TempDir()
	// The secret goes in a configuration file, not on the command line:
	// testnet.Start logs the command line.
	conf := filepath.Join(dir, "turnserver.conf")
	err := os.WriteFile(conf, []byte(strings.Join([]string{
		"use-auth-secret",
		"static-auth-secret=" + secret,
		"realm=seedcast.test",
		"listening-ip=" + ip,
		"relay-ip=" + ip,
		"listening-port=" + strconv.Itoa(turnPort),
		"no-tls", "no-dtls", "no-cli", "fingerprint",
		// Peers in the test network's private range are what this test
		// relays to.
		"allowed-peer-ip=10.231.0.0-10.231.0.255",
		"pidfile=" + filepath.Join(dir, "turnserver.pid"),
		"userdb=" + filepath.Join(dir, "turndb"),
		"log-file=stdout", "simple-log", "verbose",
	}, "\n")+"\n"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	proc := testnet.Start(t, "coturn", tn.Command(ctx, host, bin, "-c", conf))
	if err := tn.WaitTCP(ctx, host, netip.AddrPortFrom(tn.Addr(host), turnPort).String(), proc); err != nil {
		t.Fatalf("coturn not listening: %v", err)
	}
	return proc
}

// checkNoSecret fetches every script and style the watch page html names
// under origin, and the service worker, and fails t if any of them, or the
// page itself, holds secret.
func checkNoSecret(ctx context.Context, t *testing.T, client *http.Client, origin, html, secret string) {
	t.Helper()
	if strings.Contains(html, secret) {
		t.Error("the watch page holds the TURN secret")
	}
	assetRE := regexp.MustCompile(`(?:src|href)="(/[^"]+)"|from\s*"(\.?\.?/[^"]+\.js)"|import\("(\.?\.?/[^"]+\.js)"\)`)
	seen := map[string]bool{}
	todo := []string{"/sw.min.js"}
	for _, mm := range assetRE.FindAllStringSubmatch(html, -1) {
		todo = append(todo, mm[1])
	}
	for len(todo) > 0 {
		p := todo[0]
		todo = todo[1:]
		if p == "" || seen[p] || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "/watch/") || strings.HasPrefix(p, "/stream/") {
			continue
		}
		seen[p] = true
		body := fetch(ctx, t, client, origin+p)
		if strings.Contains(body, secret) {
			t.Errorf("%s holds the TURN secret", p)
		}
		if isScript(p) && strings.HasPrefix(p, "/assets/") {
			// Chunks a page's script imports sit beside it.
			for _, mm := range assetRE.FindAllStringSubmatch(body, -1) {
				for _, ref := range mm[2:] {
					if ref != "" {
						todo = append(todo, pathBeside(p, ref))
					}
				}
			}
		}
	}
	var scripts int
	for p := range seen {
		if isScript(p) {
			scripts++
		}
	}
	t.Logf("checked the page and %d scripts and styles (%d scripts) for the secret", len(seen), scripts)
	if scripts < 3 {
		t.Errorf("found %d scripts to check, want the page's, WebTorrent and the service worker at least: %v", scripts, seen)
	}
}

// isScript reports whether the path p, with or without a query, names a
// script.
func isScript(p string) bool {
	p, _, _ = strings.Cut(p, "?")
	return strings.HasSuffix(p, ".js")
}

// pathBeside resolves ref, a module specifier in the script at p.
func pathBeside(p, ref string) string {
	u, err := url.Parse(p)
	if err != nil {
		return ""
	}
	r, err := url.Parse(ref)
	if err != nil {
		return ""
	}
	return u.ResolveReference(r).Path
}

// pageDataJSON returns the page data block of a page's HTML.
func pageDataJSON(html string) string {
	_, after, _ := strings.Cut(html, `id="page-data">`)
	data, _, _ := strings.Cut(after, "</script>")
	return data
}

// fetch returns the body of a 200 answer to GET u, failing t otherwise.
func fetch(ctx context.Context, t *testing.T, client *http.Client, u string) string {
	t.Helper()
	res, body := httpGet(ctx, t, client, u)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", u, res.Status)
	}
	return body
}
