package reactor_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
)

// BenchmarkTimer compares scheduling and cancelling a call on the reactor
// with the runtime's own timers.
func BenchmarkTimer(b *testing.B) {
	b.Run("reactor.CallLater+Cancel", func(b *testing.B) {
		r := newBenchReactor(b, "")
		f := func() {}
		b.ReportAllocs()
		for b.Loop() {
			r.CallLater(time.Hour, f).Cancel()
		}
	})
	b.Run("time.AfterFunc+Stop", func(b *testing.B) {
		f := func() {}
		b.ReportAllocs()
		for b.Loop() {
			time.AfterFunc(time.Hour, f).Stop()
		}
	})
	// With 10,000 other timers pending, as in a busy program.
	b.Run("reactor.CallLater+Cancel/10k-pending", func(b *testing.B) {
		r := newBenchReactor(b, "")
		f := func() {}
		for i := range 10000 {
			r.CallLater(time.Hour+time.Duration(i), f)
		}
		b.ReportAllocs()
		for b.Loop() {
			r.CallLater(time.Hour/2, f).Cancel()
		}
	})
	b.Run("time.AfterFunc+Stop/10k-pending", func(b *testing.B) {
		f := func() {}
		var ts []*time.Timer
		for i := range 10000 {
			ts = append(ts, time.AfterFunc(time.Hour+time.Duration(i), f))
		}
		b.ReportAllocs()
		for b.Loop() {
			time.AfterFunc(time.Hour/2, f).Stop()
		}
		for _, t := range ts {
			t.Stop()
		}
	})
}

// BenchmarkDispatch measures one pass that dispatches one ready
// descriptor among n registered ones. epoll's cost should not grow with n;
// poll's does.
func BenchmarkDispatch(b *testing.B) {
	for _, backend := range reactor.Backends() {
		for _, n := range []int{1, 100, 10000} {
			b.Run(fmt.Sprintf("%s/fds=%d", backend, n), func(b *testing.B) {
				r := newBenchReactor(b, backend)
				calls := setupReaders(b, r, n)
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					r.RunOnce(0)
				}
				b.StopTimer()
				if *calls < b.N {
					b.Fatalf("%d reader calls in %d passes", *calls, b.N)
				}
			})
		}
	}
}

// BenchmarkCallFromGoroutine is a round trip: a goroutine hands a call to
// the running reactor and waits for it to answer. The reference is the
// same round trip between two goroutines over channels.
func BenchmarkCallFromGoroutine(b *testing.B) {
	b.Run("reactor", func(b *testing.B) {
		r := newBenchReactor(b, "")
		done := make(chan struct{}, 1)
		answer := func() { done <- struct{}{} }
		stopped := make(chan error)
		go func() { stopped <- r.Run(context.Background()) }()
		b.ReportAllocs()
		for b.Loop() {
			r.CallFromGoroutine(answer)
			<-done
		}
		r.CallFromGoroutine(r.Stop)
		<-stopped
	})
	// Go's runtime netpoller: a goroutine blocked reading a pipe, woken
	// by a write, answers over a channel.
	b.Run("go-netpoll-pipe", func(b *testing.B) {
		pr, pw, err := os.Pipe()
		if err != nil {
			b.Fatal(err)
		}
		defer pw.Close()
		done := make(chan struct{}, 1)
		go func() {
			defer pr.Close()
			var buf [1]byte
			for {
				if _, err := pr.Read(buf[:]); err != nil {
					return
				}
				done <- struct{}{}
			}
		}()
		one := []byte{1}
		b.ReportAllocs()
		for b.Loop() {
			pw.Write(one)
			<-done
		}
	})
	b.Run("channels", func(b *testing.B) {
		req := make(chan func())
		done := make(chan struct{}, 1)
		answer := func() { done <- struct{}{} }
		go func() {
			for f := range req {
				f()
			}
		}()
		b.ReportAllocs()
		for b.Loop() {
			req <- answer
			<-done
		}
		close(req)
	})
}

func newBenchReactor(b *testing.B, backend string) *reactor.Reactor {
	b.Helper()
	r, err := reactor.New(reactor.WithBackend(backend), reactor.WithoutSignalHandlers())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	return r
}

// BenchmarkCancelQueuedGoroutineWork cancels n jobs queued behind a busy
// worker, in the order they were queued and in reverse; ns/job must stay
// flat as n grows.
func BenchmarkCancelQueuedGoroutineWork(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			r, err := reactor.New(reactor.WithWorkers(1), reactor.WithoutSignalHandlers())
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			release := make(chan struct{})
			busy := r.DeferToGoroutine(func(context.Context) (any, error) { <-release; return nil, nil })
			ds := make([]*deferred.Deferred, n)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for k := range ds {
					ds[k] = r.DeferToGoroutine(func(context.Context) (any, error) { return nil, nil })
				}
				for k := range ds {
					if i%2 == 1 {
						k = len(ds) - 1 - k
					}
					ds[k].AddErrback(func(error) any { return nil })
					ds[k].Cancel()
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/job")
			close(release)
			busy.AddBoth(func(any) any { return nil })
		})
	}
}
