package reactor

// SetCoroutineHooks gives the reactor two functions that run on a
// coroutine's own goroutine: enter each time the coroutine starts or
// resumes running, leave each time it gives the thread back (it yields,
// or its body ends). Between them, and only then, that goroutine runs in
// place of the loop goroutine, which waits for it. A GUI loop whose
// toolkit checks the calling goroutine, not the thread (Fyne 2.6+), sets
// them so that the toolkit takes a coroutine's calls as its own instead
// of queueing them for the goroutine that is waiting: without them, a
// widget call from a coroutine's body waits for the loop goroutine
// forever. nil clears a hook. It must be called on the reactor goroutine.
func (r *Reactor) SetCoroutineHooks(enter, leave func()) {
	r.coEnter, r.coLeave = enter, leave
}

// EnterCoroutine runs the enter hook (see SetCoroutineHooks). Code that
// drives a coroutine on the reactor (deferred.Async, task.Cooperator)
// calls it on the coroutine's goroutine each time the coroutine starts
// or resumes running.
func (r *Reactor) EnterCoroutine() {
	if f := r.coEnter; f != nil {
		f()
	}
}

// LeaveCoroutine runs the leave hook (see SetCoroutineHooks), on the
// coroutine's goroutine, each time before it gives the thread back.
func (r *Reactor) LeaveCoroutine() {
	if f := r.coLeave; f != nil {
		f()
	}
}
