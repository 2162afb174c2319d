// Package headlesstest tests fyneloop under Fyne's test driver
// (fyne.io/fyne/v2/test), without a display. It holds only tests, in a
// process of their own: the test driver and the GLFW driver cannot share
// one, since each makes its app fyne.CurrentApp.
//
// Fyne's test driver has no event loop: it runs every posted call at once
// on the caller's goroutine. The pump then runs each pass on its own
// goroutine, which becomes the reactor goroutine.
package headlesstest
