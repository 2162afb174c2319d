//go:build darwin || dragonfly || freebsd

package poller

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// haveUserFilter: these systems have EVFILT_USER (kqueue(2)), so the
// waker is a user event in the queue itself, no descriptor needed.
const haveUserFilter = true

// userIdent is the waker's EVFILT_USER identifier; user events have their
// own identifier space, apart from descriptors.
const userIdent = 0

func addUserWaker(kq int) error {
	var ev [1]unix.Kevent_t
	// EV_CLEAR resets the trigger once it has been reported.
	unix.SetKevent(&ev[0], userIdent, unix.EVFILT_USER, unix.EV_ADD|unix.EV_CLEAR)
	if _, err := unix.Kevent(kq, ev[:], nil, nil); err != nil {
		return fmt.Errorf("kevent add EVFILT_USER: %w", err)
	}
	return nil
}

func triggerUserWaker(kq int) error {
	var ev [1]unix.Kevent_t
	unix.SetKevent(&ev[0], userIdent, unix.EVFILT_USER, 0)
	ev[0].Fflags = unix.NOTE_TRIGGER
	for {
		_, err := unix.Kevent(kq, ev[:], nil, nil)
		switch err {
		case nil:
			return nil
		case unix.EINTR:
			continue
		default:
			return fmt.Errorf("kevent NOTE_TRIGGER: %w", err)
		}
	}
}

func isUserWake(k *unix.Kevent_t) bool { return k.Filter == unix.EVFILT_USER }
