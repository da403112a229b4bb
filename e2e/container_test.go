//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seedcast/seedcast/e2e/testnet"
)

// standInVersion names the recipe of the stand-in base image below; change
// it when the recipe changes, so that a cached image is made again.
const standInVersion = "v1"

// TestContainerImage builds the Dockerfile with podman, runs the image in a
// host of a test network with its defaults (the demo pilot, every address,
// state in the /data volume) and checks that it answers /healthz, that its
// HEALTHCHECK passes, that it runs as a user that is not root, and that
// it stops cleanly.
//
// The Dockerfile's base images come from registries that cannot be reached
// here (only Debian's, npm's and Go's can), so the test passes its three
// base-image arguments a stand-in made from what can: Debian bookworm by
// debootstrap with make, g++ and CA certificates, and this machine's own
// Go and Node.js, the toolchains CI builds with. Every step of the
// Dockerfile then runs as written, the Makefile's `make web` and
// `make bin` included. The stand-in is kept between runs under a tag
// naming both toolchains.
func TestContainerImage(t *testing.T) {
	podman := requireTool(t, "podman")
	runc := requireTool(t, "runc")
	testnet.RequireRoot(t)
	ctx, cancel := context.WithTimeout(t.Context(), 25*time.Minute)
	defer cancel()

	base := standInBase(ctx, t, podman)
	image := fmt.Sprintf("localhost/seedcast-e2e/seedcast:%d", os.Getpid())
	goCache, modCache, npmCache := goEnv(t, "GOCACHE"), goEnv(t, "GOMODCACHE"), npmCacheDir(t)
	start := time.Now()
	build := exec.CommandContext(ctx, podman, "build",
		// HEALTHCHECK is a Docker-format field: OCI images drop it.
		"--format", "docker",
		// No cache of each step: it would outlive the test, one image per step.
		"--layers=false",
		// RUN steps in a chroot: crun refuses this machine's mix of cgroup
		// v1 and v2 hierarchies. The host's network reaches the registries.
		"--isolation", "chroot", "--network", "host",
		// This machine's module, build and npm caches spare the downloads.
		"-v", modCache+":/go/pkg/mod", "-v", goCache+":/root/.cache/go-build", "-v", npmCache+":/root/.npm",
		"--build-arg", "NODE_IMAGE="+base, "--build-arg", "GO_IMAGE="+base, "--build-arg", "RUNTIME_IMAGE="+base,
		"-t", image, repoRoot)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("podman build: %v\n%s", err, tail(out, 8<<10))
	}
	t.Logf("built %s in %v", image, time.Since(start).Round(time.Second))
	t.Cleanup(func() { podmanQuiet(podman, "rmi", "-f", image) })

	tn := testnet.New(t, "node")
	name := fmt.Sprintf("seedcast-e2e-%d", os.Getpid())
	t.Cleanup(func() { podmanQuiet(podman, "rm", "-f", "-t", "0", name) })
	var nofile syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &nofile); err != nil {
		t.Fatal(err)
	}
	run := exec.CommandContext(ctx, podman, "run", "-d", "--name", name,
		// runc, and limits within this process's own: rootful podman asks
		// for more by default, which only CAP_SYS_RESOURCE may grant.
		"--runtime", runc,
		"--ulimit", fmt.Sprintf("nofile=%d:%d", min(nofile.Cur, 65536), min(nofile.Cur, 65536)),
		"--ulimit", "nproc=4096:4096",
		// The host's namespace of the test network: nothing leaves it.
		"--network", "ns:"+filepath.Join("/var/run/netns", tn.Namespace("node")),
		"-e", "SEEDCAST_NO_DHT=true", "-e", "SEEDCAST_NO_PORT_FORWARDING=true",
		image)
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("podman run: %v\n%s", err, out)
	}
	logs := func() string {
		out, _ := exec.Command(podman, "logs", name).CombinedOutput()
		return string(tail(out, 16<<10))
	}

	url := "http://" + netip.AddrPortFrom(tn.Addr("node"), 8080).String() + "/healthz"
	waitCtx, waitCancel := context.WithTimeout(ctx, readyTimeout)
	defer waitCancel()
	if err := testnet.WaitOK(waitCtx, tn.HTTPClient("node"), url, nil); err != nil {
		t.Fatalf("the container does not answer %s on every address: %v\n%s", url, err, logs())
	}
	if out, err := exec.CommandContext(ctx, podman, "healthcheck", "run", name).CombinedOutput(); err != nil {
		t.Errorf("the image's HEALTHCHECK fails on a healthy node: %v\n%s", err, out)
	}
	out, err := exec.CommandContext(ctx, podman, "inspect", "--format", "{{.Config.User}} {{range .Mounts}}{{.Destination}}{{end}}", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(out)), "65532:65532 /data"; got != want {
		t.Errorf("user and volumes %q, want %q", got, want)
	}

	if out, err := exec.CommandContext(ctx, podman, "stop", "-t", "10", name).CombinedOutput(); err != nil {
		t.Fatalf("podman stop: %v\n%s", err, out)
	}
	out, err = exec.CommandContext(ctx, podman, "inspect", "--format", "{{.State.ExitCode}}", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	if code := strings.TrimSpace(string(out)); code != "0" {
		t.Errorf("seedcast exited with %s on SIGTERM, want 0\n%s", code, logs())
	}
	if t.Failed() {
		t.Logf("container log:\n%s", logs())
	}
}

// standInBase returns a local image that stands in for the Dockerfile's
// three base images, making it unless a run before made it: Debian
// bookworm with make, g++ (for cgo), CA certificates and the trust of this
// machine, plus this machine's Go and Node.js with npm.
func standInBase(ctx context.Context, t *testing.T, podman string) string {
	t.Helper()
	debootstrap := requireTool(t, "debootstrap")
	goroot := goEnv(t, "GOROOT")
	nodeBin := requireTool(t, "node")
	npmCLI, err := filepath.EvalSymlinks(requireTool(t, "npm"))
	if err != nil {
		t.Fatal(err)
	}
	npmDir := filepath.Dir(filepath.Dir(npmCLI)) // .../node_modules/npm
	nodeVersion, err := exec.Command(nodeBin, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	tag := fmt.Sprintf("localhost/seedcast-e2e/base:%s-node%s-%s", runtime.Version(),
		strings.TrimPrefix(strings.TrimSpace(string(nodeVersion)), "v"), standInVersion)
	if exec.Command(podman, "image", "exists", tag).Run() == nil {
		t.Logf("using the stand-in base image %s of an earlier run", tag)
		return tag
	}

	start := time.Now()
	root := filepath.Join(t.TempDir(), "rootfs")
	boot := exec.CommandContext(ctx, debootstrap, "--variant=minbase", "--include=ca-certificates,make,g++",
		"bookworm", root, "http://deb.debian.org/debian")
	if out, err := boot.CombinedOutput(); err != nil {
		t.Fatalf("debootstrap: %v\n%s", err, tail(out, 8<<10))
	}
	for _, c := range [][]string{
		{"cp", "-a", goroot, filepath.Join(root, "usr/local/go")},
		{"cp", "-a", nodeBin, filepath.Join(root, "usr/local/bin/node")},
		{"mkdir", "-p", filepath.Join(root, "usr/local/lib/node_modules")},
		{"cp", "-a", npmDir, filepath.Join(root, "usr/local/lib/node_modules/npm")},
		{"ln", "-s", "../lib/node_modules/npm/bin/npm-cli.js", filepath.Join(root, "usr/local/bin/npm")},
		// This machine's trust, which its registries' certificates need.
		{"cp", "/etc/ssl/certs/ca-certificates.crt", filepath.Join(root, "etc/ssl/certs/ca-certificates.crt")},
	} {
		if out, err := exec.CommandContext(ctx, c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(c, " "), err, out)
		}
	}
	tarCmd := exec.CommandContext(ctx, "tar", "-C", root, "-c", ".")
	imp := exec.CommandContext(ctx, podman, "import",
		"--change", "ENV PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"--change", "ENV GOPATH=/go",
		"--change", "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt",
		"-", tag)
	pipe, err := tarCmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	imp.Stdin = pipe
	var impOut bytes.Buffer
	imp.Stdout, imp.Stderr = &impOut, &impOut
	if err := tarCmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := imp.Run(); err != nil {
		t.Fatalf("podman import: %v\n%s", err, impOut.Bytes())
	}
	if err := tarCmd.Wait(); err != nil {
		t.Fatalf("tar of the stand-in's root: %v", err)
	}
	t.Logf("made the stand-in base image %s in %v", tag, time.Since(start).Round(time.Second))
	return tag
}

// goEnv returns `go env name`.
func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

// npmCacheDir returns npm's cache folder, made if need be.
func npmCacheDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(requireTool(t, "npm"), "config", "get", "cache").Output()
	if err != nil {
		t.Fatalf("npm config get cache: %v", err)
	}
	dir := strings.TrimSpace(string(out))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// podmanQuiet runs podman for a cleanup, whose failure changes nothing.
func podmanQuiet(podman string, args ...string) {
	_ = exec.Command(podman, args...).Run()
}

// tail returns the last n bytes of b.
func tail(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	return b[len(b)-n:]
}
