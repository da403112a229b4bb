package main

import (
	"go/build"
	"strings"
	"testing"
)

// TestLayering holds the package boundaries DESIGN.md draws where a
// change slips most easily: the wiring in cmd/seedcast speaks to pion and
// anacrolix only through webrtc and swarm, and the tracker knows no
// anacrolix.
func TestLayering(t *testing.T) {
	for _, c := range []struct {
		dir       string
		forbidden []string
	}{
		{".", []string{"github.com/pion/", "github.com/anacrolix/"}},
		{"../../signaling", []string{"github.com/anacrolix/"}},
	} {
		pkg, err := build.ImportDir(c.dir, 0)
		if err != nil {
			t.Fatalf("read package %s: %v", c.dir, err)
		}
		for _, imp := range pkg.Imports {
			for _, f := range c.forbidden {
				if strings.HasPrefix(imp, f) {
					t.Errorf("package %s imports %s; reach it through the package that owns it", pkg.ImportPath, imp)
				}
			}
		}
	}
}
