//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/seedcast/seedcast/e2e/testnet"
)

// Figures of TestViewersCarryViewers (issue 10, acceptance 1).
const (
	// carryViewers is the number of viewers, joinAfterSec how far the
	// last one has played when the next opens the page, and carryPlaySec
	// how far every one must play.
	carryViewers = 3
	joinAfterSec = 5.0
	carryPlaySec = 20.0
	// maxNodeUpload bounds what the node may send, in file sizes, and
	// minFromViewers the share of the last viewer's bytes that must come
	// from other viewers.
	maxNodeUpload  = 1.5
	minFromViewers = 0.5
)

// TestViewersCarryViewers opens the pilot's watch page in three Chromiums,
// each in a host of its own, each joining once the one before has played
// joinAfterSec: every viewer plays past carryPlaySec, the last takes at
// least half of its bytes from the other two, and the node, web seed and
// all, sends under 1.5 times the film.
func TestViewersCarryViewers(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	hosts := []string{"seed"}
	for i := range carryViewers {
		hosts = append(hosts, fmt.Sprintf("viewer%d", i+1))
	}
	tn, origin, chromium := pageNet(t, hosts...)
	seed := startServeIn(ctx, t, tn, "seed", readyTimeout, "--no-dht", "--no-port-forwarding")
	ih := pilotInfohash(ctx, t, seed)
	var film apiTorrentStats
	if err := seed.GetJSON(ctx, "/api/torrents/"+ih, &film); err != nil {
		t.Fatal(err)
	}
	sentBefore, err := tn.SentBytes(ctx, "seed")
	if err != nil {
		t.Fatal(err)
	}

	pages := make([]*testnet.Page, carryViewers)
	for i := range pages {
		if i > 0 {
			// The next viewer joins once this one has played a while.
			waitPlayed(ctx, t, pages[i-1], hosts[i], joinAfterSec)
		}
		pages[i] = tn.StartChromium(ctx, t, hosts[i+1], chromium, origin)
		if err := pages[i].Open(ctx, origin+"/watch/"+ih); err != nil {
			t.Fatal(err)
		}
	}
	states := make([]playerState, carryViewers)
	for i, page := range pages {
		states[i] = waitPlayed(ctx, t, page, hosts[i+1], carryPlaySec)
	}

	// Every viewer has the whole film by now (it took seconds; they played
	// 20): the pages' figures stand still, and their last reports reach the
	// node within 5 s. The node's figures and the pages' must agree
	// (acceptance 3).
	var pagesFromNode, pagesFromViewers int64
	for i, page := range pages {
		if err := page.Eval(ctx, playerStateJS, &states[i]); err != nil {
			t.Fatal(err)
		}
		pagesFromNode += states[i].RTC + states[i].HTTP
		pagesFromViewers += states[i].Viewers
	}
	var node apiTorrentStats
	err = testnet.WaitFor(15*time.Second, func() error {
		if err := seed.GetJSON(ctx, "/api/torrents/"+ih, &node); err != nil {
			return err
		}
		o := node.Offload
		if !within(o.NodeToViewers, pagesFromNode, 0.05) || !within(o.ViewersToViewers, pagesFromViewers, 0.05) || o.Viewers != carryViewers {
			return fmt.Errorf("the node's offload figures %+v; the pages count %d bytes from the node and %d from viewers, from %d pages",
				o, pagesFromNode, pagesFromViewers, carryViewers)
		}
		return nil
	})
	if err != nil {
		t.Errorf("the node's figures and the pages' disagree by over 5 %%: %v", err)
	}
	var sent int64
	for _, tr := range node.Transports {
		sent += tr.BytesOut
	}
	sentAfter, err := tn.SentBytes(ctx, "seed")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("offload: %+v; the seed host sent %d bytes at its interface (pages, scripts, signaling and packet headers included)",
		node.Offload, sentAfter-sentBefore)
	// The node counts what it writes to its sockets; a stream the page
	// drops at the hand-over may leave a little of that unsent.
	if wire := sentAfter - sentBefore; float64(wire) < 0.95*float64(sent) {
		t.Errorf("the node counts %d bytes sent, over 5 %% more than its interface carried (%d)", sent, wire)
	}
	for i, st := range states {
		t.Logf("%s: mode %s; from viewers %d, from the node %d over WebRTC and %d over HTTP",
			hosts[i+1], st.Mode, st.Viewers, st.RTC, st.HTTP)
		if st.Mode != "p2p" {
			t.Errorf("%s plays in mode %s, want p2p", hosts[i+1], st.Mode)
		}
	}
	t.Logf("node sent %d bytes, %.2f file sizes of %d: %+v", sent, float64(sent)/float64(film.Length), film.Length, node.Transports)
	if limit := int64(maxNodeUpload * float64(film.Length)); sent > limit {
		t.Errorf("the node sent %d bytes, %.2f file sizes; want under %.1f (%d bytes)", sent, float64(sent)/float64(film.Length), maxNodeUpload, limit)
	}
	last := states[len(states)-1]
	total := last.Viewers + last.RTC + last.HTTP
	if total == 0 || float64(last.Viewers) < minFromViewers*float64(total) {
		t.Errorf("the last viewer took %d of its %d bytes from other viewers; want at least %.0f %%", last.Viewers, total, minFromViewers*100)
	}
}

// waitPlayed waits until the watch page in page, at host, has played
// past sec, and returns what it shows then.
func waitPlayed(ctx context.Context, t *testing.T, page *testnet.Page, host string, sec float64) playerState {
	t.Helper()
	return waitPlayedOver(ctx, t, page, host, sec, "")
}

// TestSlowNode caps the node's upload below the pilot's bitrate (about 66
// KB/s) for a single viewer (issue 10, acceptance 2): the first frame still
// arrives, and then the page says it waits for the network, with no error.
func TestSlowNode(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	tn, origin, chromium := pageNet(t, "seed", "viewer1")
	seed := startServeIn(ctx, t, tn, "seed", readyTimeout, "--no-dht", "--no-port-forwarding", "--upload-rate", "40KB/s")
	ih := pilotInfohash(ctx, t, seed)
	page := tn.StartChromium(ctx, t, "viewer1", chromium, origin)
	start := time.Now()
	if err := page.Open(ctx, origin+"/watch/"+ih); err != nil {
		t.Fatal(err)
	}
	waitPlayed(ctx, t, page, "viewer1", 0)
	t.Logf("first frame %v after navigating", time.Since(start).Round(time.Millisecond))
	var got struct {
		State, Mode, Message, MediaError string
	}
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	var failed bool // an error shown ends the wait
	err := testnet.Poll(wctx, nil, func(ctx context.Context) error {
		err := page.Eval(ctx, `(() => {
  const p = document.querySelector('[data-player]')
  const v = document.querySelector('video')
  return { state: p.dataset.state, mode: p.dataset.mode, message: p.querySelector('[data-role="message"]').textContent, mediaError: v.error ? String(v.error.code) : '' }
})()`, &got)
		if err != nil {
			return err
		}
		if got.State == "error" || got.MediaError != "" {
			failed = true
			return nil
		}
		if got.State != "buffering" || got.Message != "Waiting for the network…" {
			return fmt.Errorf("the page shows %+v, want it buffering and saying it waits for the network", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if failed {
		t.Fatalf("the page shows an error: %+v", got)
	}
	t.Logf("the page: %+v", got)
}

// within reports whether got is within frac of want.
func within(got, want int64, frac float64) bool {
	d := float64(got - want)
	return d <= frac*float64(want) && -d <= frac*float64(want)
}

// countPeerConnections counts the RTCPeerConnections a page makes, in
// window.rtcCount.
const countPeerConnections = `(() => {
  const C = window.RTCPeerConnection
  let n = 0
  window.RTCPeerConnection = function (...args) { n++; return new C(...args) }
  window.RTCPeerConnection.prototype = C.prototype
  Object.defineProperty(window, 'rtcCount', { get: () => n })
})()`

// TestP2PMinViewers runs the node with --p2p-min-viewers 3 (issue 10,
// acceptance 1): the first two viewers stream from the node alone, make no
// peer connection and say why; the third, with two watching, plays
// peer-to-peer.
func TestP2PMinViewers(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	hosts := []string{"seed", "viewer1", "viewer2", "viewer3"}
	tn, origin, chromium := pageNet(t, hosts...)
	seed := startServeIn(ctx, t, tn, "seed", readyTimeout, "--no-dht", "--no-port-forwarding", "--p2p-min-viewers", "3")
	ih := pilotInfohash(ctx, t, seed)
	for i, host := range hosts[1:] {
		page := tn.StartChromium(ctx, t, host, chromium, origin)
		if err := page.InitScript(ctx, countPeerConnections); err != nil {
			t.Fatal(err)
		}
		if err := page.Open(ctx, origin+"/watch/"+ih); err != nil {
			t.Fatal(err)
		}
		st := waitPlayed(ctx, t, page, host, playedSec)
		var pcs int
		var says string
		if err := page.Eval(ctx, `rtcCount`, &pcs); err != nil {
			t.Fatal(err)
		}
		if err := page.Eval(ctx, `document.querySelector('.delivery .switch')?.textContent ?? ''`, &says); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: mode %s, %d peer connections; the page says %q", host, st.Mode, pcs, says)
		if i < 2 {
			if st.Mode != "stream" || st.Controlled || pcs != 0 {
				t.Errorf("%s, with %d watching before: mode %s, service worker %v, %d peer connections; want a stream from the node and none",
					host, i, st.Mode, st.Controlled, pcs)
			}
			if !strings.Contains(says, "Peer-to-peer starts once 3 people watch") {
				t.Errorf("%s: the page says %q, want it to say when peer-to-peer starts", host, says)
			}
			// The next viewer counts this one once its first report is in.
			err := testnet.WaitFor(15*time.Second, func() error {
				var node apiTorrentStats
				if err := seed.GetJSON(ctx, "/api/torrents/"+ih, &node); err != nil {
					return err
				}
				if node.Offload.Viewers < i+1 {
					return fmt.Errorf("the node counts %d viewers, want %d", node.Offload.Viewers, i+1)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			continue
		}
		if st.Mode != "p2p" || pcs == 0 {
			t.Errorf("%s, with 2 watching before: mode %s, %d peer connections; want peer-to-peer", host, st.Mode, pcs)
		}
	}
}
