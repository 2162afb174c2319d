package task_test

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/task"
)

// The typed forms of the task helpers settle promises of the type they
// deliver: a path for WaitForFilePromise, f's result for
// DeferLaterPromise. Here on a fake clock.
func ExampleWaitForFilePromise() {
	clk := reactortest.NewClock(time.Unix(0, 0))
	r, err := reactor.New(reactor.WithClock(clk), reactor.WithoutSignalHandlers())
	if err != nil {
		panic(err)
	}
	defer r.Close()
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "ready")

	task.WaitForFilePromise(r, path, time.Second).OnValue(func(p string) {
		fmt.Println("found", filepath.Base(p), "after", clk.Now().Sub(time.Unix(0, 0)))
	})
	task.DeferLaterPromise(r, 1500*time.Millisecond, func() (int, error) {
		return 42, os.WriteFile(path, nil, 0o600)
	}).OnValue(func(n int) { fmt.Println("wrote the file, got", n) })

	for range 3 {
		clk.Advance(time.Second)
		r.RunOnce(0)
	}
	// Output:
	// wrote the file, got 42
	// found ready after 2s
}
