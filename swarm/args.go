package swarm

import (
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"strings"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
)

// Errors of what Add is given, for callers that check it before the client
// runs (CheckArg) and for tests.
var (
	// ErrBadMagnet means a magnet link cannot be read.
	ErrBadMagnet = errors.New("not a valid magnet link")
	// ErrBadTorrentFile means a .torrent file cannot be read.
	ErrBadTorrentFile = errors.New("not a valid .torrent file")
)

// MagnetForm is the form of a magnet link the swarm takes, for messages.
const MagnetForm = "magnet:?xt=urn:btih:<40 hex digits or 32 base32 letters>&dn=NAME&tr=TRACKER (dn and tr optional)"

// maxTorrentFileBytes bounds what a .torrent file may hold: the info of a
// few thousand files at 1 MiB pieces is a few MiB.
const maxTorrentFileBytes = 64 << 20

// CheckArg checks what Add would do with arg, without adding it and
// without touching the network: that a magnet link reads, that a URL is
// one Add can fetch, that a .torrent file is one, that a path exists. An
// info hash alone is always good.
func CheckArg(arg string) error {
	switch kindOf(arg) {
	case argMagnet:
		_, err := parseMagnet(arg)
		return err
	case argURL:
		_, err := parseTorrentURL(arg)
		return err
	case argInfoHash:
		return nil
	case argTorrentFile:
		_, err := loadTorrentFile(arg)
		return err
	}
	if _, err := os.Stat(arg); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("swarm: add %s: no such file or folder; give a file or folder to seed, a .torrent file or a magnet link", arg)
		}
		return fmt.Errorf("swarm: add %s: %w", arg, err)
	}
	return nil
}

type argKind int

const (
	argPath argKind = iota
	argMagnet
	argTorrentFile
	argURL      // an http(s) URL of a .torrent
	argInfoHash // a v1 info hash alone, taken as its magnet
)

// kindOf tells what Add takes arg for, by its form: a magnet link, an
// http:// or https:// URL (of a .torrent), a v1 info hash as magnets
// write it (40 hex digits or 32 base32 letters), a name ending in
// .torrent, or else a file or folder. A file or folder that is there
// under the name of an info hash (32 letters make one) is seeded, not
// taken for a magnet.
func kindOf(arg string) argKind {
	lower := strings.ToLower(arg)
	switch {
	case strings.HasPrefix(lower, "magnet:"):
		return argMagnet
	case strings.HasPrefix(lower, "http://"), strings.HasPrefix(lower, "https://"):
		return argURL
	case isInfoHashText(arg) && !exists(arg):
		return argInfoHash
	case strings.HasSuffix(lower, ".torrent"):
		return argTorrentFile
	}
	return argPath
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// infoHashMagnet is the magnet link of a bare info hash.
func infoHashMagnet(ih string) string { return "magnet:?xt=urn:btih:" + ih }

// parseMagnet reads a magnet link with a v1 info hash. Its errors wrap
// ErrBadMagnet, say what is wrong with uri, and show the form wanted.
func parseMagnet(uri string) (*torrent.TorrentSpec, error) {
	bad := func(why string) error {
		return fmt.Errorf("swarm: add magnet %q: %w: %s; want %s", short(uri), ErrBadMagnet, why, MagnetForm)
	}
	u, err := url.Parse(uri)
	if err != nil {
		return nil, bad("it does not parse as a URI")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil || u.Opaque != "" && u.RawQuery == "" {
		return nil, bad("its parameters follow no \"?\"")
	}
	var v1 string
	for _, xt := range q["xt"] {
		if h, ok := strings.CutPrefix(strings.ToLower(xt), "urn:btih:"); ok {
			v1 = xt[len(xt)-len(h):]
		}
	}
	switch {
	case v1 == "" && len(q["xt"]) > 0:
		return nil, fmt.Errorf("swarm: add magnet %q: %w: no v1 info hash, which browsers need; give the link of a v1 or hybrid torrent: %s", short(uri), ErrBadMagnet, MagnetForm)
	case v1 == "":
		return nil, bad("it has no xt=urn:btih: parameter")
	case !isInfoHashText(v1):
		return nil, bad(fmt.Sprintf("info hash %q is neither 40 hex digits nor 32 base32 letters", short(v1)))
	}
	spec, err := torrent.TorrentSpecFromMagnetUri(uri)
	if err != nil {
		return nil, bad(err.Error())
	}
	if spec.InfoHash.IsZero() {
		return nil, bad("its info hash is zero")
	}
	return spec, nil
}

// isInfoHashText reports whether s is a v1 info hash as magnet links
// write it (BEP 9): 40 hex digits, or 32 base32 letters.
func isInfoHashText(s string) bool {
	switch len(s) {
	case 40:
		_, err := hex.DecodeString(s)
		return err == nil
	case 32:
		_, err := base32.StdEncoding.DecodeString(strings.ToUpper(s))
		return err == nil
	}
	return false
}

// loadTorrentFile reads the .torrent file at path. Its errors name the
// file, and wrap ErrBadTorrentFile unless the file could not be read.
func loadTorrentFile(path string) (*metainfo.MetaInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("swarm: add %s: %w", path, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > maxTorrentFileBytes {
		return nil, fmt.Errorf("swarm: add %s: %w: %d bytes, over the %d MiB a .torrent may hold", path, ErrBadTorrentFile, fi.Size(), maxTorrentFileBytes>>20)
	}
	return parseTorrent(path, f)
}

// parseTorrent reads the .torrent named name from r, at most
// maxTorrentFileBytes of it. Its errors wrap ErrBadTorrentFile.
func parseTorrent(name string, r io.Reader) (*metainfo.MetaInfo, error) {
	bad := func(why error) error {
		return fmt.Errorf("swarm: add %s: %w (%v); check that it downloaded whole, or give its magnet link instead", name, ErrBadTorrentFile, why)
	}
	mi, err := metainfo.Load(io.LimitReader(r, maxTorrentFileBytes))
	if err != nil {
		return nil, bad(err)
	}
	info, err := mi.UnmarshalInfo()
	if err != nil {
		return nil, bad(err)
	}
	if !info.HasV1() {
		return nil, fmt.Errorf("swarm: add %s: %w: a v2-only torrent, and browsers speak v1 only; make a v1 or hybrid torrent of it", name, ErrBadTorrentFile)
	}
	if info.PieceLength <= 0 || len(info.Pieces) == 0 || len(info.Pieces)%20 != 0 {
		return nil, bad(errors.New("its info has no pieces"))
	}
	return mi, nil
}

// short cuts s to a length that reads well in a message.
func short(s string) string {
	const maxLen = 80
	if len(s) <= maxLen {
		return s
	}
	return s[:maxLen] + "..."
}
