package reactor_test

import (
	"testing"
	"time"

	"github.com/loomkit/loom/reactor"
)

// BenchmarkCallbacks measures the dispatch path per callback: one pass
// running a ready descriptor's reader, a timer, or a batch of 64 calls.
// It reads LOOM_SLOW as the reactor does (scripts/bench runs it with
// slow-callback detection off and on, against the build before it was
// added): the three figures are the cost of detection.
func BenchmarkCallbacks(b *testing.B) {
	b.Run("reader", func(b *testing.B) {
		r := newBenchReactor(b, "")
		calls := setupReaders(b, r, 1)
		b.ReportAllocs()
		for b.Loop() {
			r.RunOnce(0)
		}
		if *calls < b.N {
			b.Fatalf("%d reader calls in %d passes", *calls, b.N)
		}
	})
	b.Run("timer", func(b *testing.B) {
		r := newBenchReactor(b, "")
		var tick func()
		tick = func() { r.CallLater(0, tick) }
		r.CallLater(0, tick)
		b.ReportAllocs()
		for b.Loop() {
			r.RunOnce(0)
		}
	})
	b.Run("calls-64", func(b *testing.B) {
		r := newBenchReactor(b, "")
		f := func() {}
		b.ReportAllocs()
		for b.Loop() {
			for range 64 {
				r.CallSoon(f)
			}
			r.RunOnce(0)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/64, "ns/call")
	})
	_ = reactor.DefaultSlowThreshold
	_ = time.Second
}
