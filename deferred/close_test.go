package deferred

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// closingLoop is a fakeLoop with the optional methods of a Loop, closed by
// close the way a reactor's Close does it: the hooks run newest first
// (hooks added meanwhile included), then the loop counts as closed, its
// Closed channel is closed, and calls queued then or later never run.
type closingLoop struct {
	*fakeLoop
	hooks    []*func()
	closedCh chan struct{}
	isClosed atomic.Bool
	noClosed bool // hide Closed: see plainClosingLoop
	unnested int  // calls made through CallSoonUnnested
}

func newClosingLoop() *closingLoop {
	return &closingLoop{fakeLoop: newFakeLoop(), closedCh: make(chan struct{})}
}

func (l *closingLoop) CallSoon(f func()) {
	if !l.isClosed.Load() {
		l.fakeLoop.CallSoon(f)
	}
}

func (l *closingLoop) CallSoonUnnested(f func()) {
	l.unnested++
	l.CallSoon(f)
}

func (l *closingLoop) CallFromGoroutine(f func()) {
	if !l.isClosed.Load() {
		l.fakeLoop.CallFromGoroutine(f)
	}
}

func (l *closingLoop) OnClose(f func()) func() {
	if l.isClosed.Load() {
		return func() {}
	}
	h := &f
	l.hooks = append(l.hooks, h)
	return func() { *h = nil }
}

func (l *closingLoop) Closed() <-chan struct{} { return l.closedCh }

// liveHooks counts the hooks not removed.
func (l *closingLoop) liveHooks() int {
	n := 0
	for _, h := range l.hooks {
		if *h != nil {
			n++
		}
	}
	return n
}

func (l *closingLoop) close() {
	for len(l.hooks) > 0 {
		h := l.hooks[len(l.hooks)-1]
		l.hooks = l.hooks[:len(l.hooks)-1]
		if f := *h; f != nil {
			*h = nil
			f()
		}
	}
	l.isClosed.Store(true)
	close(l.closedCh)
	l.mu.Lock()
	l.from = nil
	l.mu.Unlock()
	l.soon = nil
}

// plainClosingLoop has OnClose but no Closed, as a reactor without it.
type plainClosingLoop struct{ c *closingLoop }

func (l plainClosingLoop) CallSoon(f func())                { l.c.CallSoon(f) }
func (l plainClosingLoop) CallFromGoroutine(f func())       { l.c.CallFromGoroutine(f) }
func (l plainClosingLoop) OnClose(f func()) (remove func()) { return l.c.OnClose(f) }

// A body suspended when the loop closes is resumed inside Close: its Await
// returns ErrLoopClosed, and later Awaits return what is already there or
// ErrLoopClosed without suspending, so its cleanup runs and its promise
// settles, and its goroutine is gone.
func TestCloseEndsASuspendedCoroutine(t *testing.T) {
	loop := newClosingLoop()
	var steps []string
	p := Async(loop, func(co *Co) (string, error) {
		_, err := Await(co, New()) // never fires
		if !errors.Is(err, ErrLoopClosed) {
			return "", err
		}
		steps = append(steps, "closed")
		v, err := Await(co, Succeed("flushed")) // already there
		steps = append(steps, v.(string))
		if _, err2 := Await(co, New()); errors.Is(err2, ErrLoopClosed) {
			steps = append(steps, "no more waiting")
		}
		return "cleaned up", err
	})
	loop.drain()
	if len(steps) != 0 || p.Settled() {
		t.Fatal("the body did not suspend")
	}
	loop.close()
	if v, err, ok := p.poll(); !ok || v != "cleaned up" || err != nil {
		t.Fatalf("got %v, %v (settled %v)", v, err, ok)
	}
	if len(steps) != 3 {
		t.Fatalf("steps %v", steps)
	}
	goleak.VerifyNone(t)
}

func TestCloseBeforeACoroutineStarts(t *testing.T) {
	loop := newClosingLoop()
	ran := false
	p := Async(loop, func(co *Co) (int, error) { ran = true; return 1, nil })
	loop.close()
	loop.drain()
	if _, err, ok := p.poll(); ran || !ok || !errors.Is(err, ErrLoopClosed) {
		t.Fatalf("ran %v, got %v (settled %v)", ran, err, ok)
	}
}

// The awaited result arrived but the resume had not run when the loop
// closed: the body gets the result.
func TestCloseWithAResultDelivered(t *testing.T) {
	loop := newClosingLoop()
	d := New()
	p := Async(loop, func(co *Co) (any, error) { return Await(co, d) })
	loop.drain()
	d.Callback("arrived")
	loop.close()
	if v, err, ok := p.poll(); !ok || v != "arrived" || err != nil {
		t.Fatalf("got %v, %v (settled %v)", v, err, ok)
	}
	goleak.VerifyNone(t)
}

// Nested coroutines all end, whichever is resumed first; the outer one gets
// the inner one's translation or ErrLoopClosed.
func TestCloseEndsNestedCoroutines(t *testing.T) {
	loop := newClosingLoop()
	errStopped := errors.New("stopped")
	var inner *Promise[int]
	outer := Async(loop, func(co *Co) (int, error) {
		inner = Async(loop, func(co *Co) (int, error) {
			if _, err := Await(co, New()); err != nil {
				return 0, errStopped
			}
			return 1, nil
		})
		return Await(co, inner)
	})
	loop.drain()
	if inner == nil || inner.Settled() || outer.Settled() {
		t.Fatal("the coroutines did not suspend")
	}
	loop.close()
	if _, err, ok := inner.poll(); !ok || !errors.Is(err, errStopped) {
		t.Fatalf("inner got %v (settled %v)", err, ok)
	}
	if _, err, ok := outer.poll(); !ok || !(errors.Is(err, errStopped) || errors.Is(err, ErrLoopClosed)) {
		t.Fatalf("outer got %v (settled %v)", err, ok)
	}
	goleak.VerifyNone(t)
}

// Many coroutines end at Close, and the hooks of finished ones are gone.
func TestCloseEndsManyCoroutinesAndFinishedOnesLeaveNoHook(t *testing.T) {
	loop := newClosingLoop()
	var ps []*Promise[int]
	for i := range 100 {
		ps = append(ps, Async(loop, func(co *Co) (int, error) {
			if i%2 == 0 {
				return i, nil
			}
			_, err := Await(co, New())
			return i, err
		}))
	}
	loop.drain()
	if n := loop.liveHooks(); n != 50 {
		t.Fatalf("%d close hooks for 50 suspended coroutines", n)
	}
	loop.close()
	for i, p := range ps {
		_, err, ok := p.poll()
		if !ok || (i%2 == 1) != errors.Is(err, ErrLoopClosed) {
			t.Fatalf("coroutine %d: %v (settled %v)", i, err, ok)
		}
	}
	goleak.VerifyNone(t)
}

// A coroutine created at one cgo-callback depth is not resumed by a Close
// at another (the runtime would abort the program): its promise is rejected
// and its goroutine stays parked.
func TestCloseAtAnotherDepthLeavesTheCoroutineParked(t *testing.T) {
	logs := captureLogs(t)
	level := 1
	threadLevel = func() int { return level }
	t.Cleanup(func() { threadLevel = cgoCallbackLevel })
	loop := newClosingLoop()
	var co *Co
	resumed := false
	p := Async(loop, func(c *Co) (int, error) {
		co = c
		Await(c, New())
		resumed = true
		return 0, nil
	})
	loop.drain() // the coroutine is made at level 1, as in a GUI's pass
	level = 0    // Close after the main loop returned
	loop.close()
	if _, err, ok := p.poll(); !ok || !errors.Is(err, ErrLoopClosed) || resumed {
		t.Fatalf("got %v (settled %v), resumed %v", err, ok, resumed)
	}
	if len(logs.find("deferred: the loop was closed at another cgo-callback depth than the coroutine was created at "+
		"(a GUI loop closed after its main loop returned); the coroutine cannot be resumed there, so its goroutine stays parked "+
		"and its promise is rejected with ErrLoopClosed", "")) != 1 {
		t.Fatal("no warning logged")
	}
	// End the parked goroutine for the leak check: here the depth is only
	// pretended, so switching to it is safe.
	co.step()
	goleak.VerifyNone(t)
}

func TestAsyncOnAClosedLoop(t *testing.T) {
	loop := newClosingLoop()
	loop.close()
	p := Async(loop, func(co *Co) (int, error) { return 1, nil })
	if _, err, ok := p.poll(); !ok || !errors.Is(err, ErrLoopClosed) {
		t.Fatalf("got %v (settled %v)", err, ok)
	}
}

func TestAsyncStartsAndResumesUnnested(t *testing.T) {
	loop := newClosingLoop()
	d := New()
	p := Async(loop, func(co *Co) (any, error) { return Await(co, d) })
	loop.drain()
	d.Callback(1)
	loop.drain()
	if v, _, _ := p.poll(); v != 1 || loop.unnested != 2 {
		t.Fatalf("got %v; %d calls made with CallSoonUnnested, want 2 (start, resume)", v, loop.unnested)
	}
}

func TestWaitOnAClosedLoop(t *testing.T) {
	loop := newClosingLoop()
	loop.close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := Wait(ctx, loop, New()); !errors.Is(err, ErrLoopClosed) {
		t.Fatalf("got %v, want ErrLoopClosed", err)
	}
}

// A Wait in progress when the loop closes returns ErrLoopClosed, with the
// loop's OnClose alone, or with its Closed channel too.
func TestWaitWhileTheLoopCloses(t *testing.T) {
	for _, withClosed := range []bool{true, false} {
		c := newClosingLoop()
		var loop Loop = c
		if !withClosed {
			loop = plainClosingLoop{c}
		}
		stop := c.serve()
		var d *Deferred
		c.do(func() { d = New() })
		subscribed := make(chan struct{})
		errs := make(chan error, 1)
		go func() {
			_, err := Wait(context.Background(), spyLoop{loop, subscribed}, d)
			errs <- err
		}()
		<-subscribed
		c.do(c.close)
		select {
		case err := <-errs:
			if !errors.Is(err, ErrLoopClosed) {
				t.Fatalf("with Closed %v: got %v", withClosed, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("with Closed %v: Wait still blocked after the loop closed", withClosed)
		}
		stop()
	}
}

// A result that comes during the Close still reaches the Wait, when the
// loop's Closed channel tells of the Close after its hooks.
func TestWaitGetsAResultSettledAtClose(t *testing.T) {
	c := newClosingLoop()
	stop := c.serve()
	defer stop()
	var d *Deferred
	c.do(func() {
		d = New()
		c.OnClose(func() { d.Callback("last words") })
	})
	subscribed := make(chan struct{})
	type result struct {
		v   any
		err error
	}
	got := make(chan result, 1)
	go func() {
		v, err := Wait(context.Background(), spyLoop{c, subscribed}, d)
		got <- result{v, err}
	}()
	<-subscribed
	c.do(c.close)
	if r := <-got; r.v != "last words" || r.err != nil {
		t.Fatalf("got %v, %v", r.v, r.err)
	}
}

// spyLoop closes ran once the first call it passes on from a goroutine has
// run: Wait's subscription.
type spyLoop struct {
	Loop
	ran chan struct{}
}

func (l spyLoop) CallFromGoroutine(f func()) {
	l.Loop.CallFromGoroutine(func() {
		f()
		select {
		case <-l.ran:
		default:
			close(l.ran)
		}
	})
}

func (l spyLoop) OnClose(f func()) func() { return l.Loop.(closeHooker).OnClose(f) }

func (l spyLoop) Closed() <-chan struct{} {
	if c, ok := l.Loop.(closedNotifier); ok {
		return c.Closed()
	}
	return nil
}
