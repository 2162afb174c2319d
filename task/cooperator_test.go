package task_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/task"
)

// values returns a job yielding each of vs and recording it in out.
func values[T any](vs []T, out *[]any) func(func(any) bool) {
	return func(yield func(any) bool) {
		for _, v := range vs {
			*out = append(*out, v)
			if !yield(nil) {
				return
			}
		}
	}
}

// drain runs passes until every watched Deferred has fired (or fails t).
func drain(t *testing.T, r *reactor.Reactor, os ...*outcome) {
	t.Helper()
	for range 10000 {
		done := true
		for _, o := range os {
			done = done && o.fired
		}
		if done {
			return
		}
		pass(t, r)
	}
	t.Fatal("tasks still running after 10000 passes")
}

// TestCooperation is testCooperation: tasks take turns one unit each, in
// the order they were added.
func TestCooperation(t *testing.T) {
	r, _ := fake(t)
	c := task.NewCooperator(r)
	var got []any
	var os []*outcome
	os = append(os, watch(c.Cooperate(values([]string{"a", "b", "c"}, &got)).WhenDone()))
	os = append(os, watch(c.Cooperate(values([]int{1, 2, 3}, &got)).WhenDone()))
	os = append(os, watch(c.Cooperate(values([]string{"d", "e", "f"}, &got)).WhenDone()))
	os = append(os, watch(c.Cooperate(values([]int{4, 5, 6}, &got)).WhenDone()))
	if len(got) != 0 {
		t.Fatal("Cooperate ran work before the reactor's next pass")
	}
	drain(t, r, os...)
	want := []any{"a", 1, "d", 4, "b", 2, "e", 5, "c", 3, "f", 6}
	if !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	noPending(t, r)
}

// TestSlices is testResourceExhaustion with a time budget: a slice runs
// units until its budget is spent on the slice clock, then leaves the
// rest for the next pass; timers due meanwhile run between slices.
func TestSlices(t *testing.T) {
	r, _ := fake(t)
	sc := reactortest.NewClock(epoch)
	c := task.NewCooperator(r, task.WithSlice(10*time.Millisecond), task.WithSliceClock(sc))
	var log []string
	o := watch(c.Cooperate(func(yield func(any) bool) {
		for range 10 {
			log = append(log, "u")
			sc.Advance(3 * time.Millisecond) // each unit takes 3ms
			if !yield(nil) {
				return
			}
		}
	}).WhenDone())
	passes := 0
	for !o.fired && passes < 100 {
		passes++
		r.CallLater(0, func() { log = append(log, "timer") })
		pass(t, r)
	}
	// 3ms units in 10ms slices: 4 per slice (12ms >= 10ms), one slice per
	// pass, and the timer due in each pass runs between two slices (timers
	// run first in a pass). The 11th step (exhaustion) is in the third
	// slice.
	want := []string{"timer", "u", "u", "u", "u", "timer", "u", "u", "u", "u", "timer", "u", "u"}
	if !slices.Equal(log, want) {
		t.Fatalf("ran %v, want %v", log, want)
	}
	if passes != 3 {
		t.Errorf("done on pass %d, want 3", passes)
	}
}

// TestSliceZero: WithSlice(0) runs one unit per pass (Twisted's
// terminationPredicateFactory returning lambda: True).
func TestSliceZero(t *testing.T) {
	r, _ := fake(t)
	c := task.NewCooperator(r, task.WithSlice(0))
	var got []any
	o := watch(c.Cooperate(values([]int{1, 2, 3}, &got)).WhenDone())
	for i := 1; i <= 3; i++ {
		pass(t, r)
		if len(got) != i {
			t.Fatalf("after %d passes: %v", i, got)
		}
	}
	pass(t, r)
	if !o.fired {
		t.Fatal("not done after the exhausting step")
	}
}

// TestDefaultSlice: with the default budget on the system clock, a job
// of quick units runs many per slice, and a long one is cut into slices.
func TestDefaultSlice(t *testing.T) {
	r, _ := fake(t)
	c := task.NewCooperator(r)
	passes := 0
	units := 0
	o := watch(c.Cooperate(func(yield func(any) bool) {
		for range 20 {
			units++
			time.Sleep(2 * time.Millisecond)
			if !yield(nil) {
				return
			}
		}
	}).WhenDone())
	var perPass []int
	for !o.fired && passes < 100 {
		before := units
		pass(t, r)
		passes++
		perPass = append(perPass, units-before)
	}
	// 2ms units in 10ms slices: about five per slice; never all 20 at once.
	if slices.Max(perPass) >= 20 || passes < 3 {
		t.Fatalf("units per pass %v", perPass)
	}
	if task.DefaultSlice != 10*time.Millisecond {
		t.Errorf("DefaultSlice = %v", task.DefaultSlice)
	}
}

// TestStopRunning is testStopRunning: stopping the Cooperator before its
// task ran fails the task with ErrCooperatorStopped and runs no work.
func TestStopRunning(t *testing.T) {
	r, _ := fake(t)
	c := task.NewCooperator(r)
	var got []any
	o := watch(c.Cooperate(values([]int{1, 2, 3}, &got)).WhenDone())
	c.Stop()
	if !errors.Is(o.err, task.ErrCooperatorStopped) || !errors.Is(o.err, task.ErrTaskFinished) {
		t.Fatalf("%+v, want ErrCooperatorStopped", o)
	}
	pass(t, r)
	if len(got) != 0 {
		t.Fatalf("ran %v after Stop", got)
	}
	if c.Running() {
		t.Error("Running after Stop")
	}
	c.Stop() // idempotent
	noPending(t, r)
}

// TestStoppedRejectsNewTasks is testStoppedRejectsNewTasks.
func TestStoppedRejectsNewTasks(t *testing.T) {
	r, _ := fake(t)
	c := task.NewCooperator(r)
	if !c.Running() {
		t.Fatal("a new Cooperator is not running")
	}
	c.Stop()
	ran := false
	tk := c.Cooperate(func(func(any) bool) { ran = true })
	o := watch(tk.WhenDone())
	if !errors.Is(o.err, task.ErrCooperatorStopped) {
		t.Fatalf("%+v, want ErrCooperatorStopped", o)
	}
	pass(t, r)
	if ran {
		t.Error("a refused task ran")
	}
	if err := tk.Pause(); !errors.Is(err, task.ErrCooperatorStopped) {
		t.Errorf("Pause on a refused task = %v", err)
	}
}

// TestStopOutstanding is testStopOutstanding: a task waiting on a Deferred
// it yielded fails with ErrCooperatorStopped when the Cooperator stops,
// and never goes on when that Deferred fires; its yield returns false so
// it can clean up.
func TestStopOutstanding(t *testing.T) {
	r, _ := fake(t)
	c := task.NewCooperator(r)
	outstanding := deferred.New()
	after, cleaned := false, false
	o := watch(c.Cooperate(func(yield func(any) bool) {
		defer func() { cleaned = true }()
		if !yield(outstanding) {
			return
		}
		after = true
	}).WhenDone())
	pass(t, r)
	c.Stop()
	outstanding.Callback("arglebargle")
	pass(t, r)
	if !errors.Is(o.err, task.ErrCooperatorStopped) || after || !cleaned {
		t.Fatalf("%+v, went on %v, cleaned up %v", o, after, cleaned)
	}
}

// TestUnexpectedError is testUnexpectedError: a panic in the job fails the
// task with a PanicError.
func TestUnexpectedError(t *testing.T) {
	r, _ := fake(t)
	c := task.NewCooperator(r)
	o := watch(c.Cooperate(func(yield func(any) bool) { panic(errBoom) }).WhenDone())
	drain(t, r, o)
	var pe *deferred.PanicError
	if !errors.As(o.err, &pe) || !errors.Is(o.err, errBoom) {
		t.Fatalf("%+v, want the panic", o)
	}
}

// TestYieldedError: a job that yields an error fails its task with it and
// its yield returns false.
func TestYieldedError(t *testing.T) {
	r, _ := fake(t)
	c := task.NewCooperator(r)
	sawFalse := false
	tk := c.Cooperate(func(yield func(any) bool) {
		sawFalse = !yield(errBoom)
	})
	o := watch(tk.WhenDone())
	drain(t, r, o)
	pass(t, r) // the job's yield returns on the pass after
	if !errors.Is(o.err, errBoom) || !sawFalse {
		t.Fatalf("%+v, yield returned false: %v", o, sawFalse)
	}
	if err := tk.Stop(); !errors.Is(err, task.ErrTaskFailed) {
		t.Errorf("Stop on a failed task = %v", err)
	}
}

// TestUnexpectedErrorLater is testUnexpectedErrorActuallyLater and
// testUnexpectedErrorNotActuallyLater: a yielded Deferred that fails,
// later or at once, fails the task.
func TestUnexpectedErrorLater(t *testing.T) {
	r, clk := fake(t)
	c := task.NewCooperator(r)
	later := watch(c.Cooperate(func(yield func(any) bool) {
		d := deferred.New()
		r.CallLater(time.Second, func() { d.Errback(errBoom) })
		yield(d)
	}).WhenDone())
	now := watch(c.Cooperate(func(yield func(any) bool) {
		yield(deferred.Fail(errBoom))
	}).WhenDone())
	pass(t, r)
	if !errors.Is(now.err, errBoom) {
		t.Fatalf("at once: %+v", now)
	}
	if later.fired {
		t.Fatal("failed before its Deferred did")
	}
	advance(t, r, clk, time.Second)
	if !errors.Is(later.err, errBoom) {
		t.Fatalf("later: %+v", later)
	}
	pass(t, r)
}

// TestCallbackReCoiterate is testCallbackReCoiterate: a WhenDone callback
// that adds a task keeps at most one slice scheduled.
func TestCallbackReCoiterate(t *testing.T) {
	r, _ := fake(t)
	c := task.NewCooperator(r)
	empty := func(func(any) bool) {}
	var second *outcome
	c.Cooperate(empty).WhenDone().AddCallback(func(any) any {
		second = watch(c.Cooperate(empty).WhenDone())
		return nil
	})
	for range 10 {
		if n := len(r.DelayedCalls()); n > 1 {
			t.Fatalf("%d slices scheduled", n)
		}
		pass(t, r)
	}
	if second == nil || !second.fired || second.err != nil {
		t.Fatalf("second task: %+v", second)
	}
	noPending(t, r)
}

// TestRemovingLastTaskStopsScheduledCall is
// test_removingLastTaskStopsScheduledCall: no timer is left once no task
// is left to run, and adding one schedules it again.
func TestRemovingLastTaskStopsScheduledCall(t *testing.T) {
	r, _ := fake(t)
	c := task.NewCooperator(r)
	var got []any
	// Work queued for the next pass shows as a zero NextTimeout.
	queued := func() bool { return r.NextTimeout() == 0 }
	t1 := c.Cooperate(values([]int{1, 2}, &got))
	t2 := c.Cooperate(values([]int{1, 2}, &got))
	if !queued() {
		t.Fatal("no slice queued")
	}
	t1.Stop()
	if !queued() {
		t.Fatal("after stopping one task: no slice queued")
	}
	t2.Stop()
	if queued() {
		t.Fatal("after stopping both tasks: a slice is still queued")
	}
	t3 := c.Cooperate(values([]int{1, 2}, &got))
	if !queued() {
		t.Fatal("after adding a task: no slice queued")
	}
	t3.Pause()
	if queued() {
		t.Fatal("after Pause: a slice is still queued")
	}
	t3.Resume()
	if !queued() {
		t.Fatal("after Resume: no slice queued")
	}
	o := watch(t3.WhenDone())
	drain(t, r, o)
	if len(got) != 2 {
		t.Fatalf("work %v", got)
	}
}

// TestStopInsideJob: a job may stop its own task; the current unit
// finishes, no other runs, and the job's yield returns false.
func TestStopInsideJob(t *testing.T) {
	r, _ := fake(t)
	c := task.NewCooperator(r)
	var tk *task.CooperativeTask
	units, yieldFalse := 0, false
	tk = c.Cooperate(func(yield func(any) bool) {
		for {
			units++
			if units == 3 {
				if err := tk.Stop(); err != nil {
					t.Errorf("Stop inside: %v", err)
				}
			}
			if !yield(nil) {
				yieldFalse = true
				return
			}
		}
	})
	o := watch(tk.WhenDone())
	for range 10 {
		pass(t, r)
	}
	if units != 3 || !yieldFalse || !errors.Is(o.err, task.ErrTaskStopped) {
		t.Fatalf("units %d, yield false %v, %+v", units, yieldFalse, o)
	}
}

// TestCooperatorStopIncludesPaused: stopping the Cooperator finishes a
// task the user paused too, instead of leaving it until it is resumed.
func TestCooperatorStopIncludesPaused(t *testing.T) {
	r, _ := fake(t)
	c := task.NewCooperator(r, task.WithSlice(0))
	var got []any
	tk := c.Cooperate(values([]int{1, 2, 3}, &got))
	pass(t, r)
	tk.Pause()
	o := watch(tk.WhenDone())
	c.Stop()
	if !errors.Is(o.err, task.ErrCooperatorStopped) {
		t.Fatalf("%+v", o)
	}
	if err := tk.Resume(); err != nil {
		t.Errorf("Resume of a paused task after Stop = %v", err)
	}
	pass(t, r)
	if len(got) != 1 {
		t.Fatalf("work %v", got)
	}
}

// TestNilJob: a nil iterator fails its task, it does not panic.
func TestNilJob(t *testing.T) {
	r, _ := fake(t)
	c := task.NewCooperator(r)
	o := watch(c.Cooperate(nil).WhenDone())
	drain(t, r, o)
	if o.err == nil || !strings.Contains(o.err.Error(), "no iterator") {
		t.Fatalf("%+v, want an error saying there is no iterator", o)
	}
}

// worker is the job of Twisted's RunStateTests: it yields counting
// integers, or a Deferred, completion or a panic when told to.
type worker struct {
	deferNext, stopNext, dieNext bool
	work                         []any
}

func (w *worker) job(yield func(any) bool) {
	for i := 1; ; i++ {
		var v any
		switch {
		case w.deferNext:
			w.deferNext = false
			d := deferred.New()
			w.work = append(w.work, d)
			v = d
		case w.stopNext:
			return
		case w.dieNext:
			panic(fmt.Sprintf("unhandled %d", i))
		default:
			w.work = append(w.work, i)
			v = i
		}
		if !yield(v) {
			return
		}
	}
}

// runState is RunStateTests.setUp: one task, one unit per pass.
func runState(t *testing.T) (*reactor.Reactor, *task.Cooperator, *task.CooperativeTask, *worker) {
	r, _ := fake(t)
	c := task.NewCooperator(r, task.WithSlice(0))
	w := &worker{}
	tk := c.Cooperate(w.job)
	t.Cleanup(func() { c.Stop(); r.RunOnce(0) })
	return r, c, tk, w
}

func TestPauseResume(t *testing.T) {
	r, _, tk, w := runState(t)
	pass(t, r)
	pass(t, r)
	if !slices.Equal(w.work, []any{1, 2}) {
		t.Fatalf("work %v", w.work)
	}
	tk.Pause()
	pass(t, r)
	if len(w.work) != 2 {
		t.Fatalf("worked while paused: %v", w.work)
	}
	tk.Resume()
	if len(w.work) != 2 {
		t.Fatal("Resume itself did work")
	}
	pass(t, r)
	if !slices.Equal(w.work, []any{1, 2, 3}) {
		t.Fatalf("work %v", w.work)
	}
}

func TestResumeNotPaused(t *testing.T) {
	_, _, tk, _ := runState(t)
	if err := tk.Resume(); !errors.Is(err, task.ErrNotPaused) {
		t.Fatalf("Resume = %v", err)
	}
	tk.Pause()
	if err := tk.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := tk.Resume(); !errors.Is(err, task.ErrNotPaused) {
		t.Fatalf("second Resume = %v", err)
	}
}

func TestPauseTwice(t *testing.T) {
	r, _, tk, w := runState(t)
	tk.Pause()
	pass(t, r)
	tk.Pause()
	pass(t, r)
	tk.Resume()
	pass(t, r)
	if len(w.work) != 0 {
		t.Fatalf("worked while paused twice and resumed once: %v", w.work)
	}
	tk.Resume()
	pass(t, r)
	if !slices.Equal(w.work, []any{1}) {
		t.Fatalf("work %v", w.work)
	}
}

func TestPauseWhileDeferred(t *testing.T) {
	r, _, tk, w := runState(t)
	w.deferNext = true
	pass(t, r)
	if len(w.work) != 1 {
		t.Fatalf("work %v", w.work)
	}
	d := w.work[0].(*deferred.Deferred)
	pass(t, r)
	tk.Pause()
	pass(t, r)
	tk.Resume()
	pass(t, r)
	if len(w.work) != 1 {
		t.Fatalf("worked before the Deferred fired: %v", w.work)
	}
	d.Callback("STUFF!")
	pass(t, r)
	if len(w.work) != 2 || w.work[1] != 2 {
		t.Fatalf("work %v", w.work)
	}
}

func TestWhenDone(t *testing.T) {
	r, _, tk, w := runState(t)
	d1, d2 := tk.WhenDone(), tk.WhenDone()
	var results1, results2, final1, final2 []any
	d1.AddCallback(func(v any) any { results1 = append(results1, v); return 1 })
	d2.AddCallback(func(v any) any { results2 = append(results2, v); return 2 })
	d1.AddCallback(func(v any) any { final1 = append(final1, v); return nil })
	d2.AddCallback(func(v any) any { final2 = append(final2, v); return nil })
	w.stopNext = true
	pass(t, r)
	if !slices.Equal(results1, []any{tk}) || !slices.Equal(results2, []any{tk}) {
		t.Fatalf("results %v %v, want the task", results1, results2)
	}
	if !slices.Equal(final1, []any{1}) || !slices.Equal(final2, []any{2}) {
		t.Fatalf("finals %v %v", final1, final2)
	}
}

func TestWhenDoneError(t *testing.T) {
	r, _, tk, w := runState(t)
	o := watch(tk.WhenDone())
	w.dieNext = true
	pass(t, r)
	var pe *deferred.PanicError
	if !errors.As(o.err, &pe) || pe.Value != "unhandled 1" {
		t.Fatalf("%+v", o)
	}
}

func TestWhenDoneStop(t *testing.T) {
	_, _, tk, _ := runState(t)
	o := watch(tk.WhenDone())
	tk.Stop()
	if !errors.Is(o.err, task.ErrTaskStopped) {
		t.Fatalf("%+v", o)
	}
}

func TestWhenDoneAlreadyDone(t *testing.T) {
	r, _, tk, w := runState(t)
	w.stopNext = true
	pass(t, r)
	o := watch(tk.WhenDone())
	if o.v != tk {
		t.Fatalf("%+v, want the task at once", o)
	}
}

func TestStopStops(t *testing.T) {
	r, _, tk, w := runState(t)
	if err := tk.Stop(); err != nil {
		t.Fatal(err)
	}
	pass(t, r)
	if err := tk.Stop(); !errors.Is(err, task.ErrTaskStopped) {
		t.Errorf("second Stop = %v", err)
	}
	if err := tk.Pause(); !errors.Is(err, task.ErrTaskStopped) {
		t.Errorf("Pause after Stop = %v", err)
	}
	pass(t, r)
	if len(w.work) != 0 {
		t.Fatalf("work %v", w.work)
	}
}

func TestPauseStopResume(t *testing.T) {
	r, _, tk, w := runState(t)
	tk.Pause()
	tk.Stop()
	if err := tk.Resume(); err != nil {
		t.Fatalf("Resume of a paused, stopped task = %v", err)
	}
	pass(t, r)
	if len(w.work) != 0 {
		t.Fatalf("work %v", w.work)
	}
}

// TestStopDeferred is test_stopDeferred: a task stopped while it waits on
// a Deferred does not go on when it fires, and the Cooperator consumes the
// Deferred's result.
func TestStopDeferred(t *testing.T) {
	r, _, tk, w := runState(t)
	w.deferNext = true
	pass(t, r)
	d := w.work[0].(*deferred.Deferred)
	w.work = nil
	pass(t, r)
	tk.Stop()
	pass(t, r)
	d.Callback(7)
	o := watch(d)
	pass(t, r)
	if o.v != nil || o.err != nil {
		t.Errorf("the Deferred's chain goes on with %+v, want nil", o)
	}
	if len(w.work) != 0 {
		t.Fatalf("work %v", w.work)
	}
}

func TestStopExhausted(t *testing.T) {
	r, _, tk, w := runState(t)
	w.stopNext = true
	pass(t, r)
	if err := tk.Stop(); !errors.Is(err, task.ErrTaskDone) {
		t.Fatalf("Stop = %v", err)
	}
}

func TestStopErrored(t *testing.T) {
	r, _, tk, w := runState(t)
	tk.WhenDone().AddErrback(func(error) any { return nil })
	w.dieNext = true
	pass(t, r)
	if err := tk.Stop(); !errors.Is(err, task.ErrTaskFailed) {
		t.Fatalf("Stop = %v", err)
	}
}

// TestStopCooperatorReentrancy is test_stopCooperatorReentrancy: a WhenDone
// callback may stop the Cooperator; its own task is already finished.
func TestStopCooperatorReentrancy(t *testing.T) {
	r, c, tk, w := runState(t)
	var phases []any
	tk.WhenDone().AddCallback(func(v any) any {
		phases = append(phases, v)
		c.Stop()
		phases = append(phases, "done")
		return nil
	})
	w.stopNext = true
	pass(t, r)
	if !slices.Equal(phases, []any{tk, "done"}) {
		t.Fatalf("phases %v", phases)
	}
}

// TestDeferredPausesOnlyItsTask: a job that yields an unfired Deferred
// waits for it while the other tasks go on; it resumes after it fires.
func TestDeferredPausesOnlyItsTask(t *testing.T) {
	r, clk := fake(t)
	c := task.NewCooperator(r, task.WithSlice(0))
	var log []string
	a := watch(c.Cooperate(func(yield func(any) bool) {
		log = append(log, "a1")
		if !yield(task.DeferLater(r, time.Second, nil)) {
			return
		}
		log = append(log, "a2")
	}).WhenDone())
	b := watch(c.Cooperate(func(yield func(any) bool) {
		for i := 1; i <= 4; i++ {
			log = append(log, fmt.Sprint("b", i))
			if !yield(nil) {
				return
			}
		}
	}).WhenDone())
	for range 4 {
		pass(t, r)
	}
	advance(t, r, clk, time.Second) // fires a's Deferred
	drain(t, r, a, b)
	// a waited while b went on; once its Deferred fired it went on too
	// (before or after b's last unit: both take turns from then on).
	if want := []string{"a1", "b1", "b2", "b3"}; !slices.Equal(log[:4], want) || len(log) != 6 ||
		!slices.Contains(log[4:], "a2") || !slices.Contains(log[4:], "b4") {
		t.Fatalf("ran %v, want %v then a2 and b4", log, want)
	}
	if a.err != nil || b.err != nil {
		t.Fatalf("a %+v, b %+v", a, b)
	}
}

// TestStopCooperatorInsideJob: a job may stop its Cooperator; every task
// fails with ErrCooperatorStopped and every job's yield returns false.
func TestStopCooperatorInsideJob(t *testing.T) {
	r, _ := fake(t)
	c := task.NewCooperator(r, task.WithSlice(0))
	returned := 0
	job := func(stop bool) func(func(any) bool) {
		return func(yield func(any) bool) {
			defer func() { returned++ }()
			for {
				if stop {
					c.Stop()
				}
				if !yield(nil) {
					return
				}
			}
		}
	}
	other := watch(c.Cooperate(job(false)).WhenDone())
	stopper := watch(c.Cooperate(job(true)).WhenDone())
	for range 4 {
		pass(t, r)
	}
	if !errors.Is(other.err, task.ErrCooperatorStopped) || !errors.Is(stopper.err, task.ErrCooperatorStopped) {
		t.Fatalf("other %+v, stopper %+v", other, stopper)
	}
	if returned != 2 {
		t.Fatalf("%d jobs returned, want 2", returned)
	}
	noPending(t, r)
}

// TestNestedPass: a callback that runs a nested reactor pass from inside a
// slice (a modal loop) does not start a slice inside the slice; the work
// goes on after it.
func TestNestedPass(t *testing.T) {
	r, _ := fake(t)
	c := task.NewCooperator(r, task.WithSlice(0))
	var log []string
	depth := 0
	job := func(name string, n int) func(func(any) bool) {
		return func(yield func(any) bool) {
			for i := 1; i <= n; i++ {
				log = append(log, fmt.Sprint(name, i, "@", depth))
				if !yield(nil) {
					return
				}
			}
		}
	}
	var b *outcome
	a := c.Cooperate(job("a", 1))
	a.WhenDone().AddCallback(func(any) any {
		b = watch(c.Cooperate(job("b", 2)).WhenDone())
		depth++
		r.RunOnce(0)
		r.RunOnce(0)
		depth--
		return nil
	})
	for range 3 {
		pass(t, r)
	}
	drain(t, r, b)
	want := []string{"a1@0", "b1@0", "b2@0"}
	if !slices.Equal(log, want) {
		t.Fatalf("ran %v, want %v", log, want)
	}
}
