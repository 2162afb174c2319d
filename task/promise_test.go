package task_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/task"
)

// settled records what a promise settled with; watching it handles a
// rejection.
type settled[T any] struct {
	n   int
	v   T
	err error
}

func watchPromise[T any](p *deferred.Promise[T]) *settled[T] {
	s := &settled[T]{}
	p.OnValue(func(v T) { s.n++; s.v = v })
	p.OnError(func(err error) { s.n++; s.err = err })
	return s
}

func TestWaitForFilePromise(t *testing.T) {
	r, clk := fake(t)
	path := filepath.Join(t.TempDir(), "ready")
	s := watchPromise(task.WaitForFilePromise(r, path, time.Second))
	advance(t, r, clk, time.Second)
	if s.n != 0 {
		t.Fatalf("settled before the file exists: %+v", s)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	advance(t, r, clk, time.Second)
	if s.n != 1 || s.v != path || s.err != nil {
		t.Fatalf("%+v, want the path", s)
	}
	noPending(t, r)
}

func TestWaitForFilePromiseCancelStopsPolling(t *testing.T) {
	r, clk := fake(t)
	path := filepath.Join(t.TempDir(), "never")
	p := task.WaitForFilePromise(r, path, time.Second)
	s := watchPromise(p)
	advance(t, r, clk, time.Second)
	p.Cancel()
	if s.n != 1 || !errors.Is(s.err, deferred.ErrCancelled) {
		t.Fatalf("%+v, want ErrCancelled", s)
	}
	noPending(t, r)
}

func TestWaitForFilePromiseErrors(t *testing.T) {
	r, _ := fake(t)
	s := watchPromise(task.WaitForFilePromise(r, "", time.Second))
	if s.n != 1 || s.err == nil {
		t.Errorf("empty path: %+v, want an error", s)
	}
	s = watchPromise(task.WaitForFilePromise(nil, "x", time.Second))
	if s.n != 1 || s.err == nil {
		t.Errorf("nil reactor: %+v, want an error", s)
	}
	s = watchPromise(task.WaitForFilePromise(r, filepath.Join(t.TempDir(), "x"), -time.Second))
	if s.n != 1 || !errors.Is(s.err, task.ErrNegativeInterval) {
		t.Errorf("negative interval: %+v, want ErrNegativeInterval", s)
	}
}

func TestWaitForFilePromiseClose(t *testing.T) {
	r, _ := fake(t)
	s := watchPromise(task.WaitForFilePromise(r, filepath.Join(t.TempDir(), "never"), time.Second))
	r.Close()
	if s.n != 1 || !errors.Is(s.err, reactor.ErrClosed) {
		t.Errorf("%+v, want ErrClosed", s)
	}
}

func TestDeferLaterPromise(t *testing.T) {
	r, clk := fake(t)
	ran := 0
	ok := watchPromise(task.DeferLaterPromise(r, time.Second, func() (int, error) {
		ran++
		return 42, nil
	}))
	bad := watchPromise(task.DeferLaterPromise(r, time.Second, func() (string, error) {
		return "ignored", errors.New("no luck")
	}))
	boom := watchPromise(task.DeferLaterPromise(r, time.Second, func() (int, error) { panic("later panic") }))
	asError := watchPromise(task.DeferLaterPromise(r, time.Second, func() (error, error) {
		return errors.New("a value, not a failure"), nil
	}))
	zero := watchPromise(task.DeferLaterPromise[int](r, time.Second, nil))
	advance(t, r, clk, ms(999))
	if ran != 0 || ok.n+bad.n+boom.n+asError.n+zero.n != 0 {
		t.Fatal("settled before the delay passed")
	}
	advance(t, r, clk, ms(1))
	if ran != 1 || ok.n != 1 || ok.v != 42 || ok.err != nil {
		t.Errorf("ok: %+v (ran %d), want 42", ok, ran)
	}
	if bad.n != 1 || bad.err == nil || bad.err.Error() != "no luck" {
		t.Errorf("bad: %+v, want no luck", bad)
	}
	var pe *deferred.PanicError
	if boom.n != 1 || !errors.As(boom.err, &pe) {
		t.Errorf("boom: %+v, want a PanicError", boom)
	}
	if asError.n != 1 || asError.err != nil || asError.v == nil || asError.v.Error() != "a value, not a failure" {
		t.Errorf("an error as the value: %+v, want it fulfilled with the error value", asError)
	}
	if zero.n != 1 || zero.v != 0 || zero.err != nil {
		t.Errorf("nil f: %+v, want 0", zero)
	}
}

func TestDeferLaterPromiseCancel(t *testing.T) {
	r, clk := fake(t)
	ran := false
	p := task.DeferLaterPromise(r, time.Second, func() (int, error) { ran = true; return 1, nil })
	s := watchPromise(p)
	p.Cancel()
	advance(t, r, clk, time.Second)
	if ran || s.n != 1 || !errors.Is(s.err, deferred.ErrCancelled) {
		t.Errorf("ran %v, %+v; want not run, ErrCancelled", ran, s)
	}
	noPending(t, r)
}

func TestDeferLaterPromiseClose(t *testing.T) {
	r, _ := fake(t)
	s := watchPromise(task.DeferLaterPromise(r, time.Second, func() (int, error) { return 1, nil }))
	r.Close()
	if s.n != 1 || !errors.Is(s.err, reactor.ErrClosed) {
		t.Errorf("%+v, want ErrClosed", s)
	}
	s = watchPromise(task.DeferLaterPromise(r, time.Second, func() (int, error) { return 1, nil }))
	if s.n != 1 || !errors.Is(s.err, reactor.ErrClosed) {
		t.Errorf("on a closed reactor: %+v, want ErrClosed", s)
	}
	s = watchPromise(task.DeferLaterPromise(nil, time.Second, func() (int, error) { return 1, nil }))
	if s.n != 1 || s.err == nil {
		t.Errorf("nil reactor: %+v, want an error", s)
	}
}

func TestLoopingCallStartPromise(t *testing.T) {
	r, clk := fake(t)
	calls := 0
	var lc *task.LoopingCall
	lc = task.NewLoopingCall(r, func() any {
		calls++
		if calls == 3 {
			lc.Stop()
		}
		return nil
	})
	s := watchPromise(lc.StartPromise(time.Second, true))
	again := watchPromise(lc.StartPromise(time.Second, true))
	if again.n != 1 || !errors.Is(again.err, task.ErrAlreadyRunning) {
		t.Errorf("second start: %+v, want ErrAlreadyRunning", again)
	}
	pump(t, r, clk, time.Second, time.Second)
	if calls != 3 || s.n != 1 || s.v != lc || s.err != nil {
		t.Errorf("calls %d, %+v; want 3, the LoopingCall", calls, s)
	}
	noPending(t, r)
}

func TestLoopingCallStartPromiseFailure(t *testing.T) {
	r, clk := fake(t)
	lc := task.NewLoopingCall(r, func() any { return errors.New("tick failed") })
	s := watchPromise(lc.StartPromise(time.Second, false))
	advance(t, r, clk, time.Second)
	if s.n != 1 || s.err == nil || s.err.Error() != "tick failed" {
		t.Errorf("%+v, want tick failed", s)
	}
	var zero task.LoopingCall
	s = watchPromise(zero.StartPromise(time.Second, false))
	if s.n != 1 || s.err == nil {
		t.Errorf("zero LoopingCall: %+v, want an error", s)
	}
	var nilLC *task.LoopingCall
	s = watchPromise(nilLC.StartPromise(time.Second, false))
	if s.n != 1 || s.err == nil {
		t.Errorf("nil LoopingCall: %+v, want an error", s)
	}
}

// Cancelling the promise stops the loop; the other run a later Start makes
// is not touched by a second Cancel.
func TestLoopingCallStartPromiseCancel(t *testing.T) {
	r, clk := fake(t)
	calls := 0
	lc := task.NewLoopingCall(r, func() any { calls++; return nil })
	p := lc.StartPromise(time.Second, false)
	s := watchPromise(p)
	advance(t, r, clk, time.Second)
	p.Cancel()
	if s.n != 1 || !errors.Is(s.err, deferred.ErrCancelled) || lc.Running() {
		t.Fatalf("%+v, running %v; want ErrCancelled, stopped", s, lc.Running())
	}
	noPending(t, r)
	advance(t, r, clk, time.Second)
	if calls != 1 {
		t.Errorf("%d calls, want 1", calls)
	}
	next := watchPromise(lc.StartPromise(time.Second, false))
	p.Cancel() // settled already: nothing
	if !lc.Running() || next.n != 0 {
		t.Errorf("the new run was touched: running %v, %+v", lc.Running(), next)
	}
	lc.Stop()
	if next.n != 1 || next.v != lc {
		t.Errorf("%+v, want the LoopingCall", next)
	}
}

func TestLoopingCallStartPromiseClose(t *testing.T) {
	r, _ := fake(t)
	lc := task.NewLoopingCall(r, func() any { return nil })
	s := watchPromise(lc.StartPromise(time.Second, false))
	r.Close()
	if s.n != 1 || !errors.Is(s.err, reactor.ErrClosed) {
		t.Errorf("%+v, want ErrClosed", s)
	}
}
