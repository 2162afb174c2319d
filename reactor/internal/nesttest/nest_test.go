//go:build cgo

package nesttest

import (
	"iter"
	"log/slog"
	"runtime"
	"strings"
	"testing"

	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/task"
)

func newReactor(t *testing.T) *reactor.Reactor {
	t.Helper()
	r, err := reactor.New(reactor.WithoutSignalHandlers())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// The loop's own passes run one callback deep (a GUI's main loop); a
// modal loop inside runs them two deep. A coroutine created by an
// unnested call in the main loop and resumed by one is never resumed in
// the modal loop: without that the runtime would abort the test binary.
func TestUnnestedCallsWaitForTheOutermostDepth(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r := newReactor(t)
	var next func() (struct{}, bool)
	var stop func()
	var log []string
	resume := func() {
		_, more := next()
		log = append(log, "resumed")
		if !more {
			log = append(log, "done")
		}
	}
	Nest(func() { // the main loop's first pass: creates the coroutine
		r.CallSoonUnnested(func() {
			next, stop = iter.Pull(func(yield func(struct{}) bool) {
				for yield(struct{}{}) {
				}
			})
			resume()
		})
		must(t, r.RunOnce(0))
	})
	defer Nest(func() { stop() }) // at the depth it was made at
	if len(log) != 1 {
		t.Fatalf("the coroutine did not start in the main loop's pass: %v", log)
	}
	modal := func() {
		for range 3 {
			must(t, r.RunOnce(0))
		}
		if len(log) != 1 {
			t.Errorf("a coroutine resumed inside the modal loop: %v", log)
		}
		if d := r.NextTimeout(); d == 0 {
			t.Errorf("inside the modal loop NextTimeout = 0 for a call that cannot run there: the loop would spin")
		}
	}
	// A reactor callback opens the modal loop: the resume runs when the
	// callback has returned, later in the same pass.
	Nest(func() {
		r.CallSoonUnnested(resume) // the awaited result arrived
		r.CallSoon(func() { Nest(modal) })
		must(t, r.RunOnce(0))
	})
	if len(log) != 2 {
		t.Fatalf("the held resume did not run once the modal loop had ended: %v", log)
	}
	// A toolkit handler (not a pass) opens the modal loop: the resume
	// runs at the main loop's next pass, which NextTimeout asks for.
	log = log[:1]
	Nest(func() {
		r.CallSoonUnnested(resume)
		Nest(modal)
	})
	Nest(func() {
		if d := r.NextTimeout(); d != 0 {
			t.Errorf("back in the main loop NextTimeout = %v with an unnested call ready", d)
		}
		must(t, r.RunOnce(0))
	})
	if len(log) != 2 {
		t.Fatalf("the held resume did not run once the main loop was back: %v", log)
	}
}

// Inside a coroutine's body (its own goroutine), a modal loop is deeper
// than the loop's own depth too.
func TestUnnestedCallsWaitInAModalLoopInsideACoroutine(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r := newReactor(t)
	var other, body func() (struct{}, bool)
	var stops []func()
	otherResumed := 0
	Nest(func() {
		r.CallSoonUnnested(func() {
			var stop func()
			other, stop = iter.Pull(func(yield func(struct{}) bool) {
				for yield(struct{}{}) {
				}
			})
			stops = append(stops, stop)
			other()
			body, stop = iter.Pull(func(yield func(struct{}) bool) {
				// The body opens a modal loop while the other
				// coroutine's result arrives.
				r.CallSoonUnnested(func() { other(); otherResumed++ })
				Nest(func() {
					for range 3 {
						must(t, r.RunOnce(0))
					}
				})
				yield(struct{}{})
			})
			stops = append(stops, stop)
			body()
		})
		must(t, r.RunOnce(0))
		if otherResumed != 0 {
			t.Errorf("a coroutine was resumed inside a modal loop run by another coroutine's body")
		}
		must(t, r.RunOnce(0))
	})
	defer Nest(func() {
		for _, stop := range stops {
			stop()
		}
	})
	if otherResumed != 1 {
		t.Errorf("the held resume ran %d times after the modal loop, want 1", otherResumed)
	}
}

// Without nesting, unnested calls are plain CallSoon calls.
func TestUnnestedCallsWithoutNesting(t *testing.T) {
	r := newReactor(t)
	var got []int
	r.CallSoonUnnested(func() { got = append(got, 1) })
	r.CallSoon(func() { got = append(got, 0) })
	must(t, r.RunOnce(0))
	if len(got) != 2 {
		t.Fatalf("ran %v", got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Close, called after the GUI's main loop has returned (one callback
// higher than the loop's passes), runs the unnested calls its hooks queue
// through SetNest's function, at the depth the coroutines were made at;
// without one it leaves them parked rather than abort.
func TestCloseReachesTheLoopsDepth(t *testing.T) {
	for _, withNest := range []bool{true, false} {
		func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var logged strings.Builder
			r, err := reactor.New(reactor.WithoutSignalHandlers(), reactor.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
			if err != nil {
				t.Fatal(err)
			}
			if withNest {
				r.SetNest(Nest)
			}
			var next func() (struct{}, bool)
			var stop func()
			ended := false
			Nest(func() { // the main loop
				r.CallSoonUnnested(func() {
					next, stop = iter.Pull(func(yield func(struct{}) bool) {
						for yield(struct{}{}) {
						}
						ended = true
					})
					next()
				})
				must(t, r.RunOnce(0))
			})
			r.OnClose(func() { r.CallSoonUnnested(stop) })
			must(t, r.Close()) // the main loop has returned
			if withNest && !ended {
				t.Error("Close with SetNest did not end the coroutine")
			}
			if !withNest {
				if ended {
					t.Error("Close without SetNest resumed the coroutine at the wrong depth (and lived?)")
				}
				if !strings.Contains(logged.String(), "stay parked") {
					t.Errorf("Close without SetNest did not say it left a coroutine parked:\n%s", logged.String())
				}
				Nest(func() { stop() })
			}
		}()
	}
}

// A cooperative task's job never takes a step inside a modal loop deeper
// than the loop its coroutine was made in: it pauses until the modal
// loop ends.
func TestCooperatorPausesInAModalLoop(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r := newReactor(t)
	c := task.NewCooperator(r, task.WithSlice(0))
	steps := 0
	var inModal int
	modal := false
	c.Cooperate(func(yield func(any) bool) {
		for range 20 {
			steps++
			if modal {
				inModal++
			}
			if !yield(nil) {
				return
			}
		}
	})
	Nest(func() {
		for range 3 {
			must(t, r.RunOnce(0))
		}
		r.CallSoon(func() {
			Nest(func() {
				modal = true
				for range 5 {
					must(t, r.RunOnce(0))
				}
				modal = false
			})
		})
		for range 25 {
			must(t, r.RunOnce(0))
		}
	})
	if inModal != 0 {
		t.Errorf("the job took %d steps inside the modal loop", inModal)
	}
	if steps != 20 {
		t.Errorf("the job took %d steps in all, want 20", steps)
	}
	Nest(func() { c.Stop(); must(t, r.RunOnce(0)) })
}
