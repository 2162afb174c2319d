// Package protocoltest checks loom's HTTP client on a loop: RunHTTP(t,
// newLoop) fetches, streams, saves, uploads and cancels against servers
// on 127.0.0.1, plain and TLS, with a loop made by newLoop (the same
// reactortest.NewLoop the reactor's and the transports' suites take), so
// the reactor under each backend and each GUI loop run it alike. Every
// promise observer, event and protocol callback is checked to run on the
// loop goroutine.
package protocoltest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/internal/stack"
	"github.com/loomkit/loom/protocol"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/transport"
)

// RunHTTP runs the cases. Each is a subtest that also fails if it leaves
// a descriptor open or a goroutine running, or if a callback runs on
// another goroutine than the loop's.
func RunHTTP(t *testing.T, newLoop reactortest.NewLoop) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reactortest.CheckLeaks(t)
			c.f(t, newLoop)
		})
	}
}

var cases = []struct {
	name string
	f    func(t *testing.T, newLoop reactortest.NewLoop)
}{
	{"fetch/plain", func(t *testing.T, nl reactortest.NewLoop) { fetch(t, nl, false) }},
	{"fetch/tls", func(t *testing.T, nl reactortest.NewLoop) { fetch(t, nl, true) }},
	{"stream/pause-resume", streamPauseResume},
	{"save", save},
	{"upload", upload},
	{"cancel/mid-body", cancelMidBody},
	{"cancel/before-headers", cancelBeforeHeaders},
}

// limit bounds one loop run of a case.
const limit = 60 * time.Second

// Guard checks that callbacks run on the loop goroutine.
type Guard struct {
	t    testing.TB
	g    atomic.Uint64
	bad  atomic.Int64
	n    atomic.Int64
	what atomic.Value
}

// NewGuard returns a guard for r: the loop goroutine is the one that
// runs r's first queued call, so NewGuard is called before the loop
// runs. When t ends, the guard fails it if a check found a callback on
// another goroutine, or if none was checked.
func NewGuard(t testing.TB, r *reactor.Reactor) *Guard {
	g := &Guard{t: t}
	r.CallSoon(func() { g.g.Store(stack.Goid()) })
	t.Cleanup(func() {
		if n := g.bad.Load(); n > 0 {
			t.Errorf("%d callbacks ran off the loop goroutine, the first: %v", n, g.what.Load())
		}
		if g.n.Load() == 0 {
			t.Error("no callback was checked")
		}
	})
	return g
}

// Check notes a callback named what: it must run on the loop goroutine.
func (g *Guard) Check(what string) {
	g.n.Add(1)
	want := g.g.Load()
	if got := stack.Goid(); want == 0 || got != want {
		if g.bad.Add(1) == 1 {
			g.what.Store(fmt.Sprintf("%s on goroutine %d, loop on %d", what, got, want))
		}
	}
}

// Payload returns n bytes that differ from one position to the next.
func Payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>9)
	}
	return b
}

// serve starts a server for h, TLS or not, closed when t ends, and a
// client that trusts it.
func serve(t *testing.T, tls bool, h http.HandlerFunc) (*httptest.Server, *protocol.Client) {
	t.Helper()
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	return srv, &protocol.Client{HTTP: srv.Client()}
}

// servePayload answers with body, announced with its length, written in
// pieces of 64 KiB.
func servePayload(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		for b := body; len(b) > 0; {
			n := min(len(b), 64<<10)
			if _, err := w.Write(b[:n]); err != nil {
				return
			}
			b = b[n:]
		}
	}
}

// progressLog records a transfer's progress events and checks them.
type progressLog struct {
	g      *Guard
	events []protocol.Transfer
	counts []deferred.Count
}

func (pl *progressLog) download(t protocol.Transfer) {
	pl.g.Check("Download event")
	pl.events = append(pl.events, t)
}

func (pl *progressLog) count(c deferred.Count) {
	pl.g.Check("Progress event")
	pl.counts = append(pl.counts, c)
}

// check fails t unless the events rose monotonically to a final one of
// total bytes (total -1: unknown, done bytes), the Progress counts with
// them.
func (pl *progressLog) check(t *testing.T, what string, total, done int64) {
	t.Helper()
	if len(pl.events) == 0 {
		t.Errorf("%s: no progress event", what)
		return
	}
	if len(pl.counts) != len(pl.events) {
		t.Errorf("%s: %d deferred.Progress events, %d Download events", what, len(pl.counts), len(pl.events))
	}
	var prev int64
	for i, e := range pl.events {
		if e.Done < prev {
			t.Errorf("%s: event %d went back from %d to %d", what, i, prev, e.Done)
		}
		if e.Total != total {
			t.Errorf("%s: event %d has total %d, want %d", what, i, e.Total, total)
		}
		if e.Rate < 0 {
			t.Errorf("%s: event %d has rate %v", what, i, e.Rate)
		}
		if i < len(pl.counts) && pl.counts[i] != e.Count() {
			t.Errorf("%s: event %d: Progress %+v, Download %+v", what, i, pl.counts[i], e)
		}
		prev = e.Done
	}
	if last := pl.events[len(pl.events)-1]; last.Done != done {
		t.Errorf("%s: the last event has %d bytes done, want %d", what, last.Done, done)
	}
}

func fetch(t *testing.T, newLoop reactortest.NewLoop, useTLS bool) {
	body := Payload(4<<20 + 123)
	srv, c := serve(t, useTLS, servePayload(body))
	l := newLoop(t)
	r := l.Reactor()
	g := NewGuard(t, r)
	pl := &progressLog{g: g}
	var phases []protocol.Phase
	var doc *protocol.Document
	var ferr error
	r.CallSoon(func() {
		p := c.Fetch(r, srv.URL+"/file")
		deferred.On(p, deferred.Progress, pl.count)
		deferred.On(p, protocol.Download, pl.download)
		deferred.On(p, protocol.Phases, func(ph protocol.PhaseReport) {
			g.Check("Phases event")
			if ph.Err != nil {
				t.Errorf("phase %v: %v", ph.Phase, ph.Err)
			}
			phases = append(phases, ph.Phase)
		})
		p.OnValue(func(d *protocol.Document) { g.Check("OnValue"); doc = d; r.Stop() })
		p.OnError(func(err error) { g.Check("OnError"); ferr = err; r.Stop() })
	})
	reactortest.RunFor(t, l, limit)
	if ferr != nil {
		t.Fatal(ferr)
	}
	if doc.StatusCode != http.StatusOK || !bytes.Equal(doc.Body, body) {
		t.Errorf("status %d, %d bytes; want 200, %d bytes as sent", doc.StatusCode, len(doc.Body), len(body))
	}
	pl.check(t, "fetch", int64(len(body)), int64(len(body)))
	want := []protocol.Phase{protocol.PhaseConnectStart, protocol.PhaseConnectDone, protocol.PhaseGotConn, protocol.PhaseWroteRequest, protocol.PhaseFirstByte}
	if useTLS {
		want = []protocol.Phase{protocol.PhaseConnectStart, protocol.PhaseConnectDone, protocol.PhaseTLSStart, protocol.PhaseTLSDone, protocol.PhaseGotConn, protocol.PhaseWroteRequest, protocol.PhaseFirstByte}
	}
	if fmt.Sprint(phases) != fmt.Sprint(want) {
		t.Errorf("phases %v, want %v", phases, want)
	}
}

// pauser is a protocol that pauses after each chunk and resumes a
// moment later.
type pauser struct {
	g       *Guard
	tr      transport.Transport
	got     bytes.Buffer
	made    int
	lost    int
	lostErr error
	chunks  int
	bad     string
}

func (p *pauser) ConnectionMade(tr transport.Transport) {
	p.g.Check("ConnectionMade")
	p.made++
	p.tr = tr
	if s := tr.State(); s&transport.Open == 0 || s&transport.WriteClosed == 0 {
		p.bad = fmt.Sprintf("state at ConnectionMade: %v", s)
	}
	if err := tr.Write([]byte("x")); !errors.Is(err, transport.ErrClosed) {
		p.bad = fmt.Sprintf("Write on a body: %v, want ErrClosed", err)
	}
}

func (p *pauser) DataReceived(b []byte) {
	p.g.Check("DataReceived")
	if p.made != 1 || p.lost != 0 {
		p.bad = "DataReceived outside ConnectionMade..ConnectionLost"
	}
	if p.tr.State()&transport.ReadPaused != 0 {
		p.bad = "DataReceived while paused"
	}
	if len(b) > protocol.BodyWindow {
		p.bad = fmt.Sprintf("a chunk of %d bytes, over the window", len(b))
	}
	p.got.Write(b)
	p.chunks++
	p.tr.PauseReading()
	p.tr.Reactor().CallLater(time.Millisecond, func() { p.g.Check("timer"); p.tr.ResumeReading() })
}

func (p *pauser) ConnectionLost(err error) {
	p.g.Check("ConnectionLost")
	p.lost++
	p.lostErr = err
	if p.tr.State()&transport.ReadClosed == 0 && err == nil {
		p.bad = fmt.Sprintf("clean end, state %v", p.tr.State())
	}
}

func streamPauseResume(t *testing.T, newLoop reactortest.NewLoop) {
	body := Payload(2<<20 + 7)
	srv, c := serve(t, false, servePayload(body))
	l := newLoop(t)
	r := l.Reactor()
	g := NewGuard(t, r)
	pl := &progressLog{g: g}
	p := &pauser{g: g}
	var n int64
	var serr error
	r.CallSoon(func() {
		c.Get(r, srv.URL).OnValue(func(resp *protocol.Response) {
			g.Check("Get OnValue")
			sp := resp.Stream(p)
			deferred.On(sp, deferred.Progress, pl.count)
			deferred.On(sp, protocol.Download, pl.download)
			sp.OnValue(func(v int64) { g.Check("Stream OnValue"); n = v; r.Stop() })
			sp.OnError(func(err error) { g.Check("Stream OnError"); serr = err; r.Stop() })
		})
	})
	reactortest.RunFor(t, l, limit)
	if serr != nil {
		t.Fatal(serr)
	}
	if p.bad != "" {
		t.Error(p.bad)
	}
	if n != int64(len(body)) || !bytes.Equal(p.got.Bytes(), body) {
		t.Errorf("delivered %d bytes (promise: %d), want %d as sent", p.got.Len(), n, len(body))
	}
	if p.made != 1 || p.lost != 1 || p.lostErr != nil {
		t.Errorf("ConnectionMade %d times, ConnectionLost %d times (%v); want once each, nil", p.made, p.lost, p.lostErr)
	}
	if p.chunks < len(body)/protocol.BodyWindow {
		t.Errorf("%d chunks for %d bytes", p.chunks, len(body))
	}
	pl.check(t, "stream", int64(len(body)), int64(len(body)))
}

func save(t *testing.T, newLoop reactortest.NewLoop) {
	body := Payload(3<<20 + 5)
	srv, c := serve(t, true, servePayload(body))
	dir := t.TempDir()
	path := filepath.Join(dir, "saved.bin")
	l := newLoop(t)
	r := l.Reactor()
	g := NewGuard(t, r)
	pl := &progressLog{g: g}
	var n int64
	var serr error
	r.CallSoon(func() {
		c.Get(r, srv.URL).OnValue(func(resp *protocol.Response) {
			g.Check("Get OnValue")
			sp := resp.SaveTo(path)
			deferred.On(sp, deferred.Progress, pl.count)
			deferred.On(sp, protocol.Download, pl.download)
			sp.OnValue(func(v int64) { g.Check("SaveTo OnValue"); n = v; r.Stop() })
			sp.OnError(func(err error) { g.Check("SaveTo OnError"); serr = err; r.Stop() })
		})
	})
	reactortest.RunFor(t, l, limit)
	if serr != nil {
		t.Fatal(serr)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(body)) || !bytes.Equal(got, body) {
		t.Errorf("saved %d bytes (promise: %d), want %d as sent", len(got), n, len(body))
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("the folder holds %d files, want only the saved one", len(ents))
	}
	pl.check(t, "save", int64(len(body)), int64(len(body)))
}

func upload(t *testing.T, newLoop reactortest.NewLoop) {
	body := Payload(2 << 20)
	srv, c := serve(t, false, func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprint(w, n)
	})
	l := newLoop(t)
	r := l.Reactor()
	g := NewGuard(t, r)
	var ups []protocol.Transfer
	var reply []byte
	var uerr error
	r.CallSoon(func() {
		req, err := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		if err != nil {
			t.Error(err)
			r.Stop()
			return
		}
		p := c.Do(r, req)
		deferred.On(p, protocol.Upload, func(tr protocol.Transfer) { g.Check("Upload event"); ups = append(ups, tr) })
		p.OnError(func(err error) { g.Check("Do OnError"); uerr = err; r.Stop() })
		p.OnValue(func(resp *protocol.Response) {
			g.Check("Do OnValue")
			bp := resp.Bytes()
			bp.OnValue(func(b []byte) { g.Check("Bytes OnValue"); reply = b; r.Stop() })
			bp.OnError(func(err error) { g.Check("Bytes OnError"); uerr = err; r.Stop() })
		})
	})
	reactortest.RunFor(t, l, limit)
	if uerr != nil {
		t.Fatal(uerr)
	}
	if string(reply) != strconv.Itoa(len(body)) {
		t.Errorf("the server read %s bytes, want %d", reply, len(body))
	}
	if len(ups) == 0 {
		t.Fatal("no Upload event")
	}
	var prev int64
	for i, u := range ups {
		if u.Done < prev || u.Total != int64(len(body)) {
			t.Errorf("upload event %d: %+v after %d done", i, u, prev)
		}
		prev = u.Done
	}
	if last := ups[len(ups)-1]; last.Done != int64(len(body)) {
		t.Errorf("the last upload event has %d bytes done, want %d", last.Done, len(body))
	}
}

// endless is a handler that writes a chunked body until its request's
// context ends, and then closes ended.
func endless(ended chan<- struct{}) http.HandlerFunc {
	chunk := Payload(32 << 10)
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

// stopWhen stops r once ch is closed, or fails t after a while.
func stopWhen(t *testing.T, r *reactor.Reactor, ch <-chan struct{}, what string) {
	go func() {
		select {
		case <-ch:
		case <-time.After(limit / 2):
			t.Errorf("%s did not happen", what)
		}
		r.CallFromGoroutine(r.Stop)
	}()
}

func cancelMidBody(t *testing.T, newLoop reactortest.NewLoop) {
	ended := make(chan struct{})
	srv, c := serve(t, false, endless(ended))
	l := newLoop(t)
	r := l.Reactor()
	g := NewGuard(t, r)
	var cancelled time.Duration
	var cerr error
	var after []string
	r.CallSoon(func() {
		c.Get(r, srv.URL).OnValue(func(resp *protocol.Response) {
			g.Check("Get OnValue")
			bp := resp.Bytes()
			var at time.Time
			deferred.On(bp, protocol.Download, func(tr protocol.Transfer) {
				g.Check("Download event")
				if !at.IsZero() {
					after = append(after, "a Download event after Cancel")
				}
				if tr.Done >= 256<<10 && at.IsZero() {
					at = time.Now()
					bp.Cancel()
				}
			})
			bp.OnValue(func([]byte) { g.Check("Bytes OnValue"); after = append(after, "the body resolved") })
			bp.OnError(func(err error) {
				g.Check("Bytes OnError")
				cancelled, cerr = time.Since(at), err
				stopWhen(t, r, ended, "the handler's context ending")
			})
		})
	})
	reactortest.RunFor(t, l, limit)
	if !errors.Is(cerr, deferred.ErrCancelled) {
		t.Errorf("the cancelled body: %v, want ErrCancelled", cerr)
	}
	if cancelled > 200*time.Millisecond {
		t.Errorf("the body settled %v after Cancel", cancelled)
	}
	if len(after) > 0 {
		t.Errorf("after Cancel: %v", after)
	}
}

func cancelBeforeHeaders(t *testing.T, newLoop reactortest.NewLoop) {
	ended := make(chan struct{})
	started := make(chan struct{})
	srv, c := serve(t, true, func(w http.ResponseWriter, r *http.Request) {
		defer close(ended)
		close(started)
		<-r.Context().Done()
	})
	l := newLoop(t)
	r := l.Reactor()
	g := NewGuard(t, r)
	var cerr error
	r.CallSoon(func() {
		p := c.Get(r, srv.URL)
		p.OnValue(func(*protocol.Response) { g.Check("Get OnValue"); t.Error("a response came") })
		p.OnError(func(err error) {
			g.Check("Get OnError")
			cerr = err
			stopWhen(t, r, ended, "the handler's context ending")
		})
		go func() {
			select {
			case <-started:
			case <-time.After(limit / 2):
				t.Error("the request did not reach the handler")
			}
			r.CallFromGoroutine(func() { g.Check("cancel"); p.Cancel() })
		}()
	})
	reactortest.RunFor(t, l, limit)
	if !errors.Is(cerr, deferred.ErrCancelled) {
		t.Errorf("the cancelled request: %v, want ErrCancelled", cerr)
	}
}
