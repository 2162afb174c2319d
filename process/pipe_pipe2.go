//go:build linux || dragonfly || freebsd || netbsd || openbsd

package process

import "golang.org/x/sys/unix"

// newPipe makes a pipe, both ends close-on-exec from the start (pipe2),
// so that no child started meanwhile inherits them, and blocking: the
// child's end stays so, the parent's is made nonblocking by
// transport.Pipe.
func newPipe() (r, w int, err error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return -1, -1, err
	}
	return p[0], p[1], nil
}
