package deferred

import (
	"errors"
	"testing"
	"time"
)

// These tests follow Twisted's DeferredAddTimeoutTests.

func TestTimeoutChainable(t *testing.T) {
	d := New()
	AddTimeout(d, (&fakeClock{}).CallLater, 5*time.Second).
		AddCallback(func(any) any { return "done" })
	d.Callback(nil)
	if got := resultOf(t, d); got != "done" {
		t.Fatalf("got %v", got)
	}
}

func TestSuccessResultBeforeTimeout(t *testing.T) {
	clock := &fakeClock{}
	d := New()
	AddTimeout(d, clock.CallLater, 10*time.Second)
	inner := New()
	var called any
	d.AddCallback(func(v any) any { called = v; return inner })
	d.Callback("results")
	if called != "results" {
		t.Fatalf("callback got %v", called)
	}
	if clock.active() != 0 {
		t.Fatal("a result before the deadline should cancel the timer")
	}
	clock.Advance(15 * time.Second)
	assertNoResult(t, inner)
}

func TestFailureBeforeTimeout(t *testing.T) {
	clock := &fakeClock{}
	d := New()
	AddTimeout(d, clock.CallLater, 10*time.Second)
	inner := New()
	var got error
	d.AddErrback(func(err error) any { got = err; return inner })
	errFail := errors.New("fail")
	d.Errback(errFail)
	if !errors.Is(got, errFail) {
		t.Fatalf("errback got %v", got)
	}
	if clock.active() != 0 {
		t.Fatal("timer still active")
	}
	clock.Advance(15 * time.Second)
	assertNoResult(t, inner)
}

func TestTimedOut(t *testing.T) {
	clock := &fakeClock{}
	d := New()
	AddTimeout(d, clock.CallLater, 10*time.Second)
	assertNoResult(t, d)
	clock.Advance(9 * time.Second)
	assertNoResult(t, d)
	clock.Advance(1 * time.Second)
	f := failureOf(t, d)
	if !errors.Is(f, ErrTimeout) || errors.Is(f, ErrCancelled) {
		t.Fatalf("got %v, want ErrTimeout only", f)
	}
}

func TestTimedOutProvidedCancelSuccess(t *testing.T) {
	clock := &fakeClock{}
	d := NewWithCanceller(func(d *Deferred) { d.Callback("I was cancelled!") })
	AddTimeout(d, clock.CallLater, 10*time.Second)
	assertNoResult(t, d)
	clock.Advance(15 * time.Second)
	if got := resultOf(t, d); got != "I was cancelled!" {
		t.Fatalf("got %v", got)
	}
}

func TestTimedOutProvidedCancelFailure(t *testing.T) {
	clock := &fakeClock{}
	errWhat := errors.New("what!")
	d := NewWithCanceller(func(d *Deferred) { d.Errback(errWhat) })
	AddTimeout(d, clock.CallLater, 10*time.Second)
	clock.Advance(15 * time.Second)
	if f := failureOf(t, d); f.Unwrap() != errWhat {
		t.Fatalf("got %v", f)
	}
}

func TestCancelBeforeTimeout(t *testing.T) {
	clock := &fakeClock{}
	d := New()
	AddTimeout(d, clock.CallLater, 10*time.Second)
	inner := New()
	var got error
	d.AddErrback(func(err error) any { got = err; return inner })
	d.Cancel()
	if !errors.Is(got, ErrCancelled) || errors.Is(got, ErrTimeout) {
		t.Fatalf("errback got %v, want ErrCancelled", got)
	}
	clock.Advance(15 * time.Second)
	assertNoResult(t, inner)
}

func TestErrbackAddedBeforeTimeout(t *testing.T) {
	clock := &fakeClock{}
	d := New()
	var got error
	d.AddErrback(func(err error) any { got = err; return err })
	AddTimeout(d, clock.CallLater, 10*time.Second)
	clock.Advance(15 * time.Second)
	if !errors.Is(got, ErrCancelled) {
		t.Fatalf("earlier errback got %v", got)
	}
	if f := failureOf(t, d); !errors.Is(f, ErrTimeout) {
		t.Fatalf("got %v", f)
	}
}

func TestErrbackAddedBeforeTimeoutSuppressesCancellation(t *testing.T) {
	clock := &fakeClock{}
	d := New()
	var got error
	d.AddErrback(func(err error) any { got = err; return nil })
	AddTimeout(d, clock.CallLater, 10*time.Second)
	clock.Advance(15 * time.Second)
	if !errors.Is(got, ErrCancelled) {
		t.Fatalf("earlier errback got %v", got)
	}
	resultOf(t, d)
}

func TestCallbackAddedToCancelerBeforeTimeout(t *testing.T) {
	clock := &fakeClock{}
	d := NewWithCanceller(func(d *Deferred) { d.Callback("success") })
	var got any
	d.AddCallback(func(v any) any { got = v; return v })
	AddTimeout(d, clock.CallLater, 10*time.Second)
	clock.Advance(15 * time.Second)
	if got != "success" {
		t.Fatalf("callback got %v", got)
	}
	if v := resultOf(t, d); v != "success" {
		t.Fatalf("got %v", v)
	}
}

func TestTimeoutOnFiredDeferredCancelsTimerAtOnce(t *testing.T) {
	clock := &fakeClock{}
	AddTimeout(Succeed(1), clock.CallLater, time.Second)
	if clock.active() != 0 {
		t.Fatal("timer left running for a Deferred that already has its result")
	}
}
