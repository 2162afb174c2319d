package deferred

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestCancelOnDoneCancelsTheDeferred(t *testing.T) {
	loop := newFakeLoop()
	stop := loop.serve()
	defer stop()

	ctx, cancel := context.WithCancel(context.Background())
	results := make(chan any, 1)
	cancellerRan := make(chan bool, 1)
	loop.do(func() {
		d := NewWithCanceller(func(*Deferred) { cancellerRan <- true })
		CancelOnDone(ctx, loop, d)
		d.AddBoth(func(r any) any { results <- r; return nil })
	})
	cancel() // on this goroutine, not the loop's
	r := <-results
	if f, ok := r.(*Failure); !ok || !errors.Is(f, ErrCancelled) || !<-cancellerRan {
		t.Fatalf("got %v", r)
	}
}

func TestCancelOnDoneWithContextAlreadyDone(t *testing.T) {
	loop := newFakeLoop()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d := New()
	CancelOnDone(ctx, loop, d)
	loop.runUntil(t, d.Called)
	if f := failureOf(t, d); !errors.Is(f, ErrCancelled) {
		t.Fatalf("got %v", f)
	}
}

func TestCancelOnDoneStopsWhenTheDeferredFires(t *testing.T) {
	loop := newFakeLoop()
	ctx, cancel := context.WithCancel(context.Background())
	d := New()
	CancelOnDone(ctx, loop, d)
	d.Callback(1)
	// d now waits on an inner Deferred; a late cancel would reach it.
	innerCancelled := false
	inner := NewWithCanceller(func(*Deferred) { innerCancelled = true })
	d.AddCallback(func(any) any { return inner })
	cancel()
	time.Sleep(10 * time.Millisecond) // room for a stray AfterFunc to post
	loop.drain()
	if innerCancelled {
		t.Fatal("context cancelled a Deferred that had already fired")
	}
	loop.mu.Lock()
	queued := len(loop.from)
	loop.mu.Unlock()
	if queued != 0 {
		t.Fatal("AfterFunc still posted to the loop")
	}
	inner.Callback(2)
	if got := resultOf(t, d); got != 2 {
		t.Fatalf("got %v", got)
	}
}

func TestCancelOnDonePassesTheResultThrough(t *testing.T) {
	loop := newFakeLoop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := New()
	CancelOnDone(ctx, loop, d)
	d.Errback(errGeneric)
	if f := failureOf(t, d); !errors.Is(f, errGeneric) {
		t.Fatalf("got %v", f)
	}
}

func TestCancelOnDoneWithoutDone(t *testing.T) {
	d := New()
	CancelOnDone(context.Background(), newFakeLoop(), d)
	if len(d.cbs) != 0 {
		t.Fatal("a context that is never done should not be watched")
	}
}

func TestCancelOnDoneCancelsAsync(t *testing.T) {
	loop := newFakeLoop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	p := Async(loop, func(co *Co) (int, error) {
		_, err := Await(co, New()) // never fires
		return 0, err
	})
	CancelOnDone(ctx, loop, p)
	loop.runUntil(t, p.Settled)
	if _, err, _ := p.poll(); !errors.Is(err, ErrCancelled) {
		t.Fatalf("got %v", err)
	}
}

func TestWait(t *testing.T) {
	loop := newFakeLoop()
	stop := loop.serve()
	defer stop()

	var d *Deferred
	loop.do(func() { d = New() })
	go loop.CallFromGoroutine(func() { d.Callback(7) })
	v, err := Wait(context.Background(), loop, d)
	if v != 7 || err != nil {
		t.Fatalf("got %v %v", v, err)
	}

	var failed *Deferred
	loop.do(func() { failed = Fail(errGeneric) })
	if _, err := Wait(context.Background(), loop, failed); !errors.Is(err, errGeneric) {
		t.Fatalf("got %v", err)
	}
	loop.do(func() {
		if failed.unhandled != nil {
			t.Error("failure taken by Wait still tracked")
		}
	})

	var p *Promise[string]
	var r Resolver[string]
	loop.do(func() { p, r = NewPromise[string]() })
	go loop.CallFromGoroutine(func() { r.Resolve("done") })
	if s, err := Wait(context.Background(), loop, p); s != "done" || err != nil {
		t.Fatalf("got %q %v", s, err)
	}
}

func TestWaitContextEndsTheWait(t *testing.T) {
	loop := newFakeLoop()
	stop := loop.serve()
	defer stop()

	var d *Deferred
	loop.do(func() { d = New() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := Wait(ctx, loop, d); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	// The abandoned wait leaves the result in the chain and did not
	// cancel d.
	got := make(chan any, 1)
	loop.do(func() {
		if d.Called() {
			t.Error("Wait cancelled the Deferred")
		}
		d.Callback(5)
		d.AddCallback(func(v any) any { got <- v; return v })
	})
	if v := <-got; v != 5 {
		t.Fatalf("chain went on with %v, want 5", v)
	}
}

func TestWaitManyGoroutines(t *testing.T) {
	loop := newFakeLoop()
	stop := loop.serve()
	defer stop()

	var p *Promise[int]
	var r Resolver[int]
	loop.do(func() { p, r = NewPromise[int]() })
	const n = 20
	errs := make(chan error, n)
	for range n {
		go func() {
			v, err := Wait(context.Background(), loop, p)
			if err == nil && v != 11 {
				err = errors.New("wrong value")
			}
			errs <- err
		}()
	}
	time.Sleep(5 * time.Millisecond)
	loop.do(func() { r.Resolve(11) })
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
