package gtkloop_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/gotk3/gotk3/gtk"
	"github.com/loomkit/loom/deferred"
	gtkloop "github.com/loomkit/loom/guiloop/gtk"
	"github.com/loomkit/loom/reactor"
)

// The body of the package doc's program: a clock, and a button whose
// work runs on a goroutine and comes back as a coroutine's result.
// (Compiled, not run: it needs the main OS thread and a display.)
func Example() {
	gtk.Init(nil)
	r, err := reactor.New()
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()

	win, _ := gtk.WindowNew(gtk.WINDOW_TOPLEVEL)
	win.SetTitle("loom")
	win.Connect("destroy", r.Stop) // Stop ends Run
	box, _ := gtk.BoxNew(gtk.ORIENTATION_VERTICAL, 6)
	clock, _ := gtk.LabelNew("")
	button, _ := gtk.ButtonNewWithLabel("Count primes")
	result, _ := gtk.LabelNew("")
	box.Add(clock)
	box.Add(button)
	box.Add(result)
	win.Add(box)
	win.ShowAll()

	// A timer's callback runs on the GTK thread: it sets the label itself.
	var tick func()
	tick = func() {
		clock.SetText(time.Now().Format("15:04:05"))
		r.CallLater(time.Second, tick)
	}
	tick()

	button.Connect("clicked", func() {
		button.SetSensitive(false)
		deferred.Async(r, func(co *deferred.Co) (any, error) {
			// The work runs on a goroutine; the coroutine waits for it
			// without blocking GTK, and goes on on the GTK thread.
			n, err := deferred.Await(co, r.DeferToGoroutine(func(context.Context) (any, error) {
				return countPrimes(5_000_000), nil
			}))
			result.SetText(fmt.Sprint(n, " primes"))
			button.SetSensitive(true)
			return n, err
		})
	})

	if err := gtkloop.Run(r); err != nil {
		log.Fatal(err)
	}
}

// An existing GTK program keeps its gtk.Main and attaches the reactor.
// As every GTK program, it locks the main OS thread in an init function
// (func init() { runtime.LockOSThread() }) and initializes GTK first. It
// quits as it always did; Close, deferred, runs the reactor's Shutdown
// triggers after gtk.Main returns. (Compiled, not run: it needs the main
// OS thread and a display; guide/gtkmain is the same program, run by the
// tests.)
func ExampleAttach() {
	gtk.Init(nil)
	r, err := reactor.New()
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	if _, err := gtkloop.Attach(r); err != nil {
		log.Fatal(err)
	}
	win, _ := gtk.WindowNew(gtk.WINDOW_TOPLEVEL)
	win.Connect("destroy", gtk.MainQuit) // the program's own way out
	label, _ := gtk.LabelNew("")
	win.Add(label)
	win.ShowAll()
	r.CallLater(time.Second, func() { label.SetText("a reactor timer, on the GTK thread") })
	gtk.Main()
}

func countPrimes(n int) int {
	sieve := make([]bool, n)
	count := 0
	for i := 2; i < n; i++ {
		if !sieve[i] {
			count++
			for j := i * i; j < n; j += i {
				sieve[j] = true
			}
		}
	}
	return count
}
