package protocol_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/loomkit/loom/protocol"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/transport"
)

func newReactor(t *testing.T) *reactor.Reactor {
	t.Helper()
	r, err := reactor.New(reactor.WithoutSignalHandlers())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// runLoop runs r until it is stopped, failing t if that takes longer
// than limit.
func runLoop(t *testing.T, r *reactor.Reactor, limit time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	r.Run(ctx)
	if ctx.Err() != nil {
		t.Fatalf("the loop was still running after %v", limit)
	}
}

// handler is a protocol.Handler made of functions.
type handler struct {
	t     transport.Transport
	made  func(h *handler)
	frame func(h *handler, b []byte)
	lost  func(h *handler, err error)
}

func (h *handler) ConnectionMade(t transport.Transport) {
	h.t = t
	if h.made != nil {
		h.made(h)
	}
}

func (h *handler) FrameReceived(b []byte) {
	if h.frame != nil {
		h.frame(h, b)
	}
}

// DataReceived makes a handler a plain transport.Protocol too, for the
// peers that do not frame what they read.
func (h *handler) DataReceived([]byte) {}

func (h *handler) ConnectionLost(err error) {
	if h.lost != nil {
		h.lost(h, err)
	}
}

// both calls stop once it has been called twice: when both ends of a
// connection are lost.
func both(stop func()) func() {
	n := 0
	return func() {
		if n++; n == 2 {
			stop()
		}
	}
}

func listen(t *testing.T, r *reactor.Reactor, f transport.Factory) string {
	t.Helper()
	l, err := transport.ListenTCP(r, "127.0.0.1:0", f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l.Addr().String()
}

func dial(t *testing.T, r *reactor.Reactor, addr string, p transport.Protocol) {
	transport.DialTCP(r, addr, p).OnError(func(err error) { t.Error(err); r.Stop() })
}

// Two thousand lines of up to 3000 bytes, ending in "\n" or "\r\n", sent in
// one write over loopback TCP, reach a line server as they were sent,
// split wherever the kernel split them; its replies, sent with WriteLine,
// reach the client the same way.
func TestLineReceiverOverTCP(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	done := both(r.Stop)
	var serverErr, clientErr error
	addr := listen(t, r, func(net.Addr) transport.Protocol {
		return protocol.NewLineReceiver(protocol.LineConfig{}, &handler{
			frame: func(h *handler, b []byte) {
				if err := protocol.WriteLine(h.t, bytes.ToUpper(b)); err != nil {
					t.Error(err)
				}
			},
			lost: func(_ *handler, err error) { serverErr = err; done() },
		})
	})
	rng := rand.New(rand.NewPCG(3, 4))
	var sent []string
	var wire []byte
	for range 2000 {
		l := make([]byte, rng.IntN(3000))
		for i := range l {
			l[i] = "abcdefgh \t\r"[rng.IntN(11)]
		}
		for len(l) > 0 && l[len(l)-1] == '\r' {
			l = l[:len(l)-1]
		}
		sent = append(sent, string(l))
		wire = append(wire, l...)
		wire = append(wire, []string{"\n", "\r\n"}[rng.IntN(2)]...)
	}
	var got []string
	dial(t, r, addr, protocol.NewLineReceiver(protocol.LineConfig{}, &handler{
		made: func(h *handler) {
			if err := h.t.Write(wire); err != nil {
				t.Error(err)
			}
		},
		frame: func(h *handler, b []byte) {
			if got = append(got, string(b)); len(got) == len(sent) {
				h.t.LoseConnection()
			}
		},
		lost: func(_ *handler, err error) { clientErr = err; done() },
	}))
	runLoop(t, r, 30*time.Second)
	if serverErr != nil || clientErr != nil {
		t.Errorf("ConnectionLost: server %v, client %v", serverErr, clientErr)
	}
	if len(got) != len(sent) {
		t.Fatalf("%d lines back, want %d", len(got), len(sent))
	}
	for i := range sent {
		if got[i] != string(bytes.ToUpper([]byte(sent[i]))) {
			t.Fatalf("line %d: %.30q, want %.30q", i, got[i], sent[i])
		}
	}
}

// Over TCP, a line of the maximum is delivered and the next, one byte
// longer, closes the connection: the server's handler gets a
// *FrameError wrapping ErrLineTooLong that says where the line began,
// and no line after it.
func TestLineReceiverTooLongClosesConnection(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	done := both(r.Stop)
	max := protocol.DefaultMaxLineLength
	var lines []int
	var serverErr error
	addr := listen(t, r, func(net.Addr) transport.Protocol {
		return protocol.NewLineReceiver(protocol.LineConfig{}, &handler{
			frame: func(_ *handler, b []byte) { lines = append(lines, len(b)) },
			lost:  func(_ *handler, err error) { serverErr = err; done() },
		})
	})
	wire := "ok\n" + string(bytes.Repeat([]byte("x"), max)) + "\r\n" + string(bytes.Repeat([]byte("y"), max+1)) + "\nnever\n"
	dial(t, r, addr, &handler{
		made: func(h *handler) { h.t.Write([]byte(wire)) },
		lost: func(*handler, error) { done() },
	})
	runLoop(t, r, 10*time.Second)
	if fmt.Sprint(lines) != fmt.Sprint([]int{2, max}) {
		t.Errorf("server got lines of %v bytes, want [2 %d]", lines, max)
	}
	var fe *protocol.FrameError
	if !errors.Is(serverErr, protocol.ErrLineTooLong) || !errors.As(serverErr, &fe) || fe.Offset != int64(3+max+2) {
		t.Fatalf("server's ConnectionLost: %v", serverErr)
	}
	t.Log(serverErr)
}

// With OverflowSkip, a 100000-byte line is dropped, reported to OnSkip,
// and the connection goes on.
func TestLineReceiverSkipOverTCP(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	done := both(r.Stop)
	var lines []string
	var skips []int64
	serverErr := errors.New("ConnectionLost not called")
	addr := listen(t, r, func(net.Addr) transport.Protocol {
		cfg := protocol.LineConfig{Overflow: protocol.OverflowSkip, OnSkip: func(n int64) { skips = append(skips, n) }}
		return protocol.NewLineReceiver(cfg, &handler{
			frame: func(h *handler, b []byte) { lines = append(lines, string(b)) },
			lost:  func(_ *handler, err error) { serverErr = err; done() },
		})
	})
	dial(t, r, addr, &handler{
		made: func(h *handler) {
			h.t.Write([]byte("a\n" + string(bytes.Repeat([]byte("x"), 100000)) + "\nb\n"))
			h.t.LoseConnection()
		},
		lost: func(*handler, error) { done() },
	})
	runLoop(t, r, 10*time.Second)
	if serverErr != nil || fmt.Sprint(lines) != "[a b]" || fmt.Sprint(skips) != "[100000]" {
		t.Fatalf("lines %q, skips %v, ConnectionLost %v", lines, skips, serverErr)
	}
}

// flooder writes numbered lines as fast as the transport lets it, pausing
// when told to, and closes when it has written them all.
type flooder struct {
	handler
	next, total int
	paused      bool
	pauses      int
	buf         []byte
}

const floodLine = 200

func (f *flooder) ConnectionMade(t transport.Transport) { f.t = t; f.fill() }
func (f *flooder) PauseWriting()                        { f.paused = true; f.pauses++ }
func (f *flooder) ResumeWriting()                       { f.paused = false; f.fill() }

func (f *flooder) fill() {
	for !f.paused && f.next < f.total {
		f.buf = f.buf[:0]
		for ; len(f.buf) < 64<<10 && f.next < f.total; f.next++ {
			f.buf = strconv.AppendInt(f.buf, int64(f.next), 10)
			for len(f.buf)%floodLine != floodLine-1 {
				f.buf = append(f.buf, '.')
			}
			f.buf = append(f.buf, '\n')
		}
		if err := f.t.Write(f.buf); err != nil {
			f.t.Abort()
			return
		}
	}
	if f.next == f.total {
		f.t.LoseConnection()
	}
}

// A line client that pauses reading in FrameReceived gets no line until
// it resumes, whatever was in the read that line came from; meanwhile
// the transport stops reading, the kernel's buffers fill, and the
// server's writes are paused (back-pressure end to end), while the
// client holds no more than one read. Resumed, it gets every line, in
// order; pausing every 20000 lines for a moment loses none either.
func TestLineReceiverPauseHoldsLinesAndPushesBack(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	done := both(r.Stop)
	const total = (24 << 20) / floodLine
	var server *flooder
	addr := listen(t, r, func(net.Addr) transport.Protocol {
		server = &flooder{total: total}
		server.lost = func(*handler, error) { done() }
		return server
	})
	var recv *protocol.Receiver
	next := 0
	deliveredWhilePaused := 0
	heldLines := 0 // pauses that left whole lines held
	paused := false
	var clientErr error
	var waitForPushBack func()
	deadline := time.Now().Add(20 * time.Second)
	stalled, lastNext := 0, -1
	waitForPushBack = func() {
		// The server is stalled when its writes are paused and it has
		// written nothing more for a few polls.
		if server.paused && server.next == lastNext {
			stalled++
		} else {
			stalled = 0
		}
		lastNext = server.next
		if stalled < 5 && time.Now().Before(deadline) {
			r.CallLater(2*time.Millisecond, waitForPushBack)
			return
		}
		if stalled < 5 {
			t.Error("the server's writes did not stall while the client was paused")
		}
		if st := recv.Transport().State(); st&transport.ReadPaused == 0 {
			t.Errorf("client transport %v, want read-paused", st)
		}
		if n := recv.Buffered(); n > transport.ReadSize+floodLine {
			t.Errorf("the paused client holds %d bytes, more than one read", n)
		}
		t.Logf("paused at line %d: the server stalled after writing %d lines, holding %d bytes; the client holds %d", next, server.next, server.t.Buffered(), recv.Buffered())
		paused = false
		recv.Transport().ResumeReading()
	}
	recv = protocol.NewLineReceiver(protocol.LineConfig{}, &handler{
		frame: func(h *handler, b []byte) {
			if paused {
				deliveredWhilePaused++
			}
			n, err := strconv.Atoi(string(bytes.TrimRight(b, ".")))
			if err != nil || n != next || len(b) != floodLine-1 {
				t.Fatalf("line %d: %.20q", next, b)
			}
			next++
			switch {
			case next == 10:
				paused = true
				h.t.PauseReading()
				waitForPushBack()
			case next%20000 == 0:
				paused = true
				h.t.PauseReading()
				r.CallLater(time.Millisecond, func() {
					if recv.Buffered() >= floodLine {
						heldLines++
					}
					paused = false
					h.t.ResumeReading()
				})
			}
		},
		lost: func(_ *handler, err error) { clientErr = err; done() },
	})
	dial(t, r, addr, recv)
	runLoop(t, r, 60*time.Second)
	if heldLines == 0 {
		t.Errorf("none of the %d pauses held a line", total/20000)
	}
	if deliveredWhilePaused != 0 {
		t.Errorf("%d lines delivered while paused", deliveredWhilePaused)
	}
	if next != total || clientErr != nil {
		t.Errorf("client got %d lines of %d, ConnectionLost %v", next, total, clientErr)
	}
}

// A peer that closes in the middle of a line, a netstring or a frame
// leaves the handler an error wrapping ErrTruncated; one that closes
// between two is a clean close.
func TestReceiverTruncatedByPeer(t *testing.T) {
	for _, c := range []struct {
		name  string
		recv  func(protocol.Handler) *protocol.Receiver
		wire  string
		trunc bool
	}{
		{"line", func(h protocol.Handler) *protocol.Receiver { return protocol.NewLineReceiver(protocol.LineConfig{}, h) }, "abc\nxyz", true},
		{"line-whole", func(h protocol.Handler) *protocol.Receiver { return protocol.NewLineReceiver(protocol.LineConfig{}, h) }, "abc\n", false},
		{"netstring", func(h protocol.Handler) *protocol.Receiver {
			return protocol.NewNetstringReceiver(protocol.NetstringConfig{}, h)
		}, "3:abc,5:xy", true},
		{"frame", func(h protocol.Handler) *protocol.Receiver {
			return protocol.NewFrameReceiver(protocol.FrameConfig{}, h)
		}, "\x00\x00\x00\x03abc\x00\x00", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			reactortest.CheckLeaks(t)
			r := newReactor(t)
			done := both(r.Stop)
			addr := listen(t, r, func(net.Addr) transport.Protocol {
				return &handler{
					made: func(h *handler) { h.t.Write([]byte(c.wire)); h.t.LoseConnection() },
					lost: func(*handler, error) { done() },
				}
			})
			var frames []string
			lost := errors.New("ConnectionLost not called")
			dial(t, r, addr, c.recv(&handler{
				frame: func(_ *handler, b []byte) { frames = append(frames, string(b)) },
				lost:  func(_ *handler, err error) { lost = err; done() },
			}))
			runLoop(t, r, 10*time.Second)
			if fmt.Sprint(frames) != "[abc]" {
				t.Errorf("frames %q", frames)
			}
			if c.trunc != errors.Is(lost, protocol.ErrTruncated) || (!c.trunc && lost != nil) {
				t.Errorf("ConnectionLost(%v)", lost)
			}
		})
	}
}

// A handler that closes the connection from FrameReceived gets no frame
// after that one, even from the same read.
func TestReceiverNoFrameAfterClose(t *testing.T) {
	for _, abort := range []bool{false, true} {
		t.Run(fmt.Sprintf("abort=%v", abort), func(t *testing.T) { noFrameAfterClose(t, abort) })
	}
}

func noFrameAfterClose(t *testing.T, abort bool) {
	{
		reactortest.CheckLeaks(t)
		r := newReactor(t)
		done := both(r.Stop)
		var got []string
		var lost error
		addr := listen(t, r, func(net.Addr) transport.Protocol {
			return protocol.NewLineReceiver(protocol.LineConfig{}, &handler{
				frame: func(h *handler, b []byte) {
					got = append(got, string(b))
					if abort {
						h.t.Abort()
					} else {
						h.t.LoseConnection()
					}
				},
				lost: func(_ *handler, err error) { lost = err; done() },
			})
		})
		dial(t, r, addr, &handler{
			made: func(h *handler) { h.t.Write([]byte("a\nb\nc\n")) },
			lost: func(*handler, error) { done() },
		})
		runLoop(t, r, 10*time.Second)
		if fmt.Sprint(got) != "[a]" {
			t.Errorf("abort %v: got %q", abort, got)
		}
		if abort != errors.Is(lost, transport.ErrAborted) {
			t.Errorf("abort %v: ConnectionLost(%v)", abort, lost)
		}
	}
}

// Netstrings and length-prefixed frames of up to 300 KiB, each spanning
// several reads, go back and forth between two Receivers over TCP,
// sent with Send, one at a time: each arrives as it was sent.
func TestNetstringAndFrameReceiversOverTCP(t *testing.T) {
	for _, c := range []struct {
		name string
		recv func(protocol.Handler) *protocol.Receiver
	}{
		{"netstring", func(h protocol.Handler) *protocol.Receiver {
			return protocol.NewNetstringReceiver(protocol.NetstringConfig{}, h)
		}},
		{"frame-8-le", func(h protocol.Handler) *protocol.Receiver {
			return protocol.NewFrameReceiver(protocol.FrameConfig{PrefixSize: 8, Order: binary.LittleEndian}, h)
		}},
		{"frame-2", func(h protocol.Handler) *protocol.Receiver {
			return protocol.NewFrameReceiver(protocol.FrameConfig{PrefixSize: 2, MaxLength: 65535}, h)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			reactortest.CheckLeaks(t)
			r := newReactor(t)
			done := both(r.Stop)
			var errs []error
			addr := listen(t, r, func(net.Addr) transport.Protocol {
				var self *protocol.Receiver
				self = c.recv(&handler{
					frame: func(_ *handler, b []byte) {
						if err := self.Send(b); err != nil {
							t.Error(err)
						}
					},
					lost: func(_ *handler, err error) { errs = append(errs, err); done() },
				})
				return self
			})
			rng := rand.New(rand.NewPCG(5, 6))
			maxLen := 300 << 10
			if c.name == "frame-2" {
				maxLen = 65535
			}
			payload := func() []byte {
				p := make([]byte, rng.IntN(maxLen+1))
				for i := range p {
					p[i] = byte(rng.Uint32())
				}
				return p
			}
			var client *protocol.Receiver
			var last []byte
			count := 0
			client = c.recv(&handler{
				made: func(h *handler) { last = payload(); client.Send(last) },
				frame: func(h *handler, b []byte) {
					if !bytes.Equal(b, last) {
						t.Fatalf("payload %d: %d bytes back, want %d", count, len(b), len(last))
					}
					if count++; count == 30 {
						h.t.LoseConnection()
						return
					}
					last = payload()
					client.Send(last)
				},
				lost: func(_ *handler, err error) { errs = append(errs, err); done() },
			})
			dial(t, r, addr, client)
			runLoop(t, r, 30*time.Second)
			if count != 30 || errs[0] != nil || errs[1] != nil {
				t.Errorf("%d payloads echoed, ConnectionLost %v", count, errs)
			}
		})
	}
}

// A framing error in what a peer sends (a netstring with a leading zero)
// closes the connection, and the handler is told why.
func TestReceiverFramingErrorOverTCP(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	done := both(r.Stop)
	var got []string
	var lost error
	addr := listen(t, r, func(net.Addr) transport.Protocol {
		return protocol.NewNetstringReceiver(protocol.NetstringConfig{}, &handler{
			frame: func(_ *handler, b []byte) { got = append(got, string(b)) },
			lost:  func(_ *handler, err error) { lost = err; done() },
		})
	})
	dial(t, r, addr, &handler{
		made: func(h *handler) { h.t.Write([]byte("2:ok,007:bond007,")) },
		lost: func(*handler, error) { done() },
	})
	runLoop(t, r, 10*time.Second)
	if fmt.Sprint(got) != "[ok]" || !errors.Is(lost, protocol.ErrMalformed) {
		t.Fatalf("got %q, ConnectionLost(%v)", got, lost)
	}
}

// halfCloser is a handler that hears the peer's end of file and answers
// it, and hears write flow.
type halfCloser struct {
	handler
	flow []string
}

func (h *halfCloser) ReadConnectionLost() bool {
	protocol.WriteLine(h.t, []byte("bye"))
	h.t.LoseConnection()
	return true
}

func (h *halfCloser) PauseWriting()  { h.flow = append(h.flow, "pause") }
func (h *halfCloser) ResumeWriting() { h.flow = append(h.flow, "resume") }

// A handler that is a transport.HalfCloser hears the peer's half-close
// through its Receiver and may still write; one that is a
// transport.WriteFlow hears its transport's write flow.
func TestReceiverPassesOnHalfCloseAndWriteFlow(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	done := both(r.Stop)
	var server *halfCloser
	var got []string
	addr := listen(t, r, func(net.Addr) transport.Protocol {
		server = &halfCloser{}
		server.frame = func(_ *handler, b []byte) { got = append(got, string(b)) }
		server.lost = func(*handler, error) { done() }
		return protocol.NewLineReceiver(protocol.LineConfig{}, server)
	})
	var reply []string
	var clientErr error
	dial(t, r, addr, protocol.NewLineReceiver(protocol.LineConfig{}, &handler{
		made: func(h *handler) {
			protocol.WriteLine(h.t, []byte("last words"))
			h.t.LoseWriteConnection()
		},
		frame: func(_ *handler, b []byte) { reply = append(reply, string(b)) },
		lost:  func(_ *handler, err error) { clientErr = err; done() },
	}))
	runLoop(t, r, 10*time.Second)
	if fmt.Sprint(got) != "[last words]" || fmt.Sprint(reply) != "[bye]" || clientErr != nil {
		t.Fatalf("server got %q, client got %q and %v", got, reply, clientErr)
	}

	recv := protocol.NewLineReceiver(protocol.LineConfig{}, server)
	recv.PauseWriting()
	recv.ResumeWriting()
	if fmt.Sprint(server.flow) != "[pause resume]" {
		t.Fatalf("write flow heard: %v", server.flow)
	}
}
