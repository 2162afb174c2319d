package transport_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/internal/socktest"
	"github.com/loomkit/loom/internal/stack"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/transport"
	"github.com/loomkit/loom/transport/transporttest"
	"golang.org/x/sys/unix"
)

// probeProto is a protocol made of functions (nil ones do nothing) that
// counts its callbacks and checks they run on the loop goroutine. It is
// also a HalfCloser and a WriteFlow.
type probeProto struct {
	tb    testing.TB
	goid  uint64
	t     transport.Transport
	made  func(transport.Transport)
	data  func([]byte)
	lost  func(error)
	rcl   func() bool
	pause func()
	resum func()

	nMade, nLost int
	lostErr      error
	inMethod     bool // set by tests around Transport calls
}

func newProbe(tb testing.TB) *probeProto { return &probeProto{tb: tb, goid: stack.Goid()} }

func (p *probeProto) on(what string) {
	if g := stack.Goid(); g != p.goid {
		p.tb.Errorf("%s ran on goroutine %d, not the loop's (%d)", what, g, p.goid)
	}
}

func (p *probeProto) ConnectionMade(t transport.Transport) {
	p.on("ConnectionMade")
	p.nMade++
	p.t = t
	if p.made != nil {
		p.made(t)
	}
}

func (p *probeProto) DataReceived(b []byte) {
	p.on("DataReceived")
	if p.nLost > 0 {
		p.tb.Errorf("DataReceived after ConnectionLost")
	}
	if p.data != nil {
		p.data(b)
	}
}

func (p *probeProto) ConnectionLost(err error) {
	p.on("ConnectionLost")
	if p.inMethod {
		p.tb.Errorf("ConnectionLost called from inside a Transport method")
	}
	p.nLost++
	p.lostErr = err
	if p.nLost > 1 {
		p.tb.Errorf("ConnectionLost called %d times (last with %v)", p.nLost, err)
	}
	if p.lost != nil {
		p.lost(err)
	}
}

func (p *probeProto) ReadConnectionLost() bool {
	p.on("ReadConnectionLost")
	if p.rcl != nil {
		return p.rcl()
	}
	return false
}

func (p *probeProto) PauseWriting() {
	p.on("PauseWriting")
	if p.pause != nil {
		p.pause()
	}
}

func (p *probeProto) ResumeWriting() {
	p.on("ResumeWriting")
	if p.resum != nil {
		p.resum()
	}
}

// call runs f as a Transport method call: a ConnectionLost inside it is
// an error.
func (p *probeProto) call(f func()) {
	p.inMethod = true
	defer func() { p.inMethod = false }()
	f()
}

// probeReactor returns a reactor on backend ("" for the default), closed
// when t ends; its log goes to logs if that is not nil.
func probeReactor(t testing.TB, backend string, logs *bytes.Buffer) *reactor.Reactor {
	t.Helper()
	opts := []reactor.Option{reactor.WithoutSignalHandlers()}
	if backend != "" {
		opts = append(opts, reactor.WithBackend(backend))
	}
	if logs != nil {
		opts = append(opts, reactor.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	}
	r, err := reactor.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// probeRun runs r until it stops and reports whether it did within d;
// past d it stops it and returns false.
func probeRun(t testing.TB, r *reactor.Reactor, d time.Duration) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	err := r.Run(ctx)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
	return ctx.Err() == nil
}

// forBackends runs f once for each reactor backend.
func forBackends(t *testing.T, f func(t *testing.T, backend string)) {
	for _, b := range reactor.Backends() {
		t.Run(b, func(t *testing.T) { f(t, b) })
	}
}

func probeListen(t testing.TB, r *reactor.Reactor, f transport.Factory, opts ...transport.Option) *transport.Listener {
	t.Helper()
	l, err := transport.ListenTCP(r, "127.0.0.1:0", f, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// A Writev of more slices than one writev system call takes (IOV_MAX,
// 1024 on Linux) is bad input the transport must cope with: the bytes are
// sent, or Writev says no, and the connection lives on either way.
func TestProbeWritevManySlices(t *testing.T) {
	// Seen failing, on both backends:
	//	Writev refused: write tcp 127.0.0.1:40867: invalid argument
	//	Writev of 2000 slices failed the connection: Writev write tcp
	//	127.0.0.1:40867: invalid argument; ConnectionLost(write tcp
	//	127.0.0.1:40867: invalid argument)
	forBackends(t, func(t *testing.T, backend string) {
		reactortest.CheckLeaks(t)
		r := probeReactor(t, backend, nil)
		const slices = 2000
		var got bytes.Buffer
		var srvLost error
		server := newProbe(t)
		server.data = func(b []byte) { got.Write(b) }
		server.lost = func(err error) { srvLost = err; r.Stop() }
		l := probeListen(t, r, func(net.Addr) transport.Protocol { return server })
		client := newProbe(t)
		var werr error
		client.made = func(tr transport.Transport) {
			bs := make([][]byte, slices)
			for i := range bs {
				bs[i] = []byte{byte('a' + i%26)}
			}
			client.call(func() { werr = tr.Writev(bs) })
			client.call(tr.LoseConnection)
		}
		transport.DialTCP(r, l.Addr().String(), client)
		if !probeRun(t, r, 10*time.Second) {
			t.Fatal("the connection did not end")
		}
		if werr != nil {
			t.Logf("Writev refused: %v", werr)
			if client.lostErr != nil {
				t.Errorf("Writev of %d slices failed the connection: Writev %v; ConnectionLost(%v)", slices, werr, client.lostErr)
			}
			return
		}
		if got.Len() != slices || client.lostErr != nil || srvLost != nil {
			t.Errorf("Writev of %d slices: the server read %d bytes; client lost with %v, server with %v", slices, got.Len(), client.lostErr, srvLost)
		}
	})
}

// A DataReceived that panics is logged and the connection goes on, for a
// net.Conn's transport as for a socket's (TestPanickingProtocol).
func TestProbeNetConnPanicInDataReceived(t *testing.T) {
	// Seen failing:
	//	after a panic in DataReceived: read ["one"], connection ended:
	//	false; want one,two and the end
	reactortest.CheckLeaks(t)
	var logs bytes.Buffer
	r := probeReactor(t, "", &logs)
	a, b := net.Pipe()
	go func() {
		a.Write([]byte("one"))
		a.Write([]byte("two"))
		a.Close()
	}()
	var got []string
	p := newProbe(t)
	p.data = func(b []byte) {
		got = append(got, string(b))
		if len(got) == 1 {
			panic("a bug in the protocol")
		}
	}
	p.lost = func(error) { r.Stop() }
	if _, err := transport.FromNetConn(r, b, p); err != nil {
		t.Fatal(err)
	}
	ok := probeRun(t, r, 3*time.Second)
	if !ok {
		r.Close() // ends the goroutines
	}
	if !strings.Contains(logs.String(), "a bug in the protocol") {
		t.Errorf("the panic was not logged")
	}
	if !ok || strings.Join(got, ",") != "one,two" {
		t.Errorf("after a panic in DataReceived: read %q, connection ended: %v; want one,two and the end", got, ok)
	}
}

// A Factory that panics is logged and the listener goes on; the
// connection it was asked about is closed, not left open with nobody
// reading it (the peer would wait forever) and its descriptor leaked.
func TestProbeFactoryPanics(t *testing.T) {
	// Seen failing, on both backends:
	//	the connection whose factory panicked was left open: the peer
	//	never hears of it
	//	leak.go:35: descriptor leak: 9 open before, 10 after
	forBackends(t, func(t *testing.T, backend string) {
		reactortest.CheckLeaks(t)
		var logs bytes.Buffer
		r := probeReactor(t, backend, &logs)
		calls := 0
		l := probeListen(t, r, func(net.Addr) transport.Protocol {
			calls++
			if calls == 1 {
				panic("a bug in the factory")
			}
			return &echo{}
		})
		first := newProbe(t)
		first.lost = func(error) { r.Stop() }
		transport.DialTCP(r, l.Addr().String(), first)
		ended := probeRun(t, r, 3*time.Second)
		if !strings.Contains(logs.String(), "a bug in the factory") {
			t.Errorf("the panic was not logged")
		}
		if !ended {
			t.Errorf("the connection whose factory panicked was left open: the peer never hears of it")
			first.t.Abort()
			r.CallLater(50*time.Millisecond, r.Stop)
			probeRun(t, r, 3*time.Second)
		}
		l.Close()
	})
}

// A ConnectionMade that panics, in a dial, is logged; the dial's promise
// still settles, so that the coroutine awaiting it does not wait forever.
func TestProbeDialConnectionMadePanics(t *testing.T) {
	// Seen failing:
	//	the dial's promise never settled after ConnectionMade panicked
	reactortest.CheckLeaks(t)
	var logs bytes.Buffer
	r := probeReactor(t, "", &logs)
	l := probeListen(t, r, echoFactory)
	p := newProbe(t)
	p.made = func(transport.Transport) { panic("a bug in ConnectionMade") }
	pr := transport.DialTCP(r, l.Addr().String(), p)
	pr.OnValue(func(tr transport.Transport) { tr.Abort(); r.CallLater(20*time.Millisecond, r.Stop) })
	pr.OnError(func(error) { r.Stop() })
	settled := probeRun(t, r, 3*time.Second)
	if !strings.Contains(logs.String(), "a bug in ConnectionMade") {
		t.Errorf("the panic was not logged")
	}
	if !settled || !pr.Settled() {
		t.Errorf("the dial's promise never settled after ConnectionMade panicked")
		if p.t != nil {
			p.t.Abort()
		}
		r.CallLater(20*time.Millisecond, r.Stop)
		probeRun(t, r, 3*time.Second)
	}
}

// A ListenTLS factory that panics is logged; the connection it was asked
// about is closed, not leaked.
func TestProbeTLSFactoryPanics(t *testing.T) {
	// Seen failing:
	//	the TLS connection whose factory panicked was left open
	//	leak.go:35: descriptor leak: 9 open before, 10 after
	reactortest.CheckLeaks(t)
	var logs bytes.Buffer
	r := probeReactor(t, "", &logs)
	pki := getPKI(t)
	l, err := transport.ListenTLS(r, "127.0.0.1:0", pki.ServerConfig(), func(net.Addr) transport.Protocol {
		panic("a bug in the factory")
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p := newProbe(t)
	p.lost = func(error) { r.Stop() }
	transport.DialTLS(r, l.Addr().String(), pki.ClientConfig(), p).OnError(func(err error) {
		t.Errorf("DialTLS: %v", err)
		r.Stop()
	})
	ended := probeRun(t, r, 3*time.Second)
	if !strings.Contains(logs.String(), "a bug in the factory") {
		t.Errorf("the panic was not logged")
	}
	if !ended {
		t.Errorf("the TLS connection whose factory panicked was left open")
		if p.t != nil {
			p.t.Abort()
		}
		r.CallLater(50*time.Millisecond, r.Stop)
		probeRun(t, r, 3*time.Second)
	}
}

// probeActions are what a protocol may do from inside any of its
// callbacks.
var probeActions = []struct {
	name string
	do   func(p *probeProto, tr transport.Transport)
}{
	{"Write", func(p *probeProto, tr transport.Transport) { p.call(func() { tr.Write([]byte("x")) }) }},
	{"LoseConnection", func(p *probeProto, tr transport.Transport) { p.call(tr.LoseConnection) }},
	{"LoseWriteConnection", func(p *probeProto, tr transport.Transport) { p.call(func() { tr.LoseWriteConnection() }) }},
	{"Abort", func(p *probeProto, tr transport.Transport) { p.call(tr.Abort) }},
	{"PauseResume", func(p *probeProto, tr transport.Transport) {
		p.call(tr.PauseReading)
		tr.Reactor().CallSoon(func() { p.call(tr.ResumeReading) })
	}},
	{"LowerHigh", func(p *probeProto, tr transport.Transport) {
		p.call(func() {
			if err := tr.SetWriteLimits(1, 1, 0); err != nil {
				p.tb.Errorf("SetWriteLimits(1, 1, 0): %v", err)
			}
		})
	}},
}

var probeCallbacks = []string{"ConnectionMade", "DataReceived", "PauseWriting", "ResumeWriting", "ReadConnectionLost", "ConnectionLost"}

// probeReentrancy runs a client that writes 8 MiB with small water marks
// (so PauseWriting and ResumeWriting come), reads the server's "hello"
// and its end of file, and calls every Transport method from every
// callback: the connection ends, ConnectionLost comes once, never from
// inside a method, with nil unless the client aborted (then ErrAborted
// and the bytes it dropped), and the server reads every byte unless the
// client aborted.
func probeReentrancy(t *testing.T, backend string, overNetConn bool) {
	const size = 8 << 20
	for _, cb := range probeCallbacks {
		for _, act := range probeActions {
			t.Run(cb+"/"+act.name, func(t *testing.T) {
				if cb == "PauseWriting" && act.name == "LoseConnection" && !overNetConn {
					// Seen failing (timing-dependent, both backends):
					//	the server read 6711808 bytes, want 8388608
				}
				reactortest.CheckLeaks(t)
				r := probeReactor(t, backend, nil)
				pending := 2
				done := func() {
					if pending--; pending == 0 {
						r.Stop()
					}
				}
				server := newProbe(t)
				var got int
				server.made = func(tr transport.Transport) {
					tr.Write([]byte("hello"))
					tr.LoseWriteConnection()
				}
				server.data = func(b []byte) { got += len(b) }
				server.lost = func(error) { done() }
				l := probeListen(t, r, func(net.Addr) transport.Protocol { return server })

				client := newProbe(t)
				fired := false
				aborted, unsent := false, 0
				extra, wrote := 0, 0
				var tr transport.Transport
				fire := func(at string) {
					if at != cb || fired || tr == nil {
						return
					}
					fired = true
					if act.name == "Abort" && tr.State()&transport.Closed == 0 {
						aborted, unsent = true, tr.Buffered()
					}
					if act.name == "Write" && tr.State()&(transport.Closing|transport.WriteClosed|transport.Closed) == 0 {
						extra = 1
					}
					act.do(client, tr)
				}
				resumed, readDone := false, false
				finish := func() {
					if resumed && readDone && tr.State()&transport.Closed == 0 {
						client.call(tr.LoseConnection)
					}
				}
				client.made = func(t2 transport.Transport) {
					tr = t2
					fire("ConnectionMade")
					if err := tr.SetWriteLimits(1024, 512, 32<<20); err != nil {
						t.Error(err)
					}
					client.call(func() {
						err := tr.Write(make([]byte, size))
						switch {
						case err == nil:
							wrote = size
						case !errors.Is(err, transport.ErrClosed):
							t.Errorf("Write: %v", err)
						}
					})
				}
				client.data = func([]byte) { fire("DataReceived") }
				client.pause = func() { fire("PauseWriting") }
				client.resum = func() { fire("ResumeWriting"); resumed = true; finish() }
				client.rcl = func() bool { fire("ReadConnectionLost"); readDone = true; finish(); return true }
				client.lost = func(error) { fire("ConnectionLost"); done() }
				if overNetConn {
					nc, err := net.Dial("tcp", l.Addr().String())
					if err != nil {
						t.Fatal(err)
					}
					if _, err := transport.FromNetConn(r, nc, client); err != nil {
						t.Fatal(err)
					}
				} else {
					transport.DialTCP(r, l.Addr().String(), client)
				}
				// A pass after the last callback, for late calls.
				if !probeRun(t, r, 20*time.Second) {
					t.Fatalf("did not end: client %v (lost %d), server read %d", tr.State(), client.nLost, got)
				}
				if client.nLost != 1 {
					t.Fatalf("client's ConnectionLost called %d times", client.nLost)
				}
				if aborted {
					var oe *transport.OpError
					if !errors.Is(client.lostErr, transport.ErrAborted) || !errors.As(client.lostErr, &oe) || oe.Unsent != unsent {
						t.Errorf("after Abort with %d bytes buffered: ConnectionLost(%v)", unsent, client.lostErr)
					}
					return
				}
				if client.lostErr != nil {
					t.Errorf("ConnectionLost(%v), want nil", client.lostErr)
				}
				if got != wrote+extra {
					t.Errorf("the server read %d bytes, want %d", got, wrote+extra)
				}
			})
		}
	}
}

func TestProbeReentrancy(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) { probeReentrancy(t, backend, false) })
}

func TestProbeReentrancyNetConn(t *testing.T) { probeReentrancy(t, "", true) }

// LoseConnection flushes and closes; ConnectionLost(nil) says every byte
// was delivered. Bytes the peer sent that the protocol did not read (it
// stopped reading when it called LoseConnection) must not turn the close
// into a reset: a reset drops what the kernel still had to send, and the
// peer never gets it.
func TestProbeLoseConnectionWithUnreadInput(t *testing.T) {
	// Seen failing (8 runs in 10, both backends):
	//	client's ConnectionLost(nil) says all was delivered; the server
	//	read 6837759 of 8388608 bytes and lost the connection with read
	//	tcp 127.0.0.1:56074: connection reset by peer
	forBackends(t, func(t *testing.T, backend string) {
		reactortest.CheckLeaks(t)
		r := probeReactor(t, backend, nil)
		const size = 8 << 20
		pending := 2
		done := func() {
			if pending--; pending == 0 {
				r.Stop()
			}
		}
		server := newProbe(t)
		got := 0
		server.made = func(tr transport.Transport) {
			tr.Write([]byte("hello")) // the client never reads it
			tr.PauseReading()         // a slow reader: the client's kernel buffer fills
			r.CallLater(100*time.Millisecond, tr.ResumeReading)
		}
		server.data = func(b []byte) { got += len(b) }
		server.lost = func(error) { done() }
		l := probeListen(t, r, func(net.Addr) transport.Protocol { return server })
		client := newProbe(t)
		client.made = func(tr transport.Transport) {
			tr.PauseReading() // the server's "hello" stays unread
			tr.SetWriteLimits(0, 0, 2*size)
			if err := tr.Write(make([]byte, size)); err != nil {
				t.Error(err)
			}
			// Closing once the server's "hello" has surely arrived; the
			// server starts reading later still, so most of the 8 MiB
			// is still to be flushed.
			r.CallLater(20*time.Millisecond, tr.LoseConnection)
		}
		client.lost = func(error) { done() }
		transport.DialTCP(r, l.Addr().String(), client)
		if !probeRun(t, r, 10*time.Second) {
			t.Fatal("did not end")
		}
		if client.lostErr == nil && got != size {
			t.Errorf("client's ConnectionLost(nil) says all was delivered; the server read %d of %d bytes and lost the connection with %v", got, size, server.lostErr)
		}
	})
}

// A modal loop run from DataReceived (r.RunOnce from inside the call)
// reads other connections; the bytes the outer call is looking at stay as
// they were.
func TestProbeNestedPassKeepsReadBuffer(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		reactortest.CheckLeaks(t)
		r := probeReactor(t, backend, nil)
		var served []transport.Transport
		l := probeListen(t, r, func(net.Addr) transport.Protocol {
			p := newProbe(t)
			p.made = func(tr transport.Transport) { served = append(served, tr) }
			return p
		})
		var inner []string
		nested := false
		lost := 0
		mk := func(name string) *probeProto {
			p := newProbe(t)
			p.lost = func(error) {
				if lost++; lost == 2 {
					r.Stop()
				}
			}
			p.data = func(b []byte) {
				if name == "b" {
					inner = append(inner, string(b))
					return
				}
				if nested {
					return
				}
				nested = true
				before := string(b)
				served[1].Write(bytes.Repeat([]byte("B"), 1000))
				for deadline := time.Now().Add(2 * time.Second); len(inner) == 0 && time.Now().Before(deadline); {
					r.RunOnce(10 * time.Millisecond)
				}
				if string(b) != before {
					t.Errorf("a nested pass overwrote the outer DataReceived's bytes")
				}
				if len(inner) == 0 {
					t.Errorf("the nested pass read nothing from the other connection")
				}
				for _, s := range served {
					s.LoseConnection()
				}
			}
			return p
		}
		a, b := mk("a"), mk("b")
		pending := 2
		start := func(transport.Transport) {
			if pending--; pending == 0 {
				r.CallLater(10*time.Millisecond, func() { served[0].Write(bytes.Repeat([]byte("A"), 1000)) })
			}
		}
		transport.DialTCP(r, l.Addr().String(), a).OnValue(func(tr transport.Transport) {
			start(tr)
			transport.DialTCP(r, l.Addr().String(), b).OnValue(start)
		})
		if !probeRun(t, r, 5*time.Second) {
			t.Fatal("did not end")
		}
	})
}

// A listener closed from inside its factory accepts no more; the
// connection the factory was asked about goes on if it got a protocol.
// A factory that returns nil refuses the connection: the peer sees it
// closed.
func TestProbeListenerCloseInFactory(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		reactortest.CheckLeaks(t)
		r := probeReactor(t, backend, nil)
		var l *transport.Listener
		calls := 0
		l = probeListen(t, r, func(net.Addr) transport.Protocol {
			calls++
			if err := l.Close(); err != nil {
				t.Errorf("Close from the factory: %v", err)
			}
			return &echo{}
		})
		addr := l.Addr().String()
		p := newProbe(t)
		p.made = func(tr transport.Transport) { tr.Write([]byte("ping")) }
		p.data = func([]byte) { p.t.LoseConnection() }
		p.lost = func(err error) {
			if err != nil {
				t.Errorf("echo through the listener's last connection: %v", err)
			}
			// The listener is gone: a dial is refused.
			second := newProbe(t)
			transport.DialTCP(r, addr, second).OnError(func(err error) {
				if !errors.Is(err, transport.ErrRefused) {
					t.Errorf("dial after the listener closed: %v", err)
				}
				r.Stop()
			})
		}
		transport.DialTCP(r, addr, p)
		if !probeRun(t, r, 5*time.Second) {
			t.Fatal("did not end")
		}
		if calls != 1 || l.Accepted() != 1 {
			t.Errorf("factory called %d times, Accepted %d", calls, l.Accepted())
		}

		// A factory that says no.
		l2 := probeListen(t, r, func(net.Addr) transport.Protocol { return nil })
		q := newProbe(t)
		q.lost = func(err error) { r.Stop() }
		transport.DialTCP(r, l2.Addr().String(), q)
		if !probeRun(t, r, 5*time.Second) {
			t.Fatal("a refused connection was left open")
		}
		if l2.Refused() != 1 {
			t.Errorf("Refused = %d", l2.Refused())
		}
	})
}

// Bad addresses are clear errors, not panics; the error of a TCP listen
// names a TCP address.
func TestProbeListenBadAddress(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := probeReactor(t, "", nil)
	for _, addr := range []string{"nonsense", "127.0.0.1:99999", "[::1", "256.1.1.1:0"} {
		if l, err := transport.ListenTCP(r, addr, echoFactory); err == nil {
			l.Close()
			t.Errorf("ListenTCP(%q) succeeded", addr)
		}
	}
	if _, err := transport.Listen(r, "sctp", "127.0.0.1:0", echoFactory); err == nil {
		t.Error("Listen on sctp succeeded")
	}
	if _, err := transport.ListenTCP(r, "127.0.0.1:0", nil); err == nil {
		t.Error("ListenTCP with a nil factory succeeded")
	}
	l := probeListen(t, r, echoFactory)
	_, err := transport.ListenTCP(r, l.Addr().String(), echoFactory)
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("ListenTCP on a busy port: %v", err)
	}
	var oe *transport.OpError
	if !errors.As(err, &oe) {
		t.Fatalf("not an *OpError: %T", err)
	}
	if _, ok := oe.Addr.(*net.TCPAddr); !ok {
		// Seen failing:
		//	a TCP listen's error has Addr *net.UnixAddr (127.0.0.1:33093),
		//	want a *net.TCPAddr
		t.Errorf("a TCP listen's error has Addr %T (%v), want a *net.TCPAddr", oe.Addr, oe.Addr)
	}
}

// A Unix socket path longer than sun_path is refused with an error, on
// listen and on dial; an abstract name works both ways.
func TestProbeUnixNames(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := probeReactor(t, "", nil)
	long := filepath.Join(t.TempDir(), strings.Repeat("x", 120))
	if l, err := transport.ListenUnix(r, long, echoFactory); !errors.Is(err, syscall.EINVAL) {
		if err == nil {
			l.Close()
		}
		t.Errorf("ListenUnix on a 120-byte name: %v", err)
	}
	if _, err := os.Stat(long); err == nil {
		t.Error("a failed listen left a file behind")
	}
	p := newProbe(t)
	transport.DialUnix(r, long, p).OnError(func(err error) {
		if !errors.Is(err, syscall.EINVAL) {
			t.Errorf("DialUnix on a 120-byte name: %v", err)
		}
		r.Stop()
	})
	if !probeRun(t, r, 5*time.Second) {
		t.Fatal("the dial to a long path did not fail")
	}
	if p.nMade != 0 {
		t.Error("the protocol heard ConnectionMade")
	}

	name := "@loom-probe-" + strings.Repeat("n", 8)
	l, err := transport.ListenUnix(r, name, echoFactory)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got := l.Addr().String(); got != name {
		t.Errorf("abstract listener's address %q, want %q", got, name)
	}
	q := newProbe(t)
	q.made = func(tr transport.Transport) { tr.Write([]byte("abs")) }
	q.data = func(b []byte) {
		if string(b) != "abs" {
			t.Errorf("echo %q", b)
		}
		q.t.LoseConnection()
	}
	q.lost = func(err error) {
		if err != nil {
			t.Error(err)
		}
		r.Stop()
	}
	transport.DialUnix(r, name, q)
	if !probeRun(t, r, 5*time.Second) {
		t.Fatal("abstract echo did not end")
	}
}

// A Unix socket name too long for sun_path is bad input: the error says
// so, rather than a bare "invalid argument".
func TestProbeUnixPathTooLongMessage(t *testing.T) {
	// Seen failing:
	//	ListenUnix on a 171-byte name: listen unix /tmp/.../xxx...:
	//	invalid argument
	//	DialUnix on a 171-byte name: dial unix /tmp/.../xxx...: invalid
	//	argument
	reactortest.CheckLeaks(t)
	r := probeReactor(t, "", nil)
	long := filepath.Join(t.TempDir(), strings.Repeat("x", 120))
	_, err := transport.ListenUnix(r, long, echoFactory)
	if err == nil || !strings.Contains(err.Error(), "long") {
		t.Errorf("ListenUnix on a %d-byte name: %v", len(long), err)
	}
	var dialErr error
	transport.DialUnix(r, long, newProbe(t)).OnError(func(err error) { dialErr = err })
	if dialErr == nil || !strings.Contains(dialErr.Error(), "long") {
		t.Errorf("DialUnix on a %d-byte name: %v", len(long), dialErr)
	}
}

// Dials with a timeout of 0 or less have no limit but still fail as they
// should; a thousand dials to a listener that never answers, cancelled,
// release every socket.
func TestProbeDialTimeoutsAndMassCancel(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		reactortest.CheckLeaks(t)
		r := probeReactor(t, backend, nil)
		l := probeListen(t, r, echoFactory)
		refused := l.Addr().String()
		l.Close()
		left := 2
		for _, d := range []time.Duration{0, -time.Second} {
			transport.DialTCP(r, refused, newProbe(t), transport.WithTimeout(d)).OnError(func(err error) {
				if !errors.Is(err, transport.ErrRefused) {
					t.Errorf("timeout %v: %v", d, err)
				}
				if left--; left == 0 {
					r.Stop()
				}
			})
		}
		if !probeRun(t, r, 5*time.Second) {
			t.Fatal("refused dials did not fail")
		}

		full := socktest.FullListener(t)
		before := reactortest.OpenFDs(t)
		var dials []*deferred.Promise[transport.Transport]
		errs := make([]error, 1000)
		for i := range 1000 {
			d := transport.DialTCP(r, full, newProbe(t), transport.WithTimeout(0))
			d.OnError(func(err error) { errs[i] = err })
			dials = append(dials, d)
		}
		r.CallLater(50*time.Millisecond, func() {
			for _, d := range dials {
				d.Cancel()
			}
			r.CallSoon(r.Stop)
		})
		if !probeRun(t, r, 10*time.Second) {
			t.Fatal("did not end")
		}
		for i, err := range errs {
			if !errors.Is(err, transport.ErrCancelled) {
				t.Fatalf("dial %d after Cancel: %v", i, err)
			}
		}
		if after := reactortest.OpenFDs(t); after != before {
			t.Errorf("%d descriptors open before the dials, %d after cancelling them", before, after)
		}
	})
}

// A UDP protocol that writes from StopProtocol gets an error; Close twice
// is not an error; StopProtocol comes once, on a later pass.
func TestProbeUDPStop(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := probeReactor(t, "", nil)
	u := &probeUDP{tb: t}
	stops := 0
	u.stop = func(err error) {
		stops++
		if err := u.t.WriteTo([]byte("late"), netip.MustParseAddrPort("127.0.0.1:9")); !errors.Is(err, transport.ErrClosed) {
			t.Errorf("WriteTo from StopProtocol: %v", err)
		}
		if err := u.t.Close(); err != nil {
			t.Errorf("Close from StopProtocol: %v", err)
		}
		r.CallSoon(r.Stop)
	}
	tr, err := transport.ListenUDP(r, "127.0.0.1:0", u)
	if err != nil {
		t.Fatal(err)
	}
	u.inMethod = true
	if err := tr.Close(); err != nil {
		t.Error(err)
	}
	if err := tr.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	u.inMethod = false
	if !probeRun(t, r, 5*time.Second) {
		t.Fatal("no StopProtocol")
	}
	if stops != 1 {
		t.Errorf("StopProtocol called %d times", stops)
	}
}

type probeUDP struct {
	tb       testing.TB
	t        transport.DatagramTransport
	stop     func(error)
	inMethod bool
}

func (u *probeUDP) StartProtocol(t transport.DatagramTransport)    { u.t = t }
func (u *probeUDP) DatagramReceived(b []byte, from netip.AddrPort) {}
func (u *probeUDP) ErrorReceived(err error)                        {}
func (u *probeUDP) StopProtocol(err error) {
	if u.inMethod {
		u.tb.Error("StopProtocol from inside a method")
	}
	u.stop(err)
}

// A Stream's ReadLine waiting when the peer resets gets the reset, with
// the partial line; Drain and WaitClosed after the end settle at once.
func TestProbeStreamResetAndDrain(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := probeReactor(t, "", nil)
	l := probeListen(t, r, func(net.Addr) transport.Protocol {
		p := newProbe(t)
		p.made = func(tr transport.Transport) {
			tr.Write([]byte("partial line"))
			r.CallLater(20*time.Millisecond, tr.Abort)
		}
		return p
	})
	var lineErr, drainErr, closedErr error
	var drained bool
	p := deferred.Async(r, func(co *deferred.Co) (struct{}, error) {
		s, err := deferred.Await(co, transport.DialStream(r, "tcp", l.Addr().String()))
		if err != nil {
			return struct{}{}, err
		}
		_, lineErr = deferred.Await(co, s.ReadLine(0))
		_, drainErr = deferred.Await(co, s.Drain())
		drained = true
		_, closedErr = deferred.Await(co, s.WaitClosed())
		if err := s.Write([]byte("x")); !errors.Is(err, transport.ErrClosed) {
			t.Errorf("Write after the reset: %v", err)
		}
		if _, err := deferred.Await(co, s.Read(10)); !errors.Is(err, transport.ErrReset) {
			t.Errorf("Read after the reset: %v", err)
		}
		s.Close()
		return struct{}{}, nil
	})
	p.OnValue(func(struct{}) { r.Stop() })
	p.OnError(func(err error) { t.Error(err); r.Stop() })
	if !probeRun(t, r, 5*time.Second) {
		t.Fatal("did not end")
	}
	var ie *transport.IncompleteReadError
	if !errors.As(lineErr, &ie) || string(ie.Partial) != "partial line" || !errors.Is(lineErr, transport.ErrReset) {
		t.Errorf("ReadLine across a reset: %v", lineErr)
	}
	if !drained || !errors.Is(drainErr, transport.ErrReset) || !errors.Is(closedErr, transport.ErrReset) {
		t.Errorf("Drain after the reset: %v; WaitClosed: %v", drainErr, closedErr)
	}
}

// FromNetConn over a net.Pipe whose peer never reads: Write past the cap
// is ErrBufferFull and takes nothing; Abort ends it at once, with the
// bytes it dropped, and both goroutines end.
func TestProbeNetConnStuckPeer(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := probeReactor(t, "", nil)
	a, b := net.Pipe()
	defer a.Close()
	p := newProbe(t)
	p.lost = func(error) { r.Stop() }
	tr, err := transport.FromNetConn(r, b, p, transport.WithWriteLimits(1000, 500, 4000))
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Write(make([]byte, 3000)); err != nil {
		t.Fatal(err)
	}
	if err := tr.Write(make([]byte, 1001)); !errors.Is(err, transport.ErrBufferFull) {
		t.Errorf("Write past the cap: %v", err)
	}
	if tr.Buffered() != 3000 {
		t.Errorf("Buffered %d after a refused write", tr.Buffered())
	}
	r.CallLater(20*time.Millisecond, func() { p.call(tr.Abort) })
	if !probeRun(t, r, 5*time.Second) {
		t.Fatal("Abort did not end it")
	}
	var oe *transport.OpError
	if !errors.Is(p.lostErr, transport.ErrAborted) || !errors.As(p.lostErr, &oe) || oe.Unsent != 3000 {
		t.Errorf("ConnectionLost(%v), want ErrAborted with 3000 unsent", p.lostErr)
	}
}

// LoseConnection on a TLS transport whose handshake has not finished (the
// peer never answers) ends within the close_notify bound, with nothing
// buffered and with bytes written before the handshake; bytes that could
// not be sent are reported.
func TestProbeTLSLoseDuringHandshake(t *testing.T) {
	for _, buffered := range []bool{false, true} {
		name := "nothing buffered"
		if buffered {
			name = "bytes buffered"
		}
		t.Run(name, func(t *testing.T) {
			if buffered {
				// Seen failing:
				//	LoseConnection during a stuck handshake (bytes
				//	buffered) had not ended after 3 s; state open|closed
			}
			reactortest.CheckLeaks(t)
			r := probeReactor(t, "", nil)
			a, b := net.Pipe()
			go io.Copy(io.Discard, a) // reads the ClientHello, never answers
			defer a.Close()
			p := newProbe(t)
			p.lost = func(error) { r.Stop() }
			cfg := getPKI(t).ClientConfig()
			cfg.ServerName = "localhost"
			tr, err := transport.FromNetConn(r, tls.Client(b, cfg), p, transport.WithCloseNotifyTimeout(100*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			if buffered {
				tr.Write([]byte("written before the handshake"))
			}
			p.call(tr.LoseConnection)
			if !probeRun(t, r, 3*time.Second) {
				r.Close() // ends the goroutines
				t.Fatalf("LoseConnection during a stuck handshake (%s) had not ended after 3 s; state %v", name, tr.State())
			}
			if p.nLost != 1 {
				t.Errorf("ConnectionLost %d times", p.nLost)
			}
			var oe *transport.OpError
			if buffered && (!errors.As(p.lostErr, &oe) || oe.Unsent == 0) {
				t.Errorf("ConnectionLost(%v) after bytes were never sent", p.lostErr)
			}
		})
	}
}

// StartTLS twice: the second is refused and leaves the switch alone.
func TestProbeStartTLSTwice(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := probeReactor(t, "", nil)
	pki := getPKI(t)
	var srv transport.Transport
	l := probeListen(t, r, func(net.Addr) transport.Protocol {
		p := newProbe(t)
		p.made = func(tr transport.Transport) {
			pr := transport.StartTLS(tr, pki.ServerConfig(), false)
			pr.OnValue(func(t2 transport.Transport) { srv = t2 })
			pr.OnError(func(err error) { t.Errorf("server StartTLS: %v", err) })
		}
		p.data = func(b []byte) { srv.Write(b) }
		return p
	})
	c := newProbe(t)
	c.made = func(tr transport.Transport) {
		first := transport.StartTLS(tr, pki.ClientConfig(), true)
		second := transport.StartTLS(tr, pki.ClientConfig(), true)
		var err2 error
		second.OnError(func(err error) { err2 = err })
		if !second.Settled() || !errors.Is(err2, transport.ErrClosed) {
			t.Errorf("second StartTLS: settled %v, %v", second.Settled(), err2)
		}
		first.OnValue(func(t2 transport.Transport) { t2.Write([]byte("secure")) })
		first.OnError(func(err error) { t.Errorf("client StartTLS: %v", err); r.Stop() })
	}
	c.data = func(b []byte) {
		if string(b) != "secure" {
			t.Errorf("echo %q", b)
		}
		r.Stop()
	}
	transport.DialTCP(r, l.Addr().String(), c)
	if !probeRun(t, r, 5*time.Second) {
		t.Fatal("did not end")
	}
}

// Lowering the high water mark below what is buffered tells the protocol
// to pause at once; it resumes once the buffer drains to the low mark.
func TestProbeLowerHighWater(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		reactortest.CheckLeaks(t)
		r := probeReactor(t, backend, nil)
		l := probeListen(t, r, func(net.Addr) transport.Protocol { return newProbe(t) })
		c := newProbe(t)
		pauses, resumes := 0, 0
		c.pause = func() { pauses++ }
		c.resum = func() {
			resumes++
			if c.t.Buffered() > 1000 {
				t.Errorf("ResumeWriting with %d buffered, low mark 1000", c.t.Buffered())
			}
			c.t.LoseConnection()
		}
		c.lost = func(error) { r.Stop() }
		c.made = func(tr transport.Transport) {
			tr.SetWriteLimits(64<<20, 0, 64<<20)
			tr.Write(make([]byte, 16<<20))
			if tr.Buffered() == 0 || pauses != 0 {
				t.Fatalf("buffered %d, pauses %d", tr.Buffered(), pauses)
			}
			c.call(func() {
				if err := tr.SetWriteLimits(2000, 1000, 0); err != nil {
					t.Error(err)
				}
			})
			if pauses != 1 || tr.State()&transport.WritePaused == 0 {
				t.Errorf("after lowering high below %d buffered: pauses %d, state %v", tr.Buffered(), pauses, tr.State())
			}
		}
		transport.DialTCP(r, l.Addr().String(), c)
		if !probeRun(t, r, 10*time.Second) {
			t.Fatal("did not end")
		}
		if pauses != 1 || resumes != 1 || c.lostErr != nil {
			t.Errorf("pauses %d, resumes %d, lost %v", pauses, resumes, c.lostErr)
		}
	})
}

// Half-close with data buffered both ways: each side writes 4 MiB, calls
// LoseWriteConnection at once and keeps reading; each reads all the
// other's bytes, then its end of file, and both end cleanly.
func TestProbeHalfCloseBothWays(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		reactortest.CheckLeaks(t)
		r := probeReactor(t, backend, nil)
		const size = 4 << 20
		pending := 2
		side := func() (*probeProto, *int) {
			p := newProbe(t)
			n := new(int)
			p.made = func(tr transport.Transport) {
				tr.SetWriteLimits(0, 0, 2*size)
				if err := tr.Write(make([]byte, size)); err != nil {
					t.Error(err)
				}
				if err := tr.LoseWriteConnection(); err != nil {
					t.Error(err)
				}
				if err := tr.Write([]byte("x")); !errors.Is(err, transport.ErrClosed) {
					t.Errorf("Write after LoseWriteConnection: %v", err)
				}
			}
			p.data = func(b []byte) { *n += len(b) }
			p.rcl = func() bool { return true }
			p.lost = func(error) {
				if pending--; pending == 0 {
					r.Stop()
				}
			}
			return p, n
		}
		sp, sn := side()
		l := probeListen(t, r, func(net.Addr) transport.Protocol { return sp })
		cp, cn := side()
		transport.DialTCP(r, l.Addr().String(), cp)
		if !probeRun(t, r, 10*time.Second) {
			t.Fatal("did not end")
		}
		if *sn != size || *cn != size || sp.lostErr != nil || cp.lostErr != nil {
			t.Errorf("server read %d (lost %v), client read %d (lost %v), want %d each and nil", *sn, sp.lostErr, *cn, cp.lostErr, size)
		}
	})
}

// Abort after LoseConnection, with bytes still buffered, drops them and
// says how many.
func TestProbeAbortAfterLoseConnection(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := probeReactor(t, "", nil)
	l := probeListen(t, r, func(net.Addr) transport.Protocol {
		p := newProbe(t)
		p.made = func(tr transport.Transport) { tr.PauseReading() } // never reads
		return p
	})
	c := newProbe(t)
	var unsent int
	c.made = func(tr transport.Transport) {
		tr.SetWriteLimits(0, 0, 64<<20)
		tr.Write(make([]byte, 32<<20))
		c.call(tr.LoseConnection)
		r.CallLater(20*time.Millisecond, func() {
			unsent = tr.Buffered()
			if unsent == 0 || tr.State()&transport.Closing == 0 {
				t.Errorf("buffered %d, state %v", unsent, tr.State())
			}
			c.call(tr.Abort)
		})
	}
	c.lost = func(error) { r.Stop() }
	transport.DialTCP(r, l.Addr().String(), c)
	if !probeRun(t, r, 5*time.Second) {
		t.Fatal("did not end")
	}
	var oe *transport.OpError
	if !errors.Is(c.lostErr, transport.ErrAborted) || !errors.As(c.lostErr, &oe) || oe.Unsent != unsent {
		t.Errorf("ConnectionLost(%v), want ErrAborted with %d unsent", c.lostErr, unsent)
	}
}

// Closing the reactor from a callback is refused; the loop goes on.
func TestProbeReactorCloseFromCallback(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := probeReactor(t, "", nil)
	l := probeListen(t, r, echoFactory)
	c := newProbe(t)
	c.made = func(tr transport.Transport) {
		if err := r.Close(); err == nil {
			t.Error("reactor Close from ConnectionMade succeeded")
		}
		tr.Write([]byte("still here"))
	}
	c.data = func([]byte) { c.t.LoseConnection() }
	c.lost = func(err error) {
		if err != nil {
			t.Error(err)
		}
		r.Stop()
	}
	transport.DialTCP(r, l.Addr().String(), c)
	if !probeRun(t, r, 5*time.Second) {
		t.Fatal("did not end")
	}
}

// probeExhaust lowers the descriptor limit to just above the highest open
// descriptor and opens descriptors up to it; restore undoes it.
func probeExhaust(t *testing.T) (restore func()) {
	t.Helper()
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	highest := 0
	for _, e := range ents {
		n := 0
		for _, c := range e.Name() {
			n = n*10 + int(c-'0')
		}
		highest = max(highest, n)
	}
	lim := old
	setRlimitCur(&lim.Cur, highest+16)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("cannot lower the descriptor limit: %v", err)
	}
	var held []int
	for {
		fd, err := unix.Open(os.DevNull, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			break
		}
		held = append(held, fd)
	}
	done := false
	restore = func() {
		if done {
			return
		}
		done = true
		for _, fd := range held {
			unix.Close(fd)
		}
		unix.Setrlimit(unix.RLIMIT_NOFILE, &old)
	}
	t.Cleanup(restore)
	return restore
}

// A dial when the process is out of descriptors fails at once with a
// clear error (EMFILE), and the protocol hears nothing.
func TestProbeDialOutOfDescriptors(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := probeReactor(t, "", nil)
	l := probeListen(t, r, echoFactory)
	p := newProbe(t)
	var dialErr error
	r.CallSoon(func() {
		restore := probeExhaust(t)
		transport.DialTCP(r, l.Addr().String(), p).OnError(func(err error) {
			dialErr = err
			restore()
			r.Stop()
		})
	})
	if !probeRun(t, r, 5*time.Second) {
		t.Fatal("the dial did not fail")
	}
	if !errors.Is(dialErr, syscall.EMFILE) {
		t.Errorf("dial out of descriptors: %v", dialErr)
	}
	if p.nMade != 0 || p.nLost != 0 {
		t.Errorf("the protocol heard %d ConnectionMade, %d ConnectionLost", p.nMade, p.nLost)
	}
}

// setRlimitCur sets an rlimit field, int64 on some systems, uint64 on
// others.
func setRlimitCur[T ~int64 | ~uint64](p *T, v int) { *p = T(v) }

// The same for DialTLS: the promise settles, rejected, and the
// connection is closed, with nothing left running.
func TestProbeDialTLSConnectionMadePanics(t *testing.T) {
	reactortest.CheckLeaks(t)
	var logs bytes.Buffer
	r := probeReactor(t, "", &logs)
	pki := transporttest.TestPKI(t)
	l, err := transport.ListenTLS(r, "127.0.0.1:0", pki.ServerConfig(), echoFactory)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p := newProbe(t)
	p.made = func(transport.Transport) { panic("a bug in ConnectionMade") }
	pr := transport.DialTLS(r, l.Addr().String(), pki.ClientConfig(), p)
	var got error
	pr.OnValue(func(tr transport.Transport) { tr.Abort(); r.Stop() })
	pr.OnError(func(err error) { got = err; r.CallLater(50*time.Millisecond, r.Stop) })
	if !probeRun(t, r, 5*time.Second) || !pr.Settled() {
		t.Fatal("the TLS dial's promise never settled after ConnectionMade panicked")
	}
	if got == nil || !strings.Contains(got.Error(), "ConnectionMade panicked") {
		t.Errorf("dial error %v, want one saying ConnectionMade panicked", got)
	}
	if !strings.Contains(logs.String(), "a bug in ConnectionMade") {
		t.Errorf("the panic was not logged")
	}
}
