package signaling

import (
	"errors"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// poller watches the fds of parked sockets in one epoll instance of its
// own, so that an idle socket needs no goroutine (whose stack, blocked
// deep in gorilla's reader, was most of what an idle socket cost): a
// socket's read goroutine arms the poller and ends when the socket has
// nothing buffered, and the poller starts another when its fd becomes
// readable.
//
// Each arming is EPOLLONESHOT and level-triggered: input that arrived
// before the arming is reported at once, and a socket is reported once
// per arming, so at most one goroutine reads it. The epoll fd is itself
// watched by Go's netpoller, so no thread blocks in epoll_wait.
//
// An fd is closed and its number reused while its socket may still be
// registered: the kernel drops a closed file from the epoll set, the
// event's data is a token the poller maps to its socket (never the fd
// number), and a socket's fd is only armed through syscall.RawConn.Control,
// which holds the fd open meanwhile.
type poller struct {
	wake func(*socket)

	mu     sync.RWMutex // held (R) while epfd is used, so that close cannot reuse it underneath
	closed bool
	epfd   int
	file   *os.File // epfd, for the netpoller
	socks  map[uint64]*socket
	next   uint64
	done   chan struct{}
	ctl    epollCtl // arm's, under mu
}

// epollCtl is arm's call of RawConn.Control, reused: a closure and its
// captures would be allocated for each arming.
type epollCtl struct {
	epfd, op int
	ev       unix.EpollEvent
	err      error
	f        func(fd uintptr)
}

func (c *epollCtl) control(fd uintptr) { c.err = unix.EpollCtl(c.epfd, c.op, int(fd), &c.ev) }

// errPollerClosed is why a socket cannot park after Run ended.
var errPollerClosed = errors.New("poller closed")

// newPoller returns a poller that calls wake, from its own goroutine, for
// each parked socket that has input. Run starts it.
func newPoller(wake func(*socket)) (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, err
	}
	p := &poller{
		wake:  wake,
		epfd:  epfd,
		file:  os.NewFile(uintptr(epfd), "epoll"),
		socks: make(map[uint64]*socket),
		done:  make(chan struct{}),
	}
	p.ctl.epfd = epfd
	p.ctl.f = p.ctl.control
	return p, nil
}

// run reports readable sockets until close.
func (p *poller) run() {
	defer close(p.done)
	rc, err := p.file.SyscallConn()
	if err != nil {
		return
	}
	events := make([]unix.EpollEvent, 128)
	var woken []*socket
	rc.Read(func(fd uintptr) bool {
		for {
			n, err := unix.EpollWait(int(fd), events, 0)
			if err == unix.EINTR {
				continue
			}
			if n <= 0 {
				return false // wait for the netpoller to say there is more
			}
			woken = woken[:0]
			p.mu.RLock()
			for _, ev := range events[:n] {
				if s := p.socks[uint64(uint32(ev.Fd))|uint64(uint32(ev.Pad))<<32]; s != nil {
					woken = append(woken, s)
				}
			}
			p.mu.RUnlock()
			for _, s := range woken {
				p.wake(s)
			}
			if n < len(events) {
				return false
			}
		}
	})
}

// arm watches s's fd until it is readable, once. The socket's parkMu is
// held.
func (p *poller) arm(s *socket) error {
	p.mu.Lock() // for socks and next; arming is rare beside waking
	defer p.mu.Unlock()
	if p.closed {
		return errPollerClosed
	}
	op := unix.EPOLL_CTL_MOD
	if s.token == 0 {
		p.next++
		s.token = p.next
		p.socks[s.token] = s
		op = unix.EPOLL_CTL_ADD
	}
	c := &p.ctl
	c.op = op
	c.ev = unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: int32(uint32(s.token)), Pad: int32(uint32(s.token >> 32))}
	c.err = nil
	if err := s.rc.Control(c.f); err != nil {
		return err
	}
	return c.err
}

// forget drops s, which has finished.
func (p *poller) forget(s *socket) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.token != 0 {
		delete(p.socks, s.token)
	}
}

// close stops the poller and waits for run to return. Sockets still
// registered stay in the set until their fds close.
func (p *poller) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.file.Close() // ends run's wait
	<-p.done
}

// writeFrameNow writes a frame's header and payload to rc's fd if it
// takes them without waiting, and returns how many bytes it took (0 on
// any error: the writer, trying again, will meet it). It holds the fd's
// write lock, so the frame does not interleave with another write.
func writeFrameNow(rc syscall.RawConn, hdr, payload []byte) int {
	w := inlineWrites.Get().(*inlineWrite)
	defer inlineWrites.Put(w)
	w.iov = [2][]byte{hdr, payload}
	w.n = 0
	err := rc.Write(w.f)
	w.iov = [2][]byte{}
	if err != nil {
		return 0
	}
	return w.n
}

// inlineWrite is writeFrameNow's call of RawConn.Write, reused: a closure
// and its captures would be allocated for each frame.
type inlineWrite struct {
	iov [2][]byte
	n   int
	f   func(fd uintptr) bool
}

var inlineWrites = sync.Pool{New: func() any {
	w := new(inlineWrite)
	w.f = w.write
	return w
}}

func (w *inlineWrite) write(fd uintptr) bool {
	for {
		n, err := unix.Writev(int(fd), w.iov[:])
		if err == unix.EINTR {
			continue
		}
		if err == nil {
			w.n = n
		}
		return true
	}
}
