package webrtc

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TURN credentials that expire: the TURN REST API scheme
// (draft-uberti-behave-turn-rest-00, section 2.2) that coturn checks with
// use-auth-secret and static-auth-secret. The node and the TURN server
// share a secret; a username says until when it is valid, and its password
// is an HMAC of the username under the secret. A page gets a username and
// password good for DefaultTURNTTL, never the secret, so a viewer who
// copies them out of the page can relay for an hour at most.

// DefaultTURNTTL is how long minted TURN credentials last unless
// Config.TURNTTL says otherwise: a page's peer connections are made within
// minutes of loading it, and TURN allocations already made outlive the
// credentials that made them (coturn refreshes them without asking again).
const DefaultTURNTTL = time.Hour

// Labels of minted usernames: pages get one each, random, so that a TURN
// server's per-user quotas count pages apart; the node's own peer
// connections share one.
const (
	pageLabelPrefix = "page-"
	nodeLabel       = "seedcast-node"
)

// Errors of TURN configuration, for callers that name their flags.
var (
	// ErrTURNNoSecret means a TURN server was given without credentials
	// and there is no secret to mint them from.
	ErrTURNNoSecret = errors.New("TURN server without credentials, and no TURN secret to mint them")
	// ErrTURNNoServer means a TURN secret was given but no TURN server to
	// use it with.
	ErrTURNNoServer = errors.New("TURN secret without a TURN server to mint credentials for")
	// ErrTURNServer means a TURN server URL for minted credentials is not
	// a turn: or turns: URL without credentials.
	ErrTURNServer = errors.New("want turn:HOST:PORT or turns:HOST:PORT, without credentials")
)

// TURNUsername returns the username of TURN REST API credentials valid
// until expires: its Unix time in seconds, a colon, and label.
func TURNUsername(expires time.Time, label string) string {
	return strconv.FormatInt(expires.Unix(), 10) + ":" + label
}

// TURNCredential returns the password that a TURN server with
// static-auth-secret secret expects for username:
// base64(HMAC-SHA1(secret, username)).
func TURNCredential(secret, username string) string {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// parseTURNServer reads a turn: or turns: URL without credentials, for
// minted ones.
func parseTURNServer(s string) (string, error) {
	srv, err := ParseICEServer(s)
	if err != nil || !isTURN(srv) || srv.Username != "" || srv.Credential != "" {
		return "", fmt.Errorf("webrtc: TURN server %q: %w", RedactICEServer(s), ErrTURNServer)
	}
	return srv.URLs[0], nil
}

// isTURN reports whether srv is a TURN server rather than a STUN one.
func isTURN(srv ICEServer) bool {
	return len(srv.URLs) > 0 && (strings.HasPrefix(srv.URLs[0], "turn:") || strings.HasPrefix(srv.URLs[0], "turns:"))
}

// turnMinter mints credentials for the TURN servers that share a secret
// with the node.
type turnMinter struct {
	secret string
	ttl    time.Duration
	urls   []string
	now    func() time.Time
}

// mint returns the servers with a username and password valid for the
// minter's TTL from now, made for label.
func (m *turnMinter) mint(label string) ICEServer {
	user := TURNUsername(m.now().Add(m.ttl), label)
	return ICEServer{
		URLs:       append([]string(nil), m.urls...),
		Username:   user,
		Credential: TURNCredential(m.secret, user),
	}
}

// pageLabel returns a fresh random label for a page's credentials.
func pageLabel() string {
	var b [6]byte
	rand.Read(b[:])
	return pageLabelPrefix + hex.EncodeToString(b[:])
}
