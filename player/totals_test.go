package player

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/seedcast/seedcast/e2e/testnet"
	"github.com/seedcast/seedcast/swarm"
)

// TestHTTPTotals reads a file over /stream and the web seed under an
// upload cap, so that each response stays open a while: it is counted
// open while it is, and its bytes stay counted after.
func TestHTTPTotals(t *testing.T) {
	const size = 256 << 10
	n := newTestNodeConfig(t, swarm.Config{UploadRate: 128 << 10}, map[string]int{"film.bin": size})
	mux := http.NewServeMux()
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	p, err := New(Config{Swarm: n.sw, PublicURL: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	p.Register(mux)

	for _, route := range []string{"stream", "webseed"} {
		res, err := http.Get(ts.URL + "/" + route + "/" + n.ih.String() + "/bundle/film.bin")
		if err != nil {
			t.Fatal(err)
		}
		open := func() int {
			h := p.HTTPTotals()
			if route == "stream" {
				return h.Streams
			}
			return h.WebSeeds
		}
		if err := testnet.WaitFor(5*time.Second, func() error {
			if o := open(); o != 1 {
				return fmt.Errorf("%s: %d responses open, want 1", route, o)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		got, err := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if err != nil || got != size {
			t.Fatalf("%s: read %d bytes (%v), want %d", route, got, err, size)
		}
		if err := testnet.WaitFor(5*time.Second, func() error {
			if o := open(); o != 0 {
				return fmt.Errorf("%s: %d responses open after the body was read, want 0", route, o)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	h := p.HTTPTotals()
	if h.StreamBytes != size || h.WebSeedBytes != size {
		t.Errorf("HTTP totals %+v, want %d bytes over each route", h, size)
	}

	// Describe is what GET /api/torrents/{infohash} answers.
	v, ok := p.Describe(n.ih)
	if !ok {
		t.Fatal("Describe: no torrent")
	}
	b, _ := json.Marshal(v)
	var got struct {
		InfoHash string `json:"infohash"`
		Name     string `json:"name"`
	}
	if err := json.Unmarshal(b, &got); err != nil || got.InfoHash != n.ih.String() || got.Name != "bundle" {
		t.Errorf("Describe = %s (%v), want the torrent's JSON", b, err)
	}
	if _, ok := p.Describe([20]byte{1}); ok {
		t.Error("Describe of an unknown torrent succeeded")
	}
}
