//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seedcast/seedcast/e2e/testnet"
)

// TestMagnetWaiting checks acceptance 5 of issue 13: serve is given a
// magnet whose peers never answer (one hinted peer accepts and stays
// silent, another refuses). The node must not crash nor spin: its CPU
// time stays low while it waits and dials the hints again. It says, in its
// log at 5 s and 15 s, how many peers it has and for how long it has
// waited; the API says it waits, with no peer connected and a wait that
// grows; and the watch page says it is looking for peers, counting on in
// place without reloading.
func TestMagnetWaiting(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	tn, origin, chromium := pageNet(t, "seed", "viewer", "mute")
	const ih = "5eedca5700000000000000000000000000000001"
	// The mute peer takes every conn and never says a word.
	mute, err := tn.Listen("mute", "tcp4", netip.AddrPortFrom(tn.Addr("mute"), nsBTPort).String())
	if err != nil {
		t.Fatal(err)
	}
	var (
		muteMu    sync.Mutex
		muteConns []net.Conn
	)
	go func() {
		for {
			c, err := mute.Accept()
			if err != nil {
				return
			}
			muteMu.Lock()
			muteConns = append(muteConns, c)
			muteMu.Unlock()
		}
	}()
	t.Cleanup(func() {
		mute.Close()
		muteMu.Lock()
		defer muteMu.Unlock()
		for _, c := range muteConns {
			c.Close()
		}
	})
	refusing := netip.AddrPortFrom(tn.Addr("mute"), nsBTPort+1)
	n := startServeIn(ctx, t, tn, "seed", readyTimeout, "--no-dht", "--no-port-forwarding",
		"magnet:?xt=urn:btih:"+ih+"&dn=nobody-has-it&x.pe="+mute.Addr().String()+"&x.pe="+refusing.String())

	// The log: a line at 5 s and another at 15 s, whose wait grows.
	logLine := regexp.MustCompile(`msg="waiting for the torrent's info" component=swarm infohash=` + ih + ` peers=0 peers_found=\d+ waited=(\d+)s`)
	var waited []int
	cpuFrom, err := n.Proc.CPU()
	if err != nil {
		t.Fatal(err)
	}
	from := time.Now()
	err = testnet.Poll(ctx, n.Proc, func(context.Context) error {
		waited = waited[:0]
		for _, m := range logLine.FindAllStringSubmatch(n.Proc.Output().String(), -1) {
			s, _ := strconv.Atoi(m[1])
			waited = append(waited, s)
		}
		if len(waited) < 2 {
			return fmt.Errorf("%d log lines that the node waits for the info, want 2", len(waited))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if waited[0] < 5 || waited[1] < 15 || len(waited) > 2 {
		t.Errorf("the node said it waited %v s, want 5 and 15 and no more yet", waited)
	}

	// No spin: over those 10 s or more the node, built with the race
	// detector, used a fraction of a core. A loop that spins takes a whole
	// one.
	cpuTo, err := n.Proc.CPU()
	if err != nil {
		t.Fatal(err)
	}
	wall := time.Since(from)
	if cpu := cpuTo - cpuFrom; cpu > wall/4 {
		t.Errorf("the node used %v of CPU in %v while it waited: it spins", cpu, wall.Round(time.Second))
	} else {
		t.Logf("the node used %v of CPU in %v while it waited", cpu, wall.Round(time.Second))
	}

	// The API: waiting, no peer connected, a wait that grows.
	type apiWait struct {
		Files          []apiFile `json:"files"`
		WaitingForInfo bool      `json:"waiting_for_info"`
		InfoWait       float64   `json:"info_wait_seconds"`
		WaitingSince   time.Time `json:"waiting_since"`
		PeersFound     *int      `json:"peers_found"`
		Transports     map[string]struct {
			Peers int `json:"peers"`
		} `json:"transports"`
	}
	var first, later apiWait
	if err := n.GetJSON(ctx, "/api/torrents/"+ih, &first); err != nil {
		t.Fatal(err)
	}
	checkWait := func(w apiWait) {
		t.Helper()
		peers := 0
		for _, tr := range w.Transports {
			peers += tr.Peers
		}
		if !w.WaitingForInfo || len(w.Files) != 0 || peers != 0 || w.PeersFound == nil || w.WaitingSince.IsZero() {
			t.Errorf("the API says %+v: want waiting for the info, with no file, 0 peers connected, peers found and when it began", w)
		}
	}
	checkWait(first)

	// The page as served.
	res, body := httpGet(ctx, t, tn.HTTPClient("viewer"), origin+"/watch/"+ih)
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET /watch/%s: %s, want 503 until the info comes", ih, res.Status)
	}
	served := regexp.MustCompile(`Looking for peers: \d+ found</span>, <span data-role="waited">\d+ s</span>`)
	if !served.MatchString(body) {
		t.Errorf("the page does not say what the node waits on:\n%s", body)
	}
	if strings.Contains(body, `http-equiv="refresh"`) {
		t.Errorf("the page reloads itself:\n%s", body)
	}

	// The page in a browser: the same words, a wait that grows, and the
	// same document all along.
	page := tn.StartChromium(ctx, t, "viewer", chromium, origin)
	if err := page.Open(ctx, origin+"/watch/"+ih); err != nil {
		t.Fatal(err)
	}
	var marked bool
	if err := page.Eval(ctx, `window.seedcastSameDocument = true`, &marked); err != nil || !marked {
		t.Fatalf("marking the document: %v", err)
	}
	shown := regexp.MustCompile(`^Looking for peers: \d+ found, (\d+) s$`)
	readWait := func() (int, error) {
		var text string
		if err := page.Eval(ctx, `document.querySelector('[data-role="waiting"]').textContent`, &text); err != nil {
			return 0, err
		}
		m := shown.FindStringSubmatch(strings.TrimSpace(text))
		if m == nil {
			return 0, fmt.Errorf("the page says %q", text)
		}
		return strconv.Atoi(m[1])
	}
	shownFirst, err := readWait()
	if err != nil {
		t.Fatal(err)
	}
	err = testnet.Poll(ctx, n.Proc, func(context.Context) error {
		later, err := readWait()
		if err != nil {
			return err
		}
		if later < shownFirst+4 {
			return fmt.Errorf("the page says %d s, first %d s: want it to count on", later, shownFirst)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var same bool
	if err := page.Eval(ctx, `window.seedcastSameDocument === true`, &same); err != nil || !same {
		t.Errorf("the page reloaded while it waited (%v)", err)
	}
	var live string
	if err := page.Eval(ctx, `document.querySelector('[data-role="found"]').getAttribute('aria-live')`, &live); err != nil || live != "polite" {
		t.Errorf("the count of peers is no polite live region: aria-live %q (%v)", live, err)
	}

	if err := n.GetJSON(ctx, "/api/torrents/"+ih, &later); err != nil {
		t.Fatal(err)
	}
	checkWait(later)
	if later.InfoWait < first.InfoWait+4 || !later.WaitingSince.Equal(first.WaitingSince) {
		t.Errorf("the API said it waited %.1f s since %v, then %.1f s since %v: want the wait to grow from one start",
			first.InfoWait, first.WaitingSince, later.InfoWait, later.WaitingSince)
	}
	if n.Proc.Exited() {
		t.Errorf("the node exited: %v", n.Proc.Err())
	}
}

// TestDataDirNotWritable runs serve as a user that cannot write its --data
// dir: it must refuse at once, naming the flag, its env twin, the path and
// the system's reason.
func TestDataDirNotWritable(t *testing.T) {
	t.Parallel()
	testnet.RequireRoot(t)
	// Owned by root and not writable by others, but reachable by all:
	// t.TempDir and the test's folder above it are 0700.
	parent := t.TempDir()
	for _, d := range []string{filepath.Dir(parent), parent} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data := filepath.Join(parent, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	// The binary lies in a 0700 directory of TestMain's: give nobody a
	// copy it can run.
	bin := filepath.Join(parent, "seedcast")
	if err := copyFile(seedcastBin, bin); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--data", data, "--addr", "127.0.0.1:0", "--bt-port", strconv.Itoa(freePort(t, true)),
		"--webrtc-port", strconv.Itoa(freePort(t, true)), "--webrtc-interface", "lo", "--no-dht", "--no-port-forwarding")
	cmd.Env = append(testnet.CleanEnv(), "HOME="+parent)
	const nobody = 65534
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	p := testnet.Start(t, "seedcast as nobody", cmd)
	if err := p.Wait(time.Minute); err == nil {
		t.Fatalf("serve ran with a --data dir it cannot write:\n%s", p.Output())
	}
	out := strings.TrimSpace(p.Output().String())
	last := out[strings.LastIndex(out, "\n")+1:]
	for _, want := range []string{"--data " + data + " (SEEDCAST_DATA)", "permission denied", "user 65534"} {
		if !strings.Contains(last, want) {
			t.Errorf("error %q lacks %q", last, want)
		}
	}
	if strings.Contains(out, "listening") {
		t.Errorf("serve started before refusing:\n%s", out)
	}
}

// TestHealthcheckCommand runs `seedcast healthcheck` against a serve that
// is up, as a container's HEALTHCHECK does.
func TestHealthcheckCommand(t *testing.T) {
	t.Parallel()
	n := startServe(t)
	cmd := exec.Command(seedcastBin, "healthcheck")
	cmd.Env = append(testnet.CleanEnv(), "SEEDCAST_ADDR=127.0.0.1:"+strconv.Itoa(n.HTTPPort))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("healthcheck of a ready node: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "/healthz: ok") {
		t.Errorf("healthcheck printed %q, want the node's answer", out)
	}
}
