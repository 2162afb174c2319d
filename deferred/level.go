package deferred

import (
	"runtime"
	"sync"
)

// A coroutine made by iter.Pull may only be switched to with the thread
// locking it was created with, or the Go runtime aborts the program
// ("coro: OS thread locking must match locking at coroutine creation").
// Every cgo callback on the stack counts as one lock. Under a GUI loop the
// loop's passes are cgo callbacks, but its Close usually comes after the
// main loop has returned, one callback shallower: a coroutine created in a
// pass cannot be resumed there. So a coroutine records the depth it was
// created at, and Close resumes it only at that same depth.

// threadLevel returns the number of cgo callbacks on the calling
// goroutine's stack, or -1 when that cannot tell how the coroutine switch
// would go: on a coroutine's own goroutine, whose stack does not show its
// resumer's. Tests replace it.
var threadLevel = cgoCallbackLevel

func cgoCallbackLevel() int {
	if runtime.NumCgoCall() == 0 {
		return 0 // no cgo call was ever made, so none is on the stack
	}
	var buf [256]uintptr
	pcs := buf[:runtime.Callers(2, buf[:])]
	for size := 2 * len(buf); len(pcs) == cap(pcs) && size <= 1<<16; size *= 2 {
		big := make([]uintptr, size) // a deep stack: look further
		pcs = big[:runtime.Callers(2, big)]
	}
	cgoFrames.Lock()
	defer cgoFrames.Unlock()
	if cgoFrames.kind == nil {
		cgoFrames.kind = make(map[uintptr]frameKind)
	}
	n := 0
	for _, pc := range pcs {
		k, ok := cgoFrames.kind[pc]
		if !ok {
			if f := runtime.FuncForPC(pc - 1); f != nil {
				switch f.Name() {
				case "runtime.cgocallbackg":
					k = cgoCallbackFrame
				case "runtime.corostart":
					k = coroutineFrame
				}
			}
			cgoFrames.kind[pc] = k
		}
		switch k {
		case cgoCallbackFrame:
			n++
		case coroutineFrame:
			return -1
		}
	}
	return n
}

type frameKind uint8

const (
	otherFrame frameKind = iota
	cgoCallbackFrame
	coroutineFrame
)

// cgoFrames caches what each program counter seen on a stack is, so that a
// walk resolves each function name once.
var cgoFrames struct {
	sync.Mutex
	kind map[uintptr]frameKind
}
