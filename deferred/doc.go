// Package deferred provides results that are not ready yet, for programs
// whose callbacks all run on one loop goroutine: Twisted's Deferred, simple
// typed promises with events, and coroutines that await either.
//
// # Deferreds
//
// A Deferred keeps Twisted's semantics, case by case: callbacks and
// errbacks form a chain through which the result flows, each callback
// receiving the return value of the one before. A callback that returns an
// error or panics moves the chain to the errback path, and an errback that
// returns a plain value moves it back. A callback that returns an unfired
// Deferred pauses the chain until that one fires, nested to any depth.
// Deferreds can be paused, cancelled (a canceller decides what cancelling
// means), chained and combined: DeferredList, Gather, Race, AddTimeout, and
// the Lock, Semaphore and Queue built on them.
//
// Failures are errors: a failed Deferred carries a *Failure that wraps the
// original error and records the stack where it arose, and errors.Is and
// errors.As see through it. A failure still unhandled when its Deferred (or
// Promise) is garbage collected is logged through log/slog, see SetLogger.
//
// # Promises
//
// A Promise[T] is a simple promise: every observer gets the same settled
// value, and nothing an observer does changes what the others see. Then and
// Recover chain explicitly, returning new promises. Before it settles, a
// promise can emit named events (download progress, say) to observers added
// with On; events emitted after it settled are dropped. FromDeferred and
// Promise.Deferred convert between the two kinds.
//
// # Coroutines
//
// Async runs a body that reads top to bottom, awaiting Deferreds and
// Promises with Await, and returns a Promise for its result. It is built on
// iter.Pull: the body runs on its own goroutine but never at the same time
// as the loop's callbacks, because control passes back and forth
// explicitly. Cancelling the promise cancels what the body awaits, and
// Await returns what that finally gives.
//
// # Closing the loop
//
// A coroutine suspended on a loop that is closed would keep its goroutine
// for good, and a Wait for a result from a closed loop would block. So, on
// a loop with OnClose (a reactor), Close ends both, inside Close:
//
//   - a coroutine that has not started never runs; its promise is rejected
//     with an error wrapping ErrLoopClosed;
//   - a suspended coroutine is resumed: the Await it is in returns an error
//     wrapping ErrLoopClosed (or its result, if that had come), and every
//     later Await of the body returns a result that is already there, or
//     ErrLoopClosed, without suspending. The body runs to its end, its
//     cleanup included, its promise settles, and its goroutine is gone;
//   - a Wait returns an error wrapping ErrLoopClosed; one that begins after
//     the Close does too if the loop has Closed (see Loop and Wait).
//
// A coroutine must be resumed at the cgo-callback depth it was created at,
// or the Go runtime aborts the program. The resume at Close is therefore
// an unnested call (see Loop), which a reactor's Close runs at the depth
// of the loop's passes, also when a GUI program closes it after the
// toolkit's main loop has returned, if the GUI loop gives it the way back
// there (gtkloop does). Where that depth cannot be reached, the coroutine
// is left parked, its goroutine kept, and the reactor logs it. On a loop
// without unnested calls, Close resumes coroutines in its own hooks, and
// only those created at the cgo-callback depth Close runs at; the others
// are left parked, their promises rejected with ErrLoopClosed, and a
// warning is logged.
//
// # Goroutines
//
// Everything in this package runs on one goroutine, the loop goroutine (the
// goroutine of a reactor's Run, or the GUI thread when a GUI loop drives the
// reactor). Deferreds, Promises, Resolvers, Locks, Semaphores, Queues and
// coroutines have no locks: they must only be used on the loop goroutine,
// and their callbacks and observers run there, synchronously, on the
// goroutine that fires them or adds them.
//
// The exceptions, safe on any goroutine: Wait (for goroutines other than
// the loop goroutine, to block until a result arrives), SetLogger,
// NewFailure, the methods of Failure and of the error types, and the
// constructors New, NewWithCanceller, NewPromise, Resolved, NewSemaphore and
// NewQueue, whose results are then handed to the loop goroutine. CancelOnDone
// is called on the loop goroutine but reacts to a context done on any
// goroutine. To deliver a result computed on another goroutine, hop with
// Loop.CallFromGoroutine.
//
// # Portability
//
// The package is pure Go on the standard library alone: no cgo, no GUI
// package, no reactor; it builds with CGO_ENABLED=0 for every platform Go
// supports. It reaches the loop only through the small Loop interface, which
// *reactor.Reactor implements, and AddTimeout takes the reactor's CallLater
// method value, so the reactor can import this package.
//
// # Implementation notes
//
// A Deferred stores its first callback inline, so creating one, adding a
// callback and firing it costs one allocation. Its callbacks run in a loop
// that keeps the Deferreds handing results to each other in an explicit
// stack, as Twisted's _runCallbacks does, so the Go stack keeps the same
// depth for chains of any length and nesting of any depth; Chain uses the
// same stack instead of recursing.
//
// Unhandled failures are watched with runtime.AddCleanup, registered only
// while a failure is the current result of a Deferred (or the rejection of
// a Promise nobody observes) and stopped as soon as it is handled, so
// successful results cost nothing.
//
// Coroutines use iter.Pull, which switches goroutines on the same OS thread.
// A coroutine created outside a cgo callback and resumed inside one (all GTK
// dispatch is a cgo callback) dies with "coro: OS thread locking must match
// locking at coroutine creation"; so Async creates the coroutine from a
// loop callback (Loop.CallSoon, or CallSoonUnnested when the loop has it,
// which keeps it out of nested modal loops), and every resume after a
// suspension is a loop callback too, at the same depth. On a loop without
// unnested calls, Close resumes a coroutine only if the cgo callbacks on
// the stack (counted by walking it, only in a program that has made cgo
// calls) are as many as at its creation. Awaiting a result that is already there does not suspend,
// so long runs of such awaits keep a flat stack and no extra goroutines.
//
// A Lock, Semaphore or Queue keeps its waiters in a first-in, first-out
// list with a head index; cancelled waiters are marked and skipped, and
// dropped in one pass when they are most of the list, so waiting, handing
// over and cancelling cost O(1) amortised however many wait.
package deferred
