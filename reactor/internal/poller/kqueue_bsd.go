//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package poller

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

func init() { register("kqueue", 0, openKqueue) }

// kqueue is the BSD and macOS backend. Read and write interest are two
// filters (EVFILT_READ, EVFILT_WRITE) on one descriptor, so a descriptor
// ready both ways comes back as two events; the reactor handles either.
// Filters are level-triggered (no EV_CLEAR), as epoll's default.
//
// Wakeups use EVFILT_USER where the system has it (see wakeUser in
// kqueue_user.go) and a self-pipe in the set otherwise (kqueue_nouser.go).
type kqueue struct {
	kq       int
	interest map[int]Events
	pipe     *pipeWaker // nil when EVFILT_USER wakes the queue
	guard    guard
	buf      []unix.Kevent_t
	changes  [2]unix.Kevent_t
}

func openKqueue() (Poller, error) {
	kq, err := unix.Kqueue()
	if err != nil {
		return nil, fmt.Errorf("kqueue: %w", err)
	}
	unix.CloseOnExec(kq)
	p := &kqueue{kq: kq, interest: make(map[int]Events), buf: make([]unix.Kevent_t, 128)}
	if err := p.addWaker(); err != nil {
		unix.Close(kq)
		return nil, err
	}
	return p, nil
}

func (p *kqueue) addWaker() error {
	if haveUserFilter {
		return addUserWaker(p.kq)
	}
	w, err := newPipeWaker()
	if err != nil {
		return err
	}
	var ev [1]unix.Kevent_t
	unix.SetKevent(&ev[0], w.fd(), unix.EVFILT_READ, unix.EV_ADD)
	if _, err := unix.Kevent(p.kq, ev[:], nil, nil); err != nil {
		w.close()
		return fmt.Errorf("kevent add wake pipe: %w", err)
	}
	p.pipe = w
	return nil
}

// apply sets fd's filters from old to ev in one kevent call. With no event
// list, kevent(2) reports the first failing change as its own error.
func (p *kqueue) apply(fd int, old, ev Events, what string) error {
	n := 0
	for _, f := range [2]struct {
		bit    Events
		filter int
	}{{Readable, unix.EVFILT_READ}, {Writable, unix.EVFILT_WRITE}} {
		switch {
		case ev&f.bit != 0 && old&f.bit == 0:
			unix.SetKevent(&p.changes[n], fd, f.filter, unix.EV_ADD)
			n++
		case ev&f.bit == 0 && old&f.bit != 0:
			unix.SetKevent(&p.changes[n], fd, f.filter, unix.EV_DELETE)
			n++
		}
	}
	if n == 0 {
		return nil
	}
	if _, err := unix.Kevent(p.kq, p.changes[:n], nil, nil); err != nil {
		return fmt.Errorf("kqueue %s fd %d: %w", what, fd, err)
	}
	return nil
}

// filters lists the kqueue filters of ev, read first.
func filters(ev Events) []int {
	switch ev & (Readable | Writable) {
	case Readable:
		return []int{unix.EVFILT_READ}
	case Writable:
		return []int{unix.EVFILT_WRITE}
	case Readable | Writable:
		return []int{unix.EVFILT_READ, unix.EVFILT_WRITE}
	}
	return nil
}

// kevent1 applies one change and returns its own error. One change per
// call, because with no room for receipts kevent(2) stops at the first
// change that fails and leaves the rest of the list unapplied.
func kevent1(kq, fd, filter, flags int) error {
	var ch [1]unix.Kevent_t
	unix.SetKevent(&ch[0], fd, filter, flags)
	_, err := unix.Kevent(kq, ch[:], nil, nil)
	if err == unix.EINTR {
		// kevent(2): "When kevent() call fails with EINTR error, all
		// changes in the changelist have been applied."
		return nil
	}
	return err
}

func (p *kqueue) Add(fd int, ev Events) error {
	if err := checkFD(fd, "kqueue add"); err != nil {
		return err
	}
	if _, ok := p.interest[fd]; ok {
		return fmt.Errorf("kqueue add fd %d: %w", fd, unix.EEXIST)
	}
	// kqueue accepts files with "readable until EOF" meaning; refuse
	// them as epoll does, so every backend means the same thing.
	if err := checkPollable(fd); err != nil {
		return fmt.Errorf("kqueue add fd %d: %w", fd, err)
	}
	if err := p.apply(fd, 0, ev, "add"); err != nil {
		// A failure on the second filter may leave the first in place.
		p.apply(fd, ev, 0, "undo")
		return err
	}
	p.interest[fd] = ev
	return nil
}

func (p *kqueue) Modify(fd int, ev Events) error {
	if err := checkFD(fd, "kqueue modify"); err != nil {
		return err
	}
	old, ok := p.interest[fd]
	if !ok {
		return fmt.Errorf("kqueue modify fd %d: %w", fd, unix.ENOENT)
	}
	if err := p.apply(fd, old, ev, "modify"); err != nil {
		return err
	}
	p.interest[fd] = ev
	return nil
}

func (p *kqueue) Delete(fd int) error {
	if checkFD(fd, "") != nil {
		return nil // never registered
	}
	old, ok := p.interest[fd]
	if !ok {
		return nil
	}
	delete(p.interest, fd)
	// close(2) already removed the knotes of a closed descriptor: EBADF
	// and ENOENT are expected then.
	if err := p.apply(fd, old, 0, "delete"); err != nil && !isGone(err) {
		return err
	}
	return nil
}

func isGone(err error) bool {
	return errors.Is(err, unix.EBADF) || errors.Is(err, unix.ENOENT)
}

func (p *kqueue) Wait(events []Event, timeout time.Duration) (int, error) {
	var ts *unix.Timespec
	if timeout >= 0 {
		t := unix.NsecToTimespec(int64(timeout))
		// macOS fails kevent with EINVAL for very long timeouts; waking
		// early is allowed. Go's runtime caps at the same 1e6 seconds.
		if t.Sec > 1e6 {
			t.Sec, t.Nsec = 1e6, 0
		}
		ts = &t
	}
	max := min(len(events), len(p.buf))
	n, err := unix.Kevent(p.kq, nil, p.buf[:max], ts)
	if err == unix.EINTR || err == unix.ETIMEDOUT {
		// ETIMEDOUT: macOS has been seen to return it from a timed
		// kevent (golang.org/issue/59679); it means nothing happened.
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("kevent wait: %w", err)
	}
	out := 0
	for i := range n {
		k := &p.buf[i]
		fd := int(k.Ident)
		switch {
		case haveUserFilter && isUserWake(k):
			continue
		case p.pipe != nil && fd == p.pipe.fd():
			p.pipe.drain()
			continue
		}
		var ev Events
		switch {
		case k.Flags&unix.EV_ERROR != 0:
			// A failed registration surfaced late: let both handlers
			// see the error on their next read or write.
			ev = Readable | Writable
		case k.Filter == unix.EVFILT_READ:
			ev = Readable
		case k.Filter == unix.EVFILT_WRITE:
			ev = Writable
		default:
			continue
		}
		events[out] = Event{FD: int32(fd), Events: ev}
		out++
	}
	return out, nil
}

func (p *kqueue) Wake() error {
	return p.guard.do(func() error {
		if p.pipe != nil {
			return p.pipe.wake()
		}
		return triggerUserWaker(p.kq)
	})
}

// FD is the kqueue descriptor: it polls readable while events are pending.
func (p *kqueue) FD() (int, error) { return p.kq, nil }

func (p *kqueue) Close() error {
	if !p.guard.close() {
		return nil
	}
	var err error
	if p.pipe != nil {
		err = p.pipe.close()
	}
	if err2 := unix.Close(p.kq); err == nil {
		err = err2
	}
	return err
}
