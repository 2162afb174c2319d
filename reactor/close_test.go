package reactor_test

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"weak"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
)

// Close cancels goroutine work that is running, drops work still queued,
// and fails the Deferreds of both.
func TestCloseCancelsGoroutineWork(t *testing.T) {
	reactortest.CheckLeaks(t)
	r, err := reactor.New(reactor.WithWorkers(1))
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	ctxEnded := make(chan struct{})
	var queuedRan atomic.Bool
	var errs [2]error
	r.CallSoon(func() {
		running := r.DeferToGoroutine(func(ctx context.Context) (any, error) {
			close(started)
			<-ctx.Done()
			close(ctxEnded)
			return nil, ctx.Err()
		})
		queued := r.DeferToGoroutine(func(context.Context) (any, error) {
			queuedRan.Store(true)
			return nil, nil
		})
		for i, d := range []*deferred.Deferred{running, queued} {
			d.AddErrback(func(err error) any { errs[i] = err; return nil })
		}
	})
	if err := r.RunOnce(0); err != nil {
		t.Fatal(err)
	}
	<-started
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if !errors.Is(err, deferred.ErrCancelled) {
			t.Errorf("job %d: Deferred failed with %v after Close, want ErrCancelled", i, err)
		}
	}
	select {
	case <-ctxEnded:
	case <-time.After(5 * time.Second):
		t.Fatal("the running job's context was not cancelled by Close")
	}
	// CheckLeaks waits for the worker goroutine to end; had it taken the
	// queued job, the flag would be set by then.
	t.Cleanup(func() {
		if queuedRan.Load() {
			t.Error("a job queued before Close ran after it")
		}
	})
}

// Work submitted to a closed reactor never runs; its Deferred says why.
func TestDeferToGoroutineAfterClose(t *testing.T) {
	reactortest.CheckLeaks(t)
	r, err := reactor.New()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	var ran atomic.Bool
	d := r.DeferToGoroutine(func(context.Context) (any, error) { ran.Store(true); return nil, nil })
	var got error
	d.AddErrback(func(err error) any { got = err; return nil })
	if !errors.Is(got, reactor.ErrClosed) {
		t.Errorf("DeferToGoroutine after Close failed with %v, want ErrClosed", got)
	}
	t.Cleanup(func() {
		if ran.Load() {
			t.Error("work submitted after Close ran")
		}
	})
}

// Calls queued after Close are dropped, not kept: what they hold can be
// collected.
func TestCallsAfterCloseAreNotRetained(t *testing.T) {
	r, err := reactor.New()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	var ptrs []weak.Pointer[[1024]byte]
	for range 100 {
		buf := new([1024]byte)
		ptrs = append(ptrs, weak.Make(buf))
		r.CallFromGoroutine(func() { buf[0]++ })
		r.CallSoon(func() { buf[1]++ })
		r.CallLater(time.Second, func() { buf[2]++ })
	}
	runtime.GC()
	runtime.GC()
	kept := 0
	for _, p := range ptrs {
		if p.Value() != nil {
			kept++
		}
	}
	if kept > 0 {
		t.Errorf("a closed reactor keeps %d of 100 queued calls", kept)
	}
	if c := r.CallLater(0, func() {}); c.Active() {
		t.Error("CallLater on a closed reactor returned an active call")
	}
}

// A Stop queued by Run's context when Run had already stopped must not
// end the next Run.
func TestContextStopDoesNotLeakIntoNextRun(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	ctx, cancel := context.WithCancel(context.Background())
	// A timer the pass waited for runs last in its pass, after the calls
	// from goroutines: the context's Stop, queued meanwhile, is left over.
	r.CallLater(10*time.Millisecond, func() {
		cancel()
		time.Sleep(20 * time.Millisecond)
		r.Stop()
	})
	r.Run(ctx)
	ranUntilStop := false
	r.CallLater(30*time.Millisecond, func() { ranUntilStop = true; r.Stop() })
	run(t, r)
	if !ranUntilStop {
		t.Error("the second Run returned before its own Stop: the first Run's context stopped it")
	}
}

// Stop while the Shutdown event is already firing (fired by the program
// itself) stops the reactor once the triggers are done.
func TestStopWhileShutdownFiring(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	hold := deferred.New()
	r.AddSystemEventTrigger(reactor.Before, reactor.Shutdown, func() *deferred.Deferred { return hold })
	fired := 0
	r.CallSoon(func() {
		r.FireSystemEvent(reactor.Shutdown, func() { fired++ })
		r.Stop()
		r.Stop()
		r.CallLater(20*time.Millisecond, func() { hold.Callback(nil) })
	})
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- r.Run(ctx)
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil after Stop", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run hangs: a Stop made while Shutdown was firing was lost, and so was the context's")
	}
	if fired != 1 {
		t.Errorf("the program's own FireSystemEvent done ran %d times, want 1", fired)
	}
}

// A reactor that ran and was never stopped (its embedding loop ended, as
// with gtk.MainQuit) runs its Shutdown triggers when it is closed; one
// that already stopped, or never ran, does not run them again.
func TestCloseRunsShutdownOfALiveReactor(t *testing.T) {
	reactortest.CheckLeaks(t)
	for _, c := range []struct {
		name string
		run  func(r *reactor.Reactor)
		want int
	}{
		{"never run", func(*reactor.Reactor) {}, 0},
		{"passes, no stop", func(r *reactor.Reactor) { r.RunOnce(0); r.RunOnce(0) }, 1},
		{"run and stopped", func(r *reactor.Reactor) { r.CallSoon(r.Stop); r.Run(context.Background()) }, 0},
	} {
		r, err := reactor.New()
		if err != nil {
			t.Fatal(err)
		}
		fired := 0
		r.AddSystemEventTrigger(reactor.Before, reactor.Shutdown, func() *deferred.Deferred {
			d := deferred.New()
			r.CallLater(10*time.Millisecond, func() { fired++; d.Callback(nil) }) // needs passes
			return d
		})
		r.AddSystemEventTrigger(reactor.After, reactor.Shutdown, func() *deferred.Deferred { fired++; return nil })
		c.run(r)
		if c.name == "run and stopped" {
			fired = 0
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if fired != 2*c.want {
			t.Errorf("%s: Close ran %d shutdown triggers, want %d", c.name, fired, 2*c.want)
		}
	}
}

// A Before trigger that never lets go holds a stop only for the shutdown
// timeout, on the reactor's clock.
func TestShutdownTimeout(t *testing.T) {
	reactortest.CheckLeaks(t)
	clk := reactortest.NewClock(time.Now())
	var logged strings.Builder
	r := newReactor(t, reactor.WithClock(clk), reactor.WithShutdownTimeout(time.Minute),
		reactor.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	after := false
	r.AddSystemEventTrigger(reactor.Before, reactor.Shutdown, func() *deferred.Deferred { return deferred.New() })
	r.AddSystemEventTrigger(reactor.After, reactor.Shutdown, func() *deferred.Deferred { after = true; return nil })
	r.CallSoon(func() {
		r.Stop()
		clk.Advance(59 * time.Second)
		r.CallLater(0, func() {
			if r.Stopped() {
				t.Error("stopped before the shutdown timeout")
			}
			clk.Advance(time.Second)
		})
	})
	run(t, r)
	if !after {
		t.Error("the After triggers did not run after the timeout")
	}
	if !strings.Contains(logged.String(), "triggers still running at the timeout") {
		t.Errorf("the timeout was not logged:\n%s", logged.String())
	}
}

// The end of Run's context ends Run even while a Shutdown trigger holds
// the stop and no timeout bounds it.
func TestRunContextEndsAHeldShutdown(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t, reactor.WithShutdownTimeout(0), reactor.WithLogger(slog.New(slog.DiscardHandler)))
	r.AddSystemEventTrigger(reactor.Before, reactor.Shutdown, func() *deferred.Deferred { return deferred.New() })
	r.CallSoon(r.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Run = %v, want the context's error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run ignores the end of its context while a Shutdown trigger holds the stop")
	}
}
