package transport

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/loomkit/loom/internal/slow"
	"github.com/loomkit/loom/reactor"
)

// FromNetConn puts c, any net.Conn (what other Go libraries hand out: a
// *tls.Conn, an SSH channel, one end of net.Pipe), behind the Protocol
// and Transport interfaces, and starts p on it: ConnectionMade, then
// reads. The transport owns c from then on and closes it; on error c is
// closed at once. It must be called on the reactor goroutine.
//
// A net.Conn blocks, so two goroutines drive it: a reader and a writer,
// which hand what they did to the reactor goroutine with
// CallFromGoroutine. Every Protocol callback still runs on the reactor
// goroutine, and the transport keeps the semantics of a socket's: Write
// never blocks and copies, the write buffer has the same high and low
// water marks and hard cap (Options apply), LoseConnection flushes and
// then closes, ConnectionLost is called once, after both goroutines have
// ended.
//
// The reader works on credit: it reads once (at most ReadSize bytes; a
// TLS record, 16 KiB, for a *tls.Conn), hands the bytes to the reactor
// goroutine and waits for them to be delivered before it reads again.
// PauseReading therefore stops it reading from c, with at most one read
// held until ResumeReading; the peer's writes then stall as with a
// socket. The writer holds only what Buffered counts. A *tls.Conn keeps,
// besides, about one TLS record each way.
//
// LoseWriteConnection calls c's CloseWrite (a *net.TCPConn's sends a FIN,
// a *tls.Conn's a close_notify alert); for a net.Conn without one it
// returns an error wrapping errors.ErrUnsupported. Abort closes c at
// once, with SO_LINGER 0 (a reset) when c, or the connection under a
// *tls.Conn, is a *net.TCPConn. For a *tls.Conn, LoseConnection sends
// close_notify and waits for the peer's (or its end of file) at most
// CloseNotifyTimeout before it closes, so a peer that never answers
// cannot hold the connection open; a *tls.Conn whose handshake has not
// run yet runs it on the reader goroutine, and TLSConnectionState reports
// nothing until it is done. Closing the reactor closes c and waits for
// both goroutines; ConnectionLost then gets an error wrapping ErrClosed.
//
// c's Close must unblock its Read and Write, as net.Conn requires, and
// is called on the reactor goroutine (for a *tls.Conn, the Close of the
// connection under it, which never blocks).
func FromNetConn(r *reactor.Reactor, c net.Conn, p Protocol, opts ...Option) (Transport, error) {
	if c == nil {
		return nil, &OpError{Op: "adopt", Err: fmt.Errorf("nil net.Conn")}
	}
	if r == nil || p == nil {
		c.Close()
		return nil, &OpError{Op: "adopt", Net: network(c), Addr: c.RemoteAddr(), Err: fmt.Errorf("nil reactor or protocol")}
	}
	if r.Closed() {
		c.Close()
		return nil, &OpError{Op: "adopt", Net: network(c), Addr: c.RemoteAddr(), Err: ErrClosed}
	}
	cfg := newConfig(opts)
	return newNetConn(r, c, p, cfg.high, cfg.low, cfg.cap, false, true, cfg.closeNotify), nil
}

// network names c's network for errors and String.
func network(c net.Conn) string {
	if a := c.LocalAddr(); a != nil {
		return a.Network()
	}
	return ""
}

// writeChunk is the most the writer hands one call of the net.Conn's
// Write, so the reactor goroutine hears of progress, and resumes a
// paused protocol, while a large buffer drains.
const writeChunk = ReadSize

// tlsRecordSize is the most plaintext a TLS record carries, and so the
// most one read of a *tls.Conn returns.
const tlsRecordSize = 16 << 10

// closeWriter is a net.Conn with a half-close.
type closeWriter interface{ CloseWrite() error }

// netConn is a net.Conn driven by a reader and a writer goroutine.
//
// The reactor goroutine owns every field but the ones marked otherwise.
// The read credit is a single token: it is with the loop (token) or with
// the reader, which then reads at most once into rbuf, sets rn, rerr and
// rhs, and calls onRead; the loop hands it back through credit, never
// while DataReceived is looking at rbuf. The writer gets jobs through
// wch, one at a time (busy), and reports through rep under wmu.
type netConn struct {
	r     *reactor.Reactor
	c     net.Conn
	tc    *tls.Conn // c, when it is a TLS connection
	raw   net.Conn  // what closing acts on: c, or the connection under tc
	netw  string
	laddr net.Addr
	raddr net.Addr
	proto Protocol
	flow  WriteFlow
	half  HalfCloser

	state   State
	lost    bool // ConnectionLost has been called
	lostErr error
	running int           // goroutines not yet known to have ended
	done    chan struct{} // closed when the connection closes: the goroutines end
	wg      sync.WaitGroup
	unhook  func()
	linger  *reactor.DelayedCall // bounds the wait for the peer's close_notify
	notify  time.Duration        // how long that wait may be

	tlsState tls.ConnectionState
	tlsDone  bool // tlsState holds the finished handshake's state

	// Reading.
	credit      chan struct{}
	rbuf        []byte
	rn          int   // set by the reader before each onRead
	rerr        error // likewise
	rhs         bool  // likewise: rerr is the handshake's
	token       bool  // the loop holds the read credit
	inData      bool  // DataReceived is looking at rbuf
	held        bool  // a read that came while paused: hn, herr, hhs
	hn          int
	herr        error
	hhs         bool
	resumeQueue bool // deliverHeld is queued

	// Writing. out is the writer's job, outOff of it written; wbuf
	// collects what comes meanwhile; spare is out's array, kept for the
	// next swap.
	wch            chan wjob
	wbuf, out      []byte
	spare          []byte
	outOff         int
	busy           bool // the writer has a job
	cwSent, cwDone bool // the write side's close was sent to the writer; it is done
	high, low, cap int
	wmu            sync.Mutex
	rep            wreport // guarded by wmu

	onReadFn, onWroteFn, exitedFn, deliverHeldFn func()
}

// wjob is one job for the writer: bytes to write, or the write side to
// close.
type wjob struct {
	data       []byte
	closeWrite bool
}

// wreport is what the writer did since the loop last looked.
type wreport struct {
	n    int   // bytes written
	err  error // the first error
	last bool  // the job is done
	cw   bool  // the job was the write side's close
}

// newNetConn starts the transport for c. made says whether to call
// ConnectionMade (StartTLS's transport continues a protocol that heard
// it already); paused starts it with reading paused.
func newNetConn(r *reactor.Reactor, c net.Conn, p Protocol, high, low, cap int, paused, made bool, notify time.Duration) *netConn {
	nc := &netConn{
		notify: notify,
		r:      r, c: c, raw: c, netw: network(c), laddr: c.LocalAddr(), raddr: c.RemoteAddr(), proto: p,
		state: Open, high: high, low: low, cap: cap,
		done: make(chan struct{}), credit: make(chan struct{}, 1), wch: make(chan wjob, 1),
		token: true, running: 2,
	}
	if paused {
		nc.state |= ReadPaused
	}
	size := ReadSize
	needHandshake := false
	if tc, ok := c.(*tls.Conn); ok {
		// A TLS read returns one record at most.
		size = tlsRecordSize
		nc.tc, nc.raw = tc, tc.NetConn()
		// No goroutine uses tc yet, so this does not wait.
		if st := tc.ConnectionState(); st.HandshakeComplete {
			nc.tlsState, nc.tlsDone = st, true
		} else {
			needHandshake = true
		}
	}
	nc.rbuf = make([]byte, size)
	nc.flow, _ = p.(WriteFlow)
	nc.half, _ = p.(HalfCloser)
	nc.onReadFn, nc.onWroteFn, nc.exitedFn, nc.deliverHeldFn = nc.onRead, nc.onWrote, nc.exited, nc.deliverHeld
	nc.unhook = r.OnClose(nc.reactorClosed)
	nc.wg.Add(2)
	go nc.readLoop(needHandshake)
	go nc.writeLoop()
	if made {
		ok := false
		defer func() {
			if !ok { // ConnectionMade panicked: end the connection it left
				nc.closeNow(&OpError{Op: "connect", Net: nc.netw, Addr: nc.raddr, Err: errMadePanicked})
			}
		}()
		p.ConnectionMade(nc)
		ok = true
	}
	nc.maybeRead()
	return nc
}

func (nc *netConn) Reactor() *reactor.Reactor { return nc.r }
func (nc *netConn) LocalAddr() net.Addr       { return nc.laddr }
func (nc *netConn) RemoteAddr() net.Addr      { return nc.raddr }
func (nc *netConn) State() State              { return nc.state }

func (nc *netConn) Buffered() int {
	n := len(nc.wbuf)
	if nc.out != nil {
		n += len(nc.out) - nc.outOff
	}
	return n
}

func (nc *netConn) String() string {
	kind := "net.Conn"
	if nc.tc != nil {
		kind = "TLS"
	}
	return fmt.Sprintf("%s %s connection %v -> %v (%v)", kind, nc.netw, nc.laddr, nc.raddr, nc.state)
}

func (nc *netConn) WriteLimits() (high, low, cap int) { return nc.high, nc.low, nc.cap }

func (nc *netConn) SetWriteLimits(high, low, cap int) error {
	if low <= 0 && high > 0 {
		low = min(nc.low, high)
	}
	h, l, cp, ok := limits(high, low, cap, nc.high, nc.low, nc.cap)
	if !ok {
		return fmt.Errorf("transport: write limits: want low <= high <= cap, got %d, %d, %d", l, h, cp)
	}
	nc.high, nc.low, nc.cap = h, l, cp
	nc.checkHigh()
	if nc.state&WritePaused != 0 && nc.Buffered() <= nc.low {
		nc.resumeWriting()
	}
	return nil
}

func (nc *netConn) opErr(op string, err error) *OpError {
	return &OpError{Op: op, Net: nc.netw, Addr: nc.raddr, Err: err}
}

func (nc *netConn) Write(b []byte) error {
	if nc.state&(Closing|WriteClosed|Closed) != 0 {
		return nc.opErr("write", ErrClosed)
	}
	if len(b) == 0 {
		return nil
	}
	if nc.Buffered()+len(b) > nc.cap {
		return nc.opErr("write", ErrBufferFull)
	}
	nc.wbuf = append(nc.wbuf, b...)
	nc.wrote()
	return nil
}

func (nc *netConn) Writev(bs [][]byte) error {
	if nc.state&(Closing|WriteClosed|Closed) != 0 {
		return nc.opErr("write", ErrClosed)
	}
	total := 0
	for _, b := range bs {
		total += len(b)
	}
	if total == 0 {
		return nil
	}
	if nc.Buffered()+total > nc.cap {
		return nc.opErr("write", ErrBufferFull)
	}
	for _, b := range bs {
		nc.wbuf = append(nc.wbuf, b...)
	}
	nc.wrote()
	return nil
}

// wrote starts the writer on what Write buffered, if it is idle, and
// tells the protocol to pause past the high water mark.
func (nc *netConn) wrote() {
	if !nc.busy {
		nc.handOff()
	}
	nc.checkHigh()
}

// handOff gives wbuf to the idle writer and takes the spare array for
// what comes next.
func (nc *netConn) handOff() {
	nc.out, nc.wbuf = nc.wbuf, nc.spare[:0]
	nc.spare, nc.outOff, nc.busy = nil, 0, true
	nc.wch <- wjob{data: nc.out} // never blocks: the writer is idle
}

func (nc *netConn) checkHigh() {
	if nc.state&(WritePaused|Closed) == 0 && nc.Buffered() > nc.high {
		nc.state |= WritePaused
		if nc.flow != nil {
			nc.flow.PauseWriting()
		}
	}
}

func (nc *netConn) resumeWriting() {
	nc.state &^= WritePaused
	if nc.flow != nil && nc.state&Closed == 0 {
		nc.flow.ResumeWriting()
	}
}

// writeLoop is the writer goroutine: it runs jobs until the connection
// closes.
func (nc *netConn) writeLoop() {
	defer nc.exit()
	for {
		var j wjob
		select {
		case j = <-nc.wch:
		case <-nc.done:
			return
		}
		if j.closeWrite {
			nc.report(0, nc.closeWrite(), true, true)
			continue
		}
		for b := j.data; ; {
			k := min(len(b), writeChunk)
			n, err := nc.c.Write(b[:k])
			if err == nil && n < k {
				err = io.ErrShortWrite
			}
			b = b[n:]
			last := len(b) == 0 || err != nil
			nc.report(n, err, last, false)
			if last {
				break
			}
		}
	}
}

// closeWrite closes the write side, on the writer goroutine.
func (nc *netConn) closeWrite() error {
	if nc.tc != nil {
		// CloseWrite refuses to run before the handshake: wait for
		// it (the reader may be running it).
		if err := nc.tc.Handshake(); err != nil {
			return err
		}
		return nc.tc.CloseWrite()
	}
	if cw, ok := nc.c.(closeWriter); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// report tells the loop what the writer did; reports not yet read
// coalesce.
func (nc *netConn) report(n int, err error, last, cw bool) {
	nc.wmu.Lock()
	nc.rep.n += n
	if nc.rep.err == nil {
		nc.rep.err = err
	}
	nc.rep.last = nc.rep.last || last
	nc.rep.cw = nc.rep.cw || cw
	nc.wmu.Unlock()
	nc.r.CallFromGoroutine(nc.onWroteFn)
}

func (nc *netConn) onWrote() {
	nc.wmu.Lock()
	rep := nc.rep
	nc.rep = wreport{}
	nc.wmu.Unlock()
	if nc.state&Closed != 0 || (rep.n == 0 && rep.err == nil && !rep.last && !rep.cw) {
		return
	}
	if rep.cw {
		nc.busy = false
		if rep.err != nil {
			nc.fail("close", rep.err)
			return
		}
		nc.cwDone = true
		nc.progress()
		return
	}
	nc.outOff += rep.n
	if rep.err != nil {
		nc.fail("write", rep.err)
		return
	}
	if rep.last {
		spare := nc.out[:0]
		if cap(spare) > 4*ReadSize {
			spare = nil // an idle connection keeps no big buffer
		}
		nc.spare, nc.out, nc.outOff, nc.busy = spare, nil, 0, false
	}
	if nc.state&WritePaused != 0 && nc.Buffered() <= nc.low {
		nc.resumeWriting()
	}
	nc.progress()
}

// progress moves the write side on once the writer is idle: the next
// job, the pending half-close or close_notify, or the pending close.
func (nc *netConn) progress() {
	if nc.state&Closed != 0 || nc.busy {
		return
	}
	if len(nc.wbuf) > 0 {
		nc.handOff()
		return
	}
	closing := nc.state&Closing != 0
	if !nc.cwSent && (nc.state&WriteClosed != 0 || (closing && nc.tc != nil)) {
		nc.cwSent, nc.busy = true, true
		nc.wch <- wjob{closeWrite: true}
		if closing {
			nc.startLinger()
		}
		return
	}
	switch {
	case closing && (nc.tc == nil || nc.state&ReadClosed != 0):
		nc.closeNow(nil)
	case closing:
		nc.startLinger() // close_notify is sent: wait for the peer's
	case nc.cwDone && nc.state&ReadClosed != 0:
		nc.closeNow(nil) // both directions are done
	}
}

// startLinger bounds how long a closing TLS connection waits for the
// peer's close_notify.
func (nc *netConn) startLinger() {
	if nc.linger == nil {
		nc.linger = nc.r.CallLater(nc.notify, func() {
			nc.linger = nil
			var err error
			if n := nc.Buffered(); n > 0 {
				// Bytes written were not sent: say so.
				err = &OpError{Op: "close", Net: nc.netw, Addr: nc.raddr, Unsent: n, Err: &classified{ErrTimeout, syscall.ETIMEDOUT}}
			}
			nc.closeNow(err)
		})
	}
}

// readLoop is the reader goroutine: one read per credit, until the
// connection closes.
func (nc *netConn) readLoop(handshake bool) {
	defer nc.exit()
	var hsErr error
	if handshake {
		if hsErr = nc.tc.Handshake(); hsErr == nil {
			st := nc.tc.ConnectionState()
			nc.r.CallFromGoroutine(func() { nc.tlsState, nc.tlsDone = st, true })
		}
	}
	for {
		select {
		case <-nc.credit:
		case <-nc.done:
			return
		}
		if hsErr != nil {
			nc.rn, nc.rerr, nc.rhs = 0, hsErr, true
			hsErr = nil
		} else {
			nc.rn, nc.rerr = nc.c.Read(nc.rbuf)
		}
		nc.r.CallFromGoroutine(nc.onReadFn)
	}
}

func (nc *netConn) onRead() {
	n, err, hs := nc.rn, nc.rerr, nc.rhs
	nc.rn, nc.rerr, nc.rhs = 0, nil, false
	nc.token = true
	if nc.state&Closed != 0 {
		return
	}
	if nc.state&(ReadPaused|Closing) == ReadPaused {
		nc.held, nc.hn, nc.herr, nc.hhs = true, n, err, hs
		return
	}
	nc.deliver(n, err, hs)
}

// deliver hands a read to the protocol (a closing connection drops it)
// and gives the reader its credit back.
func (nc *netConn) deliver(n int, err error, hs bool) {
	if n > 0 && nc.state&Closing == 0 {
		nc.inData = true
		returned := false
		defer func() {
			if !returned {
				// DataReceived panicked: the reactor logs it, and the
				// connection goes on, on a later pass, as if it had
				// returned.
				nc.inData = false
				nc.r.CallSoon(func() { nc.delivered(err, hs) })
			}
		}()
		if slow.On() {
			t0, n0 := slow.Begin()
			nc.proto.DataReceived(nc.rbuf[:n])
			slow.EndMethod("protocol", nc.proto, "DataReceived", -1, t0, n0)
		} else {
			nc.proto.DataReceived(nc.rbuf[:n])
		}
		returned = true
		nc.inData = false
	}
	nc.delivered(err, hs)
}

// delivered goes on after a read was delivered: the read's error, or the
// next read.
func (nc *netConn) delivered(err error, hs bool) {
	if nc.state&Closed != 0 {
		return
	}
	if err != nil {
		nc.readFailed(err, hs)
		return
	}
	nc.maybeRead()
}

// maybeRead gives the reader its credit if the connection wants bytes:
// open for reading, not paused (a closing connection reads on, dropping
// what comes, to see the peer's end), and rbuf free.
func (nc *netConn) maybeRead() {
	if !nc.token || nc.inData || nc.held || nc.state&(Closed|ReadClosed) != 0 ||
		nc.state&(ReadPaused|Closing) == ReadPaused {
		return
	}
	nc.token = false
	nc.credit <- struct{}{} // never blocks: there is one token
}

func (nc *netConn) deliverHeld() {
	nc.resumeQueue = false
	if !nc.held || nc.state&Closed != 0 || nc.state&(ReadPaused|Closing) == ReadPaused {
		return
	}
	nc.held = false
	nc.deliver(nc.hn, nc.herr, nc.hhs)
}

func (nc *netConn) readFailed(err error, hs bool) {
	if err == io.EOF {
		nc.eof()
		return
	}
	op := "read"
	if hs {
		op = "handshake"
	}
	nc.fail(op, err)
}

// eof runs when the peer has sent its last byte (for TLS, its
// close_notify).
func (nc *netConn) eof() {
	nc.state |= ReadClosed
	switch {
	case nc.state&Closing != 0:
		nc.progress() // closes if the write side is done
	case nc.cwDone:
		nc.closeNow(nil) // both directions are done
	case nc.state&WriteClosed != 0:
		// The half-close is on its way; progress closes after it.
	case nc.half != nil && nc.half.ReadConnectionLost():
	default:
		if nc.state&Closed == 0 {
			nc.LoseConnection()
		}
	}
}

func (nc *netConn) PauseReading() {
	if nc.state&(ReadPaused|Closed) != 0 {
		return
	}
	nc.state |= ReadPaused
}

func (nc *netConn) ResumeReading() {
	if nc.state&ReadPaused == 0 {
		return
	}
	nc.state &^= ReadPaused
	if nc.state&Closed != 0 {
		return
	}
	if nc.held {
		// Deliver on a later pass, never inside ResumeReading.
		if !nc.resumeQueue {
			nc.resumeQueue = true
			nc.r.CallSoon(nc.deliverHeldFn)
		}
		return
	}
	nc.maybeRead()
}

func (nc *netConn) LoseConnection() {
	if nc.state&(Closing|Closed) != 0 {
		return
	}
	nc.state |= Closing
	if nc.tc != nil && !nc.tlsDone {
		// The handshake may never finish (a silent peer), and with it
		// the flush and the close_notify: the bound starts now.
		nc.startLinger()
	}
	if nc.held {
		// Drop the bytes; an end or an error still counts.
		nc.held = false
		if nc.herr != nil {
			nc.readFailed(nc.herr, nc.hhs)
			if nc.state&Closed != 0 {
				return
			}
		}
	}
	nc.maybeRead()
	nc.progress()
}

func (nc *netConn) LoseWriteConnection() error {
	if nc.state&(Closing|Closed) != 0 {
		return nc.opErr("close", ErrClosed)
	}
	if nc.state&WriteClosed != 0 {
		return nil
	}
	if _, ok := nc.c.(closeWriter); !ok {
		return nc.opErr("close", fmt.Errorf("%T has no CloseWrite: %w", nc.c, errors.ErrUnsupported))
	}
	nc.state |= WriteClosed
	nc.progress()
	return nil
}

func (nc *netConn) Abort() {
	if nc.state&Closed != 0 {
		return
	}
	unsent := nc.Buffered()
	if tcp, ok := nc.raw.(*net.TCPConn); ok {
		tcp.SetLinger(0) // close sends a reset
	}
	nc.closeNow(&OpError{Op: "close", Net: nc.netw, Addr: nc.raddr, Unsent: unsent, Err: ErrAborted})
}

// fail closes the connection after an operation failed.
func (nc *netConn) fail(op string, err error) {
	if nc.state&Closed != 0 {
		return
	}
	nc.closeNow(&OpError{Op: op, Net: nc.netw, Addr: nc.raddr, Unsent: nc.Buffered(), Err: connErr(err)})
}

// connErr classifies an error from a net.Conn as the package's.
func connErr(err error) error {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	case errors.Is(err, net.ErrClosed):
		return fmt.Errorf("%w: %w", ErrClosed, err) // closed by someone else
	}
	return classify(err)
}

// closeNow closes the net.Conn, which ends both goroutines; ConnectionLost
// follows once they have (never inside the Transport method that
// closed).
func (nc *netConn) closeNow(err error) {
	if nc.state&Closed != 0 {
		return
	}
	nc.state = nc.state&^(Closing|WritePaused) | Closed
	nc.lostErr = err
	nc.release()
}

func (nc *netConn) release() {
	if nc.linger != nil {
		nc.linger.Cancel()
		nc.linger = nil
	}
	close(nc.done)
	// For TLS, the connection under it: the close_notify is sent or
	// not wanted, and tls.Conn's Close could block sending it.
	nc.raw.Close()
	nc.wbuf, nc.out, nc.spare, nc.outOff, nc.held = nil, nil, nil, 0, false
}

// exit is a goroutine's last act.
func (nc *netConn) exit() {
	nc.r.CallFromGoroutine(nc.exitedFn)
	nc.wg.Done()
}

func (nc *netConn) exited() {
	nc.running--
	if nc.running == 0 {
		nc.connectionLost()
	}
}

func (nc *netConn) connectionLost() {
	if nc.lost {
		return
	}
	nc.lost = true
	nc.unhook()
	nc.wg.Wait() // both are past their last call: this is at once
	nc.proto.ConnectionLost(nc.lostErr)
}

// reactorClosed runs when the reactor closes: the connection ends with
// ErrClosed, and, once both goroutines have, ConnectionLost runs now,
// while it still can.
func (nc *netConn) reactorClosed() {
	if nc.state&Closed == 0 {
		unsent := nc.Buffered()
		nc.state = nc.state&^(Closing|WritePaused) | Closed
		nc.lostErr = &OpError{Op: "close", Net: nc.netw, Addr: nc.raddr, Unsent: unsent, Err: ErrClosed}
		nc.release()
	}
	nc.wg.Wait()
	if !nc.lost {
		nc.lost = true
		nc.proto.ConnectionLost(nc.lostErr)
	}
}
