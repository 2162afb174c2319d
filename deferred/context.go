package deferred

import (
	"context"
	"sync/atomic"
	"time"
)

// CancelOnDone cancels a (a *Deferred or *Promise[T]) when ctx is done,
// unless a has settled by then. ctx.Done fires on another goroutine, so the
// cancellation hops to the loop goroutine through loop.CallFromGoroutine. No
// goroutine waits meanwhile (context.AfterFunc), and the watch on ctx stops
// when a settles. CancelOnDone observes a without changing its result. A
// nil a has nothing to cancel: CancelOnDone does nothing. A nil loop is a
// mistake that panics at once with an error wrapping ErrNil, rather than
// later on the goroutine that ends ctx. Loop goroutine.
func CancelOnDone[T any](ctx context.Context, loop Loop, a Awaitable[T]) {
	if loop == nil {
		panic(errNil("the Loop given to CancelOnDone"))
	}
	if ctx.Done() == nil || nilAwaitable(a) {
		return
	}
	settled := false
	stop := context.AfterFunc(ctx, func() {
		loop.CallFromGoroutine(func() {
			if !settled {
				a.Cancel()
			}
		})
	})
	a.subscribe(func(T, error) bool {
		settled = true
		stop()
		return false
	})
}

// Wait blocks the calling goroutine until a (a *Deferred or *Promise[T])
// settles or ctx is done, and returns a's value and error, or ctx.Err(). It
// is for goroutines other than the loop goroutine, which must keep running
// for a to settle: Wait called on the loop goroutine never returns unless
// ctx ends it. Wait reaches a through loop.CallFromGoroutine. Like Await, it
// takes a Deferred's result (the chain goes on with nil); if ctx ends the
// wait first, the result is left in the chain when it comes. Wait does not
// cancel a.
//
// A closed loop can deliver nothing: if the loop is closed while Wait
// waits, or before it, Wait returns an error wrapping ErrLoopClosed. It
// learns of a Close through a hook (OnClose, see Loop) set up with its
// subscription, and of a Close that comes before that subscription has run
// through the loop's Closed, which it looks at until then (every 10 ms).
// A nil loop or a gives an error wrapping ErrNil at once. Any goroutine
// except the loop goroutine.
func Wait[T any](ctx context.Context, loop Loop, a Awaitable[T]) (T, error) {
	var zero T
	switch {
	case loop == nil:
		return zero, errNil("the Loop given to Wait")
	case nilAwaitable(a):
		return zero, errNil("the Deferred or Promise given to Wait")
	}
	closed, _ := loop.(closedReporter)
	if closed != nil && closed.Closed() {
		return zero, newFailure(errWaitClosed, 2)
	}
	type result struct {
		v   T
		err error
	}
	const (
		waiting = iota
		delivered
		abandoned
	)
	ch := make(chan result, 1)
	subscribed := make(chan struct{})
	var state atomic.Int32
	deliver := func(v T, err error) bool {
		if !state.CompareAndSwap(waiting, delivered) {
			return false
		}
		ch <- result{v, err}
		return true
	}
	var unhook func() // loop goroutine only
	loop.CallFromGoroutine(func() {
		defer close(subscribed)
		if state.Load() == abandoned {
			return
		}
		a.subscribe(func(v T, err error) bool {
			if unhook != nil {
				unhook()
				unhook = nil
			}
			return deliver(v, err)
		})
		if h, ok := loop.(closeHooker); ok && state.Load() == waiting {
			unhook = h.OnClose(func() {
				unhook = nil
				deliver(zero, newFailure(errWaitClosed, 2))
			})
		}
	})
	// Until the subscription has run, a Close would drop it unseen: look
	// at Closed meanwhile.
	var tick <-chan time.Time
	if closed != nil {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		tick = t.C
	}
	var abandon error
	for abandon == nil {
		select {
		case r := <-ch:
			return r.v, r.err
		case <-ctx.Done():
			abandon = ctx.Err()
		case <-subscribed:
			subscribed = nil
			if _, ok := loop.(closeHooker); ok {
				tick = nil // the hook tells of a Close now
			}
		case <-tick:
			if closed.Closed() {
				abandon = newFailure(errWaitClosed, 2)
			}
		}
	}
	if !state.CompareAndSwap(waiting, abandoned) {
		r := <-ch
		return r.v, r.err
	}
	loop.CallFromGoroutine(func() {
		if unhook != nil {
			unhook()
			unhook = nil
		}
	})
	return zero, abandon
}
