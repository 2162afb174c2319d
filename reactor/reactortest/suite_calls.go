package reactortest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func init() {
	add("calls/soon-in-order-nested-on-next-pass", func(t *testing.T, newLoop NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		var got []string
		r.CallSoon(func() {
			got = append(got, "a")
			r.CallSoon(func() { got = append(got, "nested"); r.Stop() })
		})
		r.CallSoon(func() { got = append(got, "b") })
		r.CallSoon(func() { got = append(got, "c") })
		RunFor(t, l, limit)
		equal(t, "order", got, []string{"a", "b", "c", "nested"})
	})

	add("calls/from-many-goroutines", func(t *testing.T, newLoop NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		const goroutines, each = 8, 500
		last := make([]int, goroutines)
		var inside atomic.Int32
		count, disorder := 0, 0
		var wg sync.WaitGroup
		start := make(chan struct{})
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for i := 1; i <= each; i++ {
					r.CallFromGoroutine(func() {
						if inside.Add(1) != 1 {
							t.Error("two callbacks ran at once")
						}
						if last[g] != i-1 {
							disorder++
						}
						last[g] = i
						count++
						if count == goroutines*each {
							r.Stop()
						}
						inside.Add(-1)
					})
				}
			}()
		}
		r.CallSoon(func() { close(start) })
		RunFor(t, l, limit)
		wg.Wait()
		if count != goroutines*each || disorder != 0 {
			t.Errorf("ran %d of %d calls, %d out of order", count, goroutines*each, disorder)
		}
	})

	add("calls/from-goroutine-wakes-idle-loop", func(t *testing.T, newLoop NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		var woke atomic.Bool
		r.CallSoon(func() {
			go func() {
				time.Sleep(50 * time.Millisecond)
				r.CallFromGoroutine(func() { woke.Store(true); r.Stop() })
			}()
		})
		RunFor(t, l, limit)
		if !woke.Load() {
			t.Error("the call from a goroutine never ran")
		}
	})
}
