package signaling

import (
	"cmp"
	"encoding/json"
	"html/template"
	"net/http"
	"slices"
	"sync"
	"time"
)

// statsEvery is how long a /stats answer is reused: it walks every peer
// of every swarm, which a client asking often must not make the tracker do
// each time.
const statsEvery = 5 * time.Second

// TrackerStats is what GET /stats tells, in the spirit of
// bittorrent-tracker's /stats: torrents, peers by kind and the clients
// they run.
type TrackerStats struct {
	Torrents       int            `json:"torrents"`
	ActiveTorrents int            `json:"active_torrents"` // with at least one peer
	Peers          int            `json:"peers"`
	Seeders        int            `json:"seeders"`
	Leechers       int            `json:"leechers"`
	WebSocketPeers int            `json:"websocket_peers"`
	HTTPPeers      int            `json:"http_peers"`
	Sockets        int            `json:"sockets"`
	Clients        []ClientCount  `json:"clients"`
	Counters       map[string]int `json:"counters"`
	At             time.Time      `json:"at"`
}

// ClientCount is the peers of one client, by the Azureus-style prefix of
// their peer ids ("-WW0300-" is WebTorrent 3.0).
type ClientCount struct {
	Client string `json:"client"`
	Peers  int    `json:"peers"`
}

// clientNames names the clients of the commonest peer id prefixes.
var clientNames = map[string]string{
	"WW": "WebTorrent", "WD": "WebTorrent Desktop", "SC": "seedcast", "LT": "libtorrent",
	"TR": "Transmission", "qB": "qBittorrent", "AR": "aria2", "DE": "Deluge", "UT": "µTorrent",
	"BT": "BitTorrent", "lt": "rTorrent", "BC": "BitComet", "AZ": "Vuze",
}

// clientOf names the client of a peer id: its two-letter code and version
// ("WebTorrent 0300"), or "other".
func clientOf(id ID) string {
	if id[0] != '-' || id[7] != '-' {
		return "other"
	}
	version := string(id[3:7])
	name, ok := clientNames[string(id[1:3])]
	if !ok || !printable(version) {
		return "other"
	}
	return name + " " + version
}

type statsCache struct {
	mu   sync.Mutex
	last TrackerStats
}

// Summary returns the tracker's figures for /stats, at most statsEvery old.
func (srv *Server) Summary() TrackerStats {
	srv.statsCache.mu.Lock()
	defer srv.statsCache.mu.Unlock()
	if time.Since(srv.statsCache.last.At) < statsEvery {
		return srv.statsCache.last
	}
	st := TrackerStats{At: time.Now(), Counters: map[string]int{
		"ws_messages": int(srv.stats.WSMessages.Load()), "ws_rejected": int(srv.stats.WSRejected.Load()),
		"ws_dropped": int(srv.stats.WSDropped.Load()), "offers_relayed": int(srv.stats.OffersRelay.Load()),
		"answers_relayed": int(srv.stats.AnswersRelay.Load()), "http_announces": int(srv.stats.HTTPAnnounce.Load()),
		"swarms_evicted": int(srv.stats.Evicted.Load()),
	}}
	clients := make(map[string]int)
	srv.mu.RLock()
	st.Torrents = len(srv.swarms)
	for _, sw := range srv.swarms {
		sw.mu.Lock()
		if !sw.empty() {
			st.ActiveTorrents++
		}
		c, i := sw.counts()
		st.Seeders += c
		st.Leechers += i
		st.WebSocketPeers += len(sw.ws)
		st.HTTPPeers += len(sw.http)
		for id := range sw.ws {
			clients[clientOf(id)]++
		}
		for _, p := range sw.http {
			clients[clientOf(p.id)]++
		}
		sw.mu.Unlock()
	}
	srv.mu.RUnlock()
	st.Peers = st.Seeders + st.Leechers
	srv.sockMu.Lock()
	st.Sockets = len(srv.sockets)
	srv.sockMu.Unlock()
	for c, n := range clients {
		st.Clients = append(st.Clients, ClientCount{c, n})
	}
	slices.SortFunc(st.Clients, func(a, b ClientCount) int { return cmp.Or(b.Peers-a.Peers, cmp.Compare(a.Client, b.Client)) })
	srv.statsCache.last = st
	return st
}

var statsPage = template.Must(template.New("stats").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Tracker stats</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}td{padding:.1rem 1rem .1rem 0}td+td{text-align:right}</style>
</head><body>
<h1>Tracker stats</h1>
<table>
<tr><td>Torrents</td><td>{{.Torrents}}</td></tr>
<tr><td>Active torrents</td><td>{{.ActiveTorrents}}</td></tr>
<tr><td>Peers</td><td>{{.Peers}}</td></tr>
<tr><td>Seeders</td><td>{{.Seeders}}</td></tr>
<tr><td>Leechers</td><td>{{.Leechers}}</td></tr>
<tr><td>WebSocket peers</td><td>{{.WebSocketPeers}}</td></tr>
<tr><td>HTTP peers</td><td>{{.HTTPPeers}}</td></tr>
<tr><td>Open WebSockets</td><td>{{.Sockets}}</td></tr>
</table>
<h2>Clients</h2>
<table>{{range .Clients}}<tr><td>{{.Client}}</td><td>{{.Peers}}</td></tr>{{else}}<tr><td>No peers yet.</td></tr>{{end}}</table>
<p>As of {{.At.UTC.Format "2006-01-02 15:04:05"}} UTC; <a href="?format=json">JSON</a>.</p>
</body></html>
`))

// serveStats serves GET /stats: HTML, or JSON for ?format=json or an
// Accept of application/json.
func (srv *Server) serveStats(w http.ResponseWriter, r *http.Request) {
	st := srv.Summary()
	w.Header().Set("Cache-Control", "no-store")
	if r.URL.Query().Get("format") == "json" || r.Header.Get("Accept") == "application/json" {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(st)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	statsPage.Execute(w, st)
}

// printable reports whether s is letters, digits and dots alone.
func printable(s string) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '.') {
			return false
		}
	}
	return true
}
