package testnet

import (
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// File is a file that a test seeds or moves: its path, its size and, when
// known, its SHA-256.
type File struct {
	Path   string
	Size   int64
	SHA256 string // hex; "" when not computed
}

// WriteRandomFile writes size bytes from ChaCha8 with a fixed seed to
// random.bin in a fresh temporary directory of tb, so that every run moves
// the same bytes and no two pieces of a torrent of it match, and returns it
// with its SHA-256. It fails tb if it cannot.
func WriteRandomFile(tb testing.TB, size int64) File {
	tb.Helper()
	var seed [32]byte
	copy(seed[:], "seedcast test random file")
	buf := make([]byte, size)
	rand.NewChaCha8(seed).Read(buf)
	p := filepath.Join(tb.TempDir(), "random.bin")
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		tb.Fatal(err)
	}
	sum := sha256.Sum256(buf)
	return File{Path: p, Size: size, SHA256: hex.EncodeToString(sum[:])}
}
