package gtkloop_test

import (
	"testing"
	"time"

	"github.com/gotk3/gotk3/glib"
	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/task"
)

// A reactor that always has work (a cooperative job chopping a long
// computation, the use Cooperator is for) must not starve GLib's sources
// of lower priority: idle callbacks (G_PRIORITY_DEFAULT_IDLE, 200), which
// GTK itself uses (a gtk.Application's release when its last window
// goes), still run.
func TestBusyReactorLetsIdleSourcesRun(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	idled := make(chan time.Duration, 1)
	var started time.Time
	r.CallSoon(func() {
		c := task.NewCooperator(r)
		c.Cooperate(func(yield func(any) bool) {
			for yield(nil) {
				time.Sleep(100 * time.Microsecond) // a slice of real work
			}
		})
		started = time.Now()
		glib.IdleAdd(func() bool {
			idled <- time.Since(started)
			c.Stop() // on the GTK thread, the reactor's
			r.CallLater(50*time.Millisecond, r.Stop)
			return false
		})
		r.CallLater(3*time.Second, func() { c.Stop(); r.CallLater(50*time.Millisecond, r.Stop) })
	})
	ok(t, onMainRun(r))
	select {
	case d := <-idled:
		t.Logf("the idle callback ran %v after it was added", d)
	default:
		t.Fatal("a busy reactor starved GLib's idle sources for 3s")
	}
}
