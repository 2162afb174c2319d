package reactor

import (
	"runtime"
	"sync"
)

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
// resumes a coroutine (iter.Pull) from loop callbacks uses it. It must be
// called on the reactor goroutine.
func (r *Reactor) CallSoonUnnested(f func()) {
	if r.closed.Load() || f == nil {
		return
	}
	r.unnested = append(r.unnested, f)
	r.nudge()
}

// runUnnested runs the unnested calls queued before it, if this pass is
// at the outermost depth.
func (r *Reactor) runUnnested() bool {
	if len(r.unnested) == 0 || !r.atBase() {
		return false
	}
	batch := r.unnested
	r.unnested = nil
	for i, f := range batch {
		batch[i] = nil
		r.call(f, "unnested call", -1)
	}
	if r.unnested == nil {
		r.unnested = batch[:0]
	}
	return true
}

// unnestedReady reports whether queued unnested calls could run now.
func (r *Reactor) unnestedReady() bool {
	return len(r.unnested) > 0 && r.atBase()
}

// atBase reports whether the code running now is at the outermost depth
// the reactor has seen, measuring it (a walk of the stack, a few
// microseconds) only in a program that has made cgo calls.
func (r *Reactor) atBase() bool {
	if runtime.NumCgoCall() == 0 && !r.levelSeen {
		return true // no cgo, no callbacks: one depth
	}
	l := r.level()
	if !r.levelSeen || l < r.baseLevel {
		r.levelSeen, r.baseLevel = true, l
	}
	return l == r.baseLevel
}

// level is the cgo-callback depth of the calling code. On a coroutine's
// goroutine (created by an unnested call, at the base depth) the
// callbacks of its own stack count on top of its creator's depth.
func (r *Reactor) level() int {
	n, coro := cgoCallbacks()
	if coro && r.levelSeen {
		n += r.baseLevel
	}
	return n
}

var cgoFrames struct {
	sync.Mutex
	kind map[uintptr]uint8 // pc: 1 a cgo callback, 2 a coroutine's start, 0 neither
}

// cgoCallbacks counts the cgo callbacks on the calling goroutine's stack
// and tells whether that goroutine is a coroutine's.
func cgoCallbacks() (n int, coro bool) {
	var buf [256]uintptr
	pcs := buf[:runtime.Callers(2, buf[:])]
	for size := 2 * len(buf); len(pcs) == cap(pcs) && size <= 1<<16; size *= 2 {
		big := make([]uintptr, size) // a deep stack: look further
		pcs = big[:runtime.Callers(2, big)]
	}
	cgoFrames.Lock()
	defer cgoFrames.Unlock()
	if cgoFrames.kind == nil {
		cgoFrames.kind = make(map[uintptr]uint8)
	}
	for _, pc := range pcs {
		k, ok := cgoFrames.kind[pc]
		if !ok {
			if f := runtime.FuncForPC(pc - 1); f != nil {
				switch f.Name() {
				case "runtime.cgocallbackg":
					k = 1
				case "runtime.corostart":
					k = 2
				}
			}
			cgoFrames.kind[pc] = k
		}
		switch k {
		case 1:
			n++
		case 2:
			coro = true
		}
	}
	return n, coro
}
