package fyneloop_test

import (
	"runtime"
	"slices"
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"github.com/loomkit/loom/reactor"
)

// BenchmarkWakeup measures, in one run, the wakeup latency from a
// goroutine into Fyne's goroutine two ways: reactor.CallFromGoroutine
// through the pump (the call posts a pass to Fyne, which runs it), and
// a bare fyne.Do. Posts alternate in blocks of 100, one at a time (each
// waits for its callback) and 1 ms apart (the loop asleep in between, as
// a desktop program's is), so both see the same machine. Run it with
// -benchtime 10000x for 10,000 posts each way. It reports p50 and p99 of each, their ratios, and allocations
// per post of each (counted around each block: they include what Fyne's
// loop allocates meanwhile).
func BenchmarkWakeup(b *testing.B) {
	for _, backend := range reactor.Backends() {
		b.Run(backend, func(b *testing.B) { benchWakeup(b, backend) })
	}
}

func benchWakeup(b *testing.B, backend string) {
	r := newReactor(b, backend)
	p := start(b, theApp, r)
	ran := make(chan time.Time, 1)
	mark := func() { ran <- time.Now() }
	const block = 100
	for range block { // warm both paths up
		r.CallFromGoroutine(mark)
		<-ran
		fyne.Do(mark)
		<-ran
	}
	n := (b.N + block - 1) / block * block
	viaReactor := make([]time.Duration, 0, n)
	viaDo := make([]time.Duration, 0, n)
	var ms runtime.MemStats
	var allocReactor, allocDo uint64
	b.ResetTimer()
	for len(viaReactor) < n {
		runtime.ReadMemStats(&ms)
		m0 := ms.Mallocs
		next := time.Now()
		space := func() {
			next = next.Add(time.Millisecond)
			time.Sleep(time.Until(next))
		}
		for range block {
			space()
			t0 := time.Now()
			r.CallFromGoroutine(mark)
			viaReactor = append(viaReactor, (<-ran).Sub(t0))
		}
		runtime.ReadMemStats(&ms)
		m1 := ms.Mallocs
		for range block {
			space()
			t0 := time.Now()
			fyne.Do(mark)
			viaDo = append(viaDo, (<-ran).Sub(t0))
		}
		runtime.ReadMemStats(&ms)
		allocReactor += m1 - m0
		allocDo += ms.Mallocs - m1
	}
	b.StopTimer()
	if err := p.Stop(); err != nil {
		b.Fatal(err)
	}
	r50, r99 := percentile(viaReactor, 50), percentile(viaReactor, 99)
	d50, d99 := percentile(viaDo, 50), percentile(viaDo, 99)
	b.ReportMetric(float64(r50.Nanoseconds()), "reactor-p50-ns")
	b.ReportMetric(float64(r99.Nanoseconds()), "reactor-p99-ns")
	b.ReportMetric(float64(d50.Nanoseconds()), "fynedo-p50-ns")
	b.ReportMetric(float64(d99.Nanoseconds()), "fynedo-p99-ns")
	b.ReportMetric(float64(r50)/float64(d50), "p50-ratio")
	b.ReportMetric(float64(r99)/float64(d99), "p99-ratio")
	b.ReportMetric(float64(allocReactor)/float64(n), "reactor-allocs/post")
	b.ReportMetric(float64(allocDo)/float64(n), "fynedo-allocs/post")
	b.ReportMetric(0, "ns/op") // the latencies above are the figures
}

func percentile(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}
