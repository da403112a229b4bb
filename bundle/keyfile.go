package bundle

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/seedcast/seedcast/infohash"
	"github.com/seedcast/seedcast/store"
)

// maxKeyFileBytes bounds a key file: 1000 files, each with a path of up
// to 1 KiB and about 200 bytes of keys and hash.
const maxKeyFileBytes = 2 << 20

// KeyFile is what unlocks a bundle's gated files away from the node: the
// JSON a node hands a viewer who passed a gate, and `seedcast unlock`
// reads. For example:
//
//	{
//	  "bundle": "children-of-the-machine",
//	  "infohash": "1f0c...40 hex digits",
//	  "files": {
//	    "children-of-the-machine/episode-2.mp4": {
//	      "key": "base64 of the 32-byte AES-256 key",
//	      "iv": "base64 of the 16-byte initial counter",
//	      "sha256": "64 hex digits: SHA-256 of the plain file",
//	      "length": 123456789
//	    }
//	  }
//	}
//
// The paths are the files' paths in the torrent, its name (the bundle's
// id) first, as /api/bundles lists them; only gated files are there. Key
// and IV are standard base64 with padding, and decrypt as
// store.FileKey defines: AES-256-CTR, byte n of the file XORed with byte
// n%16 of AES(key, IV + n/16). Unknown fields are ignored, so that the
// format may grow.
type KeyFile struct {
	Bundle   string                  `json:"bundle"`
	InfoHash infohash.Hash           `json:"infohash"`
	Files    map[string]KeyFileEntry `json:"files"`
}

// KeyFileEntry is the key of one gated file.
type KeyFileEntry struct {
	Key    []byte `json:"key"`
	IV     []byte `json:"iv"`
	SHA256 string `json:"sha256"`
	Length int64  `json:"length"`
}

// FileKey returns the entry's key as the store keeps it.
func (e KeyFileEntry) FileKey() store.FileKey {
	var k store.FileKey
	copy(k.Key[:], e.Key)
	copy(k.IV[:], e.IV)
	return k
}

// NewKeyFile returns the key file of bundle b with its keys, by file
// path, as a Keeper was given them: every gated file of b, none other.
func NewKeyFile(b store.Bundle, keys map[string]store.FileKey) (*KeyFile, error) {
	kf := &KeyFile{Bundle: b.ID, InfoHash: b.InfoHash, Files: make(map[string]KeyFileEntry)}
	for _, f := range b.Files {
		if f.Gate.Kind == store.GateFree {
			continue
		}
		k, ok := keys[f.Path]
		if !ok {
			return nil, fmt.Errorf("bundle: key file of %s: no key for %s", b.ID, f.Path)
		}
		kf.Files[f.Path] = KeyFileEntry{
			Key:    bytes.Clone(k.Key[:]),
			IV:     bytes.Clone(k.IV[:]),
			SHA256: hex.EncodeToString(f.PlainSHA256[:]),
			Length: f.Length,
		}
	}
	if len(kf.Files) == 0 {
		return nil, fmt.Errorf("bundle: key file of %s: no gated file", b.ID)
	}
	return kf, nil
}

// Marshal returns the key file as JSON, indented.
func (kf *KeyFile) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(kf, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ErrBadKeyFile means a key file does not read: not JSON, or not the
// form KeyFile documents.
var ErrBadKeyFile = errors.New("not a seedcast key file")

// ReadKeyFile reads a key file from r, at most 2 MiB of it, and parses
// it as ParseKeyFile does.
func ReadKeyFile(r io.Reader) (*KeyFile, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxKeyFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("bundle: read the key file: %w", err)
	}
	return ParseKeyFile(data)
}

// ParseKeyFile reads a key file, at most 2 MiB of JSON, and checks it:
// a bundle id, a non-zero info hash, 1 to 1000 files whose paths begin
// with the bundle id and stay inside it, 32-byte keys, 16-byte IVs,
// SHA-256 sums of 64 hex digits, and lengths of zero or more. Its errors
// wrap ErrBadKeyFile.
func ParseKeyFile(data []byte) (*KeyFile, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("bundle: %w: %s; ask the node for the key file again", ErrBadKeyFile, fmt.Sprintf(format, args...))
	}
	if len(data) > maxKeyFileBytes {
		return nil, bad("%d bytes, over %d MiB", len(data), maxKeyFileBytes>>20)
	}
	var kf KeyFile
	if err := json.Unmarshal(data, &kf); err != nil {
		return nil, bad("%v", err)
	}
	switch {
	case !validID(kf.Bundle):
		return nil, bad("bundle %q is no bundle id", short(kf.Bundle))
	case kf.InfoHash.IsZero():
		return nil, bad("no infohash")
	case len(kf.Files) == 0:
		return nil, bad("no files")
	case len(kf.Files) > maxFiles:
		return nil, bad("%d files, over %d", len(kf.Files), maxFiles)
	}
	for _, p := range slices.Sorted(maps.Keys(kf.Files)) {
		e := kf.Files[p]
		rel, ok := strings.CutPrefix(p, kf.Bundle+"/")
		if !ok {
			return nil, bad("path %q is not in the bundle's folder %s/", short(p), kf.Bundle)
		}
		if msg := checkPath(rel); msg != "" {
			return nil, bad("path %q %s", short(p), msg)
		}
		sum, err := hex.DecodeString(e.SHA256)
		switch {
		case len(e.Key) != 32:
			return nil, bad("%s: key of %d bytes, not 32", short(p), len(e.Key))
		case len(e.IV) != 16:
			return nil, bad("%s: iv of %d bytes, not 16", short(p), len(e.IV))
		case err != nil || len(sum) != 32:
			return nil, bad("%s: sha256 is not 64 hex digits", short(p))
		case e.Length < 0:
			return nil, bad("%s: negative length", short(p))
		}
	}
	return &kf, nil
}

// short cuts s to a length that reads well in a message.
func short(s string) string {
	const maxLen = 80
	if len(s) <= maxLen {
		return s
	}
	return s[:maxLen] + "..."
}
