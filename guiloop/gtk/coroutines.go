package gtkloop

// #include <glib.h>
import "C"

// Coroutines and nested main loops. A coroutine (deferred.Async, a
// task.Cooperator job: any iter.Pull) must be resumed at the cgo callback
// depth it was created at, or the Go runtime aborts the program with
// "coro: OS thread locking must match locking at coroutine creation".
// Every dispatch of the source is a cgo callback; inside a nested main
// loop (a modal dialog's Run, a nested gtk.Main) it is one callback
// deeper than in the main loop. loom's coroutines are created and
// resumed only by reactor.CallSoonUnnested calls, which the reactor runs
// only in passes at the loop's outermost depth: a coroutine pauses while
// a modal dialog runs, and goes on when it closes. The source gives the
// reactor a way down to that depth (reactor.SetNest) for a Close that
// comes after gtk.Main has returned.

// checkNesting runs at each dispatch and keeps the least depth a
// dispatch ran at: the loop's own, below which a stop answers dialogs.
func (s *source) checkNesting(d int) {
	s.mainDepth = d
	if s.baseDepth == 0 || d < s.baseDepth {
		s.baseDepth = d
	}
}
