package deferred

import (
	"errors"
	"testing"
)

// Cancelling a coroutine: Await returns what the awaited thing finally
// gives after its cancellation, as Twisted's inlineCallbacks waits for it,
// even when that comes later.

// An errback of the awaited Deferred runs a cleanup that ends later; Await
// returns the cleanup's result, not ErrCancelled at once.
func TestCancelAsyncWaitsForAnErrbacksDeferred(t *testing.T) {
	loop := newFakeLoop()
	cleanup := New()
	d := New()
	d.AddErrback(func(err error) any {
		return cleanup.AddCallback(func(any) any { return "cleaned up after " + err.Error() })
	})
	var awaited []any
	p := Async(loop, func(co *Co) (any, error) {
		v, err := Await(co, d)
		awaited = append(awaited, v, err)
		return v, err
	})
	loop.drain()
	p.Cancel()
	loop.drain()
	if awaited != nil || p.Settled() {
		t.Fatalf("Await returned %v before the cleanup finished", awaited)
	}
	cleanup.Callback(nil)
	loop.drain()
	if v, err, _ := p.poll(); v != "cleaned up after "+ErrCancelled.Error() || err != nil {
		t.Fatalf("got %v, %v", v, err)
	}
}

// The canceller gives the awaited Deferred a result whose callback hands
// back another Deferred: Await waits for that one.
func TestCancelAsyncWaitsForACancellersDeferred(t *testing.T) {
	loop := newFakeLoop()
	stopped := New()
	d := NewWithCanceller(func(d *Deferred) { d.Callback("stopping") })
	d.AddCallback(func(v any) any {
		return stopped.AddCallback(func(w any) any { return v.(string) + ", " + w.(string) })
	})
	p := Async(loop, func(co *Co) (any, error) { return Await(co, d) })
	loop.drain()
	p.Cancel()
	loop.drain()
	if p.Settled() {
		t.Fatal("settled before the canceller's Deferred fired")
	}
	stopped.Callback("stopped")
	loop.drain()
	if v, err, _ := p.poll(); v != "stopping, stopped" || err != nil {
		t.Fatalf("got %v, %v", v, err)
	}
}

// A nested coroutine translates its cancellation into an error of its own:
// the outer Await returns that error.
func TestCancelAsyncGetsTheNestedCoroutinesTranslation(t *testing.T) {
	loop := newFakeLoop()
	errAborted := errors.New("download aborted")
	inner := Async(loop, func(co *Co) (int, error) {
		if _, err := Await(co, New()); errors.Is(err, ErrCancelled) {
			return 0, errAborted
		}
		return 1, nil
	})
	var got error
	outer := Async(loop, func(co *Co) (int, error) {
		_, err := Await(co, inner)
		got = err
		return 0, err
	})
	loop.drain()
	outer.Cancel()
	loop.drain()
	if !errors.Is(got, errAborted) || errors.Is(got, ErrCancelled) {
		t.Fatalf("outer Await returned %v, want the inner coroutine's errAborted", got)
	}
	if _, err, _ := outer.poll(); !errors.Is(err, errAborted) {
		t.Fatalf("outer got %v", err)
	}
}

// A nested coroutine recovers a value when cancelled: the outer Await
// returns it.
func TestCancelAsyncGetsTheNestedCoroutinesValue(t *testing.T) {
	loop := newFakeLoop()
	inner := Async(loop, func(co *Co) (string, error) {
		if _, err := Await(co, New()); err != nil {
			return "partial result", nil
		}
		return "full result", nil
	})
	outer := Async(loop, func(co *Co) (string, error) { return Await(co, inner) })
	loop.drain()
	outer.Cancel()
	loop.drain()
	if v, err, _ := outer.poll(); v != "partial result" || err != nil {
		t.Fatalf("got %q, %v", v, err)
	}
}

// Cancelling again while the body waits for the result of the first
// cancellation cancels what the awaited Deferred now waits on.
func TestCancelAsyncTwiceCancelsTheCleanup(t *testing.T) {
	loop := newFakeLoop()
	cleanup := New()
	d := New()
	d.AddErrback(func(error) any { return cleanup })
	p := Async(loop, func(co *Co) (any, error) { return Await(co, d) })
	loop.drain()
	p.Cancel()
	loop.drain()
	p.Cancel()
	loop.drain()
	if _, err, ok := p.poll(); !ok || !errors.Is(err, ErrCancelled) {
		t.Fatalf("got %v (settled %v)", err, ok)
	}
	if !cleanup.Called() {
		t.Fatal("the cleanup was not cancelled")
	}
}

// Two coroutines awaiting each other: cancelling one comes back to it
// through the other. That ends in an ErrWaitCycle for both, not in a
// stack overflow nor in a wait forever.
func TestCancelCoroutinesAwaitingEachOther(t *testing.T) {
	limitStack(t)
	loop := newFakeLoop()
	var pa, pb *Promise[int]
	pa = Async(loop, func(co *Co) (int, error) { return Await(co, pb) })
	pb = Async(loop, func(co *Co) (int, error) { return Await(co, pa) })
	loop.drain()
	pa.Cancel()
	loop.drain()
	for _, p := range []*Promise[int]{pa, pb} {
		if _, err, ok := p.poll(); !ok || !errors.Is(err, ErrWaitCycle) {
			t.Fatalf("got %v (settled %v), want ErrWaitCycle", err, ok)
		}
	}
}
