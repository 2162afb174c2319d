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
