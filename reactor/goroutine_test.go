package reactor_test

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
)

func newReactor(t *testing.T, opts ...reactor.Option) *reactor.Reactor {
	t.Helper()
	r, err := reactor.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func run(t *testing.T, r *reactor.Reactor) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestDeferToGoroutineDeliversOnTheLoop(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	loopG := goid() // Run runs on this goroutine
	var workG, resultG uint64
	var got []any
	r.CallSoon(func() {
		ok := r.DeferToGoroutine(func(context.Context) (any, error) {
			workG = goid()
			time.Sleep(10 * time.Millisecond)
			return 42, nil
		})
		bad := r.DeferToGoroutine(func(context.Context) (any, error) { return nil, errors.New("disk on fire") })
		boom := r.DeferToGoroutine(func(context.Context) (any, error) { panic("worker panic") })
		all := deferred.DeferredList([]*deferred.Deferred{ok, bad, boom}, deferred.ConsumeErrors)
		all.AddCallback(func(res any) any {
			resultG = goid()
			for _, o := range res.([]deferred.Outcome) {
				if o.OK {
					got = append(got, o.Value)
				} else {
					got = append(got, o.Err)
				}
			}
			r.Stop()
			return nil
		})
	})
	run(t, r)
	if workG == loopG || resultG != loopG {
		t.Errorf("work ran on goroutine %d, results on %d; the loop is %d", workG, resultG, loopG)
	}
	if len(got) != 3 || got[0] != 42 {
		t.Fatalf("got %v", got)
	}
	if err, _ := got[1].(error); err == nil || err.Error() == "" || !errorsContains(err, "disk on fire") {
		t.Errorf("error result: %v", got[1])
	}
	var pe *deferred.PanicError
	if err, _ := got[2].(error); !errors.As(err, &pe) || pe.Value != "worker panic" {
		t.Errorf("panic result: %v", got[2])
	}
}

func errorsContains(err error, s string) bool {
	for ; err != nil; err = errors.Unwrap(err) {
		if err.Error() == s {
			return true
		}
	}
	return false
}

func TestDeferToGoroutineIsBounded(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t, reactor.WithWorkers(2))
	var mu sync.Mutex
	running, peak := 0, 0
	// The jobs hold until two run at once, which a pool of two must
	// reach; then none may hold, and none may ever make it three.
	both := make(chan struct{})
	r.CallSoon(func() {
		var ds []*deferred.Deferred
		for i := range 6 {
			ds = append(ds, r.DeferToGoroutine(func(context.Context) (any, error) {
				mu.Lock()
				running++
				peak = max(peak, running)
				if running == 2 && peak == 2 {
					select {
					case <-both:
					default:
						close(both)
					}
				}
				mu.Unlock()
				select {
				case <-both:
				case <-time.After(5 * time.Second):
				}
				mu.Lock()
				running--
				mu.Unlock()
				return i, nil
			}))
		}
		deferred.Gather(ds, 0).AddBoth(func(any) any { r.Stop(); return nil })
	})
	run(t, r)
	if peak != 2 {
		t.Errorf("peak concurrency %d, want 2", peak)
	}
}

// With one worker, queued work starts in the order it was submitted.
func TestDeferToGoroutineQueueInOrder(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t, reactor.WithWorkers(1))
	var mu sync.Mutex
	var order []int
	r.CallSoon(func() {
		var ds []*deferred.Deferred
		for i := range 20 {
			ds = append(ds, r.DeferToGoroutine(func(context.Context) (any, error) {
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
				return i, nil
			}))
		}
		deferred.Gather(ds, 0).AddBoth(func(any) any { r.Stop(); return nil })
	})
	run(t, r)
	if !slices.IsSorted(order) || len(order) != 20 {
		t.Errorf("start order %v: queued work should start in order", order)
	}
}

func TestDeferToGoroutineCancel(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t, reactor.WithWorkers(1))
	var queuedRan atomic.Bool
	var runningErr, queuedErr error
	var ctxErr atomic.Value
	started := make(chan struct{})
	r.CallSoon(func() {
		running := r.DeferToGoroutine(func(ctx context.Context) (any, error) {
			close(started)
			<-ctx.Done()
			ctxErr.Store(ctx.Err())
			return nil, ctx.Err()
		})
		queued := r.DeferToGoroutine(func(context.Context) (any, error) {
			queuedRan.Store(true)
			return nil, nil
		})
		running.AddErrback(func(err error) any { runningErr = err; return nil })
		queued.AddErrback(func(err error) any { queuedErr = err; return nil })
		<-started
		queued.Cancel()
		running.Cancel()
		r.CallLater(50*time.Millisecond, r.Stop)
	})
	run(t, r)
	if !errors.Is(runningErr, deferred.ErrCancelled) || !errors.Is(queuedErr, deferred.ErrCancelled) {
		t.Errorf("cancelled results: %v, %v", runningErr, queuedErr)
	}
	if queuedRan.Load() {
		t.Error("cancelled queued work ran")
	}
	if e, _ := ctxErr.Load().(error); !errors.Is(e, context.Canceled) {
		t.Errorf("running work's context: %v", e)
	}
}

func TestShutdownTriggers(t *testing.T) {
	reactortest.CheckLeaks(t)
	var logged strings.Builder
	r := newReactor(t, reactor.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	var got []string
	r.AddSystemEventTrigger(reactor.After, reactor.Shutdown, func() *deferred.Deferred {
		got = append(got, "after")
		return nil
	})
	r.AddSystemEventTrigger(reactor.During, reactor.Shutdown, func() *deferred.Deferred {
		got = append(got, "during")
		return nil
	})
	r.AddSystemEventTrigger(reactor.Before, reactor.Shutdown, func() *deferred.Deferred {
		got = append(got, "before: flushing")
		d := deferred.New()
		r.CallLater(30*time.Millisecond, func() { got = append(got, "flushed"); d.Callback(nil) })
		return d
	})
	r.AddSystemEventTrigger(reactor.Before, reactor.Shutdown, func() *deferred.Deferred {
		return deferred.Fail(errors.New("a failing trigger does not hold shutdown"))
	})
	r.AddSystemEventTrigger(reactor.Before, reactor.Shutdown, func() *deferred.Deferred { panic("trigger panic") })
	remove := r.AddSystemEventTrigger(reactor.During, reactor.Shutdown, func() *deferred.Deferred {
		got = append(got, "removed trigger ran")
		return nil
	})
	remove()
	r.CallSoon(func() {
		r.Stop()
		if r.Stopped() {
			t.Error("Stopped before the Before triggers finished")
		}
	})
	run(t, r)
	want := "[before: flushing flushed during after]"
	if s := sprint(got); s != want {
		t.Errorf("got %s, want %s", s, want)
	}
	for _, w := range []string{"trigger panic", "a failing trigger does not hold shutdown"} {
		if !strings.Contains(logged.String(), w) {
			t.Errorf("log lacks %q:\n%s", w, logged.String())
		}
	}
}

func sprint(v []string) string {
	s := "["
	for i, x := range v {
		if i > 0 {
			s += " "
		}
		s += x
	}
	return s + "]"
}

// goid returns the current goroutine's id, from its stack header.
func goid() uint64 {
	var buf [64]byte
	s := strings.TrimPrefix(string(buf[:runtime.Stack(buf[:], false)]), "goroutine ")
	id, _ := strconv.ParseUint(s[:strings.IndexByte(s, ' ')], 10, 64)
	return id
}
