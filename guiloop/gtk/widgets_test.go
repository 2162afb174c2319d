package gtkloop_test

import (
	"fmt"
	"image"
	"math"
	"testing"
	"time"

	"github.com/gotk3/gotk3/gtk"
	"github.com/loomkit/loom/reactor/reactortest"
	"golang.org/x/sys/unix"
)

// warmUp shows and destroys a window once, so that GTK has opened what it
// opens on first use (fonts, theme) before a test counts descriptors.
func warmUp(t *testing.T) {
	onMain(func() {
		loadStyle(t)
		l, _ := gtk.LabelNew("warm")
		l.SetName("big")
		win := newWindow(t, "gtkloop warm-up", 200, 100, l)
		for gtk.EventsPending() {
			gtk.MainIteration()
		}
		win.Destroy()
	})
}

func TestWidgetsUpdatedByReactorCallbacksShowOnScreen(t *testing.T) {
	warmUp(t)
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	wait := start(t, r)
	var win *gtk.Window
	var label *gtk.Label
	var bar *gtk.ProgressBar
	onLoop(r, func() {
		box, _ := gtk.BoxNew(gtk.ORIENTATION_VERTICAL, 20)
		label, _ = gtk.LabelNew("")
		label.SetName("big")
		bar, _ = gtk.ProgressBarNew()
		bar.SetName("bar")
		box.PackStart(label, false, false, 10)
		box.PackStart(bar, false, false, 10)
		win = newWindow(t, "gtkloop widgets", 600, 260, box)
	})
	reds := func(img image.Image) int { return count(img, img.Bounds(), red) }
	greens := func(img image.Image) int { return count(img, img.Bounds(), green) }
	before := eventually(t, "gtkloop-widgets-before", func(img image.Image) bool {
		return count(img, img.Bounds(), func(r, g, b uint8) bool { return r > 200 && g > 200 && b > 200 }) > 10000
	})
	if n := reds(before) + greens(before); n > 50 {
		t.Errorf("before any update: %d red or green pixels", n)
	}

	// The updates come from reactor callbacks: a timer and a call from
	// another goroutine.
	onLoop(r, func() {
		r.CallLater(10*time.Millisecond, func() {
			label.SetText("LOOM")
			bar.SetFraction(0.25)
		})
	})
	quarter := eventually(t, "gtkloop-widgets-quarter", func(img image.Image) bool {
		return reds(img) > 500 && greens(img) > 500
	})
	go r.CallFromGoroutine(func() { bar.SetFraction(0.75) })
	g1 := greens(quarter)
	threeQuarters := eventually(t, "gtkloop-widgets-three-quarters", func(img image.Image) bool {
		return greens(img) > 2*g1
	})
	g3 := greens(threeQuarters)
	t.Logf("label: %d red pixels; bar: %d green pixels at 25%%, %d at 75%%", reds(quarter), g1, g3)
	if reds(quarter) < 500 {
		t.Errorf("the label's red text is not on screen (%d red pixels)", reds(quarter))
	}
	if ratio := float64(g3) / float64(g1); math.Abs(ratio-3) > 0.5 {
		t.Errorf("progress bar's filled area at 75%% is %.2f times the one at 25%%, want 3", ratio)
	}
	onLoop(r, func() { win.Destroy(); r.Stop() })
	ok(t, wait())
}

func TestClickedButtonUsesTheReactor(t *testing.T) {
	warmUp(t)
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	wait := start(t, r)
	const title = "gtkloop click"
	var win *gtk.Window
	var label *gtk.Label
	var button *gtk.Button
	clicks, tid := 0, 0
	onLoop(r, func() {
		box, _ := gtk.BoxNew(gtk.ORIENTATION_VERTICAL, 10)
		button, _ = gtk.ButtonNewWithLabel("Fetch")
		label, _ = gtk.LabelNew("")
		label.SetName("big")
		button.Connect("clicked", func() {
			// A GTK handler hands work to the reactor, whose callback
			// updates the label: both on the GTK thread.
			r.CallLater(20*time.Millisecond, func() {
				clicks++
				tid = unix.Gettid()
				label.SetText(fmt.Sprintf("clicked %d", clicks))
			})
		})
		box.PackStart(button, false, false, 10)
		box.PackStart(label, false, false, 10)
		win = newWindow(t, title, 400, 200, box)
	})
	eventually(t, "gtkloop-click-before", func(img image.Image) bool {
		return count(img, img.Bounds(), func(r, g, b uint8) bool { return r > 200 && g > 200 && b > 200 }) > 10000
	})
	var x, y int
	onLoop(r, func() { x, y = center(&button.Widget) })
	click(t, title, x, y)
	after := eventually(t, "gtkloop-click-after", func(img image.Image) bool {
		return count(img, img.Bounds(), red) > 300
	})
	var text string
	onLoop(r, func() { text, _ = label.GetText() })
	if text != "clicked 1" || clicks != 1 {
		t.Errorf("label %q after one click (%d clicks)", text, clicks)
	}
	if tid != mainTid {
		t.Errorf("the reactor callback ran on thread %d, GTK's is %d", tid, mainTid)
	}
	if n := count(after, after.Bounds(), red); n < 300 {
		t.Errorf("the label's text is not on screen (%d red pixels)", n)
	}
	onLoop(r, func() { win.Destroy(); r.Stop() })
	ok(t, wait())
}
