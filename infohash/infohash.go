// Package infohash is the one type of a BitTorrent v1 info hash in
// seedcast: parsed once where it enters (a URL path, a tracker message, a
// CLI argument) and passed as a Hash from then on, whichever package it
// crosses.
package infohash

import (
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
)

// Hash is the SHA-1 of a torrent's bencoded info dictionary (BEP 3).
type Hash [20]byte

// ErrSyntax is why a string is not an info hash.
var ErrSyntax = errors.New("want 40 hex digits")

// Parse parses 40 hex digits, in either case, the form an info hash takes
// in URLs and on the command line.
func Parse(s string) (Hash, error) {
	var h Hash
	if len(s) != 2*len(h) {
		return h, fmt.Errorf("info hash %q: %w", truncate(s), ErrSyntax)
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("info hash %q: %w", truncate(s), ErrSyntax)
	}
	return h, nil
}

// truncate keeps an error about a long input short.
func truncate(s string) string {
	const maxBytes = 64
	if len(s) > maxBytes {
		return s[:maxBytes] + "…"
	}
	return s
}

// String returns the hash as 40 lower-case hex digits.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is all zeros, the hash of nothing.
func (h Hash) IsZero() bool { return h == Hash{} }

// LogValue logs the hash as hex.
func (h Hash) LogValue() slog.Value { return slog.StringValue(h.String()) }

// MarshalText encodes the hash as hex, for JSON and the like.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText decodes 40 hex digits.
func (h *Hash) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*h = v
	return nil
}
