//go:build !storewired

package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestBundleCreateWithoutStore: a build without the store says so, and
// writes nothing.
func TestBundleCreateWithoutStore(t *testing.T) {
	dir, _ := writeTestBundle(t, testManifest)
	out := t.TempDir()
	code, stderr := runCLI(t, nil, "bundle", "create", "--allow-loopback", "--data", t.TempDir(), "-o", out, dir)
	wantFix(t, code, 1, stderr, "no store to keep a bundle's keys in")
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("wrote %s", filepath.Join(out, entries[0].Name()))
	}
}
