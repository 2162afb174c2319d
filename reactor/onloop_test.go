package reactor_test

import (
	"context"
	"testing"
	"time"

	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
)

// A test goroutine reads and changes the loop's state through OnLoop and
// Eventually while the loop runs, with no data race (run under -race).
func TestOnLoopAndEventually(t *testing.T) {
	reactortest.CheckLeaks(t)
	r, err := reactor.New(reactor.WithoutSignalHandlers())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	count := 0 // the loop's own state
	var tick func()
	tick = func() {
		count++
		r.CallLater(time.Millisecond, tick)
	}
	r.CallSoon(tick)
	done := make(chan error)
	go func() { done <- r.Run(context.Background()) }()

	reactortest.Eventually(t, r, 5*time.Second, "ten ticks", func() bool { return count >= 10 })
	reactortest.OnLoop(t, r, func() { count = -1000 })
	reactortest.Eventually(t, r, 5*time.Second, "ticks after the reset", func() bool { return count > -1000 && count < 0 })
	reactortest.OnLoop(t, r, r.Stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
