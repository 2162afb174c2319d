//go:build linux || freebsd || dragonfly

package transport

import "golang.org/x/sys/unix"

// socket opens a nonblocking close-on-exec socket.
func socket(family, typ int) (int, error) {
	return unix.Socket(family, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
}

// accept takes one connection as a nonblocking close-on-exec socket.
func accept(fd int) (int, unix.Sockaddr, error) {
	return unix.Accept4(fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
}
