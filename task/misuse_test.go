package task_test

import (
	"errors"
	"iter"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/task"
)

// noPanic runs f, failing t if it panics.
func noPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("%s panicked: %v", what, p)
		}
	}()
	f()
}

// wantErr fails t unless err is an error whose text contains want and,
// for a nil or zero value where a value is needed, wraps deferred.ErrNil.
func wantErr(t *testing.T, what string, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("%s: error %v, want one saying %q", what, err, want)
	}
	if want != "empty path" && !errors.Is(err, deferred.ErrNil) {
		t.Errorf("%s: error %v does not wrap deferred.ErrNil", what, err)
	}
}

// failsNow fails t unless d has failed already with an error whose text
// contains want.
func failsNow(t *testing.T, what string, d *deferred.Deferred, want string) {
	t.Helper()
	o := watch(d)
	if !o.fired {
		t.Errorf("%s: Deferred still pending, want it failed saying %q", what, want)
		return
	}
	wantErr(t, what, o.err, want)
}

func counting(n *int) iter.Seq[any] {
	return func(yield func(any) bool) {
		for range 3 {
			*n++
			if !yield(nil) {
				return
			}
		}
	}
}

// TestZeroLoopingCall: the methods of a zero or nil LoopingCall fail with
// an error naming the mistake instead of dereferencing nil.
func TestZeroLoopingCall(t *testing.T) {
	for _, c := range []struct {
		name string
		lc   *task.LoopingCall
		want string
	}{
		{"zero", &task.LoopingCall{}, "not made with NewLoopingCall"},
		{"nil", nil, "nil *LoopingCall"},
	} {
		lc := c.lc
		noPanic(t, c.name+" Start", func() { failsNow(t, c.name+" Start", lc.Start(time.Second, true), c.want) })
		noPanic(t, c.name+" Start later", func() { failsNow(t, c.name+" Start", lc.Start(time.Second, false), c.want) })
		noPanic(t, c.name+" Stop", func() { wantErr(t, c.name+" Stop", lc.Stop(), c.want) })
		noPanic(t, c.name+" Reset", func() { wantErr(t, c.name+" Reset", lc.Reset(), c.want) })
		noPanic(t, c.name+" SetInterval", func() { wantErr(t, c.name+" SetInterval", lc.SetInterval(time.Second), c.want) })
		noPanic(t, c.name+" Running", func() {
			if lc.Running() {
				t.Errorf("%s LoopingCall running", c.name)
			}
		})
		noPanic(t, c.name+" Interval", func() { lc.Interval() })
	}
}

// TestLoopingCallNilArguments: a LoopingCall made with a nil reactor or a
// nil function fails at Start, at once, saying which.
func TestLoopingCallNilArguments(t *testing.T) {
	r, clk := fake(t)
	f := func() any { return nil }
	count := func(int) any { return nil }
	for _, c := range []struct {
		name string
		lc   *task.LoopingCall
		want string
	}{
		{"NewLoopingCall(nil, f)", task.NewLoopingCall(nil, f), "nil reactor"},
		{"NewLoopingCall(r, nil)", task.NewLoopingCall(r, nil), "nil function"},
		{"NewLoopingCallWithCount(nil, f)", task.NewLoopingCallWithCount(nil, count), "nil reactor"},
		{"NewLoopingCallWithCount(r, nil)", task.NewLoopingCallWithCount(r, nil), "nil function"},
	} {
		noPanic(t, c.name, func() {
			failsNow(t, c.name+".Start(now)", c.lc.Start(time.Second, true), c.want)
			failsNow(t, c.name+".Start(later)", c.lc.Start(time.Second, false), c.want)
			advance(t, r, clk, time.Second)
			if c.lc.Running() {
				t.Errorf("%s running", c.name)
			}
		})
	}
	noPending(t, r)
}

// TestZeroCooperator: a zero, nil or nil-reactor Cooperator gives tasks
// that have failed with an error naming the mistake.
func TestZeroCooperator(t *testing.T) {
	for _, c := range []struct {
		name string
		co   *task.Cooperator
		want string
	}{
		{"zero", &task.Cooperator{}, "not made with NewCooperator"},
		{"nil", nil, "nil *Cooperator"},
		{"NewCooperator(nil)", task.NewCooperator(nil), "nil reactor"},
	} {
		co := c.co
		noPanic(t, c.name, func() {
			n := 0
			tk := co.Cooperate(counting(&n))
			failsNow(t, c.name+" Cooperate", tk.WhenDone(), c.want)
			if err := tk.Pause(); !errors.Is(err, task.ErrTaskFailed) {
				t.Errorf("%s: Pause of its task = %v, want ErrTaskFailed", c.name, err)
			}
			if err := tk.Stop(); !errors.Is(err, task.ErrTaskFailed) {
				t.Errorf("%s: Stop of its task = %v, want ErrTaskFailed", c.name, err)
			}
			if err := tk.Resume(); !errors.Is(err, task.ErrNotPaused) {
				t.Errorf("%s: Resume of its task = %v, want ErrNotPaused", c.name, err)
			}
			if co.Running() {
				t.Errorf("%s Cooperator running", c.name)
			}
			co.Stop()
			if n != 0 {
				t.Errorf("%s: the job ran", c.name)
			}
		})
	}
}

// TestZeroCooperativeTask: the methods of a zero or nil CooperativeTask
// fail with an error naming the mistake.
func TestZeroCooperativeTask(t *testing.T) {
	for _, c := range []struct {
		name string
		tk   *task.CooperativeTask
		want string
	}{
		{"zero", &task.CooperativeTask{}, "not made by Cooperator.Cooperate"},
		{"nil", nil, "nil *CooperativeTask"},
	} {
		tk := c.tk
		noPanic(t, c.name+" WhenDone", func() { failsNow(t, c.name+" WhenDone", tk.WhenDone(), c.want) })
		noPanic(t, c.name+" Pause", func() { wantErr(t, c.name+" Pause", tk.Pause(), c.want) })
		noPanic(t, c.name+" Resume", func() { wantErr(t, c.name+" Resume", tk.Resume(), c.want) })
		noPanic(t, c.name+" Stop", func() { wantErr(t, c.name+" Stop", tk.Stop(), c.want) })
	}
}

// TestNilOptions: nil options and a nil slice clock are ignored.
func TestNilOptions(t *testing.T) {
	r, _ := fake(t)
	noPanic(t, "NewCooperator with nil options", func() {
		c := task.NewCooperator(r, nil, task.WithSliceClock(nil))
		n := 0
		o := watch(c.Cooperate(counting(&n)).WhenDone())
		drain(t, r, o)
		if o.err != nil || n != 3 {
			t.Errorf("%+v after %d units", o, n)
		}
	})
}

// TestNilReactor: DeferLater and WaitForFile with a nil reactor fail at
// once, saying so.
func TestNilReactor(t *testing.T) {
	noPanic(t, "DeferLater", func() {
		failsNow(t, "DeferLater", task.DeferLater(nil, time.Second, nil), "nil reactor")
	})
	noPanic(t, "WaitForFile", func() {
		failsNow(t, "WaitForFile", task.WaitForFile(nil, "/", time.Second), "nil reactor")
	})
}

// TestOnClosedReactor: everything started on a reactor already closed
// fails at once with an error wrapping reactor.ErrClosed, runs nothing
// and does not panic.
func TestOnClosedReactor(t *testing.T) {
	reactortest.CheckLeaks(t)
	r, err := reactor.New(reactor.WithoutSignalHandlers())
	if err != nil {
		t.Fatal(err)
	}
	idle := task.NewCooperator(r)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if idle.Running() {
		t.Error("a Cooperator made before Close, with no task, still runs after it")
	}
	ran := 0
	noPanic(t, "Cooperate", func() {
		c := task.NewCooperator(r)
		o := watch(c.Cooperate(counting(&ran)).WhenDone())
		endedByClose(t, "Cooperate", o, task.ErrCooperatorStopped)
		if c.Running() {
			t.Error("a Cooperator on a closed reactor runs")
		}
	})
	noPanic(t, "LoopingCall", func() {
		lc := task.NewLoopingCall(r, func() any { ran++; return nil })
		endedByClose(t, "LoopingCall.Start", watch(lc.Start(time.Second, true)))
		if lc.Running() {
			t.Error("a LoopingCall on a closed reactor runs")
		}
	})
	noPanic(t, "DeferLater", func() {
		endedByClose(t, "DeferLater", watch(task.DeferLater(r, 0, func() any { ran++; return nil })))
	})
	noPanic(t, "WaitForFile", func() {
		endedByClose(t, "WaitForFile", watch(task.WaitForFile(r, filepath.Join(t.TempDir(), "x"), time.Second)))
	})
	if ran != 0 {
		t.Errorf("%d functions ran on a closed reactor", ran)
	}
}

// TestWaitForFileEmptyPath: no file can ever exist at "": WaitForFile
// fails at once instead of polling forever.
func TestWaitForFileEmptyPath(t *testing.T) {
	r, _ := fake(t)
	failsNow(t, `WaitForFile("")`, task.WaitForFile(r, "", time.Second), "empty path")
	noPending(t, r)
}
