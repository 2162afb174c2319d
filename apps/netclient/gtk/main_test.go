package main

import (
	"fmt"
	"image"
	"image/color"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/gotk3/gotk3/gtk"

	"github.com/loomkit/loom/apps/netclient"
	"github.com/loomkit/loom/apps/netclient/internal/pixels"
	gtkloop "github.com/loomkit/loom/guiloop/gtk"
	"github.com/loomkit/loom/internal/wintest"
	"github.com/loomkit/loom/internal/xvfb"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
)

// GTK runs on the main OS thread: the main goroutine serves mainq while
// the tests run on another goroutine. Each test package has an X server
// of its own (a private Xvfb when DISPLAY is unset), so that no other
// package's windows cover this one's screenshots.
var mainq = make(chan func())

func TestMain(m *testing.M) {
	stop, err := xvfb.ForTest()
	if err != nil {
		fmt.Fprintln(os.Stderr, "the GTK front end's tests need an X display:", err)
		os.Exit(1)
	}
	if err := gtk.InitCheck(nil); err != nil {
		stop()
		fmt.Fprintln(os.Stderr, "gtk.InitCheck:", err)
		os.Exit(1)
	}
	done := make(chan int)
	go func() { done <- m.Run() }()
	for {
		select {
		case f := <-mainq:
			f()
		case code := <-done:
			stop()
			os.Exit(code)
		}
	}
}

// app is a netclient window on a reactor that gtkloop.Run drives on the
// GTK thread, for one test.
type app struct {
	t  testing.TB
	r  *reactor.Reactor
	s  *netclient.Session
	w  *window
	id string // the X window
}

// startApp starts a session with opts (downloads in a temporary folder),
// its window, and gtkloop.Run; the window is closed and Run waited for
// when the test ends.
func startApp(t testing.TB, opts netclient.Options) *app {
	t.Helper()
	r, err := reactor.New(reactor.WithoutSignalHandlers())
	if err != nil {
		t.Fatal(err)
	}
	if opts.Downloads == "" {
		opts.Downloads = t.TempDir()
	}
	a := &app{t: t, r: r}
	made := make(chan error, 1)
	ran := make(chan error, 1)
	mainq <- func() {
		a.s, err = netclient.Start(r, opts)
		if err == nil {
			a.w, err = newWindow(a.s)
		}
		made <- err
		if err != nil {
			return
		}
		a.w.win.Connect("destroy", r.Stop)
		err := gtkloop.Run(r)
		a.s.Close()
		ran <- err
	}
	if err := <-made; err != nil {
		r.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.CallFromGoroutine(func() { a.w.win.Destroy() })
		select {
		case err := <-ran:
			if err != nil {
				t.Errorf("gtkloop.Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("gtkloop.Run still running 20s after the window was closed")
		}
		r.Close()
	})
	a.id = windowID(t, Title)
	return a
}

// on runs f on the GTK thread, inside the loop, and waits for it.
func (a *app) on(f func()) { reactortest.OnLoop(a.t, a.r, f) }

// eventually waits for cond, checked on the GTK thread.
func (a *app) eventually(what string, cond func() bool) {
	a.t.Helper()
	reactortest.Eventually(a.t, a.r, 20*time.Second, what, cond)
}

// view is the core's View, read on the GTK thread.
func (a *app) view() netclient.View {
	var v netclient.View
	a.on(func() { v = a.s.View() })
	return v
}

// rect is where the named widget is in the window, as the state file
// would say; it waits for the widget to be laid out.
func (a *app) rect(name string) netclient.Rect {
	a.t.Helper()
	var r netclient.Rect
	a.eventually("the window lays out "+name, func() bool {
		var ok bool
		r, ok = a.w.layout()[name]
		return ok
	})
	return r
}

// click clicks the middle of the named widget, as a person would: the
// pointer moves there and button 1 goes down and up, through the X
// server (xdotool's XTEST events).
func (a *app) click(name string) {
	a.t.Helper()
	x, y := a.rect(name).Center()
	// One xdotool, so that the move comes before the click; not --sync,
	// which waits for a move that never comes when the pointer is there.
	xdotool(a.t, "mousemove", "--window", a.id, strconv.Itoa(x), strconv.Itoa(y), "click", "1")
}

// typeInto clicks the named entry, selects what it holds and types text
// over it, then presses Return if enter.
func (a *app) typeInto(name, text string, enter bool) {
	a.t.Helper()
	a.click(name)
	xdotool(a.t, "key", "ctrl+a")
	xdotool(a.t, "type", "--delay", "5", text)
	if enter {
		xdotool(a.t, "key", "Return")
	}
}

// shot takes a picture of the window alone (import -window), saves it as
// out/name.png and returns it.
func (a *app) shot(name string) image.Image {
	a.t.Helper()
	a.on(func() {}) // what the loop had to do is done
	time.Sleep(100 * time.Millisecond)
	return wintest.Grab(a.t, a.id, name)
}

func windowID(t testing.TB, title string) string { t.Helper(); return wintest.WindowID(t, title) }

func xdotool(t testing.TB, args ...string) { t.Helper(); wintest.Xdotool(t, args...) }

// hex reads "#rrggbb".
func hex(s string) color.NRGBA {
	c, err := pixels.Hex(s)
	if err != nil {
		panic(err)
	}
	return c
}

// count counts the pixels of img inside r of colour c.
func count(img image.Image, r netclient.Rect, c color.Color) int { return pixels.Count(img, r, c) }

// columns counts the columns of r in which some pixel is of colour c:
// the width of a progress bar's fill.
func columns(img image.Image, r netclient.Rect, c color.Color) int {
	return int(pixels.Filled(img, r, c)*float64(r.W) + 0.5)
}
