package reactor_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/loomkit/loom/reactor"
	"golang.org/x/sys/unix"
)

func readable(t *testing.T, fd int) bool {
	t.Helper()
	p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(p, 0)
	if err != nil && err != unix.EINTR {
		t.Fatal(err)
	}
	return n > 0
}

// A wake hook runs once per wakeup, on the calling goroutine; when it
// takes the wakeup (true) the backend is not woken, when it declines
// (false) BackendFD polls readable as without a hook.
func TestWakeHook(t *testing.T) {
	for _, backend := range reactor.Backends() {
		t.Run(backend, func(t *testing.T) {
			r, err := reactor.New(reactor.WithBackend(backend), reactor.WithoutSignalHandlers())
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			fd, err := r.BackendFD()
			if err != nil {
				t.Fatal(err)
			}
			var calls atomic.Int32
			var take atomic.Bool
			r.SetWakeHook(func() bool { calls.Add(1); return take.Load() })

			take.Store(true)
			ran := 0
			go func() {
				r.CallFromGoroutine(func() { ran++ })
				r.CallFromGoroutine(func() { ran++ }) // coalesced: no second hook
			}()
			deadline := time.Now().Add(5 * time.Second)
			for calls.Load() == 0 || r.NextTimeout() != 0 {
				if time.Now().After(deadline) {
					t.Fatal("the hook never ran")
				}
				time.Sleep(time.Millisecond)
			}
			time.Sleep(20 * time.Millisecond)
			if readable(t, fd) {
				t.Error("BackendFD readable though the hook took the wakeup")
			}
			r.RunOnce(0)
			if ran != 2 || calls.Load() != 1 {
				t.Errorf("%d calls ran, hook ran %d times; want 2 and 1", ran, calls.Load())
			}

			take.Store(false)
			r.CallFromGoroutine(func() { ran++ })
			deadline = time.Now().Add(5 * time.Second)
			for !readable(t, fd) {
				if time.Now().After(deadline) {
					t.Fatal("BackendFD not readable though the hook declined")
				}
				time.Sleep(time.Millisecond)
			}
			r.SetWakeHook(nil)
			r.RunOnce(0)
			r.CallFromGoroutine(func() { ran++ })
			r.RunOnce(0)
			if ran != 4 || calls.Load() != 2 {
				t.Errorf("%d calls ran, hook ran %d times; want 4 and 2", ran, calls.Load())
			}
		})
	}
}
