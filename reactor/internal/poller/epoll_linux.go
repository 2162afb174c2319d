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
//
// # Descriptors closed while registered
//
// An epoll registration belongs to the open file, not to the number:
// closing a number leaves it registered, and reported under that number,
// while a copy of the descriptor (dup, a net.Conn's own after File, a
// child's inherited one) keeps the file open (epoll(7), "Will closing a
// file descriptor cause it to be removed from all epoll interest
// lists?"). EPOLL_CTL_DEL can no longer reach it: the number is closed
// (EBADF) or names another file (ENOENT). Left there, a ready file is
// reported on every wait, forever, after Delete, and to whoever registers
// the number next.
//
// So the poller keeps its own record of what it registered, each
// registration with a generation carried in the event's data. A report
// the record does not have, or has under another generation, comes from
// such a leftover: Wait drops it and rebuilds the set, a new epoll set
// given every recorded registration, the old one closed with its
// leftovers. A recorded descriptor that cannot be registered again (it
// was closed too) is reported once as Invalid. The rebuild is rare: it
// takes a closed descriptor with a live copy, and a report for it.
//
// The set rebuilt is not the descriptor FD returns, which a foreign loop
// holds and polls for as long as the reactor lives: FD is an epoll set of
// its own whose one member is the current set, created on the first
// call. The reactor's own wait parks on the current set directly, so a
// reactor that nobody embeds pays nothing for the nesting.
type epoll struct {
	ep    int             // the current set: the waker and every registration
	file  *os.File        // owns ep; nil if the runtime would not poll it
	rc    syscall.RawConn // nil if the runtime would not poll ep
	outer int             // FD's set, holding only ep; -1 until FD is called
	waker waker
	guard guard
	buf   []unix.EpollEvent

	regs    []epollReg // by descriptor number: what is registered
	gen     uint32     // the last registration's generation
	stale   bool       // the kernel reported a leftover registration
	invalid []int32    // recorded descriptors a rebuild could not keep

	// The parked wait's state, kept here so that the function handed to
	// RawConn.Read is made once and a wait allocates nothing.
	try          func(fd uintptr) bool
	tryMax, tryN int
	tryErr       error
}

// epollReg is one recorded registration; ev == 0 is none.
type epollReg struct {
	ev  Events
	gen uint32 // in the event's Pad; the waker's is 0
}

func openEpoll() (Poller, error) {
	w, err := newWaker()
	if err != nil {
		return nil, err
	}
	p := &epoll{waker: w, outer: -1, buf: make([]unix.EpollEvent, 128)}
	p.try = p.tryWait
	if p.ep, p.file, p.rc, err = p.openSet(); err != nil {
		w.close()
		return nil, err
	}
	return p, nil
}

// openSet makes a set holding the waker.
func (p *epoll) openSet() (int, *os.File, syscall.RawConn, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return -1, nil, nil, fmt.Errorf("epoll_create1: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(p.waker.fd())}
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, p.waker.fd(), &ev); err != nil {
		unix.Close(ep)
		return -1, nil, nil, fmt.Errorf("epoll_ctl add waker: %w", err)
	}
	// A nonblocking descriptor given to os.NewFile joins the runtime's
	// netpoller; SetReadDeadline fails if it did not.
	if unix.SetNonblock(ep, true) != nil {
		return ep, nil, nil, nil
	}
	file := os.NewFile(uintptr(ep), "epoll")
	var rc syscall.RawConn
	if file.SetReadDeadline(time.Time{}) == nil {
		rc, _ = file.SyscallConn()
	}
	return ep, file, rc, nil
}

// rebuild replaces the current set with a new one holding the waker and
// every recorded registration, and closes the old one, the kernel's
// leftovers with it. A recorded descriptor that cannot be registered
// again is dropped and queued to be reported as Invalid.
func (p *epoll) rebuild() error {
	ep, file, rc, err := p.openSet()
	if err != nil {
		return err
	}
	for fd, reg := range p.regs {
		if reg.ev == 0 {
			continue
		}
		var err error = unix.EBADF
		// A recorded number that is one of ours was closed by the
		// program and reused by this poller: it is not the program's.
		if own := fd == ep || fd == p.ep || fd == p.outer || fd == p.waker.fd(); !own {
			e := unix.EpollEvent{Events: epollEvents(reg.ev), Fd: int32(fd), Pad: int32(reg.gen)}
			err = unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &e)
		}
		if err != nil {
			p.regs[fd] = epollReg{}
			p.invalid = append(p.invalid, int32(fd))
		}
	}
	if p.outer >= 0 {
		e := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(ep)}
		if err := unix.EpollCtl(p.outer, unix.EPOLL_CTL_ADD, ep, &e); err != nil {
			closeSet(ep, file)
			return fmt.Errorf("epoll_ctl add set to the embedding set: %w", err)
		}
		unix.EpollCtl(p.outer, unix.EPOLL_CTL_DEL, p.ep, nil)
	}
	err = closeSet(p.ep, p.file)
	p.ep, p.file, p.rc, p.stale = ep, file, rc, false
	return err
}

func closeSet(ep int, file *os.File) error {
	if file != nil {
		return file.Close()
	}
	return unix.Close(ep)
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

func (p *epoll) reg(fd int) epollReg {
	if fd >= 0 && fd < len(p.regs) {
		return p.regs[fd]
	}
	return epollReg{}
}

func (p *epoll) record(fd int, reg epollReg) {
	if fd >= len(p.regs) {
		if reg.ev == 0 {
			return
		}
		// The kernel has just accepted fd: the table is as large as
		// the descriptors the process really has.
		p.regs = append(p.regs, make([]epollReg, fd+1-len(p.regs)+len(p.regs)/2)...)
	}
	p.regs[fd] = reg
}

// forgetInvalid drops fd from the Invalid reports still to be made: they
// were about the registration being replaced or deleted.
func (p *epoll) forgetInvalid(fd int) {
	for i, x := range p.invalid {
		if int(x) == fd {
			p.invalid = append(p.invalid[:i], p.invalid[i+1:]...)
			return
		}
	}
}

func (p *epoll) Add(fd int, ev Events) error {
	if err := checkFD(fd, "epoll add"); err != nil {
		return err
	}
	if p.reg(fd).ev != 0 {
		return fmt.Errorf("epoll add fd %d: %w", fd, unix.EEXIST)
	}
	if p.gen++; p.gen == 0 {
		p.gen = 1
	}
	reg := epollReg{ev, p.gen}
	e := unix.EpollEvent{Events: epollEvents(ev), Fd: int32(fd), Pad: int32(reg.gen)}
	err := unix.EpollCtl(p.ep, unix.EPOLL_CTL_ADD, fd, &e)
	if err == unix.EEXIST {
		// A leftover of this very file under this number (closed and
		// dup'ed back since it was deleted): take it over.
		err = unix.EpollCtl(p.ep, unix.EPOLL_CTL_MOD, fd, &e)
	}
	if err != nil {
		return fmt.Errorf("epoll add fd %d: %w", fd, err)
	}
	p.forgetInvalid(fd)
	p.record(fd, reg)
	return nil
}

func (p *epoll) Modify(fd int, ev Events) error {
	if err := checkFD(fd, "epoll modify"); err != nil {
		return err
	}
	reg := p.reg(fd)
	if reg.ev == 0 {
		return fmt.Errorf("epoll modify fd %d: %w", fd, unix.ENOENT)
	}
	e := unix.EpollEvent{Events: epollEvents(ev), Fd: int32(fd), Pad: int32(reg.gen)}
	err := unix.EpollCtl(p.ep, unix.EPOLL_CTL_MOD, fd, &e)
	if err == unix.EBADF || err == unix.ENOENT {
		// Closed, or the number names another file now: what the
		// kernel may still hold is a leftover that Wait will catch.
		p.regs[fd] = epollReg{}
		return fmt.Errorf("epoll modify fd %d: %w (%w)", fd, ErrClosedWhileRegistered, err)
	}
	if err != nil {
		return fmt.Errorf("epoll modify fd %d: %w", fd, err)
	}
	p.regs[fd].ev = ev
	return nil
}

func (p *epoll) Delete(fd int) error {
	if checkFD(fd, "") != nil {
		return nil // never registered
	}
	p.forgetInvalid(fd)
	if p.reg(fd).ev == 0 {
		return nil
	}
	p.regs[fd] = epollReg{}
	err := unix.EpollCtl(p.ep, unix.EPOLL_CTL_DEL, fd, nil)
	if err == unix.EBADF || err == unix.ENOENT {
		// Closed without a copy, the kernel forgot it too; with one,
		// Wait catches the leftover when it reports it.
		return fmt.Errorf("epoll delete fd %d: %w (%w)", fd, ErrClosedWhileRegistered, err)
	}
	if err != nil {
		return fmt.Errorf("epoll delete fd %d: %w", fd, err)
	}
	return nil
}

func (p *epoll) Wait(events []Event, timeout time.Duration) (int, error) {
	out := 0
	for len(p.invalid) > 0 && out < len(events) {
		events[out] = Event{FD: p.invalid[0], Invalid: true}
		p.invalid = p.invalid[1:]
		out++
	}
	if out > 0 {
		timeout = 0 // something to report already: do not block
	}
	max := min(len(events)-out, len(p.buf))
	if max == 0 {
		return out, nil
	}
	n, err := p.wait(max, timeout)
	if err != nil {
		return out, err
	}
	wfd := int32(p.waker.fd())
	for i := range n {
		e := &p.buf[i]
		if e.Fd == wfd && e.Pad == 0 {
			p.waker.drain()
			continue
		}
		if reg := p.reg(int(e.Fd)); reg.ev == 0 || reg.gen != uint32(e.Pad) {
			p.stale = true // a leftover: see the type's doc
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
	if p.stale {
		// On failure (no descriptor left for a new set) the next
		// report of a leftover tries again.
		p.rebuild()
	}
	return out, nil
}

func (p *epoll) wait(max int, timeout time.Duration) (int, error) {
	n, err := unix.EpollWait(p.ep, p.buf[:max], 0)
	if timeout == 0 || n > 0 || (err != nil && err != unix.EINTR) || p.rc == nil {
		if timeout != 0 && n == 0 && err == nil {
			// Not pollable by the runtime: block in the kernel.
			n, err = unix.EpollWait(p.ep, p.buf[:max], millis(timeout))
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

// FD is an epoll set whose one member is the current set: it polls
// readable when epoll_wait would return an event, the eventfd waker
// included, and keeps its number and its file when the set is rebuilt.
func (p *epoll) FD() (int, error) {
	if p.outer < 0 {
		outer, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			return -1, fmt.Errorf("epoll_create1: %w", err)
		}
		e := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(p.ep)}
		if err := unix.EpollCtl(outer, unix.EPOLL_CTL_ADD, p.ep, &e); err != nil {
			unix.Close(outer)
			return -1, fmt.Errorf("epoll_ctl add set to the embedding set: %w", err)
		}
		p.outer = outer
	}
	return p.outer, nil
}

func (p *epoll) Close() error {
	if !p.guard.close() {
		return nil
	}
	err := p.waker.close()
	if err2 := closeSet(p.ep, p.file); err == nil {
		err = err2
	}
	if p.outer >= 0 {
		if err2 := unix.Close(p.outer); err == nil {
			err = err2
		}
	}
	return err
}
