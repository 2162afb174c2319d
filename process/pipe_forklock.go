//go:build !linux && !dragonfly && !freebsd && !netbsd && !openbsd

package process

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// newPipe makes a pipe with both ends close-on-exec and blocking. Without
// pipe2 (macOS) the flag is set under syscall.ForkLock, as os.Pipe does,
// so that a concurrent fork and exec cannot inherit the ends.
func newPipe() (r, w int, err error) {
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
