package gate

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/mail"
	"net/smtp"
	"net/url"
	"strings"
	"time"

	"github.com/seedcast/seedcast/httperr"
	"github.com/seedcast/seedcast/store"
)

// Bounds of the email gate.
const (
	// maxFormBytes bounds an unlock form: an address and a box.
	maxFormBytes = 4 << 10
	// maxAddressBytes is RFC 5321's bound on a path.
	maxAddressBytes = 254
	// mailTimeout bounds one confirmation mail, connection to QUIT.
	mailTimeout = 30 * time.Second
)

// parseAddress checks that s is one plain email address (no display
// name, no group) of at most maxAddressBytes, and returns it.
func parseAddress(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("give an email address")
	}
	if len(s) > maxAddressBytes {
		return "", fmt.Errorf("an email address has at most %d characters", maxAddressBytes)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", fmt.Errorf("%q is not an email address like name@example.org", s)
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || !strings.Contains(s[at+1:], ".") || strings.ContainsAny(s, "\r\n") {
		return "", fmt.Errorf("%q is not an email address like name@example.org", s)
	}
	return s, nil
}

// unlockAnswer is the JSON answer of the email gate to a page that asks
// for JSON.
type unlockAnswer struct {
	Unlocked []string `json:"unlocked"`
	// Sent is true when a confirmation mail went out and the files
	// unlock once its link is opened.
	Sent bool `json:"sent"`
}

// serveUnlock answers the email gate: POST /bundle/{id}/unlock with the
// form fields email and consent=yes.
func (s *Server) serveUnlock(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	b, err := s.bundle(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	if !hasGate(b, store.GateEmail) {
		return httperr.Errorf(http.StatusBadRequest, "bundle %s has no file behind an email", b.ID)
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return httperr.Errorf(http.StatusBadRequest, "bad form: %v", err)
	}
	addr, err := parseAddress(r.PostForm.Get("email"))
	if err != nil {
		return httperr.Errorf(http.StatusBadRequest, "%v", err)
	}
	if r.PostForm.Get("consent") != "yes" {
		return httperr.Errorf(http.StatusBadRequest, "tick the box to agree to the artist's mails; the files unlock then")
	}
	if err := s.limited(w, r); err != nil {
		return err
	}
	sess, err := s.ensureSession(w, r)
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	token, err := s.cfg.Store.AddEmail(ctx, store.Email{BundleID: b.ID, Address: addr, ConsentAt: now, Consent: Consent, Confirmed: s.mail == nil})
	if err != nil {
		return err
	}
	ans := unlockAnswer{}
	if s.mail == nil {
		if err := s.grant(ctx, sess, b.ID, store.GateEmail); err != nil {
			return err
		}
		ans.Unlocked = []string{store.GateEmail}
		s.log.Info("email gate unlocked", "bundle", b.ID)
	} else {
		link := s.cfg.PublicURL + "/bundle/" + b.ID + "/confirm?token=" + url.QueryEscape(token)
		if err := s.mail.send(ctx, addr, confirmMail(b, link)); err != nil {
			s.log.Error("confirmation mail", "bundle", b.ID, "err", err)
			return httperr.Errorf(http.StatusBadGateway, "the confirmation mail could not be sent; try again in a minute")
		}
		ans.Sent = true
		s.log.Info("confirmation mail sent", "bundle", b.ID)
	}
	return s.answer(w, r, b.ID, ans)
}

// serveConfirm unlocks the email gate for the browser that opens a
// confirmation mail's link.
func (s *Server) serveConfirm(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	b, err := s.bundle(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	token := r.URL.Query().Get("token")
	if token == "" || len(token) > 128 {
		return httperr.Errorf(http.StatusBadRequest, "this link has no token; open the link of the mail as it came")
	}
	e, err := s.cfg.Store.ConfirmEmail(ctx, token)
	if errors.Is(err, store.ErrNotFound) || err == nil && e.BundleID != b.ID {
		return httperr.Errorf(http.StatusNotFound, "this confirmation link is unknown or was for another bundle; give your address again")
	}
	if err != nil {
		return err
	}
	sess, err := s.ensureSession(w, r)
	if err != nil {
		return err
	}
	if err := s.grant(ctx, sess, b.ID, store.GateEmail); err != nil {
		return err
	}
	s.log.Info("email gate unlocked", "bundle", b.ID, "confirmed", true)
	return s.answer(w, r, b.ID, unlockAnswer{Unlocked: []string{store.GateEmail}})
}

// answer sends ans as JSON to a page that asked for it, and otherwise
// sends the browser back to the bundle page.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, id string, ans unlockAnswer) error {
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		return json.NewEncoder(w).Encode(ans)
	}
	q := "unlocked=1"
	if ans.Sent {
		q = "sent=1"
	}
	http.Redirect(w, r, "/bundle/"+id+"?"+q, http.StatusSeeOther)
	return nil
}

// grant unlocks gate of bundle id for session sess for the session's
// lifetime.
func (s *Server) grant(ctx context.Context, sess, id, gate string) error {
	now := s.cfg.Now()
	return s.cfg.Store.Grant(ctx, store.Unlock{Session: sess, BundleID: id, Gate: gate, At: now, Expires: now.Add(s.cfg.SessionTTL)})
}

// hasGate reports whether a file of b is behind gate.
func hasGate(b store.Bundle, gate string) bool {
	for _, f := range b.Files {
		if f.Gate.Kind == gate {
			return true
		}
	}
	return false
}

// message is a mail to send.
type message struct {
	subject, body string
}

func confirmMail(b store.Bundle, link string) message {
	return message{
		subject: "Confirm your address for " + b.Title,
		body: fmt.Sprintf("Open this link to unlock %s by %s:\r\n\r\n%s\r\n\r\n"+
			"You agreed: %s\r\nIf you did not ask for this, ignore this mail.\r\n", b.Title, b.Artist, link, Consent),
	}
}

// mailer sends mails.
type mailer interface {
	send(ctx context.Context, to string, m message) error
}

// smtpMailer sends through an SMTP server, with STARTTLS when the server
// offers it.
type smtpMailer struct{ cfg SMTP }

func (m smtpMailer) send(ctx context.Context, to string, msg message) error {
	ctx, cancel := context.WithTimeout(ctx, mailTimeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", m.cfg.Addr)
	if err != nil {
		return fmt.Errorf("smtp %s: %w; check --smtp", m.cfg.Addr, err)
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	host, _, _ := net.SplitHostPort(m.cfg.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp %s: %w", m.cfg.Addr, err)
	}
	defer c.Close()
	if err := c.Hello("seedcast"); err != nil {
		return fmt.Errorf("smtp %s: HELO: %w", m.cfg.Addr, err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: host}); err != nil {
			return fmt.Errorf("smtp %s: STARTTLS: %w", m.cfg.Addr, err)
		}
	}
	if m.cfg.User != "" {
		if err := c.Auth(smtp.PlainAuth("", m.cfg.User, m.cfg.Password, host)); err != nil {
			return fmt.Errorf("smtp %s: AUTH: %w", m.cfg.Addr, err)
		}
	}
	if err := c.Mail(m.cfg.From); err != nil {
		return fmt.Errorf("smtp %s: MAIL FROM: %w", m.cfg.Addr, err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("smtp %s: RCPT TO: %w", m.cfg.Addr, err)
	}
	wc, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp %s: DATA: %w", m.cfg.Addr, err)
	}
	fmt.Fprintf(wc, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s",
		m.cfg.From, to, mime.QEncoding.Encode("utf-8", msg.subject), time.Now().Format(time.RFC1123Z), msg.body)
	if err := wc.Close(); err != nil {
		return fmt.Errorf("smtp %s: end of DATA: %w", m.cfg.Addr, err)
	}
	return c.Quit()
}
