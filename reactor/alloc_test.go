//go:build !race

// The race detector changes what escapes: allocation counts are only
// meaningful without it.

package reactor_test

import (
	"os"
	"testing"

	"github.com/loomkit/loom/reactor"
	"golang.org/x/sys/unix"
)

// TestDispatchAllocatesNothing: in steady state a pass that dispatches a
// readiness event, and one that runs a call from another goroutine or a
// CallSoon, allocates nothing.
func TestDispatchAllocatesNothing(t *testing.T) {
	if os.Getenv("LOOM_DEBUG") == "1" {
		t.Skip("debug mode reads goroutine ids on every loop-only call")
	}
	for _, backend := range reactor.Backends() {
		r, err := reactor.New(reactor.WithBackend(backend), reactor.WithoutSignalHandlers())
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var p [2]int
		if err := unix.Pipe(p[:]); err != nil {
			t.Fatal(err)
		}
		unix.SetNonblock(p[0], true)
		defer unix.Close(p[0])
		defer unix.Close(p[1])
		calls := 0
		r.AddReader(p[0], func() { calls++ })
		unix.Write(p[1], []byte("x"))
		f := func() {}
		r.RunOnce(0)
		if a := testing.AllocsPerRun(1000, func() { r.RunOnce(0) }); a != 0 {
			t.Errorf("%s: %v allocations per readiness pass", backend, a)
		}
		if a := testing.AllocsPerRun(1000, func() { r.CallSoon(f); r.RunOnce(0) }); a != 0 {
			t.Errorf("%s: %v allocations per CallSoon pass", backend, a)
		}
		if a := testing.AllocsPerRun(1000, func() { r.CallFromGoroutine(f); r.RunOnce(0) }); a != 0 {
			t.Errorf("%s: %v allocations per CallFromGoroutine pass", backend, a)
		}
		if calls < 3000 {
			t.Errorf("%s: reader called %d times", backend, calls)
		}
	}
}
