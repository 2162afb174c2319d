package transporttest

import (
	"github.com/loomkit/loom/internal/socktest"
	"os"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// FullListener returns the address of a TCP listener on 127.0.0.1 that
// never accepts and whose accept queue is full, so that a connect to it
// neither succeeds nor fails: the kernel drops its SYNs. The listener is
// closed when t ends; t is skipped where the queue cannot be filled.
func FullListener(t testing.TB) string { return socktest.FullListener(t) }

// rawConnect connects a blocking socket to 127.0.0.1:port and returns it.
func rawConnect(t testing.TB, port int) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.CloseOnExec(fd) // a test fixture: no fork in between matters
	if err := unix.Connect(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port}); err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	return fd
}

// exhaustDescriptors lowers the process's descriptor limit and opens
// descriptors up to it, so that the next one fails with EMFILE; restore
// (idempotent) closes them and puts the limit back.
func exhaustDescriptors(t testing.TB) (restore func()) {
	t.Helper()
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	highest := 0
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		for _, e := range ents {
			var n int
			for _, c := range e.Name() {
				n = n*10 + int(c-'0')
			}
			highest = max(highest, n)
		}
	} else {
		t.Skip("no /proc/self/fd")
	}
	lim := old
	setLimit(&lim.Cur, highest+16)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("cannot lower the descriptor limit: %v", err)
	}
	var held []int
	for {
		fd, err := unix.Open(os.DevNull, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			break
		}
		held = append(held, fd)
	}
	var once sync.Once
	restore = func() {
		once.Do(func() {
			for _, fd := range held {
				unix.Close(fd)
			}
			unix.Setrlimit(unix.RLIMIT_NOFILE, &old)
		})
	}
	t.Cleanup(restore)
	return restore
}

// setLimit sets an rlimit field, int64 on some systems, uint64 on others.
func setLimit[T ~int64 | ~uint64](p *T, v int) { *p = T(v) }
