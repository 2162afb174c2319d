package deferred

import "testing"

var (
	benchValue any = 42 // boxed once, so firing does not allocate for it
	benchSink  any
)

func passThrough(r any) any { return r }

// BenchmarkDeferred creates a Deferred, adds a callback and fires it.
func BenchmarkDeferred(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		d := New()
		d.AddCallback(passThrough)
		d.Callback(benchValue)
	}
}

// BenchmarkPromise creates a Promise, adds an observer and resolves it.
func BenchmarkPromise(b *testing.B) {
	b.ReportAllocs()
	n := 0
	observe := func(v int) { n += v }
	for b.Loop() {
		p, r := NewPromise[int]()
		p.OnValue(observe)
		r.Resolve(1)
	}
	benchSink = n
}

// BenchmarkChain1000 fires a Deferred through 1,000 callbacks.
func BenchmarkChain1000(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		d := New()
		for range 1000 {
			d.AddCallback(passThrough)
		}
		d.Callback(benchValue)
	}
}

// BenchmarkNested1000 fires a Deferred waiting, through 1,000 nested
// Deferreds, on an innermost one.
func BenchmarkNested1000(b *testing.B) {
	b.ReportAllocs()
	ds := make([]*Deferred, 1001)
	for b.Loop() {
		for i := range ds {
			ds[i] = New()
		}
		for i := range 1000 {
			next := ds[i+1]
			ds[i].AddCallback(func(any) any { return next })
			ds[i].Callback(nil)
		}
		ds[1000].Callback(benchValue)
		benchSink = ds[0].result
	}
}

// runInAsync runs body b.N times inside one coroutine, timing only the
// loop inside the body.
func runInAsync(b *testing.B, body func(co *Co)) {
	b.ReportAllocs()
	loop := newFakeLoop()
	p := Async(loop, func(co *Co) (int, error) {
		b.ResetTimer()
		body(co)
		b.StopTimer()
		return 0, nil
	})
	loop.drain()
	if !p.Settled() {
		b.Fatal("coroutine did not finish")
	}
}

// BenchmarkAwaitFiredPromise awaits an already resolved Promise.
func BenchmarkAwaitFiredPromise(b *testing.B) {
	p := Resolved(1)
	runInAsync(b, func(co *Co) {
		n := 0
		for range b.N {
			v, _ := Await(co, p)
			n += v
		}
		benchSink = n
	})
}

// BenchmarkAwaitFiredDeferred creates a fired Deferred and awaits it.
func BenchmarkAwaitFiredDeferred(b *testing.B) {
	runInAsync(b, func(co *Co) {
		for range b.N {
			benchSink, _ = Await(co, Succeed(benchValue))
		}
	})
}

// BenchmarkAwaitPending awaits a Deferred fired on the next loop pass: the
// coroutine suspends and is resumed by the loop.
func BenchmarkAwaitPending(b *testing.B) {
	loop := newFakeLoop()
	b.ReportAllocs()
	p := Async(loop, func(co *Co) (int, error) {
		b.ResetTimer()
		for range b.N {
			d := New()
			loop.CallSoon(func() { d.Callback(benchValue) })
			benchSink, _ = Await(co, d)
		}
		b.StopTimer()
		return 0, nil
	})
	loop.drain()
	if !p.Settled() {
		b.Fatal("coroutine did not finish")
	}
}

// BenchmarkGoroutineChannel is the reference: hand a value from a new
// goroutine to this one over a channel.
func BenchmarkGoroutineChannel(b *testing.B) {
	b.ReportAllocs()
	ch := make(chan any)
	for b.Loop() {
		go func() { ch <- benchValue }()
		benchSink = <-ch
	}
}
