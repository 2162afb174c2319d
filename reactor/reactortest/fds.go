package reactortest

import (
	"testing"

	"golang.org/x/sys/unix"
)

// Pipe returns a nonblocking pipe, closed when t ends.
func Pipe(t testing.TB) (r, w int) {
	t.Helper()
	r, w, err := pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(r); unix.Close(w) })
	return r, w
}

// Socketpair returns a connected nonblocking Unix stream socket pair,
// closed when t ends.
func Socketpair(t testing.TB) (a, b int) {
	t.Helper()
	a, b, err := socketpair()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(a); unix.Close(b) })
	return a, b
}

func write(t testing.TB, fd int, s string) {
	t.Helper()
	if n, err := unix.Write(fd, []byte(s)); err != nil || n != len(s) {
		t.Fatalf("write fd %d: %d, %v", fd, n, err)
	}
}

// readable polls fd for up to ms milliseconds.
func readable(fd int, ms int) bool {
	p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(p, ms)
		if err == unix.EINTR {
			continue
		}
		return err == nil && n > 0
	}
}

// pipe and socketpair make nonblocking close-on-exec pairs the portable
// way (macOS has neither pipe2 nor SOCK_NONBLOCK).
func pipe() (int, int, error) {
	var p [2]int
	if err := unix.Pipe(p[:]); err != nil {
		return -1, -1, err
	}
	return p[0], p[1], prepare(p[:])
}

func socketpair() (int, int, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		return -1, -1, err
	}
	return fds[0], fds[1], prepare(fds[:])
}

func prepare(fds []int) error {
	for _, fd := range fds {
		unix.CloseOnExec(fd)
		if err := unix.SetNonblock(fd, true); err != nil {
			unix.Close(fds[0])
			unix.Close(fds[1])
			return err
		}
	}
	return nil
}
