package transport

import (
	"fmt"
	"net"

	"github.com/loomkit/loom/reactor"
	"golang.org/x/sys/unix"
)

// PipeAddr is the address of a pipe's end: its descriptor.
type PipeAddr int

func (a PipeAddr) Network() string { return "pipe" }
func (a PipeAddr) String() string  { return fmt.Sprintf("fd %d", int(a)) }

// Pipe runs p on fd, one end of a pipe (or a FIFO, or a terminal), which it
// makes nonblocking and takes ownership of: it is closed when the
// transport is (on error it is left to the caller). On a read end the transport only reads: Write returns
// ErrClosed, and the writer's close is a clean ConnectionLost(nil). On a
// write end (write true) it only writes, with the same buffering and flow
// control as a socket; LoseWriteConnection and LoseConnection close fd
// once the buffer is flushed, which the reader sees as its end of file.
// A write end hears that the reader has gone only when it writes (EPIPE,
// classified as ErrReset). Both ends have PipeAddr addresses.
func Pipe(r *reactor.Reactor, fd int, write bool, p Protocol, opts ...Option) (Transport, error) {
	if r == nil || p == nil {
		return nil, &OpError{Op: "pipe", Net: "pipe", Err: fmt.Errorf("nil reactor or protocol")}
	}
	if r.Closed() {
		return nil, &OpError{Op: "pipe", Net: "pipe", Err: ErrClosed}
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		return nil, &OpError{Op: "pipe", Net: "pipe", Addr: PipeAddr(fd), Err: err}
	}
	cfg := newConfig(opts)
	kind := pipeReadEnd
	if write {
		kind = pipeWriteEnd
	}
	c, err := startConn(r, fd, "pipe", PipeAddr(fd), PipeAddr(fd), p, &cfg, kind)
	if err != nil {
		return nil, &OpError{Op: "pipe", Net: "pipe", Addr: PipeAddr(fd), Err: err}
	}
	return c, nil
}

// Adopt runs p on fd, a connected stream socket (TCP or Unix) made
// elsewhere, such as one of a socketpair or one inherited from a parent
// process. It makes fd nonblocking and takes ownership of it (on error it
// is left to the caller).
func Adopt(r *reactor.Reactor, fd int, p Protocol, opts ...Option) (Transport, error) {
	if r == nil || p == nil {
		return nil, &OpError{Op: "adopt", Err: fmt.Errorf("nil reactor or protocol")}
	}
	if r.Closed() {
		return nil, &OpError{Op: "adopt", Err: ErrClosed}
	}
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil || typ != unix.SOCK_STREAM {
		if err == nil {
			err = fmt.Errorf("not a stream socket (type %d)", typ)
		}
		return nil, &OpError{Op: "adopt", Err: err}
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		return nil, &OpError{Op: "adopt", Err: err}
	}
	netw := "tcp"
	var laddr, raddr net.Addr
	if sa, err := unix.Getsockname(fd); err == nil {
		if _, ok := sa.(*unix.SockaddrUnix); ok {
			netw = "unix"
		}
		laddr = sockaddrToAddr(netw, sa)
	}
	if sa, err := unix.Getpeername(fd); err == nil {
		raddr = sockaddrToAddr(netw, sa)
	}
	if laddr == nil {
		laddr = &net.UnixAddr{Net: netw}
	}
	if raddr == nil {
		raddr = &net.UnixAddr{Net: netw}
	}
	cfg := newConfig(opts)
	c, err := startConn(r, fd, netw, laddr, raddr, p, &cfg, sockEnd)
	if err != nil {
		return nil, &OpError{Op: "adopt", Net: netw, Err: err}
	}
	return c, nil
}
