package reactor_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
)

// In debug mode a loop-only method called from another goroutine panics
// at once, naming the method and both goroutines, instead of corrupting
// the reactor; code on the loop goroutine and in coroutines is not
// affected.
func TestDebugModeCatchesCallsFromOtherGoroutines(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t, reactor.WithDebug(), reactor.WithoutSignalHandlers())
	caught := make(chan string, 1)
	var msg string
	var inCoroutine bool
	pending := 2 // the coroutine's end and the misuse's report
	done := func() {
		if pending--; pending == 0 {
			r.Stop()
		}
	}
	r.CallSoon(func() {
		deferred.Async(r, func(co *deferred.Co) (any, error) {
			d := deferred.New()
			r.CallLater(time.Millisecond, func() { d.Callback(nil) }) // from a coroutine: fine
			_, err := deferred.Await(co, d)
			inCoroutine = true
			return nil, err
		}).Deferred().AddBoth(func(any) any { done(); return nil })
		go func() {
			defer func() { caught <- fmtRecover(recover()) }()
			r.CallLater(time.Millisecond, func() {}) // the misuse
		}()
	})
	go func() {
		m := <-caught
		r.CallFromGoroutine(func() { msg = m; done() })
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg, "CallLater called on goroutine") || !strings.Contains(msg, "only CallFromGoroutine") {
		t.Errorf("the misuse gave %q", msg)
	}
	if !inCoroutine {
		t.Error("the coroutine did not run to its end")
	}
}

func fmtRecover(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return "no panic"
}
