package protocol

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/transport"
)

// Stream hands the body to p as it arrives, as a connection hands its
// bytes to a transport.Protocol, and returns a promise for the number of
// bytes delivered. The body is read on a goroutine, BodyWindow bytes at
// most ahead of p: two reads of half of it each, which p's DataReceived
// gets one by one on the reactor goroutine. So when p pauses, the
// goroutine stops reading at once and the server's writes stall (with
// HTTP/2, once net/http's own window for the stream, 4 MiB by default,
// is full).
//
// p.ConnectionMade is called first, inside Stream, with a
// transport.Transport for the body:
//
//   - PauseReading and ResumeReading stop and restart DataReceived (and
//     the reading); bytes already read are delivered, in order, on a pass
//     after ResumeReading.
//   - LoseConnection stops the body where it is, a clean end: the
//     connection is closed, ConnectionLost(nil) follows and the promise
//     resolves with the bytes delivered. Abort does the same with an
//     error wrapping transport.ErrAborted, which rejects the promise.
//   - Write and Writev fail with an error wrapping transport.ErrClosed:
//     a response has nothing to write to. State reports WriteClosed,
//     ReadPaused, ReadClosed after the last byte, Closed at the end;
//     LocalAddr and RemoteAddr are the connection's.
//
// At the end of the body a p that implements transport.HalfCloser hears
// ReadConnectionLost (its answer does not matter: there is nothing to
// write), then ConnectionLost(nil), and the promise resolves. A body that
// breaks off ends with ConnectionLost(*BodyError) and the promise is
// rejected with it. ConnectionLost is never called from inside another
// of p's callbacks or a method of the transport: in that case it comes
// when the callback returns, or on the next pass.
//
// The promise emits Download and deferred.Progress, counting the bytes
// read from the network. Cancelling it stops the transfer as for Bytes,
// and ConnectionLost gets an error wrapping deferred.ErrCancelled;
// closing the reactor, one that also wraps reactor.ErrClosed. A body
// already taken gives a promise rejected with ErrBodyTaken, and p hears
// nothing. As a transport.Protocol, a Receiver (NewLineReceiver and the
// others) splits a body into frames.
func (resp *Response) Stream(p transport.Protocol) *deferred.Promise[int64] {
	pr, res := deferred.NewPromise[int64]()
	if p == nil {
		res.Reject(fmt.Errorf("protocol: Response.Stream given a nil protocol: %w", deferred.ErrNil))
		return pr
	}
	body, err := resp.take()
	if err != nil {
		res.Reject(err)
		return pr
	}
	x := resp.x
	s := &bodyStream{
		x:     x,
		p:     p,
		res:   res,
		body:  body,
		total: resp.ContentLength,
		free:  make(chan []byte, 2),
		state: transport.Open | transport.WriteClosed,
		high:  transport.DefaultHighWater,
		low:   transport.DefaultLowWater,
		cap:   transport.DefaultWriteCap,
	}
	s.half, _ = p.(transport.HalfCloser)
	s.m = newMeter(x.r, x.interval, s.total, emitDownload(res))
	s.drainFn = s.drain
	s.deliverFn = s.resumed
	s.tellFn = s.tell
	window := make([]byte, BodyWindow)
	s.free <- window[: BodyWindow/2 : BodyWindow/2]
	s.free <- window[BodyWindow/2:]
	x.abort = s.closed
	res.OnCancel(s.cancel)
	go s.pump()
	s.call(func() { p.ConnectionMade(s) })
	return pr
}

// bodyStream is a body handed to a protocol; it is the protocol's
// transport.
type bodyStream struct {
	x     *exchange
	p     transport.Protocol
	half  transport.HalfCloser
	m     *meter
	res   deferred.Resolver[int64]
	body  io.ReadCloser
	total int64
	free  chan []byte // buffers the pump may read into: its credit

	drainFn, deliverFn, tellFn func()

	// Shared with the pump.
	mu     sync.Mutex
	queue  [][]byte // read, not yet taken by the loop
	end    error    // why the pump stopped (io.EOF at the end)
	ended  bool
	queued bool // a drain is queued on the loop

	// Loop goroutine.
	held           [][]byte // taken from the queue, not yet delivered
	endSeen        bool
	endErr         error
	paused         bool
	resumeQueued   bool
	delivered      int64
	state          transport.State
	inCall         int
	lost           bool // the end is decided
	lostErr        error
	clean          bool // the body was read to its end
	told           bool // ConnectionLost was called
	high, low, cap int
}

// pump reads the body into free buffers and queues them for the loop.
// It runs on its own goroutine until the body ends or the transfer is
// cancelled.
func (s *bodyStream) pump() {
	defer s.body.Close()
	for {
		var buf []byte
		select {
		case buf = <-s.free:
		case <-s.x.ctx.Done():
			s.push(nil, context.Cause(s.x.ctx))
			return
		}
		n, err := s.body.Read(buf)
		s.m.add(n)
		if n > 0 {
			buf = buf[:n]
		} else {
			s.free <- buf
			buf = nil
		}
		s.push(buf, err)
		if err != nil {
			return
		}
	}
}

// push queues b (if not nil) and the pump's end (if err is not nil),
// and a drain unless one is queued. Pump goroutine.
func (s *bodyStream) push(b []byte, err error) {
	s.mu.Lock()
	if b != nil {
		s.queue = append(s.queue, b)
	}
	if err != nil {
		s.ended, s.end = true, err
	}
	if s.queued || (b == nil && err == nil) {
		s.mu.Unlock()
		return
	}
	s.queued = true
	s.mu.Unlock()
	s.x.r.CallFromGoroutine(s.drainFn)
}

// drain takes what the pump queued and delivers it. Loop goroutine.
func (s *bodyStream) drain() {
	s.mu.Lock()
	s.queued = false
	s.held = append(s.held, s.queue...)
	clear(s.queue)
	s.queue = s.queue[:0]
	if s.ended && !s.endSeen {
		s.endSeen, s.endErr = true, s.end
	}
	s.mu.Unlock()
	s.deliver()
}

// resumed delivers what was held while reading was paused. Loop
// goroutine.
func (s *bodyStream) resumed() {
	s.resumeQueued = false
	s.deliver()
}

// deliver hands the protocol the bytes held, unless it is paused, and
// then the end of the body. Loop goroutine.
func (s *bodyStream) deliver() {
	for len(s.held) > 0 && !s.paused && !s.lost {
		b := s.held[0]
		copy(s.held, s.held[1:])
		s.held[len(s.held)-1] = nil
		s.held = s.held[:len(s.held)-1]
		s.delivered += int64(len(b))
		s.dataReceived(b)
	}
	switch {
	case s.lost:
		if !s.told && s.inCall == 0 {
			s.tell()
		}
	case len(s.held) == 0 && s.endSeen && !s.paused:
		if s.endErr != io.EOF {
			s.lose(s.x.bodyError(s.delivered, s.total, s.endErr), false)
			return
		}
		s.state |= transport.ReadClosed
		s.clean = true
		if s.half != nil {
			s.call(func() { s.half.ReadConnectionLost() })
		}
		s.lose(nil, false)
	}
}

// dataReceived calls DataReceived with b and gives the buffer back to
// the pump, even if the protocol panics. Loop goroutine.
func (s *bodyStream) dataReceived(b []byte) {
	defer func() { s.free <- b[:cap(b)] }()
	s.call(func() { s.p.DataReceived(b) })
}

// call runs one of the protocol's callbacks. A ConnectionLost decided
// meanwhile is made when it returns; if it panics, the delivery goes on
// in the next pass (the reactor logs the panic).
func (s *bodyStream) call(f func()) {
	s.inCall++
	ok := false
	defer func() {
		s.inCall--
		if !ok {
			s.x.r.CallSoon(s.deliverFn)
		} else if s.inCall == 0 && s.lost && !s.told {
			s.tell()
		}
	}()
	f()
	ok = true
}

// lose decides how the stream ends: the transfer stops, and
// ConnectionLost(err) is made now, or, from inside a callback, when it
// returns, or, from a transport method (later), on the next pass. Loop
// goroutine.
func (s *bodyStream) lose(err error, later bool) {
	if s.lost {
		return
	}
	s.lost, s.lostErr = true, err
	s.state = s.state&^(transport.Open|transport.Closing) | transport.Closed
	if !s.clean {
		s.x.kill() // the hook stays until ConnectionLost is made
	}
	switch {
	case s.inCall > 0:
	case later:
		s.x.r.CallSoon(s.tellFn)
	default:
		s.tell()
	}
}

// tell makes ConnectionLost and settles the promise. Loop goroutine.
func (s *bodyStream) tell() {
	if s.told {
		return
	}
	s.told = true
	x := s.x
	x.abort = nil
	x.stage = stageDone
	x.finish(s.clean)
	if s.clean {
		s.m.finish(s.delivered)
	} else {
		s.m.flush()
	}
	defer func() { // after ConnectionLost, even if it panics
		if s.lostErr != nil {
			s.res.Reject(s.lostErr)
		} else {
			s.res.Resolve(s.delivered)
		}
	}()
	s.call(func() { s.p.ConnectionLost(s.lostErr) })
}

// cancel is the promise's canceller. Loop goroutine.
func (s *bodyStream) cancel() {
	if !s.lost {
		s.m.stop()
		s.lose(fmt.Errorf("protocol: %s %s: %w", s.x.method, s.x.url, deferred.ErrCancelled), false)
	}
}

// closed is what the reactor's Close does to the stream. Loop goroutine.
func (s *bodyStream) closed(err error) {
	if !s.lost {
		s.lose(err, false)
	}
	s.tell()
}

// Write fails: a response has nothing to write to.
func (s *bodyStream) Write([]byte) error {
	return &transport.OpError{Op: "write", Err: fmt.Errorf("an HTTP response body is read-only: %w", transport.ErrClosed)}
}

// Writev fails as Write.
func (s *bodyStream) Writev([][]byte) error { return s.Write(nil) }

// LoseConnection stops the body: ConnectionLost(nil) follows.
func (s *bodyStream) LoseConnection() {
	if s.lost {
		return
	}
	s.state |= transport.Closing
	s.lose(nil, true)
}

// LoseWriteConnection does nothing: the write side is closed.
func (s *bodyStream) LoseWriteConnection() error { return nil }

// Abort stops the body: ConnectionLost follows with an error wrapping
// transport.ErrAborted.
func (s *bodyStream) Abort() {
	if !s.lost {
		s.lose(fmt.Errorf("protocol: %s %s: the body was aborted: %w", s.x.method, s.x.url, transport.ErrAborted), true)
	}
}

// PauseReading stops DataReceived and, once the window is full, the
// reading.
func (s *bodyStream) PauseReading() {
	if !s.lost {
		s.paused = true
		s.state |= transport.ReadPaused
	}
}

// ResumeReading undoes PauseReading: what was read meanwhile is
// delivered on the next pass.
func (s *bodyStream) ResumeReading() {
	if !s.paused {
		return
	}
	s.paused = false
	s.state &^= transport.ReadPaused
	if !s.resumeQueued && !s.lost {
		s.resumeQueued = true
		s.x.r.CallSoon(s.deliverFn)
	}
}

// LocalAddr returns the connection's local address, if net/http said.
func (s *bodyStream) LocalAddr() net.Addr { l, _ := s.x.addrs(); return l }

// RemoteAddr returns the server's address, if net/http said.
func (s *bodyStream) RemoteAddr() net.Addr { _, r := s.x.addrs(); return r }

// State reports the stream's state.
func (s *bodyStream) State() transport.State { return s.state }

// Buffered returns 0: nothing is written.
func (s *bodyStream) Buffered() int { return 0 }

// SetWriteLimits checks and keeps the limits, which nothing uses.
func (s *bodyStream) SetWriteLimits(high, low, cap int) error {
	h, l, c := s.high, s.low, s.cap
	if high != 0 {
		h = high
	}
	if low != 0 {
		l = low
	}
	if cap != 0 {
		c = cap
	}
	if l < 0 || l > h || h > c {
		return fmt.Errorf("protocol: write limits need 0 <= low <= high <= cap, got %d, %d, %d", l, h, c)
	}
	s.high, s.low, s.cap = h, l, c
	return nil
}

// WriteLimits returns the limits SetWriteLimits kept.
func (s *bodyStream) WriteLimits() (high, low, cap int) { return s.high, s.low, s.cap }

// Reactor returns the reactor the body is delivered on.
func (s *bodyStream) Reactor() *reactor.Reactor { return s.x.r }
