package task_test

import (
	"testing"
	"time"

	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/task"
	"golang.org/x/sys/unix"
)

// TestCooperatorLetsIOThrough runs a long job (about 150ms of busy work in
// 1ms units) on a real reactor while a reader on a socketpair plays
// ping-pong with itself: every time it reads, it writes again. The reader
// must be called many times while the job is still running, between its
// slices, and the job must still take several slices.
func TestCooperatorLetsIOThrough(t *testing.T) {
	loop := realLoop(t)
	r := loop.Reactor()
	a, b := reactortest.Socketpair(t)
	c := task.NewCooperator(r)

	const units = 150
	done := 0
	jobDone := false
	readsDuringJob, reads := 0, 0
	slicesSeen, lastUnitPassMark := 0, -1
	passMark := 0 // bumped by the reader, so units can tell slices apart

	buf := make([]byte, 64)
	err := r.AddReader(a, func() {
		n, err := unix.Read(a, buf)
		if err != nil || n == 0 {
			t.Errorf("read: %d, %v", n, err)
			r.RemoveReader(a)
			return
		}
		reads++
		passMark++
		if !jobDone {
			readsDuringJob++
			unix.Write(b, []byte{'p'})
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.RemoveReader(a)
	if _, err := unix.Write(b, []byte{'p'}); err != nil {
		t.Fatal(err)
	}

	r.CallSoon(func() {
		tk := c.Cooperate(func(yield func(any) bool) {
			for range units {
				if passMark != lastUnitPassMark {
					slicesSeen++
					lastUnitPassMark = passMark
				}
				spin(time.Millisecond)
				done++
				if !yield(nil) {
					return
				}
			}
		})
		tk.WhenDone().AddBoth(func(any) any {
			jobDone = true
			r.Stop()
			return nil
		})
	})
	reactortest.RunFor(t, loop, 20*time.Second)

	if done != units {
		t.Fatalf("job did %d of %d units", done, units)
	}
	// 150ms of work in 10ms slices: about 15 slices, with a read between
	// any two of them.
	if readsDuringJob < 5 || slicesSeen < 5 {
		t.Fatalf("reader called %d times during the job, job saw %d slices; want the reader between slices",
			readsDuringJob, slicesSeen)
	}
	t.Logf("%d units in %d slices, %d reads during the job", done, slicesSeen, readsDuringJob)
}

// spin keeps the goroutine busy for d without sleeping.
func spin(d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); {
	}
}
