package task

import (
	"errors"
	"runtime"

	"github.com/loomkit/loom/reactor"
)

// A coroutine made by iter.Pull must be resumed with the thread locking
// it was created with, or the Go runtime aborts the program ("coro: OS
// thread locking must match locking at coroutine creation"). Every cgo
// callback locks the thread once more: a GTK program runs the reactor's
// passes, and so creates its jobs' coroutines, inside GLib's dispatch
// callback, and usually calls Close after gtk.Main has returned, one
// callback level higher. Resumes from reactor callbacks are safe (they
// run where the job was created); Close is not a reactor callback, so
// before it resumes a suspended job to end it, it checks that it runs on
// the goroutine that created the coroutine, at the same cgo callback
// depth.

// An origin is where a coroutine was created: the goroutine, and how
// many cgo callbacks deep it was.
type origin struct {
	g   uint64
	cgo int
}

// here returns the caller's origin.
func here() origin {
	return origin{g: goid(), cgo: cgoDepth()}
}

// goid returns the current goroutine's id, read from the first line of
// its stack trace ("goroutine 18 [running]:").
func goid() uint64 {
	var buf [32]byte
	b := buf[:runtime.Stack(buf[:], false)]
	const prefix = "goroutine "
	if len(b) < len(prefix) || string(b[:len(prefix)]) != prefix {
		return 0
	}
	var id uint64
	for _, c := range b[len(prefix):] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uint64(c-'0')
	}
	return id
}

// cgoDepth counts the cgo callbacks on the current goroutine's stack.
// The runtime's unwinder walks through callbacks into the Go frames that
// called C, so every level shows one runtime.cgocallbackg frame.
func cgoDepth() int {
	pcs := make([]uintptr, 64)
	for {
		n := runtime.Callers(1, pcs)
		if n < len(pcs) {
			pcs = pcs[:n]
			break
		}
		pcs = make([]uintptr, 2*len(pcs))
	}
	depth := 0
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		if f.Function == "runtime.cgocallbackg" {
			depth++
		}
		if !more {
			return depth
		}
	}
}

// closed reports whether r has been closed. AddReader reports ErrClosed
// on a closed reactor before it looks at its arguments, and with a nil
// function it never registers anything.
func closed(r *reactor.Reactor) bool {
	return errors.Is(r.AddReader(-1, nil), reactor.ErrClosed)
}
