package gtkloop

// #include <glib.h>
import "C"

import (
	"bytes"
	"log/slog"
	"runtime"
)

// A coroutine (deferred.Async, or any iter.Pull) must be resumed at the
// cgo callback depth it was created at, or the Go runtime aborts the
// program with "coro: OS thread locking must match locking at coroutine
// creation". Every dispatch of the source is a cgo callback; inside a
// nested main loop (a modal dialog's Run, a nested gtk.Main) it is one
// callback deeper than in the main loop. A coroutine created in the main
// loop and resumed by a pass inside a nested loop therefore aborts the
// program. gtkloop cannot move the resume, so it says so first: when a
// nested loop starts dispatching while coroutines are suspended, it logs
// a warning that names the danger and the way out.

// checkNesting runs at each dispatch: on entering a deeper main loop it
// looks for suspended coroutines.
func (s *source) checkNesting() {
	d := int(C.g_main_depth())
	if d == s.mainDepth {
		return
	}
	deeper := d > s.mainDepth && s.mainDepth > 0
	s.mainDepth = d
	if !deeper {
		return
	}
	if n := suspendedCoroutines(); n > 0 {
		slog.Warn("gtkloop: the reactor runs inside a nested main loop (a modal dialog's Run or a nested gtk.Main) "+
			"while coroutines are suspended; a coroutine created outside this loop and resumed inside it "+
			"makes the Go runtime abort with \"coro: OS thread locking must match locking at coroutine creation\". "+
			"Show the dialog with Show and handle its response signal instead of Run, or let the coroutines finish first",
			"suspended", n, "depth", d)
	}
}

// suspendedCoroutines counts the goroutines parked as coroutines.
func suspendedCoroutines() int {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	return bytes.Count(buf, []byte(" [coroutine"))
}
