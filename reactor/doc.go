// Package reactor is loom's event loop: it waits for descriptors to become
// readable or writable, for timers, for signals and for calls from other
// goroutines, and runs every callback on one goroutine, one at a time.
//
// That single goroutine is the point. When a GUI loop drives the reactor
// (packages guiloop/gtk and guiloop/fyne) it is the GUI thread, so a
// socket callback may update a widget with no lock and no idle-add.
//
//	r, err := reactor.New()
//	if err != nil { ... }
//	defer r.Close()
//	r.CallLater(2*time.Second, func() { fmt.Println("two seconds later") })
//	err = r.Run(ctx) // until r.Stop(), ctx ends, SIGINT or SIGTERM
//
// # Goroutines
//
// Every method must be called on the reactor goroutine (from a callback,
// or before the loop starts) except CallFromGoroutine, the one door for
// other goroutines: it queues a function and wakes the loop. Blocking
// work belongs on another goroutine: DeferToGoroutine runs it on a
// bounded pool and delivers its result back as a Deferred.
//
// # One pass
//
// Run repeats RunOnce(-1). One pass, RunOnce(timeout), is:
//
//  1. Timers: every DelayedCall due now, soonest first, ties in
//     scheduling order. Calls scheduled during this step wait for the
//     next pass.
//  2. Queued calls: the CallSoon queue and the calls from other
//     goroutines, as they were when the step began.
//  3. I/O: wait for readiness up to timeout, capped by the next timer,
//     and not at all if steps 1–2 did work or more calls are queued;
//     then run the ready descriptors' readers and writers, the calls
//     other goroutines queued meanwhile and, if the pass waited, the
//     timers that came due.
//
// A panicking callback is recovered and logged with its stack through
// log/slog (WithLogger); the loop goes on.
//
// # Embedding in another loop
//
// A foreign loop (a GUI toolkit's) drives the reactor with three methods,
// as libuv's uv_backend_fd/uv_backend_timeout: BackendFD is one
// descriptor that polls readable whenever there is I/O work or a wakeup;
// NextTimeout is how long the loop may sleep on it; RunOnce(0) does all
// ready work without blocking. After each RunOnce the loop checks Stopped.
//
//	for !r.Stopped() {
//		poll(BackendFD, NextTimeout)  // the foreign loop's own wait
//		r.RunOnce(0)
//	}
//
// # Portability
//
//	OS                               default backend   others   waker
//	Linux                            epoll             poll     eventfd
//	macOS, FreeBSD, DragonFly        kqueue            poll     EVFILT_USER
//	OpenBSD, NetBSD                  kqueue            poll     self-pipe
//	other Unix                       poll              -        self-pipe
//
// Backends lists what the running OS has; WithBackend, or the environment
// variable LOOM_BACKEND, picks one. The kqueue backend is compiled for
// the BSDs and macOS but exercised here only through its build.
//
// # Implementation notes
//
// Backends (internal/poller) are one file each behind a six-method
// contract; readiness is level-triggered everywhere. Each registration
// remembers the wait that was current when it was made, and each event
// the wait that produced it, so an event for a descriptor removed, or
// removed and re-added under a reused number, during the dispatch of its
// batch is dropped (libuv's uv__platform_invalidate_fd duty). The same
// bookkeeping makes nested passes safe: a modal dialog's loop running
// RunOnce inside a callback serves the descriptors, and the outer batch
// does not serve them again.
//
// Timers live in a binary heap indexed by (deadline, sequence), with each
// DelayedCall knowing its slot, so Cancel and Reset are O(log n) and
// allocation-free. Calls from other goroutines go through a mutex-guarded
// slice and an atomic flag that coalesces concurrent wakeups into one
// write to the waker. A pass that dispatches readiness allocates nothing.
//
// When the epoll backend has to block, it parks the goroutine in Go's
// runtime netpoller on the epoll descriptor rather than blocking a thread
// in epoll_wait, so a wakeup from another goroutine costs a goroutine
// switch instead of an OS thread wakeup. The poll backend has no single
// pollable descriptor; BackendFD starts a goroutine that polls the same
// set, signals one descriptor, and waits for the pass to finish before
// it polls again, so no readiness is announced twice.
package reactor
