package gtkloop_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gotk3/gotk3/gtk"
	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
)

// Coroutines and modal dialogs, in every order: a coroutine made in the
// main loop is never resumed inside a dialog's nested loop (the Go
// runtime would abort the test binary), and one started inside a dialog
// waits until the loop is back at the main depth. What a user sees: a
// coroutine pauses while a modal dialog runs.

// runDialogs runs depth nested modal dialogs, the innermost a file
// chooser when chooser is set; inside the innermost, during(answer) is
// called, and answer() answers them all, innermost first. GTK thread.
func runDialogs(t *testing.T, r *reactor.Reactor, log *[]string, depth int, chooser bool, during func(answer func())) {
	var dlg *gtk.Dialog
	if chooser && depth == 1 {
		fc, err := gtk.FileChooserDialogNewWith2Buttons("gtkloop chooser", nil, gtk.FILE_CHOOSER_ACTION_OPEN,
			"Cancel", gtk.RESPONSE_CANCEL, "Open", gtk.RESPONSE_ACCEPT)
		if err != nil {
			t.Error(err)
			return
		}
		dlg = &fc.Dialog
		dlg.ShowAll()
	} else {
		dlg = newDialog(t, nil, fmt.Sprint("modal ", depth))
	}
	name := fmt.Sprint("dialog ", depth)
	if depth > 1 {
		r.CallLater(20*time.Millisecond, func() {
			runDialogs(t, r, log, depth-1, chooser, func(answer func()) {
				during(func() {
					answer()
					r.CallLater(20*time.Millisecond, func() { dlg.Response(gtk.RESPONSE_CANCEL) })
				})
			})
		})
	} else {
		r.CallLater(20*time.Millisecond, func() {
			during(func() { dlg.Response(gtk.RESPONSE_CANCEL) })
		})
	}
	*log = append(*log, name+" runs")
	dlg.Run()
	*log = append(*log, name+" answered")
	dlg.Destroy()
}

func TestCoroutineMadeInTheMainLoopPausesWhileDialogsRun(t *testing.T) {
	for _, c := range []struct {
		depth   int
		chooser bool
	}{{1, false}, {1, true}, {2, false}, {2, true}} {
		t.Run(fmt.Sprintf("depth=%d/chooser=%v", c.depth, c.chooser), func(t *testing.T) {
			chooserTest(t)
			r := newReactor(t)
			var log []string
			awaited := deferred.New()
			done := deferred.Async(r, func(co *deferred.Co) (any, error) {
				log = append(log, "coroutine waits")
				v, err := deferred.Await(co, awaited)
				log = append(log, fmt.Sprint("coroutine resumed with ", v))
				return v, err
			})
			done.Deferred().AddBoth(func(any) any { r.Stop(); return nil })
			r.CallLater(30*time.Millisecond, func() {
				runDialogs(t, r, &log, c.depth, c.chooser, func(answer func()) {
					awaited.Callback("x") // the result arrives inside the dialog's loop
					log = append(log, "result arrived")
					r.CallLater(50*time.Millisecond, answer)
				})
			})
			ok(t, onMainRun(r))
			got := strings.Join(log, "; ")
			resumed := strings.Index(got, "coroutine resumed with x")
			closed := strings.LastIndex(got, "dialog ")
			if resumed < 0 || !strings.Contains(got, "result arrived") || resumed < closed {
				t.Errorf("the coroutine must resume once the dialogs are closed: %s", got)
			}
		})
	}
}

func TestCoroutineStartedInsideADialogRunsAfterIt(t *testing.T) {
	for _, depth := range []int{1, 2} {
		t.Run(fmt.Sprint("depth=", depth), func(t *testing.T) {
			warmUp(t)
			reactortest.CheckLeaks(t)
			r := newReactor(t)
			var log []string
			r.CallLater(30*time.Millisecond, func() {
				runDialogs(t, r, &log, depth, false, func(answer func()) {
					// Started inside the dialog's loop (by its button, say).
					deferred.Async(r, func(co *deferred.Co) (any, error) {
						log = append(log, "coroutine starts")
						v, err := deferred.Await(co, deferLater(r, 30*time.Millisecond, "y"))
						log = append(log, fmt.Sprint("coroutine resumed with ", v))
						r.CallLater(10*time.Millisecond, r.Stop)
						return v, err
					})
					log = append(log, "coroutine asked for")
					r.CallLater(50*time.Millisecond, answer)
				})
			})
			ok(t, onMainRun(r))
			got := strings.Join(log, "; ")
			starts := strings.Index(got, "coroutine starts")
			closed := strings.LastIndex(got, "dialog ")
			if starts < closed || !strings.Contains(got, "coroutine resumed with y") {
				t.Errorf("the coroutine must start once the dialogs are closed and then run: %s", got)
			}
		})
	}
}

// A coroutine's own body runs a modal dialog (a file chooser) while
// another coroutine's result arrives: that one waits for the dialog too.
func TestDialogInsideACoroutineBody(t *testing.T) {
	chooserTest(t)
	r := newReactor(t)
	var log []string
	awaited := deferred.New()
	other := deferred.Async(r, func(co *deferred.Co) (any, error) {
		v, err := deferred.Await(co, awaited)
		log = append(log, fmt.Sprint("other resumed with ", v))
		return v, err
	})
	asker := deferred.Async(r, func(co *deferred.Co) (any, error) {
		if _, err := deferred.Await(co, deferLater(r, 20*time.Millisecond, nil)); err != nil {
			return nil, err
		}
		runDialogs(t, r, &log, 1, true, func(answer func()) {
			awaited.Callback("z")
			log = append(log, "result arrived")
			r.CallLater(50*time.Millisecond, answer)
		})
		log = append(log, "asker goes on")
		v, err := deferred.Await(co, deferLater(r, 10*time.Millisecond, "after"))
		log = append(log, fmt.Sprint("asker resumed with ", v))
		return v, err
	})
	deferred.Gather([]*deferred.Deferred{other.Deferred(), asker.Deferred()}, 0).
		AddBoth(func(any) any { r.Stop(); return nil })
	ok(t, onMainRun(r))
	got := strings.Join(log, "; ")
	if !strings.Contains(got, "asker resumed with after") ||
		strings.Index(got, "other resumed with z") < strings.Index(got, "dialog 1 answered") {
		t.Errorf("the other coroutine must resume after the body's dialog closed: %s", got)
	}
}

// chooserTest prepares a test that shows file choosers: GTK and GIO
// warmed up, their descriptors settled, then the leak check.
func chooserTest(t *testing.T) {
	warmUp(t)
	warmUpChooser(t)
	settleFDs(t)
	reactortest.CheckLeaks(t)
}

var chooserOnce sync.Once

// warmUpChooser shows a file chooser once: GIO opens descriptors for the
// process's life (its file monitors and bus) the first time.
func warmUpChooser(t *testing.T) {
	chooserOnce.Do(func() {
		onMain(func() {
			fc, err := gtk.FileChooserDialogNewWith2Buttons("gtkloop warm-up", nil, gtk.FILE_CHOOSER_ACTION_OPEN,
				"Cancel", gtk.RESPONSE_CANCEL, "Open", gtk.RESPONSE_ACCEPT)
			if err != nil {
				t.Error(err)
				return
			}
			fc.ShowAll()
			deadline := time.Now().Add(500 * time.Millisecond)
			for time.Now().Before(deadline) {
				for gtk.EventsPending() {
					gtk.MainIteration()
				}
				time.Sleep(10 * time.Millisecond)
			}
			fc.Destroy()
			for gtk.EventsPending() {
				gtk.MainIteration()
			}
		})
	})
}

// settleFDs waits until the process's descriptor count has stopped
// moving: GIO's worker threads open and close descriptors for a while
// after a file chooser (the folder it listed), which a leak check
// counting from now must not see.
func settleFDs(t *testing.T) {
	last, still := -1, 0
	for deadline := time.Now().Add(3 * time.Second); still < 3 && time.Now().Before(deadline); {
		onMain(func() {
			for gtk.EventsPending() {
				gtk.MainIteration()
			}
		})
		n := reactortest.OpenFDs(t)
		if n == last {
			still++
		} else {
			last, still = n, 0
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// deferLater is a Deferred that fires with v after d.
func deferLater(r *reactor.Reactor, d time.Duration, v any) *deferred.Deferred {
	dd := deferred.New()
	r.CallLater(d, func() { dd.Callback(v) })
	return dd
}
