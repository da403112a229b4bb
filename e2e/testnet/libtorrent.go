package testnet

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

// libtorrentSeedScript seeds argv[1] (a .torrent) from the data in argv[2]
// with libtorrent-rasterbar: TCP only, listening on argv[3] (host:port),
// its upload capped at argv[4] bytes/s (0: no cap). It prints "seeding"
// once it accepts peers, then tracker and peer events and its upload each
// second, until it is killed.
const libtorrentSeedScript = `
import sys, time
import libtorrent as lt

torrent, save_path, listen, rate = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
settings = {
    # Peers come to it: no DHT, no local discovery, no port mapping.
    'enable_dht': False,
    'enable_lsd': False,
    'enable_upnp': False,
    'enable_natpmp': False,
    # TCP only: a classic swarm seedcast bridges to browsers.
    'enable_outgoing_utp': False,
    'enable_incoming_utp': False,
    'listen_interfaces': listen,
    'allow_multiple_connections_per_ip': True,
    'upload_rate_limit': rate,
    'alert_mask': lt.alert.category_t.error_notification
        | lt.alert.category_t.status_notification
        | lt.alert.category_t.connect_notification,
}
# The default plugins include ut_metadata (BEP 9), without which a peer
# that has only the magnet never gets the info, and ut_pex.
ses = lt.session(settings, lt.session_flags_t.add_default_plugins)
# libtorrent puts peers on a local network in a class no rate limit
# applies to; the test's peers are all local, and the cap must hold.
f = lt.ip_filter()
f.add_rule('0.0.0.0', '255.255.255.255', 1 << lt.session.global_peer_class_id)
ses.set_peer_class_filter(f)
atp = lt.add_torrent_params()
atp.ti = lt.torrent_info(torrent)
atp.save_path = save_path
atp.flags |= lt.torrent_flags.seed_mode
h = ses.add_torrent(atp)
said = False
last = 0
while True:
    for a in ses.pop_alerts():
        print('alert %s: %s' % (type(a).__name__, a.message()), flush=True)
    s = h.status()
    if s.errc.value() != 0:
        print('torrent error: %s' % s.errc.message(), flush=True)
        sys.exit(1)
    # is_seeding holds from the start in seed mode, while the torrent is
    # still checking its resume data and paused until the session's
    # queue starts it: until then it turns peers away, and a node that
    # dials its x.pe hint once would never come back.
    if s.state == lt.torrent_status.seeding and not s.flags & lt.torrent_flags.paused and not said:
        said = True
        print('seeding', flush=True)
    if time.monotonic() - last >= 1:
        last = time.monotonic()
        print('peers %d up %d B/s uploaded %d B' % (s.num_peers, s.upload_rate, s.total_payload_upload), flush=True)
    ses.wait_for_alert(200)
`

// libtorrentPython is where to look for a python3 that can import
// libtorrent: Debian's python3-libtorrent installs into the system
// python, which a pyenv python3 on PATH does not see.
var libtorrentPython = []string{"python3", "/usr/bin/python3"}

// RequireLibtorrentPython returns a python3 that can `import libtorrent`,
// skipping the test locally if there is none and failing it under CI.
func RequireLibtorrentPython(tb testing.TB) string {
	tb.Helper()
	for _, py := range libtorrentPython {
		path, err := exec.LookPath(py)
		if err != nil {
			continue
		}
		if exec.Command(path, "-c", "import libtorrent").Run() == nil {
			return path
		}
	}
	if InCI() {
		tb.Fatalf("no python3 with libtorrent but CI=true: .ci/run must install python3-libtorrent")
	}
	tb.Skipf("skipping: no python3 can import libtorrent (apt-get install python3-libtorrent)")
	return ""
}

// LibtorrentSeed is a libtorrent seeder started by StartLibtorrentSeed.
type LibtorrentSeed struct {
	*Process
	// Addr is where it listens, host:port.
	Addr string
}

// StartLibtorrentSeed seeds the file of torrent, which lies in dir, with
// libtorrent in host on port (TCP only), its upload capped at rate
// bytes/s (0: no cap), and returns once it serves. It stops with the test.
func (n *Net) StartLibtorrentSeed(ctx context.Context, tb testing.TB, host, torrent, dir string, port, rate int) *LibtorrentSeed {
	tb.Helper()
	py := RequireLibtorrentPython(tb)
	script := filepath.Join(tb.TempDir(), "seed.py")
	if err := os.WriteFile(script, []byte(libtorrentSeedScript), 0o644); err != nil {
		tb.Fatal(err)
	}
	addr := n.Addr(host).String() + ":" + strconv.Itoa(port)
	cmd := n.Command(context.WithoutCancel(ctx), host, py, "-u", script, torrent, dir, addr, strconv.Itoa(rate))
	p := Start(tb, "libtorrent seed", cmd)
	tb.Cleanup(p.Kill)
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := Poll(wctx, p, func(context.Context) error {
		// A line of its own: the alert "state changed to: seeding" ends
		// the same way, before the torrent accepts peers.
		if !strings.Contains("\n"+p.Stdout().String(), "\nseeding\n") {
			return errors.New("not seeding yet")
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("libtorrent seed in %s: %v", host, err)
	}
	return &LibtorrentSeed{Process: p, Addr: addr}
}

// WriteTorrent writes a v1 .torrent of the file at path, with pieces of
// pieceLen bytes and no tracker, next to it, and returns the .torrent's
// path and the info hash in hex.
func WriteTorrent(tb testing.TB, path string, pieceLen int64) (torrent, infohash string) {
	tb.Helper()
	info := metainfo.Info{PieceLength: pieceLen}
	if err := info.BuildFromFilePath(path); err != nil {
		tb.Fatalf("torrent of %s: %v", path, err)
	}
	b, err := bencode.Marshal(info)
	if err != nil {
		tb.Fatal(err)
	}
	mi := metainfo.MetaInfo{InfoBytes: b, CreatedBy: "seedcast test"}
	torrent = path + ".torrent"
	f, err := os.Create(torrent)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := mi.Write(f); err != nil {
		tb.Fatal(err)
	}
	return torrent, mi.HashInfoBytes().HexString()
}
