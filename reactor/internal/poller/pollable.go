//go:build unix

package poller

import (
	"fmt"
	"math"

	"golang.org/x/sys/unix"
)

// checkFD refuses numbers no descriptor can have before any system call
// sees them: the kernel takes a descriptor as a C int, so fd+2³² would
// name fd to it, and a negative number is never open.
func checkFD(fd int, what string) error {
	if fd < 0 || fd > math.MaxInt32 {
		return fmt.Errorf("%s fd %d: %w", what, fd, unix.EBADF)
	}
	return nil
}

// checkPollable refuses, where epoll is not there to decide (the kqueue
// backend, and the poll backend off Linux), what readiness cannot mean
// anything for: a descriptor that is not open, and regular files and
// directories, which poll(2) reports always ready and kqueue "readable
// until end of file" (epoll refuses most with EPERM).
func checkPollable(fd int) error {
	if fd < 0 {
		return unix.EBADF
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG, unix.S_IFDIR:
		return unix.EPERM
	}
	return nil
}
