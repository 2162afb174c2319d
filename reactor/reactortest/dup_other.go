//go:build unix && !linux

package reactortest

import "golang.org/x/sys/unix"

// dupOnto makes newfd refer to oldfd's file.
func dupOnto(oldfd, newfd int) error { return unix.Dup2(oldfd, newfd) }
