package task_test

import (
	"os"
	"testing"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(closeChildEnv) != "" {
		// A child process of TestCloseOnAnotherGoroutine, which ends
		// with a goroutine parked on purpose.
		os.Exit(m.Run())
	}
	goleak.VerifyTestMain(m)
}

// epoch is where fake clocks start.
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// fake returns a reactor on a fake clock, closed when t ends, and fails t
// if the test leaks a descriptor or a goroutine.
func fake(t *testing.T) (*reactor.Reactor, *reactortest.Clock) {
	t.Helper()
	reactortest.CheckLeaks(t)
	clk := reactortest.NewClock(epoch)
	r, err := reactor.New(reactor.WithClock(clk), reactor.WithoutSignalHandlers())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r, clk
}

// realLoop returns a loop running a reactor on the system clock, closed when
// t ends, and fails t if the test leaks.
func realLoop(t *testing.T) reactortest.Loop {
	t.Helper()
	reactortest.CheckLeaks(t)
	return reactortest.Plain(reactor.Backends()[0])(t, reactor.WithoutSignalHandlers())
}

// advance moves the clock by d, then runs one pass of r, which fires the
// calls that came due (Twisted's Clock.advance).
func advance(t *testing.T, r *reactor.Reactor, clk *reactortest.Clock, d time.Duration) {
	t.Helper()
	clk.Advance(d)
	pass(t, r)
}

// pump advances by each of ds in turn (Twisted's Clock.pump).
func pump(t *testing.T, r *reactor.Reactor, clk *reactortest.Clock, ds ...time.Duration) {
	t.Helper()
	for _, d := range ds {
		advance(t, r, clk, d)
	}
}

// pass runs one pass of r without blocking.
func pass(t *testing.T, r *reactor.Reactor) {
	t.Helper()
	if err := r.RunOnce(0); err != nil {
		t.Fatal(err)
	}
}

// since returns the fake time elapsed since epoch.
func since(clk *reactortest.Clock) time.Duration { return clk.Now().Sub(epoch) }

// outcome records what a Deferred fired with (Twisted's successResultOf
// and failureResultOf); watching a Deferred handles its result.
type outcome struct {
	fired bool
	n     int // how many times the callbacks ran (must stay at most 1)
	v     any
	err   error
}

func watch(d *deferred.Deferred) *outcome {
	o := &outcome{}
	d.AddCallbacks(func(v any) any {
		o.fired, o.v = true, v
		o.n++
		return nil
	}, func(err error) any {
		o.fired, o.err = true, err
		o.n++
		return nil
	})
	return o
}

// noPending fails t if r still has calls scheduled.
func noPending(t *testing.T, r *reactor.Reactor) {
	t.Helper()
	if n := len(r.DelayedCalls()); n != 0 {
		t.Errorf("%d calls still scheduled, want none", n)
	}
}

func ms(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }
