package reactor_test

import (
	"testing"

	"github.com/loomkit/loom/reactor"
	"golang.org/x/sys/unix"
)

// setupReaders registers n descriptors: n-1 eventfds that are never
// readable (one descriptor each, so 10,000 fit the usual limit) and one
// pipe that is readable and stays so (its reader does not drain it;
// readiness is level-triggered).
func setupReaders(b *testing.B, r *reactor.Reactor, n int) *int {
	calls := new(int)
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
	unix.Write(p[1], []byte("x"))
	for i := 1; i < n; i++ {
		fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
		if err != nil {
			b.Skipf("eventfd %d: %v (raise the descriptor limit)", i, err)
		}
		b.Cleanup(func() { unix.Close(fd) })
		if err := r.AddReader(fd, func() { b.Error("idle descriptor reported") }); err != nil {
			b.Fatal(err)
		}
	}
	if err := r.AddReader(p[0], func() { *calls++ }); err != nil {
		b.Fatal(err)
	}
	return calls
}
