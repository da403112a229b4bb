package signaling

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/seedcast/seedcast/infohash"
)

// Limits of one WebSocket message. aquatic_ws, the tracker behind
// tracker.webtorrent.dev, uses the same two numbers; browsers send 5 offers
// (bittorrent-tracker lowered its cap from 10 in commit ce8ea41).
const (
	maxMsgBytes    = 64 << 10
	maxOffers      = 10
	maxScrapeItems = 100
)

// Actions of the protocol.
const (
	actionAnnounce = "announce"
	actionScrape   = "scrape"
)

// event is the announce event, with every value the tracker does not know
// folded into eventUpdate: anacrolix/torrent v1.61 sends "<regular>" on
// periodic announces, and dropping those peers helps nobody.
type event int

const (
	eventUpdate event = iota
	eventStarted
	eventStopped
	eventCompleted
)

func parseEvent(s string) event {
	switch s {
	case "started":
		return eventStarted
	case "stopped":
		return eventStopped
	case "completed":
		return eventCompleted
	}
	return eventUpdate
}

// parseJSONEvent reads the event of raw, a JSON string.
func parseJSONEvent(raw []byte) event {
	switch {
	case stringIs(raw, "started"):
		return eventStarted
	case stringIs(raw, "stopped"):
		return eventStopped
	case stringIs(raw, "completed"):
		return eventCompleted
	}
	return eventUpdate
}

// offer is one WebRTC offer of an announce.
type offer struct {
	ID  ID
	SDP []byte // {"type":"offer","sdp":"..."}, relayed as it came
}

// request is one validated message from a WebSocket client.
type request struct {
	Action string
	// InfoHashes holds one hash for an announce; for a scrape, the hashes
	// asked for, none meaning all.
	InfoHashes []infohash.Hash
	PeerID     ID
	Event      event
	Left       *float64 // nil while the client lacks the metadata
	Offers     []offer

	// An answer to a relayed offer, routed to ToPeerID.
	Answer   []byte
	ToPeerID ID
	OfferID  ID
}

// requestError is a message the tracker refuses. The reply to it carries
// Action and, when it parsed, InfoHash: a reply without action makes the
// browser client drop its socket (bittorrent-tracker websocket-tracker.js
// _onSocketData).
type requestError struct {
	Action   string
	InfoHash *infohash.Hash
	Reason   string
}

func (e *requestError) Error() string { return e.Reason }

// reply returns the failure reply to the refused message.
func (e *requestError) reply() failureReply {
	r := failureReply{Action: e.Action, Failure: e.Reason}
	if e.InfoHash != nil {
		ih := ID(*e.InfoHash)
		r.InfoHash = &ih
	}
	return r
}

// failure returns the failure reply to an announce for ih.
func failure(ih infohash.Hash, reason string) failureReply {
	return (&requestError{Action: actionAnnounce, InfoHash: &ih, Reason: reason}).reply()
}

// parseRequest decodes and validates one WebSocket message. Every error is a
// *requestError naming the action to reply with. The request's offers and
// answer are sub-slices of msg.
func parseRequest(msg []byte) (*request, error) {
	fail := func(action string, ih *infohash.Hash, format string, args ...any) error {
		if action != actionScrape {
			action = actionAnnounce
		}
		return &requestError{Action: action, InfoHash: ih, Reason: fmt.Sprintf(format, args...)}
	}
	if len(msg) > maxMsgBytes {
		return nil, fail("", nil, "message over %d bytes", maxMsgBytes)
	}
	var w wireRequest
	if err := w.read(msg); err != nil {
		return nil, fail("", nil, "invalid JSON: %v", err)
	}
	req := &request{}
	switch {
	case w.Action != nil && stringIs(w.Action, actionScrape):
		req.Action = actionScrape
		ihs, err := parseScrapeHashes(w.InfoHash)
		if err != nil {
			return nil, fail(actionScrape, nil, "invalid info_hash: %v", err)
		}
		req.InfoHashes = ihs
		return req, nil
	case w.Action != nil && stringIs(w.Action, actionAnnounce):
		req.Action = actionAnnounce
	default:
		var action []byte
		if w.Action != nil {
			action = unquote(nil, w.Action)
		}
		return nil, fail("", nil, "invalid action %q", action)
	}

	ih, err := parseJSONInfoHash(w.InfoHash)
	if err != nil {
		return nil, fail(req.Action, nil, "invalid info_hash: %v", err)
	}
	req.InfoHashes = []infohash.Hash{ih}
	if req.PeerID, err = parseJSONID(w.PeerID); err != nil {
		return nil, fail(req.Action, &ih, "invalid peer_id: %v", err)
	}
	if w.Event != nil {
		req.Event = parseJSONEvent(w.Event)
	}
	if w.Left != nil {
		// read checked that it parses.
		left, _ := strconv.ParseFloat(string(w.Left), 64)
		req.Left = &left
	}

	if w.Answer != nil && !isJSONNull(w.Answer) {
		if !isJSONObject(w.Answer) {
			return nil, fail(req.Action, &ih, "invalid answer: want an object")
		}
		req.Answer = w.Answer
		if req.ToPeerID, err = parseJSONID(w.ToPeerID); err != nil {
			return nil, fail(req.Action, &ih, "invalid to_peer_id: %v", err)
		}
		if req.OfferID, err = parseJSONID(w.OfferID); err != nil {
			return nil, fail(req.Action, &ih, "invalid offer_id: %v", err)
		}
		return req, nil
	}

	if w.NOffers > maxOffers {
		return nil, fail(req.Action, &ih, "too many offers: %d, at most %d", w.NOffers, maxOffers)
	}
	if w.NOffers > 0 {
		req.Offers = make([]offer, 0, w.NOffers)
	}
	for i, o := range w.Offers[:w.NOffers] {
		if !isJSONObject(o.Offer) {
			return nil, fail(req.Action, &ih, "invalid offer %d: want an object", i)
		}
		id, err := parseJSONID(o.OfferID)
		if err != nil {
			return nil, fail(req.Action, &ih, "invalid offer_id of offer %d: %v", i, err)
		}
		req.Offers = append(req.Offers, offer{ID: id, SDP: o.Offer})
	}
	return req, nil
}

var errMissing = errors.New("missing")

// parseJSONInfoHash reads an info hash sent as a binary string.
func parseJSONInfoHash(raw []byte) (infohash.Hash, error) {
	id, err := parseJSONID(raw)
	return infohash.Hash(id), err
}

// parseScrapeHashes accepts one binary string, a list of them, or nothing
// (nil: scrape everything). raw is one JSON value, as wireRequest.read
// gives it.
func parseScrapeHashes(raw []byte) ([]infohash.Hash, error) {
	if len(raw) == 0 || isJSONNull(raw) {
		return nil, nil
	}
	if raw[0] != '[' {
		ih, err := parseJSONInfoHash(raw)
		if err != nil {
			return nil, err
		}
		return []infohash.Hash{ih}, nil
	}
	// An empty list asks for nothing, unlike no list.
	ihs := []infohash.Hash{}
	r := wireReader{b: raw, i: 1}
	r.space()
	if r.peek() == ']' {
		return ihs, nil
	}
	for {
		// raw is valid JSON: each element is one value, then ',' or ']'.
		var elem []byte
		if err := r.value(&elem, 2); err != nil {
			return nil, err
		}
		if isJSONNull(elem) {
			// encoding/json hands ID.UnmarshalJSON the null, which
			// decodes to an empty string.
			return nil, errIDLength
		}
		id, err := parseJSONID(elem)
		if err != nil {
			return nil, err
		}
		ihs = append(ihs, infohash.Hash(id))
		r.space()
		if r.peek() == ']' {
			break
		}
		r.i++ // ,
		r.space()
	}
	if len(ihs) > maxScrapeItems {
		return nil, fmt.Errorf("%d hashes, at most %d", len(ihs), maxScrapeItems)
	}
	return ihs, nil
}

func isJSONNull(raw []byte) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

func isJSONObject(raw []byte) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{'
}

// Replies. Field order and names follow bittorrent-tracker's server. Info
// hashes in them are IDs, the binary-string form the wire takes.

type announceReply struct {
	Action     string `json:"action"`
	Interval   int    `json:"interval"`
	InfoHash   ID     `json:"info_hash"`
	Complete   int    `json:"complete"`
	Incomplete int    `json:"incomplete"`
}

type offerRelay struct {
	Action   string          `json:"action"`
	Offer    json.RawMessage `json:"offer"`
	OfferID  ID              `json:"offer_id"`
	PeerID   ID              `json:"peer_id"`
	InfoHash ID              `json:"info_hash"`
}

type answerRelay struct {
	Action   string          `json:"action"`
	Answer   json.RawMessage `json:"answer"`
	OfferID  ID              `json:"offer_id"`
	PeerID   ID              `json:"peer_id"`
	InfoHash ID              `json:"info_hash"`
}

type scrapeFile struct {
	Complete   int `json:"complete"`
	Incomplete int `json:"incomplete"`
	Downloaded int `json:"downloaded"`
}

type scrapeReply struct {
	Action string                `json:"action"`
	Files  map[string]scrapeFile `json:"files"` // keyed by binary string
	Flags  struct {
		MinRequestInterval int `json:"min_request_interval"`
	} `json:"flags"`
}

type failureReply struct {
	Action   string `json:"action"`
	InfoHash *ID    `json:"info_hash,omitempty"`
	Failure  string `json:"failure reason"`
}
