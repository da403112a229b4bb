package player

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/seedcast/seedcast/infohash"
	"github.com/seedcast/seedcast/swarm"
)

// TestTorrentFileRebased serves a .torrent to a request that reached the
// node at another base URL (through a trusted proxy): the node's own
// tracker and web seed move there; other trackers and the info hash stay.
func TestTorrentFileRebased(t *testing.T) {
	root := filepath.Join(t.TempDir(), "film.bin")
	if err := os.WriteFile(root, bytes.Repeat([]byte("seedcast"), 10<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	sw := startSwarm(t, swarm.Config{
		Announce:    []string{"ws://127.0.0.1:8080/announce", "http://127.0.0.1:8080/announce"},
		Trackers:    []string{"udp://tracker.example.org:1337", "wss://127.0.0.1:8080.example.org/announce"},
		WebSeedBase: "http://127.0.0.1:8080/webseed/",
	})
	tor, err := sw.Add(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{Swarm: sw, PublicURL: "http://127.0.0.1:8080", PublicURLFor: func(r *http.Request) string {
		return r.Header.Get("X-Test-Base")
	}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	p.Register(mux)
	ts := httptest.NewServer(mux)
	defer ts.Close()
	ih := tor.InfoHash().String()
	for _, tc := range []struct {
		base     string
		announce [][]string
		urlList  []string
	}{
		{"", [][]string{{"ws://127.0.0.1:8080/announce", "http://127.0.0.1:8080/announce"}, {"udp://tracker.example.org:1337", "wss://127.0.0.1:8080.example.org/announce"}},
			[]string{"http://127.0.0.1:8080/webseed/" + ih + "/"}},
		{"https://films.example.org", [][]string{{"wss://films.example.org/announce", "https://films.example.org/announce"}, {"udp://tracker.example.org:1337", "wss://127.0.0.1:8080.example.org/announce"}},
			[]string{"https://films.example.org/webseed/" + ih + "/"}},
	} {
		_, body := get(t, ts.URL+"/torrents/"+ih+".torrent", "X-Test-Base", tc.base)
		mi, err := metainfo.Load(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if infohash.Hash(mi.HashInfoBytes()) != tor.InfoHash() {
			t.Errorf("base %q: info hash %s, want %s", tc.base, mi.HashInfoBytes(), ih)
		}
		if !slices.EqualFunc(mi.AnnounceList, tc.announce, slices.Equal) || !slices.Equal(mi.UrlList, tc.urlList) {
			t.Errorf("base %q: announce-list %v, url-list %v; want %v, %v", tc.base, mi.AnnounceList, mi.UrlList, tc.announce, tc.urlList)
		}
		if want := tc.announce[0][1]; mi.Announce != want {
			t.Errorf("base %q: announce %s, want %s", tc.base, mi.Announce, want)
		}
	}
}
