package transport

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"slices"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
)

// DefaultStreamLimit is how many received bytes a Stream holds before it
// pauses reading, unless SetReadLimit says otherwise. It is also the limit
// of ReadLine and ReadUntil when they are given 0.
const DefaultStreamLimit = 64 << 10

// Errors of a Stream's reads, which errors.Is finds.
var (
	// ErrLineTooLong: ReadLine or ReadUntil found no delimiter within its
	// limit. The bytes stay in the stream, to be read some other way.
	ErrLineTooLong = errors.New("line too long")
	// ErrReadPending: a read was asked for while another read of the same
	// stream was waiting. One read waits at a time.
	ErrReadPending = errors.New("a read is already pending")
)

var errStreamNotConnected = errors.New("transport: stream: not connected")

// IncompleteReadError is the error of a read that the end of the stream
// cut short: ReadFull got fewer bytes than it wanted, or ReadUntil or
// ReadLine found no delimiter before the end. The bytes that did arrive
// are taken from the stream and are in Partial; a read that finds nothing
// left gets io.EOF (or the connection's error) instead.
type IncompleteReadError struct {
	// Partial holds the bytes that arrived.
	Partial []byte
	// Want is the number of bytes ReadFull wanted; 0 for ReadUntil and
	// ReadLine.
	Want int
	// Err is io.ErrUnexpectedEOF if the peer ended the stream cleanly,
	// otherwise the error the connection was lost with.
	Err error
}

func (e *IncompleteReadError) Error() string {
	if e.Want > 0 {
		return fmt.Sprintf("transport: stream ended after %d of %d bytes: %v", len(e.Partial), e.Want, e.Err)
	}
	return fmt.Sprintf("transport: stream ended after %d bytes, before the delimiter: %v", len(e.Partial), e.Err)
}

func (e *IncompleteReadError) Unwrap() error { return e.Err }

// Stream is a connection for code that reads top to bottom (asyncio's
// StreamReader and StreamWriter in one): its reads return promises, so
// that a coroutine started with deferred.Async awaits them in turn,
//
//	s, err := deferred.Await(co, transport.DialStream(r, "tcp", addr))
//	...
//	s.Write([]byte("HELLO\r\n"))
//	line, err := deferred.Await(co, s.ReadLine(1024))
//
// on the reactor goroutine, so on the GUI thread when a GUI loop drives
// the reactor.
//
// A Stream is a Protocol (also a HalfCloser and a WriteFlow): give it to
// Dial, DialTCP or DialUnix, or serve streams with StreamFactory;
// DialStream does the first for you. The zero Stream is ready to use and
// serves one connection; a second ConnectionMade aborts that connection.
//
// # Reads
//
// Read, ReadFull, ReadUntil and ReadLine each return a promise for bytes
// the caller owns. A read the buffered bytes can answer settles before it
// returns (and Await then does not suspend); otherwise it waits for the
// bytes it needs. One read waits at a time: a read asked for while another
// waits is rejected with ErrReadPending (as in asyncio), and the waiting
// read is not disturbed. Cancelling a waiting read's promise (or the
// coroutine awaiting it) rejects it with deferred.ErrCancelled and takes
// nothing from the stream: the bytes that arrived meanwhile are there for
// the next read.
//
// Once the peer has ended the stream, reads are answered from what is
// buffered; then a read gets io.EOF after a clean end, or the error the
// connection was lost with, and a read cut short gets an
// *IncompleteReadError holding the bytes that arrived.
//
// # Flow control
//
// The stream holds what arrives until it is read, up to its read limit
// (DefaultStreamLimit, or SetReadLimit): past it, the stream pauses its
// transport's reading, and resumes it once reads have taken the buffer
// down to half the limit (or a waiting read needs more bytes). A read that
// needs more than the limit (a ReadFull of a megabyte) lets the buffer
// grow to what it needs. So a coroutine that reads slowly holds at most
// the limit plus one transport read (ReadSize), and the peer's writes
// stall in the kernel. The stream pauses and resumes its transport's
// reading itself: leave them to it.
//
// Writes are the transport's: Write buffers what the kernel does not take
// at once, and Drain resolves once that buffer has drained below the low
// water mark (at once if it is not past the high one), so a writer that
// awaits Drain after its writes never makes the buffer grow past the high
// water mark by more than one write.
//
// # Closing
//
// A stream stays open until Close or Abort, also after the peer's end of
// file, when it can still write (it is a HalfCloser that keeps writing):
// code that is done with a stream closes it, with defer s.Close() at the
// top of its coroutine. WaitClosed resolves once the connection is gone.
//
// # Memory
//
// Reads copy their bytes out of one buffer per stream, kept for the
// stream's life: its capacity stays below twice the limit plus one
// transport read, unless a bigger read needs more, and such a bigger
// buffer is dropped once it is empty. A search for a delimiter never looks at a
// byte twice, however the bytes were split, so reading costs O(n) in the
// bytes read, and each read two allocations (its promise and its bytes).
//
// Its methods are for the reactor goroutine.
type Stream struct {
	t      Transport
	onMade func(*Stream)
	limit  int // the read limit; 0 for DefaultStreamLimit

	buf []byte // buf[off:] is received and not yet read
	off int

	paused      bool  // this stream paused its transport's reading
	eof         bool  // no more bytes will arrive
	lost        bool  // ConnectionLost has been called
	err         error // what the connection was lost with
	writePaused bool  // between PauseWriting and ResumeWriting

	// The waiting read, if kind is not readNone.
	kind     readKind
	n        int    // the most Read takes, ReadFull's count, or the delimiter's limit
	delim    []byte // ReadUntil's delimiter (a copy, in delimBuf if it fits)
	delimBuf [8]byte
	scanned  int // bytes of buf[off:] searched for the delimiter
	res      deferred.Resolver[[]byte]
	cancel   func() // cancelRead, bound once

	drains, closers waiters
}

var _ interface {
	Protocol
	HalfCloser
	WriteFlow
} = (*Stream)(nil)

type readKind uint8

const (
	readNone  readKind = iota
	readSome           // Read: one byte or more, at most n
	readFull           // ReadFull: n bytes
	readUntil          // ReadUntil: up to and with delim, at most n before it
	readLine           // ReadLine: up to "\n", without "\n" or "\r\n", at most n before it
)

// maxLimit keeps a delimiter's search window from overflowing.
const maxLimit = math.MaxInt / 2

// DialStream connects on network ("tcp", "tcp4", "tcp6" or "unix") to
// address, as Dial does, with a new Stream as the protocol; the promise
// resolves with the stream once it is connected. Cancelling the promise
// cancels the dial. To give the stream a read limit of its own from the
// first byte, make it and pass it to Dial instead.
func DialStream(r *reactor.Reactor, network, address string, opts ...Option) *deferred.Promise[*Stream] {
	s := new(Stream)
	dial := Dial(r, network, address, s, opts...)
	p, res := deferred.NewPromise[*Stream]()
	res.OnCancel(dial.Cancel)
	dial.OnValue(func(Transport) { res.Resolve(s) })
	dial.OnError(func(err error) { res.Reject(err) })
	return p
}

// StreamFactory returns a Factory, for ListenTCP and the like, that gives
// each connection a new Stream and calls serve with it once the connection
// is made, before any byte is read (so serve may SetReadLimit). serve
// usually starts a coroutine that reads the stream and closes it when it
// is done: the stream stays open until then. A nil serve gives a nil
// Factory.
func StreamFactory(serve func(s *Stream)) Factory {
	if serve == nil {
		return nil
	}
	return func(net.Addr) Protocol { return &Stream{onMade: serve} }
}

// Transport returns the stream's transport, nil before the connection is
// made.
func (s *Stream) Transport() Transport { return s.t }

// Reactor returns the reactor the stream's connection runs on, nil before
// the connection is made.
func (s *Stream) Reactor() *reactor.Reactor {
	if s.t == nil {
		return nil
	}
	return s.t.Reactor()
}

// Buffered returns the number of bytes received and not yet read.
func (s *Stream) Buffered() int { return len(s.buf) - s.off }

// ReadLimit returns the stream's read limit (see Flow control).
func (s *Stream) ReadLimit() int {
	if s.limit <= 0 {
		return DefaultStreamLimit
	}
	return s.limit
}

// SetReadLimit sets how many received bytes the stream holds before it
// pauses reading, and the default limit of ReadLine and ReadUntil; n <= 0
// restores DefaultStreamLimit.
func (s *Stream) SetReadLimit(n int) {
	s.limit = min(max(n, 0), maxLimit)
	s.flow()
}

// Read returns a promise for the next bytes to arrive, at least one and
// at most n: those buffered, or the first that arrive. After the end of
// the stream, with nothing left, it is rejected with io.EOF (or with the
// error the connection was lost with). Read(0) resolves with no bytes at
// once.
func (s *Stream) Read(n int) *deferred.Promise[[]byte] {
	if n < 0 {
		return deferred.Rejected[[]byte](fmt.Errorf("transport: stream: Read(%d): negative count", n))
	}
	return s.start(readSome, n, nil)
}

// ReadFull returns a promise for the next n bytes, as io.ReadFull: if the
// stream ends first, it is rejected with io.EOF when no byte was left, and
// otherwise with an *IncompleteReadError that holds the bytes that did
// arrive and says how many (errors.Is finds io.ErrUnexpectedEOF in it
// after a clean end). An n above the read limit lets the stream buffer n
// bytes for it.
func (s *Stream) ReadFull(n int) *deferred.Promise[[]byte] {
	if n < 0 {
		return deferred.Rejected[[]byte](fmt.Errorf("transport: stream: ReadFull(%d): negative count", n))
	}
	return s.start(readFull, n, nil)
}

// ReadUntil returns a promise for the bytes up to and including the next
// delim, which may be more than one byte ("\r\n\r\n"). At most limit bytes
// may come before delim (0 means the read limit): if none is found within
// them, the promise is rejected with an error wrapping ErrLineTooLong and
// the bytes stay in the stream, for the caller to read some other way or
// to give up on. If the stream ends before delim, it is rejected as
// ReadFull's is.
func (s *Stream) ReadUntil(delim []byte, limit int) *deferred.Promise[[]byte] {
	if len(delim) == 0 {
		return deferred.Rejected[[]byte](errors.New("transport: stream: ReadUntil with an empty delimiter"))
	}
	return s.start(readUntil, s.lineLimit(limit), delim)
}

// ReadLine returns a promise for the next line, without its "\n" or
// "\r\n". The line may be at most limit bytes long (0 means the read
// limit): a longer one is an error wrapping ErrLineTooLong, and its bytes
// stay in the stream, as ReadUntil's. A last line with no "\n" is in the
// *IncompleteReadError that the end of the stream gives.
func (s *Stream) ReadLine(limit int) *deferred.Promise[[]byte] {
	return s.start(readLine, s.lineLimit(limit), nil)
}

func (s *Stream) lineLimit(limit int) int {
	if limit <= 0 {
		return s.ReadLimit()
	}
	return min(limit, maxLimit)
}

// Write writes b to the transport (see Transport.Write): it never blocks,
// and returns ErrBufferFull rather than buffer past the transport's hard
// cap. Await Drain to keep within the high water mark.
func (s *Stream) Write(b []byte) error {
	if s.t == nil {
		return errStreamNotConnected
	}
	return s.t.Write(b)
}

// Drain returns a promise that resolves once the transport's write buffer
// has drained to its low water mark: at once if writing is not paused (the
// buffer is not past the high water mark). If the connection is lost
// first, it resolves if every byte was delivered, and is otherwise
// rejected with the connection's error.
func (s *Stream) Drain() *deferred.Promise[struct{}] {
	switch {
	case s.lost && s.err != nil:
		return deferred.Rejected[struct{}](s.err)
	case !s.writePaused:
		return deferred.Resolved(struct{}{})
	}
	return s.drains.add()
}

// CloseWrite closes the write side once the write buffer is flushed (a
// TCP FIN), leaving the stream readable (Transport.LoseWriteConnection).
func (s *Stream) CloseWrite() error {
	if s.t == nil {
		return errStreamNotConnected
	}
	return s.t.LoseWriteConnection()
}

// Close closes the connection once the write buffer is flushed
// (Transport.LoseConnection). Bytes already received can still be read;
// then reads get io.EOF (or the error the connection was lost with).
// Before the connection is made it does nothing: cancel the dial instead.
func (s *Stream) Close() {
	if s.t != nil {
		s.t.LoseConnection()
	}
}

// Abort closes the connection at once, dropping what is buffered to
// write (Transport.Abort); a waiting read is rejected with an error
// wrapping ErrAborted.
func (s *Stream) Abort() {
	if s.t != nil {
		s.t.Abort()
	}
}

// WaitClosed returns a promise that resolves when the connection is closed
// and every byte written was delivered, or is rejected with the error it
// was lost with.
func (s *Stream) WaitClosed() *deferred.Promise[struct{}] {
	switch {
	case s.lost && s.err != nil:
		return deferred.Rejected[struct{}](s.err)
	case s.lost:
		return deferred.Resolved(struct{}{})
	}
	return s.closers.add()
}

// ConnectionMade is the Protocol method; it calls StreamFactory's serve.
func (s *Stream) ConnectionMade(t Transport) {
	if s.t != nil {
		t.Abort() // a Stream serves one connection
		return
	}
	s.t = t
	if s.onMade != nil {
		s.onMade(s)
	}
}

// DataReceived is the Protocol method: it buffers b and answers the
// waiting read.
func (s *Stream) DataReceived(b []byte) {
	if len(b) == 0 {
		return
	}
	if s.kind == readNone || s.Buffered() > 0 {
		s.buffer(b)
		s.service()
		return
	}
	// Nothing is buffered and a read waits: it looks at b itself, and
	// only what it leaves is buffered.
	end, used, err, done := s.eval(b)
	var out []byte
	if !done {
		used = 0
	} else if err == nil {
		out = bytes.Clone(b[:end])
	}
	s.buffer(b[used:])
	if done {
		s.finish(out, err)
	} else {
		s.flow()
	}
}

// ReadConnectionLost is the HalfCloser method: the peer's end of file
// ends the reads, once the buffer is read, and the stream keeps writing.
func (s *Stream) ReadConnectionLost() bool {
	s.eof = true
	s.service()
	return true
}

// ConnectionLost is the Protocol method: it ends the waiting read, Drain
// and WaitClosed.
func (s *Stream) ConnectionLost(err error) {
	s.lost, s.eof, s.err = true, true, err
	s.paused, s.writePaused = false, false
	s.service()
	s.drains.settle(err)
	s.closers.settle(err)
}

// PauseWriting is the WriteFlow method: Drain waits from now on.
func (s *Stream) PauseWriting() { s.writePaused = true }

// ResumeWriting is the WriteFlow method: it resolves the waiting Drains.
func (s *Stream) ResumeWriting() {
	s.writePaused = false
	s.drains.settle(nil)
}

// start begins a read: it settles at once if the buffer answers it, and
// otherwise waits.
func (s *Stream) start(kind readKind, n int, delim []byte) *deferred.Promise[[]byte] {
	if s.kind != readNone {
		return deferred.Rejected[[]byte](fmt.Errorf("transport: stream: %w (one read waits at a time)", ErrReadPending))
	}
	s.kind, s.n, s.delim, s.scanned = kind, n, delim, 0
	d := s.buf[s.off:]
	if end, used, err, done := s.eval(d); done {
		var out []byte
		if err == nil {
			out = bytes.Clone(d[:end])
		}
		s.consume(used)
		s.clearRead()
		s.flow()
		if err != nil {
			return deferred.Rejected[[]byte](err)
		}
		return deferred.Resolved(out)
	}
	if delim != nil {
		s.delim = append(s.delimBuf[:0], delim...) // the caller may reuse delim
	}
	p, res := deferred.NewPromise[[]byte]()
	s.res = res
	if s.cancel == nil {
		s.cancel = s.cancelRead
	}
	res.OnCancel(s.cancel)
	s.flow()
	return p
}

// eval decides the read against d, the unread bytes. If it can be
// answered, done is true and the read takes d[:used], its result being
// d[:end] if err is nil; otherwise it waits for more bytes.
func (s *Stream) eval(d []byte) (end, used int, err error, done bool) {
	switch s.kind {
	case readSome:
		if len(d) > 0 || s.n == 0 {
			n := min(s.n, len(d))
			return n, n, nil, true
		}
	case readFull:
		if len(d) >= s.n {
			return s.n, s.n, nil, true
		}
	case readUntil, readLine:
		if end, used, err, done = s.search(d); done {
			return end, used, err, done
		}
	}
	if !s.eof {
		return 0, 0, nil, false
	}
	if len(d) == 0 {
		return 0, 0, s.endErr(io.EOF), true
	}
	want := 0
	if s.kind == readFull {
		want = s.n
	}
	return 0, len(d), &IncompleteReadError{Partial: bytes.Clone(d), Want: want, Err: s.endErr(io.ErrUnexpectedEOF)}, true
}

// search looks for the delimiter in the bytes of d it has not searched
// yet, within the limit's window.
func (s *Stream) search(d []byte) (end, used int, err error, done bool) {
	window := s.window()
	w := min(len(d), window)
	if s.kind == readLine {
		if i := bytes.IndexByte(d[s.scanned:w], '\n'); i >= 0 {
			i += s.scanned
			end = i
			if i > 0 && d[i-1] == '\r' {
				end--
			}
			if end > s.n {
				return 0, 0, s.tooLong(), true
			}
			return end, i + 1, nil, true
		}
	} else {
		from := max(0, s.scanned-len(s.delim)+1) // a delimiter may straddle
		if i := bytes.Index(d[from:w], s.delim); i >= 0 {
			used = from + i + len(s.delim)
			return used, used, nil, true
		}
	}
	s.scanned = w
	if len(d) >= window {
		return 0, 0, s.tooLong(), true
	}
	return 0, 0, nil, false
}

// window is how many bytes answer a ReadUntil or ReadLine: the limit and
// the delimiter ("\r\n" for a line).
func (s *Stream) window() int {
	if s.kind == readLine {
		return s.n + 2
	}
	return s.n + len(s.delim)
}

func (s *Stream) tooLong() error {
	if s.kind == readLine {
		return fmt.Errorf("transport: stream: line longer than %d bytes (its bytes stay buffered): %w", s.n, ErrLineTooLong)
	}
	return fmt.Errorf("transport: stream: no %q within %d bytes (they stay buffered): %w", s.delim, s.n, ErrLineTooLong)
}

// endErr is the error of a read the end of the stream stops: def after a
// clean end, else the connection's error.
func (s *Stream) endErr(def error) error {
	if s.err != nil {
		return s.err
	}
	return def
}

// service answers the waiting read, if the buffer now can, and keeps the
// flow control in step.
func (s *Stream) service() {
	if s.kind != readNone {
		d := s.buf[s.off:]
		if end, used, err, done := s.eval(d); done {
			var out []byte
			if err == nil {
				out = bytes.Clone(d[:end])
			}
			s.consume(used)
			s.finish(out, err)
			return
		}
	}
	s.flow()
}

// finish settles the waiting read, its state cleared first so that an
// observer may start the next read.
func (s *Stream) finish(out []byte, err error) {
	res := s.res
	s.clearRead()
	s.flow()
	if err != nil {
		res.Reject(err)
	} else {
		res.Resolve(out)
	}
}

func (s *Stream) clearRead() {
	s.kind, s.n, s.delim, s.scanned = readNone, 0, nil, 0
	s.res = deferred.Resolver[[]byte]{}
}

// cancelRead is the waiting read's canceller: the read ends, taking
// nothing, and Cancel rejects its promise with ErrCancelled.
func (s *Stream) cancelRead() {
	if s.kind == readNone {
		return
	}
	s.clearRead()
	s.flow()
}

// buffer appends b to the unread bytes. When there is no room it moves
// the unread bytes to the front, if that leaves half the buffer free,
// or else into a buffer twice their size: each byte is copied a bounded
// number of times, however the data is split.
func (s *Stream) buffer(b []byte) {
	if len(b) == 0 {
		return
	}
	unread := s.Buffered()
	if len(s.buf)+len(b) > cap(s.buf) {
		if need := unread + len(b); need <= cap(s.buf)/2 {
			copy(s.buf, s.buf[s.off:])
			s.buf = s.buf[:unread]
		} else {
			nb := make([]byte, unread, max(2*need, 4<<10))
			copy(nb, s.buf[s.off:])
			s.buf = nb
		}
		s.off = 0
	}
	s.buf = append(s.buf, b...)
}

// consume takes n bytes from the front of the buffer. An emptied buffer is
// kept for the next bytes, unless a read bigger than the limit grew it.
func (s *Stream) consume(n int) {
	s.off += n
	if s.off < len(s.buf) {
		return
	}
	s.off = 0
	if cap(s.buf) > 2*(s.ReadLimit()+ReadSize) {
		s.buf = nil
	} else {
		s.buf = s.buf[:0]
	}
}

// flow pauses the transport's reading when the buffer holds its
// high mark, the read limit or what the waiting read needs if that is
// more, and resumes it when a waiting read needs more bytes or the buffer
// is down to half the limit.
func (s *Stream) flow() {
	if s.t == nil || s.eof {
		return
	}
	n, limit := s.Buffered(), s.ReadLimit()
	high := limit
	switch s.kind {
	case readFull:
		high = max(high, s.n)
	case readUntil, readLine:
		high = max(high, s.window())
	}
	switch {
	case !s.paused && n >= high:
		s.paused = true
		s.t.PauseReading()
	case s.paused && n < high && (s.kind != readNone || n <= limit/2):
		s.paused = false
		s.t.ResumeReading()
	}
}

// waiters are the promises of the Drain or WaitClosed calls waiting for
// the same event.
type waiters []waiter

type waiter struct {
	p   *deferred.Promise[struct{}]
	res deferred.Resolver[struct{}]
}

func (w *waiters) add() *deferred.Promise[struct{}] {
	p, res := deferred.NewPromise[struct{}]()
	*w = append(*w, waiter{p, res})
	res.OnCancel(func() { w.remove(p) })
	return p
}

func (w *waiters) remove(p *deferred.Promise[struct{}]) {
	for i, x := range *w {
		if x.p == p {
			*w = slices.Delete(*w, i, i+1)
			return
		}
	}
}

// settle resolves every waiter (err == nil) or rejects it with err.
func (w *waiters) settle(err error) {
	list := *w
	*w = nil
	for _, x := range list {
		if err != nil {
			x.res.Reject(err)
		} else {
			x.res.Resolve(struct{}{})
		}
	}
}
