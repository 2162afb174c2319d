package transport

import (
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/loomkit/loom/deferred"
)

// Errors that errors.Is finds in what this package returns and in what
// ConnectionLost is given.
var (
	// ErrRefused: nothing listens at the address (ECONNREFUSED).
	ErrRefused = errors.New("connection refused")
	// ErrReset: the peer reset the connection (ECONNRESET, EPIPE).
	ErrReset = errors.New("connection reset by peer")
	// ErrTimeout: the connection or the operation timed out.
	ErrTimeout = errors.New("timed out")
	// ErrUnreachable: no route to the host or its network.
	ErrUnreachable = errors.New("host unreachable")
	// ErrAborted: this side closed the connection with Abort.
	ErrAborted = errors.New("connection aborted")
	// ErrClosed: the connection, the listener or the reactor is closed.
	ErrClosed = errors.New("closed")
	// ErrBufferFull: Write would grow the write buffer past its hard cap.
	ErrBufferFull = errors.New("write buffer full")
	// ErrCancelled: the dial was cancelled (it is deferred.ErrCancelled).
	ErrCancelled = deferred.ErrCancelled
)

// OpError is the error of a failed transport operation.
type OpError struct {
	// Op is the operation: "dial", "read", "write", "accept", "listen",
	// "close", "handshake" (TLS), "adopt", "pipe".
	Op string
	// Net and Addr name the connection's network and peer (or, for a
	// listener, its own address).
	Net  string
	Addr net.Addr
	// Unsent is the number of bytes Write accepted that were not
	// delivered.
	Unsent int
	// Err is the cause, matching one of the package's errors where one
	// applies and the errno it came from.
	Err error
}

func (e *OpError) Error() string {
	s := e.Op
	if e.Net != "" {
		s += " " + e.Net
	}
	if e.Addr != nil {
		s += " " + e.Addr.String()
	}
	s += ": " + e.Err.Error()
	if e.Unsent > 0 {
		s += fmt.Sprintf(" (%d bytes written were not delivered)", e.Unsent)
	}
	return s
}

func (e *OpError) Unwrap() error { return e.Err }

// Timeout reports whether the error is a timeout, as net.Error does.
func (e *OpError) Timeout() bool { return errors.Is(e.Err, ErrTimeout) }

// classified pairs a package error with the errno it came from.
type classified struct {
	kind  error
	errno syscall.Errno
}

func (c *classified) Error() string        { return c.kind.Error() }
func (c *classified) Unwrap() []error      { return []error{c.kind, c.errno} }
func (c *classified) Timeout() bool        { return c.kind == ErrTimeout }
func (c *classified) Is(target error) bool { return target == c.kind }

// classify wraps an errno in the package error it belongs to, if any.
func classify(err error) error {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err
	}
	var kind error
	switch errno {
	case syscall.ECONNREFUSED:
		kind = ErrRefused
	case syscall.ECONNRESET, syscall.EPIPE, syscall.ECONNABORTED:
		kind = ErrReset
	case syscall.ETIMEDOUT:
		kind = ErrTimeout
	case syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.EHOSTDOWN, syscall.ENETDOWN:
		kind = ErrUnreachable
	default:
		return errno
	}
	return &classified{kind, errno}
}
