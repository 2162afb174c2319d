package reactor_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
)

// stopWhenSettled stops r once every promise has settled.
func stopWhenSettled(r *reactor.Reactor, ps ...interface{ Deferred() *deferred.Deferred }) {
	ds := make([]*deferred.Deferred, len(ps))
	for i, p := range ps {
		ds[i] = p.Deferred()
	}
	deferred.DeferredList(ds, deferred.ConsumeErrors).AddCallback(func(any) any {
		r.Stop()
		return nil
	})
}

func TestGoDeliversTypedResultsOnTheLoop(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	loopG := goid()
	var workG, valueG uint64
	var value int
	var text string
	var errBad, errBoom error
	r.CallSoon(func() {
		ok := reactor.Go(r, func(context.Context) (int, error) {
			workG = goid()
			return 42, nil
		})
		str := reactor.Go(r, func(context.Context) (string, error) { return "hello", nil })
		bad := reactor.Go(r, func(context.Context) (string, error) { return "", errors.New("disk on fire") })
		boom := reactor.Go(r, func(context.Context) (int, error) { panic("worker panic") })
		ok.OnValue(func(v int) { value, valueG = v, goid() })
		str.OnValue(func(s string) { text = s })
		bad.OnError(func(err error) { errBad = err })
		boom.OnError(func(err error) { errBoom = err })
		stopWhenSettled(r, ok, str, bad, boom)
	})
	run(t, r)
	if value != 42 || text != "hello" {
		t.Errorf("values = %d, %q; want 42, \"hello\"", value, text)
	}
	if workG == loopG || valueG != loopG {
		t.Errorf("work ran on goroutine %d, value delivered on %d; loop is %d", workG, valueG, loopG)
	}
	if errBad == nil || errBad.Error() != "disk on fire" {
		t.Errorf("error = %v, want disk on fire", errBad)
	}
	var pe *deferred.PanicError
	if !errors.As(errBoom, &pe) || pe.Value != "worker panic" {
		t.Errorf("panic error = %v, want a PanicError of \"worker panic\"", errBoom)
	}
}

func TestGoCancelCancelsContextAndRejectsAtOnce(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	started := make(chan struct{})
	ctxDone := make(chan struct{})
	var err error
	var settledAtOnce, valueSeen bool
	r.CallSoon(func() {
		p := reactor.Go(r, func(ctx context.Context) (int, error) {
			close(started)
			<-ctx.Done()
			close(ctxDone)
			return 1, nil // too late: the promise was cancelled
		})
		p.OnValue(func(int) { valueSeen = true })
		p.OnError(func(e error) { err = e })
		go func() {
			<-started
			r.CallFromGoroutine(func() {
				p.Cancel()
				settledAtOnce = p.Settled()
				go func() {
					<-ctxDone
					// One more round trip, so the late result has arrived.
					time.Sleep(10 * time.Millisecond)
					r.CallFromGoroutine(r.Stop)
				}()
			})
		}()
	})
	run(t, r)
	if !settledAtOnce || !errors.Is(err, deferred.ErrCancelled) || valueSeen {
		t.Errorf("settled at once %v, error %v, value seen %v; want true, ErrCancelled, false", settledAtOnce, err, valueSeen)
	}
}

func TestGoQueuedWorkCancelledNeverStarts(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t, reactor.WithWorkers(1))
	release := make(chan struct{})
	var ran bool
	var err error
	r.CallSoon(func() {
		first := reactor.Go(r, func(context.Context) (int, error) {
			<-release
			return 1, nil
		})
		second := reactor.Go(r, func(context.Context) (int, error) {
			ran = true
			return 2, nil
		})
		second.OnError(func(e error) { err = e })
		second.Cancel()
		close(release)
		stopWhenSettled(r, first, second)
	})
	run(t, r)
	if ran || !errors.Is(err, deferred.ErrCancelled) {
		t.Errorf("cancelled queued work ran: %v, error %v", ran, err)
	}
}

func TestGoCloseCancelsRunningWork(t *testing.T) {
	reactortest.CheckLeaks(t)
	r, err := reactor.New(reactor.WithoutSignalHandlers())
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	ctxDone := make(chan struct{})
	var p *deferred.Promise[int]
	var perr error
	r.CallSoon(func() {
		p = reactor.GoWithProgress(r, deferred.Progress, func(ctx context.Context, progress func(deferred.Count)) (int, error) {
			close(started)
			<-ctx.Done()
			progress(deferred.Count{Done: 1, Total: 1}) // dropped
			close(ctxDone)
			return 0, ctx.Err()
		})
		p.OnError(func(e error) { perr = e })
		deferred.On(p, deferred.Progress, func(deferred.Count) { t.Error("progress after Close") })
		go func() {
			<-started
			r.CallFromGoroutine(r.Stop)
		}()
	})
	run(t, r)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if !p.Settled() || !errors.Is(perr, deferred.ErrCancelled) {
		t.Errorf("after Close: settled %v, error %v; want ErrCancelled", p.Settled(), perr)
	}
	select {
	case <-ctxDone:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not cancel the work's context")
	}
}

func TestGoOnClosedOrNil(t *testing.T) {
	reactortest.CheckLeaks(t)
	r, err := reactor.New(reactor.WithoutSignalHandlers())
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	var errs []error
	reactor.Go(r, func(context.Context) (int, error) { return 1, nil }).OnError(func(e error) { errs = append(errs, e) })
	reactor.GoWithProgress(r, deferred.Progress, func(context.Context, func(deferred.Count)) (int, error) { return 1, nil }).OnError(func(e error) { errs = append(errs, e) })
	if len(errs) != 2 || !errors.Is(errs[0], reactor.ErrClosed) || !errors.Is(errs[1], reactor.ErrClosed) {
		t.Errorf("on a closed reactor: %v, want two ErrClosed", errs)
	}
	errs = nil
	reactor.Go[int](nil, func(context.Context) (int, error) { return 1, nil }).OnError(func(e error) { errs = append(errs, e) })
	reactor.Go[int](r, nil).OnError(func(e error) { errs = append(errs, e) })
	reactor.GoWithProgress[int, deferred.Count](r, deferred.Progress, nil).OnError(func(e error) { errs = append(errs, e) })
	if len(errs) != 3 {
		t.Fatalf("got %d errors, want 3", len(errs))
	}
	for _, e := range errs {
		if !errors.Is(e, deferred.ErrNil) {
			t.Errorf("error %v does not wrap ErrNil", e)
		}
	}
}

var step = deferred.NewEvent[int]("step")

func TestGoWithProgressCoalescesAndKeepsTheLast(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	const n = 100000
	loopG := goid()
	var seen []int
	var result string
	var afterSettle, offLoop bool
	r.CallSoon(func() {
		p := reactor.GoWithProgress(r, step, func(ctx context.Context, progress func(int)) (string, error) {
			for i := 1; i <= n; i++ {
				progress(i)
			}
			return "done", nil
		})
		deferred.On(p, step, func(i int) {
			afterSettle = afterSettle || p.Settled()
			offLoop = offLoop || goid() != loopG
			seen = append(seen, i)
		})
		p.OnValue(func(s string) {
			result = s
			r.Stop()
		})
	})
	run(t, r)
	if result != "done" {
		t.Fatalf("result = %q", result)
	}
	if afterSettle || offLoop {
		t.Errorf("progress after settling %v, off the loop %v", afterSettle, offLoop)
	}
	if len(seen) == 0 || seen[len(seen)-1] != n {
		t.Fatalf("the last report was not delivered: saw %d reports, last %v", len(seen), seen[max(0, len(seen)-1):])
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] <= seen[i-1] {
			t.Fatalf("reports out of order: %d after %d", seen[i], seen[i-1])
		}
	}
	t.Logf("%d reports, %d delivered", n, len(seen))
}

func TestGoWithProgressFromManyGoroutinesAndDerivedPromises(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	var last deferred.Count
	var count int
	var doubled int
	r.CallSoon(func() {
		p := reactor.GoWithProgress(r, deferred.Progress, func(ctx context.Context, progress func(deferred.Count)) (int, error) {
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Go(func() {
					for i := range 1000 {
						progress(deferred.Count{Done: int64(g*1000 + i), Total: 5000})
					}
				})
			}
			wg.Wait()
			progress(deferred.Count{Done: 5000, Total: 5000})
			return 21, nil
		})
		q := deferred.Then(p, func(v int) (int, error) { return 2 * v, nil })
		deferred.On(q, deferred.Progress, func(c deferred.Count) { last = c; count++ })
		q.OnValue(func(v int) {
			doubled = v
			r.Stop()
		})
	})
	run(t, r)
	if doubled != 42 || last != (deferred.Count{Done: 5000, Total: 5000}) || count == 0 {
		t.Errorf("result %d, last progress %+v after %d; want 42, 5000/5000", doubled, last, count)
	}
}

func TestGoWithProgressCancelledDropsReports(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	ctxDone := make(chan struct{})
	var after int
	r.CallSoon(func() {
		reported := make(chan struct{})
		var p *deferred.Promise[int]
		p = reactor.GoWithProgress(r, step, func(ctx context.Context, progress func(int)) (int, error) {
			progress(1)
			close(reported)
			<-ctx.Done()
			for i := range 100 {
				progress(i)
			}
			close(ctxDone)
			return 0, nil
		})
		deferred.On(p, step, func(int) {
			if p.Settled() {
				after++
			}
		})
		go func() {
			<-reported
			r.CallFromGoroutine(func() {
				p.Cancel()
				go func() {
					<-ctxDone
					time.Sleep(10 * time.Millisecond)
					r.CallFromGoroutine(r.Stop)
				}()
			})
		}()
	})
	run(t, r)
	if after != 0 {
		t.Errorf("%d reports delivered after Cancel", after)
	}
}
