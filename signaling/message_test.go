package signaling

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/seedcast/seedcast/infohash"
)

// bin returns a 20-byte binary string whose bytes start with prefix and are
// padded with b.
func bin(prefix string, b byte) string {
	var id ID
	for i := range id {
		id[i] = b
	}
	copy(id[:], prefix)
	return id.binaryString()
}

func TestIDRoundTrip(t *testing.T) {
	var id ID
	for i := range id {
		id[i] = byte(0xff - i*13)
	}
	b, err := json.Marshal(id)
	if err != nil {
		t.Fatal(err)
	}
	var back ID
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	if back != id {
		t.Fatalf("round trip: got %x, want %x", back, id)
	}
}

func TestParseRequest(t *testing.T) {
	ih, peer, oid := bin("ih", 0xe9), bin("peer", 0x80), bin("offer", 0x00)
	msg := func(fields map[string]any) string {
		b, err := json.Marshal(fields)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	offers := func(n int) []any {
		var out []any
		for range n {
			out = append(out, map[string]any{"offer": map[string]string{"type": "offer", "sdp": "v=0"}, "offer_id": oid})
		}
		return out
	}
	tests := []struct {
		name    string
		msg     string
		wantErr string // a substring of the failure reason; "" for success
		check   func(t *testing.T, r *request)
	}{
		{"started with offers", msg(map[string]any{"action": "announce", "info_hash": ih, "peer_id": peer, "event": "started", "left": 5, "offers": offers(5), "numwant": 5}), "",
			func(t *testing.T, r *request) {
				if r.Event != eventStarted || len(r.Offers) != 5 || r.Left == nil || *r.Left != 5 {
					t.Errorf("got %+v", r)
				}
			}},
		{"unknown event is an update", msg(map[string]any{"action": "announce", "info_hash": ih, "peer_id": peer, "event": "<regular>"}), "",
			func(t *testing.T, r *request) {
				if r.Event != eventUpdate {
					t.Errorf("event %v, want update", r.Event)
				}
			}},
		{"answer", msg(map[string]any{"action": "announce", "info_hash": ih, "peer_id": peer, "to_peer_id": peer, "offer_id": oid, "answer": map[string]string{"type": "answer", "sdp": "v=0"}}), "",
			func(t *testing.T, r *request) {
				if r.Answer == nil || r.OfferID.binaryString() != oid {
					t.Errorf("got %+v", r)
				}
			}},
		{"scrape list", msg(map[string]any{"action": "scrape", "info_hash": []string{ih, ih}}), "",
			func(t *testing.T, r *request) {
				if len(r.InfoHashes) != 2 {
					t.Errorf("got %d hashes", len(r.InfoHashes))
				}
			}},
		{"scrape all", `{"action":"scrape"}`, "", func(t *testing.T, r *request) {
			if r.InfoHashes != nil {
				t.Errorf("got %v, want nil (every swarm)", r.InfoHashes)
			}
		}},
		{"scrape none", `{"action":"scrape","info_hash":[]}`, "", func(t *testing.T, r *request) {
			if r.InfoHashes == nil || len(r.InfoHashes) != 0 {
				t.Errorf("got %v, want an empty list (no swarm)", r.InfoHashes)
			}
		}},
		{"malformed JSON", `{"action":"announce",`, "invalid JSON", nil},
		{"short info_hash", msg(map[string]any{"action": "announce", "info_hash": ih[:19], "peer_id": peer}), "invalid info_hash", nil},
		{"long peer_id", msg(map[string]any{"action": "announce", "info_hash": ih, "peer_id": peer + "x"}), "invalid peer_id", nil},
		{"char above latin-1", msg(map[string]any{"action": "announce", "info_hash": strings.Repeat("Ā", 20), "peer_id": peer}), "invalid info_hash", nil},
		{"too many offers", msg(map[string]any{"action": "announce", "info_hash": ih, "peer_id": peer, "offers": offers(11)}), "too many offers", nil},
		{"offer not an object", msg(map[string]any{"action": "announce", "info_hash": ih, "peer_id": peer, "offers": []any{map[string]any{"offer": "x", "offer_id": oid}}}), "invalid offer 0", nil},
		{"answer without to_peer_id", msg(map[string]any{"action": "announce", "info_hash": ih, "peer_id": peer, "offer_id": oid, "answer": map[string]string{"sdp": "v=0"}}), "invalid to_peer_id", nil},
		{"unknown action", `{"action":"dance"}`, "invalid action", nil},
		{"oversized", `{"action":"announce","x":"` + strings.Repeat("a", maxMsgBytes) + `"}`, "message over", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := parseRequest([]byte(tt.msg))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				tt.check(t, r)
				return
			}
			var re *requestError
			if !errors.As(err, &re) {
				t.Fatalf("got %v, want a *requestError", err)
			}
			if !strings.Contains(re.Reason, tt.wantErr) {
				t.Errorf("reason %q does not mention %q", re.Reason, tt.wantErr)
			}
			if re.Action != actionAnnounce && re.Action != actionScrape {
				t.Errorf("reply action %q: browsers drop sockets on replies without announce or scrape", re.Action)
			}
		})
	}
}

// FuzzParseRequest checks that no message crashes the parser, that every
// refusal names an action browsers accept, and that what parses keeps its
// bounds.
func FuzzParseRequest(f *testing.F) {
	ih, peer := bin("ih", 0xe9), bin("peer", 0x80)
	// Seeds shaped like WebTorrent 3.0.21's messages.
	f.Add([]byte(`{"action":"announce","info_hash":"` + ih + `","peer_id":"` + peer + `","numwant":5,"uploaded":0,"downloaded":0,"left":1048576,"event":"started","offers":[{"offer":{"type":"offer","sdp":"v=0\r\n"},"offer_id":"` + peer + `"}]}`))
	f.Add([]byte(`{"action":"announce","info_hash":"` + ih + `","peer_id":"` + peer + `","to_peer_id":"` + peer + `","answer":{"type":"answer","sdp":"v=0"},"offer_id":"` + peer + `"}`))
	f.Add([]byte(`{"action":"scrape","info_hash":["` + ih + `"]}`))
	f.Add([]byte(`{"action":"announce","info_hash":"\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u0009\u000a\u000b\u000c\u000d\u000e\u000f\u0010\u0011\u0012\u00ff","peer_id":"-WW0300-abcdefghijkl"}`))
	f.Add([]byte(`{"action":"announce","event":"<regular>"}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, msg []byte) {
		r, err := parseRequest(msg)
		if err != nil {
			var re *requestError
			if !errors.As(err, &re) {
				t.Fatalf("error %T is not a *requestError", err)
			}
			if re.Action != actionAnnounce && re.Action != actionScrape {
				t.Fatalf("reply action %q", re.Action)
			}
			if _, err := json.Marshal(re.reply()); err != nil {
				t.Fatalf("failure reply does not marshal: %v", err)
			}
			return
		}
		if len(r.Offers) > maxOffers || len(r.InfoHashes) > maxScrapeItems {
			t.Fatalf("bounds broken: %d offers, %d hashes", len(r.Offers), len(r.InfoHashes))
		}
		if r.Action == actionAnnounce && len(r.InfoHashes) != 1 {
			t.Fatalf("announce with %d info hashes", len(r.InfoHashes))
		}
	})
}

// FuzzRelayMessage checks that the relays written by hand say what
// json.Marshal of offerRelay and answerRelay says, for any ids and any
// JSON object of an SDP, and the reply to an announce what json.Marshal
// of announceReply says.
func FuzzRelayMessage(f *testing.F) {
	f.Add([]byte(`{"type":"offer","sdp":"v=0\r\n"}`), []byte("offer id \x00\x01\"\\\xff\x7f\x80 x"), []byte("-WW0300-abcdefghijkl"))
	f.Fuzz(func(t *testing.T, sdp, a, b []byte) {
		if !json.Valid(sdp) || !isJSONObject(sdp) {
			return
		}
		var offerID, from ID
		copy(offerID[:], a)
		copy(from[:], b)
		ih := ID{9}
		var got, want map[string]any
		for _, kind := range []string{"offer", "answer"} {
			var std []byte
			if kind == "offer" {
				std, _ = json.Marshal(offerRelay{Action: actionAnnounce, Offer: sdp, OfferID: offerID, PeerID: from, InfoHash: ih})
			} else {
				std, _ = json.Marshal(answerRelay{Action: actionAnnounce, Answer: sdp, OfferID: offerID, PeerID: from, InfoHash: ih})
			}
			mine := relayMessage(kind, sdp, offerID, from, ih)
			if err := json.Unmarshal(mine, &got); err != nil {
				t.Fatalf("%s relay %q: %v", kind, mine, err)
			}
			json.Unmarshal(std, &want)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s relay\n got %q\nwant %q", kind, mine, std)
			}
		}
		interval, complete, incomplete := len(a)*7, len(sdp), len(b)-3
		std, _ := json.Marshal(announceReply{Action: actionAnnounce, Interval: interval, InfoHash: offerID, Complete: complete, Incomplete: incomplete})
		mine := announceReplyMessage(interval, infohash.Hash(offerID), complete, incomplete)
		if err := json.Unmarshal(mine, &got); err != nil {
			t.Fatalf("reply %q: %v", mine, err)
		}
		json.Unmarshal(std, &want)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("reply\n got %q\nwant %q", mine, std)
		}
	})
}

// FuzzWireRequest checks parseRequest, whose reader is written by hand,
// against parseRequestStd, the same validation over encoding/json: both
// must take and refuse the same messages, refuse them with the same
// reply (action and info hash; the reason too, but for what
// encoding/json words its own way), and read the same request.
func FuzzWireRequest(f *testing.F) {
	ih, peer := bin("ih", 0xe9), bin("peer", 0x80)
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	ann := `"action":"announce","info_hash":` + q(ih) + `,"peer_id":` + q(peer)
	offer := `{"offer":{"type":"offer","sdp":"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"},"offer_id":` + q(peer) + `}`
	for _, s := range []string{
		// WebTorrent's shapes.
		`{"numwant":5,"uploaded":0,"downloaded":0,"left":734003200,"event":"started",` + ann + `,"offers":[` + offer + `,` + offer + `]}`,
		`{` + ann + `,"to_peer_id":` + q(peer) + `,"answer":{"type":"answer","sdp":"v=0"},"offer_id":` + q(peer) + `}`,
		`{"action":"scrape","info_hash":[` + q(ih) + `,` + q(ih) + `]}`,
		`{"action":"scrape","info_hash":` + q(ih) + `}`,
		`{"action":"scrape","info_hash":[null]}`,
		`{"action":"scrape","info_hash":[]}`,
		`{"action":"scrape"}`,
		// Escapes, folding, repeats, nulls, nesting.
		`{"\u0061ction":"\u0061nnounce","info_hash":"\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u0009\u000a\u000b\u000c\u000d\u000e\u000f\u0010\u0011\u0012\u00ff","peer_id":"-WW0300-abcdefghijkl"}`,
		`{"ACTION":"announce","Info_Hash":` + q(ih) + `,"PEER_ID":` + q(peer) + `,"event":"st\u0061rted","left":1e3}`,
		`{"action":"announce","info_haſh":` + q(ih) + `,"peer_id":` + q(peer) + `,"event":null,"left":null}`,
		`{` + ann + `,"offers":[` + offer + `,{"offer":{}}],"offers":[{"offer":{"x":1}},null]}`,
		`{` + ann + `,"offers":[` + offer + `],"offers":null,"offers":[{"offer":{}}]}`,
		`{"action":"announce","action":null,"info_hash":` + q(ih) + `,"peer_id":` + q(peer) + `,"x":[[[{"a":[1,-2.5e+3,true,false,null]}]]]}`,
		`{` + ann + `,"left":1e999}`,
		`{` + ann + `,"left":"5"}`,
		`{` + ann + `,"peer_id":"\ud83d\ude00` + strings.Repeat("a", 19) + `"}`,
		`{` + ann + `,"peer_id":"\ud800` + strings.Repeat("a", 19) + `"}`,
		`{` + ann + `,"peer_id":"` + "\xff" + strings.Repeat("a", 19) + `"}`,
		`{` + ann + `,"offers":{}}`,
		`{` + ann + `,"offers":[1]}`,
		`{` + ann + `,"event":5}`,
		`{"action":"dance"}`, `{"action":"\u00e9"}`, `{"action":5}`,
		`{"action":"announce",`, `{"a":01}`, `{"a":1.}`, `{"a":"\x"}`, "{\"a\":\"\x01\"}", `{"a":1}x`, ` {} `,
		`[]`, `null`, `"x"`, ``, `nul`,
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
		`{"x":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`,
		`{"x":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		got, gotErr := parseRequest(msg)
		want, wantErr := parseRequestStd(msg)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("%q:\n got %+v, %v\nwant %+v, %v", msg, got, gotErr, want, wantErr)
		}
		if gotErr != nil {
			g, w := gotErr.(*requestError), wantErr.(*requestError)
			gr, wr := g.reply(), w.reply()
			if gr.Action != wr.Action || !reflect.DeepEqual(gr.InfoHash, wr.InfoHash) {
				t.Fatalf("%q: reply\n got %+v\nwant %+v", msg, gr, wr)
			}
			g1, w1 := gr.Failure, wr.Failure
			if strings.HasPrefix(w1, "invalid JSON") || strings.Contains(w1, "json: ") {
				// encoding/json words its errors its own way: the
				// field must agree, not the words.
				g1, _, _ = strings.Cut(g1, ": ")
				w1, _, _ = strings.Cut(w1, ": ")
			}
			if g1 != w1 {
				t.Fatalf("%q: reason\n got %q\nwant %q", msg, gr.Failure, wr.Failure)
			}
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %+v\nwant %+v", msg, got, want)
		}
	})
}

// parseRequestStd is parseRequest as it was over encoding/json, kept as
// the oracle of FuzzWireRequest.
func parseRequestStd(msg []byte) (*request, error) {
	fail := func(action string, ih *infohash.Hash, format string, args ...any) error {
		if action != actionScrape {
			action = actionAnnounce
		}
		return &requestError{Action: action, InfoHash: ih, Reason: fmt.Sprintf(format, args...)}
	}
	if len(msg) > maxMsgBytes {
		return nil, fail("", nil, "message over %d bytes", maxMsgBytes)
	}
	var w struct {
		Action   string          `json:"action"`
		InfoHash json.RawMessage `json:"info_hash"`
		PeerID   json.RawMessage `json:"peer_id"`
		Event    *string         `json:"event"`
		Left     *float64        `json:"left"`
		Offers   []struct {
			Offer   json.RawMessage `json:"offer"`
			OfferID json.RawMessage `json:"offer_id"`
		} `json:"offers"`
		Answer   json.RawMessage `json:"answer"`
		ToPeerID json.RawMessage `json:"to_peer_id"`
		OfferID  json.RawMessage `json:"offer_id"`
	}
	if err := json.Unmarshal(msg, &w); err != nil {
		return nil, fail("", nil, "invalid JSON: %v", err)
	}
	parseID := func(raw json.RawMessage) (ID, error) {
		if len(raw) == 0 || isJSONNull(raw) {
			return ID{}, errMissing
		}
		var id ID
		err := id.UnmarshalJSON(raw)
		return id, err
	}
	req := &request{Action: w.Action}
	switch w.Action {
	case actionScrape:
		var ihs []infohash.Hash
		var err error
		switch raw := w.InfoHash; {
		case len(raw) == 0 || isJSONNull(raw):
		case raw[0] != '[':
			var id ID
			if id, err = parseID(raw); err == nil {
				ihs = []infohash.Hash{infohash.Hash(id)}
			}
		default:
			var ids []ID
			if err = json.Unmarshal(raw, &ids); err == nil && len(ids) > maxScrapeItems {
				err = fmt.Errorf("%d hashes, at most %d", len(ids), maxScrapeItems)
			}
			ihs = make([]infohash.Hash, len(ids))
			for i, id := range ids {
				ihs[i] = infohash.Hash(id)
			}
		}
		if err != nil {
			return nil, fail(w.Action, nil, "invalid info_hash: %v", err)
		}
		req.InfoHashes = ihs
		return req, nil
	case actionAnnounce:
	default:
		return nil, fail("", nil, "invalid action %q", w.Action)
	}
	id, err := parseID(w.InfoHash)
	if err != nil {
		return nil, fail(w.Action, nil, "invalid info_hash: %v", err)
	}
	ih := infohash.Hash(id)
	req.InfoHashes = []infohash.Hash{ih}
	if req.PeerID, err = parseID(w.PeerID); err != nil {
		return nil, fail(w.Action, &ih, "invalid peer_id: %v", err)
	}
	if w.Event != nil {
		req.Event = parseEvent(*w.Event)
	}
	req.Left = w.Left
	if w.Answer != nil && !isJSONNull(w.Answer) {
		if !isJSONObject(w.Answer) {
			return nil, fail(w.Action, &ih, "invalid answer: want an object")
		}
		req.Answer = w.Answer
		if req.ToPeerID, err = parseID(w.ToPeerID); err != nil {
			return nil, fail(w.Action, &ih, "invalid to_peer_id: %v", err)
		}
		if req.OfferID, err = parseID(w.OfferID); err != nil {
			return nil, fail(w.Action, &ih, "invalid offer_id: %v", err)
		}
		return req, nil
	}
	if len(w.Offers) > maxOffers {
		return nil, fail(w.Action, &ih, "too many offers: %d, at most %d", len(w.Offers), maxOffers)
	}
	for i, o := range w.Offers {
		if !isJSONObject(o.Offer) {
			return nil, fail(w.Action, &ih, "invalid offer %d: want an object", i)
		}
		id, err := parseID(o.OfferID)
		if err != nil {
			return nil, fail(w.Action, &ih, "invalid offer_id of offer %d: %v", i, err)
		}
		req.Offers = append(req.Offers, offer{ID: id, SDP: o.Offer})
	}
	return req, nil
}

// announceOf5 is an announce the size and shape of WebTorrent's from
// Chromium: 5 offers of about 1 300 bytes of SDP each, 7.8 KB in all.
func announceOf5() []byte {
	var sdp strings.Builder
	sdp.WriteString("v=0\r\no=- 4627213657392745837 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n")
	for sdp.Len() < 1300 {
		sdp.WriteString("a=candidate:1467250027 1 udp 2122260223 3b6a5fa8-1f2e-4c1e-9d7a-0b9e5b2f4c11.local 54321 typ host generation 0 network-id 1\r\n")
	}
	var offers []any
	for j := range 5 {
		offers = append(offers, map[string]any{"offer": map[string]string{"type": "offer", "sdp": sdp.String()}, "offer_id": bin(fmt.Sprint("o", j), 0xaa)})
	}
	b, _ := json.Marshal(map[string]any{"action": "announce", "info_hash": bin("ih", 0xe9), "peer_id": bin("-WW0300-", 'x'),
		"numwant": 5, "uploaded": 0, "downloaded": 0, "left": 734003200, "event": "started", "offers": offers})
	return b
}

func BenchmarkParseRequest(b *testing.B) {
	msg := announceOf5()
	for _, p := range []struct {
		name  string
		parse func([]byte) (*request, error)
	}{{"reader", parseRequest}, {"encoding-json", parseRequestStd}} {
		b.Run(p.name, func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				if r, err := p.parse(msg); err != nil || len(r.Offers) != 5 {
					b.Fatal(r, err)
				}
			}
		})
	}
}
