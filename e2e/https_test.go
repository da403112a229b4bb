//go:build e2e

package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/seedcast/seedcast/e2e/testnet"
)

// The ACME test's name for the node, and Pebble's ports in the test
// network.
const (
	acmeDomain     = "seedcast.test"
	pebbleACMEPort = 14000
	pebbleMgmtPort = 15000
	dnsPort        = 53
	// issueTimeout bounds the wait from serve's start to a certificate
	// that verifies: an account, an order, a TLS-ALPN-01 validation and
	// the issuance, against a Pebble that answers at once
	// (PEBBLE_VA_NOSLEEP).
	issueTimeout = time.Minute
)

// TestHTTPSWithACME checks issue 11 acceptance 1. A real ACME server,
// Pebble, runs in a host of its own with a DNS server the test controls:
// seedcast.test is the node's address, and nothing else resolves. The node
// runs with --acme-domain seedcast.test, Pebble's directory
// (--acme-directory) and the root of Pebble's own HTTPS (--acme-ca-root),
// and must get a certificate through a real TLS-ALPN-01 validation
// (PEBBLE_VA_ALWAYS_VALID stays off: Pebble resolves the name through the
// test's DNS and connects to the node's port 443). Then headless Chromium,
// trusting Pebble's CA and resolving seedcast.test to the node, opens
// https://seedcast.test/watch/... with no flag that makes an insecure
// origin secure: the page is a secure context, announces over
// wss://seedcast.test/announce and plays in mode p2p with bytes from the
// node over WebRTC (the torrent has no web seed). Plain HTTP on port 80
// redirects to https.
func TestHTTPSWithACME(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	pebbleBin := requirePebble(t)
	tn, _, chromium := pageNet(t, "seed", "acme", "viewer1")
	nodeIP := tn.Addr("seed")
	dnsQueries := serveDNS(t, tn, "acme", netip.AddrPortFrom(tn.Addr("acme"), dnsPort), acmeDomain, nodeIP)
	pb := startPebble(ctx, t, tn, pebbleBin, "acme", netip.AddrPortFrom(tn.Addr("acme"), dnsPort))

	viewerDial, client := viewerClient(tn, "viewer1", nodeIP, pb)
	seed := startServeWith(ctx, t, tn, "seed", 0, testnet.ServeOptions{
		Addr:   netip.AddrPortFrom(nodeIP, 443),
		URL:    "https://" + acmeDomain,
		Client: client,
		Args: []string{"--no-dht", "--no-port-forwarding", "--no-webseed",
			"--acme-domain", acmeDomain, "--acme-directory", pb.directory, "--acme-ca-root", pb.caFile,
			"--acme-email", "artist@seedcast.test", "--http-redirect-addr", netip.AddrPortFrom(nodeIP, 80).String()},
	})
	start := time.Now()
	if err := seed.WaitReady(ctx, issueTimeout); err != nil {
		t.Fatalf("https://%s/healthz never answered with a certificate that verifies: %v", acmeDomain, err)
	}
	t.Logf("the node serves a certificate from Pebble %v after it started", time.Since(start).Round(time.Millisecond))
	if n := dnsQueries.Load(); n == 0 {
		t.Error("Pebble never looked up the node's name: it did not validate")
	}
	// The log line follows the issuance that the handshake above saw.
	err := testnet.WaitFor(10*time.Second, func() error {
		if !strings.Contains(seed.Proc.Output().String(), `msg="certificate ready" component=acme domain=seedcast.test`) {
			return errors.New(`the node did not log "certificate ready" for its domain`)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(seed.DataDir, "acme", acmeDomain)); err != nil {
		t.Errorf("the certificate is not cached in --data: %v", err)
	}
	checkServedChain(ctx, t, viewerDial, pb, 443)
	if strings.Contains(pb.proc.Output().String(), "Attempting to validate w/ HTTP") {
		t.Error("Pebble validated over HTTP-01, want TLS-ALPN-01 on port 443")
	}
	if strings.Contains(seed.Proc.Output().String(), "public URL is plain http") {
		t.Error("a node on HTTPS warns of plain HTTP")
	}

	// Port 80 sends browsers to https, keeping the path.
	res, err := client.Get("http://" + acmeDomain + "/watch/x?file=y")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusMovedPermanently || loc != "https://"+acmeDomain+"/watch/x?file=y" {
		t.Errorf("GET http://%s/watch/x?file=y: %s to %q, want 301 to https://%s/watch/x?file=y", acmeDomain, res.Status, loc, acmeDomain)
	}

	ih := pilotInfohash(ctx, t, seed)
	var mi struct {
		AnnounceList [][]string `bencode:"announce-list"`
	}
	torrent, err := seed.Get(ctx, "/torrents/"+ih+".torrent")
	if err != nil {
		t.Fatal(err)
	}
	if err := bencode.Unmarshal(torrent, &mi); err != nil {
		t.Fatal(err)
	}
	if want := "wss://" + acmeDomain + "/announce"; len(mi.AnnounceList) == 0 || mi.AnnounceList[0][0] != want {
		t.Errorf("the torrent announces to %v, want %s first", mi.AnnounceList, want)
	}

	page := tn.StartChromiumFlags(ctx, t, "viewer1", chromium, map[string]any{
		"host-resolver-rules":                 fmt.Sprintf("MAP %s %s", acmeDomain, nodeIP),
		"ignore-certificate-errors-spki-list": strings.Join(pb.spki, ","),
	})
	if err := page.InitScript(ctx, recordWebSockets); err != nil {
		t.Fatal(err)
	}
	st := play(ctx, t, page, "https://"+acmeDomain+"/watch/"+ih)
	t.Logf("mode %s; from the node %d bytes over WebRTC and %d over HTTPS", st.Mode, st.RTC, st.HTTP)
	if st.Mode != "p2p" || !st.Controlled || st.RTC == 0 {
		t.Errorf("the page plays in mode %s, service worker %v, %d bytes from the node over WebRTC; want p2p, a service worker and bytes over WebRTC", st.Mode, st.Controlled, st.RTC)
	}
	if !strings.Contains(st.Src, "https://"+acmeDomain+"/webtorrent/"+ih+"/") {
		t.Errorf("the video plays %s, want WebTorrent's service worker URL under https://%s/webtorrent/%s/", st.Src, acmeDomain, ih)
	}
	var sec struct {
		Secure   bool
		Protocol string
		Sockets  []string
	}
	if err := page.Eval(ctx, `({secure: window.isSecureContext, protocol: location.protocol, sockets: window.e2eWebSockets})`, &sec); err != nil {
		t.Fatal(err)
	}
	if !sec.Secure || sec.Protocol != "https:" {
		t.Errorf("the page: secure context %v, protocol %s; want a secure https: page", sec.Secure, sec.Protocol)
	}
	if len(sec.Sockets) == 0 {
		t.Error("the page opened no WebSocket to the tracker")
	}
	for _, u := range sec.Sockets {
		if u != "wss://"+acmeDomain+"/announce" {
			t.Errorf("the page opened a WebSocket to %s, want only wss://%s/announce", u, acmeDomain)
		}
	}
	var node apiTorrentStats
	if err := seed.GetJSON(ctx, "/api/torrents/"+ih, &node); err != nil {
		t.Fatal(err)
	}
	if out := node.Transports["webrtc"].BytesOut; out == 0 {
		t.Errorf("the node sent nothing over WebRTC: %v", node.Transports)
	}
	if console := page.Console(); strings.Contains(console, "Refused to") || strings.Contains(console, "Mixed Content") {
		t.Errorf("the page broke its Content-Security-Policy or loaded mixed content:\n%s", console)
	}
}

// TestACMEHTTP01 checks the other challenge of issue 11 item 1: the node's
// HTTPS listener is not on port 443, where Pebble's TLS-ALPN-01
// validation then finds nothing, so the certificate must come through
// HTTP-01 on --http-redirect-addr, port 80, in the same attempt.
func TestACMEHTTP01(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	pebbleBin := requirePebble(t)
	tn := testnet.New(t, "seed", "acme", "viewer1")
	nodeIP := tn.Addr("seed")
	serveDNS(t, tn, "acme", netip.AddrPortFrom(tn.Addr("acme"), dnsPort), acmeDomain, nodeIP)
	pb := startPebble(ctx, t, tn, pebbleBin, "acme", netip.AddrPortFrom(tn.Addr("acme"), dnsPort))
	viewerDial, client := viewerClient(tn, "viewer1", nodeIP, pb)
	const port = 8443
	seed := startServeWith(ctx, t, tn, "seed", 0, testnet.ServeOptions{
		Addr:   netip.AddrPortFrom(nodeIP, port),
		URL:    fmt.Sprintf("https://%s:%d", acmeDomain, port),
		Client: client,
		Args: []string{"--no-dht", "--no-port-forwarding",
			"--acme-domain", acmeDomain, "--acme-directory", pb.directory, "--acme-ca-root", pb.caFile,
			"--public-url", fmt.Sprintf("https://%s:%d", acmeDomain, port),
			"--http-redirect-addr", netip.AddrPortFrom(nodeIP, 80).String()},
	})
	if err := seed.WaitReady(ctx, issueTimeout); err != nil {
		t.Fatalf("https://%s:%d/healthz never answered with a certificate that verifies: %v", acmeDomain, port, err)
	}
	checkServedChain(ctx, t, viewerDial, pb, port)
	if out := pb.proc.Output().String(); !strings.Contains(out, "Attempting to validate w/ HTTP: http://"+acmeDomain+":80/.well-known/acme-challenge/") || !strings.Contains(out, "set VALID") {
		t.Error("Pebble did not validate the node over HTTP-01")
	}
}

// TestPlainHTTPNotice checks the other side of issue 11 item 1: a node
// whose public URL is plain http on a LAN address logs one line saying
// that browsers will not share there and how to fix it, and its watch page,
// opened in a Chromium that treats the origin as what it is (not secure),
// tells the viewer in plain words why it streams from the server.
func TestPlainHTTPNotice(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	tn, origin, chromium := pageNet(t, "seed", "viewer1")
	seed := startServeIn(ctx, t, tn, "seed", readyTimeout, "--no-dht", "--no-port-forwarding")
	ih := pilotInfohash(ctx, t, seed)
	var warnings []string
	for line := range strings.Lines(seed.Proc.Output().String()) {
		if strings.Contains(line, "public URL is plain http") {
			warnings = append(warnings, line)
		}
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "level=WARN") || !strings.Contains(warnings[0], "--acme-domain") ||
		!strings.Contains(warnings[0], "public_url="+origin) {
		t.Errorf("the node logged %q; want one warning naming its public URL and --acme-domain", warnings)
	}
	page := tn.StartChromium(ctx, t, "viewer1", chromium) // no secure origins
	st := play(ctx, t, page, origin+"/watch/"+ih)
	var note string
	if err := page.Eval(ctx, `document.querySelector('[data-stat="note"]').textContent`, &note); err != nil {
		t.Fatal(err)
	}
	t.Logf("mode %s; the page says %q", st.Mode, note)
	if st.Mode != "stream" || st.Controlled {
		t.Errorf("over plain HTTP the page plays in mode %s, service worker %v; want a stream from the node", st.Mode, st.Controlled)
	}
	if !strings.Contains(note, "plain HTTP") || !strings.Contains(note, "HTTPS") {
		t.Errorf("the page says %q; want it to say that it came over plain HTTP and that sharing needs HTTPS", note)
	}
}

// recordWebSockets records the URL of every WebSocket a page opens, in
// window.e2eWebSockets.
const recordWebSockets = `(() => {
  const W = window.WebSocket
  const urls = []
  window.WebSocket = function (url, protocols) { urls.push(String(url)); return new W(url, protocols) }
  window.WebSocket.prototype = W.prototype
  for (const k of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']) window.WebSocket[k] = W[k]
  window.e2eWebSockets = urls
})()`

// viewerClient returns the viewer's view of the node, from host: a dialer
// and an HTTP client that find acmeDomain at nodeIP, and trust Pebble's
// root and nothing else for HTTPS. The client does not follow redirects.
func viewerClient(tn *testnet.Net, host string, nodeIP netip.Addr, pb *pebble) (func(context.Context, string, string) (net.Conn, error), *http.Client) {
	dial := tn.DialContext(host)
	viewerDial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		name, port, err := net.SplitHostPort(addr)
		if err == nil && name == acmeDomain {
			addr = net.JoinHostPort(nodeIP.String(), port)
		}
		return dial(ctx, network, addr)
	}
	return viewerDial, &http.Client{
		Transport:     &http.Transport{DialContext: viewerDial, TLSClientConfig: &tls.Config{RootCAs: pb.roots}, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// checkServedChain dials the node as the viewer would, at port, and checks
// the chain it serves: a leaf for acmeDomain alone, issued by Pebble's
// intermediate.
func checkServedChain(ctx context.Context, t *testing.T, dial func(context.Context, string, string) (net.Conn, error), pb *pebble, port int) {
	t.Helper()
	raw, err := dial(ctx, "tcp", net.JoinHostPort(acmeDomain, strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	c := tls.Client(raw, &tls.Config{ServerName: acmeDomain, RootCAs: pb.roots})
	defer c.Close()
	if err := c.HandshakeContext(ctx); err != nil {
		t.Fatalf("TLS with %s: %v", acmeDomain, err)
	}
	chain := c.ConnectionState().PeerCertificates
	leaf := chain[0]
	t.Logf("the node serves %q for %v, issued by %q, valid until %v", leaf.Subject, leaf.DNSNames, leaf.Issuer, leaf.NotAfter)
	if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != acmeDomain || !strings.HasPrefix(leaf.Issuer.CommonName, "Pebble Intermediate CA") {
		t.Errorf("the node's certificate is for %v from %q, want %s from Pebble's intermediate", leaf.DNSNames, leaf.Issuer, acmeDomain)
	}
}

// pebble is a Pebble ACME server started by startPebble.
type pebble struct {
	proc *testnet.Process
	// directory is its ACME directory URL.
	directory string
	// caFile holds the root of the certificate Pebble's own HTTPS
	// serves: what --acme-ca-root needs.
	caFile string
	// roots holds the root Pebble issues under: what a viewer trusts.
	roots *x509.CertPool
	// spki are the base64 SHA-256 hashes of the public keys of Pebble's
	// root and intermediate, for Chromium's
	// --ignore-certificate-errors-spki-list.
	spki []string
}

// startPebble runs Pebble in host with a certificate of its own for its
// address, validating on ports 443 (TLS-ALPN-01) and 80 (HTTP-01) of the
// names it is asked for, which it resolves through the DNS server at dns
// alone. It waits until Pebble listens and has told its roots.
func startPebble(ctx context.Context, t *testing.T, tn *testnet.Net, bin, host string, dns netip.AddrPort) *pebble {
	t.Helper()
	dir := t.TempDir()
	ip := tn.Addr(host)
	caFile, certFile, keyFile := writeServerCA(t, dir, ip)
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress":                  netip.AddrPortFrom(ip, pebbleACMEPort).String(),
		"managementListenAddress":        netip.AddrPortFrom(ip, pebbleMgmtPort).String(),
		"certificate":                    certFile,
		"privateKey":                     keyFile,
		"httpPort":                       80,
		"tlsPort":                        443,
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
		"keyAlgorithm":                   "ecdsa",
		// Seconds a client is told to wait before polling again.
		"retryAfter": map[string]int{"authz": 1, "order": 1},
		"profiles":   map[string]any{"default": map[string]any{"description": "test", "validityPeriod": 7776000}},
	}}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(dir, "pebble-config.json")
	if err := os.WriteFile(cfgFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := tn.Command(ctx, host, bin, "-config", cfgFile, "-dnsserver", dns.String())
	// Answers at once instead of after a random sleep of up to 5 s. Every
	// validation still happens: PEBBLE_VA_ALWAYS_VALID is not set.
	cmd.Env = append(testnet.CleanEnv(), "PEBBLE_VA_NOSLEEP=1")
	proc := testnet.Start(t, "pebble", cmd)
	if err := tn.WaitTCP(ctx, host, netip.AddrPortFrom(ip, pebbleACMEPort).String(), proc); err != nil {
		t.Fatalf("pebble not listening: %v", err)
	}
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(caPEM)
	mgmt := &http.Client{Transport: &http.Transport{DialContext: tn.DialContext(host), TLSClientConfig: &tls.Config{RootCAs: pool}}}
	pb := &pebble{
		proc:      proc,
		directory: fmt.Sprintf("https://%s/dir", netip.AddrPortFrom(ip, pebbleACMEPort)),
		caFile:    caFile,
		roots:     x509.NewCertPool(),
	}
	for _, path := range []string{"/roots/0", "/intermediates/0"} {
		var der []byte
		err := testnet.Poll(ctx, proc, func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("https://%s%s", netip.AddrPortFrom(ip, pebbleMgmtPort), path), nil)
			if err != nil {
				return err
			}
			res, err := mgmt.Do(req)
			if err != nil {
				return err
			}
			defer res.Body.Close()
			body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
			if err != nil {
				return err
			}
			block, _ := pem.Decode(body)
			if res.StatusCode != http.StatusOK || block == nil {
				return fmt.Errorf("GET %s: %s %.100q", path, res.Status, body)
			}
			der = block.Bytes
			return nil
		})
		if err != nil {
			t.Fatalf("pebble's management API: %v", err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		if path == "/roots/0" {
			pb.roots.AddCert(cert)
		}
		sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
		pb.spki = append(pb.spki, base64.StdEncoding.EncodeToString(sum[:]))
	}
	return pb
}

// writeServerCA makes a CA for one test and a certificate from it for ip,
// and writes them in dir: the CA's certificate, the server's and its key.
func writeServerCA(t *testing.T, dir string, ip netip.Addr) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "seedcast e2e ACME server CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: ip.String()},
		IPAddresses:  []net.IP{ip.AsSlice()},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	caFile, certFile, keyFile = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for _, f := range []struct {
		path, typ string
		der       []byte
	}{{caFile, "CERTIFICATE", caDER}, {certFile, "CERTIFICATE", der}, {keyFile, "PRIVATE KEY", kder}} {
		if err := os.WriteFile(f.path, pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return caFile, certFile, keyFile
}

// serveDNS answers DNS queries over UDP and TCP (RFC 1035 section 4.2;
// Pebble's resolver asks over TCP) at addr in host's namespace until the
// test ends: name has the A record ip and no AAAA; every other name does
// not exist. It returns the count of queries for name.
func serveDNS(t *testing.T, tn *testnet.Net, host string, addr netip.AddrPort, name string, ip netip.Addr) *atomic.Int32 {
	t.Helper()
	pc, err := tn.ListenPacket(host, "udp4", addr.String())
	if err != nil {
		t.Fatalf("DNS server in %s: %v", host, err)
	}
	ln, err := tn.Listen(host, "tcp4", addr.String())
	if err != nil {
		pc.Close()
		t.Fatalf("DNS server in %s: %v", host, err)
	}
	fqdn := dnsmessage.MustNewName(name + ".")
	var queries atomic.Int32
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 512) // RFC 1035 section 2.3.4: UDP messages
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return // closed at cleanup
			}
			if reply, ok := dnsAnswer(buf[:n], fqdn, ip, &queries); ok {
				pc.WriteTo(reply, from)
			}
		}
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed at cleanup
			}
			wg.Go(func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				// Each message over TCP has a two-byte length before it.
				var n [2]byte
				for {
					if _, err := io.ReadFull(c, n[:]); err != nil {
						return
					}
					msg := make([]byte, int(n[0])<<8|int(n[1]))
					if _, err := io.ReadFull(c, msg); err != nil {
						return
					}
					reply, ok := dnsAnswer(msg, fqdn, ip, &queries)
					if !ok {
						return
					}
					if _, err := c.Write(append([]byte{byte(len(reply) >> 8), byte(len(reply))}, reply...)); err != nil {
						return
					}
				}
			})
		}
	})
	t.Cleanup(func() {
		pc.Close()
		ln.Close()
		wg.Wait()
	})
	return &queries
}

// dnsAnswer returns the reply to query, and false for what is not a query.
func dnsAnswer(query []byte, name dnsmessage.Name, ip netip.Addr, queries *atomic.Int32) ([]byte, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil || h.Response {
		return nil, false
	}
	q, err := p.Question()
	if err != nil {
		return nil, false
	}
	match := strings.EqualFold(q.Name.String(), name.String())
	if match {
		queries.Add(1)
	}
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired}
	if !match {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, false
	}
	if err := b.Question(q); err != nil {
		return nil, false
	}
	if err := b.StartAnswers(); err != nil {
		return nil, false
	}
	if match && q.Type == dnsmessage.TypeA {
		err := b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: ip.As4()})
		if err != nil {
			return nil, false
		}
	}
	reply, err := b.Finish()
	return reply, err == nil
}

// pebbleBuild builds Pebble's command, a tool of this module (go.mod),
// once per run, beside the seedcast binary.
var pebbleBuild = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(filepath.Dir(seedcastBin), "pebble")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/letsencrypt/pebble/v2/cmd/pebble")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build pebble: %v\n%s", err, out)
	}
	return bin, nil
})

// requirePebble returns the Pebble binary, failing the test if it cannot
// be built: it comes with the module, so there is nothing to install.
func requirePebble(t *testing.T) string {
	t.Helper()
	bin, err := pebbleBuild()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}
