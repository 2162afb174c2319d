package task_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/task"
)

var errBoom = errors.New("boom")

// TestBasicFunction is Twisted's testBasicFunction: started now with an
// interval of 0.1s, three calls by 0.25s; Stop fires Start's Deferred with
// the LoopingCall and leaves nothing scheduled.
func TestBasicFunction(t *testing.T) {
	r, clk := fake(t)
	var calls []time.Duration
	lc := task.NewLoopingCall(r, func() any {
		calls = append(calls, since(clk))
		return nil
	})
	o := watch(lc.Start(ms(100), true))
	if !lc.Running() {
		t.Fatal("not running after Start")
	}
	pump(t, r, clk, ms(50), ms(100), ms(100))
	if want := []time.Duration{0, ms(150), ms(250)}; !slices.Equal(calls, want) {
		t.Fatalf("calls at %v, want %v", calls, want)
	}
	if o.fired {
		t.Fatal("Start's Deferred fired before Stop")
	}
	if err := lc.Stop(); err != nil {
		t.Fatal(err)
	}
	if !o.fired || o.v != lc || o.err != nil {
		t.Fatalf("after Stop: %+v, want fired with the LoopingCall", o)
	}
	if lc.Running() {
		t.Error("running after Stop")
	}
	noPending(t, r)
}

// TestDelayedStart is testDelayedStart: started later, two calls by 0.25s.
func TestDelayedStart(t *testing.T) {
	r, clk := fake(t)
	var calls []time.Duration
	lc := task.NewLoopingCall(r, func() any {
		calls = append(calls, since(clk))
		return nil
	})
	o := watch(lc.Start(ms(100), false))
	if len(calls) != 0 {
		t.Fatal("called at Start with now=false")
	}
	pump(t, r, clk, ms(50), ms(100), ms(100))
	if want := []time.Duration{ms(150), ms(250)}; !slices.Equal(calls, want) {
		t.Fatalf("calls at %v, want %v", calls, want)
	}
	lc.Stop()
	if o.v != lc {
		t.Fatalf("Start's Deferred: %+v", o)
	}
	noPending(t, r)
}

// TestBadDelay is testBadDelay: a negative interval is an error, and the
// LoopingCall is left stopped.
func TestBadDelay(t *testing.T) {
	r, _ := fake(t)
	called := false
	lc := task.NewLoopingCall(r, func() any { called = true; return nil })
	o := watch(lc.Start(-time.Second, true))
	if !errors.Is(o.err, task.ErrNegativeInterval) {
		t.Fatalf("Start(-1s): %+v, want ErrNegativeInterval", o)
	}
	if called || lc.Running() {
		t.Fatalf("called=%v running=%v after a bad Start", called, lc.Running())
	}
	if err := lc.SetInterval(-1); !errors.Is(err, task.ErrNegativeInterval) {
		t.Errorf("SetInterval(-1) = %v", err)
	}
	noPending(t, r)
}

// TestStoppingBeforeFirstCall is testStopAtOnce and
// testStoppingBeforeDelayedStart: Stop right after a delayed Start
// prevents every call and cancels the timer.
func TestStoppingBeforeFirstCall(t *testing.T) {
	for _, interval := range []time.Duration{0, 10 * time.Second} {
		r, clk := fake(t)
		ran := 0
		lc := task.NewLoopingCall(r, func() any { ran++; return nil })
		o := watch(lc.Start(interval, false))
		if err := lc.Stop(); err != nil {
			t.Fatal(err)
		}
		noPending(t, r)
		advance(t, r, clk, 20*time.Second)
		if ran != 0 || o.v != lc {
			t.Errorf("interval %v: ran %d times, Deferred %+v", interval, ran, o)
		}
	}
}

// TestStopAtOnceLater is testStopAtOnceLater: Stop called from another
// reactor callback also prevents any later call.
func TestStopAtOnceLater(t *testing.T) {
	r, clk := fake(t)
	ran := 0
	lc := task.NewLoopingCall(r, func() any { ran++; return nil })
	lc.Start(time.Second, false)
	r.CallLater(0, func() { lc.Stop() })
	pass(t, r)
	advance(t, r, clk, 5*time.Second)
	if ran != 0 {
		t.Fatalf("ran %d times after Stop", ran)
	}
	noPending(t, r)
}

// TestMisuseIsAnError: Start on a running loop, Stop and Reset on a
// stopped one are errors, never panics, and leave the loop as it was.
func TestMisuseIsAnError(t *testing.T) {
	r, clk := fake(t)
	ran := 0
	lc := task.NewLoopingCall(r, func() any { ran++; return nil })
	if err := lc.Stop(); !errors.Is(err, task.ErrNotRunning) {
		t.Errorf("Stop before Start = %v", err)
	}
	if err := lc.Reset(); !errors.Is(err, task.ErrNotRunning) {
		t.Errorf("Reset before Start = %v", err)
	}
	first := watch(lc.Start(time.Second, false))
	second := watch(lc.Start(time.Second, true))
	if !errors.Is(second.err, task.ErrAlreadyRunning) {
		t.Errorf("second Start: %+v, want ErrAlreadyRunning", second)
	}
	if ran != 0 || first.fired || !lc.Running() {
		t.Errorf("second Start disturbed the first: ran=%d first=%+v", ran, first)
	}
	advance(t, r, clk, time.Second)
	if ran != 1 {
		t.Errorf("ran %d times, want 1", ran)
	}
	lc.Stop()
	if err := lc.Stop(); !errors.Is(err, task.ErrNotRunning) {
		t.Errorf("second Stop = %v", err)
	}
	if first.n != 1 {
		t.Errorf("Start's Deferred fired %d times", first.n)
	}
}

// TestFailure is testFailure: an error from the function stops the loop
// and fails Start's Deferred with it; so does a panic.
func TestFailure(t *testing.T) {
	cases := map[string]func() any{
		"error": func() any { return errBoom },
		"panic": func() any { panic(errBoom) },
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			r, clk := fake(t)
			calls := 0
			lc := task.NewLoopingCall(r, func() any {
				calls++
				if calls == 2 {
					return f()
				}
				return nil
			})
			o := watch(lc.Start(ms(100), true))
			advance(t, r, clk, ms(100))
			if !errors.Is(o.err, errBoom) {
				t.Fatalf("Start's Deferred: %+v, want errBoom", o)
			}
			var pe *deferred.PanicError
			if errors.As(o.err, &pe) != (name == "panic") {
				t.Errorf("PanicError in %v: %v", o.err, pe)
			}
			if lc.Running() {
				t.Error("still running after the failure")
			}
			noPending(t, r)
			advance(t, r, clk, time.Second)
			if calls != 2 {
				t.Errorf("%d calls, want 2", calls)
			}
		})
	}
}

// TestFailAndStop is testFailAndStop: a function that stops the loop and
// then fails fails Start's Deferred.
func TestFailAndStop(t *testing.T) {
	r, _ := fake(t)
	var lc *task.LoopingCall
	lc = task.NewLoopingCall(r, func() any {
		lc.Stop()
		return errBoom
	})
	o := watch(lc.Start(ms(100), true))
	if !errors.Is(o.err, errBoom) || o.n != 1 {
		t.Fatalf("Start's Deferred: %+v, want errBoom once", o)
	}
	noPending(t, r)
}

// TestEveryIteration is testEveryIteration: with an interval of zero the
// function runs once per reactor pass (so it cannot starve the loop), and
// stopping from inside it ends the run after the sixth call.
func TestEveryIteration(t *testing.T) {
	r, _ := fake(t)
	ran := 0
	var lc *task.LoopingCall
	lc = task.NewLoopingCall(r, func() any {
		ran++
		if ran > 5 {
			lc.Stop()
		}
		return nil
	})
	o := watch(lc.Start(0, true))
	for pass := 1; pass <= 10 && !o.fired; pass++ {
		if err := r.RunOnce(0); err != nil {
			t.Fatal(err)
		}
		if ran != pass+1 && !o.fired {
			t.Fatalf("after %d passes, %d calls; want one per pass", pass, ran)
		}
	}
	if ran != 6 || o.v != lc {
		t.Fatalf("ran %d times, Deferred %+v; want 6 and the LoopingCall", ran, o)
	}
	noPending(t, r)
}

// TestStopInsideFunction: Stop from inside the function ends the run
// after that call; Start's Deferred fires as the function returns.
func TestStopInsideFunction(t *testing.T) {
	r, clk := fake(t)
	ran := 0
	var lc *task.LoopingCall
	var o *outcome
	lc = task.NewLoopingCall(r, func() any {
		ran++
		if ran == 3 {
			if err := lc.Stop(); err != nil {
				t.Errorf("Stop inside: %v", err)
			}
			if o.fired {
				t.Error("Start's Deferred fired before the function returned")
			}
		}
		return nil
	})
	o = watch(lc.Start(time.Second, false))
	pump(t, r, clk, time.Second, time.Second, time.Second, time.Second)
	if ran != 3 || o.v != lc || lc.Running() {
		t.Fatalf("ran %d, Deferred %+v, running %v", ran, o, lc.Running())
	}
	noPending(t, r)
}

// TestRestartAfterStop: a stopped LoopingCall starts again, with a new
// Deferred and a new grid.
func TestRestartAfterStop(t *testing.T) {
	r, clk := fake(t)
	var calls []time.Duration
	lc := task.NewLoopingCall(r, func() any {
		calls = append(calls, since(clk))
		return nil
	})
	first := watch(lc.Start(time.Second, true))
	advance(t, r, clk, time.Second)
	lc.Stop()
	advance(t, r, clk, ms(500))
	second := watch(lc.Start(2*time.Second, false))
	pump(t, r, clk, 2*time.Second, 2*time.Second)
	lc.Stop()
	want := []time.Duration{0, time.Second, ms(3500), ms(5500)}
	if !slices.Equal(calls, want) {
		t.Fatalf("calls at %v, want %v", calls, want)
	}
	if first.n != 1 || second.n != 1 || first.v != lc || second.v != lc {
		t.Fatalf("Deferreds: %+v %+v", first, second)
	}
	if lc.Interval() != 2*time.Second {
		t.Errorf("Interval() = %v", lc.Interval())
	}
	noPending(t, r)
}

// TestRestartInsideFunction: stopping and starting again from inside the
// function fires the first run's Deferred once and leaves exactly one
// run going.
func TestRestartInsideFunction(t *testing.T) {
	r, clk := fake(t)
	ran := 0
	var lc *task.LoopingCall
	var second *outcome
	lc = task.NewLoopingCall(r, func() any {
		ran++
		if ran == 2 {
			lc.Stop()
			second = watch(lc.Start(time.Second, false))
		}
		return nil
	})
	first := watch(lc.Start(time.Second, true))
	advance(t, r, clk, time.Second)
	if first.n != 1 || first.v != lc {
		t.Fatalf("first run's Deferred: %+v", first)
	}
	if n := len(r.DelayedCalls()); n != 1 {
		t.Fatalf("%d calls scheduled, want 1", n)
	}
	pump(t, r, clk, time.Second, time.Second)
	if ran != 4 {
		t.Fatalf("ran %d times, want 4", ran)
	}
	lc.Stop()
	if second.n != 1 {
		t.Fatalf("second run's Deferred: %+v", second)
	}
}

// TestReset is Twisted's test_reset: Reset skips the call due and
// restarts the interval from now.
func TestReset(t *testing.T) {
	r, clk := fake(t)
	ran := 0
	lc := task.NewLoopingCall(r, func() any { ran++; return nil })
	lc.Start(2*time.Second, false)
	advance(t, r, clk, time.Second)
	if err := lc.Reset(); err != nil {
		t.Fatal(err)
	}
	advance(t, r, clk, time.Second)
	if ran != 0 {
		t.Fatal("called at the time Reset skipped")
	}
	advance(t, r, clk, time.Second)
	if ran != 1 {
		t.Fatalf("ran %d times, want 1", ran)
	}
	// The grid now starts at the Reset: the next call is at 5s.
	advance(t, r, clk, ms(1999))
	if ran != 1 {
		t.Fatal("called before the next grid point")
	}
	advance(t, r, clk, ms(1))
	if ran != 2 {
		t.Fatalf("ran %d times, want 2", ran)
	}
	lc.Stop()
}

// TestResetInsideFunction: a Reset from inside the function makes the
// next call one interval after it.
func TestResetInsideFunction(t *testing.T) {
	r, clk := fake(t)
	var calls []time.Duration
	var lc *task.LoopingCall
	lc = task.NewLoopingCall(r, func() any {
		calls = append(calls, since(clk))
		if len(calls) == 2 {
			clk.Advance(ms(300)) // the function takes 0.3s
			lc.Reset()
		}
		return nil
	})
	lc.Start(time.Second, true)
	pump(t, r, clk, time.Second, time.Second, ms(300))
	lc.Stop()
	want := []time.Duration{0, time.Second, ms(2300)}
	if !slices.Equal(calls, want) {
		t.Fatalf("calls at %v, want %v", calls, want)
	}
}

// TestCallbackTimeSkips is test_callbackTimeSkips: when the function
// itself takes longer than an interval, the next call is at the first
// grid point still in the future; one that is now is already past.
func TestCallbackTimeSkips(t *testing.T) {
	r, clk := fake(t)
	var times []time.Duration
	var duration time.Duration
	lc := task.NewLoopingCall(r, func() any {
		times = append(times, since(clk))
		clk.Advance(duration)
		return nil
	})
	duration = 2 * time.Second
	lc.Start(ms(500), true)
	if !slices.Equal(times, []time.Duration{0}) || since(clk) != 2*time.Second {
		t.Fatalf("times %v, clock %v", times, since(clk))
	}
	advance(t, r, clk, 0) // 2s is the present, not the future: skipped
	if len(times) != 1 {
		t.Fatalf("times %v", times)
	}
	duration = time.Second
	advance(t, r, clk, ms(500))
	if !slices.Equal(times, []time.Duration{0, ms(2500)}) || since(clk) != ms(3500) {
		t.Fatalf("times %v, clock %v", times, since(clk))
	}
	advance(t, r, clk, 0)
	duration = 0
	advance(t, r, clk, ms(500))
	if !slices.Equal(times, []time.Duration{0, ms(2500), 4 * time.Second}) {
		t.Fatalf("times %v", times)
	}
	lc.Stop()
}

// TestReactorTimeSkips is test_reactorTimeSkips: when the loop itself is
// late, the missed calls are skipped, not made in a burst.
func TestReactorTimeSkips(t *testing.T) {
	r, clk := fake(t)
	var times []time.Duration
	lc := task.NewLoopingCall(r, func() any {
		times = append(times, since(clk))
		return nil
	})
	lc.Start(ms(500), true)
	advance(t, r, clk, 2*time.Second)
	advance(t, r, clk, time.Second)
	advance(t, r, clk, 0)
	want := []time.Duration{0, 2 * time.Second, 3 * time.Second}
	if !slices.Equal(times, want) {
		t.Fatalf("times %v, want %v", times, want)
	}
	lc.Stop()
}

// TestWaitDeferred is testWaitDeferred: a function returning a Deferred is
// not called again before it fires; stopping from its callback leaves
// nothing scheduled.
func TestWaitDeferred(t *testing.T) {
	r, clk := fake(t)
	ran := 0
	var lc *task.LoopingCall
	lc = task.NewLoopingCall(r, func() any {
		ran++
		d := deferred.New()
		d.AddCallback(func(any) any { return lc.Stop() })
		r.CallLater(time.Second, func() { d.Callback(nil) })
		return d
	})
	o := watch(lc.Start(ms(200), true))
	pump(t, r, clk, ms(200), ms(800))
	if ran != 1 || o.v != lc {
		t.Fatalf("ran %d times, Deferred %+v", ran, o)
	}
	noPending(t, r)
}

// TestFailurePropagation is testFailurePropagation: a Deferred returned by
// the function that fails stops the loop and fails Start's Deferred.
func TestFailurePropagation(t *testing.T) {
	r, clk := fake(t)
	lc := task.NewLoopingCall(r, func() any {
		d := deferred.New()
		r.CallLater(ms(300), func() { d.Errback(errBoom) })
		return d
	})
	o := watch(lc.Start(time.Second, true))
	advance(t, r, clk, ms(300))
	if !errors.Is(o.err, errBoom) || lc.Running() {
		t.Fatalf("Deferred %+v, running %v", o, lc.Running())
	}
	noPending(t, r)
}

// TestDeferredDelaysNextCall: the next call after a returned Deferred
// fires is at the first grid point after it fired, and a Deferred that
// has already fired does not delay anything.
func TestDeferredDelaysNextCall(t *testing.T) {
	r, clk := fake(t)
	var times []time.Duration
	lc := task.NewLoopingCall(r, func() any {
		times = append(times, since(clk))
		if len(times) == 2 {
			d := deferred.New()
			r.CallLater(ms(2500), func() { d.Callback("ignored") })
			return d
		}
		return deferred.Succeed("ignored")
	})
	lc.Start(time.Second, true)
	for range 8 {
		advance(t, r, clk, ms(500))
	}
	lc.Stop()
	// Call 2 at 1s waits until 3.5s; the next grid point is 4s.
	want := []time.Duration{0, time.Second, 4 * time.Second}
	if !slices.Equal(times, want) {
		t.Fatalf("times %v, want %v", times, want)
	}
}

// TestStopWhileWaiting: Stop while the function's Deferred is pending
// makes no further call, and Start's Deferred fires once that one does.
// A restart meanwhile is a new run that the old Deferred does not touch.
func TestStopWhileWaiting(t *testing.T) {
	r, clk := fake(t)
	ran := 0
	var pending *deferred.Deferred
	lc := task.NewLoopingCall(r, func() any {
		ran++
		if ran == 1 {
			pending = deferred.New()
			return pending
		}
		return nil
	})
	first := watch(lc.Start(time.Second, true))
	if err := lc.Stop(); err != nil {
		t.Fatal(err)
	}
	if first.fired || lc.Running() {
		t.Fatalf("after Stop: %+v, running %v", first, lc.Running())
	}
	second := watch(lc.Start(time.Second, false))
	pending.Callback(nil)
	if first.n != 1 || first.v != lc || second.fired {
		t.Fatalf("after the Deferred fired: first %+v, second %+v", first, second)
	}
	if n := len(r.DelayedCalls()); n != 1 {
		t.Fatalf("%d calls scheduled, want the second run's one", n)
	}
	pump(t, r, clk, time.Second, time.Second)
	if ran != 3 {
		t.Fatalf("ran %d times, want 3", ran)
	}
	lc.Stop()
	if second.n != 1 {
		t.Fatalf("second %+v", second)
	}
}

// TestNilResults: a nil *Deferred counts as nil, and a missing function is
// an error, not a panic.
func TestNilResults(t *testing.T) {
	r, clk := fake(t)
	ran := 0
	lc := task.NewLoopingCall(r, func() any {
		ran++
		var d *deferred.Deferred
		return d
	})
	lc.Start(time.Second, true)
	advance(t, r, clk, time.Second)
	if ran != 2 {
		t.Fatalf("ran %d times", ran)
	}
	lc.Stop()

	o := watch(task.NewLoopingCall(r, nil).Start(time.Second, true))
	if o.err == nil {
		t.Error("a LoopingCall without a function started")
	}
	o = watch(task.NewLoopingCallWithCount(r, nil).Start(time.Second, true))
	if o.err == nil {
		t.Error("a counting LoopingCall without a function started")
	}
}

// TestOnRealReactor runs a LoopingCall on a running reactor and the
// system clock (Twisted's ReactorLoopTests).
func TestOnRealReactor(t *testing.T) {
	loop := realLoop(t)
	r := loop.Reactor()
	var times []time.Time
	var lc *task.LoopingCall
	lc = task.NewLoopingCall(r, func() any {
		times = append(times, r.Now())
		if len(times) == 4 {
			lc.Stop()
		}
		return nil
	})
	var o *outcome
	r.CallSoon(func() {
		o = watch(lc.Start(5*time.Millisecond, true))
		o2 := watch(lc.Start(time.Millisecond, true))
		if !errors.Is(o2.err, task.ErrAlreadyRunning) {
			t.Errorf("second Start: %+v", o2)
		}
	})
	stopWhenFired := func() {
		var check func()
		check = func() {
			if o != nil && o.fired {
				r.Stop()
				return
			}
			r.CallLater(time.Millisecond, check)
		}
		check()
	}
	r.CallSoon(stopWhenFired)
	reactortest.RunFor(t, loop, 5*time.Second)
	if len(times) != 4 || o.v != lc {
		t.Fatalf("%d calls, Deferred %+v", len(times), o)
	}
	start := times[0]
	for i, at := range times[1:] {
		if at.Sub(start) < time.Duration(i+1)*5*time.Millisecond {
			t.Errorf("call %d at %v, before its grid point", i+1, at.Sub(start))
		}
	}
}
