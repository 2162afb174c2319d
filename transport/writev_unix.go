//go:build darwin || linux || openbsd

package transport

import "golang.org/x/sys/unix"

const haveWritev = true

func writev(fd int, bs [][]byte) (int, error) { return unix.Writev(fd, bs) }
