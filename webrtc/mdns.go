package webrtc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/dns/dnsmessage"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// mDNS (RFC 6762) group and port.
var mdnsGroup = &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353}

const (
	mdnsMaxBytes     = 9000 // RFC 6762 section 17
	mdnsRetry        = 250 * time.Millisecond
	mdnsMaxCacheSize = 4096
)

// mdnsResolver resolves the <uuid>.local names that browsers put in their
// ICE candidates in place of local IPs. pion can do this itself, but it
// starts an mDNS server per PeerConnection, each with four sockets, two of
// them on ephemeral ports; one resolver for the node keeps all of it on
// one socket on port 5353, however many peers connect.
type mdnsResolver struct {
	pc     *ipv4.PacketConn
	ifaces []net.Interface
	log    *slog.Logger

	mu      sync.Mutex
	waiters map[string][]chan netip.Addr
	cache   map[string]mdnsEntry
	done    chan struct{}
	wg      sync.WaitGroup // the read loop
}

type mdnsEntry struct {
	addr    netip.Addr
	expires time.Time
}

// newMDNSResolver joins the mDNS group on the given interfaces (all the
// multicast ones when empty) with a socket shared with any other mDNS
// daemon of the host.
func newMDNSResolver(ifaceNames []string, loopback bool, log *slog.Logger) (*mdnsResolver, error) {
	all, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var ifaces []net.Interface
	for _, ifc := range all {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagMulticast == 0 {
			continue
		}
		if ifc.Flags&net.FlagLoopback != 0 && !loopback {
			continue
		}
		if len(ifaceNames) > 0 && !contains(ifaceNames, ifc.Name) {
			continue
		}
		ifaces = append(ifaces, ifc)
	}
	lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
			if serr == nil {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			}
		})
		return errors.Join(err, serr)
	}}
	conn, err := lc.ListenPacket(context.Background(), "udp4", fmt.Sprintf("0.0.0.0:%d", mdnsGroup.Port))
	if err != nil {
		return nil, err
	}
	pc := ipv4.NewPacketConn(conn)
	joined := ifaces[:0]
	for _, ifc := range ifaces {
		if err := pc.JoinGroup(&ifc, mdnsGroup); err == nil {
			joined = append(joined, ifc)
		}
	}
	if len(joined) == 0 {
		conn.Close()
		return nil, errors.New("no interface could join the mDNS group")
	}
	pc.SetMulticastTTL(255)
	pc.SetMulticastLoopback(true)
	r := &mdnsResolver{
		pc:      pc,
		ifaces:  joined,
		log:     log,
		waiters: make(map[string][]chan netip.Addr),
		cache:   make(map[string]mdnsEntry),
		done:    make(chan struct{}),
	}
	r.wg.Go(r.readLoop)
	return r, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Close stops the resolver and waits for its read loop.
func (r *mdnsResolver) Close() error {
	select {
	case <-r.done:
		return nil
	default:
		close(r.done)
	}
	err := r.pc.Close()
	r.wg.Wait()
	return err
}

// Resolve returns the address of a .local name, asking again every
// mdnsRetry until ctx is done.
func (r *mdnsResolver) Resolve(ctx context.Context, name string) (netip.Addr, error) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	r.mu.Lock()
	if a, ok := r.lookupLocked(name); ok {
		r.mu.Unlock()
		return a, nil
	}
	ch := make(chan netip.Addr, 1)
	r.waiters[name] = append(r.waiters[name], ch)
	r.mu.Unlock()
	defer r.forget(name, ch)

	query, err := mdnsQuery(name)
	if err != nil {
		return netip.Addr{}, err
	}
	tick := time.NewTicker(mdnsRetry)
	defer tick.Stop()
	for {
		r.send(query)
		select {
		case a := <-ch:
			return a, nil
		case <-ctx.Done():
			return netip.Addr{}, fmt.Errorf("mdns: %s: %w", name, ctx.Err())
		case <-r.done:
			return netip.Addr{}, net.ErrClosed
		case <-tick.C:
		}
	}
}

func (r *mdnsResolver) forget(name string, ch chan netip.Addr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ws := r.waiters[name]
	for i, w := range ws {
		if w == ch {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(r.waiters, name)
	} else {
		r.waiters[name] = ws
	}
}

// send multicasts the query on every joined interface.
func (r *mdnsResolver) send(query []byte) {
	for _, ifc := range r.ifaces {
		cm := &ipv4.ControlMessage{IfIndex: ifc.Index}
		if _, err := r.pc.WriteTo(query, cm, mdnsGroup); err != nil {
			r.log.Debug("mdns query", "iface", ifc.Name, "err", err)
		}
	}
}

// mdnsQuery asks for the A and AAAA records of name, with multicast
// replies (QM), as browsers' responders expect.
func mdnsQuery(name string) ([]byte, error) {
	n, err := dnsmessage.NewName(name + ".")
	if err != nil {
		return nil, err
	}
	m := dnsmessage.Message{Questions: []dnsmessage.Question{
		{Name: n, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET},
		{Name: n, Type: dnsmessage.TypeAAAA, Class: dnsmessage.ClassINET},
	}}
	return m.Pack()
}

func (r *mdnsResolver) readLoop() {
	buf := make([]byte, mdnsMaxBytes)
	for {
		n, _, _, err := r.pc.ReadFrom(buf)
		if err != nil {
			select {
			case <-r.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		r.handle(buf[:n])
	}
}

// handle takes the A and AAAA answers of a response. Anything else on the
// group, queries included, is ignored.
func (r *mdnsResolver) handle(b []byte) {
	var p dnsmessage.Parser
	h, err := p.Start(b)
	if err != nil || !h.Response {
		return
	}
	if err := p.SkipAllQuestions(); err != nil {
		return
	}
	for {
		rh, err := p.AnswerHeader()
		if err != nil {
			return
		}
		var addr netip.Addr
		switch rh.Type {
		case dnsmessage.TypeA:
			a, err := p.AResource()
			if err != nil {
				return
			}
			addr = netip.AddrFrom4(a.A)
		case dnsmessage.TypeAAAA:
			a, err := p.AAAAResource()
			if err != nil {
				return
			}
			addr = netip.AddrFrom16(a.AAAA)
		default:
			if err := p.SkipAnswer(); err != nil {
				return
			}
			continue
		}
		name := strings.ToLower(strings.TrimSuffix(rh.Name.String(), "."))
		ttl := time.Duration(rh.TTL) * time.Second
		r.mu.Lock()
		if ttl > 0 && len(r.cache) < mdnsMaxCacheSize {
			r.cache[name] = mdnsEntry{addr: addr, expires: time.Now().Add(ttl)}
		}
		for _, w := range r.waiters[name] {
			select {
			case w <- addr:
			default:
			}
		}
		r.mu.Unlock()
	}
}

// mdnsCandidate is a remote candidate whose address is a .local name.
type mdnsCandidate struct {
	name string // lower case
	line string // the a=candidate line
	// mid and index name the media section the candidate belongs to.
	mid   string
	index uint16
}

// splitSDP takes the candidates whose address is a .local name out of an
// SDP and returns them, but for those whose name r has in its cache: their
// address goes in place at once. r may be nil.
func (r *mdnsResolver) splitSDP(sdp string) (string, []mdnsCandidate) {
	lines := strings.Split(sdp, "\r\n")
	out := lines[:0]
	var pending []mdnsCandidate
	mid, index := "", -1
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "m="):
			index++
			mid = ""
		case strings.HasPrefix(l, "a=mid:"):
			mid = strings.TrimPrefix(l, "a=mid:")
		}
		name, ok := candidateMDNSName(l)
		if !ok {
			out = append(out, l)
			continue
		}
		if a, ok := r.cached(name); ok {
			out = append(out, replaceCandidateAddr(l, a.Unmap().String()))
			continue
		}
		pending = append(pending, mdnsCandidate{name: name, line: l, mid: mid, index: uint16(max(index, 0))})
	}
	return strings.Join(out, "\r\n"), pending
}

// resolveCandidates resolves the names of cands, each once and all at once,
// until ctx is done, and calls add with every candidate whose name
// resolved, the address in place of the name. It returns when all are
// resolved or ctx is done. r may be nil: then nothing resolves.
func (r *mdnsResolver) resolveCandidates(ctx context.Context, cands []mdnsCandidate, add func(mdnsCandidate)) {
	if r == nil {
		return
	}
	byName := make(map[string][]mdnsCandidate)
	for _, c := range cands {
		byName[c.name] = append(byName[c.name], c)
	}
	var wg sync.WaitGroup
	for name, cs := range byName {
		wg.Go(func() {
			a, err := r.Resolve(ctx, name)
			if err != nil {
				return
			}
			for _, c := range cs {
				c.line = replaceCandidateAddr(c.line, a.Unmap().String())
				add(c)
			}
		})
	}
	wg.Wait()
}

// cached returns the address of a .local name in the cache.
func (r *mdnsResolver) cached(name string) (netip.Addr, bool) {
	if r == nil {
		return netip.Addr{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lookupLocked(name)
}

// lookupLocked is cached with r.mu held.
func (r *mdnsResolver) lookupLocked(name string) (netip.Addr, bool) {
	e, ok := r.cache[name]
	if !ok || !time.Now().Before(e.expires) {
		return netip.Addr{}, false
	}
	return e.addr, true
}

// candidateMDNSName returns the .local address of an a=candidate line:
// candidate:<foundation> <component> <transport> <priority> <address> ...
func candidateMDNSName(line string) (string, bool) {
	if !strings.HasPrefix(line, "a=candidate:") {
		return "", false
	}
	f := strings.Fields(line)
	if len(f) < 6 || !strings.HasSuffix(strings.ToLower(f[4]), ".local") {
		return "", false
	}
	return strings.ToLower(f[4]), true
}

func replaceCandidateAddr(line, addr string) string {
	f := strings.Fields(line)
	f[4] = addr
	return strings.Join(f, " ")
}
