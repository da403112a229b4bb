//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seedcast/seedcast/e2e/testnet"
)

// Limits of the watch tests (issue 13, acceptance 3).
const (
	// watchStopLimit is how soon after Ctrl-C watch must have exited.
	watchStopLimit = 2 * time.Second
	// watchURLTimeout bounds the wait for the watch URL on stdout: a
	// magnet's info hash is known at once, so it is the node's start-up.
	watchURLTimeout = 20 * time.Second
)

// TestWatchCommand checks acceptance 3 of issue 13: a libtorrent seeder
// (TCP only, its upload capped at 3 × the film's bitrate) in host seed,
// and `seedcast watch --open MAGNET` in host fan, the magnet naming the
// seeder in x.pe. watch prints the watch URL on stdout, alone, and hands
// it to $BROWSER; the film plays in headless Chromium through that URL
// while watch fetches it; watch logs its progress every few seconds
// (stderr is no terminal); and on Ctrl-C it exits with status 0 within
// 2 s, its temporary --data gone.
//
// Chromium runs in fan's namespace, beside watch, as a fan's browser runs
// on the fan's machine: watch's player listens on loopback by default and
// prints a 127.0.0.1 URL, which is what this test opens. Listening on the
// host's address instead would test a flag a fan seldom sets.
func TestWatchCommand(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	chromium := requireTool(t, "chromium")
	requireWebBuild(t)
	film := testnet.MakeFilm(ctx, t, 30, 800)
	torrent, ih := testnet.WriteTorrent(t, film.Path, 256<<10)
	rate := int(film.BitRate / 8 * 3)
	t.Logf("film: %.1f s, %d bytes at %.0f kbit/s; the seeder sends %d B/s", film.Seconds, film.Size, film.BitRate/1000, rate)

	tn := testnet.New(t, "seed", "fan")
	seed := tn.StartLibtorrentSeed(ctx, t, "seed", torrent, filepath.Dir(film.Path), 6881, rate)

	// BROWSER writes down the URL it is given, as a browser would open it.
	scratch := t.TempDir()
	opened := filepath.Join(scratch, "opened")
	browser := filepath.Join(scratch, "browser")
	if err := os.WriteFile(browser, []byte("#!/bin/sh\nprintf '%s' \"$1\" > "+opened+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	magnet := "magnet:?xt=urn:btih:" + ih + "&x.pe=" + seed.Addr
	cmd := tn.Command(context.WithoutCancel(ctx), "fan", seedcastBin, "watch", "--no-dht", "--no-port-forwarding", "--open", magnet)
	// The race detector sleeps a second at exit (atexit_sleep_ms=1000)
	// for late reports: half of the 2 s a stop may take, none of it
	// watch's.
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append(testnet.CleanEnv(), "TMPDIR="+tmp, "BROWSER="+browser, "GORACE="+gorace)
	w := testnet.Start(t, "seedcast watch in fan", cmd)
	start := time.Now()

	urlRE := regexp.MustCompile(`^http://127\.0\.0\.1:\d+/watch/` + ih + `\n$`)
	uctx, ucancel := context.WithTimeout(ctx, watchURLTimeout)
	defer ucancel()
	err := testnet.Poll(uctx, w, func(context.Context) error {
		if !urlRE.MatchString(w.Stdout().String()) {
			return fmt.Errorf("stdout %q, want the watch URL alone", w.Stdout().String())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	watchURL := strings.TrimSpace(w.Stdout().String())
	t.Logf("watch printed %s after %v", watchURL, time.Since(start).Round(time.Millisecond))
	err = testnet.WaitFor(10*time.Second, func() error {
		b, err := os.ReadFile(opened)
		if err != nil || string(b) != watchURL {
			return fmt.Errorf("$BROWSER was given %q (%v), want %s", b, err, watchURL)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}

	page := tn.StartChromium(ctx, t, "fan", chromium)
	st := play(ctx, t, page, watchURL)
	t.Logf("first frame %v, past %.0f s %v after navigating; mode %s; from the node %d bytes over WebRTC and %d over HTTP",
		st.firstFrame.Round(time.Millisecond), playedSec, st.played.Round(time.Millisecond), st.Mode, st.RTC, st.HTTP)

	// watch logs its progress every 5 s while it fetches, which takes
	// about a third of the film's length at the seeder's rate; Ctrl-C
	// comes as soon as it has, most likely while it still fetches and
	// the page streams: the hardest time to stop.
	progress := regexp.MustCompile(`msg=watching name=film\.mp4 peers=[1-9]\d* done_bytes=\d+ total_bytes=` + fmt.Sprint(film.Size) +
		` percent=[\d.]+ down_bytes_per_second=[1-9]\d* up_bytes_per_second=\d+ (ahead_of_playhead|ready_from_start)_bytes=\d+`)
	err = testnet.Poll(ctx, w, func(context.Context) error {
		if !progress.MatchString(w.Output().String()) {
			return errors.New("watch has logged no progress line with peers and a download rate")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("progress: %s", progress.FindString(w.Output().String()))
	complete := regexp.MustCompile(`msg="film complete; seeding on to its peers until Ctrl-C" name=film\.mp4 peers=\d+`)
	if complete.MatchString(w.Output().String()) {
		t.Log("Ctrl-C once watch has the whole film")
	} else {
		t.Log("Ctrl-C while watch still fetches")
	}

	stop := time.Now()
	if err := w.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err = w.Wait(watchStopLimit)
	took := time.Since(stop)
	switch {
	case !w.Exited():
		t.Errorf("watch still runs %v after Ctrl-C, want it gone within %v", took.Round(time.Millisecond), watchStopLimit)
	case err != nil:
		t.Errorf("watch exited after Ctrl-C with %v, want status 0", err)
	default:
		t.Logf("watch exited with status 0 %v after Ctrl-C", took.Round(time.Millisecond))
	}
	if !strings.Contains(w.Output().String(), `msg="stopping; Ctrl-C again stops at once"`) {
		t.Error("watch does not say, at Ctrl-C, that a second one stops it at once")
	}
	if w.Exited() {
		if left, _ := os.ReadDir(tmp); len(left) != 0 {
			t.Errorf("watch left %v in its $TMPDIR: its temporary --data must go on exit", left)
		}
	}
}

// TestWatchBadArgument runs watch on arguments it cannot watch: each must
// fail at once with status 1 and one line that names the argument, says
// what is wrong, and shows what is wanted.
func TestWatchBadArgument(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notTorrent := filepath.Join(dir, "film.torrent")
	if err := os.WriteFile(notTorrent, []byte("<html>Not found</html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		arg  string
		want []string
	}{
		{"magnet without an info hash", "magnet:?dn=film", []string{`"magnet:?dn=film"`, "not a valid magnet link", "no xt=urn:btih:", "want magnet:?xt=urn:btih:"}},
		{"short info hash", "magnet:?xt=urn:btih:abcd", []string{"not a valid magnet link", `"abcd"`, "40 hex digits"}},
		{"not a torrent", notTorrent, []string{notTorrent, "not a valid .torrent file", "downloaded whole"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, seedcastBin, "watch", "--no-dht", "--no-port-forwarding", tc.arg)
			cmd.Env = append(testnet.CleanEnv(), "TMPDIR="+t.TempDir())
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("watch %s: %v, want exit status 1; output:\n%s", tc.arg, err, out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "seedcast: ") {
				t.Errorf("watch %s said %d lines, want one starting \"seedcast: \":\n%s", tc.arg, len(lines), out)
			}
			for _, w := range tc.want {
				if !strings.Contains(lines[len(lines)-1], w) {
					t.Errorf("watch %s: %q lacks %q", tc.arg, lines[len(lines)-1], w)
				}
			}
		})
	}
}
