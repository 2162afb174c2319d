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

// The tests below follow Twisted's DeferredAddTimeoutTests with a custom
// onTimeoutCancel (here AddTimeoutFunc's onTimeout).

func overridden(any, time.Duration) any { return "OVERRIDDEN" }

func TestTimedOutCustom(t *testing.T) {
	clock := &fakeClock{}
	d := New()
	var gotTimeout time.Duration
	var gotResult any
	AddTimeoutFunc(d, clock.CallLater, 10*time.Second, func(r any, timeout time.Duration) any {
		gotResult, gotTimeout = r, timeout
		return "OVERRIDDEN"
	})
	assertNoResult(t, d)
	clock.Advance(15 * time.Second)
	if v := resultOf(t, d); v != "OVERRIDDEN" {
		t.Fatalf("got %v", v)
	}
	if f, ok := gotResult.(*Failure); !ok || !errors.Is(f, ErrCancelled) || gotTimeout != 10*time.Second {
		t.Fatalf("onTimeout got %v and %v, want the ErrCancelled failure and 10s", gotResult, gotTimeout)
	}
}

func TestSuccessResultBeforeTimeoutCustom(t *testing.T) {
	clock := &fakeClock{}
	d := New()
	AddTimeoutFunc(d, clock.CallLater, 10*time.Second, overridden)
	inner := New()
	var called any
	d.AddCallback(func(v any) any { called = v; return inner })
	d.Callback("results")
	if called != "results" {
		t.Fatalf("callback got %v", called)
	}
	clock.Advance(15 * time.Second)
	assertNoResult(t, inner)
}

func TestFailureBeforeTimeoutCustom(t *testing.T) {
	clock := &fakeClock{}
	d := New()
	AddTimeoutFunc(d, clock.CallLater, 10*time.Second, overridden)
	inner := New()
	var got error
	d.AddErrback(func(err error) any { got = err; return inner })
	errFail := errors.New("fail")
	d.Errback(errFail)
	if !errors.Is(got, errFail) {
		t.Fatalf("errback got %v", got)
	}
	clock.Advance(15 * time.Second)
	assertNoResult(t, inner)
}

func TestCancelBeforeTimeoutCustom(t *testing.T) {
	clock := &fakeClock{}
	d := New()
	called := false
	AddTimeoutFunc(d, clock.CallLater, 10*time.Second, func(any, time.Duration) any { called = true; return "OVERRIDDEN" })
	inner := New()
	var got error
	d.AddErrback(func(err error) any { got = err; return inner })
	d.Cancel()
	if !errors.Is(got, ErrCancelled) || called {
		t.Fatalf("errback got %v, onTimeout called %v: a Cancel before the deadline is no timeout", got, called)
	}
	clock.Advance(15 * time.Second)
	assertNoResult(t, inner)
}

// onTimeout tells a timeout from the canceller's own result: it runs only
// on a timeout, whatever the canceller gave.
func TestProvidedCancelCalledBeforeTimeoutCustom(t *testing.T) {
	clock := &fakeClock{}
	d := NewWithCanceller(func(d *Deferred) { d.Errback(errors.New("what!")) })
	AddTimeoutFunc(d, clock.CallLater, 10*time.Second, overridden)
	assertNoResult(t, d)
	clock.Advance(15 * time.Second)
	if v := resultOf(t, d); v != "OVERRIDDEN" {
		t.Fatalf("got %v", v)
	}
}

func TestErrbackAddedBeforeTimeoutCustom(t *testing.T) {
	clock := &fakeClock{}
	d := New()
	var got error
	d.AddErrback(func(err error) any { got = err; return err })
	AddTimeoutFunc(d, clock.CallLater, 10*time.Second, overridden)
	clock.Advance(15 * time.Second)
	if !errors.Is(got, ErrCancelled) {
		t.Fatalf("earlier errback got %v", got)
	}
	if v := resultOf(t, d); v != "OVERRIDDEN" {
		t.Fatalf("got %v", v)
	}
}

func TestErrbackAddedBeforeTimeoutSuppressesCancellationCustom(t *testing.T) {
	clock := &fakeClock{}
	d := New()
	var got error
	d.AddErrback(func(err error) any { got = err; return nil })
	AddTimeoutFunc(d, clock.CallLater, 10*time.Second, overridden)
	clock.Advance(15 * time.Second)
	if !errors.Is(got, ErrCancelled) {
		t.Fatalf("earlier errback got %v", got)
	}
	if v := resultOf(t, d); v != "OVERRIDDEN" {
		t.Fatalf("got %v", v)
	}
}

func TestCallbackAddedToCancelerBeforeTimeoutCustom(t *testing.T) {
	clock := &fakeClock{}
	d := NewWithCanceller(func(d *Deferred) { d.Callback("success") })
	var got any
	d.AddCallback(func(v any) any { got = v; return v })
	AddTimeoutFunc(d, clock.CallLater, 10*time.Second, overridden)
	clock.Advance(15 * time.Second)
	if got != "success" {
		t.Fatalf("callback got %v", got)
	}
	if v := resultOf(t, d); v != "OVERRIDDEN" {
		t.Fatalf("got %v", v)
	}
}

// onTimeout's result flows like a callback's: an error fails the chain, a
// Deferred is waited on.
func TestTimeoutFuncResultFlowsOn(t *testing.T) {
	clock := &fakeClock{}
	errMine := errors.New("gave up")
	d := New()
	AddTimeoutFunc(d, clock.CallLater, time.Second, func(any, time.Duration) any { return errMine })
	clock.Advance(time.Second)
	if f := failureOf(t, d); !errors.Is(f, errMine) {
		t.Fatalf("got %v", f)
	}

	cleanup := New()
	d2 := New()
	AddTimeoutFunc(d2, clock.CallLater, time.Second, func(any, time.Duration) any { return cleanup })
	clock.Advance(time.Second)
	assertNoResult(t, d2)
	cleanup.Callback("cleaned")
	if v := resultOf(t, d2); v != "cleaned" {
		t.Fatalf("got %v", v)
	}
}

// A nil onTimeout is AddTimeout's translation of ErrCancelled to ErrTimeout.
func TestTimeoutFuncNilIsTheDefault(t *testing.T) {
	clock := &fakeClock{}
	d := New()
	AddTimeoutFunc(d, clock.CallLater, time.Second, nil)
	clock.Advance(time.Second)
	if f := failureOf(t, d); !errors.Is(f, ErrTimeout) {
		t.Fatalf("got %v", f)
	}
}
