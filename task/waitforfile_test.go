package task_test

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/task"
)

// TestWaitForFileFakeClock: the file is created later; the Deferred fires
// with the path at the first poll after that, and polling stops.
func TestWaitForFileFakeClock(t *testing.T) {
	r, clk := fake(t)
	path := filepath.Join(t.TempDir(), "ready")
	o := watch(task.WaitForFile(r, path, time.Second))
	pump(t, r, clk, time.Second, time.Second)
	if o.fired {
		t.Fatalf("fired before the file exists: %+v", o)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	advance(t, r, clk, ms(500))
	if o.fired {
		t.Fatal("fired between two polls")
	}
	advance(t, r, clk, ms(500))
	if o.v != path || o.err != nil {
		t.Fatalf("%+v, want the path", o)
	}
	noPending(t, r)
}

// TestWaitForFileExists: a file that is already there is found by the
// first check, before WaitForFile returns. A directory counts.
func TestWaitForFileExists(t *testing.T) {
	r, _ := fake(t)
	dir := t.TempDir()
	o := watch(task.WaitForFile(r, dir, time.Second))
	if o.v != dir {
		t.Fatalf("%+v, want the path at once", o)
	}
	noPending(t, r)
}

// TestWaitForFileCancel: cancelling stops the polling and fails the
// Deferred with ErrCancelled; a file created afterwards changes nothing.
func TestWaitForFileCancel(t *testing.T) {
	r, clk := fake(t)
	path := filepath.Join(t.TempDir(), "never")
	d := task.WaitForFile(r, path, time.Second)
	o := watch(d)
	advance(t, r, clk, time.Second)
	d.Cancel()
	if !errors.Is(o.err, deferred.ErrCancelled) {
		t.Fatalf("%+v, want ErrCancelled", o)
	}
	noPending(t, r)
	os.WriteFile(path, nil, 0o600)
	advance(t, r, clk, 5*time.Second)
	if o.n != 1 {
		t.Fatalf("fired %d times", o.n)
	}
}

// TestWaitForFileStatError: a Stat error other than "does not exist" (a
// path through a regular file) fails the Deferred with it.
func TestWaitForFileStatError(t *testing.T) {
	r, clk := fake(t)
	file := filepath.Join(t.TempDir(), "file")
	path := filepath.Join(file, "child")
	o := watch(task.WaitForFile(r, path, time.Second))
	if o.fired {
		t.Fatalf("fired while nothing is there: %+v", o)
	}
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	advance(t, r, clk, time.Second)
	var pe *os.PathError
	if !errors.Is(o.err, syscall.ENOTDIR) || !errors.As(o.err, &pe) || pe.Path != path {
		t.Fatalf("%+v, want ENOTDIR for %s", o, path)
	}
	noPending(t, r)

	bad := watch(task.WaitForFile(r, path, -time.Second))
	if !errors.Is(bad.err, task.ErrNegativeInterval) {
		t.Fatalf("negative interval: %+v", bad)
	}
}

// TestWaitForFileRealReactor: on a running reactor and the system clock,
// a file written by another goroutine is noticed.
func TestWaitForFileRealReactor(t *testing.T) {
	loop := realLoop(t)
	r := loop.Reactor()
	path := filepath.Join(t.TempDir(), "from-a-goroutine")
	var wg sync.WaitGroup
	defer wg.Wait()
	var o *outcome
	r.CallSoon(func() {
		d := task.WaitForFile(r, path, 5*time.Millisecond)
		o = watch(d)
		d.AddBoth(func(any) any { r.Stop(); return nil })
		wg.Go(func() {
			time.Sleep(30 * time.Millisecond)
			if err := os.WriteFile(path, []byte("done"), 0o600); err != nil {
				t.Error(err)
			}
		})
	})
	reactortest.RunFor(t, loop, 5*time.Second)
	if o == nil || o.v != path {
		t.Fatalf("%+v, want the path", o)
	}
	if n := len(r.DelayedCalls()); n != 0 {
		t.Errorf("%d calls left scheduled", n)
	}
}
