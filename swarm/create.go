package swarm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

// Piece lengths. Browsers fetch and verify a whole piece before the first
// frame shows, so pieces stay at most 1 MiB (notes/webtorrent-interop.md
// 2.4); below 64 KiB the hashes outweigh the gain.
const (
	minPieceLen    = 64 << 10
	maxPieceLen    = 1 << 20
	targetPieceNum = 1500
)

// PieceLength returns the piece length for content of totalBytes: the
// smallest power of two from 64 KiB to 1 MiB that keeps the piece count
// near 1500.
func PieceLength(totalBytes int64) int64 {
	pl := int64(minPieceLen)
	for pl < maxPieceLen && totalBytes/pl > targetPieceNum {
		pl *= 2
	}
	return pl
}

// source is a file or folder to seed in place, with what was seen of its
// files when it was walked.
type source struct {
	root  string // absolute path of the file or folder
	files []sourceFile
}

type sourceFile struct {
	rel   []string // path components below root; empty when root is a file
	size  int64
	mtime time.Time
}

// walkSource lists the regular files of root in the order BEP 3 torrents
// list them (sorted by path). Hidden files (".name") and symlinks are left
// out, so that an editor's droppings do not change the info hash.
func walkSource(root string) (*source, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	src := &source{root: root}
	if fi.Mode().IsRegular() {
		src.files = []sourceFile{{size: fi.Size(), mtime: fi.ModTime()}}
		return src, nil
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is neither a file nor a folder", root)
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		src.files = append(src.files, sourceFile{rel: strings.Split(rel, string(filepath.Separator)), size: info.Size(), mtime: info.ModTime()})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(src.files) == 0 {
		return nil, fmt.Errorf("%s has no files to seed", root)
	}
	slices.SortFunc(src.files, func(a, b sourceFile) int {
		return strings.Compare(strings.Join(a.rel, "/"), strings.Join(b.rel, "/"))
	})
	return src, nil
}

func (src *source) totalBytes() int64 {
	var n int64
	for _, f := range src.files {
		n += f.size
	}
	return n
}

// signature identifies the content as walked: paths, sizes and modification
// times. A changed signature means the info must be built again.
func (src *source) signature() string {
	var b strings.Builder
	for _, f := range src.files {
		fmt.Fprintf(&b, "%s\x00%d\x00%d\n", strings.Join(f.rel, "/"), f.size, f.mtime.UnixNano())
	}
	return b.String()
}

// buildInfo hashes src into a v1 info dictionary, showing its progress on
// meter.
func buildInfo(ctx context.Context, src *source, log *slog.Logger, meter Meter) (*metainfo.Info, error) {
	info := &metainfo.Info{
		Name:        filepath.Base(src.root),
		PieceLength: PieceLength(src.totalBytes()),
	}
	if len(src.files) == 1 && len(src.files[0].rel) == 0 {
		info.Length = src.files[0].size
	} else {
		for _, f := range src.files {
			info.Files = append(info.Files, metainfo.FileInfo{Path: f.rel, Length: f.size})
		}
	}
	total := src.totalBytes()
	bar := meter.Start("hashing", info.Name, total)
	var done atomic.Int64
	start := time.Now()
	err := info.GeneratePieces(func(fi metainfo.FileInfo) (io.ReadCloser, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		f, err := os.Open(filepath.Join(append([]string{src.root}, fi.Path...)...))
		if err != nil {
			return nil, err
		}
		return &countingFile{f: f, n: &done, bar: bar, ctx: ctx}, nil
	})
	bar.Finish(err == nil)
	if err != nil {
		return nil, fmt.Errorf("hash %s: %w", src.root, err)
	}
	log.Info("hashed", "name", info.Name, "bytes", total, "pieces", info.NumPieces(),
		"piece_bytes", info.PieceLength, "took", time.Since(start).Round(time.Millisecond))
	return info, nil
}

// countingFile counts bytes read for progress, and stops on cancellation.
type countingFile struct {
	f   *os.File
	n   *atomic.Int64
	bar Bar
	ctx context.Context
}

func (c *countingFile) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.f.Read(p)
	c.bar.Set(c.n.Add(int64(n)))
	if errors.Is(err, io.EOF) {
		return n, io.EOF
	}
	return n, err
}

func (c *countingFile) Close() error { return c.f.Close() }

// CreateConfig says what Create makes a torrent of, and with what.
type CreateConfig struct {
	// Path is the file or folder to make a torrent of (required).
	Path string
	// Announce is the torrent's announce-list.
	Announce [][]string
	// WebSeedBase, if set, makes the url-list WebSeedBase + hex info
	// hash + "/".
	WebSeedBase string
	// Logger receives the logs; nil means slog.Default().
	Logger *slog.Logger
	// Meter shows the hashing; nil means LogMeter(Logger).
	Meter Meter
}

// Create hashes the file or folder at cfg.Path into a metainfo, without
// seeding it.
func Create(ctx context.Context, cfg CreateConfig) (*metainfo.MetaInfo, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	meter := cfg.Meter
	if meter == nil {
		meter = LogMeter(log)
	}
	path := cfg.Path
	src, err := walkSource(path)
	if err != nil {
		return nil, fmt.Errorf("swarm: create %s: %w", path, err)
	}
	info, err := buildInfo(ctx, src, log, meter)
	if err != nil {
		return nil, fmt.Errorf("swarm: create %s: %w", path, err)
	}
	mi := &metainfo.MetaInfo{AnnounceList: cfg.Announce, CreatedBy: "seedcast", CreationDate: time.Now().Unix()}
	if len(cfg.Announce) > 0 && len(cfg.Announce[0]) > 0 {
		mi.Announce = cfg.Announce[0][0]
	}
	if mi.InfoBytes, err = bencode.Marshal(info); err != nil {
		return nil, fmt.Errorf("swarm: create %s: %w", path, err)
	}
	if cfg.WebSeedBase != "" {
		mi.UrlList = []string{cfg.WebSeedBase + mi.HashInfoBytes().HexString() + "/"}
	}
	return mi, nil
}
