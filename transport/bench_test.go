package transport_test

import (
	"context"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/transport"
	"golang.org/x/sys/unix"
)

// benchEchoer writes back what it reads, as bench/echo does.
type benchEchoer struct{ t transport.Transport }

func (e *benchEchoer) ConnectionMade(t transport.Transport) { e.t = t }
func (e *benchEchoer) DataReceived(b []byte)                { e.t.Write(b) }
func (e *benchEchoer) ConnectionLost(error)                 {}

// benchPinger sends msg, waits for it to come back whole, and sends it
// again, left times, then stops the reactor.
type benchPinger struct {
	t    transport.Transport
	r    *reactor.Reactor
	msg  []byte
	got  int
	left int
}

func (p *benchPinger) ConnectionMade(t transport.Transport) { p.t = t; p.send() }
func (p *benchPinger) send() {
	if p.left == 0 {
		p.r.Stop()
		return
	}
	p.left--
	p.t.Write(p.msg)
}
func (p *benchPinger) DataReceived(b []byte) {
	p.got += len(b)
	for p.got >= len(p.msg) {
		p.got -= len(p.msg)
		p.send()
	}
}
func (p *benchPinger) ConnectionLost(error) {}

// BenchmarkEcho measures one round trip of a 64-byte message over a
// loopback TCP connection to a transport.ListenTCP echo server, the echo
// path of bench/echo, and reports allocations per round trip (every
// allocation of the process counts: the loop's, the transports' and the
// client's). In steady state there are none.
//
// raw-client: the client is a blocking socket on the benchmark's
// goroutine, the reactor runs on another. loom-client: the client is a
// DialTCP protocol on the same reactor, so one message crosses two loom
// transports each way.
func BenchmarkEcho(b *testing.B) {
	const size = 64
	msg := make([]byte, size)
	for i := range msg {
		msg[i] = byte('a' + i%26)
	}
	start := func(b *testing.B) (*reactor.Reactor, *transport.Listener, func()) {
		r, err := reactor.New(reactor.WithoutSignalHandlers())
		if err != nil {
			b.Fatal(err)
		}
		l, err := transport.ListenTCP(r, "127.0.0.1:0", func(net.Addr) transport.Protocol { return &benchEchoer{} })
		if err != nil {
			r.Close()
			b.Fatal(err)
		}
		return r, l, func() { l.Close(); r.Close() }
	}

	b.Run("raw-client", func(b *testing.B) {
		r, l, cleanup := start(b)
		defer cleanup()
		done := make(chan error, 1)
		go func() { done <- r.Run(context.Background()) }()
		defer func() {
			r.CallFromGoroutine(r.Stop)
			<-done
		}()
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		f, err := c.(*net.TCPConn).File() // a blocking duplicate
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		fd := int(f.Fd())
		buf := make([]byte, size)
		roundTrip := func() {
			if _, err := unix.Write(fd, msg); err != nil {
				b.Fatal(err)
			}
			for got := 0; got < size; {
				n, err := unix.Read(fd, buf[got:])
				if err == unix.EINTR {
					continue
				}
				if err != nil || n == 0 {
					b.Fatal("read:", n, err)
				}
				got += n
			}
		}
		for range 1000 { // the first connection's buffers, the pool
			roundTrip()
		}
		b.SetBytes(2 * size)
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			roundTrip()
		}
	})

	b.Run("loom-client", func(b *testing.B) {
		r, l, cleanup := start(b)
		defer cleanup()
		run := func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := r.Run(ctx); err != nil {
				b.Fatal(err)
			}
		}
		p := &benchPinger{r: r, msg: msg, left: 1000} // warm-up
		transport.DialTCP(r, l.Addr().String(), p).OnError(func(err error) { b.Error(err); r.Stop() })
		run()
		if p.t == nil || p.left != 0 {
			b.Fatal("the warm-up did not finish")
		}
		defer p.t.Abort()
		b.SetBytes(2 * size)
		b.ReportAllocs()
		b.ResetTimer()
		p.left = b.N
		r.CallSoon(p.send)
		run()
		if p.left != 0 {
			b.Fatalf("%d round trips left", p.left)
		}
	})
}

// BenchmarkEchoUnderGC is BenchmarkEcho with a garbage collection every
// millisecond, as in a program that allocates elsewhere (a GUI does): what
// the echo path allocates again after collections shows in B/op.
func BenchmarkEchoUnderGC(b *testing.B) {
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				runtime.GC()
			}
		}
	}()
	defer close(stop)
	BenchmarkEcho(b)
}
