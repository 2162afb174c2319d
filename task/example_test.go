package task_test

import (
	"context"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/task"
)

// A LoopingCall on a fake clock: each Advance and RunOnce fires what came
// due. The function stops the loop on its third call, which fires the
// Deferred returned by Start.
func ExampleLoopingCall() {
	clk := reactortest.NewClock(time.Unix(0, 0))
	r, err := reactor.New(reactor.WithClock(clk))
	if err != nil {
		panic(err)
	}
	defer r.Close()

	start := clk.Now()
	n := 0
	var lc *task.LoopingCall
	lc = task.NewLoopingCall(r, func() any {
		n++
		fmt.Printf("tick %d at %v\n", n, clk.Now().Sub(start))
		if n == 3 {
			lc.Stop()
		}
		return nil
	})
	lc.Start(time.Second, true).AddCallback(func(any) any {
		fmt.Println("stopped")
		return nil
	})
	for range 5 {
		clk.Advance(time.Second)
		r.RunOnce(0)
	}
	// Output:
	// tick 1 at 0s
	// tick 2 at 1s
	// tick 3 at 2s
	// stopped
}

// An animation that must not fall behind: when the loop comes late, the
// function is told how many frames to advance.
func ExampleNewLoopingCallWithCount() {
	clk := reactortest.NewClock(time.Unix(0, 0))
	r, err := reactor.New(reactor.WithClock(clk))
	if err != nil {
		panic(err)
	}
	defer r.Close()

	frame := 0
	lc := task.NewLoopingCallWithCount(r, func(count int) any {
		frame += count
		fmt.Printf("advance %d to frame %d\n", count, frame)
		return nil
	})
	lc.Start(40*time.Millisecond, false)
	for _, d := range []time.Duration{40, 40, 130, 40} {
		clk.Advance(d * time.Millisecond) // the third wait is late
		r.RunOnce(0)
	}
	lc.Stop()
	// Output:
	// advance 1 to frame 1
	// advance 1 to frame 2
	// advance 3 to frame 5
	// advance 1 to frame 6
}

// DeferLater delivers a function's result later, as a Deferred.
func ExampleDeferLater() {
	clk := reactortest.NewClock(time.Unix(0, 0))
	r, err := reactor.New(reactor.WithClock(clk))
	if err != nil {
		panic(err)
	}
	defer r.Close()

	task.DeferLater(r, 3*time.Second, func() any {
		return "hello"
	}).AddCallback(func(v any) any {
		fmt.Println(v)
		return nil
	})
	clk.Advance(2 * time.Second)
	r.RunOnce(0)
	fmt.Println("not yet")
	clk.Advance(time.Second)
	r.RunOnce(0)
	// Output:
	// not yet
	// hello
}

// Seed 003's wait_for_file: poll until a file appears.
func ExampleWaitForFile() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	clk := reactortest.NewClock(time.Unix(0, 0))
	r, err := reactor.New(reactor.WithClock(clk))
	if err != nil {
		panic(err)
	}
	defer r.Close()

	path := filepath.Join(dir, "ready")
	task.WaitForFile(r, path, time.Second).AddCallbacks(func(p any) any {
		fmt.Println("found", filepath.Base(p.(string)))
		return nil
	}, func(err error) any {
		fmt.Println("failed:", err)
		return nil
	})
	clk.Advance(time.Second)
	r.RunOnce(0)
	fmt.Println("still waiting")

	os.WriteFile(path, []byte("done"), 0o600)
	clk.Advance(time.Second)
	r.RunOnce(0)
	// Output:
	// still waiting
	// found ready
}

// Two long jobs share the loop: each runs a unit of work in turn, and the
// reactor makes a pass between slices (here one unit per slice, to show
// the order).
func ExampleCooperator() {
	clk := reactortest.NewClock(time.Unix(0, 0))
	r, err := reactor.New(reactor.WithClock(clk))
	if err != nil {
		panic(err)
	}
	defer r.Close()

	c := task.NewCooperator(r, task.WithSlice(0))
	job := func(name string, n int) iter.Seq[any] {
		return func(yield func(any) bool) {
			for i := 1; i <= n; i++ {
				fmt.Println(name, i)
				if !yield(nil) {
					return
				}
			}
		}
	}
	a := c.Cooperate(job("a", 3))
	b := c.Cooperate(job("b", 2))
	deferred.DeferredList([]*deferred.Deferred{a.WhenDone(), b.WhenDone()}, 0).
		AddCallback(func(any) any {
			fmt.Println("both done")
			r.Stop()
			return nil
		})
	r.Run(context.Background())
	// Output:
	// a 1
	// b 1
	// a 2
	// b 2
	// a 3
	// both done
}
