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
// A LoopingCall may be started again after it stops. The reactor's Close
// ends a run: no further call is made, and Start's Deferred fails with an
// error wrapping reactor.ErrClosed, without waiting for a Deferred the
// function returned. Its methods must be called on the reactor
// goroutine. A LoopingCall must be made with NewLoopingCall or
// NewLoopingCallWithCount: the methods of a zero LoopingCall fail with an
// error saying so.
type LoopingCall struct {
	r     *reactor.Reactor
	f     func() any
	count func(n int) any // set by NewLoopingCallWithCount
	bad   error           // why the LoopingCall cannot start (a nil reactor or function)

	interval   time.Duration
	start      time.Time // origin of the grid; moved by Reset
	runAtStart bool
	running    bool
	call       *reactor.DelayedCall // the next call, while one is scheduled
	cur        *loopRun             // the current run, until its Deferred fires

	last     time.Time // when the counting function was last called
	haveLast bool
}

// A loopRun is one run of a LoopingCall, from Start until its Deferred
// fires; a late result of an old run is told apart by it.
type loopRun struct {
	d      *deferred.Deferred // Start's Deferred
	unhook func()             // removes the OnClose hook that ends the run
	over   bool               // d has fired
}

// NewLoopingCall returns a LoopingCall that calls f on r, every interval
// once started (see Start). With a nil r or f, Start fails with an error
// saying so. Loop goroutine.
func NewLoopingCall(r *reactor.Reactor, f func() any) *LoopingCall {
	lc := &LoopingCall{r: r, f: f}
	switch {
	case r == nil:
		lc.bad = misuse("NewLoopingCall given a nil reactor")
	case f == nil:
		lc.bad = misuse("NewLoopingCall given a nil function")
	}
	return lc
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
	lc.f = lc.counted
	switch {
	case r == nil:
		lc.bad = misuse("NewLoopingCallWithCount given a nil reactor")
	case f == nil:
		lc.bad = misuse("NewLoopingCallWithCount given a nil function")
	}
	return lc
}

// misuse returns why lc cannot run, if it cannot.
func (lc *LoopingCall) misuse() error {
	switch {
	case lc == nil:
		return misuse("LoopingCall method called on a nil *LoopingCall")
	case lc.bad != nil:
		return lc.bad
	case lc.r == nil:
		return misuse("LoopingCall not made with NewLoopingCall")
	}
	return nil
}

// Start starts calling the function every interval: at once if now is
// true (before Start returns), otherwise when the first interval has
// passed. The Deferred it returns fires with the *LoopingCall when Stop
// is called (once a Deferred the function returned has fired, if it is
// waiting on one), or fails with the function's error, panic or failed
// Deferred, or with an error wrapping reactor.ErrClosed if the reactor is
// closed first. Start on a running LoopingCall returns a Deferred failed
// with ErrAlreadyRunning and leaves the loop alone; a negative interval
// gives one failed with ErrNegativeInterval, a closed reactor one failed
// with an error wrapping reactor.ErrClosed, and a LoopingCall not made
// with a reactor and a function one failed with an error saying so. Loop
// goroutine.
func (lc *LoopingCall) Start(interval time.Duration, now bool) *deferred.Deferred {
	if err := lc.misuse(); err != nil {
		return deferred.Fail(err)
	}
	if lc.running {
		return deferred.Fail(ErrAlreadyRunning)
	}
	if interval < 0 {
		return deferred.Fail(fmt.Errorf("%w: %v", ErrNegativeInterval, interval))
	}
	if lc.r.Closed() {
		return deferred.Fail(onClosed("LoopingCall.Start"))
	}
	d := deferred.New()
	rn := &loopRun{d: d}
	rn.unhook = lc.r.OnClose(func() {
		if lc.cur == rn {
			lc.running = false
			if lc.call != nil {
				lc.call.Cancel()
				lc.call = nil
			}
		}
		lc.end(rn, endedByClose("looping call"))
	})
	lc.running = true
	lc.cur = rn
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
	if err := lc.misuse(); err != nil {
		return err
	}
	if !lc.running {
		return ErrNotRunning
	}
	lc.running = false
	if lc.call != nil {
		lc.call.Cancel()
		lc.call = nil
		lc.end(lc.cur, lc)
	}
	return nil
}

// end fires the Deferred of run rn with result (an error fails it), once.
func (lc *LoopingCall) end(rn *loopRun, result any) {
	if rn.over {
		return
	}
	rn.over = true
	rn.unhook()
	if lc.cur == rn {
		lc.running = false
		lc.cur = nil
	}
	fireWith(rn.d, result)
}

// Reset drops the call that is scheduled and restarts the grid from now
// (Twisted's reset): the next call comes one interval from now, and every
// interval after that. Called from inside the function, or while its
// Deferred is pending, it moves the grid the same way, and the next call
// is at its first point after the function's result is ready. It returns
// ErrNotRunning if the loop is not running. Loop goroutine.
func (lc *LoopingCall) Reset() error {
	if err := lc.misuse(); err != nil {
		return err
	}
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
// fires, and after the reactor's Close. Loop goroutine.
func (lc *LoopingCall) Running() bool { return lc != nil && lc.running }

// Interval returns the interval given to Start or SetInterval (0 for a
// nil LoopingCall). Loop goroutine.
func (lc *LoopingCall) Interval() time.Duration {
	if lc == nil {
		return 0
	}
	return lc.interval
}

// SetInterval changes the interval. A call already scheduled keeps its
// time; the calls after it follow the new interval, on a grid that still
// starts where the loop started (use Reset to restart it from now). It
// returns ErrNegativeInterval for a negative d. Loop goroutine.
func (lc *LoopingCall) SetInterval(d time.Duration) error {
	if err := lc.misuse(); err != nil {
		return err
	}
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
	rn := lc.cur
	res := deferred.MaybeDeferred(lc.callF)
	res.AddCallbacks(func(any) any {
		switch {
		case rn.over:
			// Ended by Close while the function's Deferred was pending.
		case lc.cur == rn && lc.running:
			lc.scheduleFrom(lc.r.Now())
		default:
			// Stopped during the call (or restarted since: this run's
			// Deferred is the one captured here).
			lc.end(rn, lc)
		}
		return nil
	}, func(err error) any {
		lc.end(rn, err)
		return nil
	})
}

// callF calls the function, turning a nil *Deferred into nil.
func (lc *LoopingCall) callF() any {
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

// StartPromise is Start as a typed promise: it starts the loop as Start
// does, and the promise is fulfilled with lc when the loop is stopped, or
// rejected as Start's Deferred fails. Cancelling the promise stops the
// loop, as Stop does, and rejects it with deferred.ErrCancelled. Loop
// goroutine.
func (lc *LoopingCall) StartPromise(interval time.Duration, now bool) *deferred.Promise[*LoopingCall] {
	wasRunning := lc != nil && lc.running
	d := lc.Start(interval, now)
	var rn *loopRun // this run, while it goes on
	if !wasRunning && lc != nil && lc.running {
		rn = lc.cur
	}
	p, res := deferred.NewPromise[*LoopingCall]()
	res.OnCancel(func() {
		res.Reject(deferred.ErrCancelled)
		if rn != nil && lc.cur == rn && lc.running {
			lc.Stop()
		}
	})
	d.AddBoth(func(v any) any {
		if err, ok := v.(error); ok {
			res.Reject(err)
		} else {
			res.Resolve(lc)
		}
		return nil
	})
	return p
}
