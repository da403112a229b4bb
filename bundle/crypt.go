package bundle

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"github.com/seedcast/seedcast/store"
)

// blockBytes is AES's block: the keystream advances one counter value per
// 16 bytes of the file.
const blockBytes = aes.BlockSize

// NewFileKey returns a fresh random key and IV for one gated file, from
// crypto/rand.
func NewFileKey() (store.FileKey, error) {
	var k store.FileKey
	if _, err := rand.Read(k.Key[:]); err != nil {
		return k, fmt.Errorf("bundle: file key: %w", err)
	}
	if _, err := rand.Read(k.IV[:]); err != nil {
		return k, fmt.Errorf("bundle: file key: %w", err)
	}
	return k, nil
}

// DecryptAt XORs src, the bytes of a gated file from offset off, with the
// file's keystream into dst, as store.FileKey defines it: byte n of the
// file is XORed with byte n%16 of AES(key, IV + n/16), the counter
// big-endian over all 128 bits. The same call encrypts. Any offset works,
// on a block boundary or not. dst and src may overlap entirely or not at
// all. It panics, as cipher.Stream does, if dst is shorter than src or
// off is negative.
func DecryptAt(dst, src []byte, key store.FileKey, off int64) {
	b, err := aes.NewCipher(key.Key[:])
	if err != nil {
		// A 32-byte key is always a valid AES-256 key.
		panic("bundle: " + err.Error())
	}
	xorAt(b, key.IV, dst, src, off)
}

// xorAt is DecryptAt with the key's cipher made once by the caller.
func xorAt(b cipher.Block, iv [16]byte, dst, src []byte, off int64) {
	if len(src) == 0 {
		return
	}
	if off < 0 {
		panic("bundle: negative offset")
	}
	if len(dst) < len(src) {
		panic("bundle: output smaller than input")
	}
	s := streamAt(b, iv, off)
	// The stream starts at the block of off; the bytes of that block
	// before off are keystream to skip.
	if skip := int(off % blockBytes); skip > 0 {
		var pad [blockBytes]byte
		n := min(blockBytes-skip, len(src))
		copy(pad[skip:], src[:n])
		s.XORKeyStream(pad[:], pad[:])
		copy(dst[:n], pad[skip:skip+n])
		dst, src = dst[n:], src[n:]
	}
	s.XORKeyStream(dst[:len(src)], src)
}

// streamAt returns the CTR keystream from the block holding byte off:
// counter IV + off/16, with the carry across all 16 bytes, which is how
// crypto/cipher's CTR counts too.
func streamAt(b cipher.Block, iv [16]byte, off int64) cipher.Stream {
	ctr := iv
	add := uint64(off / blockBytes)
	for i := len(ctr) - 1; i >= 0 && add > 0; i-- {
		sum := uint64(ctr[i]) + add&0xff
		ctr[i] = byte(sum)
		add = add>>8 + sum>>8
	}
	return cipher.NewCTR(b, ctr[:])
}

// Reader reads a gated file in plain from its ciphertext, at any offset:
// an io.ReaderAt, and an io.ReadSeeker for http.ServeContent. ReadAt may
// be called concurrently; Read and Seek share one position and may not.
type Reader struct {
	r    io.ReaderAt
	size int64
	b    cipher.Block
	iv   [16]byte
	pos  int64
}

// NewReader returns a Reader of the size bytes of ciphertext in r,
// decrypted with key.
func NewReader(r io.ReaderAt, size int64, key store.FileKey) *Reader {
	b, err := aes.NewCipher(key.Key[:])
	if err != nil {
		panic("bundle: " + err.Error())
	}
	return &Reader{r: r, size: size, b: b, iv: key.IV}
}

// Size returns the length of the file, plain and encrypted alike.
func (r *Reader) Size() int64 { return r.size }

// ReadAt reads len(p) plain bytes from offset off, as io.ReaderAt does:
// fewer only at the end of the file or on an error of the ciphertext's
// reader.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("bundle: negative offset")
	}
	if off >= r.size {
		return 0, io.EOF
	}
	short := false
	if rem := r.size - off; int64(len(p)) > rem {
		p, short = p[:rem], true
	}
	n, err := r.r.ReadAt(p, off)
	xorAt(r.b, r.iv, p[:n], p[:n], off)
	switch {
	case n < len(p) && (err == nil || errors.Is(err, io.EOF)):
		// The ciphertext ends before the size it was said to have.
		return n, io.ErrUnexpectedEOF
	case n < len(p):
		return n, err
	case short:
		return n, io.EOF
	}
	return n, nil
}

// Read reads the plain bytes at the current position.
func (r *Reader) Read(p []byte) (int, error) {
	if r.pos >= r.size {
		return 0, io.EOF
	}
	n, err := r.ReadAt(p, r.pos)
	r.pos += int64(n)
	if errors.Is(err, io.EOF) && n > 0 {
		err = nil
	}
	return n, err
}

// Seek sets the position of Read, as io.Seeker does.
func (r *Reader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.pos
	case io.SeekEnd:
		offset += r.size
	default:
		return 0, errors.New("bundle: seek: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("bundle: seek before the start")
	}
	r.pos = offset
	return offset, nil
}

// SeekReader decrypts a ciphertext io.ReadSeeker as it reads, at the
// position it reads from: for a reader whose position matters, such as a
// torrent's file reader, which fetches the pieces from its read position
// first. Reader needs an io.ReaderAt instead.
type SeekReader struct {
	rs  io.ReadSeeker
	b   cipher.Block
	iv  [16]byte
	pos int64
}

// NewSeekReader returns a SeekReader of the gated file whose ciphertext
// rs reads, decrypted with key, from rs's current position.
func NewSeekReader(rs io.ReadSeeker, key store.FileKey) (*SeekReader, error) {
	pos, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	b, err := aes.NewCipher(key.Key[:])
	if err != nil {
		panic("bundle: " + err.Error())
	}
	return &SeekReader{rs: rs, b: b, iv: key.IV, pos: pos}, nil
}

// Read reads and decrypts the bytes at the position.
func (r *SeekReader) Read(p []byte) (int, error) {
	n, err := r.rs.Read(p)
	xorAt(r.b, r.iv, p[:n], p[:n], r.pos)
	r.pos += int64(n)
	return n, err
}

// Seek moves the underlying reader, and so the keystream with it.
func (r *SeekReader) Seek(offset int64, whence int) (int64, error) {
	pos, err := r.rs.Seek(offset, whence)
	if err != nil {
		return pos, err
	}
	r.pos = pos
	return pos, nil
}
