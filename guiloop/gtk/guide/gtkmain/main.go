// Command gtkmain is the embedding guide's first program: an existing GTK
// program that runs its own gtk.Main and quits with gtk.MainQuit, with a
// loom reactor attached to it. The lines marked "loom:" are all it took.
//
// The program has a clock, and a button whose slow work runs on a
// goroutine and comes back to a coroutine on the GTK thread. When its
// window is closed it quits as it always did; the reactor's Shutdown
// triggers run in r.Close, which the deferred call makes after gtk.Main
// returns.
package main

import (
	"context"
	"fmt"
	"log"
	"runtime"
	"time"

	"github.com/gotk3/gotk3/gtk"
	"github.com/loomkit/loom/deferred"
	gtkloop "github.com/loomkit/loom/guiloop/gtk"
	"github.com/loomkit/loom/reactor"
)

func init() { runtime.LockOSThread() } // GTK on the main OS thread

func main() {
	gtk.Init(nil)

	r, err := reactor.New() // loom: a reactor,
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()                              // loom: closed after gtk.Main returns (runs Shutdown)
	if _, err := gtkloop.Attach(r); err != nil { // loom: attached to GTK's loop
		log.Fatal(err)
	}
	r.AddSystemEventTrigger(reactor.Before, reactor.Shutdown, func() *deferred.Deferred {
		fmt.Println("shutdown: saved")
		return nil
	})

	win, _ := gtk.WindowNew(gtk.WINDOW_TOPLEVEL)
	win.SetTitle("loom guide: gtk.Main")
	win.SetDefaultSize(320, 200)
	win.Connect("destroy", gtk.MainQuit) // the program's own way out
	box, _ := gtk.BoxNew(gtk.ORIENTATION_VERTICAL, 6)
	clock, _ := gtk.LabelNew("")
	button, _ := gtk.ButtonNewWithLabel("Count primes")
	result, _ := gtk.LabelNew("")
	quit, _ := gtk.ButtonNewWithLabel("Quit")
	quit.Connect("clicked", gtk.MainQuit) // as the program always quit
	box.PackStart(clock, false, false, 6)
	box.PackStart(button, false, false, 6)
	box.PackStart(result, false, false, 6)
	box.PackStart(quit, false, false, 6)
	win.Add(box)
	win.ShowAll()

	// loom: a timer's callback runs on the GTK thread and sets the label.
	var tick func()
	tick = func() {
		clock.SetText(time.Now().Format("15:04:05"))
		r.CallLater(time.Second, tick)
	}
	tick()

	button.Connect("clicked", func() {
		button.SetSensitive(false)
		// loom: a coroutine on the GTK thread awaits work on a goroutine.
		deferred.Async(r, func(co *deferred.Co) (any, error) {
			n, err := deferred.Await(co, r.DeferToGoroutine(func(context.Context) (any, error) {
				return countPrimes(2_000_000), nil
			}))
			result.SetText(fmt.Sprint(n, " primes"))
			fmt.Println("result:", n)
			button.SetSensitive(true)
			return n, err
		})
	})

	fmt.Println("ready")
	gtk.Main()
	fmt.Println("gtk.Main returned")
}

func countPrimes(n int) int {
	sieve, count := make([]bool, n), 0
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
