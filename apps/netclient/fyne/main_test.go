package main

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/theme"

	"github.com/loomkit/loom/apps/netclient"
	"github.com/loomkit/loom/apps/netclient/fyne/ui"
	"github.com/loomkit/loom/apps/netclient/internal/pixels"
	fyneloop "github.com/loomkit/loom/guiloop/fyne"
	"github.com/loomkit/loom/internal/wintest"
	"github.com/loomkit/loom/internal/xvfb"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
)

// A Fyne app runs once per process, on the main OS thread: TestMain runs
// it and the tests run on another goroutine, each with a reactor, a core
// and a view of its own in the one window. With no DISPLAY, the tests run
// in a child process under a private Xvfb (internal/xvfb), which the
// child outlives: the process exits with its app still running.
var (
	theApp    fyne.App
	theWindow fyne.Window
)

const childEnv = "NETCLIENT_FYNE_TEST_CHILD"

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	if os.Getenv("DISPLAY") == "" {
		stop, err := xvfb.ForTest()
		if err != nil {
			fmt.Fprintln(os.Stderr, "the Fyne front end's tests need an X display:", err)
			return 1
		}
		defer stop()
		if os.Getenv("XDG_RUNTIME_DIR") == "" {
			dir, err := os.MkdirTemp("", "netclient-fyne-xdg-")
			if err == nil {
				os.Setenv("XDG_RUNTIME_DIR", dir)
				defer os.RemoveAll(dir)
			}
		}
		cmd := exec.Command(os.Args[0], os.Args[1:]...)
		cmd.Env = append(os.Environ(), childEnv+"=1")
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
	theApp = app.NewWithID("io.loomkit.netclient.test")
	theApp.Settings().SetTheme(ui.Light{Theme: theme.DefaultTheme()})
	theWindow = theApp.NewWindow(ui.Title)
	theWindow.Resize(fyne.NewSize(980, 760))
	theWindow.Show()
	started := make(chan struct{})
	theApp.Lifecycle().SetOnStarted(func() { close(started) })
	go func() {
		<-started
		onFyne(func() {})
		// Fyne 2.8.1's shutdown can race with its own lifecycle
		// goroutine: exit from here, with the app running.
		os.Exit(m.Run())
	}()
	theApp.Run()
	fmt.Fprintln(os.Stderr, "the test app stopped before the tests ended")
	return 1
}

// onFyne runs f on Fyne's goroutine and waits for it.
func onFyne(f func()) { theApp.Driver().DoFromGoroutine(f, true) }

// fixture is a session and its view in the window, driven by a pump.
type fixture struct {
	t  *testing.T
	r  *reactor.Reactor
	s  *netclient.Session
	u  *ui.UI
	id string
}

func newFixture(t *testing.T, opts netclient.Options) *fixture {
	t.Helper()
	f := &fixture{t: t}
	var err error
	if f.r, err = reactor.New(reactor.WithoutSignalHandlers()); err != nil {
		t.Fatal(err)
	}
	if opts.Downloads == "" {
		opts.Downloads = t.TempDir()
	}
	// Before the pump starts, Fyne's goroutine may be the reactor's.
	onFyne(func() {
		if f.s, err = netclient.Start(f.r, opts); err != nil {
			return
		}
		f.u = ui.New(f.s.App)
		theWindow.SetContent(f.u.Content)
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := fyneloop.Start(theApp, f.r, fyneloop.OnStop(nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		reactortest.OnLoop(t, f.r, f.s.Close)
		if err := p.Stop(); err != nil {
			t.Errorf("pump: %v", err)
		}
		f.r.Close()
	})
	f.id = windowID(t)
	return f
}

func (f *fixture) on(fn func()) { reactortest.OnLoop(f.t, f.r, fn) }

func (f *fixture) eventually(what string, cond func() bool) {
	f.t.Helper()
	reactortest.Eventually(f.t, f.r, 20*time.Second, what, cond)
}

func (f *fixture) view() netclient.View {
	var v netclient.View
	f.on(func() { v = f.s.View() })
	return v
}

// rect is where the named widget is, in the window's pixels, as the
// state file says; it waits for the widget to be laid out.
func (f *fixture) rect(name string) netclient.Rect {
	f.t.Helper()
	var r netclient.Rect
	f.eventually("the window lays out "+name, func() bool {
		var ok bool
		r, ok = f.u.Layout(theWindow.Canvas())[name]
		return ok
	})
	return r
}

// click moves the pointer to the middle of the named widget and clicks
// there, through the X server (xdotool's XTEST events), in one xdotool
// so that the move comes first.
func (f *fixture) click(name string) {
	f.t.Helper()
	x, y := f.rect(name).Center()
	xdotool(f.t, "mousemove", "--window", f.id, strconv.Itoa(x), strconv.Itoa(y), "click", "1")
	time.Sleep(50 * time.Millisecond)
}

// typeInto clicks the named entry, selects what it holds and types text
// over it, then presses Return if enter.
func (f *fixture) typeInto(name, text string, enter bool) {
	f.t.Helper()
	f.click(name)
	xdotool(f.t, "key", "ctrl+a")
	xdotool(f.t, "type", "--delay", "10", text)
	if enter {
		xdotool(f.t, "key", "Return")
	}
}

// shot takes a picture of the window alone (import -window), after a few
// frames, saves it as out/name.png and returns it.
func (f *fixture) shot(name string) image.Image {
	f.t.Helper()
	f.on(func() {})
	time.Sleep(150 * time.Millisecond)
	return wintest.Grab(f.t, f.id, name)
}

func windowID(t testing.TB) string { t.Helper(); return wintest.WindowID(t, ui.Title) }

func xdotool(t testing.TB, args ...string) { t.Helper(); wintest.Xdotool(t, args...) }

// count counts the pixels of img inside r of colour c.
func count(img image.Image, r netclient.Rect, c color.Color) int { return pixels.Count(img, r, c) }

// columns counts the columns of r that hold a pixel of colour c.
func columns(img image.Image, r netclient.Rect, c color.Color) int {
	return int(pixels.Filled(img, r, c)*float64(r.W) + 0.5)
}
