package fyneloop

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// pipe returns the pump's stop pipe, close-on-exec. Nothing is ever
// written to it: closing the write end makes the read end readable (end
// of file), which wakes the pump's poll.
func pipe() (r, w int, err error) {
	var p [2]int
	syscall.ForkLock.RLock()
	err = unix.Pipe(p[:])
	if err == nil {
		unix.CloseOnExec(p[0])
		unix.CloseOnExec(p[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, -1, err
	}
	return p[0], p[1], nil
}

// nonblockingPipe returns the nudge pipe: close-on-exec, and nonblocking
// at both ends, so that a nudge never blocks Fyne's goroutine and the
// pump drains it without blocking.
func nonblockingPipe() (r, w int, err error) {
	if r, w, err = pipe(); err != nil {
		return -1, -1, err
	}
	if err = unix.SetNonblock(r, true); err == nil {
		err = unix.SetNonblock(w, true)
	}
	if err != nil {
		unix.Close(r)
		unix.Close(w)
		return -1, -1, err
	}
	return r, w, nil
}
