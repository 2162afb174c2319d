package deferred

import (
	"fmt"
	"testing"
)

// The hand-over benchmarks queue n waiters on a Lock, Semaphore or Queue
// and time only their release, reporting the cost per waiter: it must stay
// flat as n grows (each hand-over O(1)).

var handOverSizes = []int{1_000, 10_000, 200_000}

func benchHandOver(b *testing.B, setup func(n int) (release func()), n int) {
	b.ReportAllocs()
	for range b.N {
		b.StopTimer()
		release := setup(n)
		b.StartTimer()
		release()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/waiter")
}

func forEachSize(b *testing.B, setup func(n int) (release func())) {
	for _, n := range handOverSizes {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) { benchHandOver(b, setup, n) })
	}
}

// BenchmarkLockHandOver releases a Lock n times, handing it to each of n
// waiters in turn.
func BenchmarkLockHandOver(b *testing.B) {
	forEachSize(b, func(n int) func() {
		var l Lock
		l.Acquire()
		for range n {
			l.Acquire()
		}
		return func() {
			for range n + 1 {
				l.Release()
			}
		}
	})
}

// BenchmarkSemaphoreHandOver does the same with a one-token Semaphore.
func BenchmarkSemaphoreHandOver(b *testing.B) {
	forEachSize(b, func(n int) func() {
		s, _ := NewSemaphore(1)
		s.Acquire()
		for range n {
			s.Acquire()
		}
		return func() {
			for range n + 1 {
				s.Release()
			}
		}
	})
}

// BenchmarkQueueHandOver feeds n waiting Gets.
func BenchmarkQueueHandOver(b *testing.B) {
	forEachSize(b, func(n int) func() {
		q := NewQueue(-1, -1)
		for range n {
			q.Get()
		}
		return func() {
			for i := range n {
				q.Put(i)
			}
		}
	})
}

// BenchmarkQueueValues gets n values that were Put before.
func BenchmarkQueueValues(b *testing.B) {
	forEachSize(b, func(n int) func() {
		q := NewQueue(-1, -1)
		for i := range n {
			q.Put(i)
		}
		return func() {
			for range n {
				q.Get()
			}
		}
	})
}

// BenchmarkLockCancelWaiters cancels n waiting Acquires, oldest first,
// then releases the Lock.
func BenchmarkLockCancelWaiters(b *testing.B) {
	forEachSize(b, func(n int) func() {
		var l Lock
		l.Acquire()
		ds := make([]*Deferred, n)
		for i := range ds {
			ds[i] = l.Acquire()
		}
		return func() {
			for _, d := range ds {
				d.Cancel()
			}
			l.Release()
		}
	})
}

// BenchmarkQueueCancelGets cancels n waiting Gets, oldest first.
func BenchmarkQueueCancelGets(b *testing.B) {
	forEachSize(b, func(n int) func() {
		q := NewQueue(-1, -1)
		ds := make([]*Deferred, n)
		for i := range ds {
			ds[i] = q.Get()
		}
		return func() {
			for _, d := range ds {
				d.Cancel()
			}
		}
	})
}
