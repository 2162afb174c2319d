package gtkloop_test

import (
	"bytes"
	"image"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/gotk3/gotk3/gtk"
	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"golang.org/x/sys/unix"
)

// newDialog makes a modal dialog with a big red label; GTK thread.
func newDialog(t testing.TB, parent *gtk.Window, text string) *gtk.Dialog {
	dlg, err := gtk.DialogNew()
	if err != nil {
		t.Error(err)
		return nil
	}
	dlg.SetTitle("gtkloop dialog")
	if parent != nil {
		dlg.SetTransientFor(parent)
	}
	dlg.SetModal(true)
	dlg.SetDefaultSize(300, 150)
	dlg.AddButton("OK", gtk.RESPONSE_OK)
	l, _ := gtk.LabelNew(text)
	l.SetName("big")
	area, _ := dlg.GetContentArea()
	area.PackStart(l, true, true, 0)
	dlg.ShowAll()
	return dlg
}

func TestDialogRunInsideAReactorCallback(t *testing.T) {
	for _, backend := range reactor.Backends() {
		t.Run(backend, func(t *testing.T) {
			warmUp(t)
			reactortest.CheckLeaks(t)
			r := newReactor(t, reactor.WithBackend(backend))
			a, b := reactortest.Socketpair(t)
			var resp gtk.ResponseType
			var timerFired, readerOnGTK, outerResumed bool
			var dialogCallback func()
			shot := make(chan image.Image, 1)
			// Scheduled from the first pass, not before it: a pass nested
			// in a reactor's very first pass panics inside reactor.RunOnce
			// (its per-depth event buffers grow one depth at a time).
			r.CallSoon(func() { r.CallLater(10*time.Millisecond, dialogCallback) })
			dialogCallback = func() {
				dlg := newDialog(t, nil, "modal")
				ok(t, r.AddReader(a, func() {
					var buf [8]byte
					unix.Read(a, buf[:])
					r.RemoveReader(a)
					readerOnGTK = unix.Gettid() == mainTid
					dlg.Response(gtk.RESPONSE_ACCEPT) // ends dialog.Run
				}))
				r.CallLater(30*time.Millisecond, func() {
					timerFired = true
					// While the dialog is up, a goroutine looks at the
					// screen, then writes to the socket the reactor reads.
					go func() {
						shot <- eventually(t, "gtkloop-dialog-in-reactor-callback", func(img image.Image) bool {
							return count(img, img.Bounds(), red) > 300
						})
						unix.Write(b, []byte("x"))
					}()
				})
				resp = dlg.Run() // a nested main loop inside a reactor callback
				dlg.Destroy()
				outerResumed = true
				r.Stop()
			}
			ok(t, onMainRun(r))
			if resp != gtk.RESPONSE_ACCEPT || !timerFired || !readerOnGTK || !outerResumed {
				t.Errorf("response %v, timer fired %v, reader on the GTK thread %v, callback resumed %v",
					resp, timerFired, readerOnGTK, outerResumed)
			}
			if img := <-shot; count(img, img.Bounds(), red) < 300 {
				t.Error("the dialog was not drawn while it ran")
			}
		})
	}
}

func TestDialogRunFromAButtonHandler(t *testing.T) {
	warmUp(t)
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	wait := start(t, r)
	const title = "gtkloop dialog from a button"
	var win *gtk.Window
	var button *gtk.Button
	var resp gtk.ResponseType
	ticks := 0
	returned := make(chan struct{})
	onLoop(r, func() {
		button, _ = gtk.ButtonNewWithLabel("Ask")
		button.Connect("clicked", func() {
			dlg := newDialog(t, win, "asking")
			// The reactor runs while the dialog's loop does: a looping
			// timer counts, and answers the dialog on its fifth tick.
			var tick func()
			tick = func() {
				ticks++
				if ticks == 5 {
					dlg.Response(gtk.RESPONSE_YES)
					return
				}
				r.CallLater(20*time.Millisecond, tick)
			}
			r.CallLater(20*time.Millisecond, tick)
			resp = dlg.Run()
			dlg.Destroy()
			close(returned)
		})
		win = newWindow(t, title, 300, 100, button)
	})
	eventually(t, "gtkloop-dialog-from-button-before", func(img image.Image) bool {
		return count(img, img.Bounds(), func(r, g, b uint8) bool { return r > 200 && g > 200 && b > 200 }) > 5000
	})
	var x, y int
	onLoop(r, func() { x, y = center(&button.Widget) })
	click(t, title, x, y)
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("dialog.Run did not return: the reactor did not run inside its loop")
	}
	onLoop(r, func() {
		if resp != gtk.RESPONSE_YES || ticks != 5 {
			t.Errorf("response %v after %d ticks", resp, ticks)
		}
		win.Destroy()
		r.Stop()
	})
	ok(t, wait())
}

// The scenario that used to abort the process: a coroutine created in
// the main loop whose result arrives while a modal dialog runs. It now
// waits for the dialog to close, in a process of its own as a program
// would run it.
func TestCoroutineAcrossADialogInAProgram(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=coroutine-across-dialog")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	done := bytes.Index(out, []byte("dialog: done"))
	resumed := bytes.Index(out, []byte("coroutine: resumed"))
	if done < 0 || resumed < done {
		t.Errorf("want the dialog done, then the coroutine resumed:\n%s", out)
	}
}

func TestCoroutineAwaitsADialogWithoutNesting(t *testing.T) {
	warmUp(t)
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	var resp any
	deferred.Async(r, func(co *deferred.Co) (any, error) {
		dlg := newDialog(t, nil, "async")
		answered := deferred.New()
		dlg.Connect("response", func(_ *gtk.Dialog, id gtk.ResponseType) { answered.Callback(id) })
		r.CallLater(50*time.Millisecond, func() { dlg.Response(gtk.RESPONSE_OK) })
		v, err := deferred.Await(co, answered) // no nested loop: the main loop goes on
		dlg.Destroy()
		return v, err
	}).OnValue(func(v any) { resp = v; r.Stop() })
	ok(t, onMainRun(r))
	if resp != gtk.RESPONSE_OK {
		t.Errorf("response %v, want RESPONSE_OK", resp)
	}
}
