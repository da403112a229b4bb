package signaling

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// The reader of the messages WebSocket clients send. An announce carries
// 5 offers of a few KB of SDP each, which the tracker relays unread:
// encoding/json scanned such a message twice (once to check it, once to
// decode it) and copied every offer, the most of the tracker's CPU under
// load. wireRequest.read scans it once and keeps each value as a
// sub-slice of the message.
//
// It takes and refuses what json.Unmarshal into the struct below takes
// and refuses, and gives the same values (FuzzWireRequest checks both
// against encoding/json), down to its quirks: keys match field names
// case-insensitively, as foldName does; a repeated key's last value wins,
// but a repeated "offers" array decodes into the elements the earlier one
// left, so fields an element lacks keep the earlier element's values; a
// null leaves a string as it was and clears a pointer or a slice; and
// nesting deeper than encoding/json's 10 000 levels is refused.
//
//	struct {
//		Action   string          `json:"action"`
//		InfoHash json.RawMessage `json:"info_hash"`
//		PeerID   json.RawMessage `json:"peer_id"`
//		Event    *string         `json:"event"`
//		Left     *float64        `json:"left"`
//		Offers   []struct {
//			Offer   json.RawMessage `json:"offer"`
//			OfferID json.RawMessage `json:"offer_id"`
//		} `json:"offers"`
//		Answer   json.RawMessage `json:"answer"`
//		ToPeerID json.RawMessage `json:"to_peer_id"`
//		OfferID  json.RawMessage `json:"offer_id"`
//	}
//
// Every other key (numwant, uploaded, downloaded...) is skipped, its value
// checked only for being JSON.

// jsonMaxDepth is encoding/json's bound on nesting (maxNestingDepth in
// its scanner.go): a message nested deeper is refused, not read.
const jsonMaxDepth = 10000

// wireRequest is a client message as its JSON gives it, before
// validation. Each value is its raw JSON, a sub-slice of the message, or
// nil if absent.
type wireRequest struct {
	Action   []byte // a string, quotes included
	InfoHash []byte
	PeerID   []byte
	Event    []byte // a string, or nil for null
	Left     []byte // a number, or nil for null
	// Offers holds the first maxOffers elements of the offers array;
	// NOffers counts them all.
	Offers  [maxOffers]rawOffer
	NOffers int
	// offersKept is how many elements of Offers a later "offers" array
	// decodes into rather than starting afresh (see above).
	offersKept int
	Answer     []byte
	ToPeerID   []byte
	OfferID    []byte
}

// rawOffer is one element of an announce's offers.
type rawOffer struct {
	Offer   []byte
	OfferID []byte
}

// jsonError is why a message is not JSON, or not JSON of a request's
// shape.
type jsonError struct {
	Off int // in bytes from the message's start
	Msg string
}

func (e *jsonError) Error() string { return fmt.Sprintf("%s at offset %d", e.Msg, e.Off) }

// wireReader reads JSON from b, at i.
type wireReader struct {
	b []byte
	i int
}

func (r *wireReader) fail(format string, args ...any) error {
	return &jsonError{Off: r.i, Msg: fmt.Sprintf(format, args...)}
}

// unexpected fails on the byte at r.i, or on the end of the input.
func (r *wireReader) unexpected(what string) error {
	if r.i >= len(r.b) {
		return r.fail("unexpected end of JSON input, looking for %s", what)
	}
	return r.fail("invalid character %q looking for %s", r.b[r.i], what)
}

// typeError fails on a value of the wrong kind for field.
func (r *wireReader) typeError(field, want string) error {
	return r.fail("%s: want %s", field, want)
}

// read reads msg into w, which must be zero.
func (w *wireRequest) read(msg []byte) error {
	r := wireReader{b: msg}
	r.space()
	switch r.peek() {
	case '{':
		if err := r.object(w.field); err != nil {
			return err
		}
	case 'n':
		// null decodes into nothing: an empty request.
		if err := r.literal("null"); err != nil {
			return err
		}
	default:
		if err := r.skip(0); err != nil {
			return err
		}
		return r.typeError("message", "an object")
	}
	r.space()
	if r.i != len(r.b) {
		return r.unexpected("the end after the top-level value")
	}
	return nil
}

// field reads the value of one member of a request.
func (w *wireRequest) field(r *wireReader, key []byte) error {
	var name [16]byte
	switch string(foldKey(name[:0], key)) {
	case "ACTION":
		switch r.peek() {
		case '"':
			return r.value(&w.Action, 1)
		case 'n':
			return r.literal("null") // leaves a string as it was
		}
		return r.typeError("action", "a string")
	case "INFO_HASH":
		return r.value(&w.InfoHash, 1)
	case "PEER_ID":
		return r.value(&w.PeerID, 1)
	case "EVENT":
		switch r.peek() {
		case '"':
			return r.value(&w.Event, 1)
		case 'n':
			w.Event = nil
			return r.literal("null")
		}
		return r.typeError("event", "a string")
	case "LEFT":
		switch r.peek() {
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			if err := r.value(&w.Left, 1); err != nil {
				return err
			}
			// As encoding/json, which parses into the float64.
			if _, err := strconv.ParseFloat(string(w.Left), 64); err != nil {
				return r.typeError("left", "a number that fits a float64")
			}
			return nil
		case 'n':
			w.Left = nil
			return r.literal("null")
		}
		return r.typeError("left", "a number")
	case "OFFERS":
		switch r.peek() {
		case '[':
			return r.offers(w)
		case 'n':
			w.Offers = [maxOffers]rawOffer{}
			w.NOffers, w.offersKept = 0, 0
			return r.literal("null")
		}
		return r.typeError("offers", "an array")
	case "ANSWER":
		return r.value(&w.Answer, 1)
	case "TO_PEER_ID":
		return r.value(&w.ToPeerID, 1)
	case "OFFER_ID":
		return r.value(&w.OfferID, 1)
	}
	return r.skip(1)
}

// offers reads the offers array, at nesting depth 2.
func (r *wireReader) offers(w *wireRequest) error {
	r.i++ // [
	r.space()
	n := 0
	if r.peek() == ']' {
		r.i++
		w.NOffers = 0
		return nil
	}
	for {
		var o *rawOffer
		var scratch rawOffer
		if n < maxOffers {
			o = &w.Offers[n]
			if n >= w.offersKept {
				*o = rawOffer{}
				w.offersKept = n + 1
			}
		} else {
			o = &scratch
		}
		switch r.peek() {
		case '{':
			if err := r.object(o.field); err != nil {
				return err
			}
		case 'n':
			// null leaves the element as it was.
			if err := r.literal("null"); err != nil {
				return err
			}
		default:
			if r.i >= len(r.b) {
				return r.unexpected("an offer")
			}
			return r.typeError("offers", "objects")
		}
		n++
		r.space()
		switch r.peek() {
		case ',':
			r.i++
			r.space()
		case ']':
			r.i++
			w.NOffers = n
			return nil
		default:
			return r.unexpected("',' or ']' after an offer")
		}
	}
}

// field reads the value of one member of an offer.
func (o *rawOffer) field(r *wireReader, key []byte) error {
	var name [16]byte
	switch string(foldKey(name[:0], key)) {
	case "OFFER":
		return r.value(&o.Offer, 3)
	case "OFFER_ID":
		return r.value(&o.OfferID, 3)
	}
	return r.skip(3)
}

// object reads an object, calling field for each member with r at its
// value, which field must read. Its callers nest it at most 3 deep, well
// within jsonMaxDepth; field passes the depth on to what it reads.
func (r *wireReader) object(field func(r *wireReader, key []byte) error) error {
	r.i++ // {
	r.space()
	if r.peek() == '}' {
		r.i++
		return nil
	}
	for {
		key, err := r.key()
		if err != nil {
			return err
		}
		if err := field(r, key); err != nil {
			return err
		}
		r.space()
		switch r.peek() {
		case ',':
			r.i++
			r.space()
		case '}':
			r.i++
			return nil
		default:
			return r.unexpected("',' or '}' after an object's value")
		}
	}
}

// key reads a member's key and its colon, and returns the key's content
// (between the quotes, escapes undone by foldKey), with r at the value.
func (r *wireReader) key() ([]byte, error) {
	if r.peek() != '"' {
		return nil, r.unexpected("a string for an object's key")
	}
	start := r.i
	if err := r.str(); err != nil {
		return nil, err
	}
	key := r.b[start+1 : r.i-1]
	r.space()
	if r.peek() != ':' {
		return nil, r.unexpected("':' after an object's key")
	}
	r.i++
	r.space()
	return key, nil
}

// value reads one JSON value nested in depth containers and sets *dst to
// its raw JSON.
func (r *wireReader) value(dst *[]byte, depth int) error {
	start := r.i
	if err := r.skip(depth); err != nil {
		return err
	}
	*dst = r.b[start:r.i:r.i]
	return nil
}

// peek returns the byte at r.i, or 0 at the end.
func (r *wireReader) peek() byte {
	if r.i < len(r.b) {
		return r.b[r.i]
	}
	return 0
}

// space skips JSON's whitespace.
func (r *wireReader) space() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// literal reads lit (true, false or null).
func (r *wireReader) literal(lit string) error {
	for j := range len(lit) {
		if r.i >= len(r.b) || r.b[r.i] != lit[j] {
			return r.unexpected("a literal " + lit)
		}
		r.i++
	}
	return nil
}

// skip reads one value of any kind, nested in depth containers, without
// recursion: its own containers are kept on a stack of their closing
// brackets.
func (r *wireReader) skip(depth int) error {
	var small [64]byte
	open := small[:0]
	for {
		// A value.
		r.space()
		switch c := r.peek(); c {
		case '{', '[':
			if depth+len(open)+1 > jsonMaxDepth {
				return r.fail("exceeded max depth of %d", jsonMaxDepth)
			}
			r.i++
			r.space()
			closing := byte('}')
			if c == '[' {
				closing = ']'
			}
			if r.peek() == closing {
				r.i++
				break
			}
			open = append(open, closing)
			if c == '{' {
				if _, err := r.key(); err != nil {
					return err
				}
			}
			continue
		case '"':
			if err := r.str(); err != nil {
				return err
			}
		case 't':
			if err := r.literal("true"); err != nil {
				return err
			}
		case 'f':
			if err := r.literal("false"); err != nil {
				return err
			}
		case 'n':
			if err := r.literal("null"); err != nil {
				return err
			}
		default:
			if err := r.number(); err != nil {
				return err
			}
		}
		// What follows a value: the end of its containers, or the next
		// member or element.
		for {
			if len(open) == 0 {
				return nil
			}
			r.space()
			closing := open[len(open)-1]
			c := r.peek()
			if c == closing {
				r.i++
				open = open[:len(open)-1]
				continue
			}
			if c != ',' {
				return r.unexpected(fmt.Sprintf("',' or '%c'", closing))
			}
			r.i++
			if closing == '}' {
				r.space()
				if _, err := r.key(); err != nil {
					return err
				}
			}
			break
		}
	}
}

// number reads a number of JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (r *wireReader) number() error {
	b := r.b
	i := r.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		r.i = i
		return r.unexpected("a value")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			r.i = i
			return r.unexpected("a digit after a decimal point")
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			r.i = i
			return r.unexpected("a digit of an exponent")
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	r.i = i
	return nil
}

// Eight bytes at a time, for str: a word with a byte under 0x20, a quote
// or a backslash has its byte's top bit set in special(w) (and maybe
// others after it, which str then reads one by one).
const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

func special(w uint64) uint64 {
	quote := w ^ ('"' * lsb)
	backslash := w ^ ('\\' * lsb)
	return ((w-0x20*lsb)&^w | (quote-lsb)&^quote | (backslash-lsb)&^backslash) & msb
}

// str reads a string: no control character, escapes of JSON's. Any
// other byte is taken as it is, valid UTF-8 or not, as encoding/json does.
func (r *wireReader) str() error {
	b := r.b
	i := r.i + 1 // "
	for {
		for i+8 <= len(b) && special(binary.LittleEndian.Uint64(b[i:])) == 0 {
			i += 8
		}
		if i >= len(b) {
			r.i = i
			return r.unexpected("the end of a string")
		}
		switch c := b[i]; {
		case c == '"':
			r.i = i + 1
			return nil
		case c == '\\':
			if i+1 >= len(b) {
				r.i = i + 1
				return r.unexpected("an escape")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for j := i + 2; j < i+6; j++ {
					if j >= len(b) || unhex(b[j]) < 0 {
						r.i = j
						return r.unexpected("a hexadecimal digit of a \\u escape")
					}
				}
				i += 6
			default:
				r.i = i + 1
				return r.unexpected("an escape")
			}
		case c < 0x20:
			r.i = i
			return r.fail("invalid control character %q in a string", c)
		default:
			i++
		}
	}
}

func unhex(c byte) rune {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0')
	case 'a' <= c && c <= 'f':
		return rune(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

// hex4 is the value of the 4 hex digits of a \u escape, checked by str.
func hex4(b []byte) rune {
	return unhex(b[0])<<12 | unhex(b[1])<<8 | unhex(b[2])<<4 | unhex(b[3])
}

// nextRune decodes the character at i of s, the content of a string str
// read, as encoding/json's unquote does: an escape, a UTF-16 surrogate
// pair of escapes, or UTF-8, each byte of invalid UTF-8 and each lone
// surrogate giving U+FFFD. It returns the index after it.
func nextRune(s []byte, i int) (rune, int) {
	c := s[i]
	if c < utf8.RuneSelf {
		if c != '\\' {
			return rune(c), i + 1
		}
		switch s[i+1] {
		case 'b':
			return '\b', i + 2
		case 'f':
			return '\f', i + 2
		case 'n':
			return '\n', i + 2
		case 'r':
			return '\r', i + 2
		case 't':
			return '\t', i + 2
		case 'u':
			r := hex4(s[i+2:])
			i += 6
			if !utf16.IsSurrogate(r) {
				return r, i
			}
			if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
				if d := utf16.DecodeRune(r, hex4(s[i+2:])); d != unicode.ReplacementChar {
					return d, i + 6
				}
			}
			return unicode.ReplacementChar, i
		}
		return rune(s[i+1]), i + 2 // " \ /
	}
	r, n := utf8.DecodeRune(s[i:])
	return r, i + n
}

// unquote appends the string raw (JSON, quotes included) decoded.
func unquote(dst, raw []byte) []byte {
	s := raw[1 : len(raw)-1]
	for i := 0; i < len(s); {
		var r rune
		r, i = nextRune(s, i)
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}

// foldKey appends key (a string's content) decoded and folded as
// encoding/json's foldName folds names: ASCII upper case, and any other
// rune the least of its case-folding orbit. It gives up (returns what it
// has, which matches no field) at a rune that does not fold to ASCII or
// past cap(dst).
func foldKey(dst, key []byte) []byte {
	for i := 0; i < len(key); {
		var r rune
		r, i = nextRune(key, i)
		if r >= utf8.RuneSelf {
			r = foldRune(r)
		} else if 'a' <= r && r <= 'z' {
			r -= 'a' - 'A'
		}
		if r >= utf8.RuneSelf || len(dst) == cap(dst) {
			return append(dst[:0], '?')
		}
		dst = append(dst, byte(r))
	}
	return dst
}

// foldRune returns the least rune of r's case-folding orbit, as
// encoding/json's does: K (U+212A) folds to K, ſ (U+017F) to S.
func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

// errNotString is why a value that should be a string is not one.
var errNotString = errors.New("want a string")

// parseJSONID reads an ID from raw, one JSON value as wireRequest.read or
// encoding/json gives it: a binary string of exactly 20 characters, each
// U+0000 to U+00FF. Absent or null, it is errMissing.
func parseJSONID(raw []byte) (ID, error) {
	if len(raw) == 0 || isJSONNull(raw) {
		return ID{}, errMissing
	}
	if raw[0] != '"' {
		return ID{}, errNotString
	}
	var id ID
	s := raw[1 : len(raw)-1]
	n, high := 0, false
	for i := 0; i < len(s); {
		var r rune
		if c := s[i]; c < utf8.RuneSelf && c != '\\' {
			r = rune(c)
			i++
		} else {
			r, i = nextRune(s, i)
		}
		if r > 0xff {
			high = true
		} else if n < len(id) {
			id[n] = byte(r)
		}
		n++
	}
	switch {
	case n != len(id):
		return ID{}, errIDLength
	case high:
		return ID{}, errIDChar
	}
	return id, nil
}

// stringIs reports whether raw, a JSON string, decodes to s.
func stringIs(raw []byte, s string) bool {
	if len(raw) == len(s)+2 && string(raw[1:len(raw)-1]) == s {
		return true
	}
	var buf [32]byte
	return len(raw) < 6*len(s)+3 && string(unquote(buf[:0], raw)) == s
}
