package main

import (
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
)

// httpFlags are the flags of the HTTP listener, shared by serve and tracker.
type httpFlags struct {
	Addr      string `default:"127.0.0.1:8080" env:"SEEDCAST_ADDR" help:"HTTP listen address (tracker, player, API)."`
	PublicURL string `name:"public-url" env:"SEEDCAST_PUBLIC_URL" placeholder:"URL" help:"Base URL viewers and peers reach this node at, e.g. https://films.example.org (default: from --addr)."`
	TLSCert   string `name:"tls-cert" env:"SEEDCAST_TLS_CERT" type:"existingfile" help:"TLS certificate (PEM) to serve HTTPS and WSS."`
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

// httpServer serves the node's one HTTP listener.
type httpServer struct {
	flags   httpFlags
	handler http.Handler
	log     *slog.Logger
	// listening, if set, is called with the listener's address once it is
	// open.
	listening func(addr net.Addr)
}

// shutdownWait bounds a graceful shutdown; then open conns are cut.
const shutdownWait = 5 * time.Second

// Run listens and serves until ctx is done, then shuts down within
// shutdownWait. Hijacked conns (the tracker's WebSockets) are the
// tracker's to close. It returns nil after a clean stop.
func (h *httpServer) Run(ctx context.Context) error {
	proxies, err := parseProxies(h.flags.TrustedProxy)
	if err != nil {
		return err
	}
	ln, err := listen(h.flags.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           proxies.handler(h.handler),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(h.log.Handler(), slog.LevelDebug),
	}
	if h.listening != nil {
		h.listening(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() {
		if h.flags.TLSCert != "" {
			errc <- srv.ServeTLS(ln, h.flags.TLSCert, h.flags.TLSKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("http: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownWait)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	<-errc // http.ErrServerClosed, once Serve has returned
	return nil
}

// listen opens the HTTP listener with an error that says what to do.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		var se *os.SyscallError
		if errors.As(err, &se) && strings.Contains(se.Error(), "address already in use") {
			return nil, fmt.Errorf("HTTP address %s in use; set --addr or SEEDCAST_ADDR", addr)
		}
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}
