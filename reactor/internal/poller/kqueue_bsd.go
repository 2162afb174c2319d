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
//
// # Descriptors closed while registered
//
// Unlike epoll's, kqueue's filters belong to the number: close(2) removes
// those registered under it, whatever copies of the descriptor remain
// open (kqueue(2): "Calling close() on a file descriptor will remove any
// kevents that reference the descriptor"). Nothing lingers to be
// reported; a later change under the number fails with EBADF (closed)
// or ENOENT (reused by a file without those filters), which Modify and
// Delete report as ErrClosedWhileRegistered. Each change is a kevent
// call of its own: with no room in the event list, kevent(2) returns at
// the first change that fails and applies none of the rest, which would
// leave the other filter of a reused number registered and reported on
// every wait.
type kqueue struct {
	kq       int
	interest map[int]Events
	pipe     *pipeWaker // nil when EVFILT_USER wakes the queue
	guard    guard
	buf      []unix.Kevent_t
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

// filterOf pairs each direction with its kqueue filter, read first.
var filterOf = [...]struct {
	bit    Events
	filter int
}{{Readable, unix.EVFILT_READ}, {Writable, unix.EVFILT_WRITE}}

// kevent1 applies one change and returns its own error. One change per
// call, because with no room in the event list kevent(2) returns at the
// first change that fails and leaves the rest of the list unapplied.
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

// change applies flags to the filters of ev, one call each, and returns
// the directions it applied before the first error.
func (p *kqueue) change(fd int, ev Events, flags int) (Events, error) {
	var done Events
	for _, f := range filterOf {
		if ev&f.bit == 0 {
			continue
		}
		if err := kevent1(p.kq, fd, f.filter, flags); err != nil {
			return done, err
		}
		done |= f.bit
	}
	return done, nil
}

// isGone tells the errors of a change on a descriptor closed since its
// filters were added: close(2) removed them (kqueue(2): "Calling close()
// on a file descriptor will remove any kevents that reference the
// descriptor"), so the number is closed (EBADF) or names a file without
// them (ENOENT).
func isGone(err error) bool {
	return errors.Is(err, unix.EBADF) || errors.Is(err, unix.ENOENT)
}

// closedWhileRegistered forgets fd, found closed by a change, with every
// filter added under its number since.
func (p *kqueue) closedWhileRegistered(fd int, what string, err error) error {
	p.change(fd, p.interest[fd], unix.EV_DELETE) // each one that is left
	delete(p.interest, fd)
	return fmt.Errorf("kqueue %s fd %d: %w (%w)", what, fd, ErrClosedWhileRegistered, err)
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
	if done, err := p.change(fd, ev, unix.EV_ADD); err != nil {
		p.change(fd, done, unix.EV_DELETE)
		return fmt.Errorf("kqueue add fd %d: %w", fd, err)
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
	if done, err := p.change(fd, old&^ev, unix.EV_DELETE); err != nil {
		p.interest[fd] = old &^ done
		if isGone(err) {
			return p.closedWhileRegistered(fd, "modify", err)
		}
		return fmt.Errorf("kqueue modify fd %d: %w", fd, err)
	}
	if done, err := p.change(fd, ev&^old, unix.EV_ADD); err != nil {
		p.interest[fd] = old&ev | done
		if errors.Is(err, unix.EBADF) {
			return p.closedWhileRegistered(fd, "modify", err)
		}
		return fmt.Errorf("kqueue modify fd %d: %w", fd, err)
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
	// Every filter, each in its own call: one that fails must not
	// leave the other registered, and reported forever.
	var first error
	for _, f := range filterOf {
		if old&f.bit == 0 {
			continue
		}
		if err := kevent1(p.kq, fd, f.filter, unix.EV_DELETE); err != nil && first == nil {
			first = err
		}
	}
	switch {
	case first == nil:
		return nil
	case isGone(first):
		return fmt.Errorf("kqueue delete fd %d: %w (%w)", fd, ErrClosedWhileRegistered, first)
	}
	return fmt.Errorf("kqueue delete fd %d: %w", fd, first)
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
		if p.interest[fd]&ev == 0 {
			// A filter this poller does not hold: a leftover it cannot
			// have made, deleted rather than reported on every wait.
			if k.Flags&unix.EV_ERROR == 0 {
				kevent1(p.kq, fd, int(k.Filter), unix.EV_DELETE)
			}
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
