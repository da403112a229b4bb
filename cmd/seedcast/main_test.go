package main

import (
	"errors"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/alecthomas/kong"

	"github.com/seedcast/seedcast/webrtc"
)

// parse parses args as main does, with env as the environment.
func parse(t *testing.T, args []string, env map[string]string) (*cli, *kong.Context) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	var c cli
	p, err := kong.New(&c, append(kongOptions(), kong.Exit(func(int) { t.Fatalf("kong exited on %v", args) }))...)
	if err != nil {
		t.Fatal(err)
	}
	kctx, err := p.Parse(args)
	if err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return &c, kctx
}

func TestServeConfig(t *testing.T) {
	c, _ := parse(t, []string{"serve",
		"--addr", "0.0.0.0:9000", "--data", "/tmp/sc", "--bt-port", "7000", "--nat-ip", "203.0.113.7",
		"--tracker", "wss://tracker.example.org", "--tracker", "udp://tracker.example.org:1337",
		"--no-dht", "--no-utp", "--no-port-forwarding", "--upload-rate", "4Mbit/s", "--p2p-min-viewers", "3",
		"--webrtc-port", "4000", "--ice-server", "stun:stun.example.org:3478",
		"--ice-server", "turn://ann:s3cret@turn.example.org:3478",
		"--webrtc-interface", "eth0", "--webrtc-interface", "lo",
		"film.mp4", "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567"}, nil)
	cfg, err := c.Serve.config(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.base.String(); got != "http://localhost:9000" {
		t.Errorf("public URL %s, want http://localhost:9000 (from --addr)", got)
	}
	sw := cfg.swarm
	if sw.DataDir != "/tmp/sc" || sw.BTPort != 7000 || !sw.NoDHT || !sw.DisableUTP || sw.DisableTCP || !sw.NoPortForwarding {
		t.Errorf("swarm config %+v", sw)
	}
	if cfg.web.P2PMinViewers != 3 || cfg.web.PublicURL != "http://localhost:9000" {
		t.Errorf("web config %+v", cfg.web)
	}
	if sw.UploadRate != 500_000 {
		t.Errorf("swarm upload rate %d, want 500000 bytes/s", sw.UploadRate)
	}
	if sw.NATIP != netip.MustParseAddr("203.0.113.7") {
		t.Errorf("swarm NATIP %v", sw.NATIP)
	}
	if want := []string{"ws://localhost:9000/announce", "http://localhost:9000/announce"}; !slices.Equal(sw.Announce, want) {
		t.Errorf("announce %v, want %v", sw.Announce, want)
	}
	if want := []string{"wss://tracker.example.org", "udp://tracker.example.org:1337"}; !slices.Equal(sw.Trackers, want) {
		t.Errorf("trackers %v, want %v", sw.Trackers, want)
	}
	if sw.WebSeedBase != "http://localhost:9000/webseed/" {
		t.Errorf("web seed base %q", sw.WebSeedBase)
	}
	rtc := cfg.webrtc
	if rtc.UDPPort != 4000 || !slices.Equal(rtc.NATIPs, []string{"203.0.113.7"}) || !rtc.Loopback ||
		!slices.Equal(rtc.Interfaces, []string{"eth0", "lo"}) || len(rtc.ICEServers) != 2 {
		t.Errorf("webrtc config %+v", rtc)
	}
	if want := []string{"film.mp4", "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567"}; !slices.Equal(cfg.paths, want) {
		t.Errorf("paths %v, want %v", cfg.paths, want)
	}
}

func TestServeConfigDefaultsAndEnv(t *testing.T) {
	c, _ := parse(t, []string{"serve"}, map[string]string{
		"SEEDCAST_BT_PORT":     "6999",
		"SEEDCAST_PUBLIC_URL":  "https://films.example.org/",
		"SEEDCAST_NO_WEBSEED":  "true",
		"SEEDCAST_ICE_SERVER":  "stun:a.example.org:3478,stun:b.example.org:3478",
		"SEEDCAST_WEBRTC_PORT": "5000",
	})
	cfg, err := c.Serve.config(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.base.String() != "https://films.example.org" {
		t.Errorf("public URL %s", cfg.base)
	}
	if cfg.swarm.BTPort != 6999 || cfg.swarm.WebSeedBase != "" || cfg.swarm.NATIP.IsValid() {
		t.Errorf("swarm config %+v", cfg.swarm)
	}
	if want := []string{"wss://films.example.org/announce", "https://films.example.org/announce"}; !slices.Equal(cfg.swarm.Announce, want) {
		t.Errorf("announce %v, want %v", cfg.swarm.Announce, want)
	}
	if cfg.webrtc.UDPPort != 5000 || cfg.webrtc.Loopback || len(cfg.webrtc.ICEServers) != 2 {
		t.Errorf("webrtc config %+v", cfg.webrtc)
	}
	if len(cfg.paths) != 0 {
		t.Errorf("paths %v, want none (the pilot)", cfg.paths)
	}
}

// TestServeConfigDefaults checks that the flags' defaults reach the parts.
func TestServeConfigDefaults(t *testing.T) {
	for _, k := range []string{"SEEDCAST_ADDR", "SEEDCAST_PUBLIC_URL", "SEEDCAST_BT_PORT", "SEEDCAST_WEBRTC_PORT"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	d, _ := parse(t, []string{"serve"}, nil)
	cfg, err := d.Serve.config(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.base.String() != "http://127.0.0.1:8080" || cfg.swarm.BTPort != 6881 || cfg.webrtc.UDPPort != 3478 {
		t.Errorf("defaults: %s, bt %d, webrtc %d", cfg.base, cfg.swarm.BTPort, cfg.webrtc.UDPPort)
	}
}

func TestServeConfigRejects(t *testing.T) {
	for _, tc := range []struct {
		args []string
		flag string // the error names it
		is   error
	}{
		{[]string{"serve", "--nat-ip", "not-an-ip"}, "--nat-ip", nil},
		{[]string{"serve", "--upload-rate", "fast"}, "--upload-rate", nil},
		{[]string{"serve", "--p2p-min-viewers=-1"}, "--p2p-min-viewers", nil},
		{[]string{"serve", "--ice-server", "http://stun.example.org"}, "--ice-server", webrtc.ErrICEServer},
		{[]string{"serve", "--public-url", "ftp://films.example.org"}, "--public-url", nil},
		{[]string{"serve", "--tls-cert", "main.go"}, "--tls-key", nil},
	} {
		c, _ := parse(t, tc.args, nil)
		_, err := c.Serve.config(nil)
		if err == nil || !strings.Contains(err.Error(), tc.flag) {
			t.Errorf("%v: %v, want an error naming %s", tc.args, err, tc.flag)
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("%v: %v, want %v", tc.args, err, tc.is)
		}
	}
}

func TestURLHost(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8080": "127.0.0.1:8080",
		":8080":          "localhost:8080",
		"0.0.0.0:80":     "localhost:80",
		"[::]:8080":      "localhost:8080",
		"[::1]:8080":     "[::1]:8080",
		"films.example":  "films.example",
	} {
		if got := urlHost(in); got != want {
			t.Errorf("urlHost(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIsLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LocalHost": true, "app.localhost": true, "127.0.0.1": true, "127.1.2.3": true, "::1": true,
		"films.example.org": false, "10.0.0.1": false, "0.0.0.0": false, "": false, "localhost.example": false,
	} {
		if got := isLoopbackHost(host); got != want {
			t.Errorf("isLoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}
