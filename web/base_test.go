package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/metainfo"
)

// TestPublicURLFor serves pages to a request that reached the node at
// another base URL (through a trusted proxy, https and another host) and
// to one that did not: the first names the node by the URL it came to,
// in the page data, links, magnet and oEmbed; the second by PublicURL.
func TestPublicURLFor(t *testing.T) {
	lib := testLibrary(t)
	for i, tr := range lib.torrents {
		if tr.InfoHash.String() != pilotIH {
			continue
		}
		m := metainfo.Magnet{InfoHash: metainfo.Hash(tr.InfoHash), DisplayName: tr.Name,
			Trackers: []string{"ws://node.test/announce", "http://node.test/announce", "udp://tracker.example.org:1337"},
			Params:   url.Values{"ws": {"http://node.test/webseed/" + pilotIH + "/"}}}
		lib.torrents[i].Magnet = m.String()
	}
	srv := newTestServerConfig(t, Config{Library: lib, PublicURLFor: func(r *http.Request) string {
		return r.Header.Get("X-Test-Base")
	}}, testDist())
	for _, tc := range []struct {
		base, host, scheme string
	}{
		{"", "node.test", "http"},
		{"https://films.example.org", "films.example.org", "https"},
		{"javascript:alert(1)", "node.test", "http"}, // not a base URL: ignored
	} {
		_, body := get(t, srv.Client(), srv.URL+"/watch/"+pilotIH, "X-Test-Base", tc.base)
		d := pageDataOf(t, body)
		origin := tc.scheme + "://" + tc.host
		if d.PublicHost != tc.host || d.WatchURL != origin+"/watch/"+pilotIH || d.TorrentURL != "/torrents/"+pilotIH+".torrent" {
			t.Errorf("base %q: page data host %s, watch URL %s, torrent URL %s", tc.base, d.PublicHost, d.WatchURL, d.TorrentURL)
		}
		ws := map[string]string{"http": "ws", "https": "wss"}[tc.scheme] + "://" + tc.host
		for _, want := range []string{
			`data-copy="magnet:?`, url.QueryEscape(ws + "/announce"), url.QueryEscape(origin + "/announce"),
			url.QueryEscape(origin + "/webseed/" + pilotIH + "/"), url.QueryEscape("udp://tracker.example.org:1337"),
			`href="` + origin + `/oembed?format=json&amp;url=` + url.QueryEscape(origin+"/watch/"+pilotIH) + `"`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("base %q: the watch page lacks %s", tc.base, want)
			}
		}
		if tc.host != "node.test" && strings.Contains(body, "node.test") {
			t.Errorf("base %q: the watch page still names node.test", tc.base)
		}

		_, body = get(t, srv.Client(), srv.URL+"/", "X-Test-Base", tc.base)
		if !strings.Contains(body, url.QueryEscape(ws+"/announce")) {
			t.Errorf("base %q: the library's magnet lacks %s", tc.base, url.QueryEscape(ws+"/announce"))
		}

		res, body := get(t, srv.Client(), srv.URL+"/oembed?url="+url.QueryEscape(origin+"/watch/"+pilotIH), "X-Test-Base", tc.base)
		var o oembed
		if err := json.Unmarshal([]byte(body), &o); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("base %q: oembed %s %s: %v", tc.base, res.Status, body, err)
		}
		if o.ProviderURL != origin+"/" || !strings.Contains(o.HTML, `src="`+origin+`/embed/`+pilotIH+`"`) {
			t.Errorf("base %q: oembed provider %s, html %s", tc.base, o.ProviderURL, o.HTML)
		}
	}
}
