package fyneloop_test

import (
	"errors"
	"fmt"
	"image/color"
	"os"
	"os/exec"
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
// pump in it and stops the pump, never the app, and the process exits
// with the app still running. The tests about the app stopping run in
// child processes of their own (lifecycle_test.go).
var (
	theApp    fyne.App
	theWindow fyne.Window
	mainG     uint64 // the goroutine that runs the app: Fyne's goroutine

	// windowTitle is theWindow's title, unique to the process, so that
	// tests find their own window on a display other programs share.
	windowTitle = fmt.Sprintf("fyneloop test %d", os.Getpid())
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	if name := os.Getenv(scenarioEnv); name != "" {
		return runScenario(name) // under the parent's display
	}
	if os.Getenv("DISPLAY") == "" {
		// Start Xvfb and run the tests in a child process under it: the
		// child exits with its app still running (below), and killing
		// the X server under a live app makes Xlib exit the process.
		stopX, err := xvfb.ForTest()
		if err != nil {
			fmt.Fprintln(os.Stderr, "fyneloop: the tests need an X display:", err)
			return 1
		}
		defer stopX()
		defer quietDesktop()()
		return rerun()
	}

	mainG = fyneloop.Goid()
	theApp = app.New()
	theWindow = theApp.NewWindow(windowTitle)
	theWindow.SetContent(container.NewStack(canvas.NewRectangle(color.Gray{Y: 0xee}), widget.NewLabel("fyneloop")))
	theWindow.Resize(fyne.NewSize(400, 300))
	theWindow.Show()

	started := make(chan struct{})
	theApp.Lifecycle().SetOnStarted(func() { close(started) })
	go func() {
		// Let the app settle (its goroutines, window and first frames)
		// so that the leak checks of the first test do not count them.
		<-started
		onFyne(func() {})
		time.Sleep(200 * time.Millisecond)
		// The app is not quit: Fyne 2.8.1's shutdown can race with its
		// own lifecycle goroutine and hang (see lifecycle_test.go, where
		// apps stop, each in a process of its own). Exit from here.
		os.Exit(m.Run())
	}()
	theApp.Run()
	fmt.Fprintln(os.Stderr, "fyneloop: the test app stopped before the tests ended")
	return 1
}

// rerun runs this test binary again with the same arguments, in a child
// process that inherits the display, and returns its exit code.
func rerun() int {
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fyneloop: running the tests under Xvfb:", err)
		return 1
	}
	return 0
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
