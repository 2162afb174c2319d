// Command application is the embedding guide's second program: an
// existing gtk.Application, with a loom reactor attached in its
// "activate" handler, where gotk3's examples build everything. The lines
// marked "loom:" are all it took.
//
// "activate" runs again when a second copy of the program is launched:
// Attach is harmless then. The application quits as it always did, when
// its last window closes; r.Close then runs the reactor's Shutdown
// triggers. os.Exit skips deferred calls, so Close comes before it.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"runtime"
	"time"

	"github.com/gotk3/gotk3/glib"
	"github.com/gotk3/gotk3/gtk"
	"github.com/loomkit/loom/deferred"
	gtkloop "github.com/loomkit/loom/guiloop/gtk"
	"github.com/loomkit/loom/reactor"
)

func init() { runtime.LockOSThread() } // GTK on the main OS thread

func main() {
	r, err := reactor.New() // loom: a reactor
	if err != nil {
		log.Fatal(err)
	}
	r.AddSystemEventTrigger(reactor.Before, reactor.Shutdown, func() *deferred.Deferred {
		fmt.Println("shutdown: saved")
		return nil
	})

	app, err := gtk.ApplicationNew("org.loomkit.guide.application", glib.APPLICATION_NON_UNIQUE)
	if err != nil {
		log.Fatal(err)
	}
	app.Connect("activate", func() {
		if _, err := gtkloop.Attach(r); err != nil { // loom: attached (again: harmless)
			log.Fatal(err)
		}
		win, _ := gtk.ApplicationWindowNew(app)
		win.SetTitle("loom guide: gtk.Application")
		win.SetDefaultSize(320, 200)
		box, _ := gtk.BoxNew(gtk.ORIENTATION_VERTICAL, 6)
		clock, _ := gtk.LabelNew("")
		button, _ := gtk.ButtonNewWithLabel("Count primes")
		result, _ := gtk.LabelNew("")
		quit, _ := gtk.ButtonNewWithLabel("Quit")
		quit.Connect("clicked", app.Quit) // as the program always quit
		box.PackStart(clock, false, false, 6)
		box.PackStart(button, false, false, 6)
		box.PackStart(result, false, false, 6)
		box.PackStart(quit, false, false, 6)
		win.Add(box)
		win.ShowAll()

		var tick func() // loom: timers, on the GTK thread
		tick = func() {
			clock.SetText(time.Now().Format("15:04:05"))
			r.CallLater(time.Second, tick)
		}
		tick()
		button.Connect("clicked", func() {
			button.SetSensitive(false)
			deferred.Async(r, func(co *deferred.Co) (any, error) { // loom: a coroutine
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
	})

	code := app.Run(os.Args)
	fmt.Println("app.Run returned", code)
	r.Close() // loom: before os.Exit, which skips deferred calls
	os.Exit(code)
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
