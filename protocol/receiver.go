package protocol

import (
	"errors"

	"github.com/loomkit/loom/internal/slow"
	"github.com/loomkit/loom/transport"
)

// Handler is the application's side of a connection whose bytes a
// Receiver splits into frames: transport.Protocol with FrameReceived in
// place of DataReceived. Its methods run on the reactor goroutine.
//
// A Handler that also implements transport.HalfCloser or
// transport.WriteFlow hears those calls too.
type Handler interface {
	// ConnectionMade is called once, when the connection is
	// established, with the transport to write to. Pausing reading
	// through it (or the Receiver) pauses the frames too.
	ConnectionMade(t transport.Transport)
	// FrameReceived is called with each frame: a line, its delimiter
	// removed, a netstring's payload or a length-prefixed frame's
	// payload. frame is valid only during the call: copy what must be
	// kept.
	FrameReceived(frame []byte)
	// ConnectionLost is called once, when the connection is closed, as
	// transport.Protocol's. When the framing closed it, err is the
	// *FrameError that says why (ErrLineTooLong, ErrFrameTooLong,
	// ErrMalformed); when the peer closed in the middle of a frame, one
	// wrapping ErrTruncated. An error of the transport's, if there was
	// one too, is joined to it (errors.Join).
	ConnectionLost(err error)
}

// decoder is what a Receiver drives: one of the package's decoders.
type decoder interface {
	Feed(b []byte) error
	Pause()
	Resume() error
	Paused() bool
	Buffered() int
	End() error
	Err() error
	stop()
	isBusy() bool
	heldLen() int
}

func (f *flow) isBusy() bool { return f.busy }

// encoder is a configuration's sending side.
type encoder interface {
	Write(t transport.Transport, b []byte) error
}

// Receiver is a transport.Protocol that splits what it receives into
// frames, lines, netstrings or length-prefixed, and hands each to its
// Handler's FrameReceived. Make one per connection with NewLineReceiver,
// NewNetstringReceiver or NewFrameReceiver.
//
// Pausing reading, through the transport the handler was given or
// through the Receiver, stops the frames at once: if FrameReceived
// pauses, the frames left in the bytes just read are held and delivered,
// in order, when reading resumes, and the transport stops reading so that
// the kernel's buffers fill and the peer's writes stall. Resuming
// delivers the held frames on the next pass of the loop, then lets the
// transport read again. The transport the handler is given is the
// connection's with its PauseReading and ResumeReading going through the
// Receiver: pause through it, not through the one a dial's promise
// resolves with, which cannot hold the frames of the read in progress.
//
// When the handler closes the connection (LoseConnection, Abort) from
// FrameReceived, no frame after that one is delivered. A framing error
// (with LineConfig's OverflowClose, a line too long) closes the
// connection with LoseConnection, so what was written is flushed, and
// ConnectionLost gets the error.
type Receiver struct {
	h      Handler
	dec    decoder
	enc    encoder
	half   transport.HalfCloser
	flow   transport.WriteFlow
	t      transport.Transport
	tr     readControl
	onSkip func(int64)

	err         error // why the framing closed the connection
	resuming    bool  // ResumeReading was called, held frames to deliver
	drainQueued bool
	drainFn     func()
}

// readControl is the transport a handler is given: pausing and resuming
// reading go through its Receiver.
type readControl struct {
	transport.Transport
	r *Receiver
}

func (c *readControl) PauseReading()  { c.r.PauseReading() }
func (c *readControl) ResumeReading() { c.r.ResumeReading() }

func newReceiver(h Handler, enc encoder) *Receiver {
	r := &Receiver{h: h, enc: enc}
	r.half, _ = h.(transport.HalfCloser)
	r.flow, _ = h.(transport.WriteFlow)
	r.tr.r = r
	r.drainFn = r.drain
	return r
}

// NewLineReceiver returns a Receiver that hands h each line, as a
// LineDecoder with cfg splits them. cfg.OnSkip, if set, is called for the
// lines OverflowSkip drops.
func NewLineReceiver(cfg LineConfig, h Handler) *Receiver {
	r := newReceiver(h, cfg)
	if cfg.OnSkip != nil {
		r.onSkip = cfg.OnSkip
		cfg.OnSkip = r.skipped
	}
	r.dec = NewLineDecoder(cfg, r.frame)
	return r
}

// NewNetstringReceiver returns a Receiver that hands h each netstring's
// payload, as a NetstringDecoder with cfg splits them.
func NewNetstringReceiver(cfg NetstringConfig, h Handler) *Receiver {
	r := newReceiver(h, cfg)
	r.dec = NewNetstringDecoder(cfg, r.frame)
	return r
}

// NewFrameReceiver returns a Receiver that hands h each length-prefixed
// frame's payload, as a FrameDecoder with cfg splits them.
func NewFrameReceiver(cfg FrameConfig, h Handler) *Receiver {
	r := newReceiver(h, cfg)
	r.dec = NewFrameDecoder(cfg, r.frame)
	return r
}

// Transport returns the transport the handler was given (nil before
// ConnectionMade).
func (r *Receiver) Transport() transport.Transport {
	if r.t == nil {
		return nil
	}
	return &r.tr
}

// Send writes frame to the connection in the Receiver's framing: a line
// and its delimiter, a netstring, or a prefix and the payload (see
// LineConfig.Write, NetstringConfig.Write and FrameConfig.Write).
func (r *Receiver) Send(frame []byte) error {
	if r.t == nil {
		return &transport.OpError{Op: "write", Err: transport.ErrClosed}
	}
	return r.enc.Write(r.t, frame)
}

// Buffered returns how many bytes the Receiver holds: an unfinished
// frame, and what was read before a pause took effect.
func (r *Receiver) Buffered() int { return r.dec.Buffered() }

// PauseReading stops the frames at once (see Receiver) and the
// transport's reading.
func (r *Receiver) PauseReading() {
	r.resuming = false
	r.dec.Pause()
	if r.t != nil {
		r.t.PauseReading()
	}
}

// ResumeReading undoes PauseReading: held frames are delivered on the
// next pass of the loop, after which the transport reads again; with none
// held (or when called from FrameReceived, where the delivery in progress
// goes on) the transport reads again at once.
func (r *Receiver) ResumeReading() {
	if !r.dec.Paused() || r.t == nil {
		r.resuming = false
		r.dec.Resume()
		if r.t != nil {
			r.t.ResumeReading()
		}
		return
	}
	if r.dec.isBusy() || r.dec.heldLen() == 0 {
		r.resuming = false
		if err := r.dec.Resume(); err != nil {
			r.fail(err)
			return
		}
		r.t.ResumeReading()
		return
	}
	r.resuming = true
	if !r.drainQueued {
		r.drainQueued = true
		r.t.Reactor().CallSoon(r.drainFn)
	}
}

func (r *Receiver) drain() {
	r.drainQueued = false
	if !r.resuming || r.closing() {
		return
	}
	r.resuming = false
	if err := r.dec.Resume(); err != nil {
		r.fail(err)
		return
	}
	if !r.dec.Paused() && !r.closing() {
		r.t.ResumeReading()
	}
}

func (r *Receiver) closing() bool {
	return r.t.State()&(transport.Closing|transport.Closed) != 0
}

// fail closes the connection for a framing error.
func (r *Receiver) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.dec.stop()
	r.t.LoseConnection()
}

func (r *Receiver) frame(b []byte) {
	if slow.On() {
		t0, n0 := slow.Begin()
		r.h.FrameReceived(b)
		slow.EndMethod("frame handler", r.h, "FrameReceived", -1, t0, n0)
	} else {
		r.h.FrameReceived(b)
	}
	if r.closing() {
		r.dec.stop()
	}
}

func (r *Receiver) skipped(n int64) {
	r.onSkip(n)
	if r.closing() {
		r.dec.stop()
	}
}

// ConnectionMade is transport.Protocol's: it hands the handler the
// transport.
func (r *Receiver) ConnectionMade(t transport.Transport) {
	r.t = t
	r.tr.Transport = t
	if r.dec.Paused() {
		t.PauseReading()
	}
	r.h.ConnectionMade(&r.tr)
	if err := r.dec.Err(); err != nil && r.err == nil {
		r.fail(err) // a configuration the decoder cannot use
	}
}

// DataReceived is transport.Protocol's: it feeds the decoder.
func (r *Receiver) DataReceived(b []byte) {
	if err := r.dec.Feed(b); err != nil {
		r.fail(err)
	}
}

// ConnectionLost is transport.Protocol's: it tells the handler, with the
// framing's error if the framing closed the connection or the peer
// stopped inside a frame.
func (r *Receiver) ConnectionLost(err error) {
	r.dec.stop()
	if r.err == nil && err == nil && r.t != nil && r.t.State()&transport.ReadClosed != 0 {
		r.err = r.dec.End()
	}
	switch {
	case r.err == nil:
	case err == nil:
		err = r.err
	default:
		err = errors.Join(r.err, err)
	}
	r.h.ConnectionLost(err)
}

// ReadConnectionLost is transport.HalfCloser's, passed on to the handler
// if it is one; otherwise the connection closes, as for a protocol that
// is not.
func (r *Receiver) ReadConnectionLost() bool {
	if r.half != nil {
		return r.half.ReadConnectionLost()
	}
	return false
}

// PauseWriting is transport.WriteFlow's, passed on to the handler if it
// is one.
func (r *Receiver) PauseWriting() {
	if r.flow != nil {
		r.flow.PauseWriting()
	}
}

// ResumeWriting is transport.WriteFlow's, passed on to the handler if it
// is one.
func (r *Receiver) ResumeWriting() {
	if r.flow != nil {
		r.flow.ResumeWriting()
	}
}
