package fyneloop_test

import (
	"fmt"
	"image/color"
	"os"
	"runtime"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	fyneloop "github.com/loomkit/loom/guiloop/fyne"
	"github.com/loomkit/loom/internal/xvfb"
)

// Fyne's GLFW driver must run on the main OS thread: the test binary's
// main goroutine runs the app and m.Run runs on another goroutine.
func init() { runtime.LockOSThread() }

// A Fyne app runs once per process: a second Run of the same app panics
// ("send on closed channel"), and so does a new app's, because the GLFW
// driver's queue is process-wide and closed when the first app stops. So
// one app, started in TestMain, serves every test; each test starts a
// pump in it and stops the pump, never the app. The tests about the app
// stopping run in child processes of their own (lifecycle_test.go).
var (
	theApp    fyne.App
	theWindow fyne.Window
	mainG     uint64 // the goroutine that runs the app: Fyne's goroutine
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	stopX, err := xvfb.Ensure()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fyneloop: the tests need an X display:", err)
		return 1
	}
	defer stopX()
	defer quietDesktop()()
	if name := os.Getenv(scenarioEnv); name != "" {
		return runScenario(name)
	}

	mainG = fyneloop.Goid()
	theApp = app.New()
	theWindow = theApp.NewWindow("fyneloop test")
	theWindow.SetContent(container.NewStack(canvas.NewRectangle(color.Gray{Y: 0xee}), widget.NewLabel("fyneloop")))
	theWindow.Resize(fyne.NewSize(400, 300))
	theWindow.Show()

	started := make(chan struct{})
	theApp.Lifecycle().SetOnStarted(func() { close(started) })
	code := make(chan int, 1)
	go func() {
		// Let the app settle (its goroutines, window and first frames)
		// so that the leak checks of the first test do not count them.
		<-started
		onFyne(func() {})
		time.Sleep(200 * time.Millisecond)
		c := m.Run()
		theApp.Driver().DoFromGoroutine(theApp.Quit, false)
		code <- c
	}()
	theApp.Run()
	return <-code
}

// quietDesktop gives the app what a desktop session would, so that the
// test log is not filled with complaints about its absence, and returns
// the clean-up.
func quietDesktop() func() {
	if os.Getenv("XDG_RUNTIME_DIR") != "" {
		return func() {}
	}
	dir, err := os.MkdirTemp("", "fyneloop-xdg-")
	if err != nil {
		return func() {}
	}
	os.Setenv("XDG_RUNTIME_DIR", dir)
	return func() { os.RemoveAll(dir) }
}

// onFyne runs f on Fyne's goroutine and waits for it.
func onFyne(f func()) { theApp.Driver().DoFromGoroutine(f, true) }
