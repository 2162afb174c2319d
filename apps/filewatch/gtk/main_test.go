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

	"github.com/loomkit/loom/apps/filewatch"
	gtkloop "github.com/loomkit/loom/guiloop/gtk"
	"github.com/loomkit/loom/internal/wintest"
	"github.com/loomkit/loom/internal/xvfb"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
)

// GTK runs on the main OS thread: the main goroutine serves mainq while
// the tests run on another goroutine. The package has an X server of its
// own (a private Xvfb when DISPLAY is unset), so that no other package's
// windows cover this one's screenshots.
var mainq = make(chan func())

func TestMain(m *testing.M) {
	stop, err := xvfb.ForTest()
	if err != nil {
		fmt.Fprintln(os.Stderr, "the GTK front end's tests need an X display:", err)
		os.Exit(1)
	}
	if os.Getenv("GSETTINGS_BACKEND") == "" {
		os.Setenv("GSETTINGS_BACKEND", "memory") // no session bus for dconf here
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

// app is a filewatch window on a reactor that gtkloop.Run drives on the
// GTK thread, for one test.
type app struct {
	t    testing.TB
	r    *reactor.Reactor
	core *filewatch.App
	w    *window
	id   string // the X window
}

// startApp starts a core with cfg, its window and gtkloop.Run; the
// window is closed and Run waited for when the test ends.
func startApp(t testing.TB, cfg filewatch.Config) *app {
	t.Helper()
	r, err := reactor.New(reactor.WithoutSignalHandlers())
	if err != nil {
		t.Fatal(err)
	}
	a := &app{t: t, r: r}
	made := make(chan error, 1)
	ran := make(chan error, 1)
	mainq <- func() {
		a.core, err = filewatch.New(r, cfg)
		if err == nil {
			a.w, err = newWindow(r, a.core)
			if err != nil {
				a.core.Close()
			}
		}
		made <- err
		if err != nil {
			return
		}
		a.w.win.Connect("destroy", r.Stop)
		a.w.win.ShowAll()
		err := gtkloop.Run(r)
		a.core.Close()
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

// state is what the window shows, read from its widgets, as the state
// file says it.
func (a *app) state() filewatch.State {
	var s filewatch.State
	a.on(func() { s = a.w.state() })
	return s
}

// rect is where the named widget is in the window; it waits for the
// widget to be on screen.
func (a *app) rect(name string) filewatch.Rect {
	a.t.Helper()
	var r filewatch.Rect
	a.eventually(name+" on screen", func() bool {
		var ok bool
		r, ok = a.w.state().Widgets[name]
		return ok && r.W > 0 && r.H > 0
	})
	return r
}

// click clicks the middle of the named widget, as a person would: the
// pointer moves there and button 1 goes down and up, through the X
// server (xdotool's XTEST events).
func (a *app) click(name string) {
	a.t.Helper()
	r := a.rect(name)
	a.pointer(r.X+r.W/2, r.Y+r.H/2)
	xdotool(a.t, "click", "1")
}

// pointer moves the pointer to x, y in the window. xdotool's --sync
// waits for the pointer to move, for a long while when it is there
// already: it is moved away first.
func (a *app) pointer(x, y int) {
	a.t.Helper()
	xdotool(a.t, "mousemove", "--window", a.id, strconv.Itoa(x+3), strconv.Itoa(y+3))
	xdotool(a.t, "mousemove", "--sync", "--window", a.id, strconv.Itoa(x), strconv.Itoa(y))
}

// typeInto clicks the named entry, selects what it holds and types text
// over it.
func (a *app) typeInto(name, text string) {
	a.t.Helper()
	a.click(name)
	xdotool(a.t, "key", "ctrl+a")
	xdotool(a.t, "type", "--delay", "20", text)
}

// shot takes a picture of the window alone (import -window), saves it as
// out/name.png and returns it.
func (a *app) shot(name string) image.Image {
	a.t.Helper()
	a.on(func() {}) // what the loop had to do is done
	time.Sleep(150 * time.Millisecond)
	return wintest.Grab(a.t, a.id, name)
}

func windowID(t testing.TB, title string) string { t.Helper(); return wintest.WindowID(t, title) }

func xdotool(t testing.TB, args ...string) { t.Helper(); wintest.Xdotool(t, args...) }

// pixels counts the pixels of img inside r that are within 3 of the
// colour hex ("#rrggbb") in each channel.
func pixels(img image.Image, r filewatch.Rect, hex string) int {
	c := parseHex(hex)
	near := func(a, b uint8) bool { return int(a)-int(b) <= 3 && int(b)-int(a) <= 3 }
	n := 0
	rect := image.Rect(r.X, r.Y, r.X+r.W, r.Y+r.H).Intersect(img.Bounds())
	for y := rect.Min.Y; y < rect.Max.Y; y++ {
		for x := rect.Min.X; x < rect.Max.X; x++ {
			p := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			if near(p.R, c.R) && near(p.G, c.G) && near(p.B, c.B) {
				n++
			}
		}
	}
	return n
}

func parseHex(hex string) color.NRGBA {
	var c color.NRGBA
	fmt.Sscanf(hex, "#%02x%02x%02x", &c.R, &c.G, &c.B)
	c.A = 0xff
	return c
}
