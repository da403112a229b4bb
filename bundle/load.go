package bundle

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// maxWalkEntries bounds the walk of a bundle's folder for files the
// manifest leaves out: a bundle holds at most 1000 files.
const maxWalkEntries = 100_000

// LoadManifest reads DIR/bundle.toml, parses it, and checks it against
// the folder: every listed file is a regular file inside DIR (a symlink
// may lead to one, but not out of DIR), and every file of DIR is listed.
//
// A file of DIR that the manifest leaves out is an error, not a free file
// by default: a gate forgotten would otherwise publish an episode free,
// which no later fix takes back. Hidden files and folders (".name", such
// as .DS_Store) and bundle.toml itself are not part of the bundle and may
// be there unlisted.
func LoadManifest(dir string) (*Manifest, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("bundle: open %s: %w; give the folder that holds %s", dir, err, ManifestName)
	}
	defer root.Close()
	m, err := readManifest(root, dir)
	if err != nil {
		return nil, err
	}
	if err := checkFiles(root, dir, m); err != nil {
		return nil, err
	}
	return m, nil
}

func readManifest(root *os.Root, dir string) (*Manifest, error) {
	f, err := root.Open(ManifestName)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("bundle: %s has no %s; write one there, with title, artist, and a [[file]] table per file (see README.md, \"Bundles\")", dir, ManifestName)
	}
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	defer f.Close()
	// One byte over the bound, so that ParseManifest sees it is over.
	data, err := io.ReadAll(io.LimitReader(f, maxManifestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("bundle: read %s: %w", ManifestName, err)
	}
	m, err := ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("bundle: %s:\n%w", dir, err)
	}
	return m, nil
}

// checkFiles checks the manifest's files against the folder's.
func checkFiles(root *os.Root, dir string, m *Manifest) error {
	var errs []error
	fail := func(line int, format string, args ...any) {
		errs = append(errs, &ManifestError{Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	listed := make(map[string]bool, len(m.Files))
	for _, f := range m.Files {
		listed[f.Path] = true
		fi, err := root.Stat(f.Path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			fail(f.Line, "path %q: no such file in %s; check its name (names are case-sensitive), or remove its [[file]] table", f.Path, dir)
		case err != nil:
			if li, lerr := root.Lstat(f.Path); lerr == nil && li.Mode()&fs.ModeSymlink != 0 {
				fail(f.Line, "path %q is a symlink that leads out of %s (or is absolute); copy or move the file itself into the folder", f.Path, dir)
			} else {
				fail(f.Line, "path %q: %v", f.Path, err)
			}
		case fi.IsDir():
			fail(f.Line, "path %q is a folder; list each file in it with a [[file]] table of its own", f.Path)
		case !fi.Mode().IsRegular():
			fail(f.Line, "path %q is not a regular file (%s); give a file's path", f.Path, fi.Mode().Type())
		}
	}
	var unlisted []string
	seen := 0
	err := fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if seen++; seen > maxWalkEntries {
			return fmt.Errorf("over %d files and folders; a bundle's folder holds its files alone", maxWalkEntries)
		}
		if p == "." {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() || p == ManifestName || listed[p] {
			return nil
		}
		// A listed path through a symlinked folder names its files there;
		// the folder's own files are the same files.
		if d.Type()&fs.ModeSymlink != 0 && listedBelow(listed, p) {
			return nil
		}
		unlisted = append(unlisted, p)
		return nil
	})
	if err != nil {
		return fmt.Errorf("bundle: read %s: %w", dir, err)
	}
	const show = 10
	for i, p := range unlisted {
		if i == show {
			fail(0, "and %d more files not listed", len(unlisted)-show)
			break
		}
		fail(0, "%s holds %q, which the manifest does not list; add a [[file]] table for it with path = %q and gate = \"free\", \"email\" or \"price\", "+
			"or move it out of the folder: files not listed are refused, not published free, so that nothing meant for a gate goes out by mistake",
			dir, p, p)
	}
	if len(errs) > 0 {
		return fmt.Errorf("bundle: %s:\n%w", dir, errors.Join(errs...))
	}
	return nil
}

// listedBelow reports whether a listed path lies below the folder p.
func listedBelow(listed map[string]bool, p string) bool {
	for l := range listed {
		if strings.HasPrefix(l, p+"/") {
			return true
		}
	}
	return false
}

// contentPath is the path of a manifest file inside the torrent: the
// bundle's id (the torrent's name) first.
func contentPath(id, p string) string { return path.Join(id, p) }
