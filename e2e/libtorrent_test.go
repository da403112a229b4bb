//go:build e2e

package e2e

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/seedcast/seedcast/e2e/testnet"
)

// libtorrentSeedScript seeds argv[1] (a .torrent) from the data in argv[2]
// with libtorrent-rasterbar: TCP only, listening on argv[3] (host:port),
// its upload capped at argv[4] bytes/s (0: no cap). It prints "seeding"
// once it serves, then tracker and peer events and its upload each second,
// until it is killed.
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
    if s.is_seeding and not said:
        said = True
        print('seeding', flush=True)
    if time.monotonic() - last >= 1:
        last = time.monotonic()
        print('peers %d up %d B/s uploaded %d B' % (s.num_peers, s.upload_rate, s.total_payload_upload), flush=True)
    ses.wait_for_alert(200)
`

// libtorrentSeed is a libtorrent seeder started by startLibtorrentSeed.
type libtorrentSeed struct {
	*testnet.Process
	// Addr is where it listens, host:port.
	Addr string
}

// startLibtorrentSeed seeds the file of torrent, which lies in dir, with
// libtorrent in host of tn on port (TCP only), its upload capped at rate
// bytes/s (0: no cap), and returns once it serves. It stops with the test.
func startLibtorrentSeed(ctx context.Context, t *testing.T, tn *testnet.Net, host, torrent, dir string, port, rate int) *libtorrentSeed {
	t.Helper()
	py := requireLibtorrentPython(t)
	script := filepath.Join(t.TempDir(), "seed.py")
	if err := os.WriteFile(script, []byte(libtorrentSeedScript), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := tn.Addr(host).String() + ":" + strconv.Itoa(port)
	cmd := tn.Command(context.WithoutCancel(ctx), host, py, "-u", script, torrent, dir, addr, strconv.Itoa(rate))
	p := testnet.Start(t, "libtorrent seed", cmd)
	t.Cleanup(p.Kill)
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := testnet.Poll(wctx, p, func(context.Context) error {
		if !strings.Contains(p.Stdout().String(), "seeding\n") {
			return errors.New("not seeding yet")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("libtorrent seed in %s: %v", host, err)
	}
	return &libtorrentSeed{Process: p, Addr: addr}
}

// writeTorrent writes a v1 .torrent of the file at path, with pieces of
// pieceLen bytes and no tracker, next to it, and returns the .torrent's
// path and the info hash in hex.
func writeTorrent(t *testing.T, path string, pieceLen int64) (torrent, infohash string) {
	t.Helper()
	info := metainfo.Info{PieceLength: pieceLen}
	if err := info.BuildFromFilePath(path); err != nil {
		t.Fatalf("torrent of %s: %v", path, err)
	}
	b, err := bencode.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	mi := metainfo.MetaInfo{InfoBytes: b, CreatedBy: "seedcast e2e"}
	torrent = path + ".torrent"
	f, err := os.Create(torrent)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := mi.Write(f); err != nil {
		t.Fatal(err)
	}
	return torrent, mi.HashInfoBytes().HexString()
}
