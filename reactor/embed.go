package reactor

import "time"

// BackendFD returns one descriptor that polls readable whenever the
// reactor has I/O work: a watched descriptor is ready or a call from
// another goroutine is queued. Polling it does not consume anything.
// With NextTimeout and RunOnce(0) it is all a foreign loop needs to drive
// the reactor (see the package doc). It must be called on the reactor
// goroutine; the descriptor belongs to the reactor.
func (r *Reactor) BackendFD() (int, error) {
	if r.closed.Load() {
		return -1, ErrClosed
	}
	r.embedded = true
	return r.p.FD()
}

// NextTimeout returns how long a foreign loop may wait on BackendFD before
// it must call RunOnce(0): 0 if calls are queued or the reactor is
// stopping, the time until the next timer is due (0 if it is), or -1 if
// there is nothing to wait for but BackendFD. A loop whose timeouts are
// coarser must round it up, never down, or a due timer becomes a busy
// loop. It must be called on the reactor goroutine.
func (r *Reactor) NextTimeout() time.Duration {
	r.loopOnly("NextTimeout")
	if len(r.soon) > 0 || r.gwake.Load() || r.stopped || r.unnestedReady() {
		return 0
	}
	if len(r.timers) == 0 {
		return -1
	}
	when, now := r.timers[0].when, r.nanos()
	if when <= now {
		return 0
	}
	return time.Duration(addSat(when, time.Duration(-now)))
}

// SetWakeHook gives the reactor a function that CallFromGoroutine runs,
// on the calling goroutine, each time it would wake the reactor: for the
// first call queued since the last pass took the queue. A foreign loop
// that runs passes by posting them to its toolkit's own queue can post
// one from there at once, instead of having a goroutine of its own see
// BackendFD readable and post it: the wakeup then takes the toolkit's
// hops and no more. If f returns true, a pass is on its way (it will run
// the call) and the backend is not woken, so BackendFD does not become
// readable for this call; if it returns false, the backend is woken as
// without a hook. f must be safe to call from any goroutine, must not
// block, and must not call the reactor. nil removes the hook.
// SetWakeHook may be called from any goroutine.
func (r *Reactor) SetWakeHook(f func() bool) {
	if f == nil {
		r.onWake.Store(nil)
		return
	}
	r.onWake.Store(&f)
}
