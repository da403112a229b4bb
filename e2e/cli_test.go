//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seedcast/seedcast/e2e/testnet"
)

// TestMagnetWaiting serves a magnet that no peer has: serve must say in
// its log, every few seconds, how many peers it waits on and for how long,
// and the watch page must say the same and keep saying it as time passes,
// polling the node instead of reloading itself.
func TestMagnetWaiting(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	tn, origin, chromium := pageNet(t, "seed", "viewer")
	const ih = "5eedca5700000000000000000000000000000001"
	n := startServeIn(ctx, t, tn, "seed", readyTimeout, "--no-dht", "--no-port-forwarding",
		"magnet:?xt=urn:btih:"+ih+"&dn=nobody-has-it")

	// The log: a line every few seconds, whose wait grows.
	logLine := regexp.MustCompile(`msg="waiting for the torrent's info" component=swarm infohash=` + ih + ` peers=0 waited=(\d+)s`)
	var waited []int
	err := testnet.Poll(ctx, n.Proc, func(context.Context) error {
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
	if waited[1] <= waited[0] {
		t.Errorf("waited %ds, then %ds: want the wait to grow", waited[0], waited[1])
	}

	// The page as served.
	res, body := httpGet(ctx, t, tn.HTTPClient("viewer"), origin+"/watch/"+ih)
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET /watch/%s: %s, want 503 until the info comes", ih, res.Status)
	}
	served := regexp.MustCompile(`Waiting for the torrent&#39;s info from 0 peers for (\d+)s\.`)
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
	shown := regexp.MustCompile(`^Waiting for the torrent's info from 0 peers for (\d+)s\.$`)
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
	first, err := readWait()
	if err != nil {
		t.Fatal(err)
	}
	err = testnet.Poll(ctx, n.Proc, func(context.Context) error {
		later, err := readWait()
		if err != nil {
			return err
		}
		if later < first+4 {
			return fmt.Errorf("the page says %ds, first %ds: want it to count on", later, first)
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
