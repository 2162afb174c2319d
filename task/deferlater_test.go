package task_test

import (
	"errors"
	"testing"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/task"
)

// TestDeferLaterCallback is DeferLaterTests.test_callback: the Deferred
// fires with f's result once the delay has passed, not before.
func TestDeferLaterCallback(t *testing.T) {
	r, clk := fake(t)
	ran := 0
	o := watch(task.DeferLater(r, 3*time.Second, func() any {
		ran++
		return "flag"
	}))
	advance(t, r, clk, 2*time.Second)
	if ran != 0 || o.fired {
		t.Fatalf("before the delay: ran %d, %+v", ran, o)
	}
	advance(t, r, clk, time.Second)
	if ran != 1 || o.v != "flag" {
		t.Fatalf("after the delay: ran %d, %+v", ran, o)
	}
	noPending(t, r)
}

// TestDeferLaterErrback is test_errback: an error or a panic from f fails
// the Deferred.
func TestDeferLaterErrback(t *testing.T) {
	r, clk := fake(t)
	failed := watch(task.DeferLater(r, time.Second, func() any { return errBoom }))
	panicked := watch(task.DeferLater(r, time.Second, func() any { panic(errBoom) }))
	advance(t, r, clk, time.Second)
	if !errors.Is(failed.err, errBoom) {
		t.Errorf("error: %+v", failed)
	}
	var pe *deferred.PanicError
	if !errors.As(panicked.err, &pe) || !errors.Is(panicked.err, errBoom) {
		t.Errorf("panic: %+v", panicked)
	}
}

// TestDeferLaterCancel is test_cancel: cancelling before the delay stops
// the call, leaves no timer, and fails the Deferred with ErrCancelled.
func TestDeferLaterCancel(t *testing.T) {
	r, clk := fake(t)
	ran := 0
	d := task.DeferLater(r, time.Second, func() any { ran++; return nil })
	o := watch(d)
	d.Cancel()
	if !errors.Is(o.err, deferred.ErrCancelled) {
		t.Fatalf("cancelled: %+v", o)
	}
	noPending(t, r)
	advance(t, r, clk, 2*time.Second)
	if ran != 0 || o.n != 1 {
		t.Fatalf("ran %d, fired %d times", ran, o.n)
	}
}

// TestDeferLaterNoCallback is test_noCallback: without f the Deferred fires
// with nil after the delay.
func TestDeferLaterNoCallback(t *testing.T) {
	r, clk := fake(t)
	o := watch(task.DeferLater(r, 2*time.Second, nil))
	pass(t, r)
	if o.fired {
		t.Fatal("fired before the delay")
	}
	advance(t, r, clk, 2*time.Second)
	if !o.fired || o.v != nil || o.err != nil {
		t.Fatalf("%+v, want nil", o)
	}
}

// TestDeferLaterChains: a Deferred returned by f is waited on, and
// cancelling after the delay cancels what f returned.
func TestDeferLaterChains(t *testing.T) {
	r, clk := fake(t)
	inner := task.DeferLater(r, 2*time.Second, func() any { return "inner" })
	o := watch(task.DeferLater(r, time.Second, func() any { return inner }))
	advance(t, r, clk, time.Second)
	if o.fired {
		t.Fatal("did not wait for f's Deferred")
	}
	advance(t, r, clk, time.Second)
	if o.v != "inner" {
		t.Fatalf("%+v, want inner", o)
	}

	waiting := task.DeferLater(r, time.Second, func() any {
		return task.DeferLater(r, time.Hour, nil)
	})
	w := watch(waiting)
	advance(t, r, clk, time.Second)
	waiting.Cancel()
	if !errors.Is(w.err, deferred.ErrCancelled) {
		t.Fatalf("%+v, want ErrCancelled", w)
	}
	noPending(t, r)
}
