//go:build e2e

package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDemoRestart is `make demo` twice: serve with no argument seeds the
// built-in pilot and prints its name, info hash, magnet and watch URL
// within seconds; Ctrl-C stops it with status 0; a second start on the same
// data dir hashes nothing and seeds the same torrent.
func TestDemoRestart(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	var infohash string
	for run := range 2 {
		start := time.Now()
		n := startServe(t, serveFlags("--data", data))
		took := time.Since(start)
		out := n.proc.Stdout().String()
		for _, prefix := range []string{"name:     seedcast-pilot.mp4", "infohash: ", "magnet:   magnet:?xt=urn:btih:", "watch:    http://"} {
			if !strings.Contains(out, prefix) {
				t.Fatalf("run %d: stdout has no %q line:\n%s", run, prefix, out)
			}
		}
		if took > 10*time.Second {
			t.Errorf("run %d: ready after %v; a user waits for seconds at most", run, took)
		}
		if len(n.Torrents) != 1 {
			t.Fatalf("run %d: %d torrents, want the pilot alone", run, len(n.Torrents))
		}
		if run == 0 {
			infohash = n.Torrents[0].Infohash
		} else if n.Torrents[0].Infohash != infohash {
			t.Fatalf("second start seeds %s, first seeded %s", n.Torrents[0].Infohash, infohash)
		}
		if err := n.stop(); err != nil {
			t.Fatalf("run %d: Ctrl-C: %v", run, err)
		}
		logs := n.proc.Output().String()
		hashed := strings.Contains(logs, "msg=hashed ")
		if run == 0 && !hashed {
			t.Errorf("first start did not log hashing the pilot:\n%s", logs)
		}
		if run == 1 && hashed {
			t.Errorf("second start hashed the pilot again:\n%s", logs)
		}
	}
}
