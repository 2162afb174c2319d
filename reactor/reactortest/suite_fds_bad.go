package reactortest

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Cases on descriptors a reactor must refuse, and refuse the same way
// whichever backend it runs.
func init() {
	// A number the kernel would truncate (it takes an int) must not reach
	// it: fd+2³² names fd to the kernel, and a reactor that believed it
	// registered such a number would size its tables by it.
	add("fds/out-of-range-numbers-are-errors", func(t *testing.T, newLoop NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		rd, _ := Pipe(t)
		bad := []int{1 << 30} // fits the kernel's int, never opened
		if strconv.IntSize == 64 {
			shift := 32 // not a constant: this file also builds where int has 32 bits
			bad = append(bad, rd+1<<shift, 1<<31, 1<<31+rd, math.MaxInt)
		}
		nop := func() {}
		for _, fd := range bad {
			for _, add := range []struct {
				name string
				f    func(int, func()) error
			}{{"AddReader", r.AddReader}, {"AddWriter", r.AddWriter}} {
				err := add.f(fd, nop)
				if !errors.Is(err, unix.EBADF) {
					t.Errorf("%s(%d) = %v, want EBADF", add.name, fd, err)
				} else if !strings.Contains(err.Error(), strconv.Itoa(fd)) {
					t.Errorf("%s(%d): error %q does not name the descriptor", add.name, fd, err)
				}
			}
			r.RemoveReader(fd) // nothing to remove: must do nothing
			r.RemoveWriter(fd)
		}
		if r.Watched() != 0 {
			t.Errorf("refused numbers left %d watched", r.Watched())
		}
		// The descriptor the kernel would have seen is untouched.
		must(t, r.AddReader(rd, nop))
		r.RemoveReader(rd)
		r.CallSoon(r.Stop)
		RunFor(t, l, limit)
	})
}
