package main

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"github.com/loomkit/loom/apps/filewatch"
	"github.com/loomkit/loom/apps/filewatch/fyne/fyneui"
	fyneloop "github.com/loomkit/loom/guiloop/fyne"
	"github.com/loomkit/loom/internal/wintest"
	"github.com/loomkit/loom/internal/xvfb"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
)

// Fyne's GLFW driver runs on the main OS thread, and a Fyne app runs once
// per process: the main goroutine runs one app, with one window, for
// every test, and m.Run runs on another goroutine; each test puts a new
// core's content in the window, with a pump of its own. The process
// exits with the app running (Fyne 2.8.1's shutdown can hang, see
// guiloop/fyne); with no display it runs again as a child under a
// private Xvfb, which is killed once the child has exited.
func init() { runtime.LockOSThread() }

var (
	theApp    fyne.App
	theWindow fyne.Window
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	if os.Getenv("DISPLAY") == "" {
		stopX, err := xvfb.ForTest()
		if err != nil {
			fmt.Fprintln(os.Stderr, "the Fyne front end's tests need an X display:", err)
			return 1
		}
		defer stopX()
		if os.Getenv("XDG_RUNTIME_DIR") == "" {
			if dir, err := os.MkdirTemp("", "filewatch-xdg-"); err == nil {
				os.Setenv("XDG_RUNTIME_DIR", dir)
				defer os.RemoveAll(dir)
			}
		}
		cmd := exec.Command(os.Args[0], os.Args[1:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		err = cmd.Run()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "running the tests under Xvfb:", err)
			return 1
		}
		return 0
	}
	theApp = fyneapp.NewWithID("io.loomkit.filewatch.test")
	theWindow = theApp.NewWindow(fyneui.Title)
	theWindow.Resize(fyne.NewSize(1000, 720))
	theWindow.Show()
	started := make(chan struct{})
	theApp.Lifecycle().SetOnStarted(func() { close(started) })
	go func() {
		<-started
		theApp.Driver().DoFromGoroutine(func() {}, true)
		time.Sleep(200 * time.Millisecond)
		os.Exit(m.Run())
	}()
	theApp.Run()
	fmt.Fprintln(os.Stderr, "the test app stopped before the tests ended")
	return 1
}

// app is a core shown in the window, on a reactor its pump runs on
// Fyne's goroutine, for one test.
type app struct {
	t    testing.TB
	r    *reactor.Reactor
	core *filewatch.App
	u    *fyneui.UI
	id   string
}

func startApp(t testing.TB, cfg filewatch.Config) *app {
	t.Helper()
	r, err := reactor.New(reactor.WithoutSignalHandlers())
	if err != nil {
		t.Fatal(err)
	}
	a := &app{t: t, r: r}
	theApp.Driver().DoFromGoroutine(func() {
		a.core, err = filewatch.New(r, cfg)
		if err == nil {
			a.u = fyneui.New(theApp, theWindow, r, a.core)
		}
	}, true)
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	p, err := fyneloop.Start(theApp, r, fyneloop.OnStop(nil))
	if err != nil {
		t.Fatal(err)
	}
	a.on(a.u.Start)
	t.Cleanup(func() {
		a.on(func() {
			a.u.Stop()
			a.core.Close()
		})
		if err := p.Stop(); err != nil {
			t.Errorf("pump: %v", err)
		}
		r.Close()
	})
	a.id = windowID(t)
	return a
}

// on runs f on Fyne's goroutine, in a reactor pass, and waits for it.
func (a *app) on(f func()) { reactortest.OnLoop(a.t, a.r, f) }

func (a *app) eventually(what string, cond func() bool) {
	a.t.Helper()
	reactortest.Eventually(a.t, a.r, 20*time.Second, what, cond)
}

func (a *app) state() filewatch.State {
	var s filewatch.State
	a.on(func() { s = a.u.State() })
	return s
}

func (a *app) rect(name string) filewatch.Rect {
	a.t.Helper()
	var r filewatch.Rect
	a.eventually(name+" on screen", func() bool {
		var ok bool
		r, ok = a.u.State().Widgets[name]
		return ok && r.W > 0 && r.H > 0
	})
	return r
}

// pointer moves the pointer to x, y in the window (away first: xdotool's
// --sync waits long when it is there already).
func (a *app) pointer(x, y int) {
	a.t.Helper()
	xdotool(a.t, "mousemove", "--window", a.id, strconv.Itoa(x+3), strconv.Itoa(y+3))
	xdotool(a.t, "mousemove", "--sync", "--window", a.id, strconv.Itoa(x), strconv.Itoa(y))
}

// click clicks the middle of the named widget, as a person would.
func (a *app) click(name string) {
	a.t.Helper()
	r := a.rect(name)
	a.pointer(r.X+r.W/2, r.Y+r.H/2)
	xdotool(a.t, "click", "1")
}

func (a *app) shot(name string) image.Image {
	a.t.Helper()
	a.on(func() {})
	time.Sleep(300 * time.Millisecond) // a few of Fyne's frames
	return wintest.Grab(a.t, a.id, name)
}

func windowID(t testing.TB) string { t.Helper(); return wintest.WindowID(t, fyneui.Title) }

func xdotool(t testing.TB, args ...string) { t.Helper(); wintest.Xdotool(t, args...) }

// pixels counts the pixels of img inside r within 3 of the colour hex in
// each channel.
func pixels(img image.Image, r filewatch.Rect, hex string) int {
	var c color.NRGBA
	fmt.Sscanf(hex, "#%02x%02x%02x", &c.R, &c.G, &c.B)
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
