package gate

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"strings"
	"time"
)

// A session is a viewer's browser, named by a random id in a cookie that
// the node signs with its secret (store.Secret, shared by the nodes of
// one database): the cookie is the id, its expiry and an HMAC of both.
// What a session unlocked lives in the store, so that it survives a
// restart and holds on every node sharing the database.

const (
	sessionCookie = "seedcast_session"
	sessionIDLen  = 16
	sessionMACLen = 16
)

// session returns r's session id, if r carries a cookie the node signed
// and it has not expired.
func (s *Server) session(r *http.Request) (string, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || len(c.Value) > 128 {
		return "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || len(raw) != sessionIDLen+8+sessionMACLen {
		return "", false
	}
	secret, err := s.cfg.Store.Secret(r.Context())
	if err != nil {
		s.log.Error("session secret", "err", err)
		return "", false
	}
	body, mac := raw[:sessionIDLen+8], raw[sessionIDLen+8:]
	if !hmac.Equal(mac, sign(secret, body)) {
		return "", false
	}
	expires := time.Unix(int64(binary.BigEndian.Uint64(body[sessionIDLen:])), 0)
	if !s.cfg.Now().Before(expires) {
		return "", false
	}
	return hex.EncodeToString(body[:sessionIDLen]), true
}

// ensureSession returns r's session id, making a new session and setting
// its cookie on w if r has none.
func (s *Server) ensureSession(w http.ResponseWriter, r *http.Request) (string, error) {
	if id, ok := s.session(r); ok {
		return id, nil
	}
	secret, err := s.cfg.Store.Secret(r.Context())
	if err != nil {
		return "", err
	}
	body := make([]byte, sessionIDLen+8)
	rand.Read(body[:sessionIDLen])
	expires := s.cfg.Now().Add(s.cfg.SessionTTL)
	binary.BigEndian.PutUint64(body[sessionIDLen:], uint64(expires.Unix()))
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    base64.RawURLEncoding.EncodeToString(append(body, sign(secret, body)...)),
		Path:     "/",
		Expires:  expires,
		HttpOnly: true,
		Secure:   strings.HasPrefix(s.cfg.PublicURL, "https://"),
		SameSite: http.SameSiteLaxMode,
	})
	return hex.EncodeToString(body[:sessionIDLen]), nil
}

func sign(secret, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("seedcast session\x00"))
	m.Write(body)
	return m.Sum(nil)[:sessionMACLen]
}
