// Package task schedules work over time on a reactor, with Twisted's
// semantics: LoopingCall calls a function every interval, DeferLater
// delivers a function's result after a delay as a Deferred, Cooperator
// chops long jobs into time slices so that the loop (and the GUI it runs
// in) never freezes, and WaitForFile polls until a file appears.
//
// All of them read time from the reactor's clock (reactor.WithClock), so
// a test runs them on a reactortest.Clock: advance it, then let the
// reactor fire what came due.
//
//	clk := reactortest.NewClock(time.Unix(0, 0))
//	r, _ := reactor.New(reactor.WithClock(clk))
//	lc := task.NewLoopingCall(r, func() any { fmt.Println("tick"); return nil })
//	lc.Start(time.Second, true) // prints tick
//	clk.Advance(time.Second)
//	r.RunOnce(0) // prints tick
//
// (Cooperator slices are the exception: they measure real work on the
// system clock unless WithSliceClock says otherwise.)
//
// # Goroutines
//
// Everything in this package runs on the reactor goroutine: the goroutine
// running the reactor's Run or RunOnce, or the GUI thread when a GUI loop
// drives the reactor. Every function and method must be called there, and
// every function given to the package (a LoopingCall's function, DeferLater's
// f, a Cooperator's jobs) is called there, one at a time, between the
// reactor's other callbacks; none of the types have locks. Code on other
// goroutines reaches them through reactor.CallFromGoroutine.
//
// A Cooperator's jobs are iterators driven through iter.Pull: a job runs
// on a goroutine of its own, but only while the reactor goroutine waits
// for it to yield, and on the same OS thread, so it may touch what the
// reactor goroutine touches (on a GUI thread, widgets too). Its coroutine
// is created and resumed only from reactor callbacks, so that a GUI loop
// that runs the reactor inside cgo callbacks resumes it at the depth it
// was created at (see package deferred).
//
// # Errors
//
// Functions return what a Deferred callback returns: a value, an error,
// or a *deferred.Deferred to wait for. A panic is recovered and treated as
// an error (a *deferred.PanicError); it fails the LoopingCall's or the
// task's Deferred, never the loop. Misuse (starting a running
// LoopingCall, stopping a stopped one, resuming a task that is not paused,
// a nil reactor or function, a LoopingCall or Cooperator not made by its
// constructor) is reported as an error that names the mistake (for Start,
// DeferLater and WaitForFile, a Deferred that has failed), never as a
// panic; for a nil or zero value, the error wraps deferred.ErrNil.
//
// # Closing the reactor
//
// The reactor's Close ends everything of this package still running on
// it and leaves nothing pending for good: a LoopingCall stops and its
// Start Deferred fails, a DeferLater that has not called its function yet
// fails, WaitForFile stops polling and fails, and a Cooperator stops, its
// tasks' WhenDone Deferreds failing and their jobs returning (with one
// exception, see Cooperator.Cooperate). Each of those errors wraps
// reactor.ErrClosed; so do the failures of whatever is started on a
// reactor already closed.
//
// # Portability
//
// The package is pure Go on the reactor and deferred packages: no cgo, no
// GUI package. It builds with CGO_ENABLED=0 wherever the reactor does
// (Linux, macOS, the BSDs).
//
// # Implementation notes
//
// LoopingCall schedules each call with one reactor.DelayedCall at the
// next point of its grid, start + n*interval, computed in integer
// nanoseconds, so calls never drift and Twisted's floating-point guards
// are not needed: the counts of NewLoopingCallWithCount always add up to
// the number of intervals passed.
//
// Cooperator schedules its slices with CallLater(0). The reactor runs a
// call scheduled that way on its next pass, never the one that scheduled
// it, and every pass polls the descriptors, without blocking when it did
// work; so readers and writers, and the GUI loop embedding the reactor,
// get a turn between any two slices. When no task is left to run, no
// timer is left behind.
package task
