// Package nesttest runs Go code one cgo callback deeper, as a GUI
// toolkit's nested main loop (a modal dialog's Run) does, so that the
// reactor's handling of coroutines across nested loops can be tested
// without a toolkit. It needs cgo; the reactor itself does not.
package nesttest

/*
#include <stdint.h>
extern void nesttestCallback(uintptr_t h);
static void nesttest_call(uintptr_t h) { nesttestCallback(h); }
*/
import "C"

import "runtime/cgo"

// Nest calls f from C: f runs one cgo callback deeper than the caller.
func Nest(f func()) {
	h := cgo.NewHandle(f)
	defer h.Delete()
	C.nesttest_call(C.uintptr_t(h))
}

//export nesttestCallback
func nesttestCallback(h C.uintptr_t) {
	cgo.Handle(h).Value().(func())()
}
