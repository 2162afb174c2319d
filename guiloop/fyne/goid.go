package fyneloop

import "github.com/loomkit/loom/internal/stack"

// goid returns the calling goroutine's id, read from the first line of
// its stack trace ("goroutine 42 [running]:"), as Fyne's own thread
// checks do. It costs a couple of microseconds: the pump calls it once
// per Stop, once to learn Fyne's goroutine, and otherwise only when a
// posted call may have run inline.
func goid() uint64 { return stack.Goid() }
