package signaling

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
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
// JSON object of an SDP.
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
	})
}
