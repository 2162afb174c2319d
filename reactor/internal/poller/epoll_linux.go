package poller

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func init() { register("epoll", 0, openEpoll) }

// epoll is the Linux backend: O(1) per wait in the number of registered
// descriptors, level-triggered, woken by an eventfd in its own set.
//
// A Wait that may block parks the goroutine in Go's own netpoller on the
// epoll descriptor (which is itself pollable) instead of blocking a thread
// in epoll_wait: a wakeup from another goroutine then costs a goroutine
// switch, not an OS thread wakeup (about 10x less here; see
// BenchmarkCallFromGoroutine).
type epoll struct {
	epfd  int
	waker waker
	guard guard
	buf   []unix.EpollEvent
	file  *os.File        // owns epfd
	rc    syscall.RawConn // nil if the runtime would not poll epfd

	// The parked wait's state, kept here so that the function handed to
	// RawConn.Read is made once and a wait allocates nothing.
	try          func(fd uintptr) bool
	tryMax, tryN int
	tryErr       error
}

func openEpoll() (Poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	w, err := newWaker()
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(w.fd())}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, w.fd(), &ev); err != nil {
		w.close()
		unix.Close(epfd)
		return nil, fmt.Errorf("epoll_ctl add waker: %w", err)
	}
	p := &epoll{epfd: epfd, waker: w, buf: make([]unix.EpollEvent, 128)}
	// A nonblocking descriptor given to os.NewFile joins the runtime's
	// netpoller; SetReadDeadline fails if it did not.
	if unix.SetNonblock(epfd, true) == nil {
		p.file = os.NewFile(uintptr(epfd), "epoll")
		if p.file.SetReadDeadline(time.Time{}) == nil {
			p.rc, _ = p.file.SyscallConn()
			p.try = p.tryWait
		}
	}
	return p, nil
}

func epollEvents(ev Events) uint32 {
	var e uint32
	if ev&Readable != 0 {
		e |= unix.EPOLLIN | unix.EPOLLRDHUP
	}
	if ev&Writable != 0 {
		e |= unix.EPOLLOUT
	}
	return e
}

func (p *epoll) ctl(op, fd int, ev Events, what string) error {
	if err := checkFD(fd, "epoll "+what); err != nil {
		return err
	}
	e := unix.EpollEvent{Events: epollEvents(ev), Fd: int32(fd)}
	if err := unix.EpollCtl(p.epfd, op, fd, &e); err != nil {
		return fmt.Errorf("epoll %s fd %d: %w", what, fd, err)
	}
	return nil
}

func (p *epoll) Add(fd int, ev Events) error    { return p.ctl(unix.EPOLL_CTL_ADD, fd, ev, "add") }
func (p *epoll) Modify(fd int, ev Events) error { return p.ctl(unix.EPOLL_CTL_MOD, fd, ev, "modify") }

func (p *epoll) Delete(fd int) error {
	if checkFD(fd, "") != nil {
		return nil // never registered
	}
	err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	if err == unix.EBADF || err == unix.ENOENT {
		// Closing a descriptor already removed it from the set.
		return nil
	}
	if err != nil {
		return fmt.Errorf("epoll delete fd %d: %w", fd, err)
	}
	return nil
}

func (p *epoll) Wait(events []Event, timeout time.Duration) (int, error) {
	max := min(len(events), len(p.buf))
	n, err := p.wait(max, timeout)
	if err != nil {
		return 0, err
	}
	out := 0
	wfd := int32(p.waker.fd())
	for i := range n {
		e := &p.buf[i]
		if e.Fd == wfd {
			p.waker.drain()
			continue
		}
		var ev Events
		if e.Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
			ev |= Readable
		}
		if e.Events&(unix.EPOLLOUT|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
			ev |= Writable
		}
		events[out] = Event{FD: e.Fd, Events: ev}
		out++
	}
	return out, nil
}

func (p *epoll) wait(max int, timeout time.Duration) (int, error) {
	n, err := unix.EpollWait(p.epfd, p.buf[:max], 0)
	if timeout == 0 || n > 0 || (err != nil && err != unix.EINTR) || p.rc == nil {
		if timeout != 0 && n == 0 && err == nil {
			// Not pollable by the runtime: block in the kernel.
			n, err = unix.EpollWait(p.epfd, p.buf[:max], millis(timeout))
		}
		return p.result(n, err)
	}
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	if err := p.file.SetReadDeadline(deadline); err != nil {
		return 0, fmt.Errorf("epoll: %w", err)
	}
	p.tryMax = max
	rerr := p.rc.Read(p.try)
	if errors.Is(rerr, os.ErrDeadlineExceeded) {
		return 0, nil
	}
	if rerr != nil {
		return 0, fmt.Errorf("epoll: %w", rerr)
	}
	return p.result(p.tryN, p.tryErr)
}

// tryWait is the nonblocking look RawConn.Read makes each time the
// runtime sees the epoll descriptor readable; false parks again.
func (p *epoll) tryWait(fd uintptr) bool {
	p.tryN, p.tryErr = unix.EpollWait(int(fd), p.buf[:p.tryMax], 0)
	return p.tryN > 0 || (p.tryErr != nil && p.tryErr != unix.EINTR)
}

func (p *epoll) result(n int, err error) (int, error) {
	if err == unix.EINTR {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("epoll_wait: %w", err)
	}
	return n, nil
}

func (p *epoll) Wake() error { return p.guard.do(p.waker.wake) }

// FD is the epoll descriptor itself: it polls readable when epoll_wait
// would return an event, the eventfd waker included.
func (p *epoll) FD() (int, error) { return p.epfd, nil }

func (p *epoll) Close() error {
	if !p.guard.close() {
		return nil
	}
	err := p.waker.close()
	var err2 error
	if p.file != nil {
		err2 = p.file.Close()
	} else {
		err2 = unix.Close(p.epfd)
	}
	if err == nil {
		err = err2
	}
	return err
}
