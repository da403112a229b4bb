// Package testnet builds private test networks out of Linux network
// namespaces for end-to-end tests and benchmarks: one namespace per host,
// joined by a bridge, with helpers to run programs inside, listen and dial
// from the test process, and drive headless Chromium there.
//
// It is also the one harness of e2e and bench for what does not need a
// namespace: Start runs a program and stops it at cleanup, StartServe runs
// seedcast serve in a host, WriteRandomFile makes the file they move, and
// Poll and WaitFor are the only ways they wait on a condition.
//
// A test network is a set of network namespaces joined by one Linux bridge,
// private to one test: nothing in it has a route to the machine's own network
// or beyond, so whatever the programs under test send stays inside it.
//
//	namespace sce2e-<pid>-<n>-br      br0 10.231.0.254/24, one veth port per host
//	namespace sce2e-<pid>-<n>-<host>  eth0 10.231.0.<i>/24, lo, default via .254
//
// The bridge floods multicast (snooping off), so mDNS (224.0.0.251:5353), which
// Chromium uses to hide host ICE candidates behind <uuid>.local names, works
// between hosts. The bridge namespace forwards nothing (ip_forward is 0 in a new
// namespace), so the default route only gives multicast and stray packets a
// place to go and die.
//
// Creating namespaces needs root: New skips the test otherwise (and fails it
// under CI=true).
package testnet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

const (
	// Prefix starts the name of every namespace and /etc/netns directory a
	// test network creates; New deletes those of aborted runs by it.
	Prefix = "sce2e-"

	// subnet is the one /24 of every test network. Test networks are
	// isolated from each other, so parallel runs may share it. The range is
	// unusual enough not to shadow anything a developer routes.
	subnet = "10.231.0."

	// gatewayOctet is the last octet of the bridge's own address.
	gatewayOctet = 254

	// MTU is the MTU of every link: Ethernet's, so tests see the packet sizes
	// of a real LAN.
	MTU = 1500
)

// netCount makes namespace names unique between the test networks of one
// process.
var netCount atomic.Int32

// hostNameRE limits host names so that namespace and interface names stay
// short and need no quoting.
var hostNameRE = regexp.MustCompile(`^[a-z][a-z0-9]{0,11}$`)

// Net is a test network created by New. Its methods may be called from
// several goroutines.
type Net struct {
	t      testing.TB
	prefix string // namespace name prefix: sce2e-<pid>-<n>-
	bridge string // namespace holding br0
	hosts  map[string]host
	order  []string
}

// host is one namespace of a test network.
type host struct {
	ns   string
	addr netip.Addr
}

// New creates a test network with one namespace per host, in the order
// given: the first host gets 10.231.0.1, the second .2, and so on. It skips
// the test unless it runs as root (and fails under CI), deletes the
// namespaces of earlier runs whose process is gone, and registers a cleanup
// that deletes everything it created. Register cleanups of processes started
// in the network after calling New, so that they run first.
func New(t testing.TB, hosts ...string) *Net {
	t.Helper()
	RequireRoot(t)
	RequireTool(t, "ip")
	if len(hosts) == 0 || len(hosts) > 200 {
		t.Fatalf("testnet.New: want 1 to 200 hosts, got %d", len(hosts))
	}
	deleteStale(t)

	n := &Net{
		t:      t,
		prefix: fmt.Sprintf("%s%d-%d-", Prefix, os.Getpid(), netCount.Add(1)),
		hosts:  make(map[string]host),
	}
	n.bridge = n.prefix + "br"
	t.Cleanup(n.close)

	n.addNamespace(n.bridge)
	n.ip("-n", n.bridge, "link", "add", "br0", "mtu", strconv.Itoa(MTU), "type", "bridge", "mcast_snooping", "0")
	n.ip("-n", n.bridge, "addr", "add", fmt.Sprintf("%s%d/24", subnet, gatewayOctet), "dev", "br0")
	n.ip("-n", n.bridge, "link", "set", "br0", "up")
	// Where br_netfilter is loaded (podman and docker load it), every frame
	// the bridge forwards would also pass the bridge namespace's iptables,
	// which holds no rule: a tenth of a busy host's CPU for nothing. The
	// setting is per namespace since Linux 5.3; the host's stays as it was.
	if err := doIn(n.bridge, func() error {
		for _, name := range []string{"iptables", "ip6tables", "arptables"} {
			if err := os.WriteFile("/proc/sys/net/bridge/bridge-nf-call-"+name, []byte("0"), 0o644); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("testnet.New: turning bridge netfilter off in %s: %v", n.bridge, err)
	}

	for i, name := range hosts {
		if !hostNameRE.MatchString(name) || name == "br" {
			t.Fatalf("testnet.New: bad host name %q: want %s and not br", name, hostNameRE)
		}
		if _, dup := n.hosts[name]; dup {
			t.Fatalf("testnet.New: host %q given twice", name)
		}
		h := host{
			ns:   n.prefix + name,
			addr: netip.MustParseAddr(fmt.Sprintf("%s%d", subnet, i+1)),
		}
		n.hosts[name] = h
		n.order = append(n.order, name)

		n.addNamespace(h.ns)
		// Create the pair inside the host namespace and move the peer straight
		// into the bridge namespace: no interface of the root namespace is
		// ever created or touched.
		port := fmt.Sprintf("port%d", i+1)
		n.ip("-n", h.ns, "link", "add", "eth0", "mtu", strconv.Itoa(MTU), "type", "veth",
			"peer", "name", port, "mtu", strconv.Itoa(MTU), "netns", n.bridge)
		n.ip("-n", n.bridge, "link", "set", port, "master", "br0", "up")
		n.ip("-n", h.ns, "addr", "add", h.addr.String()+"/24", "dev", "eth0")
		n.ip("-n", h.ns, "link", "set", "eth0", "up")
		// A route for 224.0.0.0/4 is needed for mDNS; a default route via the
		// bridge covers it, and the bridge address exists only in this network.
		n.ip("-n", h.ns, "route", "add", "default", "via", fmt.Sprintf("%s%d", subnet, gatewayOctet))
	}
	return n
}

// addNamespace creates namespace ns with lo up, IPv4 only, and a resolv.conf
// of its own that points at nothing, so that background DNS lookups of the
// programs inside (Chromium makes some) fail at once instead of leaving.
func (n *Net) addNamespace(ns string) {
	n.t.Helper()
	etc := filepath.Join("/etc/netns", ns)
	if err := os.MkdirAll(etc, 0o755); err != nil {
		n.t.Fatalf("testnet.New: %v", err)
	}
	// ip netns exec bind-mounts every file of /etc/netns/<ns> over /etc.
	if err := os.WriteFile(filepath.Join(etc, "resolv.conf"), []byte("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n"), 0o644); err != nil {
		n.t.Fatalf("testnet.New: %v", err)
	}
	n.ip("netns", "add", ns)
	n.ip("-n", ns, "link", "set", "lo", "up")
	// IPv4 only: fewer ICE candidates, no duplicate address detection delays,
	// and no IPv6 link-local address that could be mistaken for a way out.
	if err := doIn(ns, func() error {
		for _, name := range []string{"all", "default", "lo"} {
			if err := os.WriteFile("/proc/sys/net/ipv6/conf/"+name+"/disable_ipv6", []byte("1"), 0o644); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
		return nil
	}); err != nil {
		n.t.Fatalf("testnet.New: disabling IPv6 in %s: %v", ns, err)
	}
}

// ip runs the ip command with args and fails the test if it fails.
func (n *Net) ip(args ...string) {
	n.t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		n.t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// close deletes the namespaces of the network and their /etc/netns
// directories. Deleting a namespace destroys its veth, and with it the peer.
func (n *Net) close() {
	for _, h := range n.order {
		deleteNamespace(n.t, n.hosts[h].ns)
	}
	deleteNamespace(n.t, n.bridge)
}

// deleteNamespace deletes namespace ns, if it exists, and its /etc/netns
// directory.
func deleteNamespace(t testing.TB, ns string) {
	if _, err := os.Stat(filepath.Join("/var/run/netns", ns)); err == nil {
		if out, err := exec.Command("ip", "netns", "delete", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns delete %s: %v\n%s", ns, err, out)
		}
	}
	if err := os.RemoveAll(filepath.Join("/etc/netns", ns)); err != nil {
		t.Errorf("removing /etc/netns/%s: %v", ns, err)
	}
}

// deleteStale deletes the namespaces and /etc/netns directories that test
// networks of processes no longer running left behind, for example after a run
// was killed. Those of live processes, such as a parallel run, stay.
func deleteStale(t testing.TB) {
	seen := make(map[string]bool)
	for _, dir := range []string{"/var/run/netns", "/etc/netns"} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			name := e.Name()
			if seen[name] || !strings.HasPrefix(name, Prefix) {
				continue
			}
			seen[name] = true
			pidStr, _, _ := strings.Cut(strings.TrimPrefix(name, Prefix), "-")
			pid, err := strconv.Atoi(pidStr)
			if err != nil || pid == os.Getpid() {
				continue
			}
			if _, err := os.Stat("/proc/" + pidStr); err == nil {
				continue // its test process still runs
			}
			t.Logf("deleting namespace %s of an earlier run (pid %d)", name, pid)
			deleteNamespace(t, name)
		}
	}
}

// Hosts returns the names of the hosts in the order given to New.
func (n *Net) Hosts() []string { return append([]string(nil), n.order...) }

// Addr returns the address of host on the bridge: 10.231.0.<i>.
func (n *Net) Addr(host string) netip.Addr { return n.host(host).addr }

// Gateway returns the address of the bridge itself, the default route of
// every host, which leads nowhere.
func (n *Net) Gateway() netip.Addr {
	return netip.MustParseAddr(fmt.Sprintf("%s%d", subnet, gatewayOctet))
}

// Namespace returns the name of host's network namespace, as ip netns knows
// it.
func (n *Net) Namespace(host string) string { return n.host(host).ns }

func (n *Net) host(name string) host {
	h, ok := n.hosts[name]
	if !ok {
		panic(fmt.Sprintf("test network has no host %q", name))
	}
	return h
}

// Command returns a command that runs program name with args in host's
// namespace, through ip netns exec, which also bind-mounts the namespace's
// resolv.conf. ip netns exec replaces itself with the program, so the
// command's process is the program's, and signals reach it. The context kills
// it as in exec.CommandContext, and the program gets SIGKILL when the thread
// that started it exits (Pdeathsig), which Start delays until the program
// has exited; callers that set their own SysProcAttr should keep that.
func (n *Net) Command(ctx context.Context, host, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.Namespace(host), name}, args...)...)
	// Kill the program with the test process, even on a hard exit.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// Do runs fn on an OS thread switched into host's namespace. A socket belongs
// to the namespace it was created in, so listeners and conns that fn creates
// stay in the namespace after Do returns and may be used from any goroutine.
// fn must not start goroutines that create sockets: they would not run on
// this thread.
func (n *Net) Do(host string, fn func() error) error {
	return doIn(n.Namespace(host), fn)
}

// doIn runs fn on an OS thread switched into namespace ns; see Net.Do.
func doIn(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		// The thread leaves the namespace before it is unlocked. If it cannot,
		// it stays locked, and the runtime ends the thread with the goroutine
		// rather than reusing it for other goroutines.
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer orig.Close()
		target, err := os.Open(filepath.Join("/var/run/netns", ns))
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns back from %s: %w", ns, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// Listen listens on addr (such as "10.231.0.1:0") in host's namespace. The
// test process can serve on the listener like on any other, without a helper
// process in the namespace.
func (n *Net) Listen(host, network, addr string) (net.Listener, error) {
	var l net.Listener
	err := n.Do(host, func() error {
		var err error
		l, err = net.Listen(network, addr)
		return err
	})
	return l, err
}

// ListenPacket is Listen for packet networks such as "udp4".
func (n *Net) ListenPacket(host, network, addr string) (net.PacketConn, error) {
	var c net.PacketConn
	err := n.Do(host, func() error {
		var err error
		c, err = net.ListenPacket(network, addr)
		return err
	})
	return c, err
}

// DialContext returns a dial function whose conns start in host's namespace,
// for http.Transport.DialContext and the like. addr must be an IP literal: no
// resolver runs in the namespace.
func (n *Net) DialContext(host string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	ns := n.Namespace(host)
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := doIn(ns, func() error {
			var d net.Dialer
			var err error
			c, err = d.DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
}

// HTTPClient returns an HTTP client whose requests start in host's namespace.
func (n *Net) HTTPClient(host string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:       n.DialContext(host),
		DisableKeepAlives: true,
	}}
}

// BlockMulticast keeps every multicast packet of the other hosts from
// host, until t's cleanup: the bridge stops flooding multicast to host's
// port. Answers to host's mDNS queries then never arrive, so the names in
// Chromium's .local host candidates stay unresolved at host, as they do at
// a server on the internet, and ICE has to find its way through
// peer-reflexive candidates.
func (n *Net) BlockMulticast(t testing.TB, host string) {
	t.Helper()
	i := slices.Index(n.order, host)
	if i < 0 {
		t.Fatalf("testnet: no host %q", host)
	}
	port := fmt.Sprintf("port%d", i+1)
	flood := func(on string) error {
		out, err := exec.Command("ip", "-n", n.bridge, "link", "set", port, "type", "bridge_slave", "mcast_flood", on).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip link set %s mcast_flood %s: %v: %s", port, on, err, out)
		}
		return nil
	}
	if err := flood("off"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := flood("on"); err != nil {
			t.Error(err)
		}
	})
}

// SentBytes returns the bytes host has sent on its link to the bridge,
// IP headers and all, as its eth0 counts them.
func (n *Net) SentBytes(ctx context.Context, host string) (int64, error) {
	out, err := exec.CommandContext(ctx, "ip", "-n", n.Namespace(host), "-s", "-j", "link", "show", "eth0").Output()
	if err != nil {
		return 0, fmt.Errorf("testnet: counters of %s: %w", host, err)
	}
	var links []struct {
		Stats struct {
			TX struct {
				Bytes int64 `json:"bytes"`
			} `json:"tx"`
		} `json:"stats64"`
	}
	if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 {
		return 0, fmt.Errorf("testnet: counters of %s: %q: %v", host, out, err)
	}
	return links[0].Stats.TX.Bytes, nil
}
