package webrtc

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/turn/v5"

	"github.com/seedcast/seedcast/e2e/testnet"
)

// TestTURNCredential checks the TURN REST API password against a vector
// computed by hand: python3 -c "import hmac,hashlib,base64;
// print(base64.b64encode(hmac.new(b'north',b'1700000000:seedcast',
// hashlib.sha1).digest()).decode())", and openssl dgst -sha1 -hmac north
// -binary | base64 agrees.
func TestTURNCredential(t *testing.T) {
	user := TURNUsername(time.Unix(1700000000, 0), "seedcast")
	if user != "1700000000:seedcast" {
		t.Errorf("TURNUsername = %q, want 1700000000:seedcast", user)
	}
	if got, want := TURNCredential("north", user), "igq4tS66HvLOVqLgdQ2GfrrWpqY="; got != want {
		t.Errorf("TURNCredential(north, %s) = %q, want %q", user, got, want)
	}
}

// TestICEServersForPages checks what pages get: STUN servers, and the
// servers sharing the secret with fresh credentials of each call, valid
// for the TTL; never a static password, never the secret.
func TestICEServersForPages(t *testing.T) {
	const secret = "north-wind-secret"
	tr, err := New(Config{
		UDPPort: 5000,
		ICEServers: []string{
			"stun:stun.example.org:3478",
			"turn://ann:s3cret-static@static.example.org:3478",
			"turn:shared.example.org:3478",
		},
		TURNServers: []string{"turns:shared.example.org:5349?transport=tcp"},
		TURNSecret:  secret,
		TURNTTL:     10 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	userRE := regexp.MustCompile(`^(\d+):page-[0-9a-f]{12}$`)
	var users []string
	for range 2 {
		before := time.Now()
		got := tr.ICEServers()
		b, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		for _, leak := range []string{secret, "s3cret-static", "static.example.org", "ann"} {
			if strings.Contains(string(b), leak) {
				t.Errorf("pages get %s, with %q in it", b, leak)
			}
		}
		if len(got) != 2 || !slices.Equal(got[0].URLs, []string{"stun:stun.example.org:3478"}) || got[0].Username != "" {
			t.Fatalf("pages get %s, want the STUN server, then the shared-secret servers", b)
		}
		minted := got[1]
		if want := []string{"turn:shared.example.org:3478", "turns:shared.example.org:5349?transport=tcp"}; !slices.Equal(minted.URLs, want) {
			t.Errorf("minted URLs %v, want %v", minted.URLs, want)
		}
		m := userRE.FindStringSubmatch(minted.Username)
		if m == nil {
			t.Fatalf("minted username %q, want <unix expiry>:page-<12 hex>", minted.Username)
		}
		exp, _ := strconv.ParseInt(m[1], 10, 64)
		if lo, hi := before.Add(10*time.Minute).Unix(), time.Now().Add(10*time.Minute).Unix(); exp < lo || exp > hi {
			t.Errorf("minted username expires at %d, want 10 min from now, in [%d, %d]", exp, lo, hi)
		}
		if minted.Credential != TURNCredential(secret, minted.Username) {
			t.Errorf("minted credential %q is not the HMAC of %q under the secret", minted.Credential, minted.Username)
		}
		users = append(users, minted.Username)
	}
	if users[0] == users[1] {
		t.Errorf("two pages got the same username %q", users[0])
	}

	// The node's own connections use every server: the static password
	// too, and credentials of its own.
	cfg := tr.pionConfig()
	var urls []string
	for _, s := range cfg.ICEServers {
		urls = append(urls, s.URLs...)
		if slices.Contains(s.URLs, "turn:static.example.org:3478") && (s.Username != "ann" || s.Credential != "s3cret-static") {
			t.Errorf("the node's static TURN server %+v lost its password", s)
		}
		if slices.Contains(s.URLs, "turn:shared.example.org:3478") && (!strings.HasSuffix(s.Username, ":"+nodeLabel) || s.Credential != TURNCredential(secret, s.Username)) {
			t.Errorf("the node's shared-secret TURN servers %+v: want credentials minted for %s", s, nodeLabel)
		}
	}
	want := []string{"stun:stun.example.org:3478", "turn:static.example.org:3478", "turn:shared.example.org:3478", "turns:shared.example.org:5349?transport=tcp"}
	if !slices.Equal(urls, want) {
		t.Errorf("the node's servers %v, want %v", urls, want)
	}
}

func TestTURNConfigRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		is   error
	}{
		{"turn without credentials or secret", Config{UDPPort: 5000, ICEServers: []string{"turn:t.example.org:3478"}}, ErrTURNNoSecret},
		{"turn server without secret", Config{UDPPort: 5000, TURNServers: []string{"turn:t.example.org:3478"}}, ErrTURNNoSecret},
		{"secret without server", Config{UDPPort: 5000, TURNSecret: "x", ICEServers: []string{"stun:s.example.org:3478"}}, ErrTURNNoServer},
		{"secret beside a static password only", Config{UDPPort: 5000, TURNSecret: "x", ICEServers: []string{"turn://a:b@t.example.org:3478"}}, ErrTURNNoServer},
		{"turn server with credentials", Config{UDPPort: 5000, TURNSecret: "x", TURNServers: []string{"turn://a:b@t.example.org:3478"}}, ErrTURNServer},
		{"stun as turn server", Config{UDPPort: 5000, TURNSecret: "x", TURNServers: []string{"stun:t.example.org:3478"}}, ErrTURNServer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if !errors.Is(err, tc.is) {
				t.Fatalf("New: %v, want %v", err, tc.is)
			}
			if strings.Contains(err.Error(), ":b@") {
				t.Errorf("the error %q shows a password", err)
			}
		})
	}
}

func TestRedactICEServer(t *testing.T) {
	for in, want := range map[string]string{
		"stun:stun.example.org:3478":                  "stun:stun.example.org:3478",
		"turn:turn.example.org:3478":                  "turn:turn.example.org:3478",
		"turn://ann@turn.example.org:3478":            "turn://ann@turn.example.org:3478",
		"turn://ann:s3cret@turn.example.org:3478":     "turn://ann:xxxxx@turn.example.org:3478",
		"turns://ann:s3@c:ret@turn.example.org:5349":  "turns://ann:xxxxx@turn.example.org:5349",
		"turn://ann:s3cret@":                          "turn://ann:xxxxx@",
		"turn://ann:s3cret@turn.example.org:3478?x=1": "turn://ann:xxxxx@turn.example.org:3478?x=1",
	} {
		if got := RedactICEServer(in); got != want {
			t.Errorf("RedactICEServer(%q) = %q, want %q", in, got, want)
		}
	}
	_, err := ParseICEServer("turn://ann:s3cret@")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("ParseICEServer of a bad URL: %v; want an error without the password", err)
	}
}

// TestNodeRelaysThroughMintedCredentials runs a TURN server (pion's, on
// loopback) that checks TURN REST API credentials with the shared secret:
// the node's offer carries a relay candidate, which only an allocation
// made with valid credentials yields; with another secret at the server
// it carries none.
func TestNodeRelaysThroughMintedCredentials(t *testing.T) {
	for _, tc := range []struct {
		name         string
		serverSecret string
		wantRelay    bool
	}{
		{"shared secret", "north-wind-secret", true},
		{"other secret", "south-wind-secret", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, auths := turnServer(t, tc.serverSecret)
			tr, err := New(Config{
				UDPPort: freeUDPPort(t), Interfaces: []string{"lo"}, Loopback: true,
				TURNServers: []string{"turn:" + addr + "?transport=udp"},
				TURNSecret:  "north-wind-secret",
			})
			if err != nil {
				t.Fatal(err)
			}
			testnet.Run(t, tr.Run)
			if err := tr.Up(context.Background()); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			o, err := tr.NewOffer(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer o.Close()
			relay := strings.Contains(o.SDP(), " typ relay")
			if relay != tc.wantRelay {
				t.Errorf("relay candidate in the offer: %v, want %v; the server saw %d authentications\n%s", relay, tc.wantRelay, auths.Load(), o.SDP())
			}
			if auths.Load() == 0 {
				t.Error("the TURN server was never asked")
			}
		})
	}
}

// turnServer runs a pion TURN server on loopback until the test ends,
// accepting TURN REST API credentials made with secret; it returns its
// address and a count of the credentials it was asked to check.
func turnServer(t *testing.T, secret string) (string, *atomic.Int32) {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelDisabled
	check := turn.LongTermTURNRESTAuthHandler(secret, lf.NewLogger("turn"))
	var auths atomic.Int32
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm:         "seedcast.test",
		LoggerFactory: lf,
		AuthHandler: func(ra *turn.RequestAttributes) (string, []byte, bool) {
			auths.Add(1)
			return check(ra)
		},
		PacketConnConfigs: []turn.PacketConnConfig{{
			PacketConn:            pc,
			RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{RelayAddress: net.IPv4(127, 0, 0, 1), Address: "127.0.0.1"},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return pc.LocalAddr().String(), &auths
}
