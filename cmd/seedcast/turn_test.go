package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"

	"github.com/seedcast/seedcast/webrtc"
)

func TestTURNFlags(t *testing.T) {
	const secret = "north-wind-secret"
	c, _ := parse(t, []string{"serve", "--data", t.TempDir(),
		"--turn-secret", secret, "--turn-server", "turn:turn.example.org:3478?transport=udp",
		"--turn-server", "turns:turn.example.org:5349?transport=tcp", "--turn-ttl", "30m",
		"--ice-server", "stun:stun.example.org:3478", "--ice-server", "turn://ann:s3cret-static@relay.example.org:3478"}, nil)
	cfg, err := c.Serve.config(nil)
	if err != nil {
		t.Fatal(err)
	}
	rtc := cfg.webrtc
	if rtc.TURNSecret != secret || rtc.TURNTTL != 30*time.Minute ||
		!slices.Equal(rtc.TURNServers, []string{"turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349?transport=tcp"}) {
		t.Errorf("webrtc config %+v", rtc)
	}
	// What a page of this node gets.
	tr, err := webrtc.New(rtc)
	if err != nil {
		t.Fatal(err)
	}
	n := &node{rtc: tr}
	b, err := json.Marshal(n.pageICEServers())
	if err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{secret, "s3cret-static", "relay.example.org"} {
		if bytes.Contains(b, []byte(leak)) {
			t.Errorf("a page gets %s, with %q in it", b, leak)
		}
	}
	if !bytes.Contains(b, []byte(`"turn:turn.example.org:3478?transport=udp"`)) || !bytes.Contains(b, []byte(`"credential":"`)) {
		t.Errorf("a page gets %s, want the TURN servers with minted credentials", b)
	}

	// The environment twins, and an --ice-server turn: entry without
	// credentials in place of --turn-server; TTL an hour by default.
	d, _ := parse(t, []string{"serve"}, map[string]string{
		"SEEDCAST_TURN_SECRET": secret,
		"SEEDCAST_ICE_SERVER":  "turn:turn.example.org:3478",
	})
	cfg, err = d.Serve.config(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.webrtc.TURNSecret != secret || cfg.webrtc.TURNTTL != time.Hour {
		t.Errorf("from the environment: %+v", cfg.webrtc)
	}
	e, _ := parse(t, []string{"serve", "--turn-server", "turn:turn.example.org:3478"}, map[string]string{"SEEDCAST_TURN_TTL": "10m"})
	cfg, err = e.Serve.config(nil)
	if err != nil || cfg.webrtc.TURNTTL != 10*time.Minute || !slices.Equal(cfg.webrtc.TURNServers, []string{"turn:turn.example.org:3478"}) {
		t.Errorf("SEEDCAST_TURN_TTL and --turn-server: %+v, %v", cfg.webrtc, err)
	}
}

func TestTURNFlagsReject(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string // the error says them
	}{
		{[]string{"--turn-server", "turn:turn.example.org:3478"}, []string{"--turn-secret", "SEEDCAST_TURN_SECRET"}},
		{[]string{"--ice-server", "turn:turn.example.org:3478"}, []string{"--turn-secret", "SEEDCAST_TURN_SECRET", "turn://USER:PASSWORD@"}},
		{[]string{"--turn-secret", "x"}, []string{"--turn-server", "SEEDCAST_TURN_SERVER"}},
		{[]string{"--turn-secret", "x", "--turn-server", "turn://ann:s3cret@turn.example.org:3478"}, []string{"--turn-server", "without credentials"}},
		{[]string{"--turn-secret", "x", "--turn-server", "stun:stun.example.org:3478"}, []string{"--turn-server"}},
		{[]string{"--turn-secret", "x", "--turn-server", "turn:turn.example.org:3478", "--turn-ttl", "0s"}, []string{"--turn-ttl"}},
		{[]string{"--ice-server", "turn://ann:s3cret@"}, []string{"--ice-server"}},
	} {
		c, _ := parse(t, append([]string{"serve"}, tc.args...), nil)
		_, err := c.Serve.config(nil)
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%v: %v, want an error that says %s", tc.args, err, w)
			}
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%v: the error %q shows a password", tc.args, err)
		}
	}
}

// TestServeHelp checks that serve --help lists the flags of HTTPS, proxies
// and TURN with their environment twins.
func TestServeHelp(t *testing.T) {
	var out bytes.Buffer
	var c cli
	exited := false
	p, err := kong.New(&c, append(kongOptions(), kong.Writers(&out, &out), kong.Exit(func(int) { exited = true }))...)
	if err != nil {
		t.Fatal(err)
	}
	p.Parse([]string{"serve", "--help"})
	if !exited {
		t.Fatal("serve --help did not exit")
	}
	help := out.String()
	for flag, env := range map[string]string{
		"--acme-domain": "SEEDCAST_ACME_DOMAIN", "--acme-directory": "SEEDCAST_ACME_DIRECTORY", "--acme-ca-root": "SEEDCAST_ACME_CA_ROOT",
		"--acme-email": "SEEDCAST_ACME_EMAIL", "--http-redirect-addr": "SEEDCAST_HTTP_REDIRECT_ADDR", "--trusted-proxy": "SEEDCAST_TRUSTED_PROXY",
		"--turn-secret": "SEEDCAST_TURN_SECRET", "--turn-server": "SEEDCAST_TURN_SERVER", "--turn-ttl": "SEEDCAST_TURN_TTL",
	} {
		i := strings.Index(help, flag)
		if i < 0 {
			t.Errorf("serve --help lacks %s", flag)
			continue
		}
		// kong prints a flag's twin in its help paragraph, before the next flag.
		rest := help[i+len(flag):]
		if j := strings.Index(rest, "\n  -"); j >= 0 {
			rest = rest[:j]
		}
		if !strings.Contains(rest, "$"+env) {
			t.Errorf("serve --help: %s does not name %s:\n%s", flag, env, rest)
		}
	}
}
