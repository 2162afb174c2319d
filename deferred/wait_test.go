package deferred

import (
	"errors"
	"runtime/debug"
	"testing"
)

// Tests of a Deferred waiting on another: cycles of waits and the pause
// count kept apart from the wait.

// limitStack makes a runaway recursion fail fast instead of growing the
// stack to the default gigabyte.
func limitStack(t *testing.T) {
	old := debug.SetMaxStack(64 << 20)
	t.Cleanup(func() { debug.SetMaxStack(old) })
}

// mutualWait returns two Deferreds that wait on each other: a callback of
// a returned b, then a callback of b returned a.
func mutualWait() (a, b *Deferred) {
	a, b = New(), New()
	a.AddCallback(func(any) any { return b })
	b.AddCallback(func(any) any { return a })
	a.Callback("a")
	b.Callback("b")
	return a, b
}

func TestCancelMutualWaitFailsWithErrWaitCycle(t *testing.T) {
	limitStack(t)
	for _, cancelB := range []bool{false, true} {
		a, b := mutualWait()
		var aGot, bGot []any
		a.AddBoth(func(r any) any { aGot = append(aGot, r); return nil })
		b.AddBoth(func(r any) any { bGot = append(bGot, r); return nil })
		if aGot != nil || bGot != nil {
			t.Fatalf("a mutual wait ran callbacks before any Cancel: %v %v", aGot, bGot)
		}
		if cancelB {
			b.Cancel()
		} else {
			a.Cancel()
		}
		// Both chains go on, each once, with ErrWaitCycle.
		if len(aGot) != 1 || len(bGot) != 1 {
			t.Fatalf("cancel b %v: a's callback ran %d times, b's %d", cancelB, len(aGot), len(bGot))
		}
		for _, r := range []any{aGot[0], bGot[0]} {
			if f, ok := r.(*Failure); !ok || !errors.Is(f, ErrWaitCycle) {
				t.Fatalf("cancel b %v: results %v and %v, want failures wrapping ErrWaitCycle", cancelB, aGot[0], bGot[0])
			}
		}
		a.Cancel() // both have results now: nothing happens
		b.Cancel()
	}
}

// A Deferred waiting on a ring of three, itself outside the ring: cancelling
// it breaks the ring and its own chain gets the failure.
func TestCancelWaitOnACycleOfThree(t *testing.T) {
	limitStack(t)
	x, y, z := New(), New(), New()
	x.AddCallback(func(any) any { return y })
	y.AddCallback(func(any) any { return z })
	z.AddCallback(func(any) any { return x })
	x.Callback(nil)
	y.Callback(nil)
	z.Callback(nil)
	outer := New()
	outer.AddCallback(func(any) any { return x })
	outer.Callback(nil)
	outer.Cancel()
	if f := failureOf(t, outer); !errors.Is(f, ErrWaitCycle) {
		t.Fatalf("outer got %v", f)
	}
	for _, d := range []*Deferred{y, z} {
		if f := failureOf(t, d); !errors.Is(f, ErrWaitCycle) {
			t.Fatalf("%v got %v", d, f)
		}
	}
	// x handed its failure to outer, which waited on it.
	if v := resultOf(t, x); v != nil {
		t.Fatalf("x kept %v", v)
	}
}

// Cancel follows a long chain of waits to the innermost Deferred without
// recursing.
func TestCancelLongWaitChain(t *testing.T) {
	limitStack(t)
	const n = 200_000
	innermost := New()
	d := innermost
	for range n {
		next := d
		w := New()
		w.AddCallback(func(any) any { return next })
		w.Callback(nil)
		d = w
	}
	d.Cancel()
	if f := failureOf(t, d); !errors.Is(f, ErrCancelled) {
		t.Fatalf("got %v", f)
	}
}

func TestCallbackReturningItsOwnDeferredIsAWaitCycle(t *testing.T) {
	d := New()
	d.AddCallback(func(any) any { return d })
	d.Callback(nil)
	if f := failureOf(t, d); !errors.Is(f, ErrWaitCycle) {
		t.Fatalf("got %v", f)
	}
}

func TestUnpauseOfAWaitingDeferredDoesNothing(t *testing.T) {
	d, inner := New(), New()
	d.AddCallback(func(any) any { return inner })
	var got []any
	d.AddCallback(func(v any) any { got = append(got, v); return v })
	d.Callback(1)
	d.Unpause() // d waits on inner, it is not paused
	if got != nil {
		t.Fatalf("Unpause ran the next callback with %v while d waits on inner", got)
	}
	inner.Callback(2)
	if len(got) != 1 || got[0] != 2 {
		t.Fatalf("next callback got %v, want [2]", got)
	}
	if v := resultOf(t, d); v != 2 {
		t.Fatalf("d's result %v, want 2", v)
	}
}

// A Pause made while the Deferred waits holds the chain after the inner
// result arrives, until the matching Unpause.
func TestPauseWhileWaiting(t *testing.T) {
	d, inner := New(), New()
	d.AddCallback(func(any) any { return inner })
	var got []any
	d.AddCallback(func(v any) any { got = append(got, v); return v })
	d.Callback(1)
	d.Pause()
	inner.Callback(2)
	if got != nil {
		t.Fatalf("ran while paused: %v", got)
	}
	d.Unpause()
	if len(got) != 1 || got[0] != 2 {
		t.Fatalf("got %v after Unpause", got)
	}
	d.Unpause() // one more than Pause: nothing
	if v := resultOf(t, d); v != 2 {
		t.Fatalf("got %v", v)
	}
}

// An extra Unpause of a Deferred waiting inside a longer chain of waits
// leaves every Deferred of the chain intact.
func TestUnpauseInsideAWaitChain(t *testing.T) {
	outer, middle, inner := New(), New(), New()
	outer.AddCallback(func(any) any { return middle })
	middle.AddCallback(func(any) any { return inner })
	outer.Callback(nil)
	middle.Callback(nil)
	for _, d := range []*Deferred{outer, middle, inner} {
		d.Unpause()
	}
	inner.Callback("v")
	if v := resultOf(t, outer); v != "v" {
		t.Fatalf("outer got %v", v)
	}
}

// A Deferred that hands its result to a waiter that is paused goes on with
// its own later callbacks: only the waiter stops.
func TestPausedWaiterDoesNotStallTheDeferredItWaitedOn(t *testing.T) {
	inner, outer := New(), New()
	outer.AddCallback(func(any) any { return inner })
	var outerGot []any
	outer.AddCallback(func(v any) any { outerGot = append(outerGot, v); return v })
	outer.Callback(nil) // outer waits on inner
	outer.Pause()
	var innerGot []any
	inner.AddCallback(func(v any) any { innerGot = append(innerGot, v); return "inner's own" })
	inner.Callback(1)
	if len(innerGot) != 1 || innerGot[0] != nil {
		t.Fatalf("inner's callback after the hand-over got %v, want [nil] at once", innerGot)
	}
	if outerGot != nil {
		t.Fatalf("paused outer ran its callback with %v", outerGot)
	}
	outer.Unpause()
	if len(outerGot) != 1 || outerGot[0] != 1 {
		t.Fatalf("outer got %v after Unpause, want [1]", outerGot)
	}
}
