package poller

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

func init() { register("epoll", 0, openEpoll) }

// epoll is the Linux backend: O(1) per wait in the number of registered
// descriptors, level-triggered, woken by an eventfd in its own set.
type epoll struct {
	epfd  int
	waker waker
	guard guard
	buf   []unix.EpollEvent
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
	return &epoll{epfd: epfd, waker: w, buf: make([]unix.EpollEvent, 128)}, nil
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
	e := unix.EpollEvent{Events: epollEvents(ev), Fd: int32(fd)}
	if err := unix.EpollCtl(p.epfd, op, fd, &e); err != nil {
		return fmt.Errorf("epoll %s fd %d: %w", what, fd, err)
	}
	return nil
}

func (p *epoll) Add(fd int, ev Events) error    { return p.ctl(unix.EPOLL_CTL_ADD, fd, ev, "add") }
func (p *epoll) Modify(fd int, ev Events) error { return p.ctl(unix.EPOLL_CTL_MOD, fd, ev, "modify") }

func (p *epoll) Delete(fd int) error {
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
	n, err := unix.EpollWait(p.epfd, p.buf[:max], millis(timeout))
	if err == unix.EINTR {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("epoll_wait: %w", err)
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

func (p *epoll) Wake() error { return p.guard.do(p.waker.wake) }

// FD is the epoll descriptor itself: it polls readable when epoll_wait
// would return an event, the eventfd waker included.
func (p *epoll) FD() (int, error) { return p.epfd, nil }

func (p *epoll) Close() error {
	if !p.guard.close() {
		return nil
	}
	err := p.waker.close()
	if err2 := unix.Close(p.epfd); err == nil {
		err = err2
	}
	return err
}
