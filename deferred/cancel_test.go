package deferred

import (
	"errors"
	"testing"
)

// These tests follow Twisted's DeferredCancellerTests.

type cancelRecorder struct {
	callback []any
	errback  []error
	count    int // canceller calls
}

func (r *cancelRecorder) add(d *Deferred) {
	d.AddCallbacks(func(v any) any { r.callback = append(r.callback, v); return v },
		func(err error) any { r.errback = append(r.errback, err); return nil })
}

func (r *cancelRecorder) check(t *testing.T) {
	t.Helper()
	if r.count > 1 {
		t.Fatalf("canceller called %d times", r.count)
	}
}

func TestNoCanceller(t *testing.T) {
	var r cancelRecorder
	d := New()
	r.add(d)
	d.Cancel()
	if len(r.errback) != 1 || !errors.Is(r.errback[0], ErrCancelled) || r.callback != nil {
		t.Fatalf("callback %v errback %v", r.callback, r.errback)
	}
}

func TestRaisesAfterCancelAndCallback(t *testing.T) {
	d := New()
	(&cancelRecorder{}).add(d)
	d.Cancel()
	if err := d.Callback(nil); err != nil {
		t.Fatalf("the one late Callback should be swallowed, got %v", err)
	}
	if err := d.Callback(nil); !errors.Is(err, ErrAlreadyCalled) {
		t.Fatalf("second Callback: %v", err)
	}
	if err := d.Errback(errGeneric); !errors.Is(err, ErrAlreadyCalled) {
		t.Fatalf("Errback: %v", err)
	}
}

func TestRaisesAfterCancelAndErrback(t *testing.T) {
	d := New()
	(&cancelRecorder{}).add(d)
	d.Cancel()
	if err := d.Errback(errGeneric); err != nil {
		t.Fatalf("the one late Errback should be swallowed, got %v", err)
	}
	if err := d.Callback(nil); !errors.Is(err, ErrAlreadyCalled) {
		t.Fatalf("Callback: %v", err)
	}
	if err := d.Errback(errGeneric); !errors.Is(err, ErrAlreadyCalled) {
		t.Fatalf("second Errback: %v", err)
	}
}

func TestNoCancellerMultipleCancelsAfterCancelAndCallback(t *testing.T) {
	var r cancelRecorder
	d := New()
	r.add(d)
	d.Cancel()
	current := r.errback[0]
	d.Callback(nil)
	d.Cancel()
	if len(r.errback) != 1 || r.errback[0] != current || r.callback != nil {
		t.Fatalf("callback %v errback %v", r.callback, r.errback)
	}
}

func TestNoCancellerMultipleCancelsAfterCancelAndErrback(t *testing.T) {
	var r cancelRecorder
	d := New()
	r.add(d)
	d.Cancel()
	current := r.errback[0]
	d.Errback(errGeneric)
	d.Cancel()
	if len(r.errback) != 1 || r.errback[0] != current || !errors.Is(current, ErrCancelled) {
		t.Fatalf("errback %v", r.errback)
	}
}

func TestNoCancellerMultipleCancel(t *testing.T) {
	var r cancelRecorder
	d := New()
	r.add(d)
	d.Cancel()
	d.Cancel()
	if len(r.errback) != 1 || !errors.Is(r.errback[0], ErrCancelled) {
		t.Fatalf("errback %v", r.errback)
	}
}

func TestCancellerMultipleCancel(t *testing.T) {
	var r cancelRecorder
	d := NewWithCanceller(func(*Deferred) { r.count++ })
	r.add(d)
	d.Cancel()
	d.Cancel()
	if r.count != 1 || len(r.errback) != 1 || !errors.Is(r.errback[0], ErrCancelled) {
		t.Fatalf("count %d errback %v", r.count, r.errback)
	}
}

func TestSimpleCanceller(t *testing.T) {
	var r cancelRecorder
	d := NewWithCanceller(func(*Deferred) { r.count++ })
	r.add(d)
	d.Cancel()
	r.check(t)
	if r.count != 1 || len(r.errback) != 1 || !errors.Is(r.errback[0], ErrCancelled) {
		t.Fatalf("count %d errback %v", r.count, r.errback)
	}
	// With a canceller, later calls are not swallowed.
	if err := d.Callback(nil); !errors.Is(err, ErrAlreadyCalled) {
		t.Fatalf("Callback: %v", err)
	}
	if err := d.Errback(errGeneric); !errors.Is(err, ErrAlreadyCalled) {
		t.Fatalf("Errback: %v", err)
	}
}

func TestCancellerArg(t *testing.T) {
	var got *Deferred
	d := NewWithCanceller(func(d *Deferred) { got = d })
	d.AddErrback(func(error) any { return nil })
	d.Cancel()
	if got != d {
		t.Fatal("canceller got another Deferred")
	}
}

func TestCancelAfterCallback(t *testing.T) {
	var r cancelRecorder
	d := NewWithCanceller(func(d *Deferred) { r.count++; d.Errback(errGeneric) })
	r.add(d)
	d.Callback("biff!")
	d.Cancel()
	if r.count != 0 || r.errback != nil || len(r.callback) != 1 || r.callback[0] != "biff!" {
		t.Fatalf("count %d callback %v errback %v", r.count, r.callback, r.errback)
	}
}

func TestCancelAfterErrback(t *testing.T) {
	var r cancelRecorder
	d := NewWithCanceller(func(d *Deferred) { r.count++; d.Errback(errGeneric) })
	r.add(d)
	d.Errback(errGeneric)
	d.Cancel()
	if r.count != 0 || len(r.errback) != 1 || errors.Is(r.errback[0], ErrCancelled) {
		t.Fatalf("count %d errback %v", r.count, r.errback)
	}
}

func TestCancellerThatErrbacks(t *testing.T) {
	var r cancelRecorder
	d := NewWithCanceller(func(d *Deferred) { r.count++; d.Errback(errGeneric) })
	r.add(d)
	d.Cancel()
	if r.count != 1 || len(r.errback) != 1 || !errors.Is(r.errback[0], errGeneric) {
		t.Fatalf("count %d errback %v", r.count, r.errback)
	}
}

func TestCancellerThatCallbacks(t *testing.T) {
	var r cancelRecorder
	d := NewWithCanceller(func(d *Deferred) { r.count++; d.Callback("hello!") })
	r.add(d)
	d.Cancel()
	if r.count != 1 || r.errback != nil || len(r.callback) != 1 || r.callback[0] != "hello!" {
		t.Fatalf("count %d callback %v errback %v", r.count, r.callback, r.errback)
	}
}

func TestCancelNestedDeferred(t *testing.T) {
	var r cancelRecorder
	b := NewWithCanceller(func(*Deferred) { r.count++ })
	a := NewWithCanceller(func(*Deferred) { t.Error("a's canceller must not run") })
	a.Callback(nil)
	a.AddCallback(func(any) any { return b })
	a.Cancel()
	r.add(a)
	if r.count != 1 {
		t.Fatalf("b's canceller ran %d times", r.count)
	}
	if len(r.errback) != 1 || !errors.Is(r.errback[0], ErrCancelled) {
		t.Fatalf("a's errback got %v", r.errback)
	}
}

func TestCancelNestedDeferredTransitively(t *testing.T) {
	// a waits on b, which waits on c: cancelling a cancels c.
	cCancelled := false
	c := NewWithCanceller(func(*Deferred) { cCancelled = true })
	b := New()
	b.AddCallback(func(any) any { return c })
	b.Callback(nil)
	a := New()
	a.AddCallback(func(any) any { return b })
	a.Callback(nil)
	a.Cancel()
	if !cCancelled {
		t.Fatal("innermost Deferred not cancelled")
	}
	if f := failureOf(t, a); !errors.Is(f, ErrCancelled) {
		t.Fatalf("a got %v", f)
	}
}

func TestCancellerPanicFailsTheDeferred(t *testing.T) {
	d := NewWithCanceller(func(*Deferred) { panic("canceller broke") })
	d.Cancel()
	f := failureOf(t, d)
	var pe *PanicError
	if !errors.As(f, &pe) || pe.Value != "canceller broke" {
		t.Fatalf("got %v", f)
	}
}

func TestCancelledFailureIsACancelledError(t *testing.T) {
	d := New()
	d.Cancel()
	f := failureOf(t, d)
	var ff *Failure
	if !errors.As(f, &ff) || !errors.Is(ff, ErrCancelled) || f.Stack() == "" {
		t.Fatalf("got %+v", f)
	}
}

// Twisted's test_canceller_circular_reference_*: firing a Deferred drops its
// canceller, so whatever the canceller holds can be collected.
func TestCancellerReleasedWhenFired(t *testing.T) {
	for name, fire := range map[string]func(d *Deferred){
		"callback": func(d *Deferred) { d.Callback(nil) },
		"errback":  func(d *Deferred) { d.Errback(errGeneric); d.AddErrback(func(error) any { return nil }) },
		"non-final": func(d *Deferred) {
			d.AddCallback(func(any) any { return New() })
			d.Callback(nil)
		},
	} {
		d := NewWithCanceller(func(*Deferred) {})
		fire(d)
		if d.canceller != nil {
			t.Errorf("%s: canceller still held", name)
		}
	}
}
