//go:build !(darwin || linux || openbsd)

package transport

// x/sys has no writev here: Writev copies into the buffer and flushes it.
const haveWritev = false

func writev(fd int, bs [][]byte) (int, error) { panic("unreachable") }
