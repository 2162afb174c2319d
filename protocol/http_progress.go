package protocol

import (
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
)

// Transfer says how far a body has come: the value of the Download and
// Upload events.
type Transfer struct {
	// Done is the number of bytes moved so far.
	Done int64
	// Total is the number of bytes expected: the Content-Length, or -1
	// when it is not known: a chunked body, or a gzip-encoded one that
	// net/http decompresses as it reads (Done then counts decompressed
	// bytes, and the total stays unknown to the end).
	Total int64
	// Rate is the speed, in bytes per second, over about the last second
	// (over the time since the event before, if that was longer ago).
	Rate float64
	// Elapsed is the time since the body began to move: since it was
	// taken, for a download; since the request began, for an upload.
	Elapsed time.Duration
}

// Count returns the transfer as a deferred.Count, for code that shows
// any kind of progress.
func (t Transfer) Count() deferred.Count { return deferred.Count{Done: t.Done, Total: t.Total} }

// Fraction returns Done/Total between 0 and 1: 0 when the total is not
// known, 1 when it is zero.
func (t Transfer) Fraction() float64 { return t.Count().Fraction() }

// Known reports whether the total is known.
func (t Transfer) Known() bool { return t.Total >= 0 }

// Progress events of HTTP transfers. Both are throttled: an event goes
// out at most once per Client.ProgressInterval (30 a second by default),
// the first as soon as bytes move, and a body that ends always sends a
// final one, whose Done is every byte, before its promise resolves; a
// body that fails sends the count it reached before its promise is
// rejected. Done never decreases, except for an upload that net/http
// starts again.
var (
	// Download is the progress of a response body, emitted by the
	// promises of Response.Bytes, Stream and SaveTo, and of Fetch. With
	// each Download event the same promise emits deferred.Progress
	// (Transfer.Count), the standard event that progress bars observe.
	Download = deferred.NewEvent[Transfer]("download")
	// Upload is the progress of a request body, emitted by the promise
	// of Do until the response's headers arrive (the requests of Get
	// and Fetch have no body).
	Upload = deferred.NewEvent[Transfer]("upload")
)

// emitDownload returns the function that emits a download's progress on
// res's promise.
func emitDownload[T any](res deferred.Resolver[T]) func(Transfer) {
	return func(t Transfer) {
		deferred.Emit(res, deferred.Progress, t.Count())
		deferred.Emit(res, Download, t)
	}
}

// meter throttles the progress of one body: the goroutine moving the
// bytes adds to n and, unless one is already queued, queues a wake on
// the loop; the loop sends an event at once if the last one is older
// than the interval, otherwise on a timer at the end of it. Between a
// wake and the event it sends, further adds queue nothing.
type meter struct {
	r        *reactor.Reactor
	interval time.Duration
	emit     func(Transfer)
	total    int64
	start    time.Time
	wakeFn   func()
	tickFn   func()

	n      atomic.Int64 // bytes so far
	queued atomic.Bool  // a wake is queued or the timer armed

	// Loop goroutine.
	last    time.Time // when the last event went out
	sent    int64     // its Done, or -1
	timer   *reactor.DelayedCall
	samples []sample // for the rate
	stopped bool
}

type sample struct {
	t time.Time
	n int64
}

// newMeter returns a meter for a body of total bytes (-1: unknown)
// whose events emit calls. Loop goroutine.
func newMeter(r *reactor.Reactor, interval time.Duration, total int64, emit func(Transfer)) *meter {
	now := time.Now()
	m := &meter{r: r, interval: interval, emit: emit, total: total, start: now, sent: -1}
	m.samples = append(m.samples, sample{now, 0})
	m.wakeFn = m.wake
	m.tickFn = m.tick
	return m
}

// add counts n more bytes. Any goroutine.
func (m *meter) add(n int) {
	if n <= 0 {
		return
	}
	m.n.Add(int64(n))
	m.notify()
}

// restart counts again from 0 (a request body sent again). Any
// goroutine.
func (m *meter) restart() {
	m.n.Store(0)
	m.notify()
}

func (m *meter) notify() {
	if !m.queued.Load() && m.queued.CompareAndSwap(false, true) {
		m.r.CallFromGoroutine(m.wakeFn)
	}
}

// wake sends the news now, or arms the timer for the end of the
// interval. Loop goroutine.
func (m *meter) wake() {
	if m.stopped {
		return
	}
	if wait := m.interval - time.Since(m.last); m.sent >= 0 && wait > 0 {
		m.timer = m.r.CallLater(wait, m.tickFn)
		return
	}
	m.tick()
}

// tick sends an event if the count moved. Loop goroutine.
func (m *meter) tick() {
	m.timer = nil
	if m.stopped {
		return
	}
	m.queued.Store(false) // adds from now on queue a wake
	if done := m.n.Load(); done != m.sent {
		m.send(done)
	}
}

// send emits the event for done bytes. Loop goroutine.
func (m *meter) send(done int64) {
	now := time.Now()
	if done < m.sent { // started again
		m.samples = append(m.samples[:0], sample{now, 0})
	}
	// The base of the rate is the newest sample a second old or older
	// (the first, at the start, if none is).
	for len(m.samples) > 1 && now.Sub(m.samples[1].t) >= time.Second {
		m.samples = m.samples[1:]
	}
	base := m.samples[0]
	m.samples = append(m.samples, sample{now, done})
	var rate float64
	if dt := now.Sub(base.t).Seconds(); dt > 0 && done > base.n {
		rate = float64(done-base.n) / dt
	}
	m.last, m.sent = now, done
	m.emit(Transfer{Done: done, Total: m.total, Rate: rate, Elapsed: now.Sub(m.start)})
}

// finish sends the final event, with done bytes, and stops the meter.
// Loop goroutine.
func (m *meter) finish(done int64) {
	if m.stopped {
		return
	}
	m.stop()
	m.send(done)
}

// flush sends the count reached, if no event has carried it, and stops
// the meter: the last event of a body that failed. Loop goroutine.
func (m *meter) flush() {
	if m.stopped {
		return
	}
	m.stop()
	if done := m.n.Load(); done != m.sent {
		m.send(done)
	}
}

// stop stops the meter: no event goes out any more. Loop goroutine.
func (m *meter) stop() {
	m.stopped = true
	if m.timer != nil {
		m.timer.Cancel()
		m.timer = nil
	}
}

// wrapBody counts what net/http reads of req's body, for Upload events.
// Loop goroutine, before the request is sent.
func (x *exchange) wrapBody(req *http.Request) {
	if req.Body == nil || req.Body == http.NoBody || x.ev.upload == nil {
		return
	}
	total := req.ContentLength
	if total == 0 {
		total = -1 // unknown, as http.Request's ContentLength says
	}
	m := newMeter(x.r, x.interval, total, x.ev.upload)
	x.upload = m
	req.Body = &countingBody{rc: req.Body, m: m}
	if get := req.GetBody; get != nil {
		req.GetBody = func() (io.ReadCloser, error) {
			rc, err := get()
			if err != nil {
				return nil, err
			}
			m.restart()
			return &countingBody{rc: rc, m: m}, nil
		}
	}
}

// countingBody is a request body that counts what is read of it.
type countingBody struct {
	rc io.ReadCloser
	m  *meter
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.m.add(n)
	return n, err
}

func (b *countingBody) Close() error { return b.rc.Close() }
