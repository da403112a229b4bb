package testnet

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SMTPServer is a real SMTP server for a test: Debian's aiosmtpd
// (python3-aiosmtpd), listening on loopback and printing every mail it
// receives.
type SMTPServer struct {
	*Process
	// Addr is where it listens, host:port.
	Addr string
}

// Mails returns everything the server printed of the mails it received so
// far: their headers and bodies, one after another.
func (s *SMTPServer) Mails() string { return s.Stdout().String() }

// StartSMTP starts aiosmtpd on a free loopback port; it stops with the
// test. Without aiosmtpd it skips the test locally and fails it under CI.
func StartSMTP(tb testing.TB) *SMTPServer {
	tb.Helper()
	py := ""
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		if path, err := exec.LookPath(p); err == nil && exec.Command(path, "-c", "import aiosmtpd").Run() == nil {
			py = path
			break
		}
	}
	if py == "" {
		if InCI() {
			tb.Fatal("no python3 with aiosmtpd but CI=true: .ci/run must install python3-aiosmtpd")
		}
		tb.Skip("skipping: no SMTP server (apt-get install python3-aiosmtpd)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	// -n: stay the user the test runs as; Debugging prints each mail.
	cmd := exec.Command(py, "-u", "-m", "aiosmtpd", "-n", "-l", addr, "-c", "aiosmtpd.handlers.Debugging", "stdout")
	p := Start(tb, "aiosmtpd", cmd)
	tb.Cleanup(p.Kill)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = Poll(ctx, p, func(ctx context.Context) error {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Second))
		b := make([]byte, 64)
		n, _ := c.Read(b)
		if !strings.HasPrefix(string(b[:n]), "220") {
			return errors.New("no SMTP greeting yet")
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("aiosmtpd on %s: %v", addr, err)
	}
	return &SMTPServer{Process: p, Addr: addr}
}
