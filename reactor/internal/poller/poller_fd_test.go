//go:build unix

package poller

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// openEach opens every backend this OS has, closed when t ends.
func openEach(t *testing.T) map[string]Poller {
	t.Helper()
	ps := map[string]Poller{}
	for _, name := range Names() {
		p, err := New(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		ps[name] = p
	}
	return ps
}

func testPipe(t *testing.T) (r, w int) {
	t.Helper()
	var fds [2]int
	if err := unix.Pipe(fds[:]); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

// Numbers an int32 cannot hold are refused before the kernel sees them:
// the kernel would truncate fd+2³² to fd and register that.
func TestOutOfRangeNumbersAreRefused(t *testing.T) {
	if strconv.IntSize < 64 {
		t.Skip("int has 32 bits: no number out of range")
	}
	for name, p := range openEach(t) {
		rd, _ := testPipe(t)
		shift := 32
		for _, fd := range []int{rd + 1<<shift, 1 << (shift - 1), math.MaxInt, -1, math.MinInt} {
			err := p.Add(fd, Readable)
			if !errors.Is(err, unix.EBADF) || !strings.Contains(err.Error(), strconv.Itoa(fd)) {
				t.Errorf("%s: Add(%d) = %v, want EBADF naming the descriptor", name, fd, err)
			}
			if err := p.Modify(fd, Readable); err == nil {
				t.Errorf("%s: Modify(%d) = nil", name, fd)
			}
			if err := p.Delete(fd); err != nil {
				t.Errorf("%s: Delete(%d) = %v, want nil (nothing to forget)", name, fd, err)
			}
		}
		// The truncated number was not registered behind our back.
		if err := p.Add(rd, Readable); err != nil {
			t.Errorf("%s: Add(%d) after the refusals: %v", name, rd, err)
		}
		p.Delete(rd)
	}
}
