package deferred

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// closingLoop is a fakeLoop with the optional methods of a Loop, closed by
// close the way a reactor's Close does it: the hooks run newest first
// (hooks added meanwhile included), then the unnested calls queued (by the
// hooks or before) run, unless the loop is set to find their depth
// unreachable, when they are dropped; then the loop counts as closed and
// calls queued then or later never run.
type closingLoop struct {
	*fakeLoop
	hooks       []*func()
	uq          []*func() // CallSoonUnnested's queue
	isClosed    atomic.Bool
	unnested    int  // calls made with CallSoonUnnested
	unreachable bool // close drops the unnested calls

	queued, ran chan struct{} // see spy
	once        [2]sync.Once
}

func newClosingLoop() *closingLoop { return &closingLoop{fakeLoop: newFakeLoop()} }

func (l *closingLoop) CallSoon(f func()) {
	if !l.isClosed.Load() {
		l.fakeLoop.CallSoon(f)
	}
}

func (l *closingLoop) CallSoonUnnested(f func()) (cancel func()) {
	if l.isClosed.Load() {
		return func() {}
	}
	l.unnested++
	c := &f
	l.uq = append(l.uq, c)
	return func() { *c = nil }
}

func (l *closingLoop) CallFromGoroutine(f func()) {
	if l.queued != nil {
		g := f
		f = func() {
			g()
			l.once[0].Do(func() { close(l.ran) })
		}
		defer l.once[1].Do(func() { close(l.queued) })
	}
	if !l.isClosed.Load() {
		l.fakeLoop.CallFromGoroutine(f)
	}
}

// spy makes the loop close queued when the first call from a goroutine is
// queued (Wait's subscription), and ran once that call has run.
func (l *closingLoop) spy() (queued, ran chan struct{}) {
	l.queued, l.ran = make(chan struct{}), make(chan struct{})
	return l.queued, l.ran
}

func (l *closingLoop) OnClose(f func()) func() {
	if l.isClosed.Load() {
		return func() {}
	}
	h := &f
	l.hooks = append(l.hooks, h)
	return func() { *h = nil }
}

func (l *closingLoop) Closed() bool { return l.isClosed.Load() }

// pass runs a pass of the fake loop, then the unnested calls.
func (l *closingLoop) pass() int { return l.fakeLoop.pass() + l.runUnnested() }

func (l *closingLoop) runUnnested() int {
	batch := l.uq
	l.uq = nil
	for _, c := range batch {
		if f := *c; f != nil {
			f()
		}
	}
	return len(batch)
}

func (l *closingLoop) drain() {
	for l.pass() > 0 {
	}
}

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
	if l.unreachable {
		l.uq = nil
	}
	for l.runUnnested() > 0 {
	}
	l.isClosed.Store(true)
	l.mu.Lock()
	l.from = nil
	l.mu.Unlock()
	l.soon = nil
}

// syncClosingLoop has OnClose and Closed but no unnested calls: Close
// resumes the coroutines in its hooks.
type syncClosingLoop struct{ c *closingLoop }

func (l syncClosingLoop) CallSoon(f func())                { l.c.CallSoon(f) }
func (l syncClosingLoop) CallFromGoroutine(f func())       { l.c.CallFromGoroutine(f) }
func (l syncClosingLoop) OnClose(f func()) (remove func()) { return l.c.OnClose(f) }
func (l syncClosingLoop) Closed() bool                     { return l.c.Closed() }

// hookOnlyLoop has OnClose alone; closedOnlyLoop has Closed alone.
type (
	hookOnlyLoop   struct{ c *closingLoop }
	closedOnlyLoop struct{ c *closingLoop }
)

func (l hookOnlyLoop) CallSoon(f func())                { l.c.CallSoon(f) }
func (l hookOnlyLoop) CallFromGoroutine(f func())       { l.c.CallFromGoroutine(f) }
func (l hookOnlyLoop) OnClose(f func()) (remove func()) { return l.c.OnClose(f) }
func (l closedOnlyLoop) CallSoon(f func())              { l.c.CallSoon(f) }
func (l closedOnlyLoop) CallFromGoroutine(f func())     { l.c.CallFromGoroutine(f) }
func (l closedOnlyLoop) Closed() bool                   { return l.c.Closed() }

// forBothCloses runs test with a loop whose Close runs unnested resumes,
// and with one whose Close resumes coroutines in its hooks.
func forBothCloses(t *testing.T, test func(t *testing.T, c *closingLoop, loop Loop)) {
	t.Run("unnested", func(t *testing.T) {
		c := newClosingLoop()
		test(t, c, c)
	})
	t.Run("in hooks", func(t *testing.T) {
		c := newClosingLoop()
		test(t, c, syncClosingLoop{c})
	})
}

// A body suspended when the loop closes is resumed inside Close: its Await
// returns ErrLoopClosed, and later Awaits return what is already there or
// ErrLoopClosed without suspending, so its cleanup runs and its promise
// settles, and its goroutine is gone.
func TestCloseEndsASuspendedCoroutine(t *testing.T) {
	forBothCloses(t, func(t *testing.T, c *closingLoop, loop Loop) {
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
		c.drain()
		if len(steps) != 0 || p.Settled() {
			t.Fatal("the body did not suspend")
		}
		c.close()
		if v, err, ok := p.poll(); !ok || v != "cleaned up" || err != nil {
			t.Fatalf("got %v, %v (settled %v)", v, err, ok)
		}
		if len(steps) != 3 {
			t.Fatalf("steps %v", steps)
		}
		goleak.VerifyNone(t)
	})
}

func TestCloseBeforeACoroutineStarts(t *testing.T) {
	forBothCloses(t, func(t *testing.T, c *closingLoop, loop Loop) {
		ran := false
		p := Async(loop, func(co *Co) (int, error) { ran = true; return 1, nil })
		c.close()
		c.drain()
		if _, err, ok := p.poll(); ran || !ok || !errors.Is(err, ErrLoopClosed) {
			t.Fatalf("ran %v, got %v (settled %v)", ran, err, ok)
		}
	})
}

// The awaited result arrived but the resume had not run when the loop
// closed: the body gets the result.
func TestCloseWithAResultDelivered(t *testing.T) {
	forBothCloses(t, func(t *testing.T, c *closingLoop, loop Loop) {
		d := New()
		p := Async(loop, func(co *Co) (any, error) { return Await(co, d) })
		c.drain()
		d.Callback("arrived")
		c.close()
		if v, err, ok := p.poll(); !ok || v != "arrived" || err != nil {
			t.Fatalf("got %v, %v (settled %v)", v, err, ok)
		}
		goleak.VerifyNone(t)
	})
}

// Nested coroutines all end, whichever is resumed first; the outer one gets
// the inner one's translation or ErrLoopClosed.
func TestCloseEndsNestedCoroutines(t *testing.T) {
	forBothCloses(t, func(t *testing.T, c *closingLoop, loop Loop) {
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
		c.drain()
		if inner == nil || inner.Settled() || outer.Settled() {
			t.Fatal("the coroutines did not suspend")
		}
		c.close()
		if _, err, ok := inner.poll(); !ok || !errors.Is(err, errStopped) {
			t.Fatalf("inner got %v (settled %v)", err, ok)
		}
		if _, err, ok := outer.poll(); !ok || !(errors.Is(err, errStopped) || errors.Is(err, ErrLoopClosed)) {
			t.Fatalf("outer got %v (settled %v)", err, ok)
		}
		goleak.VerifyNone(t)
	})
}

// Many coroutines end at Close, and the hooks of finished ones are gone.
func TestCloseEndsManyCoroutinesAndFinishedOnesLeaveNoHook(t *testing.T) {
	forBothCloses(t, func(t *testing.T, c *closingLoop, loop Loop) {
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
		c.drain()
		if n := c.liveHooks(); n != 50 {
			t.Fatalf("%d close hooks for 50 suspended coroutines", n)
		}
		c.close()
		for i, p := range ps {
			_, err, ok := p.poll()
			if !ok || (i%2 == 1) != errors.Is(err, ErrLoopClosed) {
				t.Fatalf("coroutine %d: %v (settled %v)", i, err, ok)
			}
		}
		goleak.VerifyNone(t)
	})
}

// A loop that cannot reach the depth of the unnested resume drops it: the
// coroutine stays parked (the loop says so) rather than be resumed at the
// wrong depth.
func TestCloseThatCannotReachTheDepthLeavesTheCoroutineParked(t *testing.T) {
	c := newClosingLoop()
	c.unreachable = true
	var co *Co
	resumed := false
	p := Async(c, func(x *Co) (int, error) {
		co = x
		Await(x, New())
		resumed = true
		return 0, nil
	})
	c.drain()
	c.close()
	if resumed || p.Settled() {
		t.Fatalf("resumed %v, settled %v", resumed, p.Settled())
	}
	co.step() // end the parked goroutine for the leak check
	goleak.VerifyNone(t)
}

// On a loop without unnested calls, a coroutine created at one cgo-callback
// depth is not resumed by a Close at another (the runtime would abort the
// program): its promise is rejected and its goroutine stays parked.
func TestCloseAtAnotherDepthLeavesTheCoroutineParked(t *testing.T) {
	logs := captureLogs(t)
	level := 1
	threadLevel = func() int { return level }
	t.Cleanup(func() { threadLevel = cgoCallbackLevel })
	c := newClosingLoop()
	var co *Co
	resumed := false
	p := Async(syncClosingLoop{c}, func(x *Co) (int, error) {
		co = x
		Await(x, New())
		resumed = true
		return 0, nil
	})
	c.drain() // the coroutine is made at level 1, as in a GUI's pass
	level = 0 // Close after the main loop returned
	c.close()
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
	c := newClosingLoop()
	c.close()
	p := Async(c, func(co *Co) (int, error) { return 1, nil })
	if _, err, ok := p.poll(); !ok || !errors.Is(err, ErrLoopClosed) {
		t.Fatalf("got %v (settled %v)", err, ok)
	}
}

func TestAsyncStartsAndResumesUnnested(t *testing.T) {
	c := newClosingLoop()
	d := New()
	p := Async(c, func(co *Co) (any, error) { return Await(co, d) })
	c.drain()
	d.Callback(1)
	c.drain()
	if v, _, _ := p.poll(); v != 1 || c.unnested != 2 {
		t.Fatalf("got %v; %d calls made with CallSoonUnnested, want 2 (start, resume)", v, c.unnested)
	}
}

func TestWaitOnAClosedLoop(t *testing.T) {
	c := newClosingLoop()
	c.close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := Wait(ctx, c, New()); !errors.Is(err, ErrLoopClosed) {
		t.Fatalf("got %v, want ErrLoopClosed", err)
	}
}

// A Wait in progress when the loop closes returns ErrLoopClosed, whether
// the loop tells it with a hook, with Closed, or both.
func TestWaitWhileTheLoopCloses(t *testing.T) {
	for name, wrap := range map[string]func(*closingLoop) Loop{
		"OnClose and Closed": func(c *closingLoop) Loop { return c },
		"OnClose":            func(c *closingLoop) Loop { return hookOnlyLoop{c} },
		"Closed":             func(c *closingLoop) Loop { return closedOnlyLoop{c} },
	} {
		c := newClosingLoop()
		stop := c.serve()
		var d *Deferred
		c.do(func() { d = New() })
		_, ran := c.spy()
		errs := make(chan error, 1)
		go func() {
			_, err := Wait(context.Background(), wrap(c), d)
			errs <- err
		}()
		<-ran
		c.do(c.close)
		select {
		case err := <-errs:
			if !errors.Is(err, ErrLoopClosed) {
				t.Fatalf("with %s: got %v", name, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("with %s: Wait still blocked after the loop closed", name)
		}
		stop()
	}
}

// A Close that comes after Wait queued its subscription but before the
// loop ran it drops the subscription: Wait learns of it from Closed.
func TestWaitWhoseSubscriptionCloseDropped(t *testing.T) {
	c := newClosingLoop()
	d := New()
	queued, _ := c.spy()
	errs := make(chan error, 1)
	go func() {
		_, err := Wait(context.Background(), c, d)
		errs <- err
	}()
	<-queued
	c.close() // the loop never ran a pass: the subscription is dropped
	select {
	case err := <-errs:
		if !errors.Is(err, ErrLoopClosed) {
			t.Fatalf("got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Wait still blocked after the loop closed")
	}
}
