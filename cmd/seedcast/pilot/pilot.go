// Package pilot holds the built-in demo film that `seedcast serve` seeds when
// it is given nothing to seed. generate.sh beside this file makes it.
package pilot

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
)

// Name is the file name of the pilot, which becomes the torrent's name.
const Name = "seedcast-pilot.mp4"

// Title is the human title of the pilot, as shown on screen and in the MP4's
// title metadata.
const Title = "seedcast — Pilot"

//go:embed seedcast-pilot.mp4
var mp4 []byte

// Bytes returns the pilot film. Callers must not modify it.
func Bytes() []byte { return mp4 }

// Install writes the pilot film to dir/Name, creating dir if needed, and
// returns that path. The write is atomic (a temporary file renamed into
// place). If dir/Name already holds exactly the pilot, Install leaves it
// untouched, so its modification time is kept and a seeder need not re-hash
// it.
func Install(dir string) (path string, err error) {
	path = filepath.Join(dir, Name)
	same, err := holdsPilot(path)
	if err != nil {
		return "", fmt.Errorf("pilot: install %s: %w", path, err)
	}
	if same {
		return path, nil
	}
	if err := writeAtomic(path); err != nil {
		return "", fmt.Errorf("pilot: install %s: %w", path, err)
	}
	return path, nil
}

// holdsPilot reports whether path is a regular file whose content is the
// pilot film. A missing file is not an error.
func holdsPilot(path string) (bool, error) {
	fi, err := os.Stat(path)
	if os.IsNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !fi.Mode().IsRegular() || fi.Size() != int64(len(mp4)) {
		return false, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	return bytes.Equal(b, mp4), nil
}

// writeAtomic writes the pilot film to a temporary file beside path and
// renames it over path.
func writeAtomic(path string) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+Name+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(mp4); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
