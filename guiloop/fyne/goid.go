package fyneloop

import "runtime"

// goid returns the calling goroutine's id, read from the first line of
// its stack trace ("goroutine 42 [running]:"), as Fyne's own thread
// checks do. It costs a couple of microseconds: the pump calls it once
// per Stop, once to learn Fyne's goroutine, and otherwise only when a
// posted call may have run inline.
func goid() uint64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	var id uint64
	for _, c := range buf[len("goroutine "):n] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uint64(c-'0')
	}
	return id
}
