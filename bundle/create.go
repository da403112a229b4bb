// Package bundle makes bundles: a folder of files with a manifest
// (bundle.toml) saying which are free and which are behind a gate becomes
// the content of one v1 torrent, the free files as they are and each
// gated file encrypted with a key of its own, seekably (AES-256-CTR, as
// store.FileKey defines it). The piece hashes cover the ciphertext, so
// that anyone can seed a bundle without its keys; the keys go to a Keeper
// (the node's store) and, once a gate is passed, to the viewer in a key
// file, with which Unlock writes the plain files.
package bundle

import (
	"context"
	"crypto/aes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/seedcast/seedcast/infohash"
	"github.com/seedcast/seedcast/store"
)

// Keeper keeps a bundle and the keys of its gated files: the node's
// store. The keys are by store.BundleFile.Path, the torrent's name first.
type Keeper interface {
	PutBundle(ctx context.Context, b store.Bundle, keys map[string]store.FileKey) error
}

// ErrExists means Create or Unlock would replace what is there; Force
// allows it. The error wraps an *fs.PathError naming the path.
var ErrExists = errors.New("bundle: output exists")

// Config says what Create makes a bundle of, where it writes it, and
// where it keeps the keys.
type Config struct {
	// Dir is the bundle's folder, with bundle.toml (required).
	Dir string
	// Out is where the torrent's content (Out/ID/) and its .torrent
	// (Out/ID.torrent) go (required). It may not be inside Dir.
	Out string
	// Force replaces Out/ID and Out/ID.torrent if they exist.
	Force bool
	// Keeper keeps the bundle and its keys (required).
	Keeper Keeper
	// MakeTorrent hashes the content folder into a v1 torrent, writes it
	// to torrentFile (which does not exist), and returns its info hash
	// (required). The content folder is what `seedcast serve` seeds, and
	// hashing it there must give the same info hash.
	MakeTorrent func(ctx context.Context, contentDir, torrentFile string) (infohash.Hash, error)
	// Logger receives the logs; nil means slog.Default(). Keys are never
	// logged.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Result is what Create made.
type Result struct {
	Bundle store.Bundle
	// ContentDir is Out/ID, the torrent's content: what serve seeds.
	ContentDir string
	// TorrentFile is Out/ID.torrent.
	TorrentFile string
}

// Create reads the bundle in cfg.Dir, writes its content (free files
// hard-linked where they can be, else copied; gated files encrypted with
// fresh keys) to cfg.Out/ID, has cfg.MakeTorrent make its torrent, and
// gives the bundle and its keys to cfg.Keeper. If keeping fails, the
// content and torrent are removed: without their keys they are of no use.
func Create(ctx context.Context, cfg Config) (*Result, error) {
	switch {
	case cfg.Dir == "":
		return nil, errors.New("bundle: create: no Dir")
	case cfg.Out == "":
		return nil, errors.New("bundle: create: no Out")
	case cfg.Keeper == nil:
		return nil, errors.New("bundle: create: no Keeper")
	case cfg.MakeTorrent == nil:
		return nil, errors.New("bundle: create: no MakeTorrent")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	now := time.Now
	if cfg.Now != nil {
		now = cfg.Now
	}
	m, err := LoadManifest(cfg.Dir)
	if err != nil {
		return nil, err
	}
	if c := m.Campaign; c != nil && !c.Ends.IsZero() && !c.Ends.After(now()) {
		return nil, fmt.Errorf("bundle: %s:\n%w", cfg.Dir, &ManifestError{Line: m.lines.line("campaign.ends", 0),
			Msg: fmt.Sprintf("the campaign ends %s, which is past; write a later date, or remove [campaign]", c.Ends.Format(time.RFC3339))})
	}
	out, err := filepath.Abs(cfg.Out)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	res := &Result{ContentDir: filepath.Join(out, m.ID), TorrentFile: filepath.Join(out, m.ID+".torrent")}
	if err := checkOut(cfg.Dir, res.ContentDir); err != nil {
		return nil, err
	}
	for _, p := range []string{res.ContentDir, res.TorrentFile} {
		if _, err := os.Lstat(p); err == nil && !cfg.Force {
			return nil, fmt.Errorf("%w: %w", ErrExists, &fs.PathError{Op: "write", Path: p, Err: fs.ErrExist})
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}

	// The content is written beside its place under a hidden name, which
	// a walk of Out leaves out, and moved there whole.
	tmp, err := os.MkdirTemp(out, "."+m.ID+".tmp-")
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	defer os.RemoveAll(tmp) // nothing left once renamed
	files, keys, err := writeContent(ctx, cfg.Dir, tmp, m, log)
	if err != nil {
		return nil, err
	}
	if cfg.Force {
		if err := os.RemoveAll(res.ContentDir); err != nil {
			return nil, fmt.Errorf("bundle: replace %s: %w", res.ContentDir, err)
		}
		if err := os.Remove(res.TorrentFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("bundle: replace %s: %w", res.TorrentFile, err)
		}
	}
	if err := os.Rename(tmp, res.ContentDir); err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	undo := func() {
		os.RemoveAll(res.ContentDir)
		os.Remove(res.TorrentFile)
	}
	ih, err := cfg.MakeTorrent(ctx, res.ContentDir, res.TorrentFile)
	if err != nil {
		undo()
		return nil, err
	}
	res.Bundle = store.Bundle{
		ID:          m.ID,
		Title:       m.Title,
		Artist:      m.Artist,
		Description: m.Description,
		InfoHash:    ih,
		Files:       files,
		Campaign:    m.Campaign,
		Created:     now().UTC(),
	}
	if m.Poster != "" {
		res.Bundle.Poster = contentPath(m.ID, m.Poster)
	}
	if err := cfg.Keeper.PutBundle(ctx, res.Bundle, keys); err != nil {
		undo()
		return nil, fmt.Errorf("bundle: keep %s and its keys: %w", m.ID, err)
	}
	log.Info("bundle made", "bundle", m.ID, "infohash", ih, "files", len(files), "gated", len(keys))
	return res, nil
}

// checkOut refuses a content folder that is the bundle's folder, inside
// it, or holds it: replacing it would delete the artist's files, and
// writing into it would put the output among the files to publish.
func checkOut(dir, content string) error {
	d, err := realPath(dir)
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	c, err := realPath(content)
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	if within(c, d) || within(d, c) {
		return fmt.Errorf("bundle: the output %s and the bundle's folder %s overlap; write the output outside the bundle's folder (-o)", content, dir)
	}
	return nil
}

// realPath is p absolute with symlinks resolved, as far as it exists.
func realPath(p string) (string, error) {
	p, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	var rest []string
	for {
		r, err := filepath.EvalSymlinks(p)
		if err == nil {
			return filepath.Join(append([]string{r}, rest...)...), nil
		}
		parent := filepath.Dir(p)
		if parent == p || !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		rest = append([]string{filepath.Base(p)}, rest...)
		p = parent
	}
}

// within reports whether p is base or below it.
func within(p, base string) bool {
	rel, err := filepath.Rel(base, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// writeContent writes the bundle's files into tmp and returns them as the
// store lists them, with the keys of the gated ones.
func writeContent(ctx context.Context, dir, tmp string, m *Manifest, log *slog.Logger) ([]store.BundleFile, map[string]store.FileKey, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("bundle: %w", err)
	}
	defer root.Close()
	files := make([]store.BundleFile, 0, len(m.Files))
	keys := make(map[string]store.FileKey)
	buf := make([]byte, copyBufBytes)
	for _, f := range m.Files {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		dst := filepath.Join(tmp, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, nil, fmt.Errorf("bundle: %w", err)
		}
		bf := store.BundleFile{Path: contentPath(m.ID, f.Path), Gate: f.Gate}
		if !f.Gated() {
			n, err := linkOrCopy(ctx, root, dir, f.Path, dst, buf)
			if err != nil {
				return nil, nil, fmt.Errorf("bundle: %s: %w", f.Path, err)
			}
			bf.Length = n
			files = append(files, bf)
			continue
		}
		key, err := NewFileKey()
		if err != nil {
			return nil, nil, err
		}
		n, sum, err := encryptFile(ctx, root, f.Path, dst, key, buf)
		if err != nil {
			return nil, nil, fmt.Errorf("bundle: encrypt %s: %w", f.Path, err)
		}
		bf.Length, bf.PlainSHA256 = n, sum
		files = append(files, bf)
		keys[bf.Path] = key
		log.Info("encrypted", "bundle", m.ID, "path", f.Path, "bytes", n, "gate", f.Gate.Kind)
	}
	return files, keys, nil
}

// copyBufBytes is the buffer files are copied and encrypted through.
const copyBufBytes = 1 << 20

// linkOrCopy puts the free file at name of root at dst: a hard link when
// the file is a regular file on the same file system (instant, no second
// copy of a film; the seed only ever reads it), else a copy.
func linkOrCopy(ctx context.Context, root *os.Root, dir, name, dst string, buf []byte) (int64, error) {
	src := filepath.Join(dir, filepath.FromSlash(name))
	// A symlink is copied, not linked: a link to the symlink would be a
	// symlink in the content, which torrents leave out.
	if li, err := root.Lstat(name); err == nil && li.Mode().IsRegular() {
		if err := os.Link(src, dst); err == nil {
			return li.Size(), nil
		}
	}
	in, err := root.Open(name)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, err
	}
	n, err := io.CopyBuffer(out, ctxReader{ctx, in}, buf)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// encryptFile writes the file at name of root to dst encrypted with key,
// and returns its length and the SHA-256 of its plain bytes.
func encryptFile(ctx context.Context, root *os.Root, name, dst string, key store.FileKey, buf []byte) (int64, [32]byte, error) {
	var sum [32]byte
	in, err := root.Open(name)
	if err != nil {
		return 0, sum, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, sum, err
	}
	defer out.Close()
	b, err := aes.NewCipher(key.Key[:])
	if err != nil {
		return 0, sum, err
	}
	s := streamAt(b, key.IV, 0)
	h := sha256.New()
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return 0, sum, err
		}
		k, rerr := in.Read(buf)
		if k > 0 {
			h.Write(buf[:k])
			s.XORKeyStream(buf[:k], buf[:k])
			if _, err := out.Write(buf[:k]); err != nil {
				return 0, sum, err
			}
			n += int64(k)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return 0, sum, rerr
		}
	}
	if err := out.Close(); err != nil {
		return 0, sum, err
	}
	h.Sum(sum[:0])
	return n, sum, nil
}

// ctxReader stops a copy when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
