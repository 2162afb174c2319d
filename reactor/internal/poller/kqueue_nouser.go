//go:build netbsd || openbsd

package poller

import (
	"errors"

	"golang.org/x/sys/unix"
)

// haveUserFilter: OpenBSD's kqueue has no EVFILT_USER, NetBSD's only
// since 10.0 and without a constant in x/sys; a self-pipe in the set
// wakes the queue there.
const haveUserFilter = false

var errNoUserFilter = errors.New("kqueue: no EVFILT_USER on this system")

func addUserWaker(int) error         { return errNoUserFilter }
func triggerUserWaker(int) error     { return errNoUserFilter }
func isUserWake(*unix.Kevent_t) bool { return false }
