package reactortest

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/loomkit/loom/reactor"
)

func init() {
	add("timers/order", func(t *testing.T, newLoop NewLoop) {
		l, r, clk := fakeLoop(t, newLoop)
		var got []string
		for _, c := range []struct {
			d    time.Duration
			name string
		}{{30, "c"}, {10, "a"}, {20, "b"}, {10, "a2"}, {0, "now"}} {
			r.CallLater(c.d*time.Millisecond, func() { got = append(got, c.name) })
		}
		r.CallLater(40*time.Millisecond, r.Stop)
		r.CallSoon(func() { clk.Advance(40 * time.Millisecond) })
		RunFor(t, l, limit)
		equal(t, "order", got, []string{"now", "a", "a2", "b", "c"})
	})

	add("timers/equal-deadlines-in-scheduling-order", func(t *testing.T, newLoop NewLoop) {
		l, r, clk := fakeLoop(t, newLoop)
		var got, want []int
		for i := range 200 {
			want = append(want, i)
			r.CallLater(time.Second, func() { got = append(got, i) })
		}
		r.CallLater(time.Second, r.Stop)
		r.CallSoon(func() { clk.Advance(time.Second) })
		RunFor(t, l, limit)
		equal(t, "order", got, want)
	})

	add("timers/not-before-due", func(t *testing.T, newLoop NewLoop) {
		_, r, clk := fakeLoop(t, newLoop)
		fired := 0
		c := r.CallLater(time.Second, func() { fired++ })
		r.RunOnce(0)
		clk.Advance(999 * time.Millisecond)
		r.RunOnce(0)
		if fired != 0 {
			t.Fatalf("fired %d times before its time", fired)
		}
		if p := clk.Pending(); len(p) != 1 || p[0] != c {
			t.Fatalf("Pending = %v, want the one call", p)
		}
		if !c.When().Equal(epoch.Add(time.Second)) {
			t.Errorf("When = %v, want %v", c.When(), epoch.Add(time.Second))
		}
		clk.Advance(time.Millisecond)
		r.RunOnce(0)
		if fired != 1 || c.Active() || len(clk.Pending()) != 0 {
			t.Fatalf("after its time: fired %d, active %v, pending %d", fired, c.Active(), len(clk.Pending()))
		}
	})

	add("timers/cancel", func(t *testing.T, newLoop NewLoop) {
		l, r, clk := fakeLoop(t, newLoop)
		fired := false
		c := r.CallLater(time.Second, func() { fired = true })
		if !c.Active() {
			t.Fatal("new call not active")
		}
		if err := c.Cancel(); err != nil {
			t.Fatalf("Cancel: %v", err)
		}
		is(t, "second Cancel", c.Cancel(), reactor.ErrAlreadyCancelled)
		is(t, "Reset after Cancel", c.Reset(time.Second), reactor.ErrAlreadyCancelled)
		is(t, "Delay after Cancel", c.Delay(time.Second), reactor.ErrAlreadyCancelled)
		if c.Active() {
			t.Error("cancelled call still active")
		}
		r.CallLater(2*time.Second, r.Stop)
		r.CallSoon(func() { clk.Advance(2 * time.Second) })
		RunFor(t, l, limit)
		if fired {
			t.Error("cancelled call ran")
		}
	})

	add("timers/cancel-and-reset-inside-own-callback", func(t *testing.T, newLoop NewLoop) {
		l, r, clk := fakeLoop(t, newLoop)
		var c *reactor.DelayedCall
		var errs []error
		var active bool
		c = r.CallLater(time.Second, func() {
			active = c.Active()
			errs = append(errs, c.Cancel(), c.Reset(time.Second), c.Delay(time.Second))
			r.Stop()
		})
		r.CallSoon(func() { clk.Advance(time.Second) })
		RunFor(t, l, limit)
		if active {
			t.Error("Active() true inside its own callback")
		}
		if len(errs) != 3 {
			t.Fatal("callback did not run")
		}
		for _, err := range errs {
			is(t, "inside own callback", err, reactor.ErrAlreadyCalled)
		}
		is(t, "after it ran", c.Cancel(), reactor.ErrAlreadyCalled)
	})

	add("timers/cancel-another-due-in-same-pass", func(t *testing.T, newLoop NewLoop) {
		l, r, clk := fakeLoop(t, newLoop)
		var got []string
		var b *reactor.DelayedCall
		r.CallLater(time.Second, func() {
			got = append(got, "a")
			if err := b.Cancel(); err != nil {
				t.Errorf("cancel b from a: %v", err)
			}
		})
		b = r.CallLater(time.Second, func() { got = append(got, "b") })
		r.CallLater(time.Second, func() { got = append(got, "c"); r.Stop() })
		r.CallSoon(func() { clk.Advance(time.Second) })
		RunFor(t, l, limit)
		equal(t, "ran", got, []string{"a", "c"})
	})

	add("timers/reset-and-delay", func(t *testing.T, newLoop NewLoop) {
		_, r, clk := fakeLoop(t, newLoop)
		var got []string
		a := r.CallLater(time.Second, func() { got = append(got, "a") })
		b := r.CallLater(2*time.Second, func() { got = append(got, "b") })
		c := r.CallLater(3*time.Second, func() { got = append(got, "c") })
		if err := a.Reset(5 * time.Second); err != nil { // a: 5s
			t.Fatal(err)
		}
		if err := b.Delay(2 * time.Second); err != nil { // b: 4s
			t.Fatal(err)
		}
		if err := c.Reset(500 * time.Millisecond); err != nil { // c: 0.5s
			t.Fatal(err)
		}
		want := []time.Time{epoch.Add(500 * time.Millisecond), epoch.Add(4 * time.Second), epoch.Add(5 * time.Second)}
		for i, dc := range clk.Pending() {
			if !dc.When().Equal(want[i]) {
				t.Errorf("pending[%d].When = %v, want %v", i, dc.When(), want[i])
			}
		}
		for range 10 {
			clk.Advance(500 * time.Millisecond)
			r.RunOnce(0)
		}
		equal(t, "order", got, []string{"c", "b", "a"})
	})

	add("timers/rescheduling-itself-does-not-starve-io", func(t *testing.T, newLoop NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		rd, wr := Pipe(t)
		spins := 0
		var spin func()
		spin = func() {
			spins++
			r.CallLater(0, spin)
		}
		r.CallLater(0, spin)
		var soon func()
		soon = func() { r.CallSoon(soon) }
		r.CallSoon(soon)
		if err := r.AddReader(rd, func() { r.RemoveReader(rd); r.Stop() }); err != nil {
			t.Fatal(err)
		}
		write(t, wr, "x")
		RunFor(t, l, limit)
		if spins == 0 {
			t.Error("the self-rescheduling timer never ran")
		}
	})

	add("timers/delayed-calls-listed-soonest-first", func(t *testing.T, newLoop NewLoop) {
		_, r, _ := fakeLoop(t, newLoop)
		for _, d := range []int{5, 1, 3} {
			r.CallLater(time.Duration(d)*time.Second, func() {})
		}
		var got []string
		for _, c := range r.DelayedCalls() {
			got = append(got, fmt.Sprint(c.When().Sub(epoch)))
		}
		equal(t, "DelayedCalls", got, []string{"1s", "3s", "5s"})
	})
}

func init() {
	add("timers/scheduled-during-a-pass-run-next-pass", func(t *testing.T, newLoop NewLoop) {
		_, r, _ := fakeLoop(t, newLoop)
		spins := 0
		var spin func()
		spin = func() { spins++; r.CallLater(0, spin) }
		r.CallLater(0, spin)
		for i := 1; i <= 3; i++ {
			must(t, r.RunOnce(0))
			if spins != i {
				t.Fatalf("after %d passes the self-rescheduling call ran %d times", i, spins)
			}
		}
	})

	add("timers/moved-earlier-inside-a-callback-keeps-older-due-ones", func(t *testing.T, newLoop NewLoop) {
		_, r, clk := fakeLoop(t, newLoop)
		var got []string
		var d *reactor.DelayedCall
		r.CallLater(10*time.Millisecond, func() {
			got = append(got, "a")
			must(t, d.Delay(-95*time.Millisecond)) // d: 100ms -> 5ms, due
		})
		r.CallLater(20*time.Millisecond, func() { got = append(got, "b") })
		d = r.CallLater(100*time.Millisecond, func() { got = append(got, "d") })
		clk.Advance(25 * time.Millisecond)
		must(t, r.RunOnce(0))
		equal(t, "first pass", got, []string{"a", "b"})
		must(t, r.RunOnce(0))
		equal(t, "second pass", got, []string{"a", "b", "d"})
	})

	add("timers/far-future-never-wraps", func(t *testing.T, newLoop NewLoop) {
		_, r, clk := fakeLoop(t, newLoop)
		fired := 0
		c := r.CallLater(time.Duration(math.MaxInt64), func() { fired++ })
		r.CallLater(time.Second, func() {}).Delay(time.Duration(math.MaxInt64))
		clk.Advance(time.Hour)
		must(t, r.RunOnce(0))
		if fired != 0 {
			t.Fatal("a call scheduled for ~292 years ran after an hour")
		}
		if d := r.NextTimeout(); d < 100*365*24*time.Hour {
			t.Errorf("NextTimeout = %v for a far-future call", d)
		}
		must(t, c.Cancel())
	})

	add("timers/after-close-say-cancelled", func(t *testing.T, newLoop NewLoop) {
		_, r, _ := fakeLoop(t, newLoop)
		a := r.CallLater(time.Second, func() {})
		b := r.CallLater(2*time.Second, func() {})
		must(t, r.Close())
		if a.Active() {
			t.Error("a call of a closed reactor is still active")
		}
		is(t, "Cancel after Close", a.Cancel(), reactor.ErrAlreadyCancelled)
		is(t, "Reset after Close", b.Reset(time.Second), reactor.ErrAlreadyCancelled)
		is(t, "Delay after Close", b.Delay(time.Second), reactor.ErrAlreadyCancelled)
	})

	add("timers/overdue-next-timeout-is-zero", func(t *testing.T, newLoop NewLoop) {
		_, r, clk := fakeLoop(t, newLoop)
		clk.Advance(time.Hour)
		must(t, r.RunOnce(0)) // takes the clock's wakeup
		c := r.CallLater(0, func() {})
		must(t, c.Delay(time.Duration(math.MinInt64)))
		must(t, c.Delay(time.Duration(math.MinInt64))) // saturates
		if d := r.NextTimeout(); d != 0 {
			t.Errorf("NextTimeout = %v for an overdue call, want 0", d)
		}
		must(t, c.Cancel())
		c = r.CallLater(time.Second, func() {})
		must(t, c.Delay(-time.Hour))
		if d := r.NextTimeout(); d != 0 {
			t.Errorf("NextTimeout = %v for a call an hour overdue, want 0", d)
		}
		must(t, c.Cancel())
	})

	add("timers/nested-pass-in-a-timer-sets-calls-aside", func(t *testing.T, newLoop NewLoop) {
		_, r, clk := fakeLoop(t, newLoop)
		ran := map[string]int{}
		mark := func(name string) func() { return func() { ran[name]++ } }
		later := func(d time.Duration, name string, then func()) *reactor.DelayedCall {
			return r.CallLater(d, func() {
				ran[name]++
				if then != nil {
					then()
				}
			})
		}
		// A first pass that sets a call aside gives the set-aside buffer
		// room, which the passes below then share.
		later(0, "warm", func() { r.CallLater(0, mark("warm-next")) })
		must(t, r.RunOnce(0))
		must(t, r.RunOnce(0))

		var moved *reactor.DelayedCall
		moved = r.CallLater(time.Hour, mark("moved"))
		later(time.Second, "a", func() {
			r.CallLater(0, mark("a-next")) // set aside by this pass
			must(t, moved.Delay(-2*time.Hour))
		})
		later(time.Second, "b", func() {
			must(t, r.RunOnce(0)) // a modal loop inside a timer
		})
		later(time.Second, "c", func() { // run by the nested pass
			r.CallLater(0, mark("c-next")) // set aside by the nested pass
		})
		clk.Advance(time.Second)
		for range 4 {
			must(t, r.RunOnce(0))
		}
		for _, name := range []string{"warm", "warm-next", "a", "b", "c", "a-next", "c-next", "moved"} {
			if ran[name] != 1 {
				t.Errorf("%s ran %d times, want 1 (ran: %v)", name, ran[name], ran)
			}
		}
		if moved.Active() || len(r.DelayedCalls()) != 0 {
			t.Errorf("after the passes: moved active %v, %d calls left", moved.Active(), len(r.DelayedCalls()))
		}
	})
}
