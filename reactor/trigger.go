package reactor

import (
	"time"

	"github.com/loomkit/loom/deferred"
)

// Phase orders the triggers of a system event.
type Phase int

const (
	// Before triggers run first; the ones that return a Deferred hold
	// the event until it fires.
	Before Phase = iota
	// During triggers run once every Before trigger is done.
	During
	// After triggers run last.
	After
)

func (p Phase) String() string {
	switch p {
	case Before:
		return "before"
	case During:
		return "during"
	case After:
		return "after"
	}
	return "phase?"
}

// Shutdown is the system event Stop fires: its Before triggers may hold
// the shutdown (to flush a file or say goodbye to a server) by returning
// a Deferred; Run returns once every trigger is done.
const Shutdown = "shutdown"

type trigger struct {
	f       func() *deferred.Deferred
	removed bool
}

type systemEvent struct {
	triggers [3][]*trigger
	firing   bool
	dones    []func() // of the firings asked for while firing
}

// AddSystemEventTrigger calls f when event fires, in the given phase, and
// returns a function that removes the trigger. Only Before triggers are
// waited for: if f returns a non-nil Deferred there, the During phase
// starts after it fires (its failure is logged, not fatal). f may return
// nil. The event Stop fires is Shutdown; FireSystemEvent fires others.
// A panicking trigger is logged and counts as done. It must be called on
// the reactor goroutine.
func (r *Reactor) AddSystemEventTrigger(phase Phase, event string, f func() *deferred.Deferred) (remove func()) {
	r.loopOnly("AddSystemEventTrigger")
	if r.events == nil {
		r.events = make(map[string]*systemEvent)
	}
	ev := r.events[event]
	if ev == nil {
		ev = &systemEvent{}
		r.events[event] = ev
	}
	t := &trigger{f: f}
	ev.triggers[phase] = append(ev.triggers[phase], t)
	return func() {
		t.removed = true
		ts := ev.triggers[phase]
		for i, x := range ts {
			if x == t {
				ev.triggers[phase] = append(ts[:i:i], ts[i+1:]...)
				break
			}
		}
	}
}

// FireSystemEvent runs event's triggers, phase by phase, and then calls
// done (which may be nil). Firing an event already firing does not run
// its triggers again: done is called when the firing under way ends.
// It must be called on the reactor goroutine.
func (r *Reactor) FireSystemEvent(event string, done func()) { r.fire(event, 0, done) }

// fire is FireSystemEvent with a bound on the Before phase: after limit
// (if > 0) on the reactor's clock, the other phases run without waiting
// any longer.
func (r *Reactor) fire(event string, limit time.Duration, done func()) {
	ev := r.events[event]
	if ev == nil {
		if done != nil {
			done()
		}
		return
	}
	if ev.firing {
		if done != nil {
			ev.dones = append(ev.dones, done)
		}
		return
	}
	ev.firing = true
	var waits []*deferred.Deferred
	for _, t := range snapshot(ev.triggers[Before]) {
		if d := r.runTrigger(t, event, Before); d != nil {
			waits = append(waits, d)
		}
	}
	finished := false
	var bound *DelayedCall
	rest := func() {
		if finished {
			return
		}
		finished = true
		if bound != nil {
			bound.Cancel()
		}
		for _, phase := range []Phase{During, After} {
			for _, t := range snapshot(ev.triggers[phase]) {
				r.runTrigger(t, event, phase)
			}
		}
		ev.firing = false
		dones := ev.dones
		ev.dones = nil
		if done != nil {
			done()
		}
		for _, f := range dones {
			f()
		}
	}
	if len(waits) == 0 {
		rest()
		return
	}
	if limit > 0 {
		bound = r.CallLater(limit, func() {
			bound = nil
			r.log.Warn("reactor: system event triggers still running at the timeout; going on without them",
				"event", event, "timeout", limit)
			rest()
		})
	}
	deferred.DeferredList(waits, deferred.ConsumeErrors).AddBoth(func(res any) any {
		if outs, ok := res.([]deferred.Outcome); ok {
			for _, o := range outs {
				if !o.OK {
					r.log.Error("reactor: system event trigger failed", "event", event, "phase", Before.String(), "err", o.Err)
				}
			}
		}
		rest()
		return nil
	})
}

func snapshot(ts []*trigger) []*trigger { return append([]*trigger(nil), ts...) }

func (r *Reactor) runTrigger(t *trigger, event string, phase Phase) (d *deferred.Deferred) {
	if t.removed {
		return nil
	}
	defer func() {
		if v := recover(); v != nil {
			r.log.Error("reactor: system event trigger panicked", "event", event, "phase", phase.String(), "panic", v)
			d = nil
		}
	}()
	return t.f()
}
