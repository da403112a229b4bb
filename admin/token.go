package admin

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// TokenFile is the name of the file in the data dir that holds the token
// made when none is given.
const TokenFile = "admin_token"

// Token lengths: a made token is 32 random bytes (256 bits), base64url;
// a given one must have at least minTokenLen characters.
const (
	tokenBytes  = 32
	minTokenLen = 16
	maxTokenLen = 512
)

// CheckToken checks that token is a bearer token: minTokenLen to
// maxTokenLen characters of RFC 6750's b64token (letters, digits and
// -._~+/, then = for padding).
func CheckToken(token string) error {
	if len(token) < minTokenLen || len(token) > maxTokenLen {
		return fmt.Errorf("want %d to %d characters, got %d", minTokenLen, maxTokenLen, len(token))
	}
	body := strings.TrimRight(token, "=")
	for _, c := range body {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune("-._~+/", c)) {
			return errors.New("want letters, digits and -._~+/ only (RFC 6750 b64token)")
		}
	}
	if body == "" {
		return errors.New("want letters or digits")
	}
	return nil
}

// LoadToken returns the token kept in dir's TokenFile, making one first if
// there is none; created says it did. The file is the owner's alone (mode
// 0600): LoadToken refuses one that others may read. Two processes
// starting at once get the same token: the file is created by linking a
// complete one into place, which fails if another got there first.
func LoadToken(dir string) (token string, created bool, err error) {
	p := filepath.Join(dir, TokenFile)
	token, err = readToken(p)
	if !errors.Is(err, fs.ErrNotExist) {
		return token, false, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", false, err
	}
	b := make([]byte, tokenBytes)
	rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	f, err := os.CreateTemp(dir, ".tmp-token-*") // mode 0600
	if err != nil {
		return "", false, err
	}
	defer os.Remove(f.Name())
	_, err = f.WriteString(token + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", false, fmt.Errorf("writing %s: %w", p, err)
	}
	if err := os.Link(f.Name(), p); err != nil {
		if errors.Is(err, fs.ErrExist) {
			token, err = readToken(p)
			return token, false, err
		}
		return "", false, fmt.Errorf("writing %s: %w", p, err)
	}
	return token, true, nil
}

// readToken reads and checks a token file.
func readToken(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%s may be read by others (mode %04o): chmod 600 it, or set --admin-token or SEEDCAST_ADMIN_TOKEN", p, fi.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, maxTokenLen+2))
	if err != nil {
		return "", err
	}
	token := strings.TrimSpace(string(b))
	if err := CheckToken(token); err != nil {
		return "", fmt.Errorf("%s: not a token (%v): remove it to have a new one made, or set --admin-token or SEEDCAST_ADMIN_TOKEN", p, err)
	}
	return token, nil
}
