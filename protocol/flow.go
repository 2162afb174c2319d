package protocol

import (
	"errors"
	"fmt"
	"sync"

	"github.com/loomkit/loom/transport"
)

// Errors that errors.Is finds in what the decoders return and in what a
// Receiver's handler is given in ConnectionLost.
var (
	// ErrLineTooLong: a line is longer than LineConfig.MaxLength. It is
	// transport.ErrLineTooLong, what a Stream's ReadLine reports, so one
	// errors.Is finds either.
	ErrLineTooLong = transport.ErrLineTooLong
	// ErrFrameTooLong: a netstring's or a length-prefixed frame's
	// length is over its MaxLength, or a frame to send is.
	ErrFrameTooLong = errors.New("frame too long")
	// ErrMalformed: the bytes break the framing's rules (a netstring's
	// leading zero, a byte that is not a digit, a missing comma), or a
	// line to send holds its delimiter.
	ErrMalformed = errors.New("malformed frame")
	// ErrTruncated: the stream ended inside a frame.
	ErrTruncated = errors.New("stream ended inside a frame")
	// ErrConfig: a configuration the decoder cannot use (a prefix of 3
	// bytes, a negative maximum).
	ErrConfig = errors.New("invalid configuration")
)

// errReentrant is what Feed returns when called from one of the same
// decoder's callbacks.
var errReentrant = errors.New("protocol: Feed called from the decoder's own callback")

// FrameError is the error a decoder stops with, and what a Receiver's
// handler gets in ConnectionLost when the framing closed the connection.
type FrameError struct {
	// Codec is "line", "netstring" or "frame".
	Codec string
	// Offset is where the frame began, counted in bytes from the start of
	// the stream.
	Offset int64
	// Reason says what was wrong, for a person.
	Reason string
	// Err is ErrLineTooLong, ErrFrameTooLong, ErrMalformed, ErrTruncated
	// or ErrConfig.
	Err error
}

func (e *FrameError) Error() string {
	if e.Err == ErrConfig {
		return "protocol: " + e.Codec + ": " + e.Reason
	}
	return fmt.Sprintf("protocol: %s at byte %d: %s", e.Codec, e.Offset, e.Reason)
}

func (e *FrameError) Unwrap() error { return e.Err }

func configError(codec, format string, args ...any) *FrameError {
	return &FrameError{Codec: codec, Reason: fmt.Sprintf(format, args...), Err: ErrConfig}
}

// processor is a codec's byte-level state machine. process consumes b from
// its start, delivering frames, and returns how much it consumed: all of
// b (an unfinished frame's bytes are kept by the codec) unless delivery
// stopped (a pause, a stop) or an error was set.
type processor interface {
	process(b []byte) int
}

// flow is what the decoders share: the bytes held while paused, and the
// flags that make pausing, resuming and stopping safe from inside a
// callback.
type flow struct {
	held    []byte // input not yet processed: what was fed while paused
	heldOff int
	paused  bool
	busy    bool // process is running: a callback is on the stack
	stopped bool // deliver nothing more
	err     error
}

// Pause stops the delivery of frames: a frame callback that pauses is the
// last to run until Resume, and the rest of the bytes fed are kept,
// whole, to be processed then. Bytes fed while paused are kept too.
func (f *flow) Pause() { f.paused = true }

// Paused reports whether the decoder is paused.
func (f *flow) Paused() bool { return f.paused }

// Err returns the error the decoder stopped with, or nil.
func (f *flow) Err() error { return f.err }

func (f *flow) stop() { f.stopped = true }

func (f *flow) heldLen() int { return len(f.held) - f.heldOff }

func (f *flow) feed(p processor, b []byte) error {
	switch {
	case f.err != nil:
		return f.err
	case f.busy:
		return errReentrant
	case f.stopped || len(b) == 0:
		return nil
	case f.paused || f.heldLen() > 0:
		f.held = append(f.held, b...)
		if f.paused {
			return nil
		}
		return f.drain(p)
	}
	f.busy = true
	n := p.process(b)
	f.busy = false
	if n < len(b) && f.err == nil && !f.stopped {
		// Paused inside a callback: b is the caller's, valid only
		// during this call, so what is left of it is copied.
		f.held = append(f.held[:0], b[n:]...)
		f.heldOff = 0
		if !f.paused {
			return f.drain(p)
		}
	}
	return f.err
}

func (f *flow) resume(p processor) error {
	if !f.paused {
		return f.err
	}
	f.paused = false
	if f.busy {
		return nil // the delivery in progress goes on
	}
	return f.drain(p)
}

// drain processes the held bytes until they are done or delivery stops.
func (f *flow) drain(p processor) error {
	f.busy = true
	for f.heldLen() > 0 && !f.paused && !f.stopped && f.err == nil {
		n := p.process(f.held[f.heldOff:])
		f.heldOff += n
		if n == 0 {
			break
		}
	}
	f.busy = false
	if f.heldLen() == 0 || f.stopped || f.err != nil {
		f.held, f.heldOff = f.held[:0], 0
		if cap(f.held) > maxKeptHeld {
			f.held = nil
		}
	}
	return f.err
}

// maxKeptHeld is the most a decoder keeps of the buffer it held paused
// input in, once that input is processed: enough for a read or two.
const maxKeptHeld = 256 << 10

// grow returns buf with room for n more bytes, never with a capacity over
// limit (which must be at least len(buf)+n): the capacity doubles, so
// filling a buffer byte by byte copies each byte a bounded number of
// times, and a peer that announces a long frame makes the decoder hold
// no more than twice what it actually sent.
func grow(buf []byte, n, limit int) []byte {
	need := len(buf) + n
	if need <= cap(buf) {
		return buf
	}
	c := max(min(max(2*cap(buf), 64), limit), need)
	nb := make([]byte, len(buf), c)
	copy(nb, buf)
	return nb
}

// copyMax is the longest payload the sending helpers copy, with its
// header and trailer, into one buffer for one Write; a longer one goes
// by Writev, as it is.
const copyMax = 2 << 10

// sendBuf is a sending helper's scratch space, pooled so that sending
// allocates nothing: a helper takes one with getSendBuf, may build a
// header in h, and sends.
type sendBuf struct {
	b    []byte
	h    [24]byte
	tail []byte
	vec  [3][]byte
}

var sendBufs = sync.Pool{New: func() any { return &sendBuf{b: make([]byte, 0, copyMax+64)} }}

func getSendBuf() *sendBuf { return sendBufs.Get().(*sendBuf) }

// send writes head, body and tail to t in one call, and puts s back.
func (s *sendBuf) send(t transport.Transport, head, body []byte, tail string) error {
	var err error
	if len(body) <= copyMax {
		s.b = append(append(append(s.b[:0], head...), body...), tail...)
		err = t.Write(s.b)
	} else {
		s.tail = append(s.tail[:0], tail...)
		s.vec = [3][]byte{head, body, s.tail}
		err = t.Writev(s.vec[:])
		s.vec = [3][]byte{}
	}
	sendBufs.Put(s)
	return err
}
