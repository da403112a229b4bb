package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"

	"github.com/seedcast/seedcast/e2e/testnet"
)

func TestACMEFlags(t *testing.T) {
	data := t.TempDir()
	root := filepath.Join(t.TempDir(), "root.pem")
	writeCert(t, root, filepath.Join(t.TempDir(), "key.pem"), 1)
	c, _ := parse(t, []string{"serve", "--data", data,
		"--acme-domain", "Films.Example.org.", "--acme-domain", "www.films.example.org",
		"--acme-directory", "https://acme.example.net/dir", "--acme-ca-root", root,
		"--acme-email", "ops@example.org", "--http-redirect-addr", ":80"}, nil)
	cfg, err := c.Serve.config(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.base.String(); got != "https://films.example.org" {
		t.Errorf("public URL %s, want https://films.example.org (the first domain)", got)
	}
	if want := []string{"wss://films.example.org/announce", "https://films.example.org/announce"}; !slices.Equal(cfg.swarm.Announce, want) {
		t.Errorf("announce %v, want %v", cfg.swarm.Announce, want)
	}
	m := cfg.acme
	if m == nil {
		t.Fatal("no ACME manager")
	}
	if m.Client.DirectoryURL != "https://acme.example.net/dir" || m.Email != "ops@example.org" || m.Client.HTTPClient == nil {
		t.Errorf("ACME client %+v, email %q", m.Client, m.Email)
	}
	if dir, ok := m.Cache.(autocert.DirCache); !ok || string(dir) != filepath.Join(data, "acme") {
		t.Errorf("cache %#v, want a DirCache in %s", m.Cache, filepath.Join(data, "acme"))
	}
	for host, ok := range map[string]bool{"films.example.org": true, "www.films.example.org": true, "other.example.org": false} {
		if err := m.HostPolicy(context.Background(), host); (err == nil) != ok {
			t.Errorf("host policy for %s: %v, want allowed %v", host, err, ok)
		}
	}
	if c.Serve.HTTPRedirectAddr != ":80" {
		t.Errorf("redirect addr %q", c.Serve.HTTPRedirectAddr)
	}

	e, _ := parse(t, []string{"serve"}, nil)
	if cfg, err := e.Serve.config(nil); err != nil || cfg.acme != nil {
		t.Errorf("without --acme-domain: manager %v, %v; want none", cfg.acme, err)
	}

	// The environment twins, and Let's Encrypt by default.
	d, _ := parse(t, []string{"serve"}, map[string]string{
		"SEEDCAST_ACME_DOMAIN": "a.example.org,b.example.org",
		"SEEDCAST_ACME_EMAIL":  "ops@example.org",
		"SEEDCAST_PUBLIC_URL":  "https://films.example.org",
		"SEEDCAST_DATA":        data,
	})
	cfg, err = d.Serve.config(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Serve.ACMEDomain, []string{"a.example.org", "b.example.org"}) || cfg.acme.Email != "ops@example.org" {
		t.Errorf("from the environment: domains %v, email %q", d.Serve.ACMEDomain, cfg.acme.Email)
	}
	if cfg.acme.Client.DirectoryURL != acme.LetsEncryptURL {
		t.Errorf("default directory %s, want Let's Encrypt's %s", cfg.acme.Client.DirectoryURL, acme.LetsEncryptURL)
	}
	if cfg.base.String() != "https://films.example.org" {
		t.Errorf("--public-url lost to --acme-domain: %s", cfg.base)
	}

}

func TestACMEFlagsReject(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty.pem")
	if err := os.WriteFile(empty, []byte("no certificate here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want []string // the error names them
	}{
		{[]string{"--acme-domain", "https://films.example.org"}, []string{"--acme-domain"}},
		{[]string{"--acme-domain", "*.example.org"}, []string{"--acme-domain"}},
		{[]string{"--acme-domain", "films.example.org:443"}, []string{"--acme-domain"}},
		{[]string{"--acme-domain", "localhost"}, []string{"--acme-domain"}},
		{[]string{"--acme-domain", "films.example.org", "--tls-cert", "main.go", "--tls-key", "main.go"}, []string{"--acme-domain", "--tls-cert"}},
		{[]string{"--acme-domain", "films.example.org", "--acme-directory", "http://acme.example.net/dir"}, []string{"--acme-directory"}},
		{[]string{"--acme-email", "ops@example.org"}, []string{"--acme-domain", "SEEDCAST_ACME_DOMAIN"}},
		{[]string{"--http-redirect-addr", ":80"}, []string{"--http-redirect-addr", "--acme-domain", "--tls-cert"}},
		{[]string{"--acme-domain", "films.example.org", "--acme-ca-root", empty}, []string{"--acme-ca-root"}},
	} {
		c, _ := parse(t, append([]string{"serve", "--data", t.TempDir()}, tc.args...), nil)
		_, err := c.Serve.config(nil)
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%v: %v, want an error naming %s", tc.args, err, w)
			}
		}
	}
}

// TestCertReload serves HTTPS from --tls-cert and --tls-key and replaces
// the files under the running server, as a renewal does: the next
// handshake gets the new certificate; a pair that does not load keeps the
// old one, with one warning; no restart.
func TestCertReload(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCert(t, certPath, keyPath, 1)
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	addrc := make(chan net.Addr, 1)
	hs := &httpServer{
		flags:     httpFlags{Addr: "127.0.0.1:0", TLSCert: certPath, TLSKey: keyPath},
		handler:   http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") }),
		log:       log,
		listening: func(a net.Addr) { addrc <- a },
	}
	testnet.Run(t, hs.Run)
	addr := (<-addrc).String()
	serial := func() int64 {
		t.Helper()
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	}
	if got := serial(); got != 1 {
		t.Fatalf("serving serial %d, want 1", got)
	}

	// Replaced by rename, as certbot's symlinks and Kubernetes' secret
	// volumes do.
	next := t.TempDir()
	writeCert(t, filepath.Join(next, "cert.pem"), filepath.Join(next, "key.pem"), 2)
	for _, f := range []string{"cert.pem", "key.pem"} {
		if err := os.Rename(filepath.Join(next, f), filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	if got := serial(); got != 2 {
		t.Errorf("after replacing the files: serial %d, want 2", got)
	}

	// A half-written renewal: a key that does not match.
	other := t.TempDir()
	writeCert(t, filepath.Join(other, "cert.pem"), filepath.Join(other, "key.pem"), 3)
	copyFile(t, filepath.Join(other, "key.pem"), keyPath)
	touch(t, keyPath, time.Now().Add(time.Minute))
	for range 3 {
		if got := serial(); got != 2 {
			t.Errorf("with a key that does not match: serial %d, want 2 still", got)
		}
	}
	if n := strings.Count(logs.String(), "do not load"); n != 1 {
		t.Errorf("%d warnings of files that do not load, want 1:\n%s", n, logs.String())
	}

	// Rewritten in place: the certificate arrives.
	copyFile(t, filepath.Join(other, "cert.pem"), certPath)
	touch(t, certPath, time.Now().Add(2*time.Minute))
	if got := serial(); got != 3 {
		t.Errorf("after the renewal was completed in place: serial %d, want 3", got)
	}
	if n := strings.Count(logs.String(), "TLS certificate reloaded"); n != 2 {
		t.Errorf("%d reloads logged, want 2:\n%s", n, logs.String())
	}
}

// TestPlainHTTPWarning checks the one line a node logs at start when
// browsers would reach it over plain HTTP on a host other than loopback.
func TestPlainHTTPWarning(t *testing.T) {
	for _, tc := range []struct {
		args []string
		warn bool
	}{
		{[]string{"--addr", "0.0.0.0:8080", "--public-url", "http://10.1.2.3:8080"}, true},
		{[]string{"--public-url", "http://films.example.org"}, true},
		{[]string{"--addr", "192.168.1.20:8080"}, true},
		{[]string{"--addr", "127.0.0.1:8080"}, false},
		{[]string{"--addr", "0.0.0.0:8080"}, false}, // http://localhost:8080
		{[]string{"--addr", "[::1]:8080"}, false},
		{[]string{"--public-url", "http://films.localhost:8080"}, false},
		{[]string{"--public-url", "https://films.example.org"}, false},
		{[]string{"--acme-domain", "films.example.org"}, false},
	} {
		c, _ := parse(t, append([]string{"serve", "--data", t.TempDir()}, tc.args...), nil)
		cfg, err := c.Serve.config(nil)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		warnPlainHTTP(slog.New(slog.NewTextHandler(&b, nil)), cfg.base)
		lines := strings.Split(strings.TrimSpace(b.String()), "\n")
		if !tc.warn {
			if b.Len() > 0 {
				t.Errorf("%v (%s): logged %q, want nothing", tc.args, cfg.base, b.String())
			}
			continue
		}
		if len(lines) != 1 || !strings.Contains(lines[0], "level=WARN") || !strings.Contains(lines[0], "public_url="+cfg.base.String()) {
			t.Errorf("%v: logged %q, want one warning with the public URL", tc.args, b.String())
		}
		for _, w := range []string{"no secure context", "no service worker", "peer-to-peer", "--acme-domain", "SEEDCAST_ACME_DOMAIN", "--tls-cert", "--public-url https://"} {
			if !strings.Contains(lines[0], w) {
				t.Errorf("%v: the warning %q does not say %q", tc.args, lines[0], w)
			}
		}
	}
}

func TestRedirectHandler(t *testing.T) {
	base, err := (&acmeFlags{}).baseURL(httpFlags{PublicURL: "https://films.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	domains := []string{"films.example.org", "www.films.example.org"}
	m := &autocert.Manager{Prompt: autocert.AcceptTOS, HostPolicy: autocert.HostWhitelist(domains...), Cache: autocert.DirCache(t.TempDir())}
	h := redirectHandler(base, domains, m)
	for _, tc := range []struct {
		method, host, target string
		code                 int
		location             string
	}{
		{"GET", "films.example.org", "/watch/abc?file=a.mp4", http.StatusMovedPermanently, "https://films.example.org/watch/abc?file=a.mp4"},
		{"GET", "www.films.example.org:80", "/", http.StatusMovedPermanently, "https://www.films.example.org/"},
		{"GET", "10.1.2.3", "/x", http.StatusMovedPermanently, "https://films.example.org/x"},
		{"POST", "films.example.org", "/api/torrents", http.StatusPermanentRedirect, "https://films.example.org/api/torrents"},
		// An HTTP-01 challenge is answered, not redirected: this token
		// is unknown, so 404.
		{"GET", "films.example.org", "/.well-known/acme-challenge/unknown-token", http.StatusNotFound, ""},
		// Pebble's validations name port 80 in Host; the host policy
		// must still pass them (403 if not).
		{"GET", "films.example.org:80", "/.well-known/acme-challenge/unknown-token", http.StatusNotFound, ""},
		{"GET", "other.example.org", "/.well-known/acme-challenge/unknown-token", http.StatusForbidden, ""},
	} {
		r := httptest.NewRequest(tc.method, "http://"+tc.host+tc.target, nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.code || w.Header().Get("Location") != tc.location {
			t.Errorf("%s http://%s%s: %d to %q, want %d to %q", tc.method, tc.host, tc.target, w.Code, w.Header().Get("Location"), tc.code, tc.location)
		}
	}
}

// writeCert writes a self-signed certificate with serial, for localhost,
// and its key.
func writeCert(t *testing.T, certPath, keyPath string, serial int64) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IsCA:         true,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// touch sets the modification time of path: files rewritten within one
// tick of the kernel's clock may keep their time.
func touch(t *testing.T, path string, mtime time.Time) {
	t.Helper()
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is a bytes.Buffer for a logger written from several
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestIdleConnClosed checks that a keep-alive conn left idle is closed by
// the node after the idle timeout, as a client that opens hundreds and
// walks away would otherwise hold the node's descriptors.
func TestIdleConnClosed(t *testing.T) {
	addrc := make(chan net.Addr, 1)
	hs := &httpServer{
		flags:     httpFlags{Addr: "127.0.0.1:0"},
		handler:   http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") }),
		log:       slog.New(slog.DiscardHandler),
		listening: func(a net.Addr) { addrc <- a },
		idle:      200 * time.Millisecond,
	}
	testnet.Run(t, hs.Run)
	c, err := net.Dial("tcp", (<-addrc).String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: node\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	res, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	start := time.Now()
	if _, err := r.ReadByte(); err != io.EOF {
		t.Fatalf("an idle keep-alive conn: %v after %v, want EOF (closed by the node)", err, time.Since(start))
	}
	if hs.server(nil).IdleTimeout != 200*time.Millisecond || (&httpServer{log: slog.Default()}).server(nil).IdleTimeout != idleTimeout {
		t.Error("the idle timeout is not the one configured, or its default")
	}
}
