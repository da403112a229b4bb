package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// healthcheckCmd asks a node on this machine whether it is healthy, for a
// container's HEALTHCHECK: the runtime image has no curl.
type healthcheckCmd struct {
	Addr       string        `default:"127.0.0.1:8080" env:"SEEDCAST_ADDR" help:"The node's HTTP listen address (an unspecified host means this machine)."`
	TLSCert    string        `name:"tls-cert" env:"SEEDCAST_TLS_CERT" placeholder:"FILE" help:"Set when the node serves HTTPS with it: the check then speaks HTTPS."`
	ACMEDomain string        `name:"acme-domain" env:"SEEDCAST_ACME_DOMAIN" placeholder:"NAME" help:"Set when the node gets its certificate by ACME: the check then speaks HTTPS."`
	Timeout    time.Duration `default:"5s" env:"SEEDCAST_HEALTHCHECK_TIMEOUT" help:"How long to wait for the answer."`
}

// Run gets /healthz and fails unless it answers 200 OK.
func (c *healthcheckCmd) Run(ctx context.Context) error {
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("--addr %q (SEEDCAST_ADDR): want HOST:PORT", c.Addr)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	scheme := "http"
	if c.TLSCert != "" || c.ACMEDomain != "" {
		scheme = "https"
	}
	u := scheme + "://" + net.JoinHostPort(host, port) + "/healthz"
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{
		// The node's certificate names its public domain, not the address
		// it is asked at here, on this machine: the check is of the node's
		// health, not of who it is. The domain goes in the SNI, by which an
		// ACME node picks its certificate.
		TLSClientConfig: &tls.Config{ServerName: c.ACMEDomain, InsecureSkipVerify: true},
	}}
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w; is seedcast serve running with --addr %s (SEEDCAST_ADDR)?", err, c.Addr)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<10))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: GET %s: %s: %s", u, res.Status, strings.TrimSpace(string(body)))
	}
	fmt.Fprintf(stdout, "%s: %s\n", u, strings.TrimSpace(string(body)))
	return nil
}
