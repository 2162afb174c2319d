package reactortest

import (
	"testing"
	"time"

	"github.com/loomkit/loom/reactor"
)

// OnLoop runs f on r's loop goroutine (the GUI thread, when a GUI loop
// drives r) and waits for it to return, so that a test goroutine can read
// and change what only the loop may touch, widgets included, without a
// data race: the reactor's queue orders f after what the loop did before
// and before what it does after. It fails t if f has not run within 10s
// (the loop is not running). Call it from a test goroutine, never from
// the loop goroutine itself, where it would wait for itself.
func OnLoop(t testing.TB, r *reactor.Reactor, f func()) {
	t.Helper()
	done := make(chan struct{})
	r.CallFromGoroutine(func() {
		defer close(done)
		f()
	})
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("reactortest.OnLoop: the loop did not run the function in 10s: is it running?")
	}
}

// Eventually checks cond on r's loop goroutine, every few milliseconds,
// until it holds, and fails t if it does not within limit. cond runs on
// the loop, so it may read widgets and state the loop changes. Call it
// from a test goroutine.
func Eventually(t testing.TB, r *reactor.Reactor, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		var ok bool
		OnLoop(t, r, func() { ok = cond() })
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("reactortest.Eventually: %s did not happen within %v", what, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
