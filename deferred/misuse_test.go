package deferred

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// Misuse (a nil where a value is needed) gives an error that wraps ErrNil
// and names the mistake, never a nil dereference.

// wantNilError fails unless err wraps ErrNil and its message contains
// each of words.
func wantNilError(t *testing.T, what string, err error, words ...string) {
	t.Helper()
	if !errors.Is(err, ErrNil) {
		t.Fatalf("%s: got %v, want an error wrapping ErrNil", what, err)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("%s: %q does not say %q", what, err, w)
		}
	}
}

// noPanic runs f and fails the test, instead of crashing, if it panics.
func noPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("%s panicked: %v", what, p)
		}
	}()
	f()
}

func TestNilMemberOfAList(t *testing.T) {
	for _, c := range []struct {
		name string
		make func([]*Deferred) *Deferred
	}{
		{"DeferredList", func(ds []*Deferred) *Deferred { return DeferredList(ds, 0) }},
		{"Gather", func(ds []*Deferred) *Deferred { return Gather(ds, 0) }},
		{"Race", Race},
	} {
		other := New()
		var d *Deferred
		noPanic(t, c.name, func() { d = c.make([]*Deferred{other, nil}) })
		wantNilError(t, c.name, failureOf(t, d), c.name, "[1]")
		if len(other.cbs) != 0 {
			t.Fatalf("%s: the other members were given callbacks", c.name)
		}
	}
}

func TestAddTimeoutOfNil(t *testing.T) {
	clock := &fakeClock{}
	var d *Deferred
	noPanic(t, "AddTimeout(nil)", func() { d = AddTimeout(nil, clock.CallLater, time.Second) })
	wantNilError(t, "AddTimeout(nil)", failureOf(t, d), "AddTimeout", "Deferred")
	if clock.active() != 0 {
		t.Fatal("a timer was set for a nil Deferred")
	}
	noPanic(t, "the timer of AddTimeout(nil)", func() { clock.Advance(time.Minute) })

	real := New()
	noPanic(t, "AddTimeout with a nil callLater", func() {
		d = AddTimeoutFunc[*fakeTimer](real, nil, time.Second, nil)
	})
	wantNilError(t, "AddTimeout with a nil callLater", failureOf(t, d), "callLater")
	if real.Called() || len(real.cbs) != 0 {
		t.Fatal("the Deferred was changed although no timeout could be set")
	}
}

func TestFromDeferredOfNil(t *testing.T) {
	var p *Promise[int]
	noPanic(t, "FromDeferred(nil)", func() { p = FromDeferred[int](nil) })
	_, err, ok := p.poll()
	if !ok {
		t.Fatal("promise pending")
	}
	wantNilError(t, "FromDeferred(nil)", err, "FromDeferred")
}

func TestAwaitOfNil(t *testing.T) {
	var err error
	noPanic(t, "Await(nil, …)", func() { _, err = Await(nil, Succeed(1)) })
	wantNilError(t, "Await(nil, …)", err, "Await", "Co")

	loop := newFakeLoop()
	var errs []error
	p := Async(loop, func(co *Co) (int, error) {
		_, err := Await(co, (*Deferred)(nil))
		errs = append(errs, err)
		_, err = Await(co, (*Promise[int])(nil))
		errs = append(errs, err)
		_, err = Await(co, Awaitable[string](nil))
		errs = append(errs, err)
		return 0, nil
	})
	loop.drain()
	if !p.Settled() || len(errs) != 3 {
		t.Fatalf("body did not finish: %v", errs)
	}
	for _, err := range errs {
		wantNilError(t, "Await(co, nil)", err, "Await")
	}
}

func TestZeroResolver(t *testing.T) {
	var r Resolver[int]
	var err error
	noPanic(t, "Resolve", func() { err = r.Resolve(1) })
	wantNilError(t, "Resolve", err, "Resolver")
	noPanic(t, "Reject", func() { err = r.Reject(errGeneric) })
	wantNilError(t, "Reject", err, "Resolver")
	noPanic(t, "Emit", func() { r.Emit("progress", 1) })
	noPanic(t, "OnCancel", func() { r.OnCancel(func() {}) })
}

func TestRunOfNil(t *testing.T) {
	var l Lock
	var d *Deferred
	noPanic(t, "Lock.Run(nil)", func() { d = l.Run(nil) })
	wantNilError(t, "Lock.Run(nil)", failureOf(t, d), "Run")
	if l.Locked() {
		t.Fatal("Lock.Run(nil) left the lock held")
	}
	s, _ := NewSemaphore(1)
	noPanic(t, "Semaphore.Run(nil)", func() { d = s.Run(nil) })
	wantNilError(t, "Semaphore.Run(nil)", failureOf(t, d), "Run")
	if s.Tokens() != 1 {
		t.Fatal("Semaphore.Run(nil) kept a token")
	}
}

func TestMaybeDeferredOfNil(t *testing.T) {
	var d *Deferred
	noPanic(t, "MaybeDeferred(nil)", func() { d = MaybeDeferred(nil) })
	wantNilError(t, "MaybeDeferred(nil)", failureOf(t, d), "MaybeDeferred")
}

func TestChainToNil(t *testing.T) {
	d := New()
	noPanic(t, "Chain(nil)", func() { d.Chain(nil) })
	noPanic(t, "Callback after Chain(nil)", func() { d.Callback(1) })
	wantNilError(t, "Chain(nil)", failureOf(t, d), "Chain")
}

func TestAsyncOfNil(t *testing.T) {
	var p *Promise[int]
	noPanic(t, "Async(nil, …)", func() { p = Async(nil, func(*Co) (int, error) { return 1, nil }) })
	_, err, _ := p.poll()
	wantNilError(t, "Async(nil, …)", err, "Async", "Loop")

	loop := newFakeLoop()
	noPanic(t, "Async(loop, nil)", func() { p = Async[int](loop, nil) })
	loop.drain()
	_, err, _ = p.poll()
	wantNilError(t, "Async(loop, nil)", err, "Async", "body")
}

func TestWaitOfNil(t *testing.T) {
	loop := newFakeLoop()
	stop := loop.serve()
	defer stop()
	ctx := context.Background()
	var err error
	noPanic(t, "Wait(ctx, loop, nil)", func() { _, err = Wait(ctx, loop, (*Deferred)(nil)) })
	wantNilError(t, "Wait(ctx, loop, nil)", err, "Wait")
	noPanic(t, "Wait(ctx, nil, d)", func() { _, err = Wait[any](ctx, nil, New()) })
	wantNilError(t, "Wait(ctx, nil, d)", err, "Wait", "Loop")
}

func TestCancelOnDoneOfNil(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	noPanic(t, "CancelOnDone(ctx, loop, nil)", func() { CancelOnDone(ctx, newFakeLoop(), (*Deferred)(nil)) })
	func() {
		defer func() {
			err, _ := recover().(error)
			wantNilError(t, "CancelOnDone(ctx, nil, d)", err, "CancelOnDone", "Loop")
		}()
		CancelOnDone[any](ctx, nil, New())
	}()
}
