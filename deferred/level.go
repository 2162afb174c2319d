package deferred

import (
	"runtime"

	"github.com/loomkit/loom/internal/stack"
)

// A coroutine made by iter.Pull may only be switched to with the thread
// locking it was created with, or the Go runtime aborts the program
// ("coro: OS thread locking must match locking at coroutine creation").
// Every cgo callback on the stack counts as one lock. Under a GUI loop the
// loop's passes are cgo callbacks, but its Close usually comes after the
// main loop has returned, one callback shallower: a coroutine created in a
// pass cannot be resumed there. So a coroutine records the depth it was
// created at, and Close resumes it only at that same depth.

// threadLevel returns the number of cgo callbacks on the calling
// goroutine's stack, or -1 when that cannot tell how the coroutine switch
// would go: on a coroutine's own goroutine, whose stack does not show its
// resumer's. Tests replace it.
var threadLevel = cgoCallbackLevel

func cgoCallbackLevel() int {
	if runtime.NumCgoCall() == 0 {
		return 0 // no cgo call was ever made, so none is on the stack
	}
	n, coro := stack.CgoCallbacks()
	if coro {
		return -1
	}
	return n
}
