package task

import (
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
)

// DeferLater returns a Deferred that fires, once d has passed on r's
// clock, with the result of f (Twisted's deferLater). f runs on the
// reactor goroutine and returns what a Deferred callback returns: a value,
// an error (the Deferred fails with it; a panic too), or a
// *deferred.Deferred whose result the returned one then waits for. A nil
// f makes the Deferred fire with nil.
//
// Cancelling the Deferred before d has passed cancels the call: f never
// runs, and the Deferred fails with deferred.ErrCancelled. If the reactor
// is closed before d has passed, f never runs either, and the Deferred
// fails with an error wrapping reactor.ErrClosed (at once if r is closed
// already); a Deferred that f returned is still waited for. A nil r
// gives a Deferred that has failed with an error saying so. Loop
// goroutine.
func DeferLater(r *reactor.Reactor, d time.Duration, f func() any) *deferred.Deferred {
	switch {
	case r == nil:
		return deferred.Fail(misuse("DeferLater given a nil reactor"))
	case r.Closed():
		return deferred.Fail(onClosed("DeferLater"))
	}
	var call *reactor.DelayedCall
	var unhook func()
	def := deferred.NewWithCanceller(func(*deferred.Deferred) {
		call.Cancel()
		unhook()
	})
	if f != nil {
		def.AddCallback(func(any) any {
			v := f()
			if dd, ok := v.(*deferred.Deferred); ok && dd == nil {
				return nil
			}
			return v
		})
	}
	call = r.CallLater(d, func() {
		unhook()
		def.Callback(nil)
	})
	unhook = r.OnClose(func() {
		call.Cancel()
		def.Errback(endedByClose("DeferLater"))
	})
	return def
}

// DeferLaterPromise is DeferLater as a typed promise: once d has passed on
// r's clock, f runs on the reactor goroutine and the promise settles with
// what it returns (a panic in f rejects it with a *deferred.PanicError).
// A nil f fulfils the promise with the zero T. Cancelling the promise
// before d has passed cancels the call: f never runs, and the promise is
// rejected with deferred.ErrCancelled. Close, a closed reactor and a nil
// r reject it as they fail DeferLater's Deferred. Loop goroutine.
func DeferLaterPromise[T any](r *reactor.Reactor, d time.Duration, f func() (T, error)) *deferred.Promise[T] {
	var value T
	var g func() any
	if f != nil {
		g = func() any {
			v, err := f()
			if err != nil {
				return err
			}
			value = v
			return nil
		}
	}
	def := DeferLater(r, d, g)
	p, res := deferred.NewPromise[T]()
	res.OnCancel(func() { def.Cancel() })
	def.AddBoth(func(v any) any {
		if err, ok := v.(error); ok {
			res.Reject(err)
		} else {
			res.Resolve(value)
		}
		return nil
	})
	return p
}
