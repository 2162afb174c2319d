// Package gtkloop drives a loom reactor from GTK 3's main loop, so that
// every reactor callback (timers, descriptors, calls from goroutines,
// coroutines) runs on the GTK thread, between GTK's own events, and may
// touch widgets directly: no lock and no glib.IdleAdd.
//
// New programs build their widgets and call Run where they would call
// gtk.Main. Existing programs keep their gtk.Main, or their
// gtk.Application's Run, and Attach the reactor to it.
//
// # The GTK thread
//
// GTK runs on one thread, and gtk.Main must run on the main OS thread:
// lock it with runtime.LockOSThread in an init function, and call
// gtk.Init, Run or Attach, and every GTK function from main's goroutine
// (GTK handlers and reactor callbacks already run there). Other
// goroutines reach the GTK thread through the reactor's one
// goroutine-safe door, r.CallFromGoroutine, or hand blocking work to
// r.DeferToGoroutine and get its result back there. Attach and Run
// return ErrWrongThread when another thread runs the GLib main context.
//
// # Example
//
// A complete program: a clock, and a button whose slow work runs on a
// goroutine and comes back to a coroutine on the GTK thread.
//
//	package main
//
//	import (
//		"context"
//		"fmt"
//		"log"
//		"runtime"
//		"time"
//
//		"github.com/gotk3/gotk3/gtk"
//		"github.com/loomkit/loom/deferred"
//		gtkloop "github.com/loomkit/loom/guiloop/gtk"
//		"github.com/loomkit/loom/reactor"
//	)
//
//	func init() { runtime.LockOSThread() } // gtk.Main on the main OS thread
//
//	func main() {
//		gtk.Init(nil)
//		r, err := reactor.New()
//		if err != nil {
//			log.Fatal(err)
//		}
//		defer r.Close()
//
//		win, _ := gtk.WindowNew(gtk.WINDOW_TOPLEVEL)
//		win.SetTitle("loom")
//		win.Connect("destroy", r.Stop) // Stop ends Run
//		box, _ := gtk.BoxNew(gtk.ORIENTATION_VERTICAL, 6)
//		clock, _ := gtk.LabelNew("")
//		button, _ := gtk.ButtonNewWithLabel("Count primes")
//		result, _ := gtk.LabelNew("")
//		box.Add(clock)
//		box.Add(button)
//		box.Add(result)
//		win.Add(box)
//		win.ShowAll()
//
//		// A timer's callback runs on the GTK thread: it sets the label itself.
//		var tick func()
//		tick = func() {
//			clock.SetText(time.Now().Format("15:04:05"))
//			r.CallLater(time.Second, tick)
//		}
//		tick()
//
//		button.Connect("clicked", func() {
//			button.SetSensitive(false)
//			deferred.Async(r, func(co *deferred.Co) (any, error) {
//				// The work runs on a goroutine; the coroutine waits for it
//				// without blocking GTK, and goes on on the GTK thread.
//				n, err := deferred.Await(co, r.DeferToGoroutine(func(context.Context) (any, error) {
//					return countPrimes(5_000_000), nil
//				}))
//				result.SetText(fmt.Sprint(n, " primes"))
//				button.SetSensitive(true)
//				return n, err
//			})
//		})
//
//		if err := gtkloop.Run(r); err != nil {
//			log.Fatal(err)
//		}
//	}
//
//	func countPrimes(n int) int {
//		sieve, count := make([]bool, n), 0
//		for i := 2; i < n; i++ {
//			if !sieve[i] {
//				count++
//				for j := i * i; j < n; j += i {
//					sieve[j] = true
//				}
//			}
//		}
//		return count
//	}
//
// # Embedding in an existing program
//
// A program that already has its gtk.Main, or its gtk.Application, keeps
// it and attaches a reactor. Before:
//
//	func init() { runtime.LockOSThread() }
//
//	func main() {
//		gtk.Init(nil)
//		win := buildWindow()              // connects "destroy" to gtk.MainQuit
//		win.ShowAll()
//		gtk.Main()
//	}
//
// After, three lines more; the program quits as it always did:
//
//	func main() {
//		gtk.Init(nil)
//		r, err := reactor.New()
//		if err != nil {
//			log.Fatal(err)
//		}
//		defer r.Close()                   // after gtk.Main returns: runs Shutdown
//		if _, err := gtkloop.Attach(r); err != nil {
//			log.Fatal(err)
//		}
//		win := buildWindow(r)             // timers, sockets, coroutines on r
//		win.ShowAll()
//		gtk.Main()
//	}
//
// With a gtk.Application, attach in the "activate" handler, where the
// window is built (attaching again, when a second copy of the program is
// launched, is harmless), and close the reactor before os.Exit, which
// skips deferred calls:
//
//	app.Connect("activate", func() {
//		if _, err := gtkloop.Attach(r); err != nil {
//			log.Fatal(err)
//		}
//		buildWindow(app, r).ShowAll()
//	})
//	code := app.Run(os.Args)
//	r.Close()
//	os.Exit(code)
//
// Both are complete programs in this package's guide folder
// (guide/gtkmain, guide/application), which its tests build and use
// through their windows.
//
// # Stopping
//
// A program ends its reactor in one of two ways.
//
// Its own loop ends: gtk.MainQuit, the last window of a gtk.Application.
// The reactor is still live then; r.Close stops it, running its Shutdown
// triggers (within the shutdown timeout, reactor.WithShutdownTimeout),
// ending its coroutines and cooperative tasks at the depth they were made
// at, cancelling its goroutine work, and detaching it. Close is also how
// a program detaches a reactor at any time; it never ends the program's
// own loop (except Run's, which then returns reactor.ErrClosed).
//
// Or the reactor stops (r.Stop): that ends the program's loops. Modal
// dialogs running are answered with gtk.RESPONSE_DELETE_EVENT, as if the
// user had closed them, so their Run returns; every gtk.Main the source
// runs in is quit, innermost first, so Run returns, and so does an
// attached program's gtk.Main; a program whose loop is not gtk.Main is
// ended through OnStop (by default the default GApplication is quit).
// The stopped reactor is then left alone, its descriptor unwatched, until
// Run returns or detach is called; after that it can run again, under
// Run, Attach or its own Run.
//
// # Signals
//
// A program made for loom (Run) stops its reactor on SIGINT and SIGTERM,
// as reactor.Run does, unless it was made reactor.WithoutSignalHandlers:
// the stop ends its dialogs and loops as above, and a second signal while
// the stop is held up ends the process. A program that attaches a reactor
// keeps its own signal behaviour: Attach turns the reactor's off
// (reactor.SetStopOnInterrupt), so SIGTERM ends the program as it did
// before loom, unless it asks for the graceful stop with HandleSignals.
//
// # Nested main loops
//
// A modal dialog's Run, or a nested gtk.Main, started from a GTK handler
// or from inside a reactor callback, keeps the reactor running: the
// source may recurse (g_source_set_can_recurse), and each of its
// dispatches inside the nested loop runs reactor passes nested in the
// one on the stack, which the reactor allows. Timers, descriptors and
// calls from goroutines go on firing, and one of them may answer the
// dialog (dialog.Response).
//
// Coroutines pause while a modal dialog runs. A coroutine
// (deferred.Async, a task.Cooperator job, any iter.Pull) must be resumed
// at the cgo callback depth it was created at, or the Go runtime aborts
// the program ("coro: OS thread locking must match locking at coroutine
// creation"), and a dispatch inside a nested loop is one callback deeper
// than in the main loop. So loom creates and resumes coroutines only in
// passes at the main loop's depth (reactor.CallSoonUnnested): a coroutine
// whose awaited result arrives while a dialog runs goes on when the
// dialog closes; one started inside a dialog's loop (by its own button)
// starts when the dialog closes; cooperative jobs take no step meanwhile.
// Everything else (timers, descriptors, Deferred callbacks, promises'
// observers) runs inside the dialog's loop as usual. A coroutine's body
// may run a dialog itself: other coroutines wait for it to close.
//
// A Go panic never unwinds through GLib's frames (it would leave the main
// context, and a dialog's loop on the stack, broken): the reactor
// recovers panics in callbacks, and the source recovers and logs anything
// else.
//
// # Diagnostics
//
// A reactor callback that runs long is a frozen window. Under gtkloop,
// slow-callback detection (reactor.WithSlowCallbacks, LOOM_SLOW=1, or
// debug mode) reports every callback over one 60 Hz frame, 16 ms, with
// the line that registered it; one that runs a modal dialog's own loop
// (Dialog.Run) is not, its window answering meanwhile. Inspect opens a live window of the loop's
// figures: counters, pass-time and timer-lag histograms, the slowest
// recent callbacks and the watched descriptors; LOOM_INSPECT=1 opens it
// for every reactor gtkloop drives, without a rebuild. A GTK signal
// handler that runs long freezes the window too, but it is GTK's
// callback, not the reactor's: it shows as the timers' lag.
//
// # Portability
//
// Unix only: the source watches the reactor's descriptor with
// g_source_add_unix_fd. Tested on Debian 12 (GTK 3.24.38, GLib 2.74,
// X11) with every reactor backend: epoll (and kqueue on the BSDs and
// macOS) hands over its own descriptor; poll, which has none, embeds
// through a helper goroutine that signals one.
//
// # Implementation notes
//
// One custom GSource (source.c, a few lines of cgo next to gotk3, which
// has no API for custom sources) sits on the default main context and
// holds the reactor as a runtime/cgo.Handle. GLib sees one source and
// one descriptor, r.BackendFD(), however many sockets the reactor
// watches; Twisted's GTK reactor gives GLib one watch per socket and pays
// for each of them on every iteration.
//
//   - prepare gives GLib the reactor's next timeout, rounded up to whole
//     milliseconds (a timer due in 0.3ms makes GLib sleep 1ms, never 0
//     in a busy loop); with no timer it is -1, so an idle program sleeps
//     in poll until the descriptor wakes it. 0 means ready now (queued
//     calls, a due timer, a stop). It is computed in C from what the
//     last dispatch handed back (r.NextTimeout() as a deadline): GLib
//     iterates for GTK's own events too, and none of those iterations
//     calls into Go. Work added outside a pass (a handler's CallLater)
//     nudges the reactor's backend, which wakes the source to refresh it.
//     So one GLib iteration for one ready event makes one cgo callback
//     (the dispatch), one epoll_wait(0) (RunOnce) and one poll of the
//     descriptor (the budget's check for more work); GLib's own ppoll
//     and GDK's two reads of the X connection come with every iteration.
//   - check is pure C: ready when the descriptor polled readable (or
//     broken, so that dispatch finds out), or when the timeout is up.
//   - dispatch runs r.RunOnce(0) passes while there is work (a queued
//     call, a due timer or a readable descriptor), at most 64 passes
//     (DefaultPasses) and no new pass after 1ms (DefaultBudget), then
//     hands the loop back to GLib. After it, if the reactor has stopped,
//     the source unwatches the descriptor and quits the loops.
//
// A source that is always ready would starve what GLib runs at lower
// priorities, idle callbacks (200) among them, which GTK uses as well (a
// gtk.Application notices its last window gone in one): after four
// dispatches in a row that ended with work left, the source sits out one
// main-loop iteration. Measured with a cooperative job that never ends,
// an idle callback ran 43ms after it was added (it never ran before);
// echo throughput inside GTK stayed at 1.11 times the standalone rate,
// and the frame tick's p99 with the reactor saturated at 1.08 times idle.
//
// The priority decides who goes first when both are ready: input
// (G_PRIORITY_DEFAULT, 0), layout (110) and painting (GDK_PRIORITY_REDRAW,
// 120) come before the reactor's default, 121. A reactor source that is
// always ready at a priority more urgent than 120 starves painting:
// measured with a saturated reactor (a socket pair flooded at 3.7 GB/s),
// GTK's frame clock ticked once in 2s at priority 0, and at 60 frames/s
// at 120, 121 and 200. The time budget bounds how late a frame (or an
// input event) can be: a frame due during a dispatch waits for it.
// Measured at priority 121, the tick interval's p99 was 17.5-17.8ms with
// a 1ms budget (idle baseline 17.6ms on Xvfb's 60 Hz clock), 20.3ms with
// 4ms, 33ms with 16ms (48 frames/s); at priority 120 a 16ms budget
// dropped to 26 frames/s. The pass limit only matters when passes are
// cheap: loopback echo throughput was the same, within this machine's
// noise, for 1 to 1024 passes per dispatch.
//
// Measured on 2 shared cores, over several runs (go test -run '^$'
// -bench . -benchtime 1x; each figure against a reference in the same
// run):
//
//	wakeup, CallFromGoroutine → callback on the GTK thread (10,000 posts):
//	  p50 6-12µs, p99 29-44µs; glib.IdleAdd p50 10-12µs, p99 37-60µs
//	  (p99 ratio 0.49-0.92); 0.001-0.004 allocations per post against 2
//	echo over loopback TCP, reactor in GTK against the same reactor alone:
//	  1390-2070 against 910-1670 MB/s, ratio 1.03-2.2 (medians of 7
//	  alternating rounds of 128 MB)
//	g_main_context_iteration(ctx, FALSE): 2.3µs with 10 sockets on the
//	  reactor, 2.2-2.4µs with 10,000 (ratio 0.94-1.03: flat)
//	frame tick p99 with the reactor saturated: 17.7-18.8ms against
//	  17.5-17.6ms idle (ratio 1.005-1.07; Xvfb's clock is 60 Hz, p50
//	  16.5ms)
package gtkloop
