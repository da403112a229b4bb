package store

import (
	"fmt"
	"io/fs"
	"net/mail"
	"strings"
	"unicode/utf8"
)

// Bounds of what the store keeps. The HTTP layer checks what strangers send
// too, but the store holds to these whoever calls it.
const (
	maxIDBytes      = 64   // a bundle id, as in /bundle/{id}
	maxEmailBytes   = 254  // RFC 5321's path limit (256) less its angle brackets, as RFC 3696 errata 1690 says
	maxSessionBytes = 128  // a session id; seedcast's are 43
	maxEventIDBytes = 255  // a payment provider's event id; Stripe allows ids up to 255 characters
	maxTitleBytes   = 1024 // title, artist
	maxTextBytes    = 64 << 10
	maxConsentBytes = 4 << 10
	maxPathBytes    = 4096 // PATH_MAX on Linux
	maxFiles        = 10000
	maxTokenBytes   = 64 // a confirmation token; seedcast's are 43
)

// invalidError is an ErrInvalid with its reason.
type invalidError struct{ msg string }

func (e *invalidError) Error() string        { return "store: " + e.msg }
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

func invalid(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

// checkID checks a bundle id: 1 to 64 lowercase letters, digits and dashes,
// starting with a letter or digit.
func checkID(id string) error {
	if id == "" || len(id) > maxIDBytes {
		return invalid("bundle id %q: want 1 to %d characters", trunc(id), maxIDBytes)
	}
	for i, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' && i > 0) {
			return invalid("bundle id %q: want lowercase letters, digits and dashes, starting with a letter or digit", trunc(id))
		}
	}
	return nil
}

// checkText checks a free text field: valid UTF-8 of at most max bytes,
// without NUL (which PostgreSQL's text refuses). required: not empty.
func checkText(field, s string, max int, required bool) error {
	switch {
	case required && strings.TrimSpace(s) == "":
		return invalid("%s is empty", field)
	case len(s) > max:
		return invalid("%s has %d bytes, at most %d", field, len(s), max)
	case !utf8.ValidString(s):
		return invalid("%s is not valid UTF-8", field)
	case strings.IndexByte(s, 0) >= 0:
		return invalid("%s holds a NUL byte", field)
	}
	return nil
}

// checkToken checks an opaque id made by a machine (a session, an event
// id): 1 to max printable ASCII characters without spaces.
func checkToken(field, s string, max int) error {
	if s == "" || len(s) > max {
		return invalid("%s %q: want 1 to %d characters", field, trunc(s), max)
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c > '~' {
			return invalid("%s %q: want printable ASCII without spaces", field, trunc(s))
		}
	}
	return nil
}

// checkPath checks the field, a file's path in a torrent: slash-separated,
// relative, without . or .. elements or empty ones (fs.ValidPath).
func checkPath(field, p string) error {
	if err := checkText(field, p, maxPathBytes, true); err != nil {
		return err
	}
	if !fs.ValidPath(p) || p == "." {
		return invalid("%s %q: want a relative slash-separated path without . or .. elements", field, trunc(p))
	}
	return nil
}

// checkMoney checks an amount and its currency. positive: the amount must
// be above zero (a price), not just at or above (a payment, which a
// discount may bring to nothing).
func checkMoney(field string, m Money, positive bool) error {
	if len(m.Currency) != 3 || strings.IndexFunc(m.Currency, func(r rune) bool { return r < 'A' || r > 'Z' }) >= 0 {
		return invalid("%s currency %q: want an ISO 4217 code in upper case, such as USD", field, trunc(m.Currency))
	}
	if m.Amount < 0 || positive && m.Amount == 0 {
		return invalid("%s amount %d: want more than zero", field, m.Amount)
	}
	return nil
}

// normalizeEmail checks a bare address (no display name, no comments) of
// at most 254 bytes and returns it with its domain in lower case: domains
// are case-insensitive, local parts may not be (RFC 5321 section 2.4), so
// Ann@Example.COM and Ann@example.com are one address and ann@… another.
func normalizeEmail(addr string) (string, error) {
	if addr == "" || len(addr) > maxEmailBytes {
		return "", invalid("email address %q: want 1 to %d bytes", trunc(addr), maxEmailBytes)
	}
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Name != "" || a.Address != addr {
		return "", invalid("email address %q: want a bare address such as ann@example.com", trunc(addr))
	}
	at := strings.LastIndexByte(addr, '@')
	return addr[:at] + "@" + strings.ToLower(addr[at+1:]), nil
}

// trunc shortens s for an error message.
func trunc(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
