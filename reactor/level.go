package reactor

import (
	"runtime"

	"github.com/loomkit/loom/internal/stack"
)

func goid() uint64                     { return stack.Goid() }
func cgoCallbacks() (n int, coro bool) { return stack.CgoCallbacks() }

// Coroutines and nested main loops.
//
// A coroutine made by iter.Pull must be resumed at the cgo-callback depth
// it was created at, or the Go runtime aborts the program ("coro: OS
// thread locking must match locking at coroutine creation"). Under a GUI
// loop every pass is a cgo callback, and a pass inside a nested main loop
// (a modal dialog's Run) is one callback deeper than a pass of the main
// loop. So the code that creates and resumes coroutines (deferred.Async,
// task.Cooperator) queues it with CallSoonUnnested, which runs it only in
// a pass at the outermost depth the reactor runs at: a coroutine then
// pauses while a modal dialog runs, and goes on when it closes.
//
// The depth is the number of cgo callbacks on the calling goroutine's
// stack (what the runtime counts as internal thread locks), plus, on a
// coroutine's own goroutine, the depth its creator ran at: coroutines are
// created by unnested calls, at the outermost depth.

// CallSoonUnnested queues f as CallSoon does, but runs it only in a pass
// at the outermost cgo-callback depth the reactor has run at: never in a
// pass inside a nested main loop (a modal dialog's Run, a nested
// gtk.Main) that is deeper than the loop's own. Calls wait, in order,
// until the loop is back at that depth. Without a GUI loop every pass is
// at the same depth, and it behaves as CallSoon. Code that creates or
// resumes a coroutine (iter.Pull) from loop callbacks uses it. The
// returned function cancels the call if it has not run. It must be called
// on the reactor goroutine.
func (r *Reactor) CallSoonUnnested(f func()) (cancel func()) {
	r.loopOnly("CallSoonUnnested")
	if r.closed.Load() || f == nil {
		return func() {}
	}
	c := &unnestedCall{f: f}
	r.unnested = append(r.unnested, c)
	r.unnestedLive++
	r.nudge()
	return func() {
		if c.f != nil {
			c.f = nil
			r.unnestedLive--
		}
	}
}

type unnestedCall struct{ f func() }

// runUnnested runs the unnested calls queued before it, if this pass is
// at the outermost depth.
func (r *Reactor) runUnnested() bool {
	if r.unnestedLive == 0 {
		clear(r.unnested)
		r.unnested = r.unnested[:0]
		return false
	}
	if !r.atBase() {
		return false
	}
	batch := r.unnested
	r.unnested = nil
	for i, c := range batch {
		batch[i] = nil
		if f := c.f; f != nil {
			c.f = nil
			r.unnestedLive--
			r.call(f, kindUnnested, -1)
		}
	}
	if r.unnested == nil {
		r.unnested = batch[:0]
	}
	return true
}

// unnestedReady reports whether queued unnested calls could run now.
func (r *Reactor) unnestedReady() bool {
	return r.unnestedLive > 0 && r.atBase()
}

// atBase reports whether the code running now is at the outermost depth
// of the loop, on the goroutine that runs the loop there (or a coroutine
// it made). The base is what the first pass measured (markBase), and
// never moves: a coroutine made at it must be resumed at it. Measuring
// walks the stack (a few microseconds); a program that has made no cgo
// call has one depth and is not measured.
func (r *Reactor) atBase() bool {
	if !r.levelSeen {
		r.markBase()
	}
	if runtime.NumCgoCall() == 0 && r.baseLevel == 0 {
		return true // no cgo, no callbacks: one depth
	}
	l, coro := r.level()
	return l == r.baseLevel && (coro || goid() == r.baseG)
}

// closeAtBase is atBase with the goroutine checked even without cgo:
// Close may be called on another goroutine, whose thread locking may not
// be the loop goroutine's.
func (r *Reactor) closeAtBase() bool {
	if !r.atBase() {
		return false
	}
	if goid() == r.baseG {
		return true
	}
	_, coro := cgoCallbacks()
	return coro
}

// markBase records the depth and goroutine of the calling code, the
// first pass's, as the loop's own.
func (r *Reactor) markBase() {
	r.levelSeen, r.baseG = true, goid()
	if runtime.NumCgoCall() > 0 {
		r.baseLevel, _ = cgoCallbacks()
	}
}

// level is the cgo-callback depth of the calling code. On a coroutine's
// goroutine (created by an unnested call, at the base depth) the
// callbacks of its own stack count on top of its creator's depth.
func (r *Reactor) level() (n int, coro bool) {
	n, coro = cgoCallbacks()
	if coro && r.levelSeen {
		n += r.baseLevel
	}
	return n, coro
}

// SetNest gives the reactor a way to run code one cgo callback deeper
// than its caller: nest calls f from C. A GUI loop whose passes run
// inside a callback of the toolkit (gtkloop) sets it, so that Close,
// called after the toolkit's main loop has returned, can still run the
// unnested calls that end suspended coroutines at the depth they were
// made at. It must be called on the reactor goroutine.
func (r *Reactor) SetNest(nest func(f func())) { r.nest = nest }

// drainUnnested runs the unnested calls still queued at Close: at the
// base depth if Close runs there, or reached through SetNest's function
// from above it. Calls that cannot be run at their depth are dropped
// (their coroutines stay parked) and counted in the log.
func (r *Reactor) drainUnnested() {
	for tries := 0; r.unnestedLive > 0 && tries < 4; tries++ {
		if r.closeAtBase() {
			r.runUnnested()
			continue
		}
		l, _ := r.level()
		if r.nest == nil || l >= r.baseLevel || goid() != r.baseG {
			break
		}
		r.nest(r.drainUnnested)
	}
	if n := r.unnestedLive; n > 0 {
		r.log.Warn("reactor: Close could not reach the depth coroutines were made at; their goroutines stay parked "+
			"(close the reactor on the loop's goroutine, or before the GUI's main loop returns)", "calls", n)
		r.unnested, r.unnestedLive = nil, 0
	}
}

// Closed reports whether Close has been called. Any goroutine.
func (r *Reactor) Closed() bool { return r.closed.Load() }
