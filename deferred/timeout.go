package deferred

import (
	"errors"
	"fmt"
	"time"
)

// AddTimeout cancels d if it has no result after timeout, and returns d
// (Twisted's Deferred.addTimeout). callLater schedules a function on the
// loop; pass the reactor's method value, as in
//
//	deferred.AddTimeout(d, r.CallLater, 5*time.Second)
//
// If the timeout expires, d is cancelled; an ErrCancelled failure coming out
// of that cancellation becomes a failure wrapping ErrTimeout (a canceller
// that gives d another result keeps it). A Cancel before the deadline stays
// ErrCancelled. When d gets a result before the deadline, the timer is
// cancelled. The timeout covers the callbacks added to d before AddTimeout,
// and none added after. Loop goroutine.
func AddTimeout[C interface{ Cancel() error }](d *Deferred, callLater func(time.Duration, func()) C, timeout time.Duration) *Deferred {
	timedOut, done := false, false
	call := callLater(timeout, func() {
		if done {
			return
		}
		timedOut = true
		d.Cancel()
	})
	return d.AddBoth(func(r any) any {
		done = true
		if timedOut {
			if f, ok := r.(*Failure); ok && errors.Is(f, ErrCancelled) {
				return newFailure(fmt.Errorf("%w after %v", ErrTimeout, timeout), 3)
			}
			return r
		}
		call.Cancel()
		return r
	})
}
