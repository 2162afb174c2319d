package task_test

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/task"
	"go.uber.org/goleak"
)

// closable returns a reactor on the system clock and the default backend
// that the test closes itself (a second Close, when t ends, does nothing),
// and fails t if it leaks a descriptor or a goroutine.
func closable(t *testing.T, opts ...reactor.Option) *reactor.Reactor {
	t.Helper()
	reactortest.CheckLeaks(t)
	r, err := reactor.New(append([]reactor.Option{reactor.WithoutSignalHandlers()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// closeAndCheck closes r and fails t if a goroutine started since opt was
// taken is still there.
func closeAndCheck(t *testing.T, r *reactor.Reactor, opt goleak.Option) {
	t.Helper()
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := goleak.Find(opt); err != nil {
		t.Errorf("after Close: %v", err)
	}
}

// passesUntil runs passes of r until ok reports true, failing t after a
// thousand.
func passesUntil(t *testing.T, r *reactor.Reactor, ok func() bool) {
	t.Helper()
	for range 1000 {
		if ok() {
			return
		}
		pass(t, r)
	}
	t.Fatal("still not there after 1000 passes")
}

// endedByClose fails t unless o failed with an error telling that the
// reactor's Close ended the work, wrapping each of sentinels too.
func endedByClose(t *testing.T, what string, o *outcome, sentinels ...error) {
	t.Helper()
	switch {
	case !o.fired:
		t.Errorf("%s: still pending after Close", what)
	case o.n != 1:
		t.Errorf("%s: fired %d times", what, o.n)
	case !errors.Is(o.err, reactor.ErrClosed):
		t.Errorf("%s: got %v, %v; want an error wrapping reactor.ErrClosed", what, o.v, o.err)
	}
	for _, s := range sentinels {
		if !errors.Is(o.err, s) {
			t.Errorf("%s: %v does not wrap %v", what, o.err, s)
		}
	}
}

// TestCloseEndsCooperativeTasks: Close ends every unfinished task, whatever
// its state, fails its WhenDone Deferreds, and leaves none of the jobs'
// goroutines parked: a job in the middle of its work, a paused one, one
// waiting on a Deferred that never fires, one stopped whose job has not
// been told yet, one that never started, and the tasks of a Cooperator
// stopped just before Close.
func TestCloseEndsCooperativeTasks(t *testing.T) {
	r := closable(t)
	opt := goleak.IgnoreCurrent()
	c := task.NewCooperator(r, task.WithSlice(0))
	other := task.NewCooperator(r)

	units := map[string]int{}
	ended := map[string]bool{}
	job := func(name string, yielded func(n int) any) func(func(any) bool) {
		return func(yield func(any) bool) {
			defer func() { ended[name] = true }()
			for {
				units[name]++
				if !yield(yielded(units[name])) {
					return
				}
			}
		}
	}
	plain := func(int) any { return nil }
	never := deferred.New()
	tasks := map[string]*task.CooperativeTask{
		"running": c.Cooperate(job("running", plain)),
		"paused":  c.Cooperate(job("paused", plain)),
		"waiting": c.Cooperate(job("waiting", func(n int) any {
			if n == 2 {
				return never
			}
			return nil
		})),
		"stopped": c.Cooperate(job("stopped", plain)),
		"other":   other.Cooperate(job("other", plain)),
	}
	passesUntil(t, r, func() bool { return units["waiting"] >= 2 && units["other"] >= 1 })
	if err := tasks["paused"].Pause(); err != nil {
		t.Fatal(err)
	}
	if err := tasks["stopped"].Stop(); err != nil {
		t.Fatal(err)
	}
	other.Stop()
	tasks["new"] = c.Cooperate(job("new", plain))
	outcomes := map[string]*outcome{}
	for name, tk := range tasks {
		outcomes[name] = watch(tk.WhenDone())
	}

	closeAndCheck(t, r, opt)

	for name, o := range outcomes {
		switch name {
		case "stopped":
			if !errors.Is(o.err, task.ErrTaskStopped) {
				t.Errorf("stopped task: %v, want ErrTaskStopped", o.err)
			}
		case "other":
			if !errors.Is(o.err, task.ErrCooperatorStopped) {
				t.Errorf("task of a stopped Cooperator: %v, want ErrCooperatorStopped", o.err)
			}
		default:
			endedByClose(t, name, o, task.ErrCooperatorStopped, task.ErrTaskFinished)
		}
	}
	for name := range tasks {
		if units[name] > 0 && !ended[name] {
			t.Errorf("the %s job did not return", name)
		}
	}
	if units["new"] != 0 {
		t.Errorf("the job added just before Close ran %d units", units["new"])
	}
	if c.Running() {
		t.Error("the Cooperator still runs after Close")
	}
	if err := tasks["running"].Pause(); !errors.Is(err, task.ErrCooperatorStopped) {
		t.Errorf("Pause after Close = %v, want ErrCooperatorStopped", err)
	}
	endedByClose(t, "task added after Close", watch(c.Cooperate(job("late", plain)).WhenDone()), task.ErrCooperatorStopped)
	if units["late"] != 0 {
		t.Error("a job added after Close ran")
	}
	// The Deferred a task waited on fires after Close: nothing happens.
	never.Callback(nil)
}

// TestCloseEndsJobThatPanics: a job that panics while Close ends it (in
// its deferred clean-up) does not keep the other jobs from ending, and
// the panic is logged.
func TestCloseEndsJobThatPanics(t *testing.T) {
	var log bytes.Buffer
	r := closable(t, reactor.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
	opt := goleak.IgnoreCurrent()
	c := task.NewCooperator(r, task.WithSlice(0))
	ran := map[int]bool{}
	ended := map[int]bool{}
	var outcomes []*outcome
	for i := range 3 {
		tk := c.Cooperate(func(yield func(any) bool) {
			defer func() {
				ended[i] = true
				if i == 1 {
					panic("clean-up failed")
				}
			}()
			for {
				ran[i] = true
				if !yield(nil) {
					return
				}
			}
		})
		outcomes = append(outcomes, watch(tk.WhenDone()))
	}
	passesUntil(t, r, func() bool { return len(ran) == 3 })

	closeAndCheck(t, r, opt)

	for i, o := range outcomes {
		endedByClose(t, "task", o, task.ErrCooperatorStopped)
		if !ended[i] {
			t.Errorf("job %d did not return", i)
		}
	}
	if !strings.Contains(log.String(), "clean-up failed") {
		t.Errorf("the panic was not logged; the log:\n%s", log.String())
	}
}

// closeChildEnv names the scenario a child process of the test binary runs.
const closeChildEnv = "TASK_TEST_CLOSE_CHILD"

// TestCloseOnAnotherGoroutine: a job created on a goroutine locked to its
// OS thread cannot be resumed from another goroutine (the Go runtime
// aborts the program); Close called there must leave the job suspended,
// say so in the log, and still fail its task. It runs in a child process,
// which ends with the job's goroutine parked.
func TestCloseOnAnotherGoroutine(t *testing.T) {
	if os.Getenv(closeChildEnv) == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCloseOnAnotherGoroutine$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), closeChildEnv+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("--- PASS: TestCloseOnAnotherGoroutine")) {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return
	}
	var log bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&log, nil)))
	defer slog.SetDefault(prev)

	r, err := reactor.New(reactor.WithoutSignalHandlers())
	if err != nil {
		t.Fatal(err)
	}
	var o *outcome
	ended := false
	ready, finish := make(chan error), make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		c := task.NewCooperator(r)
		started := false
		o = watch(c.Cooperate(func(yield func(any) bool) {
			defer func() { ended = true }()
			for {
				started = true
				if !yield(nil) {
					return
				}
			}
		}).WhenDone())
		for !started {
			if err := r.RunOnce(0); err != nil {
				ready <- err
				return
			}
		}
		ready <- nil
		<-finish
	}()
	if err := <-ready; err != nil {
		t.Fatal(err)
	}
	defer close(finish)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	endedByClose(t, "task", o, task.ErrCooperatorStopped)
	if ended {
		t.Error("the job was resumed on another goroutine")
	}
	if !strings.Contains(log.String(), "stay parked") {
		t.Errorf("no warning logged; the log:\n%s", log.String())
	}
}

// TestCloseEndsLoopingCalls: Close ends a running LoopingCall, one whose
// function's Deferred is pending and one stopped while it waits for that
// Deferred: their Start Deferreds fail, and a result that arrives after
// Close changes nothing.
func TestCloseEndsLoopingCalls(t *testing.T) {
	r := closable(t)
	opt := goleak.IgnoreCurrent()
	calls := map[string]int{}
	pending := map[string]*deferred.Deferred{}
	loop := func(name string, wait bool) *task.LoopingCall {
		return task.NewLoopingCall(r, func() any {
			calls[name]++
			if wait {
				pending[name] = deferred.New()
				return pending[name]
			}
			return nil
		})
	}
	running := loop("running", false)
	waiting := loop("waiting", true)
	stopping := loop("stopping", true)
	o := map[string]*outcome{
		"running":  watch(running.Start(time.Hour, true)),
		"waiting":  watch(waiting.Start(time.Hour, true)),
		"stopping": watch(stopping.Start(time.Hour, true)),
	}
	if err := stopping.Stop(); err != nil {
		t.Fatal(err)
	}
	pass(t, r)

	closeAndCheck(t, r, opt)

	for name, lc := range map[string]*task.LoopingCall{"running": running, "waiting": waiting, "stopping": stopping} {
		endedByClose(t, name, o[name])
		if lc.Running() {
			t.Errorf("%s: still running after Close", name)
		}
		if calls[name] != 1 {
			t.Errorf("%s: %d calls, want 1", name, calls[name])
		}
	}
	for _, d := range pending {
		d.Callback(nil)
	}
	for name, o := range o {
		if o.n != 1 {
			t.Errorf("%s: Start's Deferred fired %d times", name, o.n)
		}
	}
	endedByClose(t, "Start after Close", watch(running.Start(time.Hour, true)))
	if calls["running"] != 1 {
		t.Error("Start after Close called the function")
	}
}

// TestCloseFailsDeferLater: a DeferLater still waiting at Close fails, and
// its function never runs; one whose function returned a Deferred keeps
// waiting for it.
func TestCloseFailsDeferLater(t *testing.T) {
	r := closable(t)
	opt := goleak.IgnoreCurrent()
	ran := false
	o := watch(task.DeferLater(r, time.Hour, func() any { ran = true; return nil }))
	inner := deferred.New()
	chained := watch(task.DeferLater(r, 0, func() any { return inner }))
	passesUntil(t, r, func() bool { return len(r.DelayedCalls()) == 1 })

	closeAndCheck(t, r, opt)

	endedByClose(t, "DeferLater", o)
	if ran {
		t.Error("the function ran")
	}
	if chained.fired {
		t.Errorf("a DeferLater waiting on its function's Deferred: %+v", chained)
	}
	inner.Callback("late")
	if chained.v != "late" {
		t.Errorf("a DeferLater waiting on its function's Deferred: %+v", chained)
	}
	endedByClose(t, "DeferLater after Close", watch(task.DeferLater(r, 0, nil)))
}

// TestCloseFailsWaitForFile: WaitForFile still polling at Close fails.
func TestCloseFailsWaitForFile(t *testing.T) {
	r := closable(t)
	opt := goleak.IgnoreCurrent()
	path := filepath.Join(t.TempDir(), "later")
	o := watch(task.WaitForFile(r, path, time.Hour))
	pass(t, r)

	closeAndCheck(t, r, opt)

	endedByClose(t, "WaitForFile", o)
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	endedByClose(t, "WaitForFile after Close", watch(task.WaitForFile(r, path, time.Hour)))
}
