package transport

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/loomkit/loom/internal/slow"
	"github.com/loomkit/loom/reactor"
	"golang.org/x/sys/unix"
)

// readBufs holds the buffers reads go into. DataReceived's bytes are valid
// only during the call, so one buffer serves every connection of a
// reactor in turn; a free list (rather than one buffer per reactor) also
// serves a nested loop, a modal dialog opened from DataReceived, whose
// reads must not overwrite the bytes the outer call is looking at. Not a
// sync.Pool: a pool empties itself over two garbage collections, so a
// program that allocates elsewhere (any GUI) would make a new 64 KiB
// buffer every few collections.
var readBufs freeList

type freeList struct {
	mu   sync.Mutex
	free []*[]byte
}

// maxFree bounds what the list keeps: a buffer per reactor reading at the
// same time and per nested loop is plenty.
const maxFree = 8

func (l *freeList) Get() *[]byte {
	l.mu.Lock()
	if n := len(l.free); n > 0 {
		b := l.free[n-1]
		l.free = l.free[:n-1]
		l.mu.Unlock()
		return b
	}
	l.mu.Unlock()
	b := make([]byte, ReadSize)
	return &b
}

func (l *freeList) Put(b *[]byte) {
	l.mu.Lock()
	if len(l.free) < maxFree {
		l.free = append(l.free, b)
	}
	l.mu.Unlock()
}

// conn is a stream socket connection (TCP or Unix) on the reactor.
type conn struct {
	r     *reactor.Reactor
	fd    int
	netw  string
	laddr net.Addr
	raddr net.Addr
	proto Protocol
	flow  WriteFlow
	half  HalfCloser

	state     State
	reading   bool // the reader is registered
	writing   bool // the writer is registered
	shutWrite bool // shutdown(SHUT_WR) is done
	pipe      bool // a pipe's end, not a socket: no shutdown, no linger
	draining  bool // closing: our FIN is sent, reading on to the peer's
	lingerFor time.Duration
	lingering *reactor.DelayedCall
	lost      bool // ConnectionLost has been called
	lostErr   error

	wbuf           []byte
	woff           int
	high, low, cap int

	readable, writable func() // bound once, so registering does not allocate
	unhook             func()
}

// newConn takes fd, a connected nonblocking socket, and starts its
// protocol: ConnectionMade, then reads. On error fd is closed.
//
// startConn is newConn for any kind of descriptor; on error fd is left
// open.
func newConn(r *reactor.Reactor, fd int, netw string, laddr, raddr net.Addr, p Protocol, cfg *config) (*conn, error) {
	c, err := startConn(r, fd, netw, laddr, raddr, p, cfg, sockEnd)
	if err != nil {
		unix.Close(fd)
	}
	return c, err
}

// What startConn's descriptor is.
const (
	sockEnd      = iota // a connected stream socket
	pipeReadEnd         // a pipe's read end: reads only
	pipeWriteEnd        // a pipe's write end: writes only
)

func startConn(r *reactor.Reactor, fd int, netw string, laddr, raddr net.Addr, p Protocol, cfg *config, kind int) (*conn, error) {
	c := &conn{
		r: r, fd: fd, netw: netw, laddr: laddr, raddr: raddr, proto: p,
		state: Open, high: cfg.high, low: cfg.low, cap: cfg.cap, pipe: kind != sockEnd,
		lingerFor: cfg.linger,
	}
	c.flow, _ = p.(WriteFlow)
	c.half, _ = p.(HalfCloser)
	c.readable, c.writable = c.onReadable, c.onWritable
	switch kind {
	case pipeWriteEnd:
		c.state |= ReadClosed
	case pipeReadEnd:
		c.state |= WriteClosed
		c.shutWrite = true
	}
	if kind != pipeWriteEnd {
		if err := r.AddReader(fd, c.readable); err != nil {
			return nil, err // fd is left to the caller
		}
		c.reading = true
	}
	c.unhook = r.OnClose(c.reactorClosed)
	made := false
	defer func() {
		if !made { // ConnectionMade panicked: end the connection it left
			c.closeNow(&OpError{Op: "connect", Net: netw, Addr: raddr, Err: errMadePanicked})
		}
	}()
	p.ConnectionMade(c)
	made = true
	return c, nil
}

func (c *conn) Reactor() *reactor.Reactor { return c.r }
func (c *conn) LocalAddr() net.Addr       { return c.laddr }
func (c *conn) RemoteAddr() net.Addr      { return c.raddr }
func (c *conn) State() State              { return c.state }
func (c *conn) Buffered() int             { return len(c.wbuf) - c.woff }

func (c *conn) String() string {
	return fmt.Sprintf("%s connection %v -> %v (%v)", c.netw, c.laddr, c.raddr, c.state)
}

func (c *conn) WriteLimits() (high, low, cap int) { return c.high, c.low, c.cap }

func (c *conn) SetWriteLimits(high, low, cap int) error {
	if low <= 0 && high > 0 {
		low = min(c.low, high)
	}
	h, l, cp, ok := limits(high, low, cap, c.high, c.low, c.cap)
	if !ok {
		return fmt.Errorf("transport: write limits: want low <= high <= cap, got %d, %d, %d", l, h, cp)
	}
	c.high, c.low, c.cap = h, l, cp
	c.checkHigh()
	if c.state&WritePaused != 0 && c.Buffered() <= c.low {
		c.resumeWriting()
	}
	return nil
}

func (c *conn) closedErr(op string) error {
	return &OpError{Op: op, Net: c.netw, Addr: c.raddr, Err: ErrClosed}
}

func (c *conn) Write(b []byte) error {
	if c.state&(Closing|WriteClosed|Closed) != 0 {
		return c.closedErr("write")
	}
	if len(b) == 0 {
		return nil
	}
	if c.Buffered()+len(b) > c.cap {
		return &OpError{Op: "write", Net: c.netw, Addr: c.raddr, Err: ErrBufferFull}
	}
	if c.Buffered() == 0 {
		n, err := c.write(b)
		if err != nil {
			return err
		}
		b = b[n:]
		if len(b) == 0 {
			return nil
		}
	}
	c.buffer(b)
	return nil
}

func (c *conn) Writev(bs [][]byte) error {
	if c.state&(Closing|WriteClosed|Closed) != 0 {
		return c.closedErr("write")
	}
	total := 0
	for _, b := range bs {
		total += len(b)
	}
	if total == 0 {
		return nil
	}
	if c.Buffered()+total > c.cap {
		return &OpError{Op: "write", Net: c.netw, Addr: c.raddr, Err: ErrBufferFull}
	}
	skip := 0
	if haveWritev && c.Buffered() == 0 {
		n, err := writevRetry(c.fd, bs[:min(len(bs), maxIovecs)])
		if err != nil && err != unix.EAGAIN {
			c.fail("write", err)
			return &OpError{Op: "write", Net: c.netw, Addr: c.raddr, Err: classify(err)}
		}
		skip = max(n, 0)
	}
	for _, b := range bs {
		if skip >= len(b) {
			skip -= len(b)
			continue
		}
		c.buffer(b[skip:])
		skip = 0
	}
	return nil
}

// maxIovecs is what one writev takes (IOV_MAX on Linux and the BSDs); the
// rest of a longer Writev is buffered.
const maxIovecs = 1024

func writevRetry(fd int, bs [][]byte) (int, error) {
	for {
		n, err := writev(fd, bs)
		if err != unix.EINTR {
			return n, err
		}
	}
}

// write writes b directly, with nothing buffered; it returns how much the
// kernel took. On a write error the connection fails.
func (c *conn) write(b []byte) (int, error) {
	for {
		n, err := unix.Write(c.fd, b)
		switch err {
		case nil:
			return n, nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, nil
		}
		c.fail("write", err)
		return 0, &OpError{Op: "write", Net: c.netw, Addr: c.raddr, Err: classify(err)}
	}
}

// buffer appends b to the write buffer and makes sure it is flushed.
func (c *conn) buffer(b []byte) {
	if c.woff > 0 && c.woff >= len(c.wbuf)/2 {
		n := copy(c.wbuf, c.wbuf[c.woff:])
		c.wbuf, c.woff = c.wbuf[:n], 0
	}
	c.wbuf = append(c.wbuf, b...)
	if !c.writing {
		if err := c.r.AddWriter(c.fd, c.writable); err != nil {
			c.fail("write", err)
			return
		}
		c.writing = true
	}
	c.checkHigh()
}

func (c *conn) checkHigh() {
	if c.state&WritePaused == 0 && c.Buffered() > c.high && c.state&Closed == 0 {
		c.state |= WritePaused
		if c.flow != nil {
			c.flow.PauseWriting()
		}
	}
}

func (c *conn) resumeWriting() {
	c.state &^= WritePaused
	if c.flow != nil && c.state&Closed == 0 {
		c.flow.ResumeWriting()
	}
}

func (c *conn) onWritable() {
	for c.Buffered() > 0 {
		want := len(c.wbuf) - c.woff
		n, err := unix.Write(c.fd, c.wbuf[c.woff:])
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			break
		}
		if err != nil {
			c.fail("write", err)
			return
		}
		c.woff += n
		if n < want {
			break // the socket buffer is full
		}
	}
	if c.Buffered() == 0 {
		if cap(c.wbuf) > 4*ReadSize {
			c.wbuf = nil // an idle connection keeps no big buffer
		}
		c.wbuf, c.woff = c.wbuf[:0], 0
		c.r.RemoveWriter(c.fd)
		c.writing = false
	}
	if c.state&WritePaused != 0 && c.Buffered() <= c.low {
		c.resumeWriting()
	}
	if c.Buffered() == 0 {
		c.flushed()
	}
}

// flushed runs once the buffer is empty: the pending close or half-close.
func (c *conn) flushed() {
	switch {
	case c.state&Closed != 0:
	case c.state&Closing != 0 && (c.pipe || c.state&ReadClosed != 0):
		c.closeNow(nil)
	case c.state&Closing != 0:
		c.linger()
	case c.state&WriteClosed != 0 && !c.shutWrite && c.pipe:
		c.shutWrite = true
		c.closeNow(nil) // a pipe's write end closes to send its end of file
	case c.state&WriteClosed != 0 && !c.shutWrite:
		c.shutWrite = true
		if err := unix.Shutdown(c.fd, unix.SHUT_WR); err != nil && err != unix.ENOTCONN {
			c.fail("close", err)
			return
		}
		if c.state&ReadClosed != 0 {
			c.closeNow(nil)
		}
	}
}

// linger ends a connection LoseConnection closes once its buffer is
// flushed: it sends our end of file, then reads on, discarding, until the
// peer's, or for at most the linger timeout. Closing a socket with unread
// input makes the kernel send a reset, which drops what is still in
// flight, both ways: the last bytes written would be lost though
// ConnectionLost said nil.
func (c *conn) linger() {
	if !c.shutWrite {
		c.shutWrite = true
		c.state |= WriteClosed
		if err := unix.Shutdown(c.fd, unix.SHUT_WR); err != nil {
			if err == unix.ENOTCONN {
				c.closeNow(nil) // the peer is gone already
			} else {
				c.fail("close", err)
			}
			return
		}
	}
	c.draining = true
	if !c.reading {
		if err := c.r.AddReader(c.fd, c.readable); err != nil {
			c.fail("close", err)
			return
		}
		c.reading = true
	}
	if c.lingerFor > 0 {
		c.lingering = c.r.CallLater(c.lingerFor, func() {
			c.lingering = nil
			c.closeNow(nil)
		})
	}
}

// drainInput reads and drops what the peer sends after LoseConnection,
// until its end of file.
func (c *conn) drainInput(buf []byte) {
	for range MaxReadsPerWakeup {
		n, err := unix.Read(c.fd, buf)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return
		case err != nil:
			c.fail("read", err) // a reset: what we sent may not have arrived
			return
		case n == 0:
			c.closeNow(nil)
			return
		}
	}
}

func (c *conn) onReadable() {
	bp := readBufs.Get()
	defer readBufs.Put(bp)
	buf := *bp
	if c.draining {
		c.drainInput(buf)
		return
	}
	for i := 0; i < MaxReadsPerWakeup && c.reading; i++ {
		n, err := unix.Read(c.fd, buf)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return
		case err != nil:
			c.fail("read", err)
			return
		case n == 0:
			c.eof()
			return
		}
		if slow.On() {
			t0, n0 := slow.Begin()
			c.proto.DataReceived(buf[:n])
			slow.EndMethod("protocol", c.proto, "DataReceived", c.fd, t0, n0)
		} else {
			c.proto.DataReceived(buf[:n])
		}
		if n < len(buf) {
			return // drained, most likely: the next pass tells
		}
	}
}

func (c *conn) eof() {
	c.state |= ReadClosed
	c.stopReading()
	if c.shutWrite || (c.state&WriteClosed != 0 && c.Buffered() == 0) {
		c.closeNow(nil) // both directions are done
		return
	}
	if c.half != nil && c.half.ReadConnectionLost() {
		return
	}
	if c.state&Closed == 0 {
		c.LoseConnection()
	}
}

func (c *conn) stopReading() {
	if c.reading {
		c.r.RemoveReader(c.fd)
		c.reading = false
	}
}

func (c *conn) PauseReading() {
	if c.state&(ReadPaused|Closed) != 0 {
		return
	}
	c.state |= ReadPaused
	c.stopReading()
}

func (c *conn) ResumeReading() {
	if c.state&ReadPaused == 0 {
		return
	}
	c.state &^= ReadPaused
	if c.state&(ReadClosed|Closing|Closed) != 0 || c.reading {
		return
	}
	if err := c.r.AddReader(c.fd, c.readable); err != nil {
		c.fail("read", err)
		return
	}
	c.reading = true
}

func (c *conn) LoseConnection() {
	if c.state&(Closing|Closed) != 0 {
		return
	}
	c.state |= Closing
	c.stopReading()
	if c.Buffered() == 0 {
		c.flushed()
	}
}

func (c *conn) LoseWriteConnection() error {
	if c.state&(Closing|Closed) != 0 {
		return c.closedErr("close")
	}
	if c.state&WriteClosed != 0 {
		return nil
	}
	c.state |= WriteClosed
	if c.Buffered() == 0 {
		c.flushed()
	}
	return nil
}

func (c *conn) Abort() {
	if c.state&Closed != 0 {
		return
	}
	unsent := c.Buffered()
	// SO_LINGER with a zero timeout makes close send a reset and drop
	// what the kernel still holds.
	if !c.pipe {
		unix.SetsockoptLinger(c.fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	}
	c.closeNow(&OpError{Op: "close", Net: c.netw, Addr: c.raddr, Unsent: unsent, Err: ErrAborted})
}

// fail closes the connection after a system call failed.
func (c *conn) fail(op string, err error) {
	if c.state&Closed != 0 {
		return
	}
	c.closeNow(&OpError{Op: op, Net: c.netw, Addr: c.raddr, Unsent: c.Buffered(), Err: classify(err)})
}

// closeNow releases the descriptor and arranges for ConnectionLost(err)
// on a later pass (never inside the Transport method that closed).
func (c *conn) closeNow(err error) {
	if c.state&Closed != 0 {
		return
	}
	c.state = c.state&^(Closing|WritePaused) | Closed
	c.draining = false
	if c.lingering != nil {
		c.lingering.Cancel()
		c.lingering = nil
	}
	c.stopReading()
	if c.writing {
		c.r.RemoveWriter(c.fd)
		c.writing = false
	}
	unix.Close(c.fd)
	c.fd = -1
	c.wbuf, c.woff = nil, 0
	c.lostErr = err
	c.r.CallSoon(c.connectionLost)
}

func (c *conn) connectionLost() {
	if c.lost {
		return
	}
	c.lost = true
	c.unhook()
	c.proto.ConnectionLost(c.lostErr)
}

// reactorClosed runs when the reactor closes: the connection ends with
// ErrClosed, and ConnectionLost runs now, while it still can.
func (c *conn) reactorClosed() {
	if c.state&Closed == 0 {
		c.state = c.state&^(Closing|WritePaused) | Closed
		c.stopReading()
		if c.writing {
			c.r.RemoveWriter(c.fd)
			c.writing = false
		}
		unix.Close(c.fd)
		c.fd = -1
		c.lostErr = &OpError{Op: "close", Net: c.netw, Addr: c.raddr, Unsent: c.Buffered(), Err: ErrClosed}
		c.wbuf, c.woff = nil, 0
	}
	if !c.lost {
		c.lost = true
		c.proto.ConnectionLost(c.lostErr)
	}
}

// errMadePanicked ends a connection whose ConnectionMade panicked.
var errMadePanicked = errors.New("the protocol's ConnectionMade panicked")
