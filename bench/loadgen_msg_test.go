package bench

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"unicode/utf8"
)

// The load generator's side of the WebTorrent tracker protocol: the
// messages a browser sends, built the way bittorrent-tracker's client
// (lib/client/websocket-tracker.js) builds them, and a scanner for what
// trackers send back that reads only the fields the generator needs.

// id20 is a 20-byte id of the protocol: an info hash, a peer id, an offer
// id. On the wire each byte is one character of a JSON string (U+0000 to
// U+00FF), JavaScript's "binary string".
type id20 [20]byte

// appendBinaryString appends id as a JSON string, escaped as
// JSON.stringify escapes it: the five short escapes, \u00XX for the other
// control characters, bytes from 0x80 as their UTF-8 runes.
func appendBinaryString(dst []byte, id id20) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for _, c := range id {
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\b':
			dst = append(dst, '\\', 'b')
		case c == '\f':
			dst = append(dst, '\\', 'f')
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		case c < 0x80:
			dst = append(dst, c)
		default:
			dst = utf8.AppendRune(dst, rune(c))
		}
	}
	return append(dst, '"')
}

// appendJSONString appends s as a JSON string (SDP: ASCII with CR LF).
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// sdpObject returns the JSON of an RTCSessionDescription, {"type":...,
// "sdp":...}, as simple-peer hands it to the tracker client.
func sdpObject(typ, sdp string) []byte {
	b := append([]byte(`{"type":`), appendJSONString(nil, typ)...)
	b = append(b, `,"sdp":`...)
	b = appendJSONString(b, sdp)
	return append(b, '}')
}

// offerID makes the id of the j-th offer of an announce sent at sentNS
// (nanoseconds since the generator started) by socket sock: both come back
// in the answer, so that the round trip needs no table of offers sent. The
// last seven bytes are random, as the rest of a browser's offer id is.
func offerID(sentNS int64, sock uint32, j byte, rnd *rand.Rand) id20 {
	var id id20
	for i := range 8 {
		id[i] = byte(sentNS >> (56 - 8*i))
	}
	for i := range 4 {
		id[8+i] = byte(sock >> (24 - 8*i))
	}
	id[12] = j
	r := rnd.Uint64()
	for i := range 7 {
		id[13+i] = byte(r >> (8 * i))
	}
	return id
}

// parseOfferID is the inverse of offerID.
func parseOfferID(id id20) (sentNS int64, sock uint32, j byte) {
	for i := range 8 {
		sentNS = sentNS<<8 | int64(id[i])
	}
	for i := range 4 {
		sock = sock<<8 | uint32(id[8+i])
	}
	return sentNS, sock, id[12]
}

// announceMsg builds an announce as WebTorrent sends it: the client's
// announce options first (numwant, uploaded, downloaded, left, event),
// then action, info_hash and peer_id, then the offers.
func announceMsg(dst []byte, ih, peer id20, left int64, started bool, offers [][]byte, ids []id20) []byte {
	dst = fmt.Appendf(dst, `{"numwant":%d,"uploaded":0,"downloaded":0,"left":%d,`, len(offers), left)
	if started {
		dst = append(dst, `"event":"started",`...)
	}
	dst = append(dst, `"action":"announce","info_hash":`...)
	dst = appendBinaryString(dst, ih)
	dst = append(dst, `,"peer_id":`...)
	dst = appendBinaryString(dst, peer)
	dst = append(dst, `,"offers":[`...)
	for i, o := range offers {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"offer":`...)
		dst = append(dst, o...)
		dst = append(dst, `,"offer_id":`...)
		dst = appendBinaryString(dst, ids[i])
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

// answerMsg builds the answer to an offer relayed from peer to, as
// WebTorrent sends it.
func answerMsg(dst []byte, ih, peer, to, offer id20, answer []byte) []byte {
	dst = append(dst, `{"action":"announce","info_hash":`...)
	dst = appendBinaryString(dst, ih)
	dst = append(dst, `,"peer_id":`...)
	dst = appendBinaryString(dst, peer)
	dst = append(dst, `,"to_peer_id":`...)
	dst = appendBinaryString(dst, to)
	dst = append(dst, `,"answer":`...)
	dst = append(dst, answer...)
	dst = append(dst, `,"offer_id":`...)
	dst = appendBinaryString(dst, offer)
	return append(dst, '}')
}

// msgKind is what a tracker's message is to the generator.
type msgKind int

const (
	msgUnknown msgKind = iota
	msgReply           // the reply to an announce: interval and counts
	msgOffer           // an offer relayed from another peer
	msgAnswer          // an answer to one of this peer's offers
	msgFailure         // a failure reason
)

func (k msgKind) String() string {
	return [...]string{"unknown", "reply", "offer", "answer", "failure"}[k]
}

// trackerMsg is what the generator reads of a tracker's message.
type trackerMsg struct {
	Kind                      msgKind
	InfoHash, PeerID, OfferID id20
	HasPeerID, HasOfferID     bool
	Failure                   string
}

// errScan is the error of every message scanMessage cannot read.
var errScan = errors.New("not a tracker message")

// scanMessage reads a tracker's message: one JSON object whose offer,
// answer, interval and failure reason keys say what it is, and whose
// info_hash, peer_id and offer_id are binary strings of 20 characters.
// Other values are skipped unread: an offer's SDP is over a kilobyte, and
// the generator must spend its one core on sending, not on decoding what
// it does not use. A key given twice counts the last time, as in
// encoding/json.
func scanMessage(b []byte) (trackerMsg, error) {
	var m trackerMsg
	hasInterval := false
	s := scanner{b: b}
	s.ws()
	if !s.eat('{') {
		return m, fmt.Errorf("%w: want an object", errScan)
	}
	s.ws()
	if s.eat('}') {
		return m, fmt.Errorf("%w: empty object", errScan)
	}
	var offer, answer, failure bool
	for {
		s.ws()
		key, ok := s.str()
		if !ok {
			return m, fmt.Errorf("%w: bad key at %d", errScan, s.i)
		}
		s.ws()
		if !s.eat(':') {
			return m, fmt.Errorf("%w: no colon at %d", errScan, s.i)
		}
		s.ws()
		switch key {
		case "info_hash", "peer_id", "offer_id":
			if s.i < len(s.b) && s.b[s.i] == 'n' {
				// null, as an absent key
				if !s.skip() {
					return m, fmt.Errorf("%w: bad %s", errScan, key)
				}
				switch key {
				case "peer_id":
					m.HasPeerID = false
				case "offer_id":
					m.HasOfferID = false
				}
				break
			}
			v, ok := s.str()
			if !ok {
				return m, fmt.Errorf("%w: bad %s", errScan, key)
			}
			id, err := parseBinaryString(v)
			if err != nil {
				return m, fmt.Errorf("%w: %s: %v", errScan, key, err)
			}
			switch key {
			case "info_hash":
				m.InfoHash = id
			case "peer_id":
				m.PeerID, m.HasPeerID = id, true
			case "offer_id":
				m.OfferID, m.HasOfferID = id, true
			}
		case "failure reason":
			v, ok := s.str()
			if !ok {
				return m, fmt.Errorf("%w: bad failure reason", errScan)
			}
			m.Failure, failure = v, true
		default:
			start := s.i
			if !s.skip() {
				return m, fmt.Errorf("%w: bad value of %q at %d", errScan, key, start)
			}
			null := string(b[start:s.i]) == "null"
			switch key {
			case "offer":
				offer = !null
			case "answer":
				answer = !null
			case "interval":
				hasInterval = !null
			}
		}
		s.ws()
		if s.eat('}') {
			break
		}
		if !s.eat(',') {
			return m, fmt.Errorf("%w: want , or } at %d", errScan, s.i)
		}
	}
	s.ws()
	if s.i != len(s.b) {
		return m, fmt.Errorf("%w: trailing bytes at %d", errScan, s.i)
	}
	switch {
	case failure:
		m.Kind = msgFailure
	case offer:
		m.Kind = msgOffer
	case answer:
		m.Kind = msgAnswer
	case hasInterval:
		m.Kind = msgReply
	}
	return m, nil
}

// parseBinaryString reads a binary string of exactly 20 characters.
func parseBinaryString(s string) (id20, error) {
	var id id20
	n := 0
	for _, r := range s {
		if r > 0xff {
			return id, fmt.Errorf("character %U above U+00FF", r)
		}
		if n == len(id) {
			return id, errors.New("over 20 characters")
		}
		id[n] = byte(r)
		n++
	}
	if n != len(id) {
		return id, fmt.Errorf("%d characters, want 20", n)
	}
	return id, nil
}

// scanner walks a JSON text.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// str reads a string and returns its value. Without escapes the value is
// the bytes between the quotes, which must be valid UTF-8.
func (s *scanner) str() (string, bool) {
	if !s.eat('"') {
		return "", false
	}
	start := s.i
	for j := s.i; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			v := s.b[start:j]
			if !utf8.Valid(v) {
				return "", false
			}
			s.i = j + 1
			return string(v), true
		case c == '\\':
			return s.escaped(start)
		case c < 0x20:
			return "", false
		}
	}
	return "", false
}

// escaped reads the rest of a string that holds escapes, from start.
func (s *scanner) escaped(start int) (string, bool) {
	var sb strings.Builder
	for j := start; j < len(s.b); {
		c := s.b[j]
		switch {
		case c == '"':
			s.i = j + 1
			return sb.String(), true
		case c < 0x20:
			return "", false
		case c == '\\':
			if j+1 >= len(s.b) {
				return "", false
			}
			switch e := s.b[j+1]; e {
			case '"', '\\', '/':
				sb.WriteByte(e)
			case 'b':
				sb.WriteByte('\b')
			case 'f':
				sb.WriteByte('\f')
			case 'n':
				sb.WriteByte('\n')
			case 'r':
				sb.WriteByte('\r')
			case 't':
				sb.WriteByte('\t')
			case 'u':
				r, ok := hex4(s.b[j+2:])
				if !ok {
					return "", false
				}
				j += 4
				if utf16IsSurrogate(r) {
					// A pair: \uD8xx\uDCxx. A lone half is U+FFFD, as in
					// encoding/json.
					if j+8 <= len(s.b) && s.b[j+2] == '\\' && s.b[j+3] == 'u' {
						if r2, ok := hex4(s.b[j+4:]); ok && r < 0xdc00 && r2 >= 0xdc00 && r2 <= 0xdfff {
							sb.WriteRune((r-0xd800)<<10 | (r2 - 0xdc00) + 0x10000)
							j += 6
							break
						}
					}
					r = utf8.RuneError
				}
				sb.WriteRune(r)
			default:
				return "", false
			}
			j += 2
		default:
			r, n := utf8.DecodeRune(s.b[j:])
			if r == utf8.RuneError && n == 1 {
				return "", false
			}
			sb.WriteString(string(s.b[j : j+n]))
			j += n
		}
	}
	return "", false
}

func utf16IsSurrogate(r rune) bool { return r >= 0xd800 && r <= 0xdfff }

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// skip passes over one value without decoding it: strings by their
// quotes, objects and arrays by their brackets, literals and numbers up to
// what ends them. It checks the brackets and quotes, not the grammar of
// what lies between.
func (s *scanner) skip() bool {
	if s.i >= len(s.b) {
		return false
	}
	switch s.b[s.i] {
	case '"':
		return s.skipString()
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				if !s.skipString() {
					return false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return true
				}
			}
			s.i++
		}
		return false
	}
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return s.i > start
		case '{', '[', '"', ':':
			return false
		}
		s.i++
	}
	return false
}

// skipString passes over a string, escapes included.
func (s *scanner) skipString() bool {
	s.i++ // the opening quote
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '"':
			s.i++
			return true
		case '\\':
			s.i += 2
			continue
		}
		s.i++
	}
	return false
}

// SDP of the shape Chromium sends for a data channel, with every candidate
// gathered, as WebTorrent (simple-peer with trickle off) sends it: an
// mDNS host candidate per interface, their server-reflexive addresses, TCP
// host candidates. Addresses are of the documentation ranges.

// chromiumOffer returns an offer of about 1.3 KB, with the ids, ports and
// keys of one browser drawn from rnd.
func chromiumOffer(rnd *rand.Rand) string {
	return chromiumSDP(rnd, "actpass", 2)
}

// chromiumAnswer returns the answer of a browser with one interface, about
// 0.9 KB.
func chromiumAnswer(rnd *rand.Rand) string {
	return chromiumSDP(rnd, "active", 1)
}

func chromiumSDP(rnd *rand.Rand, setup string, ifaces int) string {
	var sb strings.Builder
	port := 40000 + rnd.IntN(20000)
	fmt.Fprintf(&sb, "v=0\r\no=- %d 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\n", rnd.Int64())
	fmt.Fprintf(&sb, "m=application %d UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 203.0.113.%d\r\n", port, 1+rnd.IntN(254))
	type iface struct {
		host string
		port int
	}
	var ifs []iface
	for i := range ifaces {
		p := port
		if i > 0 {
			p = 40000 + rnd.IntN(20000)
		}
		ifs = append(ifs, iface{uuid(rnd) + ".local", p})
	}
	for i, f := range ifs {
		fmt.Fprintf(&sb, "a=candidate:%d 1 udp %d %s %d typ host generation 0 network-id %d network-cost %d\r\n",
			rnd.Uint32(), 2122260223-i*65536, f.host, f.port, i+1, 10+40*i)
	}
	for i, f := range ifs {
		fmt.Fprintf(&sb, "a=candidate:%d 1 udp %d 203.0.113.%d %d typ srflx raddr 0.0.0.0 rport 0 generation 0 network-id %d network-cost %d\r\n",
			rnd.Uint32(), 1686052607-i*65536, 1+rnd.IntN(254), f.port, i+1, 10+40*i)
	}
	for i, f := range ifs {
		fmt.Fprintf(&sb, "a=candidate:%d 1 tcp %d %s 9 typ host tcptype active generation 0 network-id %d network-cost %d\r\n",
			rnd.Uint32(), 1518280447-i*65536, f.host, i+1, 10+40*i)
	}
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	pick := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = b64[rnd.IntN(len(b64))]
		}
		return string(b)
	}
	fmt.Fprintf(&sb, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=ice-options:trickle\r\na=fingerprint:sha-256 ", pick(4), pick(24))
	for i := range 32 {
		if i > 0 {
			sb.WriteByte(':')
		}
		fmt.Fprintf(&sb, "%02X", rnd.IntN(256))
	}
	fmt.Fprintf(&sb, "\r\na=setup:%s\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n", setup)
	return sb.String()
}

// uuid returns a random version 4 UUID, the name Chromium gives an mDNS
// host candidate.
func uuid(rnd *rand.Rand) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(rnd.Uint32())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
