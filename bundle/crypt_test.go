package bundle

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seedcast/seedcast/store"
)

// ctrFromStart is the independent computation: crypto/cipher's CTR
// stream from the start of the file, as an encrypting tool would run it.
func ctrFromStart(t *testing.T, key store.FileKey, plain []byte) []byte {
	t.Helper()
	b, err := aes.NewCipher(key.Key[:])
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, len(plain))
	cipher.NewCTR(b, key.IV[:]).XORKeyStream(out, plain)
	return out
}

func randomKey(r *rand.Rand) store.FileKey {
	var k store.FileKey
	for i := range k.Key {
		k.Key[i] = byte(r.Uint32())
	}
	for i := range k.IV {
		k.IV[i] = byte(r.Uint32())
	}
	return k
}

func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDecryptAtNIST checks the keystream against NIST SP 800-38A F.5.5
// (CTR-AES256.Encrypt), whose counter carries out of its last byte
// between the first and second block, at every offset into the vector.
func TestDecryptAtNIST(t *testing.T) {
	var key store.FileKey
	copy(key.Key[:], unhex(t, "603deb1015ca71be2b73aef0857d7781 1f352c073b6108d72d9810a30914dff4"))
	copy(key.IV[:], unhex(t, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"))
	plain := unhex(t, "6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51"+
		"30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710")
	ct := unhex(t, "601ec313775789a5b7a7f504bbf3d228 f443e3ca4d62b59aca84e990cacaf5c5"+
		"2b0930daa23de94ce87017ba2d84988d dfc9c58db67aada613c2dd08457941a6")
	for off := range len(plain) {
		for end := off; end <= len(plain); end++ {
			got := make([]byte, end-off)
			DecryptAt(got, plain[off:end], key, int64(off))
			if !bytes.Equal(got, ct[off:end]) {
				t.Fatalf("encrypt [%d:%d] = %x, want %x", off, end, got, ct[off:end])
			}
		}
	}
}

// TestDecryptAtRandom decrypts random ranges of a random file, at
// offsets on block boundaries and off them, against the whole file
// encrypted in one pass; the IVs include ones whose counter carries
// across 64 bits and wraps around 128.
func TestDecryptAtRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ivs := map[string]string{
		"random":    "",
		"carry 64":  "0123456789abcdef fffffffffffffffd",
		"wrap 128":  "ffffffffffffffff fffffffffffffffe",
		"zero":      "00000000000000000000000000000000",
		"carry 8/9": "00000000000000fe ffffffffffffffff",
	}
	for name, iv := range ivs {
		t.Run(name, func(t *testing.T) {
			key := randomKey(r)
			if iv != "" {
				copy(key.IV[:], unhex(t, iv))
			}
			plain := randomBytes(r, 70_000)
			ct := ctrFromStart(t, key, plain)
			for range 500 {
				off := r.IntN(len(plain))
				if r.IntN(4) == 0 {
					off -= off % 16
				}
				n := r.IntN(min(len(plain)-off, 5000) + 1)
				got := make([]byte, n)
				DecryptAt(got, ct[off:off+n], key, int64(off))
				if !bytes.Equal(got, plain[off:off+n]) {
					t.Fatalf("decrypt %d bytes at %d differs", n, off)
				}
				// In place, as the Reader does it.
				in := bytes.Clone(plain[off : off+n])
				DecryptAt(in, in, key, int64(off))
				if !bytes.Equal(in, ct[off:off+n]) {
					t.Fatalf("encrypt in place %d bytes at %d differs", n, off)
				}
			}
		})
	}
}

func TestDecryptAtLargeOffset(t *testing.T) {
	// An offset past 4 GiB and one near the top of int64: the counter
	// is added over 128 bits, not 32.
	r := rand.New(rand.NewPCG(3, 4))
	key := randomKey(r)
	copy(key.IV[:], unhex(t, "00000000000000000000000000000000"))
	for _, off := range []int64{5 << 30, 1<<62 + 7} {
		// At offset off, the keystream is AES(key, off/16) from byte off%16.
		b, _ := aes.NewCipher(key.Key[:])
		var ctr, ks [16]byte
		blk := uint64(off / 16)
		for i := range 8 {
			ctr[15-i] = byte(blk >> (8 * i))
		}
		b.Encrypt(ks[:], ctr[:])
		got := make([]byte, 16-off%16)
		DecryptAt(got, make([]byte, len(got)), key, off)
		if !bytes.Equal(got, ks[off%16:]) {
			t.Errorf("keystream at %d = %x, want %x", off, got, ks[off%16:])
		}
	}
}

func TestReader(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	key := randomKey(r)
	plain := randomBytes(r, 100_003)
	ct := ctrFromStart(t, key, plain)
	rd := NewReader(bytes.NewReader(ct), int64(len(ct)), key)
	if rd.Size() != int64(len(plain)) {
		t.Fatalf("size %d", rd.Size())
	}

	t.Run("ReadAt concurrently", func(t *testing.T) {
		var wg sync.WaitGroup
		for w := range 4 {
			rr := rand.New(rand.NewPCG(uint64(w), 7))
			wg.Go(func() {
				for range 200 {
					off := rr.IntN(len(plain))
					p := make([]byte, rr.IntN(9000))
					n, err := rd.ReadAt(p, int64(off))
					want := min(len(p), len(plain)-off)
					if n != want || !bytes.Equal(p[:n], plain[off:off+n]) {
						t.Errorf("ReadAt(%d bytes, %d) = %d, want %d bytes of the plain file", len(p), off, n, want)
						return
					}
					if n < len(p) && err != io.EOF || n == len(p) && err != nil && err != io.EOF {
						t.Errorf("ReadAt(%d bytes, %d) error %v", len(p), off, err)
					}
				}
			})
		}
		wg.Wait()
	})

	t.Run("past the end", func(t *testing.T) {
		p := make([]byte, 10)
		if n, err := rd.ReadAt(p, int64(len(plain))); n != 0 || err != io.EOF {
			t.Errorf("ReadAt at the end: %d, %v", n, err)
		}
		if _, err := rd.ReadAt(p, -1); err == nil {
			t.Error("ReadAt at -1: no error")
		}
	})

	t.Run("Seek and Read", func(t *testing.T) {
		for _, c := range []struct {
			off    int64
			whence int
			want   int64
		}{{12345, io.SeekStart, 12345}, {-17, io.SeekEnd, int64(len(plain)) - 17}, {1, io.SeekCurrent, int64(len(plain)) - 16}} {
			pos, err := rd.Seek(c.off, c.whence)
			if err != nil || pos != c.want {
				t.Fatalf("Seek(%d, %d) = %d, %v; want %d", c.off, c.whence, pos, err, c.want)
			}
			got, err := io.ReadAll(io.LimitReader(rd, 777))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, plain[pos:min(pos+777, int64(len(plain)))]) {
				t.Errorf("read after Seek(%d, %d) differs", c.off, c.whence)
			}
			if _, err := rd.Seek(pos, io.SeekStart); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := rd.Seek(-1, io.SeekStart); err == nil {
			t.Error("Seek before the start: no error")
		}
		rd.Seek(0, io.SeekStart)
		all, err := io.ReadAll(rd)
		if err != nil || !bytes.Equal(all, plain) {
			t.Errorf("ReadAll: %d bytes, %v", len(all), err)
		}
	})

	t.Run("short ciphertext", func(t *testing.T) {
		short := NewReader(bytes.NewReader(ct[:1000]), int64(len(ct)), key)
		p := make([]byte, 100)
		n, err := short.ReadAt(p, 950)
		if n != 50 || !errors.Is(err, io.ErrUnexpectedEOF) || !bytes.Equal(p[:n], plain[950:1000]) {
			t.Errorf("ReadAt over the end of the ciphertext: %d, %v", n, err)
		}
	})

	t.Run("http.ServeContent", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			http.ServeContent(w, req, "episode.mp4", time.Time{}, NewReader(bytes.NewReader(ct), int64(len(ct)), key))
		}))
		defer srv.Close()
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.Header.Set("Range", "bytes=50001-60000")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusPartialContent || !bytes.Equal(body, plain[50001:60001]) {
			t.Errorf("range: status %d, %d bytes, plain %v", res.StatusCode, len(body), bytes.Equal(body, plain[50001:60001]))
		}
	})
}

func TestSeekReader(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	key := randomKey(r)
	plain := randomBytes(r, 50_001)
	ct := ctrFromStart(t, key, plain)
	under := bytes.NewReader(ct)
	under.Seek(100, io.SeekStart)
	sr, err := NewSeekReader(under, key)
	if err != nil {
		t.Fatal(err)
	}
	// From where the reader was.
	p := make([]byte, 33)
	if n, err := io.ReadFull(sr, p); n != 33 || err != nil || !bytes.Equal(p, plain[100:133]) {
		t.Fatalf("read at 100: %d, %v", n, err)
	}
	for range 200 {
		off := int64(r.IntN(len(plain)))
		pos, err := sr.Seek(off, io.SeekStart)
		if err != nil || pos != off {
			t.Fatalf("Seek(%d) = %d, %v", off, pos, err)
		}
		got, err := io.ReadAll(io.LimitReader(sr, int64(r.IntN(3000))))
		if err != nil || !bytes.Equal(got, plain[off:off+int64(len(got))]) {
			t.Fatalf("read %d bytes at %d differs (%v)", len(got), off, err)
		}
	}
	if pos, err := sr.Seek(-10, io.SeekEnd); err != nil || pos != int64(len(plain))-10 {
		t.Fatalf("Seek(-10, end) = %d, %v", pos, err)
	}
	if tail, _ := io.ReadAll(sr); !bytes.Equal(tail, plain[len(plain)-10:]) {
		t.Error("tail differs")
	}
}

func TestNewFileKey(t *testing.T) {
	a, err := NewFileKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewFileKey()
	if err != nil {
		t.Fatal(err)
	}
	if a == b || a.Key == [32]byte{} || a.IV == [16]byte{} {
		t.Errorf("keys not fresh: %x %x", a.Key[:4], b.Key[:4])
	}
}
