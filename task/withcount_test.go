package task_test

import (
	"slices"
	"testing"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/task"
)

type countAt struct {
	at    time.Duration
	count int
}

// TestReactorTimeCountSkips is test_reactorTimeCountSkips: a call that
// comes late is told how many intervals passed since the last one.
func TestReactorTimeCountSkips(t *testing.T) {
	r, clk := fake(t)
	var got []countAt
	lc := task.NewLoopingCallWithCount(r, func(n int) any {
		got = append(got, countAt{since(clk), n})
		return nil
	})
	const interval, delay = 500 * time.Millisecond, 10 * time.Millisecond
	lc.Start(interval, true)
	advance(t, r, clk, interval+delay)
	advance(t, r, clk, 3*interval+delay)
	advance(t, r, clk, 0)
	want := []countAt{{0, 1}, {interval + delay, 1}, {4*interval + 2*delay, 3}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	lc.Stop()
}

// TestCountLengthyIntervalCounts is test_countLengthyIntervalCounts: the
// count goes up only for grid points missed, not for a long gap between
// two calls that both hit their interval.
func TestCountLengthyIntervalCounts(t *testing.T) {
	r, clk := fake(t)
	var got []countAt
	lc := task.NewLoopingCallWithCount(r, func(n int) any {
		got = append(got, countAt{since(clk), n})
		return nil
	})
	const interval, delay = 500 * time.Millisecond, 10 * time.Millisecond
	lc.Start(interval, true)
	advance(t, r, clk, interval+delay)
	advance(t, r, clk, interval*7/4) // something held us up
	advance(t, r, clk, interval/4)   // back on track
	want := []countAt{
		{0, 1},
		{interval + delay, 1},
		{interval*11/4 + delay, 1},
		{3*interval + delay, 1},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	lc.Stop()
}

// TestWithCountBoundary is the analogue of
// test_withCountFloatingPointBoundary: with an interval that does not
// divide a second (1s/7, 1s/3) and advances that land exactly on grid
// points, just before them or anywhere, the function is never called with
// 0, and the counts add up to the grid points passed.
func TestWithCountBoundary(t *testing.T) {
	for _, div := range []time.Duration{3, 7, 10} {
		interval := time.Second / div
		steps := map[string][]time.Duration{
			"on the grid":   repeat(interval, int(div)),
			"just before":   repeat(interval-1, int(div)+1),
			"thirds":        repeat(interval/3, 3*int(div)+2),
			"uneven jumps":  {interval / 2, interval * 5 / 2, 1, interval - 2, 3 * interval, interval + 1},
			"beyond a span": repeat(interval*4/3, 2*int(div)),
		}
		for name, advances := range steps {
			r, clk := fake(t)
			var counts []int
			lc := task.NewLoopingCallWithCount(r, func(n int) any {
				counts = append(counts, n)
				return nil
			})
			lc.Start(interval, false)
			for i, d := range advances {
				advance(t, r, clk, d)
				// Every grid point reached has been accounted for, by the
				// call made at or after it, exactly once.
				sum := 0
				for _, n := range counts {
					sum += n
				}
				if want := int(since(clk) / interval); sum != want {
					t.Fatalf("1s/%d %s, after advance %d: counts %v add up to %d, want %d",
						div, name, i, counts, sum, want)
				}
			}
			if slices.Contains(counts, 0) {
				t.Errorf("1s/%d %s: called with 0: %v", div, name, counts)
			}
			lc.Stop()
		}
	}
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

// TestWithCountIntervalZero is test_withCountIntervalZero: with an
// interval of zero the count is always 1.
func TestWithCountIntervalZero(t *testing.T) {
	r, _ := fake(t)
	var counts []int
	var lc *task.LoopingCall
	lc = task.NewLoopingCallWithCount(r, func(n int) any {
		counts = append(counts, n)
		if len(counts) > 4 {
			lc.Stop()
		}
		return nil
	})
	o := watch(lc.Start(0, false))
	for range 10 {
		pass(t, r)
	}
	if !slices.Equal(counts, []int{1, 1, 1, 1, 1}) || o.v != lc {
		t.Fatalf("counts %v, Deferred %+v", counts, o)
	}
}

// TestWithCountIntervalZeroDelay is test_withCountIntervalZeroDelay: a
// Deferred holding up a zero-interval loop does not raise the count.
func TestWithCountIntervalZeroDelay(t *testing.T) {
	r, clk := fake(t)
	d := deferred.New()
	var counts []int
	var lc *task.LoopingCall
	lc = task.NewLoopingCallWithCount(r, func(n int) any {
		counts = append(counts, n)
		if len(counts) == 2 {
			return d
		}
		if len(counts) > 4 {
			lc.Stop()
		}
		return nil
	})
	lc.Start(0, false)
	pass(t, r)
	pass(t, r)
	if !slices.Equal(counts, []int{1, 1}) {
		t.Fatalf("counts %v", counts)
	}
	advance(t, r, clk, 2*time.Second)
	if !slices.Equal(counts, []int{1, 1}) {
		t.Fatalf("counts %v while waiting", counts)
	}
	d.Callback(nil)
	for range 5 {
		pass(t, r)
	}
	if !slices.Equal(counts, []int{1, 1, 1, 1, 1}) {
		t.Fatalf("counts %v", counts)
	}
}

// TestWithCountIntervalZeroThenNonZero is
// test_withCountIntervalZeroDelayThenNonZeroInterval: the time of the last
// call is kept at interval zero, so once SetInterval gives an interval,
// the counts include the steps since that call.
func TestWithCountIntervalZeroThenNonZero(t *testing.T) {
	r, clk := fake(t)
	d := deferred.New()
	var counts []int
	lc := task.NewLoopingCallWithCount(r, func(n int) any {
		counts = append(counts, n)
		if len(counts) == 2 {
			return d
		}
		return nil
	})
	lc.Start(0, false)
	advance(t, r, clk, 10*time.Second)
	pass(t, r)
	pass(t, r)
	if !slices.Equal(counts, []int{1, 1}) {
		t.Fatalf("counts %v", counts)
	}
	if err := lc.SetInterval(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	d.Callback(nil)
	advance(t, r, clk, 7*time.Second)
	if !slices.Equal(counts, []int{1, 1, 3}) {
		t.Fatalf("counts %v, want [1 1 3]", counts)
	}
	advance(t, r, clk, 2*time.Second)
	if !slices.Equal(counts, []int{1, 1, 3, 1}) {
		t.Fatalf("counts %v, want [1 1 3 1]", counts)
	}
	advance(t, r, clk, 4*time.Second)
	if !slices.Equal(counts, []int{1, 1, 3, 1, 2}) {
		t.Fatalf("counts %v, want [1 1 3 1 2]", counts)
	}
	lc.Stop()
}

// TestDeferredWithCount is test_deferredWithCount: a call whose Deferred
// outlasts several intervals is followed by one whose count covers the
// calls it held up.
func TestDeferredWithCount(t *testing.T) {
	r, clk := fake(t)
	d := deferred.New()
	var counts []int
	lc := task.NewLoopingCallWithCount(r, func(n int) any {
		counts = append(counts, n)
		if len(counts) == 1 {
			return d
		}
		return nil
	})
	lc.Start(ms(200), false)
	if len(counts) != 0 {
		t.Fatal("called before the first interval")
	}
	pump(t, r, clk, ms(200), ms(400))
	if len(counts) != 1 {
		t.Fatalf("counts %v while the Deferred is pending", counts)
	}
	d.Callback(nil)
	pump(t, r, clk, ms(200))
	if !slices.Equal(counts, []int{1, 3}) {
		t.Fatalf("counts %v, want [1 3]", counts)
	}
	lc.Stop()
}

// TestWithCountRestart: counting starts afresh with each Start, so the
// time a LoopingCall spent stopped is not reported as skipped calls.
func TestWithCountRestart(t *testing.T) {
	r, clk := fake(t)
	var counts []int
	lc := task.NewLoopingCallWithCount(r, func(n int) any {
		counts = append(counts, n)
		return nil
	})
	lc.Start(time.Second, true)
	advance(t, r, clk, time.Second)
	lc.Stop()
	advance(t, r, clk, 10*time.Second)
	lc.Start(time.Second, true)
	advance(t, r, clk, 3*time.Second)
	lc.Stop()
	if !slices.Equal(counts, []int{1, 1, 1, 3}) {
		t.Fatalf("counts %v, want [1 1 1 3]", counts)
	}
}
