package bundle

import (
	"context"
	"crypto/aes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Errors of Unlock that callers tell apart.
var (
	// ErrWrongKey means a file did not decrypt to the plain bytes whose
	// SHA-256 the key file gives: the key file is for another bundle or
	// another making of it, or the download is damaged.
	ErrWrongKey = errors.New("the key file does not decrypt this file")
	// ErrIncomplete means a gated file is missing from the download, or
	// not yet of its full length.
	ErrIncomplete = errors.New("not completely downloaded")
)

// UnlockConfig says what Unlock decrypts and where to.
type UnlockConfig struct {
	// Keys is the bundle's key file (required).
	Keys *KeyFile
	// Dir is what a BitTorrent client downloaded: the torrent's folder,
	// named after the bundle's id, or the folder that holds it
	// (required).
	Dir string
	// Out is where the plain files go, under Out/ID/ with their paths in
	// the torrent (required). It may not overlap the downloaded folder.
	Out string
	// Force overwrites plain files that exist.
	Force bool
	// Logger receives the logs; nil means slog.Default().
	Logger *slog.Logger
}

// Unlocked is what Unlock wrote.
type Unlocked struct {
	// From is the torrent's folder found in Dir.
	From string
	// Dir is Out/ID.
	Dir string
	// Files are the plain files written, each a path under Dir.
	Files []string
}

// Unlock decrypts the gated files of a downloaded bundle with its key
// file into plain files, each checked against its SHA-256 before it
// takes its name (a wrong key leaves nothing behind and wraps
// ErrWrongKey). Free files are plain already and stay where they were
// downloaded. Existing plain files are overwritten only with Force; a
// missing or partial download wraps ErrIncomplete; both are checked for
// every file before any is written.
func Unlock(ctx context.Context, cfg UnlockConfig) (*Unlocked, error) {
	kf := cfg.Keys
	switch {
	case kf == nil:
		return nil, errors.New("bundle: unlock: no key file")
	case cfg.Dir == "":
		return nil, errors.New("bundle: unlock: no Dir")
	case cfg.Out == "":
		return nil, errors.New("bundle: unlock: no Out")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	paths := slices.Sorted(maps.Keys(kf.Files))
	rel := func(p string) string { return filepath.FromSlash(strings.TrimPrefix(p, kf.Bundle+"/")) }
	from, err := findContent(cfg.Dir, kf, paths, rel)
	if err != nil {
		return nil, err
	}
	res := &Unlocked{From: from, Dir: filepath.Join(cfg.Out, kf.Bundle)}
	if err := checkUnlockOut(from, res.Dir); err != nil {
		return nil, err
	}
	// Every file is checked before any is written: an unlock that fails
	// half-way through would leave the reader guessing what is done.
	var errs []error
	for _, p := range paths {
		e := kf.Files[p]
		src, dst := filepath.Join(from, rel(p)), filepath.Join(res.Dir, rel(p))
		fi, err := os.Stat(src)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			errs = append(errs, fmt.Errorf("%s: %w: it is missing; let the client finish downloading the bundle", src, ErrIncomplete))
		case err != nil:
			errs = append(errs, err)
		case !fi.Mode().IsRegular():
			errs = append(errs, fmt.Errorf("%s is not a regular file", src))
		case fi.Size() != e.Length:
			errs = append(errs, fmt.Errorf("%s: %w: %d bytes of %d; let the client finish downloading the bundle", src, ErrIncomplete, fi.Size(), e.Length))
		}
		if _, err := os.Lstat(dst); err == nil && !cfg.Force {
			errs = append(errs, fmt.Errorf("%w: %w", ErrExists, &fs.PathError{Op: "write", Path: dst, Err: fs.ErrExist}))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("bundle: unlock %s: %w", kf.Bundle, errors.Join(errs...))
	}
	buf := make([]byte, copyBufBytes)
	for _, p := range paths {
		src, dst := filepath.Join(from, rel(p)), filepath.Join(res.Dir, rel(p))
		if err := decryptFile(ctx, src, dst, kf.Files[p], buf); err != nil {
			return res, fmt.Errorf("bundle: unlock %s: %w", p, err)
		}
		res.Files = append(res.Files, dst)
		log.Info("unlocked", "bundle", kf.Bundle, "path", p, "bytes", kf.Files[p].Length)
	}
	return res, nil
}

// findContent finds the torrent's folder in dir: dir/ID, or dir itself,
// whichever holds a gated file of the bundle.
func findContent(dir string, kf *KeyFile, paths []string, rel func(string) string) (string, error) {
	for _, c := range []string{filepath.Join(dir, kf.Bundle), dir} {
		for _, p := range paths {
			if _, err := os.Stat(filepath.Join(c, rel(p))); err == nil {
				return c, nil
			}
		}
	}
	return "", fmt.Errorf("bundle: unlock: %w: no gated file of bundle %s in %s (nor in %s); give the folder the client downloaded the bundle into: the one named %s, or the folder that holds it",
		ErrIncomplete, kf.Bundle, dir, filepath.Join(dir, kf.Bundle), kf.Bundle)
}

// checkUnlockOut refuses plain files written over or among the downloaded
// ones: the client would find its pieces broken, or seed the plain bytes.
func checkUnlockOut(from, out string) error {
	f, err := realPath(from)
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	o, err := realPath(out)
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	if within(o, f) || within(f, o) {
		return fmt.Errorf("bundle: unlock: the plain files would go to %s, over or among the downloaded ones in %s; write them elsewhere (-o)", out, from)
	}
	return nil
}

// decryptFile writes src decrypted to dst through a temporary file beside
// it, which takes dst's name only if its SHA-256 is e's.
func decryptFile(ctx context.Context, src, dst string, e KeyFileEntry, buf []byte) error {
	want, _ := hex.DecodeString(e.SHA256) // checked by ParseKeyFile
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".unlock-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // nothing left once renamed
	defer tmp.Close()
	key := e.FileKey()
	b, err := aes.NewCipher(key.Key[:])
	if err != nil {
		return err
	}
	s := streamAt(b, key.IV, 0)
	h := sha256.New()
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		k, rerr := in.Read(buf)
		if k > 0 {
			s.XORKeyStream(buf[:k], buf[:k])
			h.Write(buf[:k])
			if _, err := tmp.Write(buf[:k]); err != nil {
				return err
			}
			n += int64(k)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	if n != e.Length {
		return fmt.Errorf("%s: %w: %d bytes of %d", src, ErrIncomplete, n, e.Length)
	}
	if got := h.Sum(nil); !slices.Equal(got, want) {
		return fmt.Errorf("%s: %w: the plain file's SHA-256 is not the key file's; the key file is for another bundle, or for another making of this one (ask the node for a new one), or the download is damaged (have the client recheck it)", src, ErrWrongKey)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}
