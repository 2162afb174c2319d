//go:build unix

package poller

import (
	"fmt"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

func init() { register("poll", 10, openPoll) }

// pollPoller is the portable backend over poll(2): O(n) per wait in the
// number of registered descriptors. Slot 0 of fds is the waker.
type pollPoller struct {
	fds   []unix.PollFd
	slot  map[int32]int // fd -> index in fds
	waker waker
	probe prober
	guard guard
	next  int // where the next Wait starts scanning (0 is fds[1]), for fairness

	// mu guards fds against the embedding helper's snapshot; it is only
	// taken while an embedder runs.
	mu    sync.Mutex
	embed *pollEmbed
}

func openPoll() (Poller, error) {
	w, err := newWaker()
	if err != nil {
		return nil, err
	}
	p := &pollPoller{waker: w, slot: make(map[int32]int)}
	p.fds = append(p.fds, unix.PollFd{Fd: int32(w.fd()), Events: unix.POLLIN})
	return p, nil
}

func pollEvents(ev Events) int16 {
	var e int16
	if ev&Readable != 0 {
		e |= unix.POLLIN
	}
	if ev&Writable != 0 {
		e |= unix.POLLOUT
	}
	return e
}

func eventsOf(e int16) Events {
	var ev Events
	if e&unix.POLLIN != 0 {
		ev |= Readable
	}
	if e&unix.POLLOUT != 0 {
		ev |= Writable
	}
	return ev
}

// changed runs f with the set locked and tells the embedder to look again.
func (p *pollPoller) changed(f func()) {
	if p.embed == nil {
		f()
		return
	}
	p.mu.Lock()
	f()
	p.mu.Unlock()
	p.embed.ctl.wake()
}

func (p *pollPoller) Add(fd int, ev Events) error {
	if err := checkFD(fd, "poll add"); err != nil {
		return err
	}
	if _, ok := p.slot[int32(fd)]; ok {
		return fmt.Errorf("poll add fd %d: %w", fd, unix.EEXIST)
	}
	// poll(2) would only report a bad descriptor later, as POLLNVAL on
	// every wait, and reports files always ready: ask the OS's other
	// mechanism now, so the caller gets the answer its backend gives.
	if err := p.probe.add(fd, ev); err != nil {
		return fmt.Errorf("poll add fd %d: %w", fd, err)
	}
	p.changed(func() {
		p.slot[int32(fd)] = len(p.fds)
		p.fds = append(p.fds, unix.PollFd{Fd: int32(fd), Events: pollEvents(ev)})
	})
	return nil
}

func (p *pollPoller) Modify(fd int, ev Events) error {
	if err := checkFD(fd, "poll modify"); err != nil {
		return err
	}
	i, ok := p.slot[int32(fd)]
	if !ok {
		return fmt.Errorf("poll modify fd %d: %w", fd, unix.ENOENT)
	}
	if err := isOpen(fd); err != nil {
		p.changed(func() { p.remove(int32(fd)) })
		return fmt.Errorf("poll modify fd %d: %w (%w)", fd, ErrClosedWhileRegistered, err)
	}
	if err := p.probe.modify(fd, ev&^eventsOf(p.fds[i].Events)); err != nil {
		return fmt.Errorf("poll modify fd %d: %w", fd, err)
	}
	p.changed(func() { p.fds[i].Events = pollEvents(ev) })
	return nil
}

func (p *pollPoller) Delete(fd int) error {
	if checkFD(fd, "") != nil {
		return nil // never registered
	}
	if _, ok := p.slot[int32(fd)]; !ok {
		return nil
	}
	p.changed(func() { p.remove(int32(fd)) })
	// Nothing to undo in the kernel, but the program closed fd while
	// registered: say so, as the other backends do.
	if err := isOpen(fd); err != nil {
		return fmt.Errorf("poll delete fd %d: %w (%w)", fd, ErrClosedWhileRegistered, err)
	}
	return nil
}

// isOpen returns EBADF if fd is not an open descriptor.
func isOpen(fd int) error {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err == unix.EBADF {
		return err
	}
	return nil
}

// remove swaps fd's slot with the last one.
func (p *pollPoller) remove(fd int32) {
	i := p.slot[fd]
	last := len(p.fds) - 1
	p.fds[i] = p.fds[last]
	p.slot[p.fds[i].Fd] = i
	p.fds = p.fds[:last]
	delete(p.slot, fd)
}

func (p *pollPoller) Wait(events []Event, timeout time.Duration) (int, error) {
	if p.embed != nil {
		p.embed.notify.drain()
	}
	n, err := unix.Poll(p.fds, millis(timeout))
	if err == unix.EINTR {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("poll: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	if p.fds[0].Revents != 0 {
		p.waker.drain()
		n--
	}
	// Scan from where the last full batch stopped, so that with more
	// ready descriptors than room in events none starves; stop as soon as
	// the n that poll reported are found. The set may have shrunk or
	// grown since next was set: it is reduced modulo the set's size now,
	// so no sequence of changes can index past the end.
	out, count := 0, len(p.fds)-1
	var invalid []int32
	start := 0
	if count > 0 {
		start = p.next % count
	}
	for k := 0; k < count && n > 0 && out < len(events); k++ {
		i := 1 + (start+k)%count
		f := &p.fds[i]
		r := f.Revents
		if r == 0 {
			continue
		}
		n--
		p.next = i % count
		if r&unix.POLLNVAL != 0 {
			events[out] = Event{FD: f.Fd, Invalid: true}
			out++
			invalid = append(invalid, f.Fd)
			continue
		}
		var ev Events
		if r&(unix.POLLIN|unix.POLLHUP|unix.POLLERR) != 0 {
			ev |= Readable
		}
		if r&(unix.POLLOUT|unix.POLLHUP|unix.POLLERR) != 0 {
			ev |= Writable
		}
		events[out] = Event{FD: f.Fd, Events: ev}
		out++
	}
	for _, fd := range invalid {
		p.changed(func() { p.remove(fd) })
	}
	return out, nil
}

func (p *pollPoller) Wake() error { return p.guard.do(p.waker.wake) }

// FD gives the poll backend the single pollable descriptor it lacks: the
// first call starts an embedder goroutine that polls the same set and
// signals one descriptor when something is ready, then waits until the
// reactor has run a pass before polling again, so no readiness is
// announced twice.
func (p *pollPoller) FD() (int, error) {
	if p.embed == nil {
		e, err := startPollEmbed(p)
		if err != nil {
			return -1, err
		}
		p.embed = e
	}
	return p.embed.notify.fd(), nil
}

// PassDone tells the embedder that the reactor finished dispatching what
// the last Wait reported.
func (p *pollPoller) PassDone() {
	if p.embed != nil {
		select {
		case p.embed.passed <- struct{}{}:
		default:
		}
	}
}

func (p *pollPoller) Close() error {
	if !p.guard.close() {
		return nil
	}
	var err error
	if p.embed != nil {
		err = p.embed.stop()
	}
	if err2 := p.waker.close(); err == nil {
		err = err2
	}
	if err2 := p.probe.close(); err == nil {
		err = err2
	}
	return err
}

// embedRecheck bounds how long the embedding goroutine's poll sleeps.
// While poll(2) sleeps it holds a reference to every file in its set
// (Linux does not wake it on close), so a descriptor the program closed
// while registered would keep its file open (a socket's peer sees no end
// of file) until something else woke it. Waking at least this often lets
// go of such a file, and the next poll reports its number as POLLNVAL.
var embedRecheck = time.Second

// pollEmbed is the goroutine behind pollPoller.FD.
type pollEmbed struct {
	p      *pollPoller
	notify waker // readable when the reactor has work: FD's answer
	ctl    waker // wakes the embedder: the set changed, or stop
	passed chan struct{}
	done   chan struct{}
	wg     sync.WaitGroup
}

func startPollEmbed(p *pollPoller) (*pollEmbed, error) {
	notify, err := newWaker()
	if err != nil {
		return nil, err
	}
	ctl, err := newPipeWaker()
	if err != nil {
		notify.close()
		return nil, err
	}
	e := &pollEmbed{p: p, notify: notify, ctl: ctl, passed: make(chan struct{}, 1), done: make(chan struct{})}
	e.wg.Add(1)
	go e.loop()
	return e, nil
}

func (e *pollEmbed) loop() {
	defer e.wg.Done()
	var set []unix.PollFd
	for {
		// stop closes done before it writes to ctl: checked here, a stop
		// whose byte an earlier iteration drained is still seen.
		select {
		case <-e.done:
			return
		default:
		}
		e.p.mu.Lock()
		set = append(set[:0], unix.PollFd{Fd: int32(e.ctl.fd()), Events: unix.POLLIN})
		set = append(set, e.p.fds...)
		e.p.mu.Unlock()
		n, err := unix.Poll(set, millis(embedRecheck))
		select {
		case <-e.done:
			return
		default:
		}
		if err != nil || n == 0 {
			continue // EINTR, or time to take a new snapshot
		}
		if set[0].Revents != 0 {
			e.ctl.drain()
		}
		ready := false
		for _, f := range set[1:] {
			if f.Revents != 0 {
				ready = true
				break
			}
		}
		if !ready {
			continue // only the set changed: take a new snapshot
		}
		// Drop a stale "pass done" from before this readiness, announce,
		// and wait for the reactor to dispatch before looking again.
		select {
		case <-e.passed:
		default:
		}
		e.notify.wake()
		select {
		case <-e.passed:
		case <-e.done:
			return
		}
	}
}

func (e *pollEmbed) stop() error {
	close(e.done)
	e.ctl.wake()
	e.wg.Wait()
	err := e.notify.close()
	if err2 := e.ctl.close(); err == nil {
		err = err2
	}
	return err
}
