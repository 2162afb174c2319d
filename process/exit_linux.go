package process

import (
	"time"

	"github.com/loomkit/loom/reactor"
	"golang.org/x/sys/unix"
)

// nativeWatch on Linux is a pidfd (pidfd_open, Linux 5.3): it polls
// readable once the child has exited, when waitid can reap it without
// blocking. The reactor watches it as a reader like any descriptor. The
// child is ours and unreaped, so its id cannot have been reused between
// Start and pidfd_open.
type nativeWatch struct {
	fd      int // the pidfd, while reading
	reading bool
}

func (w *nativeWatch) start(p *Process) bool {
	fd, err := unix.PidfdOpen(p.pid, 0) // close-on-exec
	if err != nil {
		return false // ENOSYS on old kernels, EPERM under some sandboxes
	}
	if err := p.r.AddReader(fd, p.nativeExit); err != nil {
		unix.Close(fd)
		return false
	}
	w.fd, w.reading = fd, true
	return true
}

func (w *nativeWatch) stop(r *reactor.Reactor) {
	if w.reading {
		r.RemoveReader(w.fd)
		unix.Close(w.fd)
		w.reading = false
	}
}

func (w *nativeWatch) wait(d time.Duration) bool {
	if !w.reading {
		return false
	}
	deadline := time.Now().Add(d)
	for {
		ms := int(time.Until(deadline).Milliseconds())
		if ms < 0 {
			ms = 0
		}
		fds := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, ms)
		if err == unix.EINTR {
			continue
		}
		return err == nil && n > 0
	}
}
