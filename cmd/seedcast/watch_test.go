package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seedcast/seedcast/e2e/testnet"
	"github.com/seedcast/seedcast/swarm"
)

// clearEnv unsets every SEEDCAST_* variable for the test.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "SEEDCAST_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
}

func TestWatchConfig(t *testing.T) {
	clearEnv(t)
	const magnet = "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567"
	c, _ := parse(t, []string{"watch",
		"--addr", "0.0.0.0:9100", "--data", "/tmp/w", "--keep", "--open", "--bt-port", "7100", "--webrtc-port", "4100",
		"--no-dht", "--no-port-forwarding", "--tracker", "udp://tracker.example.org:1337", "--upload-rate", "1MB/s",
		magnet}, nil)
	w := c.Watch
	if w.Torrent != magnet || w.Addr != "0.0.0.0:9100" || !w.Keep || !w.Open || w.WebRTCPort != 4100 {
		t.Errorf("flags %+v", w)
	}
	dir, temp, err := w.dataDir()
	if err != nil || dir != "/tmp/w" || temp {
		t.Errorf("data dir %q, temporary %v, %v; want /tmp/w, given", dir, temp, err)
	}
	base, _ := url.Parse("http://127.0.0.1:9100")
	cfg, err := w.config(slog.New(slog.DiscardHandler), base, dir, 4100)
	if err != nil {
		t.Fatal(err)
	}
	sw := cfg.swarm
	if sw.DataDir != "/tmp/w" || sw.BTPort != 7100 || !sw.NoDHT || !sw.NoPortForwarding || sw.UploadRate != 1_000_000 {
		t.Errorf("swarm config %+v", sw)
	}
	if !sw.DialLoopback {
		t.Error("a node on loopback does not dial peers its tracker saw on loopback")
	}
	if want := []string{"ws://127.0.0.1:9100/announce", "http://127.0.0.1:9100/announce"}; !slices.Equal(sw.Announce, want) {
		t.Errorf("announce %v, want %v", sw.Announce, want)
	}
	if want := []string{"udp://tracker.example.org:1337"}; !slices.Equal(sw.Trackers, want) {
		t.Errorf("trackers %v, want %v", sw.Trackers, want)
	}
	if sw.WebSeedBase != "http://127.0.0.1:9100/webseed/" || cfg.web.PublicURL != "http://127.0.0.1:9100" || cfg.base != base {
		t.Errorf("web seed %q, page URL %q, base %v", sw.WebSeedBase, cfg.web.PublicURL, cfg.base)
	}
	if cfg.webrtc.UDPPort != 4100 || cfg.webrtc.Loopback {
		t.Errorf("webrtc config %+v", cfg.webrtc)
	}
	if !cfg.admin.off {
		t.Error("watch's node has an admin API")
	}
	if bar := sw.Meter.Start("fetching", "film", 1); bar != (nopBar{}) {
		t.Errorf("the swarm's meter shows fetching (%T); watch's own line does", bar)
	}
}

// TestWatchConfigDefaults checks the defaults: a loopback player and
// BitTorrent on free ports, a temporary --data, and each flag's own
// environment twin, apart from serve's where watch's default differs.
func TestWatchConfigDefaults(t *testing.T) {
	clearEnv(t)
	t.Setenv("TMPDIR", t.TempDir())
	c, _ := parse(t, []string{"watch", "film.torrent"}, map[string]string{
		"SEEDCAST_ADDR": "0.0.0.0:8080", "SEEDCAST_DATA": "/srv/seedcast", "SEEDCAST_BT_PORT": "6881",
	})
	w := c.Watch
	if w.Addr != "127.0.0.1:0" || w.BTPort != 0 || w.WebRTCPort != 0 || w.Data != "" || w.Keep || w.Open {
		t.Errorf("defaults %+v, want a loopback player on free ports, a temporary --data, serve's environment ignored", w)
	}
	dir, temp, err := w.dataDir()
	if err != nil || !temp || filepath.Dir(dir) != os.Getenv("TMPDIR") {
		t.Fatalf("data dir %q, temporary %v, %v; want a new one in $TMPDIR", dir, temp, err)
	}
	base, _ := url.Parse("http://127.0.0.1:40000")
	cfg, err := w.config(slog.New(slog.DiscardHandler), base, dir, 40001)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.swarm.BTPort != -1 {
		t.Errorf("swarm BTPort %d, want -1: a port the system picks", cfg.swarm.BTPort)
	}
	if cfg.swarm.NoDHT || cfg.swarm.UploadRate != 0 {
		t.Errorf("swarm config %+v", cfg.swarm)
	}

	c, _ = parse(t, []string{"watch", "film.torrent"}, map[string]string{
		"SEEDCAST_WATCH_ADDR": "127.0.0.1:9200", "SEEDCAST_WATCH_KEEP": "true", "SEEDCAST_WATCH_OPEN": "1",
		"SEEDCAST_WATCH_BT_PORT": "7200", "SEEDCAST_WATCH_WEBRTC_PORT": "4200", "SEEDCAST_NO_DHT": "true",
		"XDG_DATA_HOME": "/home/fan/.data",
	})
	w = c.Watch
	if w.Addr != "127.0.0.1:9200" || !w.Keep || !w.Open || w.BTPort != 7200 || w.WebRTCPort != 4200 || !w.NoDHT {
		t.Errorf("from the environment %+v", w)
	}
	if dir, temp, err := w.dataDir(); dir != "/home/fan/.data/seedcast" || temp || err != nil {
		t.Errorf("--keep without --data: %q, temporary %v, %v; want serve's default /home/fan/.data/seedcast", dir, temp, err)
	}
}

func TestWatchConfigRejects(t *testing.T) {
	clearEnv(t)
	base, _ := url.Parse("http://127.0.0.1:40000")
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"watch", "--upload-rate", "fast", "x.torrent"}, "--upload-rate"},
		{[]string{"watch", "--bt-port", "70000", "x.torrent"}, "--bt-port"},
	} {
		c, _ := parse(t, tc.args, nil)
		_, err := c.Watch.config(slog.New(slog.DiscardHandler), base, t.TempDir(), 40001)
		if err == nil || !strings.Contains(err.Error(), tc.flag) {
			t.Errorf("%v: %v, want an error naming %s", tc.args, err, tc.flag)
		}
	}
}

// TestWatchRefusesBadArgument checks that watch with an argument it
// cannot watch fails at once, saying why, before it opens a socket or
// leaves a temporary dir behind.
func TestWatchRefusesBadArgument(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "broken.torrent")
	if err := os.WriteFile(corrupt, []byte("<html>Not found</html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		arg  string
		want []string
	}{
		{"short magnet", "magnet:?xt=urn:btih:abcd", []string{"not a valid magnet link", "want magnet:?xt=urn:btih:"}},
		{"corrupt torrent", corrupt, []string{corrupt, "not a valid .torrent file"}},
		{"missing torrent", filepath.Join(dir, "gone.torrent"), []string{filepath.Join(dir, "gone.torrent"), "no such file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stderr := runCLI(t, nil, "watch", tc.arg)
			wantFix(t, code, 1, stderr, tc.want...)
			if strings.Contains(stderr, "listening") {
				t.Errorf("the node started before refusing:\n%s", stderr)
			}
		})
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("refusals left %d entries in $TMPDIR", len(left))
	}
	code, stderr := runCLI(t, nil, "watch")
	wantFix(t, code, 2, stderr, "<torrent>", "'seedcast watch --help'")
}

func TestBrowserCommands(t *testing.T) {
	const u = "http://127.0.0.1:9/watch/ab"
	for _, tc := range []struct {
		env, goos string
		want      [][]string
	}{
		{"", "linux", [][]string{{"xdg-open", u}}},
		{"", "darwin", [][]string{{"open", u}}},
		{"firefox", "linux", [][]string{{"firefox", u}, {"xdg-open", u}}},
		{"chromium --new-window %s:w3m", "linux", [][]string{{"chromium", "--new-window", u}, {"w3m", u}, {"xdg-open", u}}},
		{"::", "linux", [][]string{{"xdg-open", u}}},
	} {
		if got := browserCommands(u, tc.env, tc.goos); !slices.EqualFunc(got, tc.want, slices.Equal) {
			t.Errorf("BROWSER=%q on %s: %q, want %q", tc.env, tc.goos, got, tc.want)
		}
	}
}

// TestOpenBrowser opens a URL through $BROWSER, a script that writes down
// what it was given, and checks that a BROWSER that cannot run, with no
// xdg-open either, is said in the log and nothing more.
func TestOpenBrowser(t *testing.T) {
	dir := t.TempDir()
	got := filepath.Join(dir, "opened")
	script := filepath.Join(dir, "browser")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nprintf '%s' \"$1\" > "+got+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	const u = "http://127.0.0.1:9/watch/0123456789abcdef0123456789abcdef01234567"
	var logs testnet.Buffer
	openBrowser(u, script, slog.New(slog.NewTextHandler(&logs, nil)))
	err := testnet.WaitFor(10*time.Second, func() error {
		b, err := os.ReadFile(got)
		if err != nil || string(b) != u {
			return fmt.Errorf("the browser got %q (%v), want %s", b, err, u)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	if !strings.Contains(logs.String(), `msg="opening the watch page" with=`+script) {
		t.Errorf("log:\n%s", logs.String())
	}

	t.Setenv("PATH", dir) // no xdg-open
	logs = testnet.Buffer{}
	openBrowser(u, filepath.Join(dir, "no-such-browser"), slog.New(slog.NewTextHandler(&logs, nil)))
	if !strings.Contains(logs.String(), "no browser could be opened; open the watch URL yourself, or set BROWSER") || !strings.Contains(logs.String(), u) {
		t.Errorf("log:\n%s", logs.String())
	}
}

func TestRateMeter(t *testing.T) {
	var m rateMeter
	t0 := time.Unix(1000, 0)
	if d, u := m.add(t0, 0, 0); d != 0 || u != 0 {
		t.Errorf("first sample: %v %v, want 0 0", d, u)
	}
	for i := 1; i <= 20; i++ { // 10 s at 500 ms: 1 MB/s down, 100 kB/s up
		d, u := m.add(t0.Add(time.Duration(i)*500*time.Millisecond), int64(i)*500_000, int64(i)*50_000)
		if d != 1e6 || u != 1e5 {
			t.Fatalf("sample %d: %v %v, want 1e6 1e5", i, d, u)
		}
	}
	if n := len(m.samples); n > int(rateWindow/progressTick)+1 {
		t.Errorf("%d samples kept, want those of %v at most", n, rateWindow)
	}
	// A stall shows within the window.
	d, _ := m.add(t0.Add(15*time.Second), 10_000_000, 1_000_000)
	if d != 0 {
		t.Errorf("after 5 s with nothing: %v B/s, want 0", d)
	}
}

func TestFetchFiguresLine(t *testing.T) {
	f := fetchFigures{peers: 3, done: 5e6, total: 2e7, ready: 4_200_000, film: 19_500_000, down: 1_234_567, up: 950}
	w := f
	w.watching, w.rate = true, 200_000
	if got, want := w.String(), "3 peers  ↓ 1.2 MB/s  ↑ 950 B/s  4.2 MB (21 s) buffered ahead of the playhead"; got != want {
		t.Errorf("watching: %q, want %q", got, want)
	}
	if got, want := f.String(), "3 peers  ↓ 1.2 MB/s  ↑ 950 B/s  4.2 MB of 19.5 MB ready from the start"; got != want {
		t.Errorf("line %q, want %q", got, want)
	}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("watching", f.attrs()...)
	if !strings.Contains(logs.String(), "peers=3 done_bytes=5000000 total_bytes=20000000 percent=25.0 down_bytes_per_second=1234567 up_bytes_per_second=950 ready_from_start_bytes=4200000") {
		t.Errorf("log line %s", logs.String())
	}
}

// TestWatch runs watch in-process against a swarm that seeds a file on
// loopback, as a fan would: it prints the watch URL, streams the file
// over HTTP, says when the film is complete, and stops within 2 s of
// Ctrl-C with status 0. Without --keep it leaves nothing behind; with
// --keep the film stays in --data, kept for serve.
func TestWatch(t *testing.T) {
	clearEnv(t)
	src := t.TempDir()
	want := make([]byte, 3<<20)
	rand.NewChaCha8([32]byte{7}).Read(want)
	if err := os.WriteFile(filepath.Join(src, "film.mp4"), want, 0o644); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	seed, err := swarm.New(swarm.Config{Logger: log, DataDir: t.TempDir(), BTPort: -1, ListenHost: "127.0.0.1", NoDHT: true, NoPortForwarding: true})
	if err != nil {
		t.Fatal(err)
	}
	testnet.Run(t, seed.Run)
	st, err := seed.Add(context.Background(), filepath.Join(src, "film.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	ih := st.InfoHash().String()
	magnet := fmt.Sprintf("magnet:?xt=urn:btih:%s&x.pe=127.0.0.1:%d", ih, seed.Port())

	watch := func(t *testing.T, args ...string) (stderr *testnet.Buffer) {
		t.Helper()
		var out testnet.Buffer
		stderr = new(testnet.Buffer)
		oldStdout := stdout
		stdout = &out
		t.Cleanup(func() { stdout = oldStdout })
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan int, 1)
		go func() {
			done <- run(ctx, append([]string{"watch", "--no-dht", "--no-port-forwarding", "--log-level", "info"}, append(args, magnet)...), stderr)
		}()
		urlRE := regexp.MustCompile(`^http://127\.0\.0\.1:\d+/watch/` + ih + `\n$`)
		err := testnet.WaitFor(20*time.Second, func() error {
			select {
			case code := <-done:
				t.Fatalf("watch exited with %d:\n%s", code, stderr)
			default:
			}
			if !urlRE.MatchString(out.String()) {
				return fmt.Errorf("stdout %q, want the watch URL alone", out.String())
			}
			return nil
		})
		if err != nil {
			cancel()
			<-done
			t.Fatalf("%v; stderr:\n%s", err, stderr)
		}
		watchURL := strings.TrimSpace(out.String())
		origin := strings.TrimSuffix(watchURL, "/watch/"+ih)
		// The URL comes at once; the stream, once the info has come.
		err = testnet.WaitFor(10*time.Second, func() error {
			res, err := http.Get(origin + "/stream/" + ih + "/film.mp4")
			if err != nil {
				return err
			}
			defer res.Body.Close()
			got, err := io.ReadAll(res.Body)
			if err != nil || res.StatusCode != 200 || !bytes.Equal(got, want) {
				return fmt.Errorf("/stream: %s, %d bytes (%v), want the %d bytes of the film", res.Status, len(got), err, len(want))
			}
			return nil
		})
		if err != nil {
			t.Error(err)
		}
		err = testnet.WaitFor(10*time.Second, func() error {
			if !strings.Contains(stderr.String(), `msg="film complete; seeding on to its peers until Ctrl-C" name=film.mp4`) {
				return fmt.Errorf("watch does not say the film is complete")
			}
			return nil
		})
		if err != nil {
			t.Errorf("%v:\n%s", err, stderr)
		}
		stop := time.Now()
		cancel() // Ctrl-C
		select {
		case code := <-done:
			if took := time.Since(stop); code != 0 || took > 2*time.Second {
				t.Errorf("after Ctrl-C watch exited with %d after %v, want 0 within 2 s:\n%s", code, took, stderr)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("watch still runs 10 s after Ctrl-C:\n%s", stderr)
		}
		if !strings.Contains(stderr.String(), `msg="stopping; Ctrl-C again stops at once"`) {
			t.Errorf("watch does not say that a second Ctrl-C stops it at once:\n%s", stderr)
		}
		return stderr
	}

	t.Run("temporary", func(t *testing.T) {
		tmp := t.TempDir()
		t.Setenv("TMPDIR", tmp)
		stderr := watch(t)
		if !strings.Contains(stderr.String(), "temporary=true") {
			t.Errorf("watch does not say its --data is temporary:\n%s", stderr)
		}
		if left, _ := os.ReadDir(tmp); len(left) != 0 {
			t.Errorf("watch left %v in $TMPDIR", left)
		}
	})
	t.Run("keep", func(t *testing.T) {
		data := filepath.Join(t.TempDir(), "data")
		watch(t, "--keep", "--data", data)
		b, err := os.ReadFile(filepath.Join(data, "kept.json"))
		if err != nil {
			t.Fatal(err)
		}
		var kept struct {
			Torrents []struct {
				InfoHash string `json:"infohash"`
			} `json:"torrents"`
		}
		if err := json.Unmarshal(b, &kept); err != nil || len(kept.Torrents) != 1 || kept.Torrents[0].InfoHash != ih {
			t.Errorf("kept.json %s (%v), want the film kept", b, err)
		}
		if got, err := os.ReadFile(filepath.Join(data, "downloads", "film.mp4")); err != nil || !bytes.Equal(got, want) {
			t.Errorf("the kept film: %d bytes (%v), want the film", len(got), err)
		}
	})
}

// secondSignalEnv, set, makes TestSecondSignal the child it runs: a
// process that stops on a first SIGINT as main does, and then waits.
const secondSignalEnv = "SEEDCAST_TEST_SECOND_SIGNAL_DIR"

// TestSecondSignal runs this test binary as a child that stops slowly on
// Ctrl-C, and sends it two: after the first it says a second stops it at
// once, and after the second it exits with status 130 at once, its
// temporary dir removed.
func TestSecondSignal(t *testing.T) {
	if dir := os.Getenv(secondSignalEnv); dir != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		context.AfterFunc(ctx, stop)
		log := slog.New(slog.NewTextHandler(os.Stdout, nil))
		defer exitOnSecondSignal(ctx, log, func() { os.RemoveAll(dir) })()
		fmt.Println("ready")
		<-ctx.Done()
		time.Sleep(time.Minute) // a node that takes its time to stop
		return
	}
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSecondSignal$")
	cmd.Env = append(os.Environ(), secondSignalEnv+"="+dir)
	var out testnet.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill()
	waitOut := func(s string) {
		t.Helper()
		if err := testnet.WaitFor(10*time.Second, func() error {
			if !strings.Contains(out.String(), s) {
				return fmt.Errorf("the child has not said %q:\n%s", s, out.String())
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	waitOut("ready\n")
	cmd.Process.Signal(os.Interrupt)
	waitOut(`msg="stopping; Ctrl-C again stops at once"`)
	sent := time.Now()
	cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-exited:
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 130 {
			t.Errorf("after a second Ctrl-C the child exited with %v, want status 130:\n%s", err, out.String())
		}
		if took := time.Since(sent); took > time.Second {
			t.Errorf("the child exited %v after the second Ctrl-C, want at once", took)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the child still runs 10 s after a second Ctrl-C:\n%s", out.String())
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the temporary dir after a second Ctrl-C: %v, want it gone", err)
	}
}
