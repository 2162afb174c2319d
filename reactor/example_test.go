package reactor_test

import (
	"context"
	"fmt"
	"time"

	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
)

// Timers fire in deadline order, on the reactor's clock; here a fake one,
// moved by hand.
func ExampleReactor_CallLater() {
	clk := reactortest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	r, _ := reactor.New(reactor.WithClock(clk), reactor.WithoutSignalHandlers())
	defer r.Close()

	r.CallLater(2*time.Second, func() { fmt.Println("two") })
	r.CallLater(1*time.Second, func() { fmt.Println("one") })
	later := r.CallLater(3*time.Second, func() { fmt.Println("never") })
	later.Cancel()

	clk.Advance(3 * time.Second)
	r.RunOnce(0)
	fmt.Println("pending:", len(r.DelayedCalls()))
	// Output:
	// one
	// two
	// pending: 0
}

// Another goroutine hands work to the loop with CallFromGoroutine.
func ExampleReactor_CallFromGoroutine() {
	r, _ := reactor.New(reactor.WithoutSignalHandlers())
	defer r.Close()

	go func() {
		result := 6 * 7 // slow work, off the loop
		r.CallFromGoroutine(func() {
			fmt.Println("on the loop:", result)
			r.Stop()
		})
	}()
	r.Run(context.Background())
	// Output:
	// on the loop: 42
}
