package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seedcast/seedcast/e2e/testnet"
	"github.com/seedcast/seedcast/player"
	"github.com/seedcast/seedcast/signaling"
	"github.com/seedcast/seedcast/swarm"
)

func TestAdminFlags(t *testing.T) {
	root := t.TempDir()
	c, _ := parse(t, []string{"serve", "--admin-token", "0123456789abcdefXYZ", "--allow-root", root, "--allow-root", root + "/."}, nil)
	cfg, err := c.Serve.config(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.admin.token != "0123456789abcdefXYZ" || len(cfg.admin.roots) != 2 || cfg.admin.roots[1] != cfg.admin.roots[0] {
		t.Errorf("admin config %+v", cfg.admin)
	}
	other := t.TempDir()
	c, _ = parse(t, []string{"serve"}, map[string]string{
		"SEEDCAST_ADMIN_TOKEN": "from-the-environment-1234",
		"SEEDCAST_ALLOW_ROOT":  root + "," + other,
		"SEEDCAST_LOG_FORMAT":  "json",
	})
	cfg, err = c.Serve.config(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.admin.token != "from-the-environment-1234" || len(cfg.admin.roots) != 2 {
		t.Errorf("admin config from the environment %+v", cfg.admin)
	}
	if c.LogFormat != "json" {
		t.Errorf("log format %q from SEEDCAST_LOG_FORMAT", c.LogFormat)
	}

	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"serve", "--admin-token", "short"}, "--admin-token"},
		{[]string{"serve", "--admin-token", "has spaces in the token"}, "--admin-token"},
		{[]string{"serve", "--allow-root", filepath.Join(root, "missing")}, "--allow-root"},
	} {
		c, _ := parse(t, tc.args, nil)
		_, err := c.Serve.config(nil)
		if err == nil || !strings.Contains(err.Error(), tc.flag) || !strings.Contains(err.Error(), "SEEDCAST_") {
			t.Errorf("%v: %v, want an error naming %s and its environment twin", tc.args, err, tc.flag)
		}
		if err != nil && strings.Contains(err.Error(), "has spaces") {
			t.Errorf("%v: the error repeats the token: %v", tc.args, err)
		}
	}
}

// TestAdminNode drives the admin API of a node made of a real swarm and
// player: a file added by path comes back after a restart, a second add
// of it answers 200, and a removed one stays removed.
func TestAdminNode(t *testing.T) {
	data := t.TempDir()
	root := t.TempDir()
	film := filepath.Join(root, "film.bin")
	if err := os.WriteFile(film, bytes.Repeat([]byte("seedcast"), 40<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	const token = "the-test-admin-token-0123"
	start := func() (*node, string, func() error) {
		t.Helper()
		log := slog.New(slog.DiscardHandler)
		sw, err := swarm.New(swarm.Config{Logger: log, DataDir: data, BTPort: -1, ListenHost: "127.0.0.1", NoDHT: true, NoPortForwarding: true})
		if err != nil {
			t.Fatal(err)
		}
		stop := testnet.Run(t, sw.Run)
		if err := sw.Up(context.Background()); err != nil {
			t.Fatal(err)
		}
		n := &node{log: log, sw: sw, mux: http.NewServeMux()}
		ts := httptest.NewServer(n.mux)
		t.Cleanup(ts.Close)
		if n.tr, err = signaling.New(signaling.Config{Logger: log}); err != nil {
			t.Fatal(err)
		}
		if n.pl, err = player.New(player.Config{Swarm: sw, PublicURL: ts.URL, Logger: log}); err != nil {
			t.Fatal(err)
		}
		n.pl.Register(n.mux)
		cfg := nodeConfig{swarm: swarm.Config{DataDir: data}, admin: adminConfig{token: token, roots: []string{root}}}
		if n.ops, err = newOps(n, cfg); err != nil {
			t.Fatal(err)
		}
		if _, err := sw.Restore(context.Background()); err != nil {
			t.Fatal(err)
		}
		n.ready.Store(true)
		return n, ts.URL, stop
	}
	do := func(url, method, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}

	n, url, stop := start()
	code, body := do(url+"/api/torrents", "POST", `{"path": "`+film+`"}`)
	var got struct {
		InfoHash string `json:"infohash"`
		Name     string `json:"name"`
		Seeding  bool   `json:"seeding"`
	}
	if err := json.Unmarshal([]byte(body), &got); code != 201 || err != nil || got.Name != "film.bin" || !got.Seeding {
		t.Fatalf("POST a path: %d %s", code, body)
	}
	if code, _ := do(url+"/api/torrents", "POST", `{"path": "`+film+`"}`); code != 200 {
		t.Errorf("POST it again: %d, want 200", code)
	}
	if code, body := do(url+"/api/torrents", "POST", `{"magnet": "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567&dn=gone"}`); code != 201 {
		t.Fatalf("POST a magnet: %d %s", code, body)
	}
	if code, _ := do(url+"/api/torrents/0123456789abcdef0123456789abcdef01234567", "DELETE", ""); code != 204 {
		t.Errorf("DELETE the magnet: %d, want 204", code)
	}
	if n := len(n.sw.Torrents()); n != 1 {
		t.Errorf("%d torrents, want the file alone", n)
	}
	n.ready.Store(false) // a node starting or stopping
	if code, _ := do(url+"/api/torrents", "POST", `{"path": "`+film+`"}`); code != 503 {
		t.Errorf("POST while starting: %d, want 503", code)
	}

	// The restart's swarm shares the data dir: the first one stops first.
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	n2, url2, _ := start()
	list := n2.sw.Torrents()
	if len(list) != 1 || list[0].InfoHash().String() != got.InfoHash || !list[0].Seeding() {
		t.Fatalf("after a restart: %d torrents, want the file alone, complete", len(list))
	}
	if code, _ := do(url2+"/api/torrents/"+got.InfoHash, "DELETE", ""); code != 204 {
		t.Errorf("DELETE the file: %d", code)
	}
	if _, err := os.Stat(film); err != nil {
		t.Errorf("the removed file: %v, want it where it was", err)
	}
}
