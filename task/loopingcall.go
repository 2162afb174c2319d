package task

import (
	"fmt"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
)

// LoopingCall calls a function every interval on the reactor goroutine
// (Twisted's LoopingCall). Its time is the reactor's clock, so a test
// drives it with a reactortest.Clock.
//
// The function returns what a Deferred callback returns:
//
//   - nil (or any other value, which is ignored): the next call is
//     scheduled;
//   - a non-nil error: the loop stops and the Deferred returned by Start
//     fails with it (a panic does the same, as a *deferred.PanicError);
//   - a *deferred.Deferred: the next call is scheduled only once it has
//     fired; if it fails, the loop stops and Start's Deferred fails.
//
// Calls are aligned on a grid: the n-th call is due at start + n*interval.
// When a call comes late (the loop was busy, or the function or its
// Deferred took longer than an interval), the grid points already passed
// are skipped and the next call is due at the first one still in the
// future; NewLoopingCallWithCount tells the function how many were
// skipped. An interval of zero calls the function once per reactor pass.
//
// A LoopingCall may be started again after it stops. Its methods must be
// called on the reactor goroutine.
type LoopingCall struct {
	r     *reactor.Reactor
	f     func() any
	count func(n int) any // set by NewLoopingCallWithCount

	interval   time.Duration
	start      time.Time // origin of the grid; moved by Reset
	runAtStart bool
	running    bool
	call       *reactor.DelayedCall // the next call, while one is scheduled
	d          *deferred.Deferred   // Start's Deferred for the current run
	gen        uint64               // counts Starts, so a late result of an old run is told apart

	last     time.Time // when the counting function was last called
	haveLast bool
}

// NewLoopingCall returns a LoopingCall that calls f on r, every interval
// once started (see Start). Loop goroutine.
func NewLoopingCall(r *reactor.Reactor, f func() any) *LoopingCall {
	return &LoopingCall{r: r, f: f}
}

// NewLoopingCallWithCount returns a LoopingCall whose function receives
// the number of intervals that have elapsed since it was last called
// (Twisted's LoopingCall.withCount). The count is normally 1; it is
// higher when calls were skipped because the loop ran late or a Deferred
// returned by f took longer than an interval, so that an animation, say,
// can advance by as many frames as it missed. The sum of the counts is
// the number of grid points passed. f is never called with 0; with an
// interval of zero the count is always 1. Counting starts afresh with each
// Start. Loop goroutine.
func NewLoopingCallWithCount(r *reactor.Reactor, f func(count int) any) *LoopingCall {
	lc := &LoopingCall{r: r, count: f}
	if f != nil {
		lc.f = lc.counted
	}
	return lc
}

// Start starts calling the function every interval: at once if now is
// true (before Start returns), otherwise when the first interval has
// passed. The Deferred it returns fires with the *LoopingCall when Stop
// is called (once a Deferred the function returned has fired, if it is
// waiting on one), or fails with the function's error, panic or failed
// Deferred. Start on a running LoopingCall returns a Deferred failed
// with ErrAlreadyRunning and leaves the loop alone; a negative interval
// gives one failed with ErrNegativeInterval. Loop goroutine.
func (lc *LoopingCall) Start(interval time.Duration, now bool) *deferred.Deferred {
	if lc.running {
		return deferred.Fail(ErrAlreadyRunning)
	}
	if interval < 0 {
		return deferred.Fail(fmt.Errorf("%w: %v", ErrNegativeInterval, interval))
	}
	d := deferred.New()
	lc.running = true
	lc.gen++
	lc.d = d
	lc.interval = interval
	lc.start = lc.r.Now()
	lc.runAtStart = now
	lc.haveLast = false
	if now {
		lc.tick()
	} else {
		lc.scheduleFrom(lc.start)
	}
	return d
}

// Stop stops the loop: no further call is made, and the Deferred returned
// by Start fires with the LoopingCall, at once, or, if the function is
// running or its Deferred has not fired yet, when it returns or that
// Deferred fires. Stop returns ErrNotRunning if the loop is not running.
// It may be called from inside the function. Loop goroutine.
func (lc *LoopingCall) Stop() error {
	if !lc.running {
		return ErrNotRunning
	}
	lc.running = false
	if lc.call != nil {
		lc.call.Cancel()
		lc.call = nil
		d := lc.d
		lc.d = nil
		d.Callback(lc)
	}
	return nil
}

// Reset drops the call that is scheduled and restarts the grid from now
// (Twisted's reset): the next call comes one interval from now, and every
// interval after that. Called from inside the function, or while its
// Deferred is pending, it moves the grid the same way, and the next call
// is at its first point after the function's result is ready. It returns
// ErrNotRunning if the loop is not running. Loop goroutine.
func (lc *LoopingCall) Reset() error {
	if !lc.running {
		return ErrNotRunning
	}
	lc.start = lc.r.Now()
	if lc.call != nil {
		lc.call.Cancel()
		lc.scheduleFrom(lc.start)
	}
	return nil
}

// Running reports whether the loop is running: from Start until Stop,
// or until the function fails. It is false by the time Start's Deferred
// fires. Loop goroutine.
func (lc *LoopingCall) Running() bool { return lc.running }

// Interval returns the interval given to Start or SetInterval. Loop
// goroutine.
func (lc *LoopingCall) Interval() time.Duration { return lc.interval }

// SetInterval changes the interval. A call already scheduled keeps its
// time; the calls after it follow the new interval, on a grid that still
// starts where the loop started (use Reset to restart it from now). It
// returns ErrNegativeInterval for a negative d. Loop goroutine.
func (lc *LoopingCall) SetInterval(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("%w: %v", ErrNegativeInterval, d)
	}
	lc.interval = d
	return nil
}

// tick makes one call of the function and, when its result is ready,
// schedules the next one or ends the run.
func (lc *LoopingCall) tick() {
	lc.call = nil
	gen, d := lc.gen, lc.d
	res := deferred.MaybeDeferred(lc.callF)
	res.AddCallbacks(func(any) any {
		if lc.gen == gen && lc.running {
			lc.scheduleFrom(lc.r.Now())
			return nil
		}
		// Stopped during the call (or restarted since: gen moved on, and
		// this run's Deferred is the one captured here).
		if lc.gen == gen {
			lc.d = nil
		}
		d.Callback(lc)
		return nil
	}, func(err error) any {
		if lc.gen == gen {
			lc.running = false
			lc.d = nil
		}
		d.Errback(err)
		return nil
	})
}

// callF calls the function, turning a nil *Deferred into nil.
func (lc *LoopingCall) callF() any {
	if lc.f == nil {
		return errNoFunc
	}
	v := lc.f()
	if dd, ok := v.(*deferred.Deferred); ok && dd == nil {
		return nil
	}
	return v
}

// scheduleFrom schedules the next call at the first grid point after now.
func (lc *LoopingCall) scheduleFrom(now time.Time) {
	var delay time.Duration
	if lc.interval > 0 {
		ran := max(now.Sub(lc.start), 0)
		// Durations are integers: when now is on a grid point, this is a
		// whole interval, never zero (Twisted guards that case by hand
		// against floating-point rounding).
		delay = lc.interval - ran%lc.interval
	}
	lc.call = lc.r.CallLater(delay, lc.tick)
}

// counted is the function of a LoopingCall made by
// NewLoopingCallWithCount.
func (lc *LoopingCall) counted() any {
	now := lc.r.Now()
	if lc.interval == 0 {
		lc.last, lc.haveLast = now, true
		return lc.count(1)
	}
	last := lc.last
	if !lc.haveLast {
		last = lc.start
		if lc.runAtStart {
			last = last.Add(-lc.interval)
		}
	}
	n := lc.intervalOf(now) - lc.intervalOf(last)
	if n <= 0 {
		return nil
	}
	lc.last, lc.haveLast = now, true
	return lc.count(int(n))
}

// intervalOf returns how many whole intervals lie between the start of
// the grid and t (truncated toward zero, as Twisted's int()).
func (lc *LoopingCall) intervalOf(t time.Time) int64 {
	return int64(t.Sub(lc.start) / lc.interval)
}
