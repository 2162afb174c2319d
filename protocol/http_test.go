package protocol_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/protocol"
	"github.com/loomkit/loom/protocol/protocoltest"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/transport"
)

// TestHTTPConformance runs protocoltest's cases under every backend of
// the reactor, in debug mode, which panics on a loop-only call made from
// another goroutine.
func TestHTTPConformance(t *testing.T) {
	for _, name := range reactor.Backends() {
		t.Run(name, func(t *testing.T) {
			protocoltest.RunHTTP(t, htNewLoop(name))
		})
	}
}

// htLimit bounds one loop run of a test.
const htLimit = 60 * time.Second

func htNewLoop(backend string) reactortest.NewLoop {
	plain := reactortest.Plain(backend)
	return func(t *testing.T, opts ...reactor.Option) reactortest.Loop {
		return plain(t, append([]reactor.Option{reactor.WithDebug(), reactor.WithoutSignalHandlers()}, opts...)...)
	}
}

// htLoop makes a loop on the default backend, closed when t ends, and a
// guard of its goroutine.
func htLoop(t *testing.T) (reactortest.Loop, *reactor.Reactor, *protocoltest.Guard) {
	l := htNewLoop(reactor.Backends()[0])(t)
	return l, l.Reactor(), protocoltest.NewGuard(t, l.Reactor())
}

// htServe starts a plain server for h, closed when t ends, and a client
// of its own transport, whose idle connections are closed then too.
func htServe(t *testing.T, h http.HandlerFunc) (*httptest.Server, *protocol.Client) {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, &protocol.Client{HTTP: srv.Client()}
}

// htPayloadHandler answers with body and its length.
func htPayloadHandler(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	}
}

// htTransfers records Download events on the loop.
type htTransfers struct {
	g  *protocoltest.Guard
	ev []protocol.Transfer
}

func (h *htTransfers) add(t protocol.Transfer) {
	h.g.Check("Download event")
	h.ev = append(h.ev, t)
}

func (h *htTransfers) last() protocol.Transfer {
	if len(h.ev) == 0 {
		return protocol.Transfer{Done: -1}
	}
	return h.ev[len(h.ev)-1]
}

// A body that takes about a second, in a thousand small writes, gets
// about 30 progress events a second, never more, and a final one with
// every byte; Done rises and Total is the length announced.
func TestHTTPGetProgressThrottled(t *testing.T) {
	reactortest.CheckLeaks(t)
	const writes, size = 1000, 1024
	srv, c := htServe(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(writes*size))
		chunk := protocoltest.Payload(size)
		fl := w.(http.Flusher)
		end := time.Now().Add(time.Second)
		for i := range writes {
			w.Write(chunk)
			fl.Flush()
			// Spread the writes over a second, whatever the timer's grain.
			if d := time.Until(end.Add(-time.Duration(writes-1-i) * time.Second / writes)); d > 0 {
				time.Sleep(d)
			}
		}
	})
	l, r, g := htLoop(t)
	tr := &htTransfers{g: g}
	var counts int
	var body []byte
	var err error
	r.CallSoon(func() {
		c.Get(r, srv.URL).OnValue(func(resp *protocol.Response) {
			p := resp.Bytes()
			deferred.On(p, protocol.Download, tr.add)
			deferred.On(p, deferred.Progress, func(deferred.Count) { counts++ })
			p.OnValue(func(b []byte) { g.Check("OnValue"); body = b; r.Stop() })
			p.OnError(func(e error) { err = e; r.Stop() })
		})
	})
	reactortest.RunFor(t, l, htLimit)
	if err != nil {
		t.Fatal(err)
	}
	if len(body) != writes*size {
		t.Fatalf("got %d bytes, want %d", len(body), writes*size)
	}
	final := tr.last()
	secs := final.Elapsed.Seconds()
	t.Logf("%d events in %.2fs", len(tr.ev), secs)
	if max := int(30*secs) + 2; len(tr.ev) > max {
		t.Errorf("%d progress events in %.2fs: more than %d", len(tr.ev), secs, max)
	}
	if len(tr.ev) < 5 {
		t.Errorf("%d progress events in %.2fs: the transfer was not reported as it went", len(tr.ev), secs)
	}
	if counts != len(tr.ev) {
		t.Errorf("%d deferred.Progress events, %d Download events", counts, len(tr.ev))
	}
	var prev int64
	for i, e := range tr.ev {
		if e.Done < prev || e.Total != writes*size {
			t.Errorf("event %d: %+v after %d", i, e, prev)
		}
		prev = e.Done
	}
	if final.Done != writes*size {
		t.Errorf("the final event has %d bytes, want %d", final.Done, writes*size)
	}
	if final.Rate < 100<<10 || final.Rate > 100<<20 {
		t.Errorf("the final rate is %.0f B/s for about 1 MB/s", final.Rate)
	}
}

// A 404 is a response: its status and body are there to read.
func TestHTTPGetNotFoundIsAResponse(t *testing.T) {
	reactortest.CheckLeaks(t)
	srv, c := htServe(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such page", http.StatusNotFound)
	})
	l, r, g := htLoop(t)
	var status int
	var body string
	r.CallSoon(func() {
		p := c.Get(r, srv.URL+"/missing")
		p.OnError(func(err error) { t.Errorf("Get: %v", err); r.Stop() })
		p.OnValue(func(resp *protocol.Response) {
			g.Check("OnValue")
			status = resp.StatusCode
			bp := resp.Bytes()
			bp.OnValue(func(b []byte) { body = string(b); r.Stop() })
			bp.OnError(func(err error) { t.Errorf("Bytes: %v", err); r.Stop() })
		})
	})
	reactortest.RunFor(t, l, htLimit)
	if status != http.StatusNotFound || body != "no such page\n" {
		t.Errorf("status %d, body %q; want 404, the error page", status, body)
	}
}

// A redirect is followed: the response is the last one's, and says
// where it came from.
func TestHTTPGetFollowsRedirects(t *testing.T) {
	reactortest.CheckLeaks(t)
	srv, c := htServe(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/old":
			http.Redirect(w, r, "/older", http.StatusFound)
		case "/older":
			http.Redirect(w, r, "/new", http.StatusMovedPermanently)
		default:
			io.WriteString(w, "here: "+r.URL.Path)
		}
	})
	l, r, g := htLoop(t)
	var doc *protocol.Document
	r.CallSoon(func() {
		p := c.Fetch(r, srv.URL+"/old")
		p.OnValue(func(d *protocol.Document) { g.Check("OnValue"); doc = d; r.Stop() })
		p.OnError(func(err error) { t.Error(err); r.Stop() })
	})
	reactortest.RunFor(t, l, htLimit)
	if doc == nil {
		t.Fatal("no document")
	}
	if doc.StatusCode != 200 || string(doc.Body) != "here: /new" || doc.Request.URL.Path != "/new" {
		t.Errorf("status %d, body %q, from %s; want 200 from /new", doc.StatusCode, doc.Body, doc.Request.URL)
	}
}

// The zero Client verifies certificates: a server that is not trusted
// is an error that says why, and no response.
func TestHTTPGetTLSVerifies(t *testing.T) {
	reactortest.CheckLeaks(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("a request reached the server")
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake error it sees
	srv.StartTLS()
	t.Cleanup(srv.Close)
	t.Cleanup(http.DefaultTransport.(*http.Transport).CloseIdleConnections)
	l, r, g := htLoop(t)
	var err error
	var phaseErr error
	r.CallSoon(func() {
		p := protocol.Get(r, srv.URL)
		deferred.On(p, protocol.Phases, func(ph protocol.PhaseReport) {
			if ph.Phase == protocol.PhaseTLSDone {
				phaseErr = ph.Err
			}
		})
		p.OnValue(func(resp *protocol.Response) { t.Error("a response came"); resp.Discard(); r.Stop() })
		p.OnError(func(e error) { g.Check("OnError"); err = e; r.Stop() })
	})
	reactortest.RunFor(t, l, htLimit)
	var cve *tls.CertificateVerificationError
	if !errors.As(err, &cve) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("Get from an untrusted server: %v, want a certificate verification error", err)
	}
	if !errors.As(phaseErr, &cve) {
		t.Errorf("the tls-done phase carries %v, want the verification error", phaseErr)
	}
}

// A gzip-encoded response, which net/http decompresses, has no known
// total: every event says -1, and the final one counts the decompressed
// bytes.
func TestHTTPGetGzipTotalUnknown(t *testing.T) {
	reactortest.CheckLeaks(t)
	plain := bytes.Repeat([]byte("the same line, again and again\n"), 20000)
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestSpeed)
	zw.Write(plain)
	zw.Close()
	srv, c := htServe(t, func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			t.Errorf("Accept-Encoding %q", r.Header.Get("Accept-Encoding"))
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Length", strconv.Itoa(z.Len()))
		w.Write(z.Bytes())
	})
	l, r, g := htLoop(t)
	tr := &htTransfers{g: g}
	var doc *protocol.Document
	r.CallSoon(func() {
		p := c.Fetch(r, srv.URL)
		deferred.On(p, protocol.Download, tr.add)
		p.OnValue(func(d *protocol.Document) { doc = d; r.Stop() })
		p.OnError(func(err error) { t.Error(err); r.Stop() })
	})
	reactortest.RunFor(t, l, htLimit)
	if doc == nil || !bytes.Equal(doc.Body, plain) || !doc.Uncompressed {
		t.Fatalf("the document is not the decompressed text")
	}
	for i, e := range tr.ev {
		if e.Total != -1 || e.Known() || e.Fraction() != 0 {
			t.Errorf("event %d: %+v, want an unknown total", i, e)
		}
	}
	if got := tr.last().Done; got != int64(len(plain)) {
		t.Errorf("the final event has %d bytes, want %d", got, len(plain))
	}
}

// htPaused is a protocol that pauses as soon as it is made.
type htPaused struct {
	g    *protocoltest.Guard
	tr   transport.Transport
	got  atomic.Int64
	lost chan error
}

func (p *htPaused) ConnectionMade(tr transport.Transport) {
	p.g.Check("ConnectionMade")
	p.tr = tr
	tr.PauseReading()
}
func (p *htPaused) DataReceived(b []byte) { p.g.Check("DataReceived"); p.got.Add(int64(len(b))) }
func (p *htPaused) ConnectionLost(err error) {
	p.g.Check("ConnectionLost")
	p.lost <- err
}

// A 100 MiB body streamed to a consumer that pauses stops where the
// window is full: the goroutine reads no more than BodyWindow, the
// server's writes stall, and the heap does not grow by 1 MiB. Resumed,
// every byte arrives.
func TestHTTPStreamPausedHoldsLittle(t *testing.T) {
	reactortest.CheckLeaks(t)
	const size = 100 << 20
	chunk := protocoltest.Payload(1 << 20)
	var written atomic.Int64
	srv, c := htServe(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		for range size / len(chunk) {
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	r, err := reactor.New(reactor.WithDebug(), reactor.WithoutSignalHandlers())
	if err != nil {
		t.Fatal(err)
	}
	g := protocoltest.NewGuard(t, r)
	ran := make(chan error, 1)
	go func() { ran <- r.Run(context.Background()) }()
	t.Cleanup(func() {
		r.CallFromGoroutine(r.Stop)
		<-ran
		r.Close()
	})
	p := &htPaused{g: g, lost: make(chan error, 1)}
	var lastDone atomic.Int64
	result := make(chan error, 1)
	var delivered int64

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	reactortest.OnLoop(t, r, func() {
		c.Get(r, srv.URL).OnValue(func(resp *protocol.Response) {
			sp := resp.Stream(p)
			deferred.On(sp, protocol.Download, func(tr protocol.Transfer) { lastDone.Store(tr.Done) })
			sp.OnValue(func(n int64) { delivered = n; result <- nil })
			sp.OnError(func(err error) { result <- err })
		})
	})
	// Wait for the server to stall: nothing more written for 300 ms.
	deadline := time.Now().Add(30 * time.Second)
	for prev := int64(-1); ; {
		time.Sleep(300 * time.Millisecond)
		w := written.Load()
		if w == prev && w > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server never stalled: %d bytes written", w)
		}
		prev = w
	}
	time.Sleep(100 * time.Millisecond) // the last progress event
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	inuse := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("paused: server wrote %d bytes, the client read %d, delivered %d; heap alloc grew %d, in use %d",
		written.Load(), lastDone.Load(), p.got.Load(), grew, inuse)
	if grew >= 1<<20 || inuse >= 1<<20 {
		t.Errorf("the heap grew by %d bytes (in use by %d) while paused, want less than 1 MiB", grew, inuse)
	}
	if d := lastDone.Load(); d > protocol.BodyWindow || d <= 0 {
		t.Errorf("the body goroutine read %d bytes while paused, want 1..%d", d, protocol.BodyWindow)
	}
	if got := p.got.Load(); got != 0 {
		t.Errorf("%d bytes delivered while paused", got)
	}
	if w := written.Load(); w >= size/2 {
		t.Errorf("the server wrote %d bytes into a paused transfer", w)
	}
	reactortest.OnLoop(t, r, func() { p.tr.ResumeReading() })
	select {
	case err := <-result:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(htLimit):
		t.Fatal("the body did not end after ResumeReading")
	}
	if err := <-p.lost; err != nil || delivered != size || p.got.Load() != size {
		t.Errorf("ConnectionLost(%v), %d bytes delivered (promise: %d), want nil, %d", err, p.got.Load(), delivered, size)
	}
}

// htResetAfter is a server that sends headers announcing total bytes and
// the first n, waits for cut, and then resets the connection
// (SO_LINGER 0).
func htResetAfter(t *testing.T, n, total int, cut <-chan struct{}) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, bw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		fmt.Fprintf(bw, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", total)
		bw.Write(protocoltest.Payload(n))
		bw.Flush()
		select {
		case <-cut:
		case <-time.After(htLimit):
		}
		conn.(*net.TCPConn).SetLinger(0)
		conn.Close()
	}))
	t.Cleanup(srv.Close)
	return srv
}

// A connection reset in the middle of a body is an error that says how
// many bytes arrived, of how many, and matches transport.ErrReset.
func TestHTTPBytesResetMidBody(t *testing.T) {
	reactortest.CheckLeaks(t)
	const n, total = 300000, 1000000
	cut := make(chan struct{})
	srv := htResetAfter(t, n, total, cut)
	c := &protocol.Client{HTTP: srv.Client()}
	l, r, g := htLoop(t)
	tr := &htTransfers{g: g}
	var err error
	r.CallSoon(func() {
		c.Get(r, srv.URL).OnValue(func(resp *protocol.Response) {
			p := resp.Bytes()
			deferred.On(p, protocol.Download, func(x protocol.Transfer) {
				tr.add(x)
				if x.Done == n {
					close(cut)
				}
			})
			p.OnValue(func([]byte) { t.Error("the body resolved"); r.Stop() })
			p.OnError(func(e error) { g.Check("OnError"); err = e; r.Stop() })
		})
	})
	reactortest.RunFor(t, l, htLimit)
	var be *protocol.BodyError
	if !errors.As(err, &be) || be.Received != n || be.Total != total {
		t.Fatalf("a reset body: %v, want a BodyError after %d of %d bytes", err, n, total)
	}
	if !strings.Contains(err.Error(), "after 300000 of 1000000 bytes") {
		t.Errorf("the message does not say how many bytes: %v", err)
	}
	if !errors.Is(err, transport.ErrReset) {
		t.Errorf("%v does not match transport.ErrReset", err)
	}
	if tr.last().Done != n {
		t.Errorf("the last event before the failure has %d bytes, want %d", tr.last().Done, n)
	}
}

// SaveTo leaves no file when the body breaks off: not the file, not the
// temporary one, from the moment the promise is rejected.
func TestHTTPSaveToFailureLeavesNoFile(t *testing.T) {
	reactortest.CheckLeaks(t)
	cut := make(chan struct{})
	srv := htResetAfter(t, 100000, 1000000, cut)
	c := &protocol.Client{HTTP: srv.Client()}
	dir := t.TempDir()
	l, r, g := htLoop(t)
	var err error
	var left []os.DirEntry
	r.CallSoon(func() {
		c.Get(r, srv.URL).OnValue(func(resp *protocol.Response) {
			p := resp.SaveTo(filepath.Join(dir, "f"))
			deferred.On(p, deferred.Progress, func(c deferred.Count) {
				g.Check("Progress")
				if c.Done == 100000 {
					close(cut)
				}
			})
			p.OnValue(func(int64) { t.Error("the save resolved"); r.Stop() })
			p.OnError(func(e error) { err = e; left, _ = os.ReadDir(dir); r.Stop() })
		})
	})
	reactortest.RunFor(t, l, htLimit)
	var be *protocol.BodyError
	if !errors.As(err, &be) || be.Received != 100000 {
		t.Errorf("SaveTo of a reset body: %v, want a BodyError after 100000 bytes", err)
	}
	if len(left) != 0 {
		t.Errorf("when the promise was rejected the folder held %v", left)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("the folder holds %v", ents)
	}
}

// htEndless is a handler that writes until its request's context ends,
// then closes ended.
func htEndless(ended chan<- struct{}) http.HandlerFunc {
	chunk := protocoltest.Payload(32 << 10)
	return func(w http.ResponseWriter, r *http.Request) {
		defer close(ended)
		for {
			if _, err := w.Write(chunk); err != nil {
				break
			}
		}
		<-r.Context().Done()
	}
}

// htAwait waits for ch on another goroutine, then stops r; t fails if ch
// is not closed within the limit.
func htAwait(t *testing.T, r *reactor.Reactor, ch <-chan struct{}, what string) {
	go func() {
		select {
		case <-ch:
		case <-time.After(htLimit / 2):
			t.Errorf("%s did not happen", what)
		}
		r.CallFromGoroutine(r.Stop)
	}()
}

// SaveTo cancelled in the middle leaves no file, from the moment the
// promise is rejected, and the server sees the request end.
func TestHTTPSaveToCancelLeavesNoFile(t *testing.T) {
	reactortest.CheckLeaks(t)
	ended := make(chan struct{})
	srv, c := htServe(t, htEndless(ended))
	dir := t.TempDir()
	l, r, g := htLoop(t)
	var err error
	var left []os.DirEntry
	r.CallSoon(func() {
		c.Get(r, srv.URL).OnValue(func(resp *protocol.Response) {
			p := resp.SaveTo(filepath.Join(dir, "f"))
			deferred.On(p, deferred.Progress, func(c deferred.Count) {
				g.Check("Progress")
				if c.Done > 1<<20 {
					p.Cancel()
				}
			})
			p.OnError(func(e error) {
				err = e
				left, _ = os.ReadDir(dir)
				htAwait(t, r, ended, "the handler's context ending")
			})
		})
	})
	reactortest.RunFor(t, l, htLimit)
	if !errors.Is(err, deferred.ErrCancelled) {
		t.Errorf("a cancelled save: %v", err)
	}
	if len(left) != 0 {
		t.Errorf("when the promise was rejected the folder held %v", left)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("the folder holds %v", ents)
	}
}

// SaveTo replaces what was at the path only once the body is complete.
func TestHTTPSaveToReplaces(t *testing.T) {
	reactortest.CheckLeaks(t)
	body := protocoltest.Payload(1 << 20)
	srv, c := htServe(t, htPayloadHandler(body))
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, r, g := htLoop(t)
	var during []byte
	var n int64
	r.CallSoon(func() {
		c.Get(r, srv.URL).OnValue(func(resp *protocol.Response) {
			p := resp.SaveTo(path)
			deferred.On(p, deferred.Progress, func(deferred.Count) {
				g.Check("Progress")
				if during == nil {
					during, _ = os.ReadFile(path)
				}
			})
			p.OnValue(func(v int64) { n = v; r.Stop() })
			p.OnError(func(err error) { t.Error(err); r.Stop() })
		})
	})
	reactortest.RunFor(t, l, htLimit)
	if string(during) != "old" {
		t.Errorf("during the transfer the file held %d bytes, want the old ones", len(during))
	}
	got, _ := os.ReadFile(path)
	if n != int64(len(body)) || !bytes.Equal(got, body) {
		t.Errorf("saved %d bytes (promise %d), want %d", len(got), n, len(body))
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("the folder holds %d files", len(ents))
	}
}

// htRecorder is a protocol that records what it hears and can stop the
// body.
type htRecorder struct {
	g        *protocoltest.Guard
	tr       transport.Transport
	got      int64
	calls    []string
	lostErr  error
	onData   func(p *htRecorder)
	readLost bool
}

func (p *htRecorder) ConnectionMade(tr transport.Transport) {
	p.g.Check("ConnectionMade")
	p.tr = tr
	p.calls = append(p.calls, "made")
}

func (p *htRecorder) DataReceived(b []byte) {
	p.g.Check("DataReceived")
	if len(p.calls) == 0 || p.calls[len(p.calls)-1] != "data" {
		p.calls = append(p.calls, "data")
	}
	p.got += int64(len(b))
	if p.onData != nil {
		p.onData(p)
	}
}

func (p *htRecorder) ReadConnectionLost() bool {
	p.g.Check("ReadConnectionLost")
	p.calls = append(p.calls, "eof")
	return true
}

func (p *htRecorder) ConnectionLost(err error) {
	p.g.Check("ConnectionLost")
	p.calls = append(p.calls, "lost")
	p.lostErr = err
}

// A stream to its end: ConnectionMade, the data, ReadConnectionLost for
// a half-closer, ConnectionLost(nil), then the promise.
func TestHTTPStreamHalfCloserEnd(t *testing.T) {
	reactortest.CheckLeaks(t)
	body := protocoltest.Payload(300000)
	srv, c := htServe(t, htPayloadHandler(body))
	l, r, g := htLoop(t)
	p := &htRecorder{g: g}
	var n int64
	r.CallSoon(func() {
		c.Get(r, srv.URL).OnValue(func(resp *protocol.Response) {
			sp := resp.Stream(p)
			sp.OnValue(func(v int64) { p.calls = append(p.calls, "resolved"); n = v; r.Stop() })
			sp.OnError(func(err error) { t.Error(err); r.Stop() })
		})
	})
	reactortest.RunFor(t, l, htLimit)
	if got := strings.Join(p.calls, ","); got != "made,data,eof,lost,resolved" {
		t.Errorf("calls %s", got)
	}
	if n != int64(len(body)) || p.got != n || p.lostErr != nil {
		t.Errorf("delivered %d, promise %d, lost %v", p.got, n, p.lostErr)
	}
	if s := p.tr.State(); s&transport.Closed == 0 || s&transport.ReadClosed == 0 {
		t.Errorf("state at the end: %v", s)
	}
}

// LoseConnection from DataReceived stops the body there: no more data,
// ConnectionLost(nil) once the callback returned, the promise resolves
// with what was delivered, and the server sees the connection end.
// Abort does the same with ErrAborted.
func TestHTTPStreamLoseConnection(t *testing.T) {
	for _, abort := range []bool{false, true} {
		t.Run(fmt.Sprintf("abort=%v", abort), func(t *testing.T) {
			reactortest.CheckLeaks(t)
			ended := make(chan struct{})
			srv, c := htServe(t, htEndless(ended))
			l, r, g := htLoop(t)
			var inside bool
			p := &htRecorder{g: g}
			p.onData = func(p *htRecorder) {
				if p.got > 200000 {
					inside = true
					if abort {
						p.tr.Abort()
					} else {
						p.tr.LoseConnection()
					}
					if p.lostErr != nil || p.calls[len(p.calls)-1] == "lost" {
						t.Error("ConnectionLost from inside the transport method")
					}
					inside = false
				}
			}
			var n int64
			var err error
			r.CallSoon(func() {
				c.Get(r, srv.URL).OnValue(func(resp *protocol.Response) {
					sp := resp.Stream(p)
					sp.OnValue(func(v int64) { n = v; htAwait(t, r, ended, "the handler's context ending") })
					sp.OnError(func(e error) { err = e; htAwait(t, r, ended, "the handler's context ending") })
				})
			})
			reactortest.RunFor(t, l, htLimit)
			if inside {
				t.Error("the callback did not return")
			}
			if got := strings.Join(p.calls, ","); got != "made,data,lost" {
				t.Errorf("calls %s", got)
			}
			if abort {
				if !errors.Is(err, transport.ErrAborted) || !errors.Is(p.lostErr, transport.ErrAborted) {
					t.Errorf("after Abort: promise %v, ConnectionLost(%v); want ErrAborted", err, p.lostErr)
				}
			} else if err != nil || p.lostErr != nil || n != p.got {
				t.Errorf("after LoseConnection: promise %d, %v, ConnectionLost(%v); want %d, nil", n, err, p.lostErr, p.got)
			}
		})
	}
}

// Closing the reactor ends every transfer: a request waiting for its
// headers, a body being read, streamed or saved, and a response whose
// body nobody took. Each promise is rejected with an error matching
// reactor.ErrClosed and deferred.ErrCancelled, the stream's protocol
// hears ConnectionLost with it, no file is left, the server sees every
// request end and no goroutine is left.
func TestHTTPReactorCloseCancelsAll(t *testing.T) {
	reactortest.CheckLeaks(t)
	const n = 5
	ended := make([]chan struct{}, n)
	for i := range ended {
		ended[i] = make(chan struct{})
	}
	var waiting atomic.Bool
	srv, c := htServe(t, func(w http.ResponseWriter, r *http.Request) {
		i, _ := strconv.Atoi(r.URL.Query().Get("i"))
		if i == 0 {
			defer close(ended[i])
			waiting.Store(true)
			<-r.Context().Done()
			return
		}
		htEndless(ended[i])(w, r)
	})
	dir := t.TempDir()
	l, r, g := htLoop(t)
	errs := make([]error, n)
	p := &htRecorder{g: g}
	// Close once every transfer is where it should be: the first waiting
	// for its headers, three bodies moving, one response untaken.
	moving := map[int]bool{}
	var untaken *protocol.Response
	var poll func()
	poll = func() {
		if waiting.Load() && len(moving) == 3 && untaken != nil {
			r.Stop()
			return
		}
		r.CallLater(5*time.Millisecond, poll)
	}
	seen := func(i int) func(deferred.Count) {
		return func(deferred.Count) { g.Check("Progress"); moving[i] = true }
	}
	r.CallSoon(func() {
		url := func(i int) string { return srv.URL + "?i=" + strconv.Itoa(i) }
		c.Get(r, url(0)).OnError(func(err error) { g.Check("OnError"); errs[0] = err })
		c.Get(r, url(1)).OnValue(func(resp *protocol.Response) {
			bp := resp.Bytes()
			deferred.On(bp, deferred.Progress, seen(1))
			bp.OnError(func(err error) { g.Check("OnError"); errs[1] = err })
		})
		c.Get(r, url(2)).OnValue(func(resp *protocol.Response) {
			sp := resp.Stream(p)
			deferred.On(sp, deferred.Progress, seen(2))
			sp.OnError(func(err error) { g.Check("OnError"); errs[2] = err })
		})
		c.Get(r, url(3)).OnValue(func(resp *protocol.Response) {
			sp := resp.SaveTo(filepath.Join(dir, "f"))
			deferred.On(sp, deferred.Progress, seen(3))
			sp.OnError(func(err error) { g.Check("OnError"); errs[3] = err })
		})
		c.Get(r, url(4)).OnValue(func(resp *protocol.Response) {
			g.Check("OnValue")
			untaken = resp // its body is left where it is
		})
		poll()
	})
	reactortest.RunFor(t, l, htLimit)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	for i, err := range errs[:4] {
		if !errors.Is(err, reactor.ErrClosed) || !errors.Is(err, deferred.ErrCancelled) {
			t.Errorf("transfer %d: %v, want ErrClosed and ErrCancelled", i, err)
		}
	}
	untaken.Bytes().OnError(func(err error) { errs[4] = err })
	if !errors.Is(errs[4], reactor.ErrClosed) {
		t.Errorf("Bytes of the untaken body after Close: %v, want ErrClosed", errs[4])
	}
	if !errors.Is(p.lostErr, reactor.ErrClosed) {
		t.Errorf("the stream's ConnectionLost(%v)", p.lostErr)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("the folder holds %v", ents)
	}
	for i, ch := range ended {
		select {
		case <-ch:
		case <-time.After(htLimit / 2):
			t.Errorf("the handler of transfer %d never saw its request end", i)
		}
	}
}

// A request on a closed reactor, or with nothing to send, is a promise
// already rejected, never a panic.
func TestHTTPDoMisuse(t *testing.T) {
	reactortest.CheckLeaks(t)
	r, err := reactor.New()
	if err != nil {
		t.Fatal(err)
	}
	var c protocol.Client
	var errs []error
	note := func(p *deferred.Promise[*protocol.Response]) { p.OnError(func(err error) { errs = append(errs, err) }) }
	note(c.Do(nil, &http.Request{}))
	note(protocol.Do(r, nil))
	note(c.Get(r, "::not a url"))
	r.Close()
	note(protocol.Get(r, "http://127.0.0.1:1/"))
	if len(errs) != 4 {
		t.Fatalf("%d rejections, want 4", len(errs))
	}
	if !errors.Is(errs[0], deferred.ErrNil) || !errors.Is(errs[1], deferred.ErrNil) || !errors.Is(errs[3], reactor.ErrClosed) {
		t.Errorf("rejections: %v", errs)
	}
}

// A body is taken once: Bytes, Stream and SaveTo after the first (or
// after Discard) fail with ErrBodyTaken; a body over MaxBodySize fails
// with ErrBodyTooLarge, at once if its length says so.
func TestHTTPBodyTakenAndTooLarge(t *testing.T) {
	reactortest.CheckLeaks(t)
	srv, _ := htServe(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/announced" {
			w.Header().Set("Content-Length", "2000")
		}
		w.Write(make([]byte, 2000))
	})
	c := &protocol.Client{HTTP: srv.Client(), MaxBodySize: 1000}
	l, r, g := htLoop(t)
	var errs []string
	pending := 5
	expect := func(what string, want error) func(error) {
		return func(err error) {
			g.Check("OnError")
			if !errors.Is(err, want) {
				errs = append(errs, fmt.Sprintf("%s: %v, want %v", what, err, want))
			}
			if pending--; pending == 0 {
				r.Stop()
			}
		}
	}
	r.CallSoon(func() {
		c.Get(r, srv.URL+"/announced").OnValue(func(resp *protocol.Response) {
			resp.Bytes().OnError(expect("announced", protocol.ErrBodyTooLarge))
			resp.Bytes().OnError(expect("Bytes again", protocol.ErrBodyTaken))
		})
		c.Get(r, srv.URL+"/chunked").OnValue(func(resp *protocol.Response) {
			resp.Bytes().OnError(expect("chunked", protocol.ErrBodyTooLarge))
			resp.Stream(&htRecorder{}).OnError(expect("Stream again", protocol.ErrBodyTaken))
		})
		c.Get(r, srv.URL+"/x").OnValue(func(resp *protocol.Response) {
			resp.Discard()
			resp.SaveTo(filepath.Join(t.TempDir(), "f")).OnError(expect("SaveTo after Discard", protocol.ErrBodyTaken))
		})
	})
	reactortest.RunFor(t, l, htLimit)
	for _, e := range errs {
		t.Error(e)
	}
}

// A host name is looked up (the DNS phases), and the phases come in
// order, each no earlier than the one before.
func TestHTTPGetPhasesWithDNS(t *testing.T) {
	reactortest.CheckLeaks(t)
	srv, c := htServe(t, htPayloadHandler([]byte("hello")))
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	l, r, g := htLoop(t)
	var phases []protocol.PhaseReport
	r.CallSoon(func() {
		p := c.Fetch(r, "http://localhost:"+port+"/")
		deferred.On(p, protocol.Phases, func(ph protocol.PhaseReport) { g.Check("Phases"); phases = append(phases, ph) })
		p.OnValue(func(*protocol.Document) { r.Stop() })
		p.OnError(func(err error) { t.Error(err); r.Stop() })
	})
	reactortest.RunFor(t, l, htLimit)
	var names []string
	var prev time.Duration
	for _, ph := range phases {
		names = append(names, ph.Phase.String())
		if ph.Elapsed < prev {
			t.Errorf("%v at %v, before the phase before it (%v)", ph.Phase, ph.Elapsed, prev)
		}
		prev = ph.Elapsed
	}
	got := strings.Join(names, ",")
	if !strings.HasPrefix(got, "dns-start,dns-done,connect-start,") || !strings.HasSuffix(got, ",got-conn,wrote-request,first-byte") {
		t.Errorf("phases %s", got)
	}
	if phases[0].Addr != "localhost" {
		t.Errorf("dns-start for %q", phases[0].Addr)
	}
}

// Over HTTP/2 a body is read and a cancelled one ends its stream: the
// handler sees its context end and nothing is left running.
func TestHTTP2FetchAndCancel(t *testing.T) {
	reactortest.CheckLeaks(t)
	body := protocoltest.Payload(2 << 20)
	ended := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/endless" {
			htEndless(ended)(w, r)
			return
		}
		htPayloadHandler(body)(w, r)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	c := &protocol.Client{HTTP: srv.Client()}
	l, r, g := htLoop(t)
	var doc *protocol.Document
	var cerr error
	r.CallSoon(func() {
		p := c.Fetch(r, srv.URL+"/file")
		p.OnError(func(err error) { t.Error(err); r.Stop() })
		p.OnValue(func(d *protocol.Document) {
			doc = d
			q := c.Fetch(r, srv.URL+"/endless")
			deferred.On(q, deferred.Progress, func(c deferred.Count) {
				if c.Done > 1<<20 {
					q.Cancel()
				}
			})
			q.OnError(func(err error) {
				g.Check("OnError")
				cerr = err
				htAwait(t, r, ended, "the handler's context ending")
			})
		})
	})
	reactortest.RunFor(t, l, htLimit)
	if doc == nil || doc.ProtoMajor != 2 || !bytes.Equal(doc.Body, body) {
		t.Fatalf("no HTTP/2 document")
	}
	if !errors.Is(cerr, deferred.ErrCancelled) {
		t.Errorf("a cancelled HTTP/2 fetch: %v", cerr)
	}
}

// Fetch cancelled in the middle of the body settles as cancelled at
// once, and the server sees the request end.
func TestHTTPFetchCancel(t *testing.T) {
	reactortest.CheckLeaks(t)
	ended := make(chan struct{})
	srv, c := htServe(t, htEndless(ended))
	l, r, g := htLoop(t)
	var err error
	var took time.Duration
	r.CallSoon(func() {
		p := c.Fetch(r, srv.URL)
		var at time.Time
		deferred.On(p, protocol.Download, func(tr protocol.Transfer) {
			g.Check("Download")
			if tr.Done > 100000 && at.IsZero() {
				at = time.Now()
				p.Cancel()
			}
		})
		p.OnError(func(e error) {
			took, err = time.Since(at), e
			htAwait(t, r, ended, "the handler's context ending")
		})
	})
	reactortest.RunFor(t, l, htLimit)
	if !errors.Is(err, deferred.ErrCancelled) || took > 200*time.Millisecond {
		t.Errorf("a fetch cancelled mid-body: %v after %v", err, took)
	}
}

// A protocol whose DataReceived panics does not stop its stream: the
// panic is logged and the next bytes are delivered, to the end.
func TestHTTPStreamPanickingProtocol(t *testing.T) {
	reactortest.CheckLeaks(t)
	body := protocoltest.Payload(500000)
	srv, c := htServe(t, htPayloadHandler(body))
	var logs bytes.Buffer
	var mu sync.Mutex
	l := htNewLoop(reactor.Backends()[0])(t, reactor.WithLogger(slog.New(slog.NewTextHandler(&htLockedWriter{&mu, &logs}, nil))))
	r := l.Reactor()
	g := protocoltest.NewGuard(t, r)
	p := &htRecorder{g: g}
	panicked := false
	p.onData = func(*htRecorder) {
		if !panicked {
			panicked = true
			panic("a bug in the protocol")
		}
	}
	var n int64
	r.CallSoon(func() {
		c.Get(r, srv.URL).OnValue(func(resp *protocol.Response) {
			sp := resp.Stream(p)
			sp.OnValue(func(v int64) { n = v; r.Stop() })
			sp.OnError(func(err error) { t.Error(err); r.Stop() })
		})
	})
	reactortest.RunFor(t, l, htLimit)
	if n != int64(len(body)) || p.got != n || p.lostErr != nil {
		t.Errorf("delivered %d bytes (promise %d), ConnectionLost(%v); want %d, nil", p.got, n, p.lostErr, len(body))
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "a bug in the protocol") {
		t.Errorf("the panic was not logged: %q", logs.String())
	}
}

type htLockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w *htLockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(b)
}

// A body read to its end leaves its connection to be used again: the
// second request's got-conn phase says it was reused.
func TestHTTPGetKeepsConnectionsAlive(t *testing.T) {
	reactortest.CheckLeaks(t)
	srv, c := htServe(t, htPayloadHandler(protocoltest.Payload(100000)))
	l, r, g := htLoop(t)
	var reused []bool
	var fetch func(left int)
	fetch = func(left int) {
		p := c.Fetch(r, srv.URL)
		deferred.On(p, protocol.Phases, func(ph protocol.PhaseReport) {
			if ph.Phase == protocol.PhaseGotConn {
				reused = append(reused, ph.Reused)
			}
		})
		p.OnError(func(err error) { t.Error(err); r.Stop() })
		p.OnValue(func(*protocol.Document) {
			g.Check("OnValue")
			if left > 1 {
				fetch(left - 1)
			} else {
				r.Stop()
			}
		})
	}
	r.CallSoon(func() { fetch(3) })
	reactortest.RunFor(t, l, htLimit)
	if fmt.Sprint(reused) != "[false true true]" {
		t.Errorf("connections reused: %v, want [false true true]", reused)
	}
}
