package deferred

import (
	"iter"

	"github.com/loomkit/loom/internal/slow"
)

// Loop is the part of a reactor that deferred needs; *reactor.Reactor
// implements it.
//
// A Loop may have more methods, which deferred uses when they are there, as
// *reactor.Reactor has them:
//
//	// OnClose arranges for f to run on the loop goroutine when the loop
//	// is closed, before it releases anything; remove cancels that.
//	OnClose(f func()) (remove func())
//	// CallSoonUnnested is CallSoon for a call that creates or resumes a
//	// coroutine: it runs only in a pass at the loop's outermost
//	// cgo-callback depth, never inside a nested (modal) main loop, and
//	// those that OnClose hooks queue run at that depth during Close.
//	CallSoonUnnested(f func()) (cancel func())
//	// Closed reports whether the loop is closed. Any goroutine.
//	Closed() bool
//	// EnterCoroutine and LeaveCoroutine run on a coroutine's goroutine
//	// as it starts or resumes, and before it yields or ends: a GUI loop's
//	// hooks, so that its toolkit takes the coroutine's calls as the loop
//	// goroutine's (Fyne checks the calling goroutine).
//	EnterCoroutine()
//	LeaveCoroutine()
//
// With OnClose, closing the loop ends the coroutines suspended on it and
// the Waits for it, see Async and Wait; Closed lets them know of a Close
// that came first.
type Loop interface {
	// CallSoon runs f on the loop goroutine on its next pass. Loop
	// goroutine only.
	CallSoon(f func())
	// CallFromGoroutine queues f to run on the loop goroutine and wakes
	// the loop. Any goroutine.
	CallFromGoroutine(f func())
}

// The optional methods of a Loop.
type (
	closeHooker interface {
		OnClose(f func()) (remove func())
	}
	unnestedCaller interface {
		CallSoonUnnested(f func()) (cancel func())
	}
	closedReporter  interface{ Closed() bool }
	coroutineHooker interface {
		EnterCoroutine()
		LeaveCoroutine()
	}
)

// enter and leave run the loop's coroutine hooks, if it has them, on the
// coroutine's goroutine: as it starts or resumes, and before it yields or
// ends.
func (co *Co) enter() {
	if h, ok := co.loop.(coroutineHooker); ok {
		h.EnterCoroutine()
	}
}

func (co *Co) leave() {
	if h, ok := co.loop.(coroutineHooker); ok {
		h.LeaveCoroutine()
	}
}

// loopClosed reports whether loop says it is closed.
func loopClosed(loop Loop) bool {
	c, ok := loop.(closedReporter)
	return ok && c.Closed()
}

// Awaitable is what Await, Wait and CancelOnDone accept: a *Deferred (whose
// results are of type any) or a *Promise[T].
type Awaitable[T any] interface {
	Cancel()
	// poll returns the result if it is available now, taking it.
	poll() (T, error, bool)
	// subscribe calls f once with the result, at once if it is available;
	// f reports whether it took the result.
	subscribe(f func(T, error) (took bool))
	// isNil reports whether the Awaitable is a nil pointer.
	isNil() bool
}

// nilAwaitable reports whether a is nil or a nil pointer.
func nilAwaitable[T any](a Awaitable[T]) bool { return a == nil || a.isNil() }

func (d *Deferred) poll() (any, error, bool) {
	if !d.ready() {
		return nil, nil, false
	}
	v, err := split(d.take())
	return v, err, true
}

func (d *Deferred) subscribe(f func(any, error) bool) {
	d.AddBoth(func(r any) any {
		if f(split(r)) {
			return nil
		}
		return r
	})
}

func (d *Deferred) isNil() bool { return d == nil }

func split(r any) (any, error) {
	if f, ok := r.(*Failure); ok {
		return nil, f
	}
	return r, nil
}

// Co is the handle of one coroutine started by Async; its body passes it to
// Await. A Co must not be used outside the body it was given to.
type Co struct {
	loop          Loop
	soon          func(func()) // the loop's CallSoonUnnested, or its CallSoon
	unnested      bool         // soon is CallSoonUnnested
	next          func() (struct{}, bool)
	yield         func(struct{}) bool
	resumeFn      func()
	res           asyncResult
	unhook        func() // removes the loop's OnClose hook
	level         int    // threadLevel at creation
	started       bool
	done          bool
	inBody        bool
	parked        bool // suspended in Await until a resume
	closed        bool // the loop was closed: Await no longer suspends
	cancelPending bool
	body          uintptr // the body's entry, for slow-callback reports
	t0            int64   // slow-callback detection: when this resume began; 0 untimed
	until         uintptr // where in the body this resume awaits, if it ran long
	cur           interface {
		abort()
		close()
	}
}

// asyncResult is the typed side of a coroutine: its body and its promise.
type asyncResult interface {
	run(co *Co)
	finish()
	fail(f *Failure)
}

type asyncOf[T any] struct {
	p    *Promise[T]
	body func(*Co) (T, error)
	v    T
	err  error
}

func (a *asyncOf[T]) run(co *Co) {
	defer func() {
		if p := recover(); p != nil {
			a.err = panicFailure(p)
		}
	}()
	a.v, a.err = a.body(co)
}

func (a *asyncOf[T]) finish() {
	if a.err != nil {
		var zero T
		a.p.settle(zero, newFailure(a.err, 2))
		return
	}
	a.p.settle(a.v, nil)
}

func (a *asyncOf[T]) fail(f *Failure) {
	var zero T
	a.p.settle(zero, f)
}

// Async runs body as a coroutine on the loop goroutine and returns a promise
// for its result. The body reads top to bottom: Await(co, x) waits for a
// Deferred or Promise without blocking the loop, and returns its value and
// error. A panic in the body rejects the promise.
//
// The body starts on a later pass of the loop (Async schedules it with
// CallSoon, so that the coroutine is created from a loop callback), and
// after each Await that had to wait it continues on a later pass too, never
// inside the code that settled what it awaited. It never runs concurrently
// with callbacks. Awaiting a result that is already there returns at once,
// without suspending.
//
// Cancelling the promise cancels what the body is awaiting, and Await
// returns what that finally gives, as Twisted's inlineCallbacks does:
// normally ErrCancelled, but a canceller or errback may hand back another
// Deferred (a cleanup), and an awaited coroutine may translate its
// cancellation into another error or recover a value; Await waits for that
// and returns it. Cancelling again while it waits cancels what the awaited
// Deferred now waits on. The body decides the promise's result: it may
// return the error, or handle it and go on. If the body has not started
// yet, it never runs and the promise is rejected with ErrCancelled; a
// Cancel made while the body runs makes its next Await return ErrCancelled.
// Coroutines that await each other in a ring cannot be cancelled that way:
// the cancellation comes back to the one it started from, whose Await then
// returns an error wrapping ErrWaitCycle.
//
// While the body waits, its coroutine keeps a parked goroutine. A body
// waiting for something that never settles keeps it until the promise is
// cancelled (CancelOnDone ties that to a context) or the loop is closed.
//
// Closing the loop (if the loop has OnClose, as a reactor does) ends every
// coroutine on it, inside Close: a body that has not started never runs,
// and its promise is rejected with an error wrapping ErrLoopClosed; a
// suspended body is resumed, its Await returning an error wrapping
// ErrLoopClosed (or the result, if it had arrived), and from then on Await
// returns a result that is already there and ErrLoopClosed for anything
// else, without suspending, so the body runs to its end, its cleanup
// included, and its promise settles. No goroutine of it remains. A body
// must therefore not loop on an Await that fails. A coroutine can only be
// resumed at the cgo-callback depth it was created at: the resume is an
// unnested call, which a reactor's Close runs at that depth (a GUI loop
// gives it the way back there when Close comes after the toolkit's main
// loop has returned); where the depth cannot be reached the coroutine is
// left parked rather than abort the program, and that is logged. Async on
// a closed loop gives a promise rejected with ErrLoopClosed if the loop has
// Closed; otherwise the body never runs.
//
// A nil loop or body gives a promise rejected with an error wrapping
// ErrNil. Loop goroutine.
func Async[T any](loop Loop, body func(co *Co) (T, error)) *Promise[T] {
	switch {
	case loop == nil:
		return rejectNil[T]("the Loop given to Async")
	case body == nil:
		return rejectNil[T]("the body given to Async")
	}
	if loopClosed(loop) {
		return Rejected[T](errLoopClosedStart)
	}
	p := &Promise[T]{decides: true}
	co := &Co{loop: loop, soon: loop.CallSoon, res: &asyncOf[T]{p: p, body: body}, body: slow.FuncPC(body)}
	if u, ok := loop.(unnestedCaller); ok {
		co.soon = func(f func()) { u.CallSoonUnnested(f) }
		co.unnested = true
	}
	co.resumeFn = co.resume
	p.canceller = co.cancel
	if h, ok := loop.(closeHooker); ok {
		co.unhook = h.OnClose(co.loopClosed)
	}
	co.soon(co.start)
	return p
}

func (co *Co) start() {
	if co.done {
		return
	}
	co.started = true
	if co.unhook != nil && !co.unnested {
		co.level = threadLevel()
	}
	co.next, _ = iter.Pull(func(yield func(struct{}) bool) {
		co.yield = yield
		co.enter()
		defer co.leave()
		co.res.run(co)
	})
	co.step()
}

// resume goes on with the body suspended in Await; it does nothing if the
// body is not suspended (a resume already made by Close).
func (co *Co) resume() {
	if !co.parked {
		return
	}
	co.parked = false
	co.step()
}

// step runs the body until it suspends or returns.
func (co *Co) step() {
	if slow.On() {
		t0, n0 := slow.Begin()
		co.t0, co.until = t0, 0
		defer func() {
			until := co.until
			co.t0, co.until = 0, 0
			slow.End("coroutine", co.body, until, t0, n0)
		}()
	}
	co.inBody = true
	_, more := co.next()
	co.inBody = false
	if !more {
		co.end()
		co.res.finish()
	}
}

// end marks the coroutine finished and removes its close hook.
func (co *Co) end() {
	co.done = true
	co.cur = nil
	if co.unhook != nil {
		co.unhook()
		co.unhook = nil
	}
}

func (co *Co) cancel() {
	switch {
	case co.done:
	case !co.started:
		co.end()
		co.res.fail(newFailure(ErrCancelled, 2))
	case co.inBody:
		co.cancelPending = true
	case co.cur != nil:
		co.cur.abort()
	}
}

// loopClosed is the coroutine's OnClose hook: it ends the coroutine, see
// Async.
func (co *Co) loopClosed() {
	co.unhook = nil // the loop has dropped the hook
	if co.done {
		return
	}
	co.closed = true
	switch {
	case !co.started:
		co.end()
		co.res.fail(newFailure(errLoopClosedStart, 2))
	case co.inBody:
		// The body itself closed the loop: its next Await that would
		// suspend returns ErrLoopClosed instead.
	case co.unnested:
		// The loop runs the unnested calls its close hooks queue at
		// the depth coroutines are made at, or leaves them parked.
		co.soon(co.closeResume)
	case co.level < 0 || co.level != threadLevel():
		// Switching to the coroutine here would abort the program.
		co.parked = false
		co.end()
		co.res.fail(newFailure(errLoopClosedParked, 2))
		currentLogger().Warn("deferred: the loop was closed at another cgo-callback depth than the coroutine was created at " +
			"(a GUI loop closed after its main loop returned); the coroutine cannot be resumed there, so its goroutine stays parked " +
			"and its promise is rejected with ErrLoopClosed")
	default:
		co.closeResume()
	}
}

// closeResume resumes the body suspended when the loop closed, its Await
// returning ErrLoopClosed unless its result had come.
func (co *Co) closeResume() {
	if co.done || !co.parked {
		return
	}
	co.cur.close()
	co.resume()
}

// Await waits for a, a *Deferred or *Promise[T], inside the body of a
// coroutine started by Async, and returns its value or its error (a
// *Failure). A result that is already there is returned at once; otherwise
// the coroutine suspends and the loop goes on until it arrives. Awaiting a
// Deferred takes its result, as Twisted's inlineCallbacks does: the
// Deferred's chain goes on with nil. Await may only be called by the body
// the Co was given to; elsewhere it returns an error at once. A nil co or a
// gives an error wrapping ErrNil at once.
func Await[T any](co *Co, a Awaitable[T]) (T, error) {
	var zero T
	switch {
	case co == nil:
		return zero, errNil("the Co given to Await")
	case !co.inBody:
		return zero, errAwaitOutsideBody
	case nilAwaitable(a):
		return zero, errNil("the Deferred or Promise given to Await")
	}
	if co.cancelPending {
		co.cancelPending = false
		return zero, newFailure(ErrCancelled, 2)
	}
	if v, err, ok := a.poll(); ok {
		return v, err
	}
	if co.closed {
		return zero, newFailure(errLoopClosed, 2)
	}
	w := &wait[T]{co: co, a: a}
	co.cur = w
	a.subscribe(w.deliver)
	co.parked = true
	if co.t0 != 0 {
		co.awaitSite()
	}
	co.leave()
	co.yield(struct{}{})
	co.enter()
	co.cur = nil
	return w.v, w.err
}

// wait is one suspended Await.
type wait[T any] struct {
	co       *Co
	a        Awaitable[T]
	v        T
	err      error
	done     bool
	aborting bool // abort is cancelling a
	looped   bool // cancelling a cancelled this coroutine again
}

func (w *wait[T]) deliver(v T, err error) bool {
	if w.done {
		return false
	}
	w.done = true
	w.v, w.err = v, err
	w.co.soon(w.co.resumeFn)
	return true
}

// close ends the wait with ErrLoopClosed, unless its result has come.
func (w *wait[T]) close() {
	if !w.done {
		w.done = true
		w.err = newFailure(errLoopClosed, 2)
	}
}

// abort cancels what the coroutine awaits; the wait goes on until that
// delivers its final result. If cancelling it comes back to cancel this
// coroutine and it is still unsettled, the coroutines await each other in
// a ring that no result can end: the wait ends with an ErrWaitCycle.
func (w *wait[T]) abort() {
	if w.done {
		return
	}
	if w.aborting {
		w.looped = true
		return
	}
	w.aborting = true
	w.a.Cancel()
	w.aborting = false
	if w.looped && !w.done {
		var zero T
		w.deliver(zero, newFailure(errAwaitCycle, 2))
	}
	w.looped = false
}
