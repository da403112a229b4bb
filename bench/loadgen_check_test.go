package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/seedcast/seedcast/e2e/testnet"
	"github.com/seedcast/seedcast/signaling"
)

// TestLoadgenSeedcast runs the load generator against seedcast's tracker
// in this process: every socket opens and gets the reply to its announce,
// offers reach other peers, their answers come back, and what the
// generator counts is what the tracker counts.
func TestLoadgenSeedcast(t *testing.T) {
	srv, err := signaling.New(signaling.Config{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv.Register(mux)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	testnet.Run(t, srv.Run)

	const sockets = 60
	lg, err := newLoadgen(loadgenConfig{
		URL:         "ws" + strings.TrimPrefix(ts.URL, "http") + "/announce",
		Sockets:     sockets,
		Torrents:    6,
		Zipf:        1,
		Offers:      5,
		AnswerShare: 0.5,
		Seed:        1,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lg.close()
	ctx := context.Background()

	open := lg.open(ctx)
	t.Logf("open: %+v", open)
	if open.Open != sockets || open.Replies != sockets || open.Announces != sockets || open.ErrorCount() != 0 {
		t.Fatalf("open: %d open, %d replies to %d announces, errors %v; want %d, no errors", open.Open, open.Replies, open.Announces, open.Errors, sockets)
	}
	if open.OffersSent != 5*sockets {
		t.Errorf("open: %d offers sent, want %d", open.OffersSent, 5*sockets)
	}

	var marks []string
	load := lg.load(ctx, 400, time.Second, func(m string) { marks = append(marks, m) })
	t.Logf("load: %+v", load)
	if strings.Join(marks, " ") != "start end" {
		t.Errorf("marks %q, want start and end", marks)
	}
	switch {
	case load.ErrorCount() != 0:
		t.Errorf("load: errors %v", load.Errors)
	case load.Announces+load.Busy < 300 || load.Replies != load.Announces || load.Announces == 0:
		// A busy machine (or -race) may leave every socket awaiting its
		// reply: those announces are not sent but counted busy.
		t.Errorf("load: %d replies to %d announces, %d not sent, at 400/s for 1 s", load.Replies, load.Announces, load.Busy)
	case load.OffersRelayed == 0 || load.AnswersSent == 0 || load.AnswersDelivered == 0:
		t.Errorf("load: %d offers relayed, %d answers sent, %d delivered: want some of each", load.OffersRelayed, load.AnswersSent, load.AnswersDelivered)
	case load.ReplyP50 <= 0 || load.ReplyP99 < load.ReplyP50 || load.RTTP50 <= 0 || load.RTTP99 < load.RTTP50:
		t.Errorf("load: reply p50 %.3f p99 %.3f ms, offer→answer p50 %.3f p99 %.3f ms", load.ReplyP50, load.ReplyP99, load.RTTP50, load.RTTP99)
	}

	// What the generator counts is what the tracker counts, once the
	// last answers are in: the load's result was taken after a quiet
	// 100 ms, which a busy machine can make early.
	st := srv.Stats()
	rec := lg.rec.Load()
	err = testnet.WaitFor(10*time.Second, func() error {
		relayed := open.OffersRelayed + rec.offersRecv.Load()
		answers := open.AnswersDelivered + rec.answersRecv.Load()
		msgs := open.Announces + open.AnswersSent + rec.announces.Load() + rec.answersSent.Load()
		switch {
		case st.OffersRelay.Load() != relayed:
			return fmt.Errorf("the tracker relayed %d offers, the generator got %d", st.OffersRelay.Load(), relayed)
		case st.AnswersRelay.Load() != answers:
			return fmt.Errorf("the tracker relayed %d answers, the generator got %d", st.AnswersRelay.Load(), answers)
		case st.WSMessages.Load() != msgs:
			return fmt.Errorf("the tracker read %d messages, the generator sent %d", st.WSMessages.Load(), msgs)
		case rec.answersRecv.Load() != rec.answersSent.Load():
			return fmt.Errorf("%d answers delivered of %d sent", rec.answersRecv.Load(), rec.answersSent.Load())
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	if n := st.WSRejected.Load() + st.WSDropped.Load(); n != 0 {
		t.Errorf("the tracker rejected or dropped %d messages", n)
	}
}

// TestLoadgenMessages checks that what the generator sends is the JSON a
// browser sends: the ids come back from encoding/json as the bytes they
// were, each byte one character.
func TestLoadgenMessages(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	var ih, peer id20
	for i := range ih {
		ih[i], peer[i] = byte(i*13), byte(255-i)
	}
	ih[0], ih[1], ih[2] = '"', '\\', 0x7f
	offer := sdpObject("offer", chromiumOffer(rnd))
	ids := []id20{offerID(123456789, 7, 0, rnd), offerID(123456789, 7, 1, rnd)}
	b := announceMsg(nil, ih, peer, 0, true, [][]byte{offer, offer}, ids)
	var m struct {
		Numwant  int
		Left     *int64
		Event    string
		Action   string
		InfoHash string `json:"info_hash"`
		PeerID   string `json:"peer_id"`
		Offers   []struct {
			Offer struct {
				Type, SDP string
			}
			OfferID string `json:"offer_id"`
		}
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("announce %s: %v", b, err)
	}
	if m.Numwant != 2 || m.Left == nil || *m.Left != 0 || m.Event != "started" || m.Action != "announce" || len(m.Offers) != 2 {
		t.Fatalf("announce %s", b)
	}
	if got := latin1(t, m.InfoHash); got != ih {
		t.Errorf("info_hash %q, want %q", got, ih)
	}
	if got := latin1(t, m.PeerID); got != peer {
		t.Errorf("peer_id %q, want %q", got, peer)
	}
	for j, o := range m.Offers {
		id := latin1(t, o.OfferID)
		if sent, sock, jj := parseOfferID(id); sent != 123456789 || sock != 7 || int(jj) != j {
			t.Errorf("offer %d: id %x is (%d, %d, %d)", j, id, sent, sock, jj)
		}
		if o.Offer.Type != "offer" || !strings.HasPrefix(o.Offer.SDP, "v=0\r\n") || !strings.Contains(o.Offer.SDP, "a=setup:actpass\r\n") {
			t.Errorf("offer %d: %q", j, o.Offer.SDP)
		}
		if n := len(o.Offer.SDP); n < 1000 || n > 2000 {
			t.Errorf("offer SDP of %d bytes, want Chromium's 1 to 2 KB", n)
		}
	}

	a := answerMsg(nil, ih, peer, ih, ids[0], sdpObject("answer", chromiumAnswer(rnd)))
	var am map[string]any
	if err := json.Unmarshal(a, &am); err != nil {
		t.Fatalf("answer %s: %v", a, err)
	}
	for _, k := range []string{"action", "info_hash", "peer_id", "to_peer_id", "answer", "offer_id"} {
		if _, ok := am[k]; !ok {
			t.Errorf("answer without %s: %s", k, a)
		}
	}
}

// latin1 maps a binary string's characters to bytes.
func latin1(t *testing.T, s string) id20 {
	t.Helper()
	id, err := parseBinaryString(s)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return id
}

// Messages as the two trackers write them: seedcast (encoding/json, which
// escapes <, > and &) and bittorrent-tracker (JSON.stringify), with ids
// holding escapes, control characters and bytes from 0x80.
var scanSeeds = []string{
	`{"action":"announce","interval":120,"info_hash":"\u0000\u0001abcdefghijklmnopq\u00ff","complete":1,"incomplete":2}`,
	`{"complete":0,"incomplete":1,"action":"announce","info_hash":"ÿþ\u001f\"\\/abcdefghijklmn","interval":120}`,
	`{"action":"announce","offer":{"type":"offer","sdp":"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"},"offer_id":"\u003c\u003e\u0026abcdefghijklmnopq","peer_id":"-WW0300-AAAAAAAAAAAA","info_hash":"abcdefghijklmnopqrst"}`,
	`{"action":"announce","answer":{"type":"answer","sdp":"v=0\r\n"},"offer_id":"\b\f\n\r\tabcdefghijklmno","peer_id":"-WW0300-AAAAAAAAAAAB","info_hash":"abcdefghijklmnopqrst"}`,
	`{"action":"announce","info_hash":"abcdefghijklmnopqrst","failure reason":"peer_id in use by another connection"}`,
	`{"failure reason":"invalid info_hash"}`,
	` { "action" : "announce" , "interval" : 120 , "info_hash" : "abcdefghijklmnopqrst" } `,
	`{"action":"announce","interval":null,"offer":null,"info_hash":"abcdefghijklmnopqrst"}`,
	`{"info_hash":"abcdefghijklmnopqrs"}`,
	`{"info_hash":"abcdefghijklmnopqrstu"}`,
	`{"info_hash":"\u0100bcdefghijklmnopqrst"}`,
	`{"peer_id":"\ud83d\ude00bcdefghijklmnopqr"}`,
	`{"failure reason":"\ud800 alone"}`,
	`[1,2]`,
	`{"a":[{"b":"]}"}],"interval":1}`,
	`{"a":1`,
	`{"a":tru}`,
	`{}`,
}

func TestScanMessage(t *testing.T) {
	ih := id20([]byte("abcdefghijklmnopqrst"))
	for _, tt := range []struct {
		name, msg string
		want      trackerMsg
		err       bool
	}{
		{name: "seedcast reply", msg: scanSeeds[0], want: trackerMsg{Kind: msgReply, InfoHash: id20([]byte("\x00\x01abcdefghijklmnopq\xff"))}},
		{name: "bittorrent-tracker reply", msg: scanSeeds[1], want: trackerMsg{Kind: msgReply, InfoHash: id20([]byte("\xff\xfe\x1f\"\\/abcdefghijklmn"))}},
		{name: "offer", msg: scanSeeds[2], want: trackerMsg{Kind: msgOffer, InfoHash: ih,
			PeerID: id20([]byte("-WW0300-AAAAAAAAAAAA")), HasPeerID: true, OfferID: id20([]byte("<>&abcdefghijklmnopq")), HasOfferID: true}},
		{name: "answer", msg: scanSeeds[3], want: trackerMsg{Kind: msgAnswer, InfoHash: ih,
			PeerID: id20([]byte("-WW0300-AAAAAAAAAAAB")), HasPeerID: true, OfferID: id20([]byte("\b\f\n\r\tabcdefghijklmno")), HasOfferID: true}},
		{name: "failure", msg: scanSeeds[4], want: trackerMsg{Kind: msgFailure, InfoHash: ih, Failure: "peer_id in use by another connection"}},
		{name: "failure without info_hash", msg: scanSeeds[5], want: trackerMsg{Kind: msgFailure, Failure: "invalid info_hash"}},
		{name: "spaces", msg: scanSeeds[6], want: trackerMsg{Kind: msgReply, InfoHash: ih}},
		{name: "nulls are absent keys", msg: scanSeeds[7], want: trackerMsg{InfoHash: ih}},
		{name: "19 characters", msg: scanSeeds[8], err: true},
		{name: "21 characters", msg: scanSeeds[9], err: true},
		{name: "a character above U+00FF", msg: scanSeeds[10], err: true},
		{name: "a surrogate pair", msg: scanSeeds[11], err: true},
		{name: "a lone surrogate", msg: scanSeeds[12], want: trackerMsg{Kind: msgFailure, Failure: "\ufffd alone"}},
		{name: "an array", msg: scanSeeds[13], err: true},
		{name: "brackets in strings", msg: scanSeeds[14], want: trackerMsg{Kind: msgReply}},
		{name: "cut short", msg: scanSeeds[15], err: true},
		{name: "empty", msg: scanSeeds[17], err: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := scanMessage([]byte(tt.msg))
			if tt.err {
				if err == nil {
					t.Fatalf("scanMessage(%s) = %+v, want an error", tt.msg, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("scanMessage(%s): %v", tt.msg, err)
			}
			if got != tt.want {
				t.Errorf("scanMessage(%s)\n = %+v\nwant %+v", tt.msg, got, tt.want)
			}
		})
	}
}

// FuzzScanMessage checks the scanner against encoding/json: on a JSON
// object whose ids are strings, it reads what encoding/json reads, and it
// never accepts what encoding/json rejects as JSON. Seeds: the messages
// of both trackers.
func FuzzScanMessage(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := scanMessage(b)
		var m map[string]json.RawMessage
		if jerr := json.Unmarshal(b, &m); jerr != nil || m == nil || !utf8.Valid(b) {
			// scanMessage skips values unchecked, so it may take some
			// invalid JSON; encoding/json takes invalid UTF-8, which
			// scanMessage refuses where it reads a string.
			return
		}
		want := trackerMsg{}
		wantErr := len(m) == 0
		id := func(key string) (id20, bool) {
			raw, ok := m[key]
			if !ok || string(raw) == "null" {
				return id20{}, false
			}
			var s string
			if json.Unmarshal(raw, &s) != nil {
				wantErr = true
				return id20{}, false
			}
			v, err := parseBinaryString(s)
			if err != nil {
				wantErr = true
			}
			return v, err == nil
		}
		want.InfoHash, _ = id("info_hash")
		want.PeerID, want.HasPeerID = id("peer_id")
		want.OfferID, want.HasOfferID = id("offer_id")
		present := func(k string) bool { raw, ok := m[k]; return ok && string(raw) != "null" }
		if raw, ok := m["failure reason"]; ok {
			if json.Unmarshal(raw, &want.Failure) != nil || raw[0] != '"' {
				wantErr = true
			}
		}
		switch {
		case present("failure reason"):
			want.Kind = msgFailure
		case present("offer"):
			want.Kind = msgOffer
		case present("answer"):
			want.Kind = msgAnswer
		case present("interval"):
			want.Kind = msgReply
		}
		if wantErr {
			if err == nil {
				t.Fatalf("scanMessage(%q) = %+v, want an error", b, got)
			}
			return
		}
		if err != nil {
			t.Fatalf("scanMessage(%q): %v; encoding/json reads %+v", b, err, want)
		}
		if got != want {
			t.Fatalf("scanMessage(%q)\n = %+v\nwant %+v", b, got, want)
		}
	})
}
