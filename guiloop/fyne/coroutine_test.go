package fyneloop_test

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/task"
)

// showColour replaces the window's content with a rectangle of colour c:
// window.SetContent is one of the calls Fyne runs only on its own
// goroutine, queueing and waiting for it when called from another.
func showColour(c color.Color) {
	rect := canvas.NewRectangle(c)
	rect.SetMinSize(fyne.NewSize(200, 80))
	theWindow.SetContent(container.NewVBox(rect))
}

// Widget calls from a coroutine's body, from a cooperative job, and from
// a callback fired inside a body run as from any reactor callback, in a
// real window; without the pump's coroutine hooks each of them froze the
// app (Fyne waited for its goroutine, which waited for the coroutine).
func TestWidgetCallsFromCoroutines(t *testing.T) {
	reactortest.CheckLeaks(t)
	complaints := watchFyneLog(t)
	existing := filepath.Join(t.TempDir(), "there")
	if err := os.WriteFile(existing, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		start func(r *reactor.Reactor, done func())
	}{
		{"async body", func(r *reactor.Reactor, done func()) {
			deferred.Async(r, func(co *deferred.Co) (any, error) {
				d := deferred.New()
				r.CallLater(10*time.Millisecond, func() { d.Callback(nil) })
				if _, err := deferred.Await(co, d); err != nil {
					return nil, err
				}
				showColour(signal) // from the body
				done()
				return nil, nil
			})
		}},
		{"cooperative job", func(r *reactor.Reactor, done func()) {
			c := task.NewCooperator(r)
			c.Cooperate(func(yield func(any) bool) {
				for i := range 3 {
					showColour(color.NRGBA{R: uint8(60 * i), A: 0xff}) // from the job
					if !yield(nil) {
						return
					}
				}
				showColour(signal)
				done()
			})
		}},
		{"callback fired inside a body", func(r *reactor.Reactor, done func()) {
			deferred.Async(r, func(co *deferred.Co) (any, error) {
				// The file is there: WaitForFile's Deferred has fired by
				// the time its callback is added, so the callback runs
				// here, inside the body.
				d := task.WaitForFile(r, existing, 10*time.Millisecond)
				r.CallLater(5*time.Millisecond, func() {})
				deferred.Await(co, deferred.Succeed(nil))
				d.AddCallback(func(any) any { showColour(signal); done(); return nil })
				return nil, nil
			})
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			onFyne(func() { showColour(color.NRGBA{R: 0x80, G: 0x80, B: 0x80, A: 0xff}) })
			r := newReactor(t, reactor.Backends()[0])
			finished := make(chan struct{})
			r.CallSoon(func() { c.start(r, func() { close(finished) }) })
			p := start(t, theApp, r)
			select {
			case <-finished:
			case <-time.After(10 * time.Second):
				// Fyne's goroutine is stuck: nothing else can run.
				fmt.Fprintln(os.Stderr, c.name+": the widget call from the coroutine froze the app")
				os.Exit(1)
			}
			img := screenshot(t, "import", "fyne-coroutine-"+strings.ReplaceAll(c.name, " ", "-")+".png")
			if n := count(img, signal); n < 200*80*9/10 {
				t.Errorf("%d pixels of the colour the coroutine set, want the 200x80 rectangle", n)
			}
			onFyne(func() { r.Stop() })
			waitDone(t, p, 10*time.Second)
			if err := p.Stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
	onFyne(func() { theWindow.SetContent(container.NewVBox()) })
	if c := complaints(); c != "" {
		t.Errorf("Fyne's thread checks complained:\n%s", c)
	}
}
