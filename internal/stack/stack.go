// Package stack reads what loom needs to know about the calling
// goroutine: its id, and how many cgo callbacks are on its stack. A
// coroutine made by iter.Pull may only be switched to with the thread
// locking it was created with, or the runtime aborts the program ("coro:
// OS thread locking must match locking at coroutine creation"), and every
// cgo callback on the stack counts as one lock. It is cgo-free.
package stack

import (
	"runtime"
	"sync"
)

var goidBufs = sync.Pool{New: func() any { return new([32]byte) }}

// Goid returns the calling goroutine's id, read from the first line of
// its stack trace ("goroutine 18 [running]:"), as Fyne's own thread
// checks do. It costs about a microsecond, and allocates nothing: the
// buffer runtime.Stack writes to escapes, so it comes from a pool.
func Goid() uint64 {
	buf := goidBufs.Get().(*[32]byte)
	defer goidBufs.Put(buf)
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

// CgoCallbacks counts the cgo callbacks on the calling goroutine's stack
// (the runtime's unwinder walks through each into the Go frames that
// called C, showing one runtime.cgocallbackg frame per level) and tells
// whether that goroutine is a coroutine's, whose stack does not show its
// resumer's. Walking costs a few microseconds; a caller in a program
// that never made a cgo call (runtime.NumCgoCall() == 0) knows the count
// is 0 without it.
func CgoCallbacks() (n int, coro bool) {
	var buf [256]uintptr
	pcs := buf[:runtime.Callers(2, buf[:])]
	for size := 2 * len(buf); len(pcs) == cap(pcs) && size <= 1<<16; size *= 2 {
		big := make([]uintptr, size) // a deep stack: look further
		pcs = big[:runtime.Callers(2, big)]
	}
	frames.Lock()
	defer frames.Unlock()
	if frames.kind == nil {
		frames.kind = make(map[uintptr]frameKind)
	}
	for _, pc := range pcs {
		k, ok := frames.kind[pc]
		if !ok {
			if f := runtime.FuncForPC(pc - 1); f != nil {
				switch f.Name() {
				case "runtime.cgocallbackg":
					k = cgoCallbackFrame
				case "runtime.corostart":
					k = coroutineFrame
				}
			}
			frames.kind[pc] = k
		}
		switch k {
		case cgoCallbackFrame:
			n++
		case coroutineFrame:
			coro = true
		}
	}
	return n, coro
}

type frameKind uint8

const (
	otherFrame frameKind = iota
	cgoCallbackFrame
	coroutineFrame
)

// frames caches what each program counter seen on a stack is, so that a
// walk resolves each function name once.
var frames struct {
	sync.Mutex
	kind map[uintptr]frameKind
}
