//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/seedcast/seedcast/e2e/testnet"
)

// libtorrentScrapeScript adds argv[1] (a .torrent) paused, so that it
// neither announces nor connects, asks its HTTP tracker for a scrape
// (BEP 48) and prints the counts of the reply as libtorrent read them:
// "scrape complete=C incomplete=I". libtorrent looks the keys up exactly
// and reports -1 for a key it does not find.
const libtorrentScrapeScript = `
import sys, time
import libtorrent as lt

torrent, save_path = sys.argv[1], sys.argv[2]
ses = lt.session({
    'enable_dht': False,
    'enable_lsd': False,
    'enable_upnp': False,
    'enable_natpmp': False,
    'listen_interfaces': '127.0.0.1:0',
    'outgoing_interfaces': '127.0.0.1',
    # Its SSRF mitigation refuses a tracker on loopback any path but
    # /announce, and so the scrape of one.
    'ssrf_mitigation': False,
    'alert_mask': lt.alert.category_t.error_notification
        | lt.alert.category_t.status_notification
        | lt.alert.category_t.tracker_notification,
}, 0)
atp = lt.add_torrent_params()
atp.ti = lt.torrent_info(torrent)
atp.save_path = save_path
atp.flags = (atp.flags | lt.torrent_flags.paused) & ~lt.torrent_flags.auto_managed
h = ses.add_torrent(atp)
idx = [i for i, t in enumerate(h.trackers()) if t['url'].startswith('http')]
if not idx:
    print('no HTTP tracker in %r' % [t['url'] for t in h.trackers()], flush=True)
    sys.exit(2)
h.scrape_tracker(idx[0])
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    for a in ses.pop_alerts():
        print('alert %s: %s' % (type(a).__name__, a.message()), flush=True)
        if isinstance(a, lt.scrape_reply_alert):
            print('scrape complete=%d incomplete=%d' % (a.complete, a.incomplete), flush=True)
            sys.exit(0)
        if isinstance(a, lt.scrape_failed_alert):
            print('scrape failed: %s / %s' % (a.error.message(), a.error_message()), flush=True)
            sys.exit(1)
    ses.wait_for_alert(200)
print('no scrape reply within 60 s', flush=True)
sys.exit(1)
`

var scrapeLine = regexp.MustCompile(`(?m)^scrape complete=(-?\d+) incomplete=(-?\d+)$`)

// TestScrapeLibtorrent has libtorrent scrape seedcast's HTTP tracker for a
// torrent the node seeds: the reply must carry BEP 48's keys, which
// libtorrent looks up exactly, so that it reads the node as a seed and
// nobody leeching (a key it cannot find reads -1).
func TestScrapeLibtorrent(t *testing.T) {
	t.Parallel()
	py := testnet.RequireLibtorrentPython(t)
	src := testnet.WriteRandomFile(t, 300<<10)
	n := startServe(t, serveNoWebseed(), serveArgs(src.Path))
	tt := n.torrent(t, "random.bin")
	_, torrentPath := n.metainfo(t, tt.Infohash)

	script := filepath.Join(t.TempDir(), "scrape.py")
	if err := os.WriteFile(script, []byte(libtorrentScrapeScript), 0o644); err != nil {
		t.Fatal(err)
	}
	p := testnet.Start(t, "libtorrent scrape", exec.Command(py, "-u", script, torrentPath, t.TempDir()))
	if err := p.Wait(90 * time.Second); err != nil {
		t.Fatalf("libtorrent got no scrape reply: %v", err)
	}
	m := scrapeLine.FindStringSubmatch(p.Stdout().String())
	if m == nil {
		t.Fatalf("libtorrent printed no scrape line:\n%s", p.Output())
	}
	complete, _ := strconv.Atoi(m[1])
	incomplete, _ := strconv.Atoi(m[2])
	// The node is a seed twice over: the TCP seed the tracker lists, and
	// a seeder of its WebSocket swarm.
	if complete != 1 || incomplete != 0 {
		t.Errorf("libtorrent read complete=%d incomplete=%d from the scrape, want 1 and 0 (the node seeding, once, nobody leeching; -1 is a key it did not find)", complete, incomplete)
	}
}
