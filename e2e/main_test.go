//go:build e2e

// Package e2e drives the built seedcast binary against real clients:
// headless Chromium running WebTorrent from npm, aria2c and transmission-cli.
// Every test sends only to loopback or to network namespaces it creates.
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/seedcast/seedcast/e2e/testnet"
)

// seedcastBin is the binary built once by TestMain from ../cmd/seedcast,
// with the race detector; seedcastPlainBin is the same without it, for
// tests of the node's speed and memory, which the detector changes
// several times over.
var seedcastBin, seedcastPlainBin string

// repoRoot is the root of the seedcast checkout.
var repoRoot string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "seedcast-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	repoRoot, err = filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	seedcastBin = filepath.Join(dir, "seedcast")
	seedcastPlainBin = filepath.Join(dir, "seedcast-plain")
	for _, args := range [][]string{{"-race", "-o", seedcastBin}, {"-o", seedcastPlainBin}} {
		build := exec.Command("go", append(append([]string{"build"}, args...), "./cmd/seedcast")...)
		build.Dir = repoRoot
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: building seedcast:", err)
			return 1
		}
	}
	return m.Run()
}

// inCI reports whether the tests run under CI, where nothing may be skipped.
func inCI() bool { return testnet.InCI() }

// requireTool returns the path of an external program the test needs. Locally
// a missing program skips the test with the reason printed; under CI=true it
// fails the test, because CI installs every tool.
func requireTool(t testing.TB, name string) string {
	t.Helper()
	return testnet.RequireTool(t, name)
}
