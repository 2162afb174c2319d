package gtkloop_test

import (
	"errors"
	"testing"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
	"golang.org/x/sys/unix"
)

// A TCP echo server and client on loopback written straight on the
// reactor with nonblocking sockets, for the tests and the benchmarks.

// listenTCP opens a nonblocking listening socket on 127.0.0.1, closed
// when t ends, and returns it with its port.
func listenTCP(t testing.TB) (fd, port int) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 16); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fd, sa.(*unix.SockaddrInet4).Port
}

// echoServer echoes what every accepted connection sends. Reactor
// goroutine only.
type echoServer struct {
	r     *reactor.Reactor
	ln    int
	conns map[int]*echoConn
}

type echoConn struct {
	buf     []byte
	pending []byte // read but not yet written back
}

func serveEcho(r *reactor.Reactor, ln int) (*echoServer, error) {
	e := &echoServer{r: r, ln: ln, conns: map[int]*echoConn{}}
	return e, r.AddReader(ln, e.accept)
}

func (e *echoServer) accept() {
	for {
		fd, _, err := unix.Accept4(e.ln, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		if err != nil {
			return
		}
		c := &echoConn{buf: make([]byte, 64<<10)}
		e.conns[fd] = c
		e.r.AddReader(fd, func() { e.read(fd, c) })
	}
}

func (e *echoServer) read(fd int, c *echoConn) {
	n, err := unix.Read(fd, c.buf)
	if n == 0 && err == nil || err != nil && !errors.Is(err, unix.EAGAIN) {
		e.drop(fd)
		return
	}
	if n < 0 {
		return
	}
	w, err := unix.Write(fd, c.buf[:n])
	if err != nil && !errors.Is(err, unix.EAGAIN) {
		e.drop(fd)
		return
	}
	w = max(w, 0)
	if w < n {
		// The peer is not reading: hold the rest, stop reading until
		// it has gone out.
		c.pending = append(c.pending[:0], c.buf[w:n]...)
		e.r.RemoveReader(fd)
		e.r.AddWriter(fd, func() { e.flush(fd, c) })
	}
}

func (e *echoServer) flush(fd int, c *echoConn) {
	w, err := unix.Write(fd, c.pending)
	if err != nil && !errors.Is(err, unix.EAGAIN) {
		e.drop(fd)
		return
	}
	c.pending = c.pending[max(w, 0):]
	if len(c.pending) == 0 {
		e.r.RemoveWriter(fd)
		e.r.AddReader(fd, func() { e.read(fd, c) })
	}
}

func (e *echoServer) drop(fd int) {
	e.r.RemoveReader(fd)
	e.r.RemoveWriter(fd)
	unix.Close(fd)
	delete(e.conns, fd)
}

// close stops accepting and closes every connection (not the listener).
func (e *echoServer) close() {
	e.r.RemoveReader(e.ln)
	for fd := range e.conns {
		e.drop(fd)
	}
}

// dialTCP starts a nonblocking connection to 127.0.0.1:port; the
// Deferred fires with nil once it is connected, or fails. Reactor
// goroutine.
func dialTCP(r *reactor.Reactor, port int) (int, *deferred.Deferred) {
	d := deferred.New()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		d.Errback(err)
		return -1, d
	}
	err = unix.Connect(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port})
	if err != nil && !errors.Is(err, unix.EINPROGRESS) {
		d.Errback(err)
		return fd, d
	}
	if err := r.AddWriter(fd, func() {
		r.RemoveWriter(fd)
		if soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR); err != nil || soerr != 0 {
			d.Errback(errors.Join(err, unix.Errno(soerr)))
			return
		}
		d.Callback(nil)
	}); err != nil {
		d.Errback(err)
	}
	return fd, d
}

// readFull fires with the first n bytes read from fd, as a string.
// Reactor goroutine.
func readFull(r *reactor.Reactor, fd, n int) *deferred.Deferred {
	d := deferred.New()
	got := make([]byte, 0, n)
	buf := make([]byte, n)
	err := r.AddReader(fd, func() {
		k, err := unix.Read(fd, buf[:n-len(got)])
		switch {
		case errors.Is(err, unix.EAGAIN):
			return
		case err != nil || k == 0:
			r.RemoveReader(fd)
			d.Errback(errors.Join(err, errors.New("connection closed early")))
			return
		}
		got = append(got, buf[:k]...)
		if len(got) == n {
			r.RemoveReader(fd)
			d.Callback(string(got))
		}
	})
	if err != nil {
		d.Errback(err)
	}
	return d
}
