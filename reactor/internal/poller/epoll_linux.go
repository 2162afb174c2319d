package poller

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func init() { register("epoll", 0, openEpoll) }

// epoll is the Linux backend: O(1) per wait in the number of registered
// descriptors, level-triggered, woken by an eventfd in its own set.
//
// # Waiting
//
// A Wait that may block waits one of two ways, whichever the wakeups of
// the moment make cheaper (the figures are in the notes after the type):
//
//   - Parked in Go's own netpoller on the epoll descriptor, which is
//     itself pollable. A Wake from another goroutine sets the parked
//     read's deadline in the past: the runtime readies the reactor
//     goroutine, with no system call at all, usually on the waker's own
//     thread. A ready descriptor costs the runtime's epoll_wait and two of
//     ours: the look that finds it, and the one before parking that finds
//     nothing (a level-triggered set that reported a descriptor stays
//     readable without telling the runtime again, so the look before
//     parking cannot be skipped).
//   - Blocked in epoll_wait in the kernel, as a C loop is: one system call
//     per wakeup, and no scheduler work. But a goroutine blocked in a
//     system call keeps the runtime's monitor thread (sysmon) polling
//     every 20 µs to 10 ms, where a parked one lets it sleep, and a Wake
//     must write the eventfd and wake the thread through the kernel.
//
// So the poller blocks in the kernel only while one descriptor keeps it
// busy: after two waits in a row that this descriptor alone ended, the
// last within kernelWindow, it waits there for at most kernelWindow, then
// parks for the rest of the timeout. A Wake, a quiet kernelWindow, or
// several descriptors (see oneBusyPeer) put it back to parking.
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

	woken    atomic.Bool  // a Wake came: the next Wait does not block
	state    atomic.Int32 // how the reactor waits: running, inKernel or parked
	embedded atomic.Bool  // FD was called: a Wake must make the set readable
	busy     bool         // one descriptor keeps the reactor busy: wait in the kernel
	lastFD   int32        // the one descriptor the last wait returned, or -1
}

// The reactor goroutine's state, read by Wake.
const (
	running int32 = iota
	inKernel
	parked
)

// How the ways of waiting compare, measured here (2 shared
// cores; a 64-byte ping-pong on one loopback connection, the server
// pinned to one core and bench/load to the other, every message a
// wakeup; one run, all servers in turns; CPU is the server's, all its
// threads):
//
//	                                       CPU per round trip   ÷ Go net   CallFromGoroutine round trip
//	look, then park with a deadline (old)  32.9 µs              1.06       9.1–9.8 µs (pipe: 5.4–5.9)
//	park, eventfd wakeup                   34.0 µs              1.09       7.9–8.1 µs
//	park, wakeup by deadline               33.2 µs              1.07       1.7–2.0 µs
//	always block in the kernel             24.3 µs              0.78       32–54 µs
//	kernel 1 ms, then park, always         28.4 µs              0.91       (as blocking)
//	kernel 200 µs, then park, always       24.7 µs              0.79       (as blocking)
//	Go net, a goroutine per connection     31.1 µs              1.00
//	C, one thread, epoll_wait               17.6 µs              0.57
//
// And for events 2 ms apart (the server asleep in between: CPU per
// event, noisier): old 100 µs, park with wakeup by deadline 91, always
// in the kernel 130, kernel 200 µs then park 144, Go net 84, C 50. The
// kernel wins the ping-pong because it needs no scheduler: one
// epoll_wait per wakeup where the netpoller path makes three (its own
// and our look before parking and after), and no futex hand-offs. It
// loses the spaced events because sysmon, which sleeps while every P is
// idle, polls every 20 µs to 10 ms while one is in a system call; and it
// loses the wakeup from a goroutine, which must then go through the
// kernel to another thread. Spinning before parking was not tried: it
// spends the very CPU per event that is being counted.
//
// The kernel's quick wakeup has a cost at many connections: at 50 doing
// ping-pong, a kernel wait after any quick one returned one event 60% of
// the time and cost 1.04–1.08× the CPU per message of parking, whose
// slower wakeup gathers more events per pass. Hence oneBusyPeer: the
// kernel only for one descriptor alone, wakeup after wakeup; at 50
// connections that measured 0.95–1.08× the old CPU per message (noise).
//
// What the poller does (park; the kernel only while one descriptor keeps
// it busy), measured with scripts/bench's sporadic section in one run:
// 22.8 µs per round trip against Go net's 29.1 (0.77×) and C's 17.1;
// 3.3 system calls per round trip (1 epoll_pwait, 1 read, 1 write, 0.27
// nanosleep of the runtime) against Go net's 6.1 and the old 8.5 (4.9
// epoll_pwait, 0.8 futex); 96 µs per event 2 ms apart against Go net's
// 92; a CallFromGoroutine round trip of 1.5–1.8 µs, 0.3× a goroutine
// woken through a pipe.

// kernelWindow bounds the wait in the kernel: a descriptor ready within
// it keeps the poller there, a quiet one sends it back to parking. At
// 200 µs, the end of a burst costs sysmon about ten more polls.
const kernelWindow = 200 * time.Microsecond

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
	p := &epoll{waker: w, outer: -1, lastFD: -1, buf: make([]unix.EpollEvent, 128)}
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
	p.guard.mu.Lock() // a Wake may be setting the old file's deadline
	old, oldFile := p.ep, p.file
	p.ep, p.file, p.rc, p.stale = ep, file, rc, false
	p.guard.mu.Unlock()
	return closeSet(old, oldFile)
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
	if p.woken.Swap(false) {
		timeout = 0 // a wakeup is pending: only look
	}
	if timeout == 0 || p.rc == nil {
		// Only a look, or not pollable by the runtime: the kernel.
		return p.kernelWait(max, timeout)
	}
	if p.busy {
		t := timeout
		if t < 0 || t > kernelWindow {
			t = kernelWindow
		}
		n, err := p.kernelWait(max, t)
		if n > 0 || err != nil || t == timeout || p.woken.Load() {
			woken := p.woken.Swap(false) // this wait ends: it consumes a Wake
			p.busy = p.oneBusyPeer(n) && !woken
			return n, err
		}
		p.busy = false
		if timeout > 0 {
			timeout -= t
		}
	}
	start := time.Now()
	var deadline time.Time
	if timeout > 0 {
		deadline = start.Add(timeout)
	}
	// The state, then the deadline, then the wakeup flag: a Wake either
	// finds the state parked and sets the deadline in the past after
	// ours, or sets the flag before we look at it (see wake).
	p.state.Store(parked)
	if err := p.file.SetReadDeadline(deadline); err != nil {
		p.state.Store(running)
		return 0, fmt.Errorf("epoll: %w", err)
	}
	if p.woken.Swap(false) {
		p.state.Store(running)
		return p.kernelWait(max, 0)
	}
	p.tryMax, p.tryN, p.tryErr = max, 0, nil
	rerr := p.rc.Read(p.try)
	p.state.Store(running)
	woken := p.woken.Swap(false)
	if errors.Is(rerr, os.ErrDeadlineExceeded) {
		return 0, nil // the timeout, or a Wake
	}
	if rerr != nil {
		return 0, fmt.Errorf("epoll: %w", rerr)
	}
	n, err := p.result(p.tryN, p.tryErr)
	p.busy = p.oneBusyPeer(n) && !woken && time.Since(start) < kernelWindow
	return n, err
}

// oneBusyPeer reports whether the wait that returned n events and the
// one before it each ended with the same one descriptor: one peer
// keeping the reactor busy, one event per wakeup, where the kernel's
// wait is cheapest. With several descriptors ready (or a different one
// each time: many peers), the netpoller's slower wakeup gathers more
// events per pass and costs less per event than the kernel's quick one
// (at 50 connections, 1.04–1.08× the CPU per message in the kernel).
func (p *epoll) oneBusyPeer(n int) bool {
	if n != 1 {
		p.lastFD = -1
		return false
	}
	fd := p.buf[0].Fd
	same := fd == p.lastFD
	p.lastFD = fd
	return same
}

// kernelWait blocks in epoll_wait, where a Wake must write the eventfd.
func (p *epoll) kernelWait(max int, timeout time.Duration) (int, error) {
	if timeout != 0 {
		p.state.Store(inKernel)
		if p.woken.Load() {
			timeout = 0
		}
	}
	n, err := unix.EpollWait(p.ep, p.buf[:max], millis(timeout))
	if timeout != 0 {
		p.state.Store(running)
	}
	return p.result(n, err)
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

func (p *epoll) Wake() error { return p.guard.do(p.wake) }

// pastDeadline is any time gone: as a read deadline it wakes the parked
// reactor goroutine at once.
var pastDeadline = time.Unix(1, 0)

// wake runs under the guard, so Close and a rebuild (which replace the
// descriptors) wait for it. The flag is set before the state is read:
// a reactor about to wait either sees the flag, or has published its
// state already and is woken as that state needs.
func (p *epoll) wake() error {
	p.woken.Store(true)
	if p.embedded.Load() {
		return p.waker.wake() // a foreign loop polls FD
	}
	switch p.state.Load() {
	case inKernel:
		return p.waker.wake()
	case parked:
		return p.file.SetReadDeadline(pastDeadline)
	}
	return nil // running: it looks at the flag before it waits
}

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
		// From now on Wake writes the eventfd; one that came before
		// only set the flag.
		p.embedded.Store(true)
		if p.woken.Load() {
			p.waker.wake()
		}
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
