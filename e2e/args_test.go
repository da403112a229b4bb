//go:build e2e

package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seedcast/seedcast/e2e/testnet"
)

// TestServeArgsFromAnywhere checks acceptance 4 of issue 13: serve is
// given the URL of a .torrent (served by the test), a magnet whose x.pe
// peer hint names a seeder that starts 3 s after the node, and a URL that
// nobody answers. The node serves the first two, and a stream of the
// magnet's file arrives whole from the late seeder; it names the third
// argument with its reason in its log, and goes on.
func TestServeArgsFromAnywhere(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	tn := testnet.New(t, "node", "seeder", "files")

	// The magnet's file, seeded by a seedcast of its own. A first run
	// hashes it and says its info hash; the second, later, seeds it.
	film := testnet.WriteRandomFile(t, 4<<20)
	seederData := filepath.Join(t.TempDir(), "seeder")
	seeder := startServeWith(ctx, t, tn, "seeder", readyTimeout, testnet.ServeOptions{
		DataDir: seederData, Args: []string{"--no-dht", "--no-port-forwarding", film.Path},
	})
	var listed []apiTorrent
	if err := seeder.GetJSON(ctx, "/api/torrents", &listed); err != nil || len(listed) != 1 {
		t.Fatalf("the seeder's torrents: %v, %v", listed, err)
	}
	filmIH := listed[0].Infohash
	if err := seeder.Proc.Stop(testnet.StopTimeout); err != nil {
		t.Fatalf("stopping the seeder's first run: %v", err)
	}

	// The .torrent of another file, on a web server of the test.
	other := testnet.WriteRandomFile(t, 1<<20)
	torrentPath := filepath.Join(t.TempDir(), "other.torrent")
	create := exec.CommandContext(ctx, seedcastPlainBin, "create", "--public-url", "http://"+tn.Addr("files").String()+":1",
		"-o", torrentPath, other.Path)
	create.Env = testnet.CleanEnv()
	out, err := create.CombinedOutput()
	if err != nil {
		t.Fatalf("seedcast create: %v\n%s", err, out)
	}
	otherIH := regexp.MustCompile(`infohash: ([0-9a-f]{40})`).FindStringSubmatch(string(out))
	if otherIH == nil {
		t.Fatalf("seedcast create printed no info hash:\n%s", out)
	}
	files := tn.ServeHandler(t, "files", http.FileServer(http.Dir(filepath.Dir(torrentPath))))
	torrentURL := files + "/other.torrent"
	// Nothing listens on port 9 of the files host: the connection is
	// refused.
	badURL := "http://" + netip.AddrPortFrom(tn.Addr("files"), 9).String() + "/gone.torrent"
	magnet := fmt.Sprintf("magnet:?xt=urn:btih:%s&dn=film&x.pe=%s", filmIH,
		netip.AddrPortFrom(tn.Addr("seeder"), nsBTPort))

	started := time.Now()
	node := startServeIn(ctx, t, tn, "node", readyTimeout, "--no-dht", "--no-port-forwarding", torrentURL, badURL, magnet)
	// The seeder comes back 3 s after the node started, on the port the
	// hint names.
	time.Sleep(time.Until(started.Add(3 * time.Second)))
	startServeWith(ctx, t, tn, "seeder", 0, testnet.ServeOptions{
		DataDir: seederData, Args: []string{"--no-dht", "--no-port-forwarding", film.Path},
	})

	// The bad argument, named with its reason.
	skipped := regexp.MustCompile(`level=ERROR msg="argument skipped" arg=` + regexp.QuoteMeta(badURL) + ` err=".*` +
		regexp.QuoteMeta(badURL) + `: cannot fetch the .torrent.*connection refused`)
	if !skipped.MatchString(node.Proc.Output().String()) {
		t.Errorf("the node's log does not name %s with its reason; its lines about it:\n%s", badURL,
			grepLines(node.Proc.Output().String(), badURL))
	}

	// The good ones, served: the magnet's info comes from the late seeder.
	var torrents []apiTorrent
	err = testnet.Poll(ctx, node.Proc, func(ctx context.Context) error {
		if err := node.GetJSON(ctx, "/api/torrents", &torrents); err != nil {
			return err
		}
		have := map[string]int{}
		for _, tt := range torrents {
			have[tt.Infohash] = len(tt.Files)
		}
		if len(torrents) != 2 || have[otherIH[1]] != 1 || have[filmIH] != 1 {
			return fmt.Errorf("the node lists %d torrents (%v), want %s and %s, each with its file", len(torrents), have, otherIH[1], filmIH)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the magnet's info came %v after the node started", time.Since(started).Round(100*time.Millisecond))

	// The magnet's file, streamed whole through the node.
	sctx, scancel := context.WithTimeout(ctx, 2*time.Minute)
	defer scancel()
	req, err := http.NewRequestWithContext(sctx, "GET", node.URL+"/stream/"+filmIH+"/"+filepath.Base(film.Path), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tn.HTTPClient("node").Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("streaming the magnet's file: %s, %d bytes, %v", res.Status, n, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != film.Size || got != film.SHA256 {
		t.Errorf("streamed %d bytes of SHA-256 %s, want %d bytes of %s", n, got, film.Size, film.SHA256)
	}

	// Every good argument is printed, as the contract has it.
	err = testnet.Poll(ctx, node.Proc, func(context.Context) error {
		printed := printedInfohashes(node.Proc.Stdout().String())
		if !printed[filmIH] || !printed[otherIH[1]] {
			return fmt.Errorf("stdout names %v, want %s and %s", printed, filmIH, otherIH[1])
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for line := range strings.Lines(s) {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "")
}
