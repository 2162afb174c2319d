package transport

import (
	"net"

	"github.com/loomkit/loom/reactor"
)

// Protocol is the application's side of one connection. Its methods run on
// the reactor goroutine.
type Protocol interface {
	// ConnectionMade is called once, when the connection is established,
	// with the transport to write to. Writing from it is fine.
	ConnectionMade(t Transport)
	// DataReceived is called with bytes read from the connection. b is
	// valid only during the call: copy what must be kept.
	DataReceived(b []byte)
	// ConnectionLost is called once, when the connection is closed and
	// its descriptor released: err is nil for a clean close, otherwise
	// why (see the package doc). It is never called from inside a
	// Transport method.
	ConnectionLost(err error)
}

// HalfCloser is implemented by a protocol that wants to hear the peer's end
// of file (the peer closed its write side) and, perhaps, keep writing.
type HalfCloser interface {
	// ReadConnectionLost is called when the peer has sent its last
	// byte. Returning true keeps the connection open for writing, until
	// LoseConnection or an error; returning false closes it, after what
	// is buffered is flushed, as for a protocol that is not a
	// HalfCloser.
	ReadConnectionLost() (keepWriting bool)
}

// WriteFlow is implemented by a protocol that wants to be told when to
// stop and start writing (see the package doc, Flow control).
type WriteFlow interface {
	// PauseWriting is called when the transport's write buffer grows
	// past its high water mark. It may be called from inside Write.
	PauseWriting()
	// ResumeWriting is called once the buffer has drained to the low
	// water mark.
	ResumeWriting()
}

// Transport is loom's side of one connection. Its methods are for the
// reactor goroutine.
type Transport interface {
	// Write sends b, or buffers what the kernel does not take at once;
	// it never blocks and does not keep b. It returns ErrBufferFull,
	// taking nothing, if b would grow the buffer past the hard cap, and
	// an error wrapping ErrClosed after the write side was closed.
	Write(b []byte) error
	// Writev is Write of the concatenation of bs, in one system call
	// where it can.
	Writev(bs [][]byte) error
	// LoseConnection closes the connection once the buffer is flushed:
	// it stops reading, sends the end of file, and, on a socket, waits
	// for the peer's (dropping what it still sends) for at most the
	// linger timeout (WithLingerTimeout), so that closing never resets a
	// connection whose last bytes are in flight. ConnectionLost follows,
	// with nil if every byte was delivered.
	LoseConnection()
	// LoseWriteConnection closes the write side once the buffer is
	// flushed (a TCP FIN), leaving the read side open.
	LoseWriteConnection() error
	// Abort closes the connection at once, dropping what is buffered (a
	// TCP reset); ConnectionLost follows with an error wrapping
	// ErrAborted.
	Abort()
	// PauseReading stops DataReceived until ResumeReading; the kernel's
	// buffer then fills and the peer's writes stall.
	PauseReading()
	// ResumeReading undoes PauseReading.
	ResumeReading()
	// LocalAddr and RemoteAddr return the connection's addresses.
	LocalAddr() net.Addr
	RemoteAddr() net.Addr
	// State reports what the connection can do now.
	State() State
	// Buffered returns the number of bytes written and not yet taken by
	// the kernel.
	Buffered() int
	// SetWriteLimits sets the high and low water marks and the hard cap
	// of the write buffer (see the package doc); a value of 0 leaves
	// that limit as it was. It returns an error, changing nothing, unless
	// low <= high <= cap.
	SetWriteLimits(high, low, cap int) error
	// WriteLimits returns the high and low water marks and the hard cap.
	WriteLimits() (high, low, cap int)
	// Reactor returns the reactor the connection runs on.
	Reactor() *reactor.Reactor
}

// State is a snapshot of a connection's state, as flags.
type State uint8

const (
	// Open: connected, not yet closed.
	Open State = 1 << iota
	// Closing: LoseConnection was called, the buffer is being flushed.
	Closing
	// ReadPaused: PauseReading is in effect.
	ReadPaused
	// WritePaused: the write buffer is past its high water mark and the
	// protocol was told to PauseWriting.
	WritePaused
	// ReadClosed: the peer's end of file was read.
	ReadClosed
	// WriteClosed: the write side is closed or closing
	// (LoseWriteConnection).
	WriteClosed
	// Closed: the connection is closed; ConnectionLost has been or is
	// about to be called.
	Closed
)

var stateNames = [...]string{"open", "closing", "read-paused", "write-paused", "read-closed", "write-closed", "closed"}

// String lists the flags set, such as "open|read-paused".
func (s State) String() string {
	if s == 0 {
		return "none"
	}
	out := ""
	for i, n := range stateNames {
		if s&(1<<i) != 0 {
			if out != "" {
				out += "|"
			}
			out += n
		}
	}
	return out
}

// Factory makes the protocol for a connection a listener accepted from
// remote. Returning nil refuses the connection: it is closed at once.
type Factory func(remote net.Addr) Protocol

// Default limits; see the package doc.
const (
	DefaultHighWater = 64 << 10
	DefaultLowWater  = 16 << 10
	DefaultWriteCap  = 4 << 20
	// ReadSize is the most one read takes.
	ReadSize = 64 << 10
	// MaxReadsPerWakeup bounds the reads one connection does each time
	// it is readable, so one fast peer cannot starve the others or the
	// UI (libuv: 32).
	MaxReadsPerWakeup = 16
	// MaxAcceptsPerWakeup bounds the connections a listener accepts each
	// time it is readable.
	MaxAcceptsPerWakeup = 32
)
