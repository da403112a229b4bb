//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seedcast/seedcast/e2e/testnet"
)

// downloadTimeout bounds one client's download of one torrent, from start to
// the last byte on disk.
const downloadTimeout = 3 * time.Minute

// maxPieceBytes is the largest piece length seedcast may choose: browsers
// handle pieces of at most 1 MiB well (DESIGN.md, "Protocol facts").
const maxPieceBytes = 1 << 20

// TestNativeClients has aria2c, transmission-cli and libtorrent (through
// python3-libtorrent) each download the demo pilot and a 50 MB folder of
// nested files from `seedcast serve`, and compares every downloaded file with
// its source by SHA-256.
//
// The clients must find the seed through seedcast's own HTTP tracker alone:
// serve runs with --no-webseed, so the torrents carry no url-list, and every
// client runs with DHT, local peer discovery, PEX and UPnP/NAT-PMP off and
// binds 127.0.0.1 only, so the clients send nothing off loopback. Peers talk
// TCP (uTP is off in the clients that have it).
//
// The two torrents download in parallel; within a torrent the clients take
// turns, so each one can only have its bytes from seedcast.
func TestNativeClients(t *testing.T) {
	content := t.TempDir()
	folder := filepath.Join(content, "random-folder")
	randomTree(t, folder, 50<<20)

	type torrentCase struct {
		name    string // subtest name
		src     string // the file or folder serve seeds
		missing error  // why src is missing, if it is
	}
	cases := []torrentCase{
		{name: "pilot", src: filepath.Join(content, "seedcast-pilot.mp4")},
		{name: "folder", src: folder},
	}
	// Seed a copy of the pilot (the same bytes as the built-in demo): serve
	// seeds files in place, and must have no way to touch the checkout.
	if err := copyFile(pilotPath(), cases[0].src); err != nil {
		cases[0].missing = err
	}
	var args []string
	for _, tc := range cases {
		if tc.missing == nil {
			args = append(args, tc.src)
		}
	}
	n := startServe(t, serveNoWebseed(), serveArgs(args...))

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.missing != nil {
				if inCI() {
					t.Fatalf("demo pilot missing but CI=true: %v", tc.missing)
				}
				t.Skipf("skipping: demo pilot missing: %v", tc.missing)
			}
			t.Parallel()
			want, err := describeSource(tc.src)
			if err != nil {
				t.Fatal(err)
			}
			tt := n.torrent(t, filepath.Base(tc.src))
			raw, torrentPath := n.metainfo(t, tt.Infohash)
			checkMetainfo(t, raw, tt, n, want)
			if t.Failed() {
				t.FailNow()
			}
			for _, c := range nativeClients {
				t.Run(c.name, func(t *testing.T) {
					j := downloadJob{
						bin:     c.require(t),
						torrent: torrentPath,
						dir:     t.TempDir(),
						port:    freePort(t, true),
						timeout: downloadTimeout,
					}
					start := time.Now()
					c.download(t, j)
					checkDownload(t, j.dir, want)
					if !t.Failed() {
						t.Logf("%s downloaded %s (%d bytes) in %v", c.name, tt.Name, tt.Length, time.Since(start).Round(time.Millisecond))
					}
				})
			}
		})
	}
}

// A nativeClient is a BitTorrent client the test drives as a subprocess.
type nativeClient struct {
	name string
	// require returns the program to run, skipping the test locally if it is
	// missing and failing it under CI.
	require func(t testing.TB) string
	// download fetches j.torrent into j.dir and returns when every byte is
	// on disk and the client has exited, or fails the test after j.timeout.
	download func(t *testing.T, j downloadJob)
}

// downloadJob is one client's download of one torrent.
type downloadJob struct {
	bin     string        // the client program
	torrent string        // path of the .torrent file
	dir     string        // download directory, empty
	port    int           // free TCP and UDP port on 127.0.0.1 for the client to listen on
	timeout time.Duration // deadline for the whole download
}

var nativeClients = []nativeClient{
	{
		name:     "aria2c",
		require:  func(t testing.TB) string { return requireTool(t, "aria2c") },
		download: aria2Download,
	},
	{
		name:     "transmission-cli",
		require:  func(t testing.TB) string { return requireTool(t, "transmission-cli") },
		download: transmissionDownload,
	},
	{
		name:     "libtorrent",
		require:  testnet.RequireLibtorrentPython,
		download: libtorrentDownload,
	},
}

// aria2Download runs aria2c, which exits by itself once the download is
// complete and verified (--seed-time=0), with status 0 only on success.
func aria2Download(t *testing.T, j downloadJob) {
	cmd := exec.Command(j.bin,
		"--no-conf=true",
		"--dir="+j.dir,
		// Find peers through the tracker only.
		"--enable-dht=false",
		"--enable-dht6=false",
		"--bt-enable-lpd=false",
		"--enable-peer-exchange=false",
		// Stay on loopback: bind every socket, the listener included, to
		// 127.0.0.1, and don't try IPv6.
		"--interface=127.0.0.1",
		"--disable-ipv6=true",
		"--listen-port="+strconv.Itoa(j.port),
		"--async-dns=false",
		// Stop once done; fail rather than hang if no byte arrives for a minute.
		"--seed-time=0",
		"--bt-stop-timeout=60",
		"--check-integrity=true",
		"--bt-save-metadata=false",
		"--file-allocation=none",
		"--auto-file-renaming=false",
		"--summary-interval=0",
		"--console-log-level=warn",
		"--log=-",
		"--log-level=info",
		j.torrent,
	)
	p := testnet.Start(t, "aria2c", cmd)
	if err := p.Wait(j.timeout); err != nil {
		if !p.Exited() {
			p.Kill()
			t.Fatalf("aria2c did not finish within %v", j.timeout)
		}
		t.Fatalf("aria2c failed: %v (exit status 7 means the download was unfinished, see --bt-stop-timeout)", err)
	}
}

// transmissionDownload runs transmission-cli with its own config dir. Unlike
// aria2c it never exits by itself, so a torrent-done script touches a marker
// file, and the test then stops it with SIGINT, which makes it flush and
// close its files.
//
// Transmission 3.00 never dials peers on 127.0.0.0/8 or ::1 (isMartianAddr in
// libtransmission/net.c drops them from tracker replies), so on loopback this
// download works only because seedcast dials transmission: seedcast learns
// transmission's address from its own tracker when it next announces there,
// which anacrolix does at least once a minute while it wants peers.
func transmissionDownload(t *testing.T, j downloadJob) {
	cfgDir := t.TempDir()
	marker := filepath.Join(cfgDir, "torrent-done")
	script := filepath.Join(cfgDir, "torrent-done.sh")
	err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$TR_TORRENT_NAME\" >>"+testnet.ShellQuote([]string{marker})+"\n"), 0o755)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]any{
		// Find peers through the tracker only.
		"dht-enabled":             false,
		"lpd-enabled":             false,
		"pex-enabled":             false,
		"port-forwarding-enabled": false,
		"blocklist-enabled":       false,
		// TCP only, on loopback only.
		"utp-enabled":                  false,
		"bind-address-ipv4":            "127.0.0.1",
		"bind-address-ipv6":            "::1",
		"peer-port":                    j.port,
		"peer-port-random-on-start":    false,
		"rpc-enabled":                  false,
		"download-dir":                 j.dir,
		"incomplete-dir-enabled":       false,
		"rename-partial-files":         false,
		"start-added-torrents":         true,
		"ratio-limit-enabled":          false,
		"speed-limit-down-enabled":     false,
		"speed-limit-up-enabled":       false,
		"alt-speed-enabled":            false,
		"encryption":                   1, // prefer encryption, accept plain
		"message-level":                3, // debug: logs the peers each announce returned
		"script-torrent-done-enabled":  true,
		"script-torrent-done-filename": script,
	}
	b, err := json.MarshalIndent(settings, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfgDir, "settings.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(j.bin,
		"--config-dir", cfgDir,
		"--download-dir", j.dir,
		"--port", strconv.Itoa(j.port),
		"--finish", script,
		"--no-portmap",
		"--no-blocklist",
		j.torrent,
	)
	p := testnet.Start(t, "transmission-cli", cmd)
	// Poll gives up at once if transmission-cli exits before the script ran.
	ctx, cancel := context.WithTimeout(t.Context(), j.timeout)
	defer cancel()
	err = testnet.Poll(ctx, p, func(context.Context) error {
		if _, err := os.Stat(marker); err != nil {
			return errors.New("torrent-done script has not run")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("transmission-cli: %v\n"+
			"(transmission 3.00 ignores tracker peers on 127.0.0.0/8, so it only gets data if seedcast dials it "+
			"at the address it announced to seedcast's tracker: does seedcast's node learn HTTP announcers?)", err)
	}
	if err := p.Stop(20 * time.Second); err != nil {
		// The data is checked next; an unclean exit alone is transmission's
		// business, not seedcast's.
		t.Logf("stopping transmission-cli after the download: %v", err)
	}
}

// libtorrentScript downloads argv[1] (a .torrent) into argv[2] with
// libtorrent-rasterbar, listening on 127.0.0.1:argv[3], and exits 0 once it
// seeds. It prints tracker and peer events as they come.
const libtorrentScript = `
import sys, time
import libtorrent as lt

torrent, save_path, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
settings = {
    # Find peers through the tracker only. Local service discovery is LPD.
    'enable_dht': False,
    'enable_lsd': False,
    'enable_upnp': False,
    'enable_natpmp': False,
    # TCP only, on loopback only.
    'enable_outgoing_utp': False,
    'enable_incoming_utp': False,
    'listen_interfaces': '127.0.0.1:%d' % port,
    'outgoing_interfaces': '127.0.0.1',
    # Every peer here is 127.0.0.1; by default libtorrent keeps one peer per
    # IP address and would forget all but one port.
    'allow_multiple_connections_per_ip': True,
    'alert_mask': lt.alert.category_t.error_notification
        | lt.alert.category_t.status_notification
        | lt.alert.category_t.tracker_notification
        | lt.alert.category_t.connect_notification,
}
# flags=0: no default plugins, so no ut_pex (and no ut_metadata, smart_ban).
ses = lt.session(settings, 0)
atp = lt.add_torrent_params()
atp.ti = lt.torrent_info(torrent)
atp.save_path = save_path
h = ses.add_torrent(atp)
last = 0
while True:
    for a in ses.pop_alerts():
        print('alert %s: %s' % (type(a).__name__, a.message()), flush=True)
    s = h.status()
    if s.errc.value() != 0:
        print('torrent error: %s' % s.errc.message(), flush=True)
        sys.exit(1)
    if s.is_seeding:
        break
    if time.monotonic() - last >= 1:
        last = time.monotonic()
        print('progress %.1f%% peers %d down %d B/s state %s' % (s.progress * 100, s.num_peers, s.download_rate, s.state), flush=True)
    ses.wait_for_alert(200)
print('done: seeding', flush=True)
ses.pause()
h.flush_cache()
ses.remove_torrent(h)
del h
del ses
`

// libtorrentDownload runs libtorrentScript.
func libtorrentDownload(t *testing.T, j downloadJob) {
	script := filepath.Join(t.TempDir(), "download.py")
	if err := os.WriteFile(script, []byte(libtorrentScript), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(j.bin, "-u", script, j.torrent, j.dir, strconv.Itoa(j.port))
	p := testnet.Start(t, "libtorrent", cmd)
	if err := p.Wait(j.timeout); err != nil {
		if !p.Exited() {
			p.Kill()
			t.Fatalf("libtorrent did not finish within %v", j.timeout)
		}
		t.Fatalf("libtorrent failed: %v", err)
	}
}

// fileWant is what a downloaded file must be.
type fileWant struct {
	length int64
	sha256 string
}

// describeSource returns the length and SHA-256 of each file of src, a file
// or a folder, by the slash-separated path a client saves it under relative
// to its download dir: the file's name, or the folder's name and the path
// within it.
func describeSource(src string) (map[string]fileWant, error) {
	base := filepath.Dir(src)
	want := make(map[string]fileWant)
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		sum, err := sha256File(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(base, path)
		if err != nil {
			return err
		}
		want[filepath.ToSlash(rel)] = fileWant{length: fi.Size(), sha256: sum}
		return nil
	})
	return want, err
}

// checkDownload compares every file under dir with want.
func checkDownload(t *testing.T, dir string, want map[string]fileWant) {
	t.Helper()
	got, err := hashTree(dir)
	if err != nil {
		t.Fatalf("hashing the download: %v", err)
	}
	for _, path := range slices.Sorted(maps.Keys(want)) {
		w := want[path]
		sum, ok := got[path]
		switch {
		case !ok:
			t.Errorf("%s: missing from the download", path)
		case sum != w.sha256:
			var size int64 = -1
			if fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(path))); err == nil {
				size = fi.Size()
			}
			t.Errorf("%s: SHA-256 %s (%d bytes), want %s (%d bytes)", path, sum, size, w.sha256, w.length)
		}
	}
	for path := range got {
		if _, ok := want[path]; !ok {
			// Clients keep state files beside the data (aria2's *.aria2
			// while unfinished); only report them.
			t.Logf("extra file in the download dir: %s", path)
		}
	}
}

// checkMetainfo checks what /torrents/{infohash}.torrent must hold for these
// clients: the info hash, trackers that are seedcast's own HTTP and WebSocket
// tracker and nothing off loopback, no url-list under --no-webseed, pieces of
// at most 1 MiB, and the files of the source.
func checkMetainfo(t *testing.T, raw []byte, tt apiTorrent, n *node, want map[string]fileWant) {
	t.Helper()
	top, infoRaw, err := decodeMetainfo(raw)
	if err != nil {
		t.Fatalf("/torrents/%s.torrent: %v", tt.Infohash, err)
	}
	sum := sha1.Sum(infoRaw)
	if got := hex.EncodeToString(sum[:]); got != strings.ToLower(tt.Infohash) {
		t.Errorf("SHA-1 of the info dict is %s, but /api/torrents says infohash %s", got, tt.Infohash)
	}

	var trackers []string
	if s, ok := top["announce"].(string); ok {
		trackers = append(trackers, s)
	}
	if tiers, ok := top["announce-list"].([]any); ok {
		for _, tier := range tiers {
			urls, _ := tier.([]any)
			for _, u := range urls {
				if s, ok := u.(string); ok {
					trackers = append(trackers, s)
				}
			}
		}
	}
	host := "127.0.0.1:" + strconv.Itoa(n.HTTPPort)
	for _, wantTracker := range []string{"http://" + host + "/announce", "ws://" + host + "/announce"} {
		if !slices.Contains(trackers, wantTracker) {
			t.Errorf("trackers %q lack seedcast's own %s", trackers, wantTracker)
		}
	}
	for _, tr := range trackers {
		if u, err := url.Parse(tr); err != nil || u.Hostname() != "127.0.0.1" {
			t.Errorf("tracker %q is not on loopback: clients would announce off the machine", tr)
		}
	}
	if ul, ok := top["url-list"]; ok && !isEmpty(ul) {
		t.Errorf("url-list = %q despite --no-webseed", ul)
	}

	info, ok := top["info"].(map[string]any)
	if !ok {
		t.Fatalf("metainfo has no info dict")
	}
	if pl, _ := info["piece length"].(int64); pl <= 0 || pl > maxPieceBytes {
		t.Errorf("piece length = %d, want 1..%d", pl, maxPieceBytes)
	}
	name, _ := info["name"].(string)
	if name != tt.Name {
		t.Errorf("info name = %q, /api/torrents name = %q", name, tt.Name)
	}
	got := make(map[string]int64)
	if files, ok := info["files"].([]any); ok {
		for _, f := range files {
			fd, _ := f.(map[string]any)
			length, _ := fd["length"].(int64)
			var parts []string
			if ps, ok := fd["path"].([]any); ok {
				for _, p := range ps {
					s, _ := p.(string)
					parts = append(parts, s)
				}
			}
			got[name+"/"+strings.Join(parts, "/")] = length
		}
	} else {
		length, _ := info["length"].(int64)
		got[name] = length
	}
	wantLengths := make(map[string]int64)
	var total int64
	for path, w := range want {
		wantLengths[path] = w.length
		total += w.length
	}
	if !maps.Equal(got, wantLengths) {
		t.Errorf("metainfo files = %v, want %v", got, wantLengths)
	}
	if tt.Length != total {
		t.Errorf("/api/torrents length = %d, want %d", tt.Length, total)
	}
}

func isEmpty(v any) bool {
	switch v := v.(type) {
	case string:
		return v == ""
	case []any:
		return len(v) == 0
	}
	return false
}

// decodeMetainfo decodes a .torrent and returns its top-level dict and the
// raw bytes of its info dict, whose SHA-1 is the v1 info hash.
func decodeMetainfo(b []byte) (top map[string]any, infoRaw []byte, err error) {
	if len(b) == 0 || b[0] != 'd' {
		return nil, nil, errors.New("bencode: metainfo is not a dict")
	}
	top = make(map[string]any)
	i := 1
	for i < len(b) && b[i] != 'e' {
		k, next, err := bdecode(b, i)
		if err != nil {
			return nil, nil, err
		}
		key, ok := k.(string)
		if !ok {
			return nil, nil, fmt.Errorf("bencode: dict key at %d is not a string", i)
		}
		start := next
		v, next, err := bdecode(b, start)
		if err != nil {
			return nil, nil, err
		}
		if key == "info" {
			infoRaw = b[start:next]
		}
		top[key] = v
		i = next
	}
	if i != len(b)-1 {
		return nil, nil, fmt.Errorf("bencode: %d bytes after the metainfo dict", len(b)-1-i)
	}
	if infoRaw == nil {
		return nil, nil, errors.New("bencode: metainfo has no info")
	}
	return top, infoRaw, nil
}

// bdecode decodes the bencoded value at b[i:] (BEP 3) into int64, string,
// []any or map[string]any and returns it with the index just after it.
func bdecode(b []byte, i int) (any, int, error) {
	if i >= len(b) {
		return nil, i, io.ErrUnexpectedEOF
	}
	switch c := b[i]; {
	case c == 'i':
		end := bytes.IndexByte(b[i:], 'e')
		if end < 0 {
			return nil, i, io.ErrUnexpectedEOF
		}
		v, err := strconv.ParseInt(string(b[i+1:i+end]), 10, 64)
		if err != nil {
			return nil, i, fmt.Errorf("bencode: int at %d: %w", i, err)
		}
		return v, i + end + 1, nil
	case c >= '0' && c <= '9':
		colon := bytes.IndexByte(b[i:], ':')
		if colon < 0 {
			return nil, i, io.ErrUnexpectedEOF
		}
		n, err := strconv.Atoi(string(b[i : i+colon]))
		start := i + colon + 1
		if err != nil || n < 0 || start+n > len(b) {
			return nil, i, fmt.Errorf("bencode: bad string length at %d", i)
		}
		return string(b[start : start+n]), start + n, nil
	case c == 'l':
		var l []any
		i++
		for i < len(b) && b[i] != 'e' {
			v, next, err := bdecode(b, i)
			if err != nil {
				return nil, i, err
			}
			l = append(l, v)
			i = next
		}
		if i >= len(b) {
			return nil, i, io.ErrUnexpectedEOF
		}
		return l, i + 1, nil
	case c == 'd':
		d := make(map[string]any)
		i++
		for i < len(b) && b[i] != 'e' {
			k, next, err := bdecode(b, i)
			if err != nil {
				return nil, i, err
			}
			key, ok := k.(string)
			if !ok {
				return nil, i, fmt.Errorf("bencode: dict key at %d is not a string", i)
			}
			v, next, err := bdecode(b, next)
			if err != nil {
				return nil, i, err
			}
			d[key] = v
			i = next
		}
		if i >= len(b) {
			return nil, i, io.ErrUnexpectedEOF
		}
		return d, i + 1, nil
	default:
		return nil, i, fmt.Errorf("bencode: unexpected %q at %d", c, i)
	}
}

// copyFile copies src to dst.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
