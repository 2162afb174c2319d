package deferred

import (
	"errors"
	"iter"
	"os"
	"os/exec"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestAsyncStartsAndResumesFromLoopCallbacks(t *testing.T) {
	loop := newFakeLoop()
	d := New()
	var steps []string
	var inCallback []bool
	p := Async(loop, func(co *Co) (int, error) {
		steps = append(steps, "start")
		inCallback = append(inCallback, loop.inCallback)
		v, err := Await(co, d)
		steps = append(steps, "resumed")
		inCallback = append(inCallback, loop.inCallback)
		return v.(int) * 2, err
	})
	if steps != nil {
		t.Fatal("body ran inside Async; it must start from a loop callback")
	}
	loop.drain()
	if !reflect.DeepEqual(steps, []string{"start"}) {
		t.Fatalf("steps %v", steps)
	}
	d.Callback(21)
	if len(steps) != 1 {
		t.Fatal("body resumed inside Callback; it must resume from a loop callback")
	}
	loop.drain()
	if !reflect.DeepEqual(steps, []string{"start", "resumed"}) || !reflect.DeepEqual(inCallback, []bool{true, true}) {
		t.Fatalf("steps %v in callback %v", steps, inCallback)
	}
	if v, err, ok := p.poll(); !ok || err != nil || v != 42 {
		t.Fatalf("got %v %v %v", v, err, ok)
	}
}

// The loop here runs every pass under one more OS thread lock, as GTK's
// dispatch runs inside a cgo callback; a coroutine created outside such a
// pass and resumed inside one would kill the process (see
// TestCoroutineLockDepthHazard). Async must create and resume it at the
// same depth.
func TestAsyncAtCallbackLockDepth(t *testing.T) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		loop := newFakeLoop()
		loop.lockDepth = true
		d1, d2 := New(), New()
		p := Async(loop, func(co *Co) (int, error) {
			a, _ := Await(co, d1)
			b, _ := Await(co, d2)
			return a.(int) + b.(int), nil
		})
		loop.drain()
		loop.CallSoon(func() { d1.Callback(1) })
		loop.drain()
		d2.Callback(2)
		loop.drain()
		if v, _, ok := p.poll(); !ok || v != 3 {
			t.Errorf("got %v %v", v, ok)
		}
	}()
	<-done
}

// TestCoroutineLockDepthHazard shows, in a child process, the failure
// Async's scheduling avoids: a coroutine created at one thread-lock depth
// and resumed at another kills the program.
func TestCoroutineLockDepthHazard(t *testing.T) {
	if os.Getenv("LOOM_CORO_HAZARD") == "1" {
		runtime.LockOSThread()
		next, _ := iter.Pull(func(yield func(int) bool) {
			for yield(1) {
			}
		})
		runtime.LockOSThread() // as a cgo callback would
		next()
		return
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCoroutineLockDepthHazard$")
	cmd.Env = append(os.Environ(), "LOOM_CORO_HAZARD=1")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "coro: OS thread locking must match locking at coroutine creation") {
		t.Fatalf("child process: %v\n%s", err, out)
	}
}

func TestAwaitFiredValuesDoesNotSuspend(t *testing.T) {
	loop := newFakeLoop()
	const n = 5000
	var depths, goroutines []int
	passes := 0
	p := Async(loop, func(co *Co) (int, error) {
		sum := 0
		for i := range n {
			var v int
			if i%2 == 0 {
				r, err := Await(co, Succeed(i))
				if err != nil {
					return 0, err
				}
				v = r.(int)
			} else {
				v, _ = Await(co, Resolved(i))
			}
			sum += v
			if i == 0 || i == n-1 {
				depths = append(depths, stackDepth())
				goroutines = append(goroutines, runtime.NumGoroutine())
			}
		}
		return sum, nil
	})
	for loop.pass() > 0 {
		passes++
	}
	if v, err, _ := p.poll(); err != nil || v != n*(n-1)/2 {
		t.Fatalf("got %v %v", v, err)
	}
	if passes != 1 {
		t.Fatalf("%d loop passes, want 1: an Await of a fired value suspended", passes)
	}
	// Goroutines from earlier tests may still be ending, so the count may
	// fall; 5,000 awaits must not make it grow.
	if depths[0] != depths[1] || goroutines[1] > goroutines[0] {
		t.Fatalf("stack depth %v, goroutines %v", depths, goroutines)
	}
}

func TestAwaitFailure(t *testing.T) {
	loop := newFakeLoop()
	d := New()
	var got error
	p := Async(loop, func(co *Co) (string, error) {
		_, err := Await(co, d)
		got = err
		return "handled", nil
	})
	loop.drain()
	d.Errback(errGeneric)
	loop.drain()
	var f *Failure
	if !errors.As(got, &f) || !errors.Is(got, errGeneric) {
		t.Fatalf("Await returned %v", got)
	}
	if v, err, _ := p.poll(); v != "handled" || err != nil {
		t.Fatalf("got %v %v", v, err)
	}
	if d.unhandled != nil {
		t.Fatal("awaited failure still tracked as unhandled")
	}
}

func TestAwaitTakesTheDeferredResult(t *testing.T) {
	loop := newFakeLoop()
	d := New()
	Async(loop, func(co *Co) (any, error) { return Await(co, d) })
	loop.drain()
	d.Callback("v")
	if got := resultOf(t, d); got != nil {
		t.Fatalf("Deferred kept %v after Await", got)
	}
	loop.drain()
}

func TestAwaitPromiseAndNestedAsync(t *testing.T) {
	loop := newFakeLoop()
	src, r := NewPromise[int]()
	inner := func() *Promise[int] {
		return Async(loop, func(co *Co) (int, error) {
			v, err := Await(co, src)
			return v + 1, err
		})
	}
	outer := Async(loop, func(co *Co) (string, error) {
		v, err := Await(co, inner())
		if err != nil {
			return "", err
		}
		return strings.Repeat("x", v), nil
	})
	loop.drain()
	r.Resolve(2)
	loop.drain()
	if v, err, _ := outer.poll(); v != "xxx" || err != nil {
		t.Fatalf("got %q %v", v, err)
	}
}

func TestAsyncSequentialPendingAwaits(t *testing.T) {
	loop := newFakeLoop()
	var q Queue
	p := Async(loop, func(co *Co) (int, error) {
		sum := 0
		for range 100 {
			v, err := Await(co, q.Get())
			if err != nil {
				return 0, err
			}
			sum += v.(int)
		}
		return sum, nil
	})
	for i := range 100 {
		loop.drain()
		q.Put(i)
	}
	loop.drain()
	if v, err, _ := p.poll(); v != 4950 || err != nil {
		t.Fatalf("got %v %v", v, err)
	}
}

func TestAsyncPanicRejects(t *testing.T) {
	loop := newFakeLoop()
	p := Async(loop, func(co *Co) (int, error) { panic("body broke") })
	loop.drain()
	_, err, ok := p.poll()
	var pe *PanicError
	if !ok || !errors.As(err, &pe) || pe.Value != "body broke" {
		t.Fatalf("got %v %v", err, ok)
	}
	var f *Failure
	if !errors.As(err, &f) || !strings.Contains(f.Stack(), "TestAsyncPanicRejects") {
		t.Fatalf("stack lacks the body:\n%s", f.Stack())
	}
}

func TestAsyncError(t *testing.T) {
	loop := newFakeLoop()
	p := Async(loop, func(co *Co) (int, error) { return 0, errGeneric })
	loop.drain()
	if _, err, _ := p.poll(); !errors.Is(err, errGeneric) {
		t.Fatalf("got %v", err)
	}
}

func TestCancelAsyncCancelsTheAwaitedDeferred(t *testing.T) {
	loop := newFakeLoop()
	cancelled := false
	d := NewWithCanceller(func(*Deferred) { cancelled = true })
	var awaitErr error
	p := Async(loop, func(co *Co) (string, error) {
		_, err := Await(co, d)
		awaitErr = err
		if errors.Is(err, ErrCancelled) {
			return "cleaned up", nil // the body may handle it
		}
		return "", err
	})
	loop.drain()
	p.Cancel()
	if !cancelled {
		t.Fatal("awaited Deferred not cancelled")
	}
	if p.Settled() {
		t.Fatal("the body decides the result; the promise settled before it ran")
	}
	loop.drain()
	if !errors.Is(awaitErr, ErrCancelled) {
		t.Fatalf("Await returned %v", awaitErr)
	}
	if v, err, _ := p.poll(); v != "cleaned up" || err != nil {
		t.Fatalf("got %v %v", v, err)
	}
}

func TestCancelAsyncReturnsCancelledByDefault(t *testing.T) {
	loop := newFakeLoop()
	p := Async(loop, func(co *Co) (int, error) {
		_, err := Await(co, New())
		return 0, err
	})
	loop.drain()
	p.Cancel()
	loop.drain()
	if _, err, _ := p.poll(); !errors.Is(err, ErrCancelled) {
		t.Fatalf("got %v", err)
	}
}

func TestCancelAsyncWhoseCancellerGivesAValue(t *testing.T) {
	loop := newFakeLoop()
	d := NewWithCanceller(func(d *Deferred) { d.Callback("from canceller") })
	p := Async(loop, func(co *Co) (any, error) { return Await(co, d) })
	loop.drain()
	p.Cancel()
	loop.drain()
	if v, err, _ := p.poll(); v != "from canceller" || err != nil {
		t.Fatalf("got %v %v", v, err)
	}
}

func TestCancelAsyncAwaitingAPromise(t *testing.T) {
	loop := newFakeLoop()
	awaited, r := NewPromise[int]()
	stays := false
	r.OnCancel(func() { stays = true }) // leaves it pending
	p := Async(loop, func(co *Co) (int, error) { return Await(co, awaited) })
	loop.drain()
	p.Cancel()
	loop.drain()
	if _, err, _ := p.poll(); !stays || !errors.Is(err, ErrCancelled) {
		t.Fatalf("canceller ran %v, got %v", stays, err)
	}
}

// An awaited coroutine that ignores its cancellation and goes on: the outer
// Await waits for what it finally returns, as Twisted does.
func TestCancelAsyncAwaitingAsyncThatIgnoresIt(t *testing.T) {
	loop := newFakeLoop()
	release := New()
	inner := Async(loop, func(co *Co) (int, error) {
		Await(co, New()) // cancelled, ignored
		v, err := Await(co, release)
		if err != nil {
			return 0, err
		}
		return v.(int), nil
	})
	outer := Async(loop, func(co *Co) (int, error) { return Await(co, inner) })
	loop.drain()
	outer.Cancel()
	loop.drain()
	if inner.Settled() || outer.Settled() {
		t.Fatal("settled before the inner coroutine returned")
	}
	release.Callback(5)
	loop.drain()
	if v, err, _ := outer.poll(); v != 5 || err != nil {
		t.Fatalf("outer got %v, %v", v, err)
	}
}

func TestCancelAsyncBeforeItStarts(t *testing.T) {
	loop := newFakeLoop()
	ran := false
	p := Async(loop, func(co *Co) (int, error) { ran = true; return 1, nil })
	p.Cancel()
	loop.drain()
	if _, err, _ := p.poll(); ran || !errors.Is(err, ErrCancelled) {
		t.Fatalf("ran %v, got %v", ran, err)
	}
}

func TestCancelAsyncFromItsOwnBody(t *testing.T) {
	loop := newFakeLoop()
	var self *Promise[int]
	var err1, err2 error
	self = Async(loop, func(co *Co) (int, error) {
		self.Cancel()
		_, err1 = Await(co, Succeed(1))
		_, err2 = Await(co, Succeed(2)) // cancellation is not sticky
		return 0, err1
	})
	loop.drain()
	if !errors.Is(err1, ErrCancelled) || err2 != nil {
		t.Fatalf("first Await %v, second %v", err1, err2)
	}
}

func TestAwaitOutsideBody(t *testing.T) {
	loop := newFakeLoop()
	var saved *Co
	Async(loop, func(co *Co) (int, error) { saved = co; return 0, nil })
	loop.drain()
	if _, err := Await(saved, Succeed(1)); !errors.Is(err, errAwaitOutsideBody) {
		t.Fatalf("got %v", err)
	}
}

// A body waiting for a Deferred that never fires keeps a parked goroutine;
// cancelling the promise ends it.
func TestCancelledAsyncLeavesNoGoroutine(t *testing.T) {
	loop := newFakeLoop()
	var ps []*Promise[int]
	for range 10 {
		ps = append(ps, Async(loop, func(co *Co) (int, error) {
			_, err := Await(co, New())
			return 0, err
		}))
	}
	loop.drain()
	for _, p := range ps {
		p.Cancel()
	}
	loop.drain()
	for _, p := range ps {
		if _, err, _ := p.poll(); !errors.Is(err, ErrCancelled) {
			t.Fatalf("got %v", err)
		}
	}
	goleak.VerifyNone(t)
}
