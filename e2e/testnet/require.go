package testnet

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run under CI (CI=true), where nothing may be
// skipped.
func InCI() bool { return os.Getenv("CI") == "true" }

// RequireTool returns the path of an external program the test needs. Locally
// a missing program skips the test with the reason printed; under CI=true it
// fails the test, because CI installs every tool.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if InCI() {
		t.Fatalf("%s not found but CI=true: .ci/run must install it", name)
	}
	t.Skipf("skipping: %s not installed (CI installs it; see .ci/run)", name)
	return ""
}

// RequireRoot skips locally, and fails under CI, when the test cannot create
// network namespaces.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if InCI() {
		t.Fatal("network namespace tests need root and CI=true: run CI as root")
	}
	t.Skip("skipping: network namespaces need root")
}
