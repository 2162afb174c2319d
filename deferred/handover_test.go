package deferred

import (
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// handOverGrowth times release(n) for a thousand waiters and for large, a
// hundred times as many or more, and fails if the larger took more than
// growthLimit times as long per waiter: a hand-over that is O(1) per waiter
// takes about as long per waiter (a few times longer when the larger set no
// longer fits in the caches), one that is O(n) per waiter a hundred times
// longer or more. The small size takes the best of three runs; the large one
// passes on the first of three runs within the limit.
func handOverGrowth(t *testing.T, what string, large int, release func(n int) time.Duration) {
	t.Helper()
	const small, growthLimit = 1_000, 15
	ts := time.Duration(1<<63 - 1)
	for range 3 {
		ts = min(ts, release(small))
	}
	ts = max(ts, time.Microsecond)
	growth := func(tl time.Duration, n int) float64 { return float64(tl) / float64(n) / (float64(ts) / small) }
	var tl time.Duration
	for range 3 {
		if tl = release(large); growth(tl, large) <= growthLimit {
			return
		}
	}
	t.Fatalf("%s: %d waiters took %v, %d took %v: %.0f times as long per waiter",
		what, small, ts, large, tl, growth(tl, large))
}

func TestLockHandOverIsLinear(t *testing.T) {
	handOverGrowth(t, "Lock.Release", 100_000, func(n int) time.Duration {
		var l Lock
		l.Acquire()
		for range n {
			l.Acquire()
		}
		runtime.GC()
		start := time.Now()
		for range n + 1 {
			l.Release()
		}
		return time.Since(start)
	})
}

func TestSemaphoreHandOverIsLinear(t *testing.T) {
	handOverGrowth(t, "Semaphore.Release", 100_000, func(n int) time.Duration {
		s, _ := NewSemaphore(1)
		s.Acquire()
		for range n {
			s.Acquire()
		}
		runtime.GC()
		start := time.Now()
		for range n + 1 {
			s.Release()
		}
		return time.Since(start)
	})
}

func TestQueueHandOverIsLinear(t *testing.T) {
	handOverGrowth(t, "Queue.Put", 100_000, func(n int) time.Duration {
		q := NewQueue(-1, -1)
		for range n {
			q.Get()
		}
		runtime.GC()
		start := time.Now()
		for i := range n {
			q.Put(i)
		}
		return time.Since(start)
	})
}

func TestCancellingWaitersIsLinear(t *testing.T) {
	handOverGrowth(t, "cancelling Lock waiters", 200_000, func(n int) time.Duration {
		var l Lock
		l.Acquire()
		ds := make([]*Deferred, n)
		for i := range ds {
			ds[i] = l.Acquire()
			ds[i].AddErrback(func(error) any { return nil })
		}
		runtime.GC()
		start := time.Now()
		for _, d := range ds {
			d.Cancel()
		}
		return time.Since(start)
	})
}

// A Queue's waiting Gets, with cancellations and values in any order, are
// served oldest first and counted right, through every compaction.
func TestQueueWaitersAgainstAModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	q := NewQueue(-1, -1)
	type getter struct {
		d   *Deferred
		got any
	}
	var model []*getter // waiting, oldest first
	next := 0
	for step := range 200_000 {
		switch r := rng.IntN(10); {
		case r < 4:
			g := &getter{d: q.Get()}
			g.d.AddCallbacks(func(v any) any { g.got = v; return nil }, func(error) any { return nil })
			if !g.d.Called() {
				model = append(model, g)
			}
		case r < 7 && len(model) > 0:
			i := rng.IntN(len(model))
			if rng.IntN(4) == 0 {
				i = 0 // the oldest, often
			}
			model[i].d.Cancel()
			model = append(model[:i], model[i+1:]...)
		default:
			q.Put(next)
			if len(model) > 0 {
				if model[0].got != next {
					t.Fatalf("step %d: oldest Get got %v, want %d", step, model[0].got, next)
				}
				model = model[1:]
			}
			next++
		}
		if q.Waiting() != len(model) {
			t.Fatalf("step %d: Waiting() = %d, want %d", step, q.Waiting(), len(model))
		}
		if q.Len() > 0 && len(model) > 0 {
			t.Fatalf("step %d: values and Gets both waiting", step)
		}
		for q.Len() > 0 && rng.IntN(2) == 0 {
			q.Get()
		}
	}
	if n := len(q.waiting.ds) - q.waiting.head; n > 2*q.Waiting()+minCompact {
		t.Fatalf("%d slots held for %d waiters", n, q.Waiting())
	}
}
