package gtkloop_test

import (
	"testing"
	"time"

	"github.com/gotk3/gotk3/glib"
	gtkloop "github.com/loomkit/loom/guiloop/gtk"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
)

// GLib iterations that have nothing to do with the reactor (here, 200
// of a GLib timeout's) do not call into Go to prepare the source: its
// timeout stands until a dispatch or a nudge changes it.
func TestIterationsDoNotCallGoToPrepare(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	r.CallLater(time.Hour, func() {}) // a timeout for prepare to serve
	var before, after, ticks int
	r.CallSoon(func() {
		before = gtkloop.Prepares()
		glib.TimeoutAdd(1, func() bool {
			ticks++
			if ticks < 200 {
				return true
			}
			after = gtkloop.Prepares()
			r.CallSoon(r.Stop) // outside a pass: it must nudge the loop
			return false
		})
	})
	ok(t, onMainRun(r))
	if ticks != 200 {
		t.Fatalf("%d ticks", ticks)
	}
	if n := after - before; n > 10 {
		t.Errorf("200 GLib iterations called Go %d times to prepare the source", n)
	}
}

// Work that a GTK handler adds outside a pass (a GLib callback calling
// CallSoon, CallLater, or Reset on a timer) runs on time, though prepare
// serves the timeout the last dispatch left: adding it wakes the source.
func TestHandlerWorkOutsideAPassRunsOnTime(t *testing.T) {
	reactortest.CheckLeaks(t)
	for _, backend := range reactor.Backends() {
		t.Run(backend, func(t *testing.T) {
			r := newReactor(t, reactor.WithBackend(backend))
			far := r.CallLater(time.Hour, func() {})
			late := make(map[string]time.Duration)
			var added time.Time
			mark := func(what string, due time.Duration) func() {
				return func() {
					late[what] = time.Since(added) - due
					if len(late) == 3 {
						r.Stop()
					}
				}
			}
			resetMe := r.CallLater(time.Hour, mark("Reset", 30*time.Millisecond))
			r.CallSoon(func() {
				// Let the loop settle into a long sleep first.
				glib.TimeoutAdd(100, func() bool {
					added = time.Now()
					r.CallSoon(mark("CallSoon", 0))
					r.CallLater(20*time.Millisecond, mark("CallLater", 20*time.Millisecond))
					resetMe.Reset(30 * time.Millisecond)
					return false
				})
			})
			ok(t, onMainRun(r))
			far.Cancel()
			for _, what := range []string{"CallSoon", "CallLater", "Reset"} {
				d, ran := late[what]
				if !ran {
					t.Errorf("%s never ran", what)
				} else if d > 500*time.Millisecond {
					t.Errorf("%s ran %v late", what, d)
				}
			}
		})
	}
}
