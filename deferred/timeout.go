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
// and none added after. AddTimeoutFunc lets the caller choose the result of
// a timeout. Loop goroutine.
func AddTimeout[C interface{ Cancel() error }](d *Deferred, callLater func(time.Duration, func()) C, timeout time.Duration) *Deferred {
	return AddTimeoutFunc(d, callLater, timeout, nil)
}

// AddTimeoutFunc is AddTimeout with the result of a timeout chosen by
// onTimeout (Twisted's addTimeout with onTimeoutCancel). When the timeout
// expires, d is cancelled and onTimeout is called, at the point of d's
// chain where AddTimeoutFunc was called, with the result the cancellation
// gave there (normally an ErrCancelled *Failure, or what d's canceller and
// the callbacks before made of it) and the timeout. What it returns becomes
// the result, as a callback's return value does: an error fails the chain,
// a *Deferred is waited on, anything else succeeds. onTimeout runs only for
// a timeout, never for a Cancel before the deadline nor for a result that
// arrives in time, so it tells a timeout apart from a canceller's own
// result. A nil onTimeout is AddTimeout's translation of ErrCancelled to
// ErrTimeout.
//
// A nil d or callLater is a mistake: AddTimeout and AddTimeoutFunc then set
// no timer and return a Deferred failed with an error wrapping ErrNil,
// leaving d alone. Loop goroutine.
func AddTimeoutFunc[C interface{ Cancel() error }](d *Deferred, callLater func(time.Duration, func()) C, timeout time.Duration, onTimeout func(result any, timeout time.Duration) any) *Deferred {
	switch {
	case d == nil:
		return failNil("the Deferred given to AddTimeout")
	case callLater == nil:
		return failNil("the callLater given to AddTimeout")
	}
	if onTimeout == nil {
		onTimeout = cancelledToTimeout
	}
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
			return onTimeout(r, timeout)
		}
		call.Cancel()
		return r
	})
}

// cancelledToTimeout turns an ErrCancelled failure into one wrapping
// ErrTimeout and leaves any other result alone.
func cancelledToTimeout(r any, timeout time.Duration) any {
	if f, ok := r.(*Failure); ok && errors.Is(f, ErrCancelled) {
		return newFailure(fmt.Errorf("%w after %v", ErrTimeout, timeout), 4)
	}
	return r
}
