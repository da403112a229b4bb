// Package store keeps the state of bundles and their gates: each bundle's
// description and file keys, the emails and payments that unlocked it,
// the sessions they unlocked it for, and the campaign figures counted from
// confirmed payments. SQLite in the data dir by default; PostgreSQL (a
// postgres:// URL) to share the state between nodes. The schema comes from
// versioned SQL migrations.
//
// Secrets (file keys, the node's session secret) live here and nowhere
// else: never in a torrent, a URL or a log line.
package store

import (
	"errors"
	"time"

	"github.com/seedcast/seedcast/infohash"
)

// Gate kinds of a file of a bundle.
const (
	GateFree  = "free"
	GateEmail = "email"
	GatePrice = "price"
)

// Money is an amount in the currency's minor units (cents), with its
// ISO 4217 code in upper case: 995 "USD" is $9.95.
type Money struct {
	Amount   int64
	Currency string
}

// Gate is what a file needs before a viewer gets its key.
type Gate struct {
	Kind  string // GateFree, GateEmail or GatePrice
	Price Money  // for GatePrice
}

// BundleFile is one file of a bundle.
type BundleFile struct {
	// Path is the file's path in the torrent, slash-separated, as the
	// API lists it (with the torrent's name first in a multi-file
	// torrent).
	Path   string
	Gate   Gate
	Length int64
	// PlainSHA256 is the SHA-256 of a gated file's plain bytes, which
	// the torrent's piece hashes (of the ciphertext) cannot vouch for:
	// with it, unlocking tells a right key from a wrong one. Zero for a
	// free file.
	PlainSHA256 [32]byte
}

// Campaign is a crowd-funding goal shown with a bundle.
type Campaign struct {
	GoalBackers int64
	Price       Money     // a backer's pledge
	Ends        time.Time // zero: no end
}

// Bundle is a published bundle.
type Bundle struct {
	// ID is the bundle's short name in URLs (/bundle/{id}): lowercase
	// letters, digits and dashes.
	ID          string
	Title       string
	Artist      string
	Description string
	// Poster is the path of the poster image among Files, or "".
	Poster   string
	InfoHash infohash.Hash
	Files    []BundleFile
	Campaign *Campaign // nil: none
	Created  time.Time
}

// FileKey is the key of one gated file: AES-256 in CTR mode, the counter
// starting at IV and counting 16-byte blocks big-endian over the whole
// 128 bits, so that byte n of the file is byte n%16 of the keystream
// block IV+n/16 (seekable: any range decrypts alone). The pieces of the
// torrent hash the ciphertext, so anyone can seed it without the key.
type FileKey struct {
	Key [32]byte
	IV  [16]byte
}

// Email is an address given at an email gate.
type Email struct {
	BundleID  string
	Address   string
	ConsentAt time.Time // when the viewer agreed to the wording shown
	Consent   string    // the wording agreed to
	Confirmed bool      // true once confirmed (at once without --smtp)
}

// Payment is a confirmed payment of a pay gate or a pledge, from the
// provider's signed event.
type Payment struct {
	// EventID is the provider's event id: an event is counted once.
	EventID  string
	BundleID string
	Money    Money
	Email    string // as the provider reports it, may be ""
	// Session is the viewer session the checkout was made for, if any.
	Session string
	At      time.Time
}

// Unlock is a session's right to a bundle's gated files of one gate kind.
type Unlock struct {
	Session  string
	BundleID string
	Gate     string // GateEmail or GatePrice
	At       time.Time
	Expires  time.Time
}

// Totals are a bundle's campaign figures, from confirmed payments only.
type Totals struct {
	Backers int64
	Pledged Money
}

// Errors of the store.
var (
	// ErrNotFound: no such bundle, token or row.
	ErrNotFound = errors.New("store: not found")
	// ErrDuplicate: an event or row seen before (a replayed webhook).
	ErrDuplicate = errors.New("store: already recorded")
	// ErrInvalid: a value out of bounds or malformed (an id, an address, a
	// path, an amount); the error says which and why.
	ErrInvalid = errors.New("store: invalid")
	// ErrMixedCurrency: a payment in another currency than the bundle's
	// payments so far; a bundle's totals are in one currency.
	ErrMixedCurrency = errors.New("store: mixed currencies")
	// ErrSchemaTooNew: the database was migrated by a newer seedcast.
	ErrSchemaTooNew = errors.New("store: schema too new")
)
