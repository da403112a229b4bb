package main

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/bencode"

	"github.com/seedcast/seedcast/signaling"
)

// TestTrustedProxyHeaders sends requests with X-Forwarded-* headers from
// trusted proxies and from strangers: only a trusted proxy's headers
// count, the client is the rightmost hop that is no trusted proxy, and
// strangers' headers are gone before any handler sees them.
func TestTrustedProxyHeaders(t *testing.T) {
	ps, err := parseProxies([]string{"10.0.0.0/8", "192.0.2.1", "2001:db8:ffff::/48"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		remote string
		xff    []string // X-Forwarded-For lines
		proto  []string // X-Forwarded-Proto lines
		host   string   // X-Forwarded-Host

		wantRemote string
		wantProxy  bool // forwardedOf reports a trusted proxy
		wantProto  string
		wantHost   string
	}{
		{name: "stranger spoofs everything", remote: "203.0.113.5:1234", xff: []string{"198.51.100.7"}, proto: []string{"https"}, host: "evil.example",
			wantRemote: "203.0.113.5:1234"},
		{name: "stranger spoofs a trusted hop", remote: "203.0.113.5:1234", xff: []string{"198.51.100.7, 10.0.0.2"},
			wantRemote: "203.0.113.5:1234"},
		{name: "stranger without headers", remote: "203.0.113.5:1234", wantRemote: "203.0.113.5:1234"},
		{name: "proxy without headers", remote: "10.0.0.1:5555", wantRemote: "10.0.0.1:5555", wantProxy: true},
		{name: "one proxy", remote: "10.0.0.1:5555", xff: []string{"198.51.100.7"}, proto: []string{"https"}, host: "films.example.org",
			wantRemote: "198.51.100.7:0", wantProxy: true, wantProto: "https", wantHost: "films.example.org"},
		{name: "client prepends a lie", remote: "10.0.0.1:5555", xff: []string{"6.6.6.6, 198.51.100.7"},
			wantRemote: "198.51.100.7:0", wantProxy: true},
		{name: "client's lie on a line of its own", remote: "10.0.0.1:5555", xff: []string{"6.6.6.6", "198.51.100.7"},
			wantRemote: "198.51.100.7:0", wantProxy: true},
		{name: "two proxies", remote: "192.0.2.1:443", xff: []string{"6.6.6.6, 198.51.100.7, 10.9.8.7"},
			wantRemote: "198.51.100.7:0", wantProxy: true},
		{name: "only proxies", remote: "10.0.0.1:5555", xff: []string{"10.0.0.3, 10.0.0.2"},
			wantRemote: "10.0.0.3:0", wantProxy: true},
		{name: "garbage ends the walk", remote: "10.0.0.1:5555", xff: []string{"198.51.100.7, unknown"},
			wantRemote: "10.0.0.1:5555", wantProxy: true},
		{name: "garbage left of the client", remote: "10.0.0.1:5555", xff: []string{"unknown, 198.51.100.7"},
			wantRemote: "198.51.100.7:0", wantProxy: true},
		{name: "hop with port", remote: "10.0.0.1:5555", xff: []string{"198.51.100.7:4711"},
			wantRemote: "198.51.100.7:0", wantProxy: true},
		{name: "IPv6 client", remote: "[2001:db8:ffff::1]:5555", xff: []string{"[2001:db8:1::7]:4711"},
			wantRemote: "[2001:db8:1::7]:0", wantProxy: true},
		{name: "IPv4-mapped proxy", remote: "[::ffff:10.0.0.1]:5555", xff: []string{"198.51.100.7"},
			wantRemote: "198.51.100.7:0", wantProxy: true},
		{name: "client claims https, proxy says http", remote: "10.0.0.1:5555", proto: []string{"https, http"},
			wantRemote: "10.0.0.1:5555", wantProxy: true, wantProto: "http"},
		{name: "proto on lines", remote: "10.0.0.1:5555", proto: []string{"http", "HTTPS"},
			wantRemote: "10.0.0.1:5555", wantProxy: true, wantProto: "https"},
		{name: "unknown proto", remote: "10.0.0.1:5555", proto: []string{"ftp"},
			wantRemote: "10.0.0.1:5555", wantProxy: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/announce", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			for _, v := range tc.proto {
				r.Header.Add("X-Forwarded-Proto", v)
			}
			if tc.host != "" {
				r.Header.Set("X-Forwarded-Host", tc.host)
			}
			var got *http.Request
			ps.handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r })).ServeHTTP(httptest.NewRecorder(), r)
			if got.RemoteAddr != tc.wantRemote {
				t.Errorf("RemoteAddr %s, want %s", got.RemoteAddr, tc.wantRemote)
			}
			f, ok := forwardedOf(got)
			if ok != tc.wantProxy || f.proto != tc.wantProto || f.host != tc.wantHost {
				t.Errorf("forwardedOf = %+v, %v; want proto %q, host %q, %v", f, ok, tc.wantProto, tc.wantHost, tc.wantProxy)
			}
			if !tc.wantProxy {
				for _, k := range []string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host"} {
					if v := got.Header.Values(k); len(v) > 0 {
						t.Errorf("a stranger's %s: %q reached the handler", k, v)
					}
				}
			}
			if r.RemoteAddr != tc.remote {
				t.Errorf("the caller's request was changed: RemoteAddr %s", r.RemoteAddr)
			}
		})
	}
}

// TestTrustedProxyTracker announces to the real HTTP tracker through the
// proxy handler: a peer behind a trusted proxy is listed at its address
// from X-Forwarded-For; a stranger who spoofs the header is listed at its
// own.
func TestTrustedProxyTracker(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trusted []string
		want    string
	}{
		{"trusted", []string{"127.0.0.0/8"}, "198.51.100.7:6001"},
		{"stranger", []string{"10.0.0.0/8"}, "127.0.0.1:6001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := parseProxies(tc.trusted)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := signaling.New(signaling.Config{})
			if err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			tr.Register(mux)
			srv := httptest.NewServer(ps.handler(mux))
			defer srv.Close()

			ih := strings.Repeat("\x01", 20)
			announce := func(peerID string, port int, xff string) []string {
				q := url.Values{"info_hash": {ih}, "peer_id": {peerID}, "port": {strconv.Itoa(port)},
					"uploaded": {"0"}, "downloaded": {"0"}, "left": {"100"}, "compact": {"1"}}
				req, err := http.NewRequest("GET", srv.URL+"/announce?"+q.Encode(), nil)
				if err != nil {
					t.Fatal(err)
				}
				if xff != "" {
					req.Header.Set("X-Forwarded-For", xff)
				}
				res, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				var reply struct {
					Failure string `bencode:"failure reason"`
					Peers   []byte `bencode:"peers"`
				}
				if err := bencode.NewDecoder(res.Body).Decode(&reply); err != nil || reply.Failure != "" {
					t.Fatalf("announce: %v %q", err, reply.Failure)
				}
				var peers []string
				for p := reply.Peers; len(p) >= 6; p = p[6:] {
					peers = append(peers, netip.AddrPortFrom(netip.AddrFrom4([4]byte(p[:4])), uint16(p[4])<<8|uint16(p[5])).String())
				}
				return peers
			}
			announce(strings.Repeat("a", 20), 6001, "198.51.100.7")
			peers := announce(strings.Repeat("b", 20), 6002, "")
			if !slices.Equal(peers, []string{tc.want}) {
				t.Errorf("the tracker lists %v, want %s", peers, tc.want)
			}
		})
	}
}

func TestTrustedProxyFlag(t *testing.T) {
	c, _ := parse(t, []string{"serve", "--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "192.0.2.1"}, nil)
	if _, err := c.Serve.config(nil); err != nil {
		t.Fatal(err)
	}
	if want := []string{"10.0.0.0/8", "192.0.2.1"}; !slices.Equal(c.Serve.TrustedProxy, want) {
		t.Errorf("trusted proxies %v, want %v", c.Serve.TrustedProxy, want)
	}
	e, _ := parse(t, []string{"tracker"}, map[string]string{"SEEDCAST_TRUSTED_PROXY": "127.0.0.1/32,::1"})
	ps, err := parseProxies(e.Tracker.TrustedProxy)
	if err != nil || len(ps) != 2 || !ps.trusts(netip.MustParseAddr("::1")) || ps.trusts(netip.MustParseAddr("127.0.0.2")) {
		t.Errorf("SEEDCAST_TRUSTED_PROXY: %v, %v", ps, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.example.org"} {
		c, _ := parse(t, []string{"serve", "--trusted-proxy", bad}, nil)
		if _, err := c.Serve.config(nil); err == nil || !strings.Contains(err.Error(), "--trusted-proxy") || !strings.Contains(err.Error(), "SEEDCAST_TRUSTED_PROXY") {
			t.Errorf("--trusted-proxy %q: %v, want an error naming the flag and its twin", bad, err)
		}
	}
}

// TestPublicURLFromProxy checks the base URL a node without --public-url
// names itself by to a request: through a trusted proxy, the scheme it
// reports and the host the viewer asked for; any other way, or with a
// host that is no host, the one from --addr.
func TestPublicURLFromProxy(t *testing.T) {
	c, _ := parse(t, []string{"serve", "--addr", "127.0.0.1:8080", "--trusted-proxy", "127.0.0.1/32"}, nil)
	cfg, err := c.Serve.config(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.publicURLFor == nil || cfg.web.PublicURLFor == nil {
		t.Fatal("behind a trusted proxy without --public-url, the node does not name itself per request")
	}
	ps, err := parseProxies(c.Serve.TrustedProxy)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		remote, host string
		hdr          map[string]string
		want         string
	}{
		{"127.0.0.1:5555", "films.example.org", map[string]string{"X-Forwarded-Proto": "https"}, "https://films.example.org"},
		{"127.0.0.1:5555", "127.0.0.1:8080", map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "Films.Example.org:8443"}, "https://films.example.org:8443"},
		{"127.0.0.1:5555", "films.example.org", nil, "http://films.example.org"},
		{"127.0.0.1:5555", "films.example.org", map[string]string{"X-Forwarded-Host": "evil.example/x"}, ""},
		{"127.0.0.1:5555", "films.example.org", map[string]string{"X-Forwarded-Host": "user@evil.example"}, ""},
		{"203.0.113.5:1234", "films.example.org", map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}, ""},
	} {
		r := httptest.NewRequest("GET", "/watch/x", nil)
		r.RemoteAddr, r.Host = tc.remote, tc.host
		for k, v := range tc.hdr {
			r.Header.Set(k, v)
		}
		var got string
		ps.handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = cfg.publicURLFor(r) })).ServeHTTP(httptest.NewRecorder(), r)
		if got != tc.want {
			t.Errorf("from %s, Host %s, %v: %q, want %q", tc.remote, tc.host, tc.hdr, got, tc.want)
		}
	}

	// With --public-url, or --acme-domain, the node's name is fixed.
	for _, args := range [][]string{{"--public-url", "https://films.example.org"}, {"--acme-domain", "films.example.org"}} {
		d, _ := parse(t, append([]string{"serve", "--data", t.TempDir(), "--trusted-proxy", "127.0.0.1/32"}, args...), nil)
		if cfg, err := d.Serve.config(nil); err != nil || cfg.publicURLFor != nil || cfg.web.PublicURLFor != nil {
			t.Errorf("with %v: %v; want no name per request", args, err)
		}
	}
}
