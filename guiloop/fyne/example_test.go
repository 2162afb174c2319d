package fyneloop_test

import (
	"bufio"
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/loomkit/loom/deferred"
	fyneloop "github.com/loomkit/loom/guiloop/fyne"
	"github.com/loomkit/loom/reactor"
)

// A clock label ticked by a reactor timer and a line counter fed by a
// goroutine, with a Quit button that stops the reactor, which quits the
// app. (The package doc shows it as a whole program.)
func Example() {
	r, err := reactor.New()
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()

	a := app.NewWithID("io.loomkit.example")
	w := a.NewWindow("loom")
	clock := widget.NewLabel("")
	lines := widget.NewLabel("0 lines on stdin")
	w.SetContent(container.NewVBox(clock, lines, widget.NewButton("Quit", r.Stop)))

	// Reactor callbacks run on Fyne's goroutine: they touch widgets.
	var tick func()
	tick = func() {
		clock.SetText(time.Now().Format(time.TimeOnly))
		r.CallLater(time.Second, tick)
	}
	r.CallSoon(tick)
	go func() {
		n := 0
		for s := bufio.NewScanner(os.Stdin); s.Scan(); {
			n++
			text := fmt.Sprint(n, " lines on stdin")
			r.CallFromGoroutine(func() { lines.SetText(text) })
		}
	}()

	p, err := fyneloop.Start(a, r)
	if err != nil {
		log.Fatal(err)
	}
	w.ShowAndRun()
	if err := p.Stop(); err != nil {
		log.Print(err)
	}
}

// A reactor that serves one phase of an app's life: OnStop(nil) leaves
// the app running when the reactor stops, and Done tells when that was.
func ExampleOnStop() {
	a := app.New()
	r, err := reactor.New()
	if err != nil {
		log.Fatal(err)
	}
	r.CallLater(2*time.Second, r.Stop)
	p, err := fyneloop.Start(a, r, fyneloop.OnStop(nil))
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		<-p.Done()
		if err := p.Stop(); err != nil {
			log.Print(err)
		}
		r.Close() // the pump has ended: no pass runs any more
	}()
	a.NewWindow("loom").ShowAndRun()
}

// The README's Fyne quick start: a button whose work runs on a goroutine
// and reports progress to a bar, read top to bottom in a coroutine that
// updates the widgets itself, on Fyne's goroutine.
func Example_progress() {
	r, err := reactor.New()
	if err != nil {
		log.Fatal(err)
	}
	a := app.NewWithID("io.loomkit.quickstart")
	w := a.NewWindow("loom")
	bar := widget.NewProgressBar()
	status := widget.NewLabel("")
	var start *widget.Button
	start = widget.NewButton("Count", func() {
		start.Disable()
		deferred.Async(r, func(co *deferred.Co) (int, error) {
			job := reactor.GoWithProgress(r, deferred.Progress, func(ctx context.Context, progress func(deferred.Count)) (int, error) {
				for i := range 100 {
					time.Sleep(10 * time.Millisecond) // slow work, off the GUI thread
					progress(deferred.Count{Done: int64(i + 1), Total: 100})
				}
				return 100, nil
			})
			deferred.On(job, deferred.Progress, func(c deferred.Count) { bar.SetValue(c.Fraction()) })
			n, err := deferred.Await(co, job)
			status.SetText(fmt.Sprint("counted ", n)) // widgets, straight from the coroutine
			start.Enable()
			return n, err
		})
	})
	w.SetContent(container.NewVBox(start, bar, status))

	p, err := fyneloop.Start(a, r)
	if err != nil {
		log.Fatal(err)
	}
	w.ShowAndRun()
	p.Stop()
	r.Close() // after a.Run: runs Shutdown, ends what is still going
}
