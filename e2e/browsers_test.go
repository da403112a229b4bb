//go:build e2e

package e2e

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/seedcast/seedcast/e2e/testnet"
)

// sourceLabelJS reads what the watch page's player says of where its bytes
// come from, and whether the browser offers WebRTC at all.
const sourceLabelJS = `(() => {
  const s = document.querySelector('[data-role="source"]')
  return { text: s?.textContent ?? '', title: s?.title ?? '', mode: document.querySelector('[data-player]')?.dataset.mode ?? '',
    webrtc: typeof RTCPeerConnection === 'function' }
})()`

// sourceLabel is the value of sourceLabelJS.
type sourceLabel struct {
	Text, Title, Mode string
	WebRTC            bool
}

// TestWatchPageInBrowsers checks acceptance 5 of issue 10: the pilot's
// watch page plays, and plays on past a seek to 80 %, in Chromium, Firefox
// ESR and WebKitGTK, each in a host of its own with the node in another.
// Chromium and Firefox play over P2P: the torrent has no web seed, so
// WebTorrent gets the node's bytes over WebRTC only, and the player says
// "P2P". Debian's WebKitGTK is built without WebRTC: the page streams from
// the node's /stream, says "Direct" and why, never "P2P", and no data
// channel reaches the node. It does so in a secure context, with a web
// seed, where WebTorrent could start and fetch the web seed alone, which
// the page used to call P2P. First frame and seek times go to the log;
// speed is the benchmarks' business.
func TestWatchPageInBrowsers(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 6*time.Minute)
	defer cancel()
	requireWebBuild(t)
	tn := testnet.New(t, "seed", "viewer1")
	nodeAddr := netip.AddrPortFrom(tn.Addr("seed"), nsHTTPPort).String()
	origin := "http://" + nodeAddr

	tests := []struct {
		name string
		// start opens the browser in viewer1, or skips the test as
		// requireTool does.
		start func(t *testing.T) testnet.Browser
		// p2p: the browser has WebRTC and the page must play over it.
		p2p bool
		// flags are serve's, after --no-dht and --no-port-forwarding.
		flags []string
		// loopback opens the page at 127.0.0.1 of the viewer, forwarded to
		// the node: a secure context for a browser that takes no flag to
		// make the node's origin one.
		loopback bool
	}{
		{
			name: "chromium",
			start: func(t *testing.T) testnet.Browser {
				return tn.StartChromium(ctx, t, "viewer1", requireTool(t, "chromium"), origin)
			},
			p2p:   true,
			flags: []string{"--no-webseed"},
		},
		{
			name: "firefox-esr",
			start: func(t *testing.T) testnet.Browser {
				return tn.StartFirefox(ctx, t, "viewer1", requireTool(t, "firefox-esr"), origin)
			},
			p2p:   true,
			flags: []string{"--no-webseed"},
		},
		{
			// With the web seed on, in a secure context, as in the issue.
			name: "webkitgtk",
			start: func(t *testing.T) testnet.Browser {
				return tn.StartWebKit(ctx, t, "viewer1", requireTool(t, "WebKitWebDriver"), requireTool(t, "Xvfb"))
			},
			loopback: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.start(t)
			seed := startServeIn(ctx, t, tn, "seed", readyTimeout, append([]string{"--no-dht", "--no-port-forwarding"}, tc.flags...)...)
			ih := pilotInfohash(ctx, t, seed)
			pageOrigin := origin
			if tc.loopback {
				addr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), nsHTTPPort).String()
				tn.Forward(t, "viewer1", addr, nodeAddr)
				pageOrigin = "http://" + addr
			}

			st := play(ctx, t, b, pageOrigin+"/watch/"+ih)
			t.Logf("%s: first frame %v, past %.0f s %v after navigating; mode %s; from the server %d bytes over WebRTC and %d over HTTP",
				tc.name, st.firstFrame.Round(time.Millisecond), playedSec, st.played.Round(time.Millisecond), st.Mode, st.RTC, st.HTTP)
			checkSource(ctx, t, b, tc.p2p, st, ih)

			took := seekTo(ctx, t, b, 0.8)
			t.Logf("%s: after a seek to 80 %% the video played again within %v", tc.name, took.Round(time.Millisecond))
			if err := b.Eval(ctx, playerStateJS, &st); err != nil {
				t.Fatal(err)
			}
			checkSource(ctx, t, b, tc.p2p, st, ih)

			var node apiTorrentStats
			if err := seed.GetJSON(ctx, "/api/torrents/"+ih, &node); err != nil {
				t.Fatal(err)
			}
			rtc := node.Transports["webrtc"]
			t.Logf("%s: node transports %v", tc.name, node.Transports)
			if tc.p2p && rtc.BytesOut == 0 {
				t.Errorf("the node sent nothing over WebRTC: the page did not reach it over P2P")
			}
			if !tc.p2p && (rtc.BytesIn != 0 || rtc.BytesOut != 0 || rtc.Peers != 0) {
				t.Errorf("the node's WebRTC transport shows %+v, want nothing: a data channel was opened", rtc)
			}
		})
	}
}

// checkSource checks where a watch page that plays, in state st, says its
// bytes come from: over P2P from the node (p2p set), or from the node's
// /stream, in plain words, because the browser has no WebRTC.
func checkSource(ctx context.Context, t *testing.T, b testnet.Browser, p2p bool, st playerState, ih string) {
	t.Helper()
	var l sourceLabel
	if err := b.Eval(ctx, sourceLabelJS, &l); err != nil {
		t.Fatal(err)
	}
	t.Logf("source label %q (%s), mode %s, WebRTC in the browser: %v", l.Text, l.Title, l.Mode, l.WebRTC)
	if l.WebRTC != p2p {
		t.Fatalf("the browser offers WebRTC: %v, want %v: is this another build of it?", l.WebRTC, p2p)
	}
	if p2p {
		if st.Mode != "p2p" || !strings.HasPrefix(l.Text, "P2P") {
			t.Errorf("mode %s, label %q; want mode p2p, label P2P", st.Mode, l.Text)
		}
		if !strings.Contains(st.Src, "/webtorrent/"+ih+"/") || !st.Controlled {
			t.Errorf("the video plays %s, controlled by a service worker: %v; want WebTorrent's worker URL /webtorrent/%s/...", st.Src, st.Controlled, ih)
		}
		if st.RTC == 0 {
			t.Errorf("the page counts no bytes from the node over WebRTC (state %+v)", st)
		}
		return
	}
	if st.Mode != "stream" || !strings.Contains(st.Src, "/stream/"+ih+"/") {
		t.Errorf("mode %s playing %s; want mode stream from /stream/%s/...", st.Mode, st.Src, ih)
	}
	if strings.Contains(l.Text+l.Title, "P2P") || l.Text != "Direct" || !strings.Contains(l.Title, "no WebRTC") {
		t.Errorf("label %q titled %q; want Direct, with a title that says the browser has no WebRTC", l.Text, l.Title)
	}
	if st.RTC != 0 || st.Viewers != 0 {
		t.Errorf("the page counts %d bytes from the node over WebRTC and %d from viewers, want none", st.RTC, st.Viewers)
	}
}
