//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package process

import (
	"time"

	"github.com/loomkit/loom/reactor"
	"golang.org/x/sys/unix"
)

// nativeWatch on macOS and the BSDs is a kqueue of its own holding one
// EVFILT_PROC filter with NOTE_EXIT for the child: the kqueue descriptor
// polls readable once the event is pending (kqueue(2): a kqueue is itself
// pollable), and the reactor watches it as a reader, whichever backend it
// runs.
type nativeWatch struct {
	kq      int  // the kqueue, while reading
	reading bool // kq is open and watched
	gone    bool // the child had exited before the filter was added
}

func (w *nativeWatch) start(p *Process) bool {
	kq, err := unix.Kqueue() // a kqueue is not inherited across fork
	if err != nil {
		return false
	}
	unix.CloseOnExec(kq)
	var change [1]unix.Kevent_t
	unix.SetKevent(&change[0], p.pid, unix.EVFILT_PROC, unix.EV_ADD|unix.EV_ONESHOT)
	change[0].Fflags = unix.NOTE_EXIT
	for {
		// With no room for events, an error in the change list is
		// kevent's own error (kqueue(2), RETURN VALUES).
		_, err = unix.Kevent(kq, change[:], nil, nil)
		if err != unix.EINTR {
			break
		}
	}
	switch err {
	case nil:
	case unix.ESRCH:
		// The child exited before the filter went in (some kernels refuse
		// EVFILT_PROC on a zombie); it is ours and unreaped, so the id
		// is still its own: reap it on the next pass.
		unix.Close(kq)
		w.gone = true
		p.r.CallSoon(p.nativeExit)
		return true
	default:
		unix.Close(kq)
		return false
	}
	if err := p.r.AddReader(kq, func() { w.ready(p) }); err != nil {
		unix.Close(kq)
		return false
	}
	w.kq, w.reading = kq, true
	return true
}

// ready runs when the kqueue polls readable: the exit event is pending.
// The kernel posts NOTE_EXIT as the child exits; cmd.Wait (waitid with
// WNOWAIT, then wait4) waits out the moment until it is a zombie.
func (w *nativeWatch) ready(p *Process) {
	if !w.reading {
		return
	}
	var ev [1]unix.Kevent_t
	n, err := unix.Kevent(w.kq, nil, ev[:], &unix.Timespec{})
	switch {
	case err == unix.EINTR || err == nil && n == 0:
		return // not yet: the next pass tells
	case err != nil:
		// The kqueue failed: fall back to a goroutine in Wait.
		w.stop(p.r)
		p.waitInGoroutine()
		return
	}
	p.nativeExit()
}

func (w *nativeWatch) stop(r *reactor.Reactor) {
	if w.reading {
		r.RemoveReader(w.kq)
		unix.Close(w.kq)
		w.reading = false
	}
}

func (w *nativeWatch) wait(d time.Duration) bool {
	if w.gone {
		return true
	}
	if !w.reading {
		return false
	}
	deadline := time.Now().Add(d)
	for {
		ts := unix.NsecToTimespec(max(time.Until(deadline), 0).Nanoseconds())
		var ev [1]unix.Kevent_t
		n, err := unix.Kevent(w.kq, nil, ev[:], &ts)
		if err == unix.EINTR {
			continue
		}
		return err == nil && n > 0
	}
}
