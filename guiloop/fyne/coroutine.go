package fyneloop

import (
	"sync/atomic"
	_ "unsafe" // go:linkname; Fyne's driver links the target in
)

// Coroutines and Fyne's goroutine check. A coroutine (deferred.Async, a
// task.Cooperator job) runs on a goroutine of its own, on the same OS
// thread as the pass that resumes it, and only while that pass waits for
// it. Fyne (2.6+) decides whether a call is its own by the calling
// goroutine's id: from a coroutine's body, a widget call that must run on
// Fyne's goroutine is queued there and waited for, and Fyne's goroutine
// is the one waiting for the body: the app freezes for good. So while a
// coroutine runs, the pump tells Fyne that its goroutine is the coroutine's
// (the reactor's coroutine hooks, reactor.SetCoroutineHooks), and gives
// Fyne back its own when the coroutine yields. One goroutine at a time is
// Fyne's, as Fyne expects, and it always runs on Fyne's thread.
//
// Fyne keeps that id in an unexported variable of an internal package,
// reached here by name; the tests in this package fail to build if a
// Fyne version renames it, and fail if one stops reading it.

//go:linkname fyneMainGoroutine fyne.io/fyne/v2/internal/async.mainGoroutineID
var fyneMainGoroutine atomic.Uint64

// coroutineHooks are the pump's reactor coroutine hooks.
type coroutineHooks struct {
	saved []uint64 // Fyne's goroutine before each enter, innermost last
}

// enter runs on a coroutine's goroutine as it starts or resumes: Fyne
// takes it as its own.
func (h *coroutineHooks) enter() {
	h.saved = append(h.saved, fyneMainGoroutine.Load())
	fyneMainGoroutine.Store(goid())
}

// leave runs on the coroutine's goroutine before it yields or ends: Fyne
// gets back the goroutine it had.
func (h *coroutineHooks) leave() {
	if n := len(h.saved); n > 0 {
		fyneMainGoroutine.Store(h.saved[n-1])
		h.saved = h.saved[:n-1]
	}
}
