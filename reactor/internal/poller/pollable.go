//go:build unix

package poller

import "golang.org/x/sys/unix"

// checkPollable refuses what readiness cannot mean anything for: a
// descriptor that is not open, and regular files and directories, which
// poll(2) reports always ready (epoll refuses them with EPERM).
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
