// Command hello-gtk is the GTK front end of loom's smallest sample app: a
// window whose clock ticks from a reactor timer, whose "Slow work" button
// runs a job on a goroutine with a live progress bar (press again to
// cancel), and whose "Echo" button makes a round trip to an echo server
// on loopback. Every widget update happens in a reactor callback, on the
// GTK thread.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"time"

	"github.com/gotk3/gotk3/gtk"
	"github.com/loomkit/loom/apps/hello"
	gtkloop "github.com/loomkit/loom/guiloop/gtk"
	"github.com/loomkit/loom/reactor"
)

// gtk.Main must run on the main OS thread.
func init() { runtime.LockOSThread() }

type view struct {
	clock, status, echo *gtk.Label
	bar                 *gtk.ProgressBar
}

func (v *view) SetClock(s string) {
	v.clock.SetMarkup(`<span size="xx-large" weight="bold">` + s + `</span>`)
}
func (v *view) SetEcho(s string) { v.echo.SetText(s) }
func (v *view) SetProgress(f float64, s string) {
	v.bar.SetFraction(f)
	v.status.SetText(s)
}

func main() {
	quitAfter := flag.Duration("quit-after", 0, "quit after this long (0: when the window closes)")
	flag.Parse()
	if err := run(*quitAfter); err != nil {
		fmt.Fprintln(os.Stderr, "hello-gtk:", err)
		os.Exit(1)
	}
}

func run(quitAfter time.Duration) error {
	gtk.Init(nil)
	r, err := reactor.New()
	if err != nil {
		return err
	}
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := hello.EchoServer(ctx)
	if err != nil {
		return err
	}

	win, _ := gtk.WindowNew(gtk.WINDOW_TOPLEVEL)
	win.SetTitle("loom — hello")
	win.SetDefaultSize(420, 260)
	win.Connect("destroy", r.Stop)

	box, _ := gtk.BoxNew(gtk.ORIENTATION_VERTICAL, 10)
	box.SetMarginTop(16)
	box.SetMarginBottom(16)
	box.SetMarginStart(16)
	box.SetMarginEnd(16)
	v := &view{}
	v.clock, _ = gtk.LabelNew("")
	v.bar, _ = gtk.ProgressBarNew()
	v.status, _ = gtk.LabelNew("press Slow work")
	v.echo, _ = gtk.LabelNew("")
	work, _ := gtk.ButtonNewWithLabel("Slow work")
	echo, _ := gtk.ButtonNewWithLabel("Echo")
	buttons, _ := gtk.BoxNew(gtk.ORIENTATION_HORIZONTAL, 10)
	buttons.PackStart(work, true, true, 0)
	buttons.PackStart(echo, true, true, 0)
	for _, w := range []gtk.IWidget{v.clock, v.bar, v.status, buttons, v.echo} {
		box.PackStart(w, false, false, 0)
	}
	win.Add(box)

	app := hello.New(r, v)
	defer app.Close()
	n := 0
	work.Connect("clicked", func() { app.StartWork(20, 100*time.Millisecond) })
	echo.Connect("clicked", func() {
		n++
		app.Echo(addr, fmt.Sprintf("hello #%d", n))
	})
	if quitAfter > 0 {
		r.CallLater(quitAfter, r.Stop)
	}
	win.ShowAll()
	log.Printf("hello-gtk: running on %s; echo server at %s", r.Backend(), addr)
	return gtkloop.Run(r)
}
