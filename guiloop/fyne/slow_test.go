package fyneloop_test

import (
	"fmt"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
)

// With LOOM_SLOW=1 and fyneloop driving the reactor, a callback is slow
// over one 60 Hz frame: the 50 ms one is reported with the line that
// registered it, the 1 ms one is not.
func TestSlowCallbackInsideFyne(t *testing.T) {
	reactortest.CheckLeaks(t)
	eachBackend(t, func(t *testing.T, backend string) {
		t.Setenv("LOOM_SLOW", "1")
		logs := &reactortest.Records{}
		r := newReactor(t, backend, reactor.WithLogger(slog.New(logs)))
		p := start(t, theApp, r)
		done := make(chan time.Duration, 1)
		_, file, line, _ := runtime.Caller(0)
		r.CallFromGoroutine(func() {
			r.CallLater(time.Millisecond, func() { time.Sleep(50 * time.Millisecond) })
			r.CallLater(time.Millisecond, func() { time.Sleep(time.Millisecond) })
			r.CallLater(200*time.Millisecond, func() { done <- r.SlowThreshold() })
		})
		if th := within(t, done, 10*time.Second, "the script"); th != reactor.FrameThreshold {
			t.Errorf("the default threshold under fyneloop is %v", th)
		}
		p.Stop()
		reports := logs.SlowReports()
		if len(reports) != 1 {
			t.Fatalf("%d slow callbacks reported, want 1: %v", len(reports), reports)
		}
		if want := fmt.Sprintf("%s:%d", file, line+2); reports[0]["site"] != want || reports[0]["kind"] != "timer" {
			t.Errorf("reported %v, want a timer at %s", reports[0], want)
		}
	})
}
