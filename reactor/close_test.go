package reactor_test

import (
	"context"
	"errors"
	"runtime"
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
