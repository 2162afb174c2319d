package poller

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

// eventfdWaker is Linux's one-descriptor waker: writes add to a counter,
// one read resets it, so any number of wakeups drain with one syscall.
type eventfdWaker struct{ efd int }

func newWaker() (waker, error) {
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	return &eventfdWaker{fd}, nil
}

func (w *eventfdWaker) fd() int { return w.efd }

func (w *eventfdWaker) wake() error {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	for {
		_, err := unix.Write(w.efd, one[:])
		switch err {
		case nil, unix.EAGAIN: // EAGAIN: the counter is saturated, still readable
			return nil
		case unix.EINTR:
			continue
		default:
			return fmt.Errorf("eventfd write: %w", err)
		}
	}
}

func (w *eventfdWaker) drain() {
	var buf [8]byte
	for {
		if _, err := unix.Read(w.efd, buf[:]); err != unix.EINTR {
			return
		}
	}
}

func (w *eventfdWaker) close() error { return unix.Close(w.efd) }
