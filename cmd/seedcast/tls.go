package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// acmeFlags are serve's flags for certificates from an ACME CA.
type acmeFlags struct {
	ACMEDomain       []string `name:"acme-domain" env:"SEEDCAST_ACME_DOMAIN" placeholder:"NAME" help:"Domain to get and renew an HTTPS certificate for from an ACME CA, accepting its terms (repeatable); the first is the public URL's host. Port 443 of the domain must reach --addr (TLS-ALPN-01), or port 80 --http-redirect-addr (HTTP-01). Certificates are kept in --data."`
	ACMEDirectory    string   `name:"acme-directory" env:"SEEDCAST_ACME_DIRECTORY" default:"https://acme-v02.api.letsencrypt.org/directory" help:"ACME directory of the CA that issues --acme-domain's certificates."`
	ACMECARoot       string   `name:"acme-ca-root" env:"SEEDCAST_ACME_CA_ROOT" type:"existingfile" placeholder:"FILE" help:"PEM file of root certificates to trust, beside the system's, for the HTTPS of --acme-directory (a private CA)."`
	ACMEEmail        string   `name:"acme-email" env:"SEEDCAST_ACME_EMAIL" placeholder:"EMAIL" help:"Contact address for the ACME account (the CA's notices)."`
	HTTPRedirectAddr string   `name:"http-redirect-addr" env:"SEEDCAST_HTTP_REDIRECT_ADDR" placeholder:"ADDR" help:"Plain HTTP listen address, such as :80, that redirects to the https public URL and answers ACME HTTP-01 challenges."`
}

// hostnameRE matches a DNS name of two labels or more: what an ACME CA
// issues for over TLS-ALPN-01 and HTTP-01 (wildcards need DNS-01).
var hostnameRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// check checks the ACME flags against the HTTP ones and lower-cases the
// domains.
func (f *acmeFlags) check(h httpFlags) error {
	for i, d := range f.ACMEDomain {
		d = strings.ToLower(strings.TrimSuffix(d, "."))
		if len(d) > 253 || !hostnameRE.MatchString(d) || !strings.Contains(d, ".") {
			return fmt.Errorf("--acme-domain %q: want a host name such as films.example.org, without scheme, port or wildcard", f.ACMEDomain[i])
		}
		f.ACMEDomain[i] = d
	}
	acme := len(f.ACMEDomain) > 0
	if acme && h.TLSCert != "" {
		return errors.New("--acme-domain and --tls-cert are two ways to the same certificate; set one (SEEDCAST_ACME_DOMAIN or SEEDCAST_TLS_CERT)")
	}
	if u, err := url.Parse(f.ACMEDirectory); err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("--acme-directory %q: want the https:// URL of an ACME directory", f.ACMEDirectory)
	}
	if !acme && (f.ACMEEmail != "" || f.ACMECARoot != "") {
		return errors.New("--acme-email and --acme-ca-root go with --acme-domain (SEEDCAST_ACME_DOMAIN); set it too")
	}
	if f.HTTPRedirectAddr != "" && !acme && h.TLSCert == "" {
		return errors.New("--http-redirect-addr redirects to HTTPS, which this node does not serve: set --acme-domain (SEEDCAST_ACME_DOMAIN), or --tls-cert and --tls-key")
	}
	return nil
}

// baseURL is h's public URL, which with ACME and no --public-url is
// https:// and the first domain: the CA reached it on port 443.
func (f *acmeFlags) baseURL(h httpFlags) (*url.URL, error) {
	if h.PublicURL == "" && len(f.ACMEDomain) > 0 {
		h.PublicURL = "https://" + f.ACMEDomain[0]
	}
	return h.publicURL()
}

// manager returns the certificate manager of the ACME flags, caching
// account and certificates in dataDir/acme, or nil without --acme-domain.
// It renews each certificate 30 days before it expires.
func (f *acmeFlags) manager(dataDir string) (*autocert.Manager, error) {
	if len(f.ACMEDomain) == 0 {
		return nil, nil
	}
	client := &acme.Client{DirectoryURL: f.ACMEDirectory, UserAgent: "seedcast"}
	if f.ACMECARoot != "" {
		pem, err := os.ReadFile(f.ACMECARoot)
		if err != nil {
			return nil, fmt.Errorf("--acme-ca-root: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--acme-ca-root %s: no PEM certificate in it", f.ACMECARoot)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
		client.HTTPClient = &http.Client{Transport: tr}
	}
	return &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(filepath.Join(dataDir, "acme")),
		HostPolicy: autocert.HostWhitelist(f.ACMEDomain...),
		Email:      f.ACMEEmail,
		Client:     client,
	}, nil
}

// tlsConfig returns the TLS configuration of the HTTP listener: from the
// ACME manager if there is one, else from --tls-cert and --tls-key,
// reloaded when they change; nil for plain HTTP.
func (h *httpServer) tlsConfig() (*tls.Config, error) {
	if h.acme != nil {
		return h.acme.TLSConfig(), nil
	}
	if h.flags.TLSCert == "" {
		return nil, nil
	}
	files, err := loadCertFiles(h.flags.TLSCert, h.flags.TLSKey, h.log)
	if err != nil {
		return nil, err
	}
	return &tls.Config{GetCertificate: files.GetCertificate, NextProtos: []string{"h2", "http/1.1"}}, nil
}

// certFiles serves the certificate of a pair of PEM files, read again as
// soon as either file changes (its modification time, size or inode), so
// that a renewal (certbot, a mounted secret) takes effect at the next
// handshake, without a restart.
type certFiles struct {
	certPath, keyPath string
	log               *slog.Logger

	mu     sync.Mutex
	cert   *tls.Certificate
	loaded [2]os.FileInfo // of the files cert was read from
	failed [2]os.FileInfo // of files that did not load, so as to log them once
}

// loadCertFiles reads the certificate and key for the first time.
func loadCertFiles(certPath, keyPath string, log *slog.Logger) (*certFiles, error) {
	c := &certFiles{certPath: certPath, keyPath: keyPath, log: log.With("component", "tls")}
	stamp, err := c.stat()
	if err != nil {
		return nil, fmt.Errorf("--tls-cert and --tls-key: %w", err)
	}
	if err := c.load(stamp); err != nil {
		return nil, fmt.Errorf("--tls-cert %s and --tls-key %s: %w", certPath, keyPath, err)
	}
	return c, nil
}

func (c *certFiles) stat() ([2]os.FileInfo, error) {
	var st [2]os.FileInfo
	for i, p := range []string{c.certPath, c.keyPath} {
		fi, err := os.Stat(p)
		if err != nil {
			return st, err
		}
		st[i] = fi
	}
	return st, nil
}

// load reads the pair; c.mu is held or c is not yet shared.
func (c *certFiles) load(stamp [2]os.FileInfo) error {
	cert, err := tls.LoadX509KeyPair(c.certPath, c.keyPath)
	if err != nil {
		return err
	}
	c.cert, c.loaded = &cert, stamp
	return nil
}

// GetCertificate is the tls.Config hook: the certificate as the files now
// hold it. While they hold a pair that does not load (a renewal half
// written), it keeps the certificate it had, and logs that once.
func (c *certFiles) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	stamp, statErr := c.stat()
	c.mu.Lock()
	defer c.mu.Unlock()
	if statErr == nil && !sameFiles(stamp, c.loaded) && !sameFiles(stamp, c.failed) {
		if err := c.load(stamp); err != nil {
			c.failed = stamp
			c.log.Warn("TLS certificate files changed but do not load; serving the previous certificate", "cert", c.certPath, "key", c.keyPath, "err", err)
		} else {
			c.log.Info("TLS certificate reloaded", "cert", c.certPath, "not_after", c.cert.Leaf.NotAfter)
		}
	}
	return c.cert, nil
}

// sameFiles reports whether a and b describe the same versions of the two
// files.
func sameFiles(a, b [2]os.FileInfo) bool {
	for i := range a {
		if a[i] == nil || b[i] == nil || !os.SameFile(a[i], b[i]) || !a[i].ModTime().Equal(b[i].ModTime()) || a[i].Size() != b[i].Size() {
			return false
		}
	}
	return true
}

// Retries of a certificate the CA did not issue: a CA counts failed
// validations (Let's Encrypt allows 5 an hour for a name), and autocert
// tries again at every handshake anyway.
const (
	acmeRetryFirst = 2 * time.Minute
	acmeRetryMax   = time.Hour
)

// obtainCerts gets the certificate of each domain from m as soon as the
// listener is up, so that the first viewer does not wait for it and a
// failure shows in the log at start; m renews them from then on. It
// retries a failure with backoff until ctx is done.
//
// autocert takes no context: an issuance under way may outlast ctx by up
// to its own 5-minute bound, so callers do not wait for obtainCerts to
// return once ctx is done; the process ends anyway.
func obtainCerts(ctx context.Context, m *autocert.Manager, domains []string, log *slog.Logger) {
	log = log.With("component", "acme")
	for _, d := range domains {
		// A hello that takes ECDSA, as every browser's does, so that the
		// certificate obtained is the one browsers get.
		hello := &tls.ClientHelloInfo{
			ServerName:       d,
			SignatureSchemes: []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256},
			SupportedCurves:  []tls.CurveID{tls.CurveP256},
			CipherSuites:     []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
		}
		wait := acmeRetryFirst
		for {
			cert, err := m.GetCertificate(hello)
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				log.Info("certificate ready", "domain", d, "not_after", cert.Leaf.NotAfter)
				break
			}
			log.Warn("certificate not obtained: the domain's DNS must point at this node, and its port 443 reach --addr (or port 80 --http-redirect-addr); retrying",
				"domain", d, "retry_in", wait, "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(2*wait, acmeRetryMax)
		}
	}
}

// redirectHandler redirects plain HTTP requests to the same path at base,
// or at the https:// of their own host when it is one of domains. With an
// ACME manager it answers HTTP-01 challenges first.
func redirectHandler(base *url.URL, domains []string, m *autocert.Manager) http.Handler {
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := base.Host
		if name, _, err := net.SplitHostPort(r.Host); err == nil && slices.Contains(domains, strings.ToLower(name)) {
			host = strings.ToLower(name)
		} else if slices.Contains(domains, strings.ToLower(r.Host)) {
			host = strings.ToLower(r.Host)
		}
		code := http.StatusMovedPermanently
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			code = http.StatusPermanentRedirect // keeps the method and body
		}
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), code)
	})
	if m == nil {
		return h
	}
	challenges := m.HTTPHandler(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A validation request may name port 80 in its Host (Pebble's
		// do), which autocert's host policy would refuse.
		if name, port, err := net.SplitHostPort(r.Host); err == nil && port == "80" {
			r = r.Clone(r.Context())
			r.Host = name
		}
		challenges.ServeHTTP(w, r)
	})
}

// plainHTTPWarning is the one line a node logs at start when browsers
// reach it over plain HTTP on a host other than loopback.
const plainHTTPWarning = "public URL is plain http, so browsers give its pages no secure context: no service worker, and viewers stream from this node instead of sharing peer-to-peer; serve HTTPS with --acme-domain NAME (SEEDCAST_ACME_DOMAIN), or --tls-cert and --tls-key, or behind an HTTPS proxy with --public-url https://..."

// warnPlainHTTP logs plainHTTPWarning if base is plain http on a host
// that is not loopback, which browsers treat as secure anyway (W3C Secure
// Contexts, "potentially trustworthy" origins).
func warnPlainHTTP(log *slog.Logger, base *url.URL) {
	if base.Scheme != "http" || isLoopbackHost(base.Hostname()) {
		return
	}
	log.Warn(plainHTTPWarning, "public_url", base.String())
}
