// Package nesttest runs Go code one cgo callback deeper, as a GUI
// toolkit's main loop runs its handlers, so that the handling of
// coroutines at a reactor's Close can be tested without a toolkit. It
// needs cgo; the deferred package itself does not.
package nesttest

/*
#include <stdint.h>
extern void deferredNesttestCallback(uintptr_t h);
static void deferred_nesttest_call(uintptr_t h) { deferredNesttestCallback(h); }
*/
import "C"

import "runtime/cgo"

// Nest calls f from C: f runs one cgo callback deeper than the caller.
func Nest(f func()) {
	h := cgo.NewHandle(f)
	defer h.Delete()
	C.deferred_nesttest_call(C.uintptr_t(h))
}

//export deferredNesttestCallback
func deferredNesttestCallback(h C.uintptr_t) {
	cgo.Handle(h).Value().(func())()
}
