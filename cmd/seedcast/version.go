package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

type versionCmd struct{}

func (c *versionCmd) Run(ctx context.Context) error {
	bi, _ := debug.ReadBuildInfo()
	return printVersion(os.Stdout, readVersion(bi))
}

// buildVersion is what the binary knows of its own build.
type buildVersion struct {
	Module   string // module version: (devel) for a build in a checkout
	Revision string // VCS commit, "" if unknown
	Dirty    bool   // built from a checkout with uncommitted changes
	Go       string // Go version
}

// readVersion reads bi, which may be nil (a binary built without module
// support).
func readVersion(bi *debug.BuildInfo) buildVersion {
	v := buildVersion{Module: "unknown"}
	if bi == nil {
		return v
	}
	v.Go = bi.GoVersion
	if bi.Main.Version != "" {
		v.Module = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.modified":
			v.Dirty = s.Value == "true"
		}
	}
	return v
}

// commit returns the revision with +dirty for a checkout with
// uncommitted changes, or "" if unknown.
func (v buildVersion) commit() string {
	if v.Revision == "" {
		return ""
	}
	if v.Dirty {
		return v.Revision + "+dirty"
	}
	return v.Revision
}

func printVersion(w io.Writer, v buildVersion) error {
	commit := v.commit()
	if commit == "" {
		// go build stamps the commit in a git clone (-buildvcs=auto),
		// unless told not to or git is missing; a git worktree is not
		// stamped (Go looks for a .git folder).
		commit = "unknown (no VCS information in the build: go build stamps it in a git clone unless -buildvcs=false)"
	}
	_, err := fmt.Fprintf(w, "seedcast %s\ncommit:   %s\ngo:       %s\n", v.Module, commit, v.Go)
	return err
}
