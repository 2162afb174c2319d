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
// bounded pool and delivers its result back as a Deferred; Go and
// GoWithProgress do the same with a typed promise, the second with
// progress reports that reach the loop coalesced, as typed promise
// events (deferred.Progress).
//
// In debug mode (WithDebug, or LOOM_DEBUG=1) every loop-only method checks
// the calling goroutine and panics with a message that says so.
//
// # Diagnostics
//
// One callback that runs 200 ms on a GUI thread is a window frozen for
// 200 ms. Slow-callback detection (WithSlowCallbacks, LOOM_SLOW=1 or
// LOOM_SLOW=30ms, and debug mode) logs every callback that runs longer
// than a threshold — by default 100 ms, one 60 Hz frame (16 ms) under a GUI
// loop — with its kind, its duration, and the function and line that
// registered it, at most once per function per second; a Deferred's
// callback, a Promise's and a coroutine's resume (with the Await it ran
// to) are reported as themselves, not as the reader or timer that fired
// them. SlowCallbacks keeps the latest. Stats counts passes and callbacks
// by kind, reads the watched descriptors, pending timers and queued calls,
// and keeps histograms of how late timers ran and, while timing is on
// (TimePasses, WithTiming, LOOM_STATS=1, or detection), of how long passes
// ran callbacks. Descriptors lists what is watched. The GUI loops open a
// live window of all of it (gtkloop.Inspect, fyneloop.Inspect).
//
// # One pass
//
// Run repeats RunOnce(-1). One pass, RunOnce(timeout), is:
//
//  1. Timers: every DelayedCall due now, soonest first, ties in
//     scheduling order. Calls scheduled during this step wait for the
//     next pass.
//  2. Queued calls: the CallSoon queue, the CallSoonUnnested queue (if
//     the pass is at the loop's own depth, see below) and the calls from
//     other goroutines, as they were when the step began.
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
// # Stopping and closing
//
// Stop fires the Shutdown system event; its Before triggers may hold the
// stop with a Deferred, for at most the shutdown timeout
// (WithShutdownTimeout); then Run returns. SIGINT and SIGTERM stop the
// reactor that way unless it was made WithoutSignalHandlers or
// SetStopOnInterrupt(false) was called; once one has started a stop, the
// next one gets the OS's default action, so a held stop never swallows a
// second signal.
//
// Close releases everything and leaves nothing running. A reactor that
// ran and was never stopped (its embedding loop ended) is stopped first,
// its Shutdown triggers run. Then the OnClose hooks run, with which
// coroutines, cooperative tasks and waits end themselves; goroutine work
// still pending is cancelled (its context too); calls made after Close
// are dropped.
//
// # Coroutines and nested loops
//
// A coroutine made with iter.Pull (deferred.Async, task.Cooperator) must
// be resumed at the cgo-callback depth it was made at, or the Go runtime
// aborts the program. Under a GUI loop every pass is a cgo callback, one
// deeper inside a modal dialog's nested loop than in the main loop. Calls
// queued with CallSoonUnnested run only in passes at the loop's own depth
// (the first pass's, on its goroutine) and wait while a nested loop runs;
// loom creates and resumes every coroutine through them. The depth is
// counted from the stack (a few microseconds), only while such calls are
// queued and only in a program that has made cgo calls. SetNest lets a
// Close called after a GUI's main loop returned reach that depth again.
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
// wakeup of the backend. A pass that dispatches readiness allocates
// nothing.
//
// When the epoll backend has to block, it parks the goroutine in Go's
// runtime netpoller on the epoll descriptor, and a wakeup from another
// goroutine sets that parked read's deadline in the past: the runtime
// readies the reactor goroutine without a system call, usually on the
// waking goroutine's own thread (a CallFromGoroutine round trip is about
// a third of a goroutine woken through a pipe). While one descriptor
// keeps it busy (it alone ended the last two waits, the last within
// 200 µs: a conversation with one peer) it blocks in epoll_wait in the
// kernel instead, for at most 200 µs at a time: one system call per
// wakeup, as a C loop makes, where the netpoller costs three and the
// scheduler's hand-offs. With many peers the netpoller's slower wakeup
// gathers more events per pass, which costs less. It never stays there when quiet, because a
// goroutine blocked in a system call keeps the runtime's monitor thread
// polling. The figures are in the poller's notes. The poll backend has no single
// pollable descriptor; BackendFD starts a goroutine that polls the same
// set, signals one descriptor, and waits for the pass to finish before
// it polls again, so no readiness is announced twice; it also wakes at
// least once a second, so that a descriptor closed while registered is
// not held open by its sleeping poll.
//
// A descriptor closed while epoll still watches it through a copy (dup,
// net.Conn.File, a child that inherited it) cannot be removed from the
// kernel's set: its registration outlives the number. The epoll backend
// keeps its own record of what it registered, tags each event with a
// generation, and when a report or a failed removal shows such a
// leftover, rebuilds the set from its record. BackendFD is then a second
// epoll set whose only member is the current one, so its number stays
// the same across rebuilds for the GUI loops that poll it; the
// reactor's own wait uses the current set directly.
package reactor
