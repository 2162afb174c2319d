package reactor

import (
	"errors"
	"fmt"
	"math"

	"github.com/loomkit/loom/reactor/internal/poller"
	"golang.org/x/sys/unix"
)

// ErrAlreadyWatched is returned when a descriptor already has a reader
// (AddReader) or a writer (AddWriter).
var ErrAlreadyWatched = errors.New("reactor: descriptor already watched")

type fdState struct {
	fd             int
	reader, writer func()
	added          uint64 // r.pass when registered: batches up to it are stale
	served         uint64 // r.pass of the batch that last dispatched it
}

func (st *fdState) events() poller.Events {
	var ev poller.Events
	if st.reader != nil {
		ev |= poller.Readable
	}
	if st.writer != nil {
		ev |= poller.Writable
	}
	return ev
}

func (r *Reactor) lookup(fd int) *fdState {
	if fd >= 0 && fd < len(r.fds) {
		return r.fds[fd]
	}
	return nil
}

// AddReader calls f on the reactor goroutine whenever fd is readable (data,
// end of file, an error or a connection to accept), until RemoveReader.
// Readiness is level-triggered: f is called again on the next pass if it
// left data unread. A closed or invalid fd is an error (one wrapping
// EBADF for a number no descriptor can have), as is an fd that already
// has a reader. The descriptor should be nonblocking. AddReader
// must be called on the reactor goroutine.
func (r *Reactor) AddReader(fd int, f func()) error {
	r.loopOnly("AddReader")
	return r.watch(fd, f, poller.Readable)
}

// AddWriter calls f on the reactor goroutine whenever fd is writable, until
// RemoveWriter; otherwise as AddReader.
func (r *Reactor) AddWriter(fd int, f func()) error {
	r.loopOnly("AddWriter")
	return r.watch(fd, f, poller.Writable)
}

func (r *Reactor) watch(fd int, f func(), ev poller.Events) error {
	what := "AddReader"
	if ev == poller.Writable {
		what = "AddWriter"
	}
	switch {
	case r.closed.Load():
		return ErrClosed
	case f == nil:
		return fmt.Errorf("reactor: %s fd %d: nil callback", what, fd)
	case fd < 0 || fd > math.MaxInt32:
		// No descriptor has such a number, and the kernel would take
		// it truncated, as another descriptor's.
		return fmt.Errorf("reactor: %s fd %d: %w", what, fd, unix.EBADF)
	}
	st := r.lookup(fd)
	if st == nil {
		if err := r.p.Add(fd, ev); err != nil {
			return fmt.Errorf("reactor: %s: %w", what, err)
		}
		st = &fdState{fd: fd, added: r.pass}
		r.set(fd, st)
	} else {
		if st.events()&ev != 0 {
			return fmt.Errorf("reactor: %s fd %d: %w", what, fd, ErrAlreadyWatched)
		}
		if err := r.p.Modify(fd, st.events()|ev); err != nil {
			// The descriptor was closed and its number reused since it
			// was registered: the OS forgot it, so do we.
			r.set(fd, nil)
			r.p.Delete(fd)
			return fmt.Errorf("reactor: %s (was the descriptor closed while watched?): %w", what, err)
		}
	}
	if ev == poller.Readable {
		st.reader = f
	} else {
		st.writer = f
	}
	return nil
}

func (r *Reactor) set(fd int, st *fdState) {
	if fd >= len(r.fds) {
		if st == nil {
			return
		}
		r.fds = append(r.fds, make([]*fdState, fd+1-len(r.fds)+len(r.fds)/2)...)
	}
	if (r.fds[fd] == nil) != (st == nil) {
		if st == nil {
			r.nfds--
		} else {
			r.nfds++
		}
	}
	r.fds[fd] = st
}

// RemoveReader stops calling fd's reader. No reader callback for fd runs
// after it returns, even one the OS already reported in the batch being
// dispatched. Removing what is not there does nothing. Call it before
// closing fd: a descriptor closed while watched is logged as a program
// error when the reactor finds out, and until RemoveReader its reader may
// still be called while a copy of the descriptor (dup, a child's, the
// descriptor behind a net.Conn's File) keeps its file open. It must be
// called on the reactor goroutine.
func (r *Reactor) RemoveReader(fd int) { r.loopOnly("RemoveReader"); r.unwatch(fd, poller.Readable) }

// RemoveWriter stops calling fd's writer, as RemoveReader.
func (r *Reactor) RemoveWriter(fd int) { r.loopOnly("RemoveWriter"); r.unwatch(fd, poller.Writable) }

func (r *Reactor) unwatch(fd int, ev poller.Events) {
	st := r.lookup(fd)
	if st == nil || st.events()&ev == 0 {
		return
	}
	if ev == poller.Readable {
		st.reader = nil
	} else {
		st.writer = nil
	}
	if left := st.events(); left != 0 {
		err := r.p.Modify(fd, left)
		if err == nil {
			return
		}
		// Closed while watched: nothing left to watch.
		r.removeFailed(fd, err)
		st.reader, st.writer = nil, nil
		r.set(fd, nil)
		r.p.Delete(fd) // said already, if it fails too
		return
	}
	r.set(fd, nil)
	if err := r.p.Delete(fd); err != nil {
		r.removeFailed(fd, err)
	}
}

// closedWhileWatched is logged, on every backend, when the reactor finds
// that a program closed a descriptor before removing it.
const closedWhileWatched = "reactor: descriptor closed while watched; removed it (call RemoveReader/RemoveWriter before closing)"

func (r *Reactor) removeFailed(fd int, err error) {
	if errors.Is(err, poller.ErrClosedWhileRegistered) {
		r.log.Error(closedWhileWatched, "fd", fd)
		return
	}
	r.log.Warn("reactor: removing descriptor", "fd", fd, "err", err)
}

// RemoveAll stops watching every descriptor added with AddReader or
// AddWriter and returns them. It must be called on the reactor goroutine.
func (r *Reactor) RemoveAll() []int {
	var out []int
	for fd, st := range r.fds {
		if st != nil {
			out = append(out, fd)
			r.RemoveReader(fd)
			r.RemoveWriter(fd)
		}
	}
	return out
}

// Watched returns how many descriptors have a reader or a writer.
func (r *Reactor) Watched() int { return r.nfds }

// dispatch runs the callbacks of one batch of readiness events, the one
// the pass numbered pass waited for. An event is stale, and skipped, when
// its descriptor was removed since (or removed and added again: the
// number may now name another file), or when a nested pass has served
// the descriptor already.
func (r *Reactor) dispatch(events []poller.Event, pass uint64) {
	for i := range events {
		e := events[i]
		fd := int(e.FD)
		st := r.lookup(fd)
		if st == nil || st.added >= pass || st.served > pass {
			continue
		}
		st.served = pass
		if e.Invalid {
			r.log.Error(closedWhileWatched, "fd", fd)
			r.set(fd, nil)
			continue
		}
		if e.Events&poller.Readable != 0 && st.reader != nil {
			r.call(st.reader, kindReader, fd)
		}
		if e.Events&poller.Writable != 0 && st.writer != nil &&
			r.lookup(fd) == st && st.served == pass {
			r.call(st.writer, kindWriter, fd)
		}
	}
}
