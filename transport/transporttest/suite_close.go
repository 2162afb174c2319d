package transporttest

import (
	"bytes"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/transport"
)

func init() {
	add("halfclose/client-closes-its-write-side", func(t *testing.T, newLoop reactortest.NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		lg := guard(t, r)
		ends := &countdown{n: 2, f: r.Stop}
		var request bytes.Buffer
		var serverState transport.State
		serverLost, clientLost := errNotYet, errNotYet
		ln := listen(t, r, "tcp4", func(net.Addr) transport.Protocol {
			p := &proto{lg: lg}
			p.data = func(b []byte) { request.Write(b) }
			p.readEOF = func() bool {
				serverState = p.t.State()
				// The request is complete: answer it, then close.
				if err := p.t.Write(append([]byte("reply to "), request.Bytes()...)); err != nil {
					t.Error(err)
				}
				p.t.LoseConnection()
				return true
			}
			p.lost = func(err error) { serverLost = err; ends.done() }
			return p
		})
		var reply bytes.Buffer
		c := &proto{lg: lg}
		c.made = func(tr transport.Transport) {
			tr.Write([]byte("the request"))
			if err := tr.LoseWriteConnection(); err != nil {
				t.Error(err)
			}
			if err := tr.Write([]byte("more")); !errors.Is(err, transport.ErrClosed) {
				t.Errorf("Write after LoseWriteConnection: %v, want ErrClosed", err)
			}
		}
		c.data = func(b []byte) { reply.Write(b) }
		c.lost = func(err error) { clientLost = err; ends.done() }
		dial(t, r, "tcp4", dialAddr(ln), c)
		reactortest.RunFor(t, l, limit)
		if reply.String() != "reply to the request" {
			t.Errorf("reply %q", reply.String())
		}
		if serverState&transport.ReadClosed == 0 {
			t.Errorf("server state at end of file: %v, want read-closed", serverState)
		}
		// Twisted lost connectionLost after a half-close on epoll
		// (twisted#5662): both sides must hear it.
		if serverLost != nil || clientLost != nil {
			t.Errorf("ConnectionLost: server %v, client %v; want nil, nil", serverLost, clientLost)
		}
	})

	add("halfclose/server-closes-its-write-side", func(t *testing.T, newLoop reactortest.NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		lg := guard(t, r)
		ends := &countdown{n: 2, f: r.Stop}
		var fromClient bytes.Buffer
		serverLost, clientLost := errNotYet, errNotYet
		ln := listen(t, r, "tcp4", func(net.Addr) transport.Protocol {
			p := &proto{lg: lg}
			p.made = func(tr transport.Transport) {
				tr.Write([]byte("greeting"))
				tr.LoseWriteConnection()
			}
			p.data = func(b []byte) { fromClient.Write(b) }
			p.lost = func(err error) { serverLost = err; ends.done() }
			return p
		})
		var greeting bytes.Buffer
		c := &proto{lg: lg}
		c.data = func(b []byte) { greeting.Write(b) }
		c.readEOF = func() bool {
			// Still writable after the server's end of file.
			if err := c.t.Write([]byte("thanks for " + greeting.String())); err != nil {
				t.Error(err)
			}
			c.t.LoseConnection()
			return true
		}
		c.lost = func(err error) { clientLost = err; ends.done() }
		dial(t, r, "tcp4", dialAddr(ln), c)
		reactortest.RunFor(t, l, limit)
		if fromClient.String() != "thanks for greeting" {
			t.Errorf("server read %q", fromClient.String())
		}
		if serverLost != nil || clientLost != nil {
			t.Errorf("ConnectionLost: server %v, client %v; want nil, nil", serverLost, clientLost)
		}
	})

	add("reset/from-the-peer", func(t *testing.T, newLoop reactortest.NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		lg := guard(t, r)
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.ReadFull(c, make([]byte, 4))
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}()
		lost := errNotYet
		c := &proto{lg: lg}
		c.made = func(tr transport.Transport) { tr.Write([]byte("ping")) }
		c.lost = func(err error) { lost = err; r.Stop() }
		dial(t, r, "tcp4", ln.Addr().String(), c)
		reactortest.RunFor(t, l, limit)
		isErr(t, "ConnectionLost after the peer's reset", lost, transport.ErrReset)
		isErr(t, "ConnectionLost after the peer's reset", lost, syscall.ECONNRESET)
	})

	add("reset/from-us", func(t *testing.T, newLoop reactortest.NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		lg := guard(t, r)
		ends := &countdown{n: 2, f: r.Stop}
		serverLost := errNotYet
		ln := listen(t, r, "tcp4", func(net.Addr) transport.Protocol {
			p := &proto{lg: lg}
			p.data = func([]byte) {
				p.t.Write([]byte("dropped by the abort"))
				p.t.Abort()
				if p.t.State()&transport.Closed == 0 {
					t.Errorf("State after Abort = %v", p.t.State())
				}
			}
			p.lost = func(err error) { serverLost = err; ends.done() }
			return p
		})
		peerErr := make(chan error, 1)
		go func() {
			c, err := net.Dial("tcp4", ln.Addr().String())
			if err != nil {
				peerErr <- err
				return
			}
			defer c.Close()
			c.Write([]byte("ping"))
			c.SetReadDeadline(time.Now().Add(limit))
			_, err = io.ReadAll(c)
			peerErr <- err
			r.CallFromGoroutine(ends.done)
		}()
		reactortest.RunFor(t, l, limit)
		isErr(t, "the peer's read after our Abort", <-peerErr, syscall.ECONNRESET)
		isErr(t, "our ConnectionLost after Abort", serverLost, transport.ErrAborted)
	})

	add("write/reset-while-buffered-reports-the-unsent-bytes", func(t *testing.T, newLoop reactortest.NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		lg := guard(t, r)
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		resetNow := make(chan struct{})
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			<-resetNow // never read: let the client's buffer fill
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}()
		lost := errNotYet
		c := &proto{lg: lg}
		chunk := make([]byte, 64<<10)
		var fill func()
		fill = func() {
			for c.t.Buffered() == 0 {
				if err := c.t.Write(chunk); err != nil {
					t.Errorf("Write: %v", err)
					return
				}
			}
			close(resetNow)
		}
		c.made = func(transport.Transport) { fill() }
		c.lost = func(err error) { lost = err; r.Stop() }
		dial(t, r, "tcp4", ln.Addr().String(), c, transport.WithWriteLimits(1<<20, 0, 64<<20))
		reactortest.RunFor(t, l, limit)
		isErr(t, "ConnectionLost after a reset with bytes buffered", lost, transport.ErrReset)
		var oe *transport.OpError
		if !errors.As(lost, &oe) || oe.Unsent == 0 {
			t.Errorf("ConnectionLost(%v): want an *OpError with Unsent > 0", lost)
		}
	})

	add("write/hard-cap-refuses-instead-of-growing", func(t *testing.T, newLoop reactortest.NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		lg := guard(t, r)
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			if c, err := ln.Accept(); err == nil {
				defer c.Close()
				io.Copy(io.Discard, c) // reads only once the client is done
			}
		}()
		const high, low, cap = 64 << 10, 16 << 10, 1 << 20
		var full error
		pauses, peak := 0, 0
		c := &proto{lg: lg}
		c.pause = func() { pauses++ }
		c.made = func(tr transport.Transport) {
			chunk := make([]byte, 48<<10)
			for i := 0; i < 10000 && full == nil; i++ {
				full = tr.Write(chunk)
				peak = max(peak, tr.Buffered())
			}
			if tr.State()&transport.WritePaused == 0 {
				t.Errorf("State past the high mark = %v, want write-paused", tr.State())
			}
			tr.Abort()
		}
		c.lost = func(error) { r.Stop() }
		// Made runs the writes back to back, so the peer cannot drain
		// the socket in between: the buffer fills to the cap.
		dial(t, r, "tcp4", ln.Addr().String(), c, transport.WithWriteLimits(high, low, cap))
		reactortest.RunFor(t, l, limit)
		isErr(t, "Write past the cap", full, transport.ErrBufferFull)
		if peak > cap {
			t.Errorf("buffer peaked at %d bytes, past the cap %d", peak, cap)
		}
		if pauses != 1 {
			t.Errorf("PauseWriting called %d times, want 1", pauses)
		}
	})
}

func init() {
	add("close/lose-connection-with-unread-input-delivers-everything", func(t *testing.T, newLoop reactortest.NewLoop) {
		// The client writes 8 MiB and closes while the server's bytes
		// sit unread in its socket: close(2) alone would reset the
		// connection and drop what is still in flight.
		l := newLoop(t)
		r := l.Reactor()
		lg := guard(t, r)
		ends := &countdown{n: 2, f: r.Stop}
		const size = 8 << 20
		got := 0
		serverLost, clientLost := errNotYet, errNotYet
		ln := listen(t, r, "tcp4", func(net.Addr) transport.Protocol {
			p := &proto{lg: lg}
			p.made = func(tr transport.Transport) { tr.Write(make([]byte, 256<<10)) } // never read
			p.data = func(b []byte) { got += len(b) }
			p.lost = func(err error) { serverLost = err; ends.done() }
			return p
		})
		c := &proto{lg: lg}
		c.made = func(tr transport.Transport) {
			tr.SetWriteLimits(0, 0, 2*size)
			if err := tr.Write(make([]byte, size)); err != nil {
				t.Error(err)
			}
			tr.LoseConnection()
		}
		c.lost = func(err error) { clientLost = err; ends.done() }
		dial(t, r, "tcp4", dialAddr(ln), c)
		reactortest.RunFor(t, l, limit)
		if got != size || clientLost != nil || serverLost != nil {
			t.Errorf("the server read %d of %d bytes; ConnectionLost: client %v, server %v; want all, nil, nil", got, size, clientLost, serverLost)
		}
	})

	add("close/linger-ends-when-the-peer-never-closes", func(t *testing.T, newLoop reactortest.NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		lg := guard(t, r)
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		release := make(chan struct{})
		peerRead := make(chan []byte, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			b, _ := io.ReadAll(c) // to our end of file; never closes its side
			peerRead <- b
			<-release
		}()
		defer close(release)
		const wait = 200 * time.Millisecond
		var start time.Time
		var after time.Duration
		lost := errNotYet
		c := &proto{lg: lg}
		c.made = func(tr transport.Transport) {
			tr.Write([]byte("last words"))
			start = time.Now()
			tr.LoseConnection()
		}
		c.lost = func(err error) { lost = err; after = time.Since(start); r.Stop() }
		dial(t, r, "tcp4", ln.Addr().String(), c, transport.WithLingerTimeout(wait))
		reactortest.RunFor(t, l, limit)
		if b := <-peerRead; string(b) != "last words" {
			t.Errorf("the peer read %q", b)
		}
		if lost != nil || after < wait {
			t.Errorf("ConnectionLost(%v) %v after LoseConnection; want nil, after the linger timeout %v", lost, after, wait)
		}
	})
}
