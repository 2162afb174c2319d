package transport_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/loomkit/loom/internal/stack"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/transport"
)

// loopProto is a protocol made of functions (nil ones do nothing) that
// checks that every callback runs on the loop goroutine, the goroutine
// that made it, and that ConnectionMade and ConnectionLost come once
// each, in order.
type loopProto struct {
	tb      testing.TB
	goid    uint64
	t       transport.Transport
	made    func(transport.Transport)
	data    func([]byte)
	lost    func(error)
	nMade   int
	nLost   int
	lostErr error
}

func newLoopProto(tb testing.TB) *loopProto { return &loopProto{tb: tb, goid: stack.Goid()} }

func (p *loopProto) check(what string) {
	if g := stack.Goid(); g != p.goid {
		p.tb.Errorf("%s ran on goroutine %d, not the loop's (%d)", what, g, p.goid)
	}
}

func (p *loopProto) ConnectionMade(t transport.Transport) {
	p.check("ConnectionMade")
	p.nMade++
	if p.nMade > 1 || p.nLost > 0 {
		p.tb.Errorf("ConnectionMade again (made %d, lost %d)", p.nMade, p.nLost)
	}
	p.t = t
	if p.made != nil {
		p.made(t)
	}
}

func (p *loopProto) DataReceived(b []byte) {
	p.check("DataReceived")
	if p.nLost > 0 {
		p.tb.Errorf("DataReceived after ConnectionLost")
	}
	if p.data != nil {
		p.data(b)
	}
}

func (p *loopProto) ConnectionLost(err error) {
	p.check("ConnectionLost")
	p.nLost++
	if p.nLost > 1 {
		p.tb.Errorf("ConnectionLost again: %v (first: %v)", err, p.lostErr)
		return
	}
	p.lostErr = err
	if p.lost != nil {
		p.lost(err)
	}
}

// lostOnce fails tb unless ConnectionLost came exactly once.
func (p *loopProto) lostOnce(tb testing.TB) error {
	tb.Helper()
	if p.nLost != 1 {
		tb.Errorf("ConnectionLost called %d times, want 1", p.nLost)
	}
	return p.lostErr
}

// halfProto is a loopProto that hears the peer's end of file.
type halfProto struct {
	*loopProto
	readLost func() bool
}

func (h *halfProto) ReadConnectionLost() bool {
	h.check("ReadConnectionLost")
	return h.readLost()
}

// flowProto is a loopProto told to pause and resume writing.
type flowProto struct {
	*loopProto
	pause, resume func()
}

func (f *flowProto) PauseWriting()  { f.check("PauseWriting"); f.pause() }
func (f *flowProto) ResumeWriting() { f.check("ResumeWriting"); f.resume() }

func ncReactor(t *testing.T) *reactor.Reactor {
	t.Helper()
	r, err := reactor.New(reactor.WithoutSignalHandlers())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// ncRun runs r until it stops; the deadline only guards against a hang.
func ncRun(t *testing.T, r *reactor.Reactor) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := r.Run(ctx); err != nil {
		t.Fatalf("the loop did not stop: %v", err)
	}
}

// ncBytes returns n pseudo-random bytes, the same for the same seed.
func ncBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}).Read(b)
	return b
}

// tcpServe returns the address of a listener on 127.0.0.1 served by serve on a
// goroutine, once per connection accepted; wait closes the listener and
// waits for serve to return.
func tcpServe(t *testing.T, serve func(c net.Conn)) (addr string, wait func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		serve(c)
	}()
	return ln.Addr().String(), func() { ln.Close(); <-done }
}

// countConn counts the bytes read from a net.Conn.
type countConn struct {
	net.Conn
	read atomic.Int64
}

func (c *countConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.read.Add(int64(n))
	return n, err
}

func TestNetConnPipeEcho(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := ncReactor(t)
	a, b := net.Pipe()
	peer := make(chan error, 1)
	go func() {
		_, err := io.Copy(b, b) // echo until our end closes
		b.Close()
		peer <- err
	}()
	msg := ncBytes(1<<20, 1)
	var got bytes.Buffer
	p := newLoopProto(t)
	p.made = func(tr transport.Transport) {
		if err := tr.Write(msg[:1000]); err != nil {
			t.Error(err)
		}
		if err := tr.Writev([][]byte{msg[1000:5000], nil, msg[5000:]}); err != nil {
			t.Error(err)
		}
	}
	p.data = func(b []byte) {
		got.Write(b)
		if got.Len() >= len(msg) {
			p.t.LoseConnection()
			if p.t.State()&transport.Closing == 0 && p.t.State()&transport.Closed == 0 {
				t.Errorf("state after LoseConnection: %v", p.t.State())
			}
		}
	}
	p.lost = func(error) { r.Stop() }
	tr, err := transport.FromNetConn(r, a, p)
	if err != nil {
		t.Fatal(err)
	}
	if tr.LocalAddr().Network() != "pipe" || tr.Reactor() != r {
		t.Errorf("LocalAddr %v, Reactor %p", tr.LocalAddr(), tr.Reactor())
	}
	ncRun(t, r)
	if err := p.lostOnce(t); err != nil {
		t.Errorf("ConnectionLost: %v", err)
	}
	if !bytes.Equal(got.Bytes(), msg) {
		t.Errorf("echo: got %d bytes, want %d, equal prefix: %v", got.Len(), len(msg), bytes.HasPrefix(msg, got.Bytes()))
	}
	if err := <-peer; err != nil {
		t.Errorf("peer: %v", err)
	}
	if tr.State()&transport.Closed == 0 {
		t.Errorf("state at the end: %v", tr.State())
	}
}

func TestNetConnHalfClose(t *testing.T) {
	t.Run("ours", func(t *testing.T) {
		reactortest.CheckLeaks(t)
		r := ncReactor(t)
		msg := ncBytes(3<<20, 2)
		addr, wait := tcpServe(t, func(c net.Conn) {
			all, _ := io.ReadAll(c) // until our FIN
			sum := sha256.Sum256(all)
			c.Write(sum[:])
		})
		defer wait()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		p := newLoopProto(t)
		p.made = func(tr transport.Transport) {
			tr.Write(msg)
			if err := tr.LoseWriteConnection(); err != nil {
				t.Error(err)
			}
			if tr.State()&transport.WriteClosed == 0 {
				t.Errorf("state after LoseWriteConnection: %v", tr.State())
			}
			if err := tr.Write([]byte("x")); !errors.Is(err, transport.ErrClosed) {
				t.Errorf("Write after LoseWriteConnection: %v", err)
			}
		}
		p.data = func(b []byte) { got.Write(b) }
		p.lost = func(error) { r.Stop() }
		if _, err := transport.FromNetConn(r, c, p); err != nil {
			t.Fatal(err)
		}
		ncRun(t, r)
		if err := p.lostOnce(t); err != nil {
			t.Errorf("ConnectionLost: %v", err)
		}
		if want := sha256.Sum256(msg); !bytes.Equal(got.Bytes(), want[:]) {
			t.Errorf("the peer read something else than what was written")
		}
	})
	t.Run("peer's", func(t *testing.T) {
		reactortest.CheckLeaks(t)
		r := ncReactor(t)
		rest := make(chan string, 1)
		addr, wait := tcpServe(t, func(c net.Conn) {
			c.Write([]byte("hello"))
			c.(*net.TCPConn).CloseWrite()
			b, _ := io.ReadAll(c)
			rest <- string(b)
		})
		defer wait()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		p := &halfProto{loopProto: newLoopProto(t)}
		p.data = func(b []byte) { got.Write(b) }
		p.readLost = func() bool {
			if p.t.State()&transport.ReadClosed == 0 {
				t.Errorf("state in ReadConnectionLost: %v", p.t.State())
			}
			// Still open for writing a while later.
			r.CallLater(20*time.Millisecond, func() {
				if err := p.t.Write([]byte("bye " + got.String())); err != nil {
					t.Error(err)
				}
				p.t.LoseConnection()
			})
			return true
		}
		p.lost = func(error) { r.Stop() }
		if _, err := transport.FromNetConn(r, c, p); err != nil {
			t.Fatal(err)
		}
		ncRun(t, r)
		if err := p.lostOnce(t); err != nil {
			t.Errorf("ConnectionLost: %v", err)
		}
		if s := <-rest; s != "bye hello" {
			t.Errorf("the peer read %q", s)
		}
	})
	t.Run("unsupported", func(t *testing.T) {
		reactortest.CheckLeaks(t)
		r := ncReactor(t)
		a, b := net.Pipe()
		defer b.Close()
		p := newLoopProto(t)
		tr, err := transport.FromNetConn(r, a, p)
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.LoseWriteConnection(); !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("LoseWriteConnection on a pipe: %v", err)
		}
		if tr.State()&transport.WriteClosed != 0 {
			t.Errorf("state: %v", tr.State())
		}
		tr.Abort()
		p.lost = func(error) { r.Stop() }
		ncRun(t, r)
		if err := p.lostOnce(t); !errors.Is(err, transport.ErrAborted) {
			t.Errorf("ConnectionLost: %v", err)
		}
	})
}

func TestNetConnResets(t *testing.T) {
	t.Run("abort", func(t *testing.T) {
		reactortest.CheckLeaks(t)
		r := ncReactor(t)
		peerErr := make(chan error, 1)
		addr, wait := tcpServe(t, func(c net.Conn) {
			_, err := c.Read(make([]byte, 10))
			peerErr <- err
		})
		defer wait()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		p := newLoopProto(t)
		p.made = func(tr transport.Transport) {
			r.CallLater(10*time.Millisecond, func() {
				tr.Abort()
				if tr.State()&transport.Closed == 0 {
					t.Errorf("state after Abort: %v", tr.State())
				}
				tr.Abort() // twice is nothing
			})
		}
		p.lost = func(error) { r.Stop() }
		if _, err := transport.FromNetConn(r, c, p); err != nil {
			t.Fatal(err)
		}
		ncRun(t, r)
		if err := p.lostOnce(t); !errors.Is(err, transport.ErrAborted) {
			t.Errorf("ConnectionLost: %v", err)
		}
		if err := <-peerErr; !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("the peer read %v, want a reset", err)
		}
	})
	t.Run("peer", func(t *testing.T) {
		reactortest.CheckLeaks(t)
		r := ncReactor(t)
		addr, wait := tcpServe(t, func(c net.Conn) {
			c.Read(make([]byte, 1)) // connected, surely, on both sides
			c.(*net.TCPConn).SetLinger(0)
		})
		defer wait()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		p := newLoopProto(t)
		p.made = func(tr transport.Transport) { tr.Write([]byte("x")) }
		p.lost = func(error) { r.Stop() }
		if _, err := transport.FromNetConn(r, c, p); err != nil {
			t.Fatal(err)
		}
		ncRun(t, r)
		err = p.lostOnce(t)
		var op *transport.OpError
		if !errors.Is(err, transport.ErrReset) || !errors.Is(err, syscall.ECONNRESET) || !errors.As(err, &op) || op.Op != "read" {
			t.Errorf("ConnectionLost: %v, want a read reset", err)
		}
	})
}

func TestNetConnWriteFlow(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := ncReactor(t)
	const high, low, limit, chunk, total = 64 << 10, 16 << 10, 256 << 10, 16 << 10, 4 << 20
	msg := ncBytes(total, 3)
	a, b := net.Pipe()
	start := make(chan struct{})
	peer := make(chan []byte, 1)
	go func() {
		<-start
		all, _ := io.ReadAll(b)
		b.Close()
		peer <- all
	}()
	sent, pauses, resumes, full := 0, 0, 0, false
	var p *flowProto
	var tr transport.Transport
	fill := func() {
		for sent < len(msg) && tr.State()&transport.WritePaused == 0 {
			// Write may call PauseWriting, which writes on: count first.
			b := msg[sent : sent+min(chunk, len(msg)-sent)]
			sent += len(b)
			if err := tr.Write(b); err != nil {
				t.Errorf("Write: %v", err)
				return
			}
		}
		if sent == len(msg) {
			tr.LoseConnection()
		}
	}
	p = &flowProto{loopProto: newLoopProto(t)}
	p.pause = func() {
		pauses++
		if got := tr.Buffered(); got <= high || got > high+chunk {
			t.Errorf("PauseWriting at %d buffered, high mark %d, writes of %d", got, high, chunk)
		}
		if full {
			return
		}
		// The first time, the peer is not reading: fill to the cap.
		full = true
		for {
			n := min(chunk, len(msg)-sent)
			err := tr.Write(msg[sent : sent+n])
			if err != nil {
				if !errors.Is(err, transport.ErrBufferFull) || tr.Buffered()+n <= limit {
					t.Errorf("Write at %d buffered: %v", tr.Buffered(), err)
				}
				break
			}
			sent += n
			if tr.Buffered() > limit {
				t.Fatalf("Buffered %d past the cap %d", tr.Buffered(), limit)
			}
		}
		close(start)
	}
	p.resume = func() {
		resumes++
		if tr.Buffered() > low {
			t.Errorf("ResumeWriting at %d buffered, low mark %d", tr.Buffered(), low)
		}
		fill()
	}
	p.made = func(t transport.Transport) { tr = t; fill() }
	p.lost = func(error) { r.Stop() }
	if _, err := transport.FromNetConn(r, a, p, transport.WithWriteLimits(high, low, limit)); err != nil {
		t.Fatal(err)
	}
	if h, l, c := tr.WriteLimits(); h != high || l != low || c != limit {
		t.Errorf("WriteLimits %d %d %d", h, l, c)
	}
	ncRun(t, r)
	if err := p.lostOnce(t); err != nil {
		t.Errorf("ConnectionLost: %v", err)
	}
	if pauses == 0 || resumes == 0 || pauses != resumes {
		t.Errorf("%d pauses, %d resumes", pauses, resumes)
	}
	if got := <-peer; !bytes.Equal(got, msg) {
		t.Errorf("the peer read %d bytes, want the %d written", len(got), len(msg))
	}
	t.Logf("%d pauses", pauses)
}

// pausingReader reads a stream, pausing now and then from inside
// DataReceived and from a timer, and checks that a paused transport
// stops reading: count is what the net.Conn under it has read.
type pausingReader struct {
	*loopProto
	r        *reactor.Reactor
	count    func() int64
	bound    int64 // the most the net.Conn may read while paused
	got      int
	h        hashWriter
	paused   bool
	mark     int64
	next     int
	pauses   int
	maxWhile int64
}

type hashWriter interface {
	io.Writer
	Sum([]byte) []byte
}

func newPausingReader(t *testing.T, r *reactor.Reactor, count func() int64, bound int64) *pausingReader {
	pr := &pausingReader{loopProto: newLoopProto(t), r: r, count: count, bound: bound, h: sha256.New(), next: 1 << 20}
	pr.data = pr.received
	return pr
}

func (pr *pausingReader) received(b []byte) {
	if pr.paused {
		pr.tb.Errorf("DataReceived while paused")
	}
	pr.h.Write(b)
	pr.got += len(b)
	if pr.got < pr.next {
		return
	}
	pr.next += 1 << 20
	if pr.pauses%2 == 0 {
		pr.pause() // from inside DataReceived
	} else {
		// From a timer, while the reader may be reading.
		pr.r.CallLater(time.Millisecond, pr.pause)
	}
}

func (pr *pausingReader) pause() {
	if pr.t.State()&transport.Closed != 0 {
		return
	}
	pr.pauses++
	pr.paused = true
	pr.t.PauseReading()
	if pr.t.State()&transport.ReadPaused == 0 {
		pr.tb.Errorf("state after PauseReading: %v", pr.t.State())
	}
	pr.mark = pr.count()
	pr.r.CallLater(20*time.Millisecond, func() {
		while := pr.count() - pr.mark
		pr.maxWhile = max(pr.maxWhile, while)
		if while > pr.bound {
			pr.tb.Errorf("%d bytes read while paused, more than %d", while, pr.bound)
		}
		pr.paused = false
		pr.t.ResumeReading()
	})
}

func TestNetConnPausingReader(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := ncReactor(t)
	const total = 16 << 20
	msg := ncBytes(total, 4)
	addr, wait := tcpServe(t, func(c net.Conn) {
		for off := 0; off < len(msg); off += 256 << 10 {
			if _, err := c.Write(msg[off : off+256<<10]); err != nil {
				return
			}
		}
	})
	defer wait()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	cc := &countConn{Conn: c}
	// One read, at most, may be under way when PauseReading comes.
	pr := newPausingReader(t, r, cc.read.Load, transport.ReadSize)
	pr.lost = func(error) { r.Stop() }
	if _, err := transport.FromNetConn(r, cc, pr); err != nil {
		t.Fatal(err)
	}
	ncRun(t, r)
	if err := pr.lostOnce(t); err != nil {
		t.Errorf("ConnectionLost: %v", err)
	}
	if sum := sha256.Sum256(msg); pr.got != total || !bytes.Equal(pr.h.Sum(nil), sum[:]) {
		t.Errorf("got %d bytes, want %d, checksums differ", pr.got, total)
	}
	if pr.pauses < 10 {
		t.Errorf("only %d pauses", pr.pauses)
	}
	t.Logf("%d pauses, at most %d bytes read while paused", pr.pauses, pr.maxWhile)
}

func TestNetConnReactorClose(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := ncReactor(t)
	// The peer never reads nor writes: our writer is stuck in Write and
	// our reader in Read when the reactor closes.
	a, b := net.Pipe()
	defer b.Close()
	p := newLoopProto(t)
	p.made = func(tr transport.Transport) {
		tr.Write(ncBytes(1<<20, 5))
		r.CallLater(20*time.Millisecond, r.Stop)
	}
	tr, err := transport.FromNetConn(r, a, p)
	if err != nil {
		t.Fatal(err)
	}
	ncRun(t, r)
	if p.nLost != 0 {
		t.Fatalf("ConnectionLost before Close: %v", p.lostErr)
	}
	r.Close()
	err = p.lostOnce(t)
	var op *transport.OpError
	if !errors.Is(err, transport.ErrClosed) || !errors.As(err, &op) || op.Unsent == 0 {
		t.Errorf("ConnectionLost: %v, want ErrClosed with bytes unsent", err)
	}
	if tr.State()&transport.Closed == 0 {
		t.Errorf("state: %v", tr.State())
	}
}

func TestNetConnMisuse(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := ncReactor(t)
	p := newLoopProto(t)
	if _, err := transport.FromNetConn(r, nil, p); err == nil {
		t.Error("FromNetConn of a nil net.Conn: no error")
	}
	a, b := net.Pipe()
	if _, err := transport.FromNetConn(nil, a, p); err == nil {
		t.Error("FromNetConn on a nil reactor: no error")
	}
	if _, err := b.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("the net.Conn was not closed on error: %v", err)
	}
	b.Close()

	a, b = net.Pipe()
	defer b.Close()
	tr, err := transport.FromNetConn(r, a, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.SetWriteLimits(100, 200, 300); err == nil {
		t.Error("SetWriteLimits with low > high: no error")
	}
	if err := tr.SetWriteLimits(1000, 100, 5000); err != nil {
		t.Error(err)
	}
	if err := tr.Write(make([]byte, 5001)); !errors.Is(err, transport.ErrBufferFull) || tr.Buffered() != 0 {
		t.Errorf("Write past the cap: %v, %d buffered", err, tr.Buffered())
	}
	if err := tr.Write(nil); err != nil {
		t.Errorf("empty Write: %v", err)
	}
	tr.PauseReading()
	tr.PauseReading()
	tr.LoseConnection()
	tr.ResumeReading()
	if err := tr.Write([]byte("x")); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Write after LoseConnection: %v", err)
	}
	if err := tr.LoseWriteConnection(); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("LoseWriteConnection after LoseConnection: %v", err)
	}
	p.lost = func(error) { r.Stop() }
	ncRun(t, r)
	if err := p.lostOnce(t); err != nil {
		t.Errorf("ConnectionLost: %v", err)
	}

	r.Close()
	a, b = net.Pipe()
	defer b.Close()
	if _, err := transport.FromNetConn(r, a, newLoopProto(t)); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("FromNetConn on a closed reactor: %v", err)
	}
}
