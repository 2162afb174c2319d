package reactortest

import "golang.org/x/sys/unix"

// dupOnto makes newfd refer to oldfd's file (dup3: Linux on arm64 has
// no dup2).
func dupOnto(oldfd, newfd int) error { return unix.Dup3(oldfd, newfd, unix.O_CLOEXEC) }
