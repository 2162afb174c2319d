package deferred

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// Tests leave failures unhandled on purpose; keep them off stderr.
	SetLogger(slog.New(slog.DiscardHandler))
	goleak.VerifyTestMain(m)
}

// fakeLoop is a Loop driven by the test. In manual mode the test goroutine is
// the loop goroutine and calls drain; in serve mode a goroutine started by
// serve runs the queues.
type fakeLoop struct {
	soon       []func() // loop goroutine only
	inCallback bool     // a queued function is running

	// lockDepth, if set, makes every pass run its functions under one more
	// runtime.LockOSThread, as a cgo callback adds a thread lock.
	lockDepth bool

	mu   sync.Mutex
	from []func()
	wake chan struct{}
}

func newFakeLoop() *fakeLoop { return &fakeLoop{wake: make(chan struct{}, 1)} }

func (l *fakeLoop) CallSoon(f func()) { l.soon = append(l.soon, f) }

func (l *fakeLoop) CallFromGoroutine(f func()) {
	l.mu.Lock()
	l.from = append(l.from, f)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// pass runs what is queued now, as one reactor pass does, and reports how
// many functions ran.
func (l *fakeLoop) pass() int {
	l.mu.Lock()
	batch := append(l.from, l.soon...)
	l.from = nil
	l.mu.Unlock()
	l.soon = nil
	if len(batch) == 0 {
		return 0
	}
	if l.lockDepth {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	for _, f := range batch {
		l.inCallback = true
		f()
		l.inCallback = false
	}
	return len(batch)
}

// drain runs passes until nothing is queued.
func (l *fakeLoop) drain() {
	for l.pass() > 0 {
	}
}

// runUntil runs passes, waiting for functions queued from other goroutines,
// until cond holds; it gives up after a few seconds.
func (l *fakeLoop) runUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		l.drain()
		if cond() {
			return
		}
		select {
		case <-l.wake:
		case <-deadline:
			t.Fatal("condition not met")
		}
	}
}

// serve runs the loop on a new goroutine until the returned stop function is
// called; stop waits for the goroutine to end.
func (l *fakeLoop) serve() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if l.pass() > 0 {
				continue
			}
			select {
			case <-l.wake:
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() { cancel(); <-done }
}

// do runs f on the serving loop goroutine and waits for it.
func (l *fakeLoop) do(f func()) {
	done := make(chan struct{})
	l.CallFromGoroutine(func() { f(); close(done) })
	<-done
}

// fakeClock schedules calls on a manual clock, like a reactor's CallLater.
type fakeClock struct {
	now    time.Duration
	seq    int
	timers []*fakeTimer
}

type fakeTimer struct {
	at     time.Duration
	seq    int
	f      func()
	active bool
}

var errNotActive = errors.New("fake timer: not active")

func (c *fakeClock) CallLater(d time.Duration, f func()) *fakeTimer {
	c.seq++
	t := &fakeTimer{at: c.now + d, seq: c.seq, f: f, active: true}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Cancel() error {
	if !t.active {
		return errNotActive
	}
	t.active = false
	return nil
}

// Advance moves the clock forward by d, firing due timers in time order.
func (c *fakeClock) Advance(d time.Duration) {
	end := c.now + d
	for {
		c.timers = slices.DeleteFunc(c.timers, func(t *fakeTimer) bool { return !t.active })
		slices.SortFunc(c.timers, func(a, b *fakeTimer) int {
			if a.at != b.at {
				return int(a.at - b.at)
			}
			return a.seq - b.seq
		})
		if len(c.timers) == 0 || c.timers[0].at > end {
			break
		}
		t := c.timers[0]
		c.now = t.at
		t.active = false
		t.f()
	}
	c.now = end
}

// active returns the number of pending timers.
func (c *fakeClock) active() int {
	n := 0
	for _, t := range c.timers {
		if t.active {
			n++
		}
	}
	return n
}

// Helpers in the spirit of trial's successResultOf / failureResultOf.

// resultOf returns d's current success result, failing the test if d has no
// result or a failure. Like Twisted's helper, it takes the result.
func resultOf(t *testing.T, d *Deferred) any {
	t.Helper()
	var got []any
	d.AddBoth(func(r any) any { got = append(got, r); return nil })
	if len(got) != 1 {
		t.Fatalf("Deferred has no result: %v", d)
	}
	if f, ok := got[0].(*Failure); ok {
		t.Fatalf("Deferred failed: %+v", f)
	}
	return got[0]
}

// failureOf returns d's current failure, failing the test if d has no result
// or a success; it takes the failure.
func failureOf(t *testing.T, d *Deferred) *Failure {
	t.Helper()
	var got []any
	d.AddBoth(func(r any) any { got = append(got, r); return nil })
	if len(got) != 1 {
		t.Fatalf("Deferred has no result: %v", d)
	}
	f, ok := got[0].(*Failure)
	if !ok {
		t.Fatalf("Deferred succeeded with %v, want a failure", got[0])
	}
	return f
}

func assertNoResult(t *testing.T, d *Deferred) {
	t.Helper()
	if d.called && !isDeferred(d.result) && d.paused == 0 {
		t.Fatalf("Deferred has a result: %v", d)
	}
}

// logCapture is a slog handler that records messages and attributes.
type logCapture struct {
	mu   sync.Mutex
	recs []capturedRecord
}

type capturedRecord struct {
	msg   string
	attrs map[string]string
}

func (c *logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (c *logCapture) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *logCapture) WithGroup(string) slog.Handler            { return c }

func (c *logCapture) Handle(_ context.Context, r slog.Record) error {
	rec := capturedRecord{msg: r.Message, attrs: map[string]string{}}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.String()
		return true
	})
	c.mu.Lock()
	c.recs = append(c.recs, rec)
	c.mu.Unlock()
	return nil
}

// find returns the records whose message is msg and whose error contains
// errText.
func (c *logCapture) find(msg, errText string) []capturedRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []capturedRecord
	for _, r := range c.recs {
		if r.msg == msg && strings.Contains(r.attrs["error"], errText) {
			out = append(out, r)
		}
	}
	return out
}

// captureLogs installs a capturing logger for the test.
func captureLogs(t *testing.T) *logCapture {
	c := &logCapture{}
	SetLogger(slog.New(c))
	t.Cleanup(func() { SetLogger(slog.New(slog.DiscardHandler)) })
	return c
}

// collectGarbage runs the collector and waits until cleanups queued by it
// have run: a sentinel's own cleanup signals that the queue got that far.
func collectGarbage(t *testing.T) {
	t.Helper()
	for range 2 {
		done := make(chan struct{})
		func() {
			sentinel := new([64]byte)
			runtime.AddCleanup(sentinel, func(ch chan struct{}) { close(ch) }, done)
		}()
		runtime.GC()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("cleanups did not run")
		}
	}
}

// waitForLog collects garbage until a record matching msg and errText shows
// up, or fails the test.
func waitForLog(t *testing.T, c *logCapture, msg, errText string) capturedRecord {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		collectGarbage(t)
		if recs := c.find(msg, errText); len(recs) > 0 {
			return recs[0]
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("no %q record for %q", msg, errText)
	return capturedRecord{}
}

// stackDepth returns the number of frames on the caller's stack.
func stackDepth() int {
	pcs := make([]uintptr, 4096)
	return runtime.Callers(1, pcs)
}
