package reactor

import "time"

// A Clock tells the reactor the time. Timers are measured on it, so a test
// can replace real time with a fake clock (reactortest.Clock) and fire
// timers when it says so.
//
// A clock whose time can jump (a fake one) may also implement
//
//	Watch(r *Reactor) (unwatch func())
//
// New calls Watch so that the clock can wake the reactor, with
// CallFromGoroutine, after it moves; Close calls unwatch.
type Clock interface {
	Now() time.Time
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

type clockWatcher interface {
	Watch(r *Reactor) (unwatch func())
}

// Now returns the time on the reactor's clock.
func (r *Reactor) Now() time.Time { return r.clock.Now() }

// nanos is the reactor's time in nanoseconds since it was created.
func (r *Reactor) nanos() int64 { return int64(r.clock.Now().Sub(r.epoch)) }
