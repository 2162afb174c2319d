// Package fyneloop drives a loom reactor from a Fyne v2 app's event loop,
// so that every reactor callback (socket readiness, timers, calls from
// goroutines, signals, Deferred callbacks) runs on Fyne's goroutine and may
// update widgets directly: no fyne.Do, no lock.
//
// Fyne owns its loop and offers no way to watch a descriptor, so Start
// runs a pump goroutine beside it. The pump waits until the reactor has
// work, posts one reactor pass to Fyne's goroutine, waits for that pass to
// finish, and waits again.
//
// A complete program: a clock label ticked by a reactor timer and a line
// counter fed by a goroutine, with a Quit button that stops the reactor
// (which quits the app).
//
//	package main
//
//	import (
//		"bufio"
//		"fmt"
//		"log"
//		"os"
//		"time"
//
//		"fyne.io/fyne/v2/app"
//		"fyne.io/fyne/v2/container"
//		"fyne.io/fyne/v2/widget"
//
//		fyneloop "github.com/loomkit/loom/guiloop/fyne"
//		"github.com/loomkit/loom/reactor"
//	)
//
//	func main() {
//		r, err := reactor.New()
//		if err != nil {
//			log.Fatal(err)
//		}
//		defer r.Close()
//
//		a := app.NewWithID("io.loomkit.example")
//		w := a.NewWindow("loom")
//		clock := widget.NewLabel("")
//		lines := widget.NewLabel("0 lines on stdin")
//		w.SetContent(container.NewVBox(clock, lines, widget.NewButton("Quit", r.Stop)))
//
//		// Reactor callbacks run on Fyne's goroutine: they touch widgets.
//		var tick func()
//		tick = func() {
//			clock.SetText(time.Now().Format(time.TimeOnly))
//			r.CallLater(time.Second, tick)
//		}
//		r.CallSoon(tick)
//		go func() {
//			n := 0
//			for s := bufio.NewScanner(os.Stdin); s.Scan(); {
//				n++
//				text := fmt.Sprint(n, " lines on stdin")
//				r.CallFromGoroutine(func() { lines.SetText(text) })
//			}
//		}()
//
//		p, err := fyneloop.Start(a, r)
//		if err != nil {
//			log.Fatal(err)
//		}
//		w.ShowAndRun()
//		if err := p.Stop(); err != nil {
//			log.Print(err)
//		}
//	}
//
// # Goroutines
//
// Between Start and the pump's end, Fyne's goroutine is the reactor
// goroutine: reactor callbacks run there, one at a time, between Fyne's
// own events, and code there outside callbacks (a button's OnTapped) may
// call the reactor's methods directly, CallSoon and CallLater included.
// Other goroutines use reactor.CallFromGoroutine, as always. Start is
// called where the reactor is free (typically main, before a.Run); Stop
// and Done are safe anywhere.
//
// The app must not call fyne.DoAndWait from Fyne's goroutine (Fyne's own
// rule), and reactor callbacks need neither fyne.Do nor fyne.DoAndWait.
//
// # Coroutines
//
// The body of a coroutine (deferred.Async) and a cooperative job
// (task.Cooperator) may call widgets, as any reactor callback does, and
// so may callbacks fired inside them. They run on a goroutine of their
// own, on Fyne's thread, only while the pass that resumed them waits for
// them; Fyne (2.6+) tells its own calls by the calling goroutine, so
// while a coroutine runs the pump tells Fyne that its goroutine is
// Fyne's (reactor.SetCoroutineHooks), and gives Fyne its own back when it
// yields. Without that, a widget call Fyne runs only on its goroutine
// (Window.SetContent, Show, a new window) would wait for the goroutine
// that waits for the coroutine: a frozen app. Fyne keeps the id in an
// unexported variable of an internal package, which the pump reaches by
// name (go:linkname): this package's tests fail if a Fyne version renames
// it or stops reading it.
//
// # Stopping
//
// reactor.Stop quits the app (OnStop changes that: a program that runs
// the reactor for a while and goes on without it passes OnStop(nil) and
// waits on Done). When the app stops, the pump ends too: Start chains the
// app's OnStopped lifecycle hook, so set the program's own hook before
// Start. Call Stop when a.Run returns and before closing the reactor:
// then no pass runs any more and the pump's goroutine and descriptors are
// gone.
//
// A Fyne app runs once per process: a second Run panics, of the same app
// or a new one, because the GLFW driver's call queue is process-wide and
// closed when the first app stops.
//
// # Diagnostics
//
// A reactor callback that runs long is a frozen window. Under a Pump,
// slow-callback detection (reactor.WithSlowCallbacks, LOOM_SLOW=1, or
// debug mode) reports every callback over one 60 Hz frame, 16 ms, with
// the line that registered it. Inspect opens a live window of the loop's
// figures: counters, pass-time and timer-lag histograms, the slowest
// recent callbacks and the watched descriptors; LOOM_INSPECT=1 opens it
// for every reactor a Pump drives, without a rebuild.
//
// # Portability
//
// The package builds wherever Fyne's desktop driver and the reactor both
// do: Linux, the BSDs and macOS (not Windows, where the reactor has no
// backend yet). It needs poll(2) and pipe(2) only. Every reactor backend
// works, as BackendFD is all the pump watches:
//
//	OS              default backend   also
//	Linux           epoll             poll
//	macOS, BSDs     kqueue            poll
//
// With the poll backend, BackendFD is a descriptor the backend's helper
// goroutine signals, which costs one more goroutine hop per wakeup.
//
// Fyne's test driver (fyne.io/fyne/v2/test) has no loop: it runs posted
// calls at once on the caller's goroutine. The pump then runs each pass
// on its own goroutine, which becomes the reactor goroutine; headless
// tests work that way.
//
// # Implementation notes
//
// The pump follows the embedding contract of the reactor (libuv's
// uv_backend_fd and uv_backend_timeout) and Electron's handshake for
// merging two loops:
//
//  1. poll(2) on BackendFD for POLLIN, with the pump's stop pipe beside it,
//     for at most the reactor's next timeout. Polling consumes nothing.
//  2. Post one pass with the driver's DoFromGoroutine (fyne.Do) and wait
//     for it. The pass runs RunOnce(0), which does all ready work without
//     blocking, then reads NextTimeout (both may only be called on the
//     reactor goroutine, that is, in the pass) and hands it back with the
//     "done" signal.
//  3. Poll again for that long: the timeout in milliseconds rounded up,
//     never down, so a timer due in 0.3ms waits 1ms instead of spinning;
//     -1, no timer, waits indefinitely.
//
// So at most one pass is ever queued in Fyne's (unbounded) queue however
// hard the reactor is flooded, no readiness is seen twice, and an idle app
// posts nothing. Stop closes the pipe's write end, which wakes the poll;
// a pass still queued when the pump ends finds it cancelled and does
// nothing. The pump posts through a.Driver() rather than the global
// fyne.CurrentApp, which is the same driver in a program and lets tests
// wrap it.
//
// Work that a widget handler schedules while the pump sleeps (CallSoon,
// CallLater outside a pass) wakes the reactor's backend, so the pump sees
// it at once. A frame check backs that up: a Fyne animation that
// animates nothing runs once per frame on Fyne's goroutine, compares the
// reactor's NextTimeout with the pump's current deadline and, when the
// reactor needs a pass sooner, wakes the pump with an empty
// CallFromGoroutine, at a cost of a few nanoseconds per frame and no
// posts.
//
// Fyne's GLFW driver, once its loop has ended, drains its queue without
// running what it holds, then runs every later post on the caller's
// goroutine. The pump therefore checks, when a pass seems to run inside
// its own post, whether it runs on the pump goroutine (goroutine identity,
// read from the stack trace as Fyne's own thread checks do), and refuses
// to run the reactor there once a pass has run on Fyne's goroutine. The
// app's OnStopped hook ends the pump when the app stops, before the
// program's own hook runs; but Fyne 2.8.1 drops that hook at times (its
// lifecycle goroutine posts it to the queue being drained), so the frame
// check doubles as a watchdog: when no frame has come for 250ms, a probe
// posted with wait tells a busy loop from an ended one.
//
// A call from another goroutine does not go through the pump: the
// reactor's wake hook (reactor.SetWakeHook) posts the pass with
// DoFromGoroutine from the calling goroutine itself, as fyne.Do does,
// unless a pass is queued or running already (then the backend is woken
// and the pump sees it, as before). The pump sleeps on in its poll; the
// pass writes to a nudge pipe beside it only when the pump must wait
// less than it does (the call set a timer) or end. The poll backend
// keeps the pump's path: its descriptor is announced by a goroutine that
// waits for each pass it announced.
//
// Measured on a shared 2-core machine under Xvfb (BenchmarkWakeup,
// 10,000 posts 1 ms apart, alternating with fyne.Do in blocks of 100),
// a CallFromGoroutine reaches Fyne's goroutine in 49µs at the median and
// 255µs at the 99th percentile against fyne.Do's 41 and 207 (1.21 and
// 1.23×; through the pump's poll it was 1.5 to 2.1× at the median), and
// allocates nothing. A ready descriptor still takes the pump's hop: its
// poll wakes, posts the pass and waits for it, about 1.5× Go net's CPU
// per 64-byte round trip on one connection.
package fyneloop
