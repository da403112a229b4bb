package signaling

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"unicode/utf8"
)

// ID is a 20-byte identifier of the tracker protocol: a peer id or an offer
// id. In WebTorrent's JSON each byte is one character of a "binary string"
// (U+0000 to U+00FF); in HTTP announces it is the raw bytes. An info hash
// travels in the same two forms but is an infohash.Hash everywhere else: it
// is converted to an ID only to be written, and back as soon as it is read.
type ID [20]byte

// errIDLength and errIDChar are why a JSON string is not an ID.
var (
	errIDLength = errors.New("must be 20 characters")
	errIDChar   = errors.New("has a character above U+00FF")
)

// String returns the ID in lower-case hex.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// LogValue logs the ID as hex.
func (id ID) LogValue() slog.Value { return slog.StringValue(id.String()) }

// binaryString maps each byte of id to the rune of the same value, the form
// JavaScript's "binary" strings take.
func (id ID) binaryString() string {
	var r [20]rune
	for i, b := range id {
		r[i] = rune(b)
	}
	return string(r[:])
}

// parseBinaryString is the inverse of binaryString.
func parseBinaryString(s string) (ID, error) {
	var id ID
	if utf8.RuneCountInString(s) != len(id) {
		return id, errIDLength
	}
	i := 0
	for _, r := range s {
		if r > 0xff {
			return id, errIDChar
		}
		id[i] = byte(r)
		i++
	}
	return id, nil
}

// MarshalJSON encodes id as a binary string.
func (id ID) MarshalJSON() ([]byte, error) { return json.Marshal(id.binaryString()) }

// UnmarshalJSON decodes a binary string of exactly 20 characters.
func (id *ID) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := parseBinaryString(s)
	if err != nil {
		return err
	}
	*id = v
	return nil
}
