//go:build !linux

package reactor_test

import (
	"testing"

	"github.com/loomkit/loom/reactor"
	"golang.org/x/sys/unix"
)

// setupReaders registers n pipes; only the first is readable.
func setupReaders(b *testing.B, r *reactor.Reactor, n int) *int {
	calls := new(int)
	for i := range n {
		var p [2]int
		if err := unix.Pipe(p[:]); err != nil {
			b.Skipf("pipe %d: %v (raise the descriptor limit)", i, err)
		}
		unix.SetNonblock(p[0], true)
		b.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
		if i == 0 {
			unix.Write(p[1], []byte("x"))
		}
		if err := r.AddReader(p[0], func() { *calls++ }); err != nil {
			b.Fatal(err)
		}
	}
	return calls
}
