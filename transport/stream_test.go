package transport_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/internal/stack"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/transport"
)

// streamReactor returns a reactor without signal handlers, closed when t
// ends.
func streamReactor(t testing.TB, opts ...reactor.Option) *reactor.Reactor {
	t.Helper()
	r, err := reactor.New(append([]reactor.Option{reactor.WithoutSignalHandlers()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// streamRun runs body as a coroutine on r and runs r until the body has
// ended, failing t if it returned an error or did not end within a
// minute.
func streamRun(t testing.TB, r *reactor.Reactor, body func(co *deferred.Co) error) {
	t.Helper()
	p := deferred.Async(r, func(co *deferred.Co) (struct{}, error) { return struct{}{}, body(co) })
	var err error
	p.OnValue(func(struct{}) { r.Stop() })
	p.OnError(func(e error) { err = e; r.Stop() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if rerr := r.Run(ctx); rerr != nil {
		t.Fatalf("the reactor: %v", rerr)
	}
	if !p.Settled() {
		t.Fatal("the coroutine did not end")
	}
	if err != nil {
		t.Fatal(err)
	}
}

// streamListen listens on 127.0.0.1 with streams served by serve and
// returns the address.
func streamListen(t testing.TB, r *reactor.Reactor, serve func(s *transport.Stream)) string {
	t.Helper()
	l, err := transport.ListenTCP(r, "127.0.0.1:0", transport.StreamFactory(serve))
	if err != nil {
		t.Fatal(err)
	}
	return l.Addr().String()
}

// streamCommands serves streams that obey the peer's lines: SEND "text"
// (a Go string literal) writes the text, CLOSE closes, ABORT aborts,
// CLOSEWRITE half-closes.
func streamCommands(t testing.TB, r *reactor.Reactor) string {
	return streamListen(t, r, func(s *transport.Stream) {
		deferred.Async(r, func(co *deferred.Co) (struct{}, error) {
			for {
				line, err := deferred.Await(co, s.ReadLine(0))
				if err != nil {
					s.Close()
					return struct{}{}, nil
				}
				cmd, arg, _ := strings.Cut(string(line), " ")
				switch cmd {
				case "SEND":
					text, err := strconv.Unquote(arg)
					if err != nil {
						t.Errorf("server: %q: %v", line, err)
						s.Abort()
						return struct{}{}, nil
					}
					s.Write([]byte(text))
				case "CLOSE":
					s.Close()
					return struct{}{}, nil
				case "ABORT":
					s.Abort()
					return struct{}{}, nil
				case "CLOSEWRITE":
					s.CloseWrite()
				default:
					t.Errorf("server: unknown command %q", line)
				}
			}
		})
	})
}

func streamSend(s *transport.Stream, text string) error {
	return s.Write([]byte("SEND " + strconv.Quote(text) + "\n"))
}

// streamProbe is a Stream whose test sees its events: each DataReceived
// (and the buffered bytes after it), and the PauseReading and
// ResumeReading calls it makes on its transport.
type streamProbe struct {
	*transport.Stream
	chunks, pauses, resumes int
	peak                    int          // the most bytes buffered after a DataReceived
	afterData               func([]byte) // called after each DataReceived
	dataWaiters             []deferred.Resolver[struct{}]
	pauseWaiters            []deferred.Resolver[struct{}]
}

func newStreamProbe() *streamProbe { return &streamProbe{Stream: new(transport.Stream)} }

type streamProbeTransport struct {
	transport.Transport
	p *streamProbe
}

func (t *streamProbeTransport) PauseReading() {
	t.p.pauses++
	t.Transport.PauseReading()
	streamWake(&t.p.pauseWaiters)
}

func (t *streamProbeTransport) ResumeReading() {
	t.p.resumes++
	t.Transport.ResumeReading()
}

func (p *streamProbe) ConnectionMade(t transport.Transport) {
	p.Stream.ConnectionMade(&streamProbeTransport{Transport: t, p: p})
}

func (p *streamProbe) DataReceived(b []byte) {
	p.chunks++
	p.Stream.DataReceived(b)
	p.peak = max(p.peak, p.Buffered())
	if p.afterData != nil {
		p.afterData(b)
	}
	streamWake(&p.dataWaiters)
}

// nextData resolves after the next DataReceived.
func (p *streamProbe) nextData() *deferred.Promise[struct{}] {
	pr, res := deferred.NewPromise[struct{}]()
	p.dataWaiters = append(p.dataWaiters, res)
	return pr
}

// paused resolves once the stream has paused its transport's reading.
func (p *streamProbe) paused() *deferred.Promise[struct{}] {
	if p.pauses > 0 {
		return deferred.Resolved(struct{}{})
	}
	pr, res := deferred.NewPromise[struct{}]()
	p.pauseWaiters = append(p.pauseWaiters, res)
	return pr
}

func streamWake(list *[]deferred.Resolver[struct{}]) {
	l := *list
	*list = nil
	for _, res := range l {
		res.Resolve(struct{}{})
	}
}

// nextPass resolves on a later pass of r: a coroutine that awaits it lets
// the loop run.
func streamNextPass(r *reactor.Reactor) *deferred.Promise[struct{}] {
	p, res := deferred.NewPromise[struct{}]()
	r.CallSoon(func() { res.Resolve(struct{}{}) })
	return p
}

// dialProbe connects a new probe to addr.
func streamDialProbe(co *deferred.Co, r *reactor.Reactor, addr string) (*streamProbe, error) {
	p := newStreamProbe()
	_, err := deferred.Await(co, transport.DialTCP(r, addr, p))
	return p, err
}

func streamExpectLine(co *deferred.Co, s *transport.Stream, limit int, want string) error {
	line, err := deferred.Await(co, s.ReadLine(limit))
	if err != nil {
		return fmt.Errorf("ReadLine: %w (want %q)", err, want)
	}
	if string(line) != want {
		return fmt.Errorf("ReadLine gave %q, want %q", line, want)
	}
	return nil
}

// A coroutine client writes a request and reads the reply top to bottom:
// a status line, header lines up to a blank line, and a body of the
// length a header gave. The server reads the request the same way.
func TestStreamRequestReply(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := streamReactor(t)
	addr := streamListen(t, r, func(s *transport.Stream) {
		deferred.Async(r, func(co *deferred.Co) (struct{}, error) {
			defer s.Close()
			for {
				req, err := deferred.Await(co, s.ReadLine(1024))
				if errors.Is(err, io.EOF) {
					return struct{}{}, nil
				} else if err != nil {
					return struct{}{}, err
				}
				var headers []string
				for {
					h, err := deferred.Await(co, s.ReadLine(1024))
					if err != nil {
						return struct{}{}, err
					}
					if len(h) == 0 {
						break
					}
					headers = append(headers, string(h))
				}
				body := fmt.Sprintf("you asked for %s with %d headers\n", strings.TrimPrefix(string(req), "GET "), len(headers))
				s.Write([]byte(fmt.Sprintf("200 OK\r\nLength: %d\r\nServer: loom\r\n\r\n%s", len(body), body)))
			}
		})
	})
	streamRun(t, r, func(co *deferred.Co) error {
		s, err := deferred.Await(co, transport.DialStream(r, "tcp", addr))
		if err != nil {
			return err
		}
		defer s.Close()
		for _, path := range []string{"/a", "/bb"} {
			if err := s.Write([]byte("GET " + path + "\r\nAccept: all\r\nX: y\r\n\r\n")); err != nil {
				return err
			}
			if err := streamExpectLine(co, s, 100, "200 OK"); err != nil {
				return err
			}
			length := -1
			for {
				h, err := deferred.Await(co, s.ReadLine(100))
				if err != nil {
					return err
				}
				if len(h) == 0 {
					break
				}
				if v, ok := strings.CutPrefix(string(h), "Length: "); ok {
					length, _ = strconv.Atoi(v)
				}
			}
			body, err := deferred.Await(co, s.ReadFull(length))
			if err != nil {
				return err
			}
			if want := "you asked for " + path + " with 2 headers\n"; string(body) != want {
				return fmt.Errorf("body %q, want %q", body, want)
			}
		}
		// The client half-closes; the server sees EOF and closes.
		if err := s.CloseWrite(); err != nil {
			return err
		}
		if _, err := deferred.Await(co, s.Read(10)); !errors.Is(err, io.EOF) {
			return fmt.Errorf("read after the server closed: %v, want EOF", err)
		}
		_, err = deferred.Await(co, s.WaitClosed())
		return err
	})
}

// streamDripper sends its payload one byte at a time, each only when told to
// (after the peer has read the one before), so the peer gets one byte per
// read.
type streamDripper struct {
	t       transport.Transport
	payload []byte
	sent    int
}

func (d *streamDripper) ConnectionMade(t transport.Transport) { d.t = t; d.drip() }
func (d *streamDripper) DataReceived([]byte)                  {}
func (d *streamDripper) ConnectionLost(error)                 {}

func (d *streamDripper) drip() {
	if d.sent < len(d.payload) {
		d.t.Write(d.payload[d.sent : d.sent+1])
		d.sent++
	}
}

// Bytes that arrive one per read answer ReadFull only once the last has
// come, and ReadUntil and ReadLine find delimiters split across reads. The
// read is asked for before the connection is made.
func TestStreamReadsAcrossSmallWrites(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := streamReactor(t)
	full := bytes.Repeat([]byte("0123456789"), 100)
	d := &streamDripper{payload: append(bytes.Clone(full), "HEAD\r\nX: 1\r\n\r\nline one\r\nline two\nBODY"...)}
	l, err := transport.ListenTCP(r, "127.0.0.1:0", func(net.Addr) transport.Protocol { return d })
	if err != nil {
		t.Fatal(err)
	}
	streamRun(t, r, func(co *deferred.Co) error {
		p := newStreamProbe()
		fullRead := p.ReadFull(len(full))
		var early error
		p.afterData = func(b []byte) {
			switch {
			case early != nil:
			case len(b) != 1:
				early = fmt.Errorf("a read of %d bytes, want 1", len(b))
			case p.chunks < len(full) && fullRead.Settled():
				early = fmt.Errorf("ReadFull(%d) settled after %d bytes", len(full), p.chunks)
			}
			r.CallSoon(d.drip)
		}
		chunksAtFull := -1
		fullRead.OnValue(func([]byte) { chunksAtFull = p.chunks })
		if _, err := deferred.Await(co, transport.DialTCP(r, l.Addr().String(), p)); err != nil {
			return err
		}
		got, err := deferred.Await(co, fullRead)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, full) || chunksAtFull != len(full) {
			return fmt.Errorf("ReadFull gave %d bytes (equal: %v) after %d reads, want %d bytes after as many reads",
				len(got), bytes.Equal(got, full), chunksAtFull, len(full))
		}
		head, err := deferred.Await(co, p.ReadUntil([]byte("\r\n\r\n"), 100))
		if err != nil || string(head) != "HEAD\r\nX: 1\r\n\r\n" {
			return fmt.Errorf("ReadUntil gave %q, %v", head, err)
		}
		for _, want := range []string{"line one", "line two"} {
			if err := streamExpectLine(co, p.Stream, 100, want); err != nil {
				return err
			}
		}
		body, err := deferred.Await(co, p.ReadFull(4))
		if err != nil || string(body) != "BODY" {
			return fmt.Errorf("ReadFull(4) gave %q, %v", body, err)
		}
		if early != nil {
			return early
		}
		if p.chunks != len(d.payload) {
			return fmt.Errorf("%d reads for %d bytes", p.chunks, len(d.payload))
		}
		p.Close()
		_, err = deferred.Await(co, p.WaitClosed())
		return err
	})
}

// A line longer than the limit is an error as soon as the limit is past,
// before the line has ended; its bytes stay buffered, and a read with a
// larger limit gets them.
func TestStreamLineTooLong(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := streamReactor(t)
	addr := streamCommands(t, r)
	long := strings.Repeat("a", 100)
	streamRun(t, r, func(co *deferred.Co) error {
		s, err := deferred.Await(co, transport.DialStream(r, "tcp", addr))
		if err != nil {
			return err
		}
		streamSend(s, "short\n"+long) // the long line has not ended
		if err := streamExpectLine(co, s, 16, "short"); err != nil {
			return err
		}
		_, err = deferred.Await(co, s.ReadLine(16))
		if !errors.Is(err, transport.ErrLineTooLong) || !strings.Contains(err.Error(), "longer than 16 bytes") {
			return fmt.Errorf("a 100-byte line read with a limit of 16 gave %v", err)
		}
		t.Log(err)
		if n := s.Buffered(); n < 18 {
			return fmt.Errorf("%d bytes buffered after the error, want the 18 it looked at", n)
		}
		streamSend(s, "\nafter\r\n0123456789abcEND")
		if err := streamExpectLine(co, s, 200, long); err != nil {
			return err
		}
		if err := streamExpectLine(co, s, 16, "after"); err != nil {
			return err
		}
		_, err = deferred.Await(co, s.ReadUntil([]byte("END"), 10))
		if !errors.Is(err, transport.ErrLineTooLong) || !strings.Contains(err.Error(), `no "END" within 10 bytes`) {
			return fmt.Errorf("ReadUntil with a limit of 10 gave %v", err)
		}
		got, err := deferred.Await(co, s.ReadUntil([]byte("END"), 13))
		if err != nil || string(got) != "0123456789abcEND" {
			return fmt.Errorf("ReadUntil with a limit of 13 gave %q, %v", got, err)
		}
		s.Write([]byte("CLOSE\n"))
		if _, err := deferred.Await(co, s.ReadLine(16)); !errors.Is(err, io.EOF) {
			return fmt.Errorf("ReadLine at the end gave %v, want EOF", err)
		}
		return nil
	})
}

// The end of the stream in the middle of ReadFull is an error that says
// how many bytes came and holds them; the next read gets EOF. A last line
// with no newline is in ReadLine's error.
func TestStreamEndInRead(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := streamReactor(t)
	addr := streamCommands(t, r)
	streamRun(t, r, func(co *deferred.Co) error {
		s, err := deferred.Await(co, transport.DialStream(r, "tcp", addr))
		if err != nil {
			return err
		}
		streamSend(s, "01234")
		s.Write([]byte("CLOSE\n"))
		_, err = deferred.Await(co, s.ReadFull(10))
		var ie *transport.IncompleteReadError
		if !errors.As(err, &ie) || string(ie.Partial) != "01234" || ie.Want != 10 ||
			!errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), "after 5 of 10 bytes") {
			return fmt.Errorf("ReadFull(10) of 5 bytes and the end gave %v", err)
		}
		t.Log(err)
		if _, err := deferred.Await(co, s.Read(1)); !errors.Is(err, io.EOF) {
			return fmt.Errorf("Read after the end gave %v, want EOF", err)
		}
		if _, err := deferred.Await(co, s.ReadFull(1)); !errors.Is(err, io.EOF) || errors.As(err, &ie) {
			return fmt.Errorf("ReadFull with nothing left gave %v, want EOF", err)
		}

		s2, err := deferred.Await(co, transport.DialStream(r, "tcp", addr))
		if err != nil {
			return err
		}
		streamSend(s2, "one\nlast, with no newline")
		s2.Write([]byte("CLOSE\n"))
		if err := streamExpectLine(co, s2, 0, "one"); err != nil {
			return err
		}
		_, err = deferred.Await(co, s2.ReadLine(0))
		if !errors.As(err, &ie) || string(ie.Partial) != "last, with no newline" || ie.Want != 0 || !errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("ReadLine of a last line with no newline gave %v", err)
		}
		t.Log(err)
		return nil
	})
}

// A fast sender and a coroutine that reads slowly: the stream pauses
// reading, so it never holds more than its limit plus one transport read,
// and every byte arrives.
func TestStreamPausesReading(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := streamReactor(t)
	const total, chunk = 32 << 20, 64 << 10
	data := make([]byte, total)
	rand.NewChaCha8([32]byte{7}).Read(data)
	want := sha256.Sum256(data)
	addr := streamListen(t, r, func(s *transport.Stream) {
		deferred.Async(r, func(co *deferred.Co) (struct{}, error) {
			defer s.Close()
			for off := 0; off < total; off += chunk {
				if err := s.Write(data[off : off+chunk]); err != nil {
					return struct{}{}, err
				}
				if _, err := deferred.Await(co, s.Drain()); err != nil {
					return struct{}{}, err
				}
			}
			return struct{}{}, nil
		})
	})
	streamRun(t, r, func(co *deferred.Co) error {
		p, err := streamDialProbe(co, r, addr)
		if err != nil {
			return err
		}
		bound := p.ReadLimit() + transport.ReadSize
		// Nothing is read until the stream has paused reading.
		if _, err := deferred.Await(co, p.paused()); err != nil {
			return err
		}
		h := sha256.New()
		n := 0
		for {
			b, err := deferred.Await(co, p.Read(4096))
			if errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return err
			}
			h.Write(b)
			n += len(b)
			if p.Buffered() > bound {
				return fmt.Errorf("%d bytes buffered, more than the limit and a read (%d)", p.Buffered(), bound)
			}
			if _, err := deferred.Await(co, streamNextPass(r)); err != nil { // read slowly
				return err
			}
		}
		t.Logf("%d bytes in %d reads; at most %d buffered (bound %d); reading paused %d times, resumed %d times",
			n, p.chunks, p.peak, bound, p.pauses, p.resumes)
		switch {
		case n != total || !bytes.Equal(h.Sum(nil), want[:]):
			return fmt.Errorf("got %d bytes, want %d, checksums equal: %v", n, total, bytes.Equal(h.Sum(nil), want[:]))
		case p.peak > bound:
			return fmt.Errorf("%d bytes buffered at most, more than the limit and a read (%d)", p.peak, bound)
		case p.pauses == 0 || p.resumes == 0:
			return fmt.Errorf("reading paused %d times, resumed %d times", p.pauses, p.resumes)
		}
		p.Close()
		_, err = deferred.Await(co, p.WaitClosed())
		return err
	})
}

// A writer that awaits Drain after each write waits while its peer reads
// slowly: Drain is pending once writing is paused, and resolves once the
// buffer is down to the low water mark. Every byte arrives.
func TestStreamDrain(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := streamReactor(t)
	start, startRes := deferred.NewPromise[struct{}]()
	got := sha256.New()
	gotN := 0
	var server *deferred.Promise[struct{}]
	addr := streamListen(t, r, func(s *transport.Stream) {
		server = deferred.Async(r, func(co *deferred.Co) (struct{}, error) {
			defer s.Close()
			// Nothing is read until the client's writes are paused.
			if _, err := deferred.Await(co, start); err != nil {
				return struct{}{}, err
			}
			for {
				b, err := deferred.Await(co, s.Read(16<<10))
				if errors.Is(err, io.EOF) {
					return struct{}{}, nil
				} else if err != nil {
					return struct{}{}, err
				}
				got.Write(b)
				gotN += len(b)
				if _, err := deferred.Await(co, streamNextPass(r)); err != nil { // read slowly
					return struct{}{}, err
				}
			}
		})
	})
	streamRun(t, r, func(co *deferred.Co) error {
		s, err := deferred.Await(co, transport.DialStream(r, "tcp", addr))
		if err != nil {
			return err
		}
		_, low, _ := s.Transport().WriteLimits()
		sent := sha256.New()
		chunk := make([]byte, 64<<10)
		n, waits, after := 0, 0, 0
		for after < 32 { // 2 MiB more once the writes have been paused
			if n > 256<<20 {
				return errors.New("256 MiB written and writing never paused")
			}
			for i := range chunk {
				chunk[i] = byte(n/len(chunk) + i)
			}
			if err := s.Write(chunk); err != nil {
				return err
			}
			sent.Write(chunk)
			n += len(chunk)
			if d := s.Drain(); !d.Settled() {
				if s.Transport().State()&transport.WritePaused == 0 {
					return errors.New("Drain is pending while writing is not paused")
				}
				if waits++; waits == 1 {
					startRes.Resolve(struct{}{})
				}
				if _, err := deferred.Await(co, d); err != nil {
					return err
				}
				if b := s.Transport().Buffered(); b > low || s.Transport().State()&transport.WritePaused != 0 {
					return fmt.Errorf("Drain resolved with %d bytes buffered (low water mark %d), state %v", b, low, s.Transport().State())
				}
			}
			if waits > 0 {
				after++
			}
		}
		if err := s.CloseWrite(); err != nil {
			return err
		}
		if _, err := deferred.Await(co, s.WaitClosed()); err != nil {
			return err
		}
		if _, err := deferred.Await(co, server); err != nil {
			return err
		}
		t.Logf("%d bytes written, %d Drains waited", n, waits)
		if gotN != n || !bytes.Equal(got.Sum(nil), sent.Sum(nil)) {
			return fmt.Errorf("the peer read %d bytes of %d, checksums equal: %v", gotN, n, bytes.Equal(got.Sum(nil), sent.Sum(nil)))
		}
		return nil
	})
}

// Cancelling a waiting read, or the coroutine awaiting it, takes nothing
// from the stream: the next read gets the bytes that arrived before and
// after.
func TestStreamCancelRead(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := streamReactor(t)
	addr := streamCommands(t, r)
	streamRun(t, r, func(co *deferred.Co) error {
		p, err := streamDialProbe(co, r, addr)
		if err != nil {
			return err
		}
		waitBuffered := func(n int) error {
			for p.Buffered() < n {
				if _, err := deferred.Await(co, p.nextData()); err != nil {
					return err
				}
			}
			return nil
		}
		read := p.ReadFull(10)
		streamSend(p.Stream, "01234")
		if err := waitBuffered(5); err != nil {
			return err
		}
		if read.Settled() {
			return errors.New("ReadFull(10) settled with 5 bytes")
		}
		read.Cancel()
		if _, err := deferred.Await(co, read); !errors.Is(err, deferred.ErrCancelled) {
			return fmt.Errorf("the cancelled read gave %v", err)
		}
		if p.Buffered() != 5 {
			return fmt.Errorf("%d bytes buffered after the cancel, want 5", p.Buffered())
		}
		streamSend(p.Stream, "56789")
		if b, err := deferred.Await(co, p.ReadFull(10)); err != nil || string(b) != "0123456789" {
			return fmt.Errorf("the read after the cancel gave %q, %v", b, err)
		}

		waiting := false
		inner := deferred.Async(r, func(co *deferred.Co) ([]byte, error) {
			waiting = true
			_, err := deferred.Await(co, p.ReadFull(10))
			if !errors.Is(err, deferred.ErrCancelled) {
				return nil, fmt.Errorf("the read of the cancelled coroutine gave %v", err)
			}
			return deferred.Await(co, p.ReadFull(10)) // the coroutine reads on
		})
		streamSend(p.Stream, "abcde")
		for !waiting || p.Buffered() < 5 {
			if _, err := deferred.Await(co, streamNextPass(r)); err != nil {
				return err
			}
		}
		inner.Cancel()
		streamSend(p.Stream, "fghij")
		if b, err := deferred.Await(co, inner); err != nil || string(b) != "abcdefghij" {
			return fmt.Errorf("the cancelled coroutine's next read gave %q, %v", b, err)
		}
		return nil
	})
}

// A read asked for while another waits is rejected with ErrReadPending,
// whether in the same coroutine or another, and the waiting read is not
// disturbed.
func TestStreamConcurrentReads(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := streamReactor(t)
	addr := streamCommands(t, r)
	streamRun(t, r, func(co *deferred.Co) error {
		s, err := deferred.Await(co, transport.DialStream(r, "tcp", addr))
		if err != nil {
			return err
		}
		first := deferred.Async(r, func(co *deferred.Co) ([]byte, error) { return deferred.Await(co, s.ReadLine(0)) })
		second := deferred.Async(r, func(co *deferred.Co) ([]byte, error) { return deferred.Await(co, s.Read(10)) })
		if _, err := deferred.Await(co, second); !errors.Is(err, transport.ErrReadPending) {
			return fmt.Errorf("a second coroutine's read gave %v, want ErrReadPending", err)
		}
		if p := s.ReadFull(1); !p.Settled() {
			return errors.New("a third read waits")
		} else if _, err := deferred.Await(co, p); !errors.Is(err, transport.ErrReadPending) {
			return fmt.Errorf("a third read gave %v, want ErrReadPending", err)
		}
		streamSend(s, "line\nmore")
		if b, err := deferred.Await(co, first); err != nil || string(b) != "line" {
			return fmt.Errorf("the waiting read gave %q, %v", b, err)
		}
		if b, err := deferred.Await(co, s.ReadFull(4)); err != nil || string(b) != "more" {
			return fmt.Errorf("the next read gave %q, %v", b, err)
		}
		return nil
	})
}

// A connection lost with an error fails the waiting read with it (a reset
// from the peer, an abort here); bytes buffered before are read first, and
// Drain and WaitClosed report the error.
func TestStreamConnectionLost(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := streamReactor(t)
	addr := streamCommands(t, r)
	streamRun(t, r, func(co *deferred.Co) error {
		s, err := deferred.Await(co, transport.DialStream(r, "tcp", addr))
		if err != nil {
			return err
		}
		read := s.ReadLine(0)
		s.Write([]byte("ABORT\n"))
		if _, err := deferred.Await(co, read); !errors.Is(err, transport.ErrReset) {
			return fmt.Errorf("the read waiting when the peer reset gave %v, want ErrReset", err)
		}

		p, err := streamDialProbe(co, r, addr)
		if err != nil {
			return err
		}
		streamSend(p.Stream, "01234")
		for p.Buffered() < 5 {
			if _, err := deferred.Await(co, p.nextData()); err != nil {
				return err
			}
		}
		p.Abort()
		if b, err := deferred.Await(co, p.ReadFull(3)); err != nil || string(b) != "012" {
			return fmt.Errorf("reading buffered bytes after Abort gave %q, %v", b, err)
		}
		_, err = deferred.Await(co, p.ReadFull(10))
		var ie *transport.IncompleteReadError
		if !errors.As(err, &ie) || string(ie.Partial) != "34" || !errors.Is(err, transport.ErrAborted) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("ReadFull past the buffered bytes after Abort gave %v", err)
		}
		if _, err := deferred.Await(co, p.Read(1)); !errors.Is(err, transport.ErrAborted) {
			return fmt.Errorf("Read after Abort gave %v, want ErrAborted", err)
		}
		if _, err := deferred.Await(co, p.Drain()); !errors.Is(err, transport.ErrAborted) {
			return fmt.Errorf("Drain after Abort gave %v, want ErrAborted", err)
		}
		if _, err := deferred.Await(co, p.WaitClosed()); !errors.Is(err, transport.ErrAborted) {
			return fmt.Errorf("WaitClosed after Abort gave %v, want ErrAborted", err)
		}
		if err := p.Write([]byte("x")); !errors.Is(err, transport.ErrClosed) {
			return fmt.Errorf("Write after Abort gave %v, want ErrClosed", err)
		}
		return nil
	})
}

// The factory's serve, the reads' observers and the coroutine bodies all
// run on the reactor goroutine (a coroutine's body on its goroutine while
// the loop waits for it), with the reactor checking its own calls.
func TestStreamOnLoopGoroutine(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := streamReactor(t, reactor.WithDebug())
	loopG := stack.Goid() // Run runs on this goroutine
	var off []string
	onLoop := func(where string) {
		if stack.Goid() != loopG {
			off = append(off, where)
		}
	}
	inBody := func(where string) {
		if _, coro := stack.CgoCallbacks(); !coro {
			off = append(off, where)
		}
		r.CallSoon(func() {}) // panics, in debug mode, off the loop
	}
	addr := streamListen(t, r, func(s *transport.Stream) {
		onLoop("serve")
		deferred.Async(r, func(co *deferred.Co) (struct{}, error) {
			defer s.Close()
			inBody("server body")
			for {
				line, err := deferred.Await(co, s.ReadLine(0))
				inBody("server body after a read")
				if err != nil {
					return struct{}{}, nil
				}
				s.Write(append(line, '\n'))
				if _, err := deferred.Await(co, s.Drain()); err != nil {
					return struct{}{}, err
				}
			}
		})
	})
	streamRun(t, r, func(co *deferred.Co) error {
		inBody("client body")
		dial := transport.DialStream(r, "tcp", addr)
		dial.OnValue(func(*transport.Stream) { onLoop("dial observer") })
		s, err := deferred.Await(co, dial)
		if err != nil {
			return err
		}
		inBody("client body after the dial")
		for i := range 3 {
			read := s.ReadLine(0)
			read.OnValue(func([]byte) { onLoop("read observer") })
			s.Write([]byte("ping " + strconv.Itoa(i) + "\n"))
			if err := func() error {
				b, err := deferred.Await(co, read)
				if err == nil && string(b) != "ping "+strconv.Itoa(i) {
					err = fmt.Errorf("echo %q", b)
				}
				return err
			}(); err != nil {
				return err
			}
			inBody("client body after a read")
		}
		s.Close()
		closed := s.WaitClosed()
		closed.OnValue(func(struct{}) { onLoop("WaitClosed observer") })
		_, err = deferred.Await(co, closed)
		inBody("client body at the end")
		return err
	})
	if len(off) > 0 {
		t.Errorf("off the loop: %v", off)
	}
}

// A stream works over any Transport: here one end of net.Pipe behind
// FromNetConn, whose other end a goroutine writes 1 MiB of lines to, in
// writes of every size, while a coroutine reads them slowly; the stream's
// buffer stays within its bound, and the coroutine's reply gets back.
func TestStreamOverNetConn(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := streamReactor(t)
	ours, theirs := net.Pipe()
	var input []byte
	for i := 0; len(input) < 1<<20; i++ {
		input = fmt.Appendf(input, "line %d\n", i)
	}
	input = append(input, "END\n"...)
	lines := bytes.Count(input, []byte("\n")) - 1
	peer := make(chan error, 1)
	go func() {
		defer theirs.Close()
		rng := rand.New(rand.NewPCG(3, 4))
		for rest := input; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(40000))
			if _, err := theirs.Write(rest[:n]); err != nil {
				peer <- err
				return
			}
			rest = rest[n:]
		}
		reply, err := io.ReadAll(theirs)
		if err == nil && string(reply) != fmt.Sprintf("%d lines\n", lines) {
			err = fmt.Errorf("the reply was %q", reply)
		}
		peer <- err
	}()
	streamRun(t, r, func(co *deferred.Co) error {
		p := newStreamProbe()
		if _, err := transport.FromNetConn(r, ours, p); err != nil {
			return err
		}
		bound := p.ReadLimit() + transport.ReadSize
		for i := 0; ; i++ {
			line, err := deferred.Await(co, p.ReadLine(100))
			if err != nil {
				return err
			}
			if string(line) == "END" {
				if i != lines {
					return fmt.Errorf("END after %d lines, want %d", i, lines)
				}
				break
			}
			if want := fmt.Sprintf("line %d", i); string(line) != want {
				return fmt.Errorf("line %q, want %q", line, want)
			}
			if i%64 == 0 {
				if _, err := deferred.Await(co, streamNextPass(r)); err != nil { // read slowly
					return err
				}
			}
		}
		t.Logf("%d lines in %d reads; at most %d bytes buffered (bound %d); reading paused %d times",
			lines, p.chunks, p.peak, bound, p.pauses)
		if p.peak > bound {
			return fmt.Errorf("%d bytes buffered at most, more than the limit and a read (%d)", p.peak, bound)
		}
		p.Write(fmt.Appendf(nil, "%d lines\n", lines))
		p.Close()
		if _, err := deferred.Await(co, p.WaitClosed()); err != nil {
			return err
		}
		return nil
	})
	if err := <-peer; err != nil {
		t.Fatal(err)
	}
}

// streamFakeTransport records what a stream does to its transport.
type streamFakeTransport struct {
	transport.Transport // nil: the methods a Stream does not call
	paused              bool
	pauses, resumes     int
	written             bytes.Buffer
}

func (f *streamFakeTransport) PauseReading()             { f.paused = true; f.pauses++ }
func (f *streamFakeTransport) ResumeReading()            { f.paused = false; f.resumes++ }
func (f *streamFakeTransport) Write(b []byte) error      { f.written.Write(b); return nil }
func (f *streamFakeTransport) Reactor() *reactor.Reactor { return nil }

// settled returns the result of a settled promise.
func streamSettled[T any](t testing.TB, p *deferred.Promise[T]) (T, error) {
	t.Helper()
	var v T
	var err error
	if !p.Settled() {
		t.Fatal("the promise is pending")
	}
	p.OnValue(func(x T) { v = x })
	p.OnError(func(e error) { err = e })
	return v, err
}

// The stream pauses reading when it holds its limit, or what a waiting
// read needs if that is more, and resumes at half the limit or when a
// waiting read needs more bytes.
func TestStreamFlowControl(t *testing.T) {
	s := new(transport.Stream)
	s.SetReadLimit(100)
	f := &streamFakeTransport{}
	s.ConnectionMade(f)
	step := func(what string, wantBuffered int, wantPaused bool) {
		t.Helper()
		if s.Buffered() != wantBuffered || f.paused != wantPaused {
			t.Fatalf("%s: %d bytes buffered, paused %v; want %d, %v", what, s.Buffered(), f.paused, wantBuffered, wantPaused)
		}
	}
	s.DataReceived(make([]byte, 60))
	step("60 bytes in", 60, false)
	s.DataReceived(make([]byte, 60))
	step("120 bytes in", 120, true)
	streamSettled(t, s.Read(30))
	step("30 read", 90, true)
	streamSettled(t, s.Read(40))
	step("40 more read", 50, false)
	s.DataReceived(make([]byte, 60))
	step("60 more in", 110, true)

	big := s.ReadFull(300)
	step("ReadFull(300) waits", 110, false)
	s.DataReceived(make([]byte, 150))
	step("150 more in", 260, false)
	s.DataReceived(bytes.Repeat([]byte{1}, 100))
	if b, err := streamSettled(t, big); err != nil || len(b) != 300 {
		t.Fatalf("ReadFull(300) gave %d bytes, %v", len(b), err)
	}
	step("ReadFull(300) answered", 60, false)

	big = s.ReadFull(500)
	s.DataReceived(make([]byte, 200))
	step("ReadFull(500) waits", 260, false)
	big.Cancel()
	step("ReadFull(500) cancelled", 260, true)
	s.SetReadLimit(400)
	step("the limit raised to 400", 260, true) // not down to half of it, and nothing waits
	line := s.ReadLine(0)                      // the limit is 400
	step("ReadLine waits", 260, false)
	s.DataReceived([]byte("\n"))
	if b, err := streamSettled(t, line); err != nil || len(b) != 260 {
		t.Fatalf("ReadLine gave %d bytes, %v", len(b), err)
	}
	step("the line read", 0, false)
	if f.pauses != 3 || f.resumes != 3 {
		t.Errorf("%d pauses, %d resumes; want 3 of each", f.pauses, f.resumes)
	}
}

// A read is answered from the buffer at once, without waiting, and an
// observer of a read may start the next one. Zero-byte and bad reads.
func TestStreamReadsAtOnce(t *testing.T) {
	s := new(transport.Stream)
	s.ConnectionMade(&streamFakeTransport{})
	s.DataReceived([]byte("one\r\ntwo\nthree"))
	var lines []string
	var next func([]byte)
	next = func(b []byte) {
		lines = append(lines, string(b))
		s.ReadLine(0).OnValue(next)
	}
	s.ReadLine(0).OnValue(next)
	if strings.Join(lines, ",") != "one,two" {
		t.Fatalf("lines %q", lines)
	}
	s.DataReceived([]byte("\nfour\n"))
	if strings.Join(lines, ",") != "one,two,three,four" {
		t.Fatalf("lines %q", lines)
	}
	if b, err := streamSettled(t, s.Read(0)); !errors.Is(err, transport.ErrReadPending) {
		t.Errorf("Read(0) while a ReadLine waits gave %q, %v; want ErrReadPending", b, err)
	}

	f := &streamFakeTransport{}
	s = new(transport.Stream)
	s.ConnectionMade(f)
	if err := s.Write([]byte("to the transport")); err != nil || f.written.String() != "to the transport" {
		t.Errorf("Write gave %v, the transport got %q", err, f.written.String())
	}
	if b, err := streamSettled(t, s.Read(0)); err != nil || len(b) != 0 {
		t.Errorf("Read(0) gave %q, %v", b, err)
	}
	if b, err := streamSettled(t, s.ReadFull(0)); err != nil || len(b) != 0 {
		t.Errorf("ReadFull(0) gave %q, %v", b, err)
	}
	for name, p := range map[string]*deferred.Promise[[]byte]{
		"Read(-1)":        s.Read(-1),
		"ReadFull(-1)":    s.ReadFull(-1),
		"ReadUntil(\"\")": s.ReadUntil(nil, 10),
	} {
		if _, err := streamSettled(t, p); err == nil {
			t.Errorf("%s did not fail", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	if err := new(transport.Stream).Write([]byte("x")); err == nil {
		t.Error("Write before the connection is made did not fail")
	}
	s.DataReceived([]byte("abc"))
	if b, err := streamSettled(t, s.Read(10)); err != nil || string(b) != "abc" {
		t.Errorf("Read(10) of 3 bytes gave %q, %v", b, err)
	}
	s.ConnectionLost(nil)
	if _, err := streamSettled(t, s.Read(10)); !errors.Is(err, io.EOF) {
		t.Errorf("Read after a clean end gave %v, want EOF", err)
	}
	if _, err := streamSettled(t, s.Drain()); err != nil {
		t.Errorf("Drain after a clean end gave %v", err)
	}
}

// Drains wait between PauseWriting and ResumeWriting, a cancelled one
// drops out, and those waiting when the connection is lost, and
// WaitClosed, get its error, or resolve after a clean close.
func TestStreamWaitersSettle(t *testing.T) {
	for _, lost := range []error{nil, transport.ErrReset} {
		s := new(transport.Stream)
		s.ConnectionMade(&streamFakeTransport{})
		s.PauseWriting()
		first, cancelled, closed := s.Drain(), s.Drain(), s.WaitClosed()
		if first.Settled() || cancelled.Settled() || closed.Settled() {
			t.Fatal("a Drain or WaitClosed settled while writing is paused")
		}
		cancelled.Cancel()
		if _, err := streamSettled(t, cancelled); !errors.Is(err, deferred.ErrCancelled) {
			t.Errorf("the cancelled Drain gave %v", err)
		}
		s.ResumeWriting()
		if _, err := streamSettled(t, first); err != nil {
			t.Errorf("Drain after ResumeWriting gave %v", err)
		}
		s.PauseWriting()
		second := s.Drain()
		s.ConnectionLost(lost)
		for name, p := range map[string]*deferred.Promise[struct{}]{"the waiting Drain": second, "WaitClosed": closed, "a later Drain": s.Drain(), "a later WaitClosed": s.WaitClosed()} {
			if _, err := streamSettled(t, p); !errors.Is(err, lost) || (lost == nil) != (err == nil) {
				t.Errorf("lost with %v: %s gave %v", lost, name, err)
			}
		}
	}
}

// Lines split every way come out the same, the delimiter straddling any
// split, and the last line without its newline is in the error.
func TestStreamSplits(t *testing.T) {
	input := []byte("alpha\r\nbeta\n\ngamma--delta----epsilon\r\r\nzeta")
	wantLines := []string{"alpha", "beta", "", "gamma--delta----epsilon\r"}
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		s := new(transport.Stream)
		s.ConnectionMade(&streamFakeTransport{})
		var lines []string
		var end error
		var next func([]byte)
		next = func(b []byte) {
			lines = append(lines, string(b))
			p := s.ReadLine(30)
			p.OnValue(next)
			p.OnError(func(err error) { end = err })
		}
		p := s.ReadLine(30)
		p.OnValue(next)
		p.OnError(func(err error) { end = err })
		for rest := input; len(rest) > 0; {
			n := 1
			if trial > 0 {
				n = 1 + rng.IntN(min(len(rest), 12))
			}
			s.DataReceived(rest[:n])
			rest = rest[n:]
		}
		s.ConnectionLost(nil)
		var ie *transport.IncompleteReadError
		if strings.Join(lines, "|") != strings.Join(wantLines, "|") || !errors.As(end, &ie) || string(ie.Partial) != "zeta" {
			t.Fatalf("trial %d: lines %q, end %v", trial, lines, end)
		}
	}
	// A two-byte delimiter split between reads, byte by byte.
	s := new(transport.Stream)
	s.ConnectionMade(&streamFakeTransport{})
	var parts []string
	var next func([]byte)
	next = func(b []byte) {
		parts = append(parts, string(b))
		s.ReadUntil([]byte("--"), 30).OnValue(next)
	}
	s.ReadUntil([]byte("--"), 30).OnValue(next)
	for i := range input {
		s.DataReceived(input[i : i+1])
	}
	if want := []string{"alpha\r\nbeta\n\ngamma--", "delta--", "--"}; strings.Join(parts, "|") != strings.Join(want, "|") {
		t.Errorf("ReadUntil(\"--\") byte by byte gave %q, want %q", parts, want)
	}
}

// FuzzStreamReadUntil reads data, split at random, with ReadUntil or
// ReadLine chained from each read's observer, and checks what comes out
// against a plain search of the whole data.
func FuzzStreamReadUntil(f *testing.F) {
	f.Add([]byte("a--b----c-"), []byte("--"), uint64(1), uint8(4), false)
	f.Add([]byte("one\r\ntwo\n\nthree\r\r\nfour"), []byte("\n"), uint64(2), uint8(5), true)
	f.Add([]byte("xxxxxxxxxxxxxxxxxxxx\n"), []byte("\n"), uint64(3), uint8(3), true)
	f.Add([]byte("abcabcabd"), []byte("abd"), uint64(4), uint8(6), false)
	f.Fuzz(func(t *testing.T, data, delim []byte, seed uint64, limit8 uint8, line bool) {
		if line {
			delim = []byte("\n")
		}
		if len(delim) == 0 || len(delim) > 8 {
			return
		}
		limit := int(limit8%64) + 1
		// What a plain search of the whole data gives.
		var want []string
		var wantErr error
		rest := data
		for {
			i := bytes.Index(rest, delim)
			if line {
				window := limit + 2
				if i >= 0 && i < window {
					end := i
					if i > 0 && rest[i-1] == '\r' {
						end--
					}
					if end <= limit {
						want = append(want, string(rest[:end]))
						rest = rest[i+1:]
						continue
					}
					wantErr = transport.ErrLineTooLong
				} else if len(rest) >= window {
					wantErr = transport.ErrLineTooLong
				}
			} else {
				window := limit + len(delim)
				if i >= 0 && i+len(delim) <= window {
					want = append(want, string(rest[:i+len(delim)]))
					rest = rest[i+len(delim):]
					continue
				}
				if len(rest) >= window {
					wantErr = transport.ErrLineTooLong
				}
			}
			if wantErr == nil {
				wantErr = io.ErrUnexpectedEOF
				if len(rest) == 0 {
					wantErr = io.EOF
				}
			}
			break
		}

		s := new(transport.Stream)
		s.ConnectionMade(&streamFakeTransport{})
		var got []string
		var gotErr error
		read := func() *deferred.Promise[[]byte] {
			if line {
				return s.ReadLine(limit)
			}
			return s.ReadUntil(delim, limit)
		}
		var next func([]byte)
		onErr := func(err error) { gotErr = err }
		next = func(b []byte) {
			got = append(got, string(b))
			p := read()
			p.OnValue(next)
			p.OnError(onErr)
		}
		p := read()
		p.OnValue(next)
		p.OnError(onErr)
		rng := rand.New(rand.NewPCG(seed, 0))
		for in := data; len(in) > 0; {
			n := 1 + rng.IntN(min(len(in), 9))
			s.DataReceived(in[:n])
			in = in[n:]
		}
		s.ConnectionLost(nil)
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") || !errors.Is(gotErr, wantErr) {
			t.Fatalf("got %q, %v; want %q, %v", got, gotErr, want, wantErr)
		}
		var ie *transport.IncompleteReadError
		switch {
		case errors.Is(wantErr, transport.ErrLineTooLong) && s.Buffered() != len(rest):
			t.Fatalf("%d bytes left after ErrLineTooLong, want %d", s.Buffered(), len(rest))
		case errors.Is(wantErr, io.ErrUnexpectedEOF) && (!errors.As(gotErr, &ie) || string(ie.Partial) != string(rest)):
			t.Fatalf("partial %q, want %q", ie.Partial, rest)
		}
	})
}

// A read answered from the buffer costs two allocations, its promise and
// its bytes, and one that waits for bytes split into many pieces no more.
func TestStreamReadAllocs(t *testing.T) {
	s := new(transport.Stream)
	s.ConnectionMade(&streamFakeTransport{})
	chunk := bytes.Repeat([]byte("a line of text\n"), 4096)
	s.DataReceived(chunk)
	onLine := func([]byte) {}
	if a := testing.AllocsPerRun(1000, func() { s.ReadLine(0).OnValue(onLine) }); a > 2 {
		t.Errorf("ReadLine from the buffer: %v allocations, want 2", a)
	}
	if a := testing.AllocsPerRun(1000, func() { s.ReadFull(7).OnValue(onLine) }); a > 2 {
		t.Errorf("ReadFull from the buffer: %v allocations, want 2", a)
	}
	for s.Buffered() > 0 {
		s.Read(1 << 20)
	}
	line := append(bytes.Repeat([]byte("x"), 1000), '\n')
	if a := testing.AllocsPerRun(100, func() {
		s.ReadLine(0).OnValue(onLine)
		for i := range line {
			s.DataReceived(line[i : i+1])
		}
	}); a > 2 {
		t.Errorf("ReadLine of a line in 1001 pieces: %v allocations, want 2", a)
	}
}

// BenchmarkStreamReadLine reads 64-byte lines that arrive in 64 KiB
// chunks, each read answered from the buffer.
func BenchmarkStreamReadLine(b *testing.B) {
	chunk := bytes.Repeat(append(bytes.Repeat([]byte("x"), 63), '\n'), 1024)
	s := new(transport.Stream)
	s.ConnectionMade(&streamFakeTransport{})
	lines := 0
	onLine := func([]byte) { lines++ }
	b.SetBytes(64)
	b.ReportAllocs()
	for b.Loop() {
		if s.Buffered() == 0 {
			s.DataReceived(chunk)
		}
		s.ReadLine(0).OnValue(onLine)
	}
	if lines == 0 {
		b.Fatal("no line read")
	}
}

// BenchmarkStreamReadLineSplit reads lines of growing length that arrive
// in 64-byte pieces while the read waits: the time per byte stays the
// same, since no byte is searched twice.
func BenchmarkStreamReadLineSplit(b *testing.B) {
	for _, size := range []int{1 << 10, 16 << 10, 256 << 10} {
		b.Run(fmt.Sprintf("line=%dKiB", size>>10), func(b *testing.B) {
			line := append(bytes.Repeat([]byte("x"), size-1), '\n')
			s := new(transport.Stream)
			s.SetReadLimit(size)
			s.ConnectionMade(&streamFakeTransport{})
			lines := 0
			onLine := func([]byte) { lines++ }
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				s.ReadLine(size).OnValue(onLine)
				for off := 0; off < size; off += 64 {
					s.DataReceived(line[off:min(off+64, size)])
				}
			}
			if lines == 0 {
				b.Fatal("no line read")
			}
		})
	}
}

// BenchmarkStreamReadLineTCP reads 64-byte lines in a coroutine from a
// loom server on 127.0.0.1 that writes them as fast as Drain lets it.
func BenchmarkStreamReadLineTCP(b *testing.B) {
	r := streamReactor(b)
	batch := bytes.Repeat(append(bytes.Repeat([]byte("x"), 63), '\n'), 256)
	addr := streamListen(b, r, func(s *transport.Stream) {
		deferred.Async(r, func(co *deferred.Co) (struct{}, error) {
			for s.Write(batch) == nil {
				if _, err := deferred.Await(co, s.Drain()); err != nil {
					break
				}
			}
			s.Abort()
			return struct{}{}, nil
		})
	})
	b.SetBytes(64)
	b.ReportAllocs()
	streamRun(b, r, func(co *deferred.Co) error {
		s, err := deferred.Await(co, transport.DialStream(r, "tcp", addr))
		if err != nil {
			return err
		}
		defer s.Abort()
		b.ResetTimer()
		for range b.N {
			if _, err := deferred.Await(co, s.ReadLine(0)); err != nil {
				return err
			}
		}
		b.StopTimer()
		return nil
	})
}
