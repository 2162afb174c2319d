package deferred

import (
	"runtime"

	"github.com/loomkit/loom/internal/slow"
)

// Slow-callback detection (reactor.WithSlowCallbacks) times a Deferred's
// callbacks, a Promise's observers and a coroutine's resumes when a loop
// of the program has it on, and reports the slow ones to that loop with
// the function that was slow: the reactor alone would see only the
// callback of its own that fired them. Off, each costs an atomic load.

// timedThen is callThen, timed.
func timedThen[A, B any](kind string, f func(A) (B, error), a A) (B, error) {
	if !slow.On() {
		return callThen(f, a)
	}
	t0, n0 := slow.Begin()
	b, err := callThen(f, a)
	slow.End(kind, slow.FuncPC(f), 0, t0, n0)
	return b, err
}

// awaitSite notes, when the coroutine's resume has been running longer
// than a slow callback's threshold, where in its body it awaits: the
// report says where the slow stretch ended. The caller is Await.
func (co *Co) awaitSite() {
	if co.t0 == 0 || slow.Now()-co.t0 < slow.Least() {
		return
	}
	var pc [1]uintptr
	if runtime.Callers(3, pc[:]) == 1 {
		co.until = pc[0]
	}
}
