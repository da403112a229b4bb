package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/acme/autocert"
)

// httpFlags are the flags of the HTTP listener, shared by serve and tracker.
type httpFlags struct {
	Addr      string `default:"127.0.0.1:8080" env:"SEEDCAST_ADDR" help:"HTTP listen address (tracker, player, API)."`
	PublicURL string `name:"public-url" env:"SEEDCAST_PUBLIC_URL" placeholder:"URL" help:"Base URL viewers and peers reach this node at, e.g. https://films.example.org (default: from --addr)."`
	TLSCert   string `name:"tls-cert" env:"SEEDCAST_TLS_CERT" type:"existingfile" help:"TLS certificate (PEM) to serve HTTPS and WSS, read again whenever it or --tls-key changes."`
	TLSKey    string `name:"tls-key" env:"SEEDCAST_TLS_KEY" type:"existingfile" help:"TLS private key (PEM) for --tls-cert."`

	TrustedProxy []string `name:"trusted-proxy" env:"SEEDCAST_TRUSTED_PROXY" placeholder:"CIDR" help:"Reverse proxy to believe, e.g. 127.0.0.1/32 (repeatable): its X-Forwarded-For gives the client's address; without --public-url its X-Forwarded-Proto and Host name the node. Other clients' X-Forwarded-* headers are dropped."`
}

// publicURL returns the node's base URL without a trailing slash.
func (f *httpFlags) publicURL() (*url.URL, error) {
	raw := f.PublicURL
	if raw == "" {
		scheme := "http"
		if f.TLSCert != "" {
			scheme = "https"
		}
		raw = scheme + "://" + urlHost(f.Addr)
	}
	u, err := url.Parse(strings.TrimSuffix(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--public-url %q: want http(s)://host[:port][/path]", raw)
	}
	return u, nil
}

func (f *httpFlags) validate() error {
	if (f.TLSCert == "") != (f.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together; set both or neither")
	}
	_, err := parseProxies(f.TrustedProxy)
	return err
}

// announceURLs returns the node's own tracker as WebSocket and HTTP URLs.
func announceURLs(base *url.URL) []string {
	ws := *base
	ws.Scheme = map[string]string{"http": "ws", "https": "wss"}[base.Scheme]
	return []string{ws.String() + "/announce", base.String() + "/announce"}
}

// httpServer serves the node's one HTTP listener, and the plain HTTP one
// that redirects to it.
type httpServer struct {
	flags   httpFlags
	handler http.Handler
	log     *slog.Logger
	// idle is how long a keep-alive conn may wait for its next request;
	// zero means idleTimeout.
	idle time.Duration
	// listening, if set, is called with the listener's address once it is
	// open.
	listening func(addr net.Addr)
	// acme, if set, gets the listener's certificates for acmeDomains
	// from an ACME CA; else --tls-cert and --tls-key, if given, serve
	// HTTPS.
	acme        *autocert.Manager
	acmeDomains []string
	// redirectAddr, if set, is the address of a plain HTTP listener that
	// redirects to base and answers ACME HTTP-01 challenges.
	redirectAddr string
	base         *url.URL
	// ln, if set, is the listener to serve on, opened by the caller (to
	// learn a free port before the node is made), in place of one on
	// flags.Addr; Run closes it.
	ln net.Listener
	// shutdown bounds the graceful shutdown; zero means shutdownWait.
	shutdown time.Duration
}

// shutdownWait bounds a graceful shutdown; then open conns are cut.
const shutdownWait = 5 * time.Second

// Run listens and serves until ctx is done, then shuts down within
// shutdownWait (or h.shutdown). Hijacked conns (the tracker's WebSockets) are the
// tracker's to close. It returns nil after a clean stop.
func (h *httpServer) Run(ctx context.Context) error {
	tlsCfg, err := h.tlsConfig()
	var proxies proxies
	if err == nil {
		proxies, err = parseProxies(h.flags.TrustedProxy)
	}
	if err != nil {
		if h.ln != nil {
			h.ln.Close()
		}
		return err
	}
	ln := h.ln
	if ln == nil {
		if ln, err = listen(h.flags.Addr, "--addr or SEEDCAST_ADDR"); err != nil {
			return err
		}
	}
	var redirect net.Listener
	if h.redirectAddr != "" {
		if redirect, err = listen(h.redirectAddr, "--http-redirect-addr or SEEDCAST_HTTP_REDIRECT_ADDR"); err != nil {
			ln.Close()
			return err
		}
	}
	srv := h.server(proxies.handler(h.handler))
	srv.TLSConfig = tlsCfg
	if h.listening != nil {
		h.listening(ln.Addr())
	}
	errc := make(chan error, 2)
	servers := []*http.Server{srv}
	go func() {
		if tlsCfg != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	if redirect != nil {
		rsrv := h.server(redirectHandler(h.base, h.acmeDomains, h.acme))
		servers = append(servers, rsrv)
		go func() { errc <- rsrv.Serve(redirect) }()
		h.log.Info("http redirect listening", "addr", redirect.Addr().String(), "to", h.base.String())
	}
	if h.acme != nil {
		// Not waited for: see obtainCerts.
		go obtainCerts(ctx, h.acme, h.acmeDomains, h.log)
	}
	var runErr error
	pending := len(servers) // each Serve sends to errc once
	select {
	case err := <-errc:
		pending--
		runErr = fmt.Errorf("http: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), cmp.Or(h.shutdown, shutdownWait))
	defer cancel()
	for _, s := range servers {
		if err := s.Shutdown(sctx); err != nil {
			s.Close()
		}
	}
	for ; pending > 0; pending-- {
		<-errc // http.ErrServerClosed, once Serve has returned
	}
	return runErr
}

// server returns an HTTP server of h for handler.
// idleTimeout is how long a keep-alive conn may wait for its next
// request: one nobody uses is given back, where 300 idle ones once held
// every descriptor of a node under a limit of 256.
const idleTimeout = 30 * time.Second

func (h *httpServer) server(handler http.Handler) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       cmp.Or(h.idle, idleTimeout),
		ErrorLog:          slog.NewLogLogger(h.log.Handler(), slog.LevelDebug),
	}
}

// listen opens an HTTP listener with an error that says what to do,
// naming flag, the flag and env twin that set addr.
func listen(addr, flag string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		var se *os.SyscallError
		if errors.As(err, &se) && strings.Contains(se.Error(), "address already in use") {
			return nil, fmt.Errorf("HTTP address %s in use; set %s", addr, flag)
		}
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}
