package reactor_test

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// Portable descriptor helpers for the fuzz and soak tests (macOS has
// neither pipe2, SOCK_NONBLOCK nor dup3). ForkLock keeps a concurrent
// exec from inheriting a descriptor before it is close-on-exec.

func nonblockingPipe() (r, w int, err error) {
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
	return p[0], p[1], nonblocking(p[:])
}

func nonblockingSocketpair() (a, b int, err error) {
	syscall.ForkLock.RLock()
	s, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err == nil {
		unix.CloseOnExec(s[0])
		unix.CloseOnExec(s[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, -1, err
	}
	return s[0], s[1], nonblocking(s[:])
}

func nonblocking(fds []int) error {
	for _, fd := range fds {
		if err := unix.SetNonblock(fd, true); err != nil {
			unix.Close(fds[0])
			unix.Close(fds[1])
			return err
		}
	}
	return nil
}

// dupOnto makes newfd a close-on-exec copy of oldfd.
func dupOnto(oldfd, newfd int) error {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	if err := unix.Dup2(oldfd, newfd); err != nil {
		return err
	}
	unix.CloseOnExec(newfd)
	return nil
}
