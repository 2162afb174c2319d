package fyneloop_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/widget"
	"go.uber.org/goleak"

	fyneloop "github.com/loomkit/loom/guiloop/fyne"
	"github.com/loomkit/loom/reactor"
)

// A scenario runs one app from start to end in a process of its own (an
// app runs once per process), on the main goroutine, and reports what
// went wrong.
const scenarioEnv = "FYNELOOP_SCENARIO"

type scenario struct {
	// arrange sets up how the app or the reactor will stop, once the
	// app runs.
	arrange func(s *run)
	// reactorStops says whether the reactor itself ends stopped.
	reactorStops bool
	// hookFirst says the program's OnStopped hook may run before the
	// pump has ended (it replaced the one Start chained).
	hookFirst bool
}

// run is one scenario's app, window, reactor and pump, and what the
// checks record.
type run struct {
	a     fyne.App
	w     fyne.Window
	r     *reactor.Reactor
	p     *fyneloop.Pump
	ended atomic.Bool  // a.Run has returned
	wrong atomic.Int64 // callbacks run off Fyne's goroutine or after the app ended
	mainG uint64
	hook  func() // the program's OnStopped hook
}

var scenarios = map[string]scenario{
	// reactor.Stop quits the app (the default OnStop).
	"reactor-stop-quits-app": {reactorStops: true, arrange: func(s *run) {
		s.r.CallLater(100*time.Millisecond, s.r.Stop)
	}},
	// The app quits while the reactor idles: the pump ends with it.
	"app-quit-ends-pump": {arrange: func(s *run) {
		s.r.CallLater(time.Hour, func() {})
		s.r.CallLater(100*time.Millisecond, func() {
			go fyne.Do(s.a.Quit) // from a goroutine: the reactor is idle when it lands
		})
	}},
	// Closing the last window quits a Fyne app.
	"last-window-closed": {arrange: func(s *run) {
		s.r.CallLater(100*time.Millisecond, s.w.Close)
	}},
	// The app quits while the reactor is flooded: a pass is queued or
	// running whenever Fyne drains its queue; none may run after.
	"app-quit-while-flooded": {arrange: func(s *run) {
		var spin func()
		spin = func() {
			s.check()
			s.r.CallLater(0, spin)
		}
		s.r.CallSoon(spin)
		go func() {
			for !s.ended.Load() {
				s.r.CallFromGoroutine(s.check)
				time.Sleep(50 * time.Microsecond)
			}
		}()
		go func() {
			time.Sleep(150 * time.Millisecond)
			fyne.Do(s.a.Quit)
		}()
	}},
	// The program sets its OnStopped hook after Start, replacing the one
	// Start chained: the pump finds the loop's end by itself.
	"hook-set-after-start": {hookFirst: true, arrange: func(s *run) {
		s.a.Lifecycle().SetOnStopped(s.hook)
		s.r.CallLater(100*time.Millisecond, func() { go fyne.Do(s.a.Quit) })
	}},
	// SIGTERM: Fyne quits the app and the reactor stops (both listen).
	"sigterm": {arrange: func(s *run) {
		s.r.CallLater(100*time.Millisecond, func() { syscall.Kill(syscall.Getpid(), syscall.SIGTERM) })
	}},
}

// TestAppStops runs each scenario in a child process and checks that the
// pump ended with the app, without Stop, leaving no goroutine or
// descriptor behind, and that the program's own OnStopped hook, if Fyne
// ran it, ran once, after the pump had ended.
func TestAppStops(t *testing.T) {
	names := make([]string, 0, len(scenarios))
	for name := range scenarios {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), scenarioEnv+"="+name)
			out, err := cmd.CombinedOutput()
			for _, line := range strings.Split(string(out), "\n") {
				if strings.HasPrefix(line, "scenario: ") {
					t.Log(strings.TrimPrefix(line, "scenario: "))
				}
			}
			if err != nil {
				t.Fatalf("%s: %v\n%s", name, err, out)
			}
		})
	}
}

// runScenario is the child's side of TestAppStops.
func runScenario(name string) int {
	sc, ok := scenarios[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "no scenario %q\n", name)
		return 2
	}
	if err := sc.play(); err != nil {
		fmt.Fprintf(os.Stderr, "scenario %s: %v\n", name, err)
		return 1
	}
	return 0
}

func (sc scenario) play() error {
	s := &run{mainG: fyneloop.Goid()}
	s.a = app.New()
	s.w = s.a.NewWindow("fyneloop scenario")
	s.w.SetContent(widget.NewLabel("scenario"))
	s.w.Show()
	hookRuns := 0
	pumpEndedFirst := false
	s.hook = func() {
		hookRuns++
		select {
		case <-s.p.Done():
			pumpEndedFirst = true
		default:
		}
	}
	s.a.Lifecycle().SetOnStopped(s.hook)
	fdsBefore := descriptors()
	goBefore := goleak.IgnoreCurrent()
	var err error
	if s.r, err = reactor.New(); err != nil {
		return err
	}
	if s.p, err = fyneloop.Start(s.a, s.r); err != nil {
		return err
	}
	firstPass := make(chan struct{})
	s.r.CallSoon(func() { s.check(); close(firstPass) })
	sc.arrange(s)
	s.a.Run()
	s.ended.Store(true)

	var errs []error
	select {
	case <-firstPass:
	default:
		errs = append(errs, errors.New("the reactor never ran"))
	}
	select {
	case <-s.p.Done():
	case <-time.After(5 * time.Second):
		errs = append(errs, errors.New("pump still running 5s after the app stopped"))
	}
	// Fyne 2.8.1 drops its OnStopped hook now and then (see frames.go):
	// then the pump finds the loop's end by itself.
	switch {
	case hookRuns == 0:
		fmt.Println("scenario: Fyne dropped its OnStopped hook; the pump found the loop's end by itself")
	case hookRuns > 1 || !pumpEndedFirst && !sc.hookFirst:
		errs = append(errs, fmt.Errorf("the program's OnStopped hook ran %d times, after the pump ended: %v", hookRuns, pumpEndedFirst))
	}
	if err := s.p.Stop(); err != nil {
		errs = append(errs, fmt.Errorf("Stop: %v", err))
	}
	if sc.reactorStops && !s.r.Stopped() {
		errs = append(errs, errors.New("the reactor did not stop"))
	}
	time.Sleep(50 * time.Millisecond) // a pass refused after the drain would show now
	if n := s.wrong.Load(); n > 0 {
		errs = append(errs, fmt.Errorf("%d callbacks ran off Fyne's goroutine or after the app ended", n))
	}
	if err := s.r.Close(); err != nil {
		errs = append(errs, fmt.Errorf("Close: %v", err))
	}
	// Fyne leaves goroutines of its own behind after Run: its SIGTERM
	// watcher (unless a SIGTERM came) and, at times, its settings file
	// watcher. Everything else must be gone.
	if err := goleak.Find(goBefore,
		goleak.IgnoreTopFunction("fyne.io/fyne/v2/internal/driver/glfw.(*gLDriver).catchTerm"),
		goleak.IgnoreTopFunction("fyne.io/fyne/v2/app.watchFile.func1"),
		goleak.IgnoreAnyFunction("github.com/fsnotify/fsnotify.(*inotify).readEvents"),
	); err != nil {
		errs = append(errs, err)
	}
	// The app closes some of its own as it ends (GLFW's); none may be new.
	var opened []string
	for _, fd := range descriptors() {
		if !slices.Contains(fdsBefore, fd) {
			opened = append(opened, fd)
		}
	}
	if len(opened) > 0 {
		errs = append(errs, fmt.Errorf("descriptors left open: %v (before the reactor: %v)", opened, fdsBefore))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	fmt.Println("scenario: the pump ended with the app, no goroutine or descriptor left")
	return nil
}

// check records a callback that runs where it must not.
func (s *run) check() {
	if fyneloop.Goid() != s.mainG || s.ended.Load() {
		s.wrong.Add(1)
	}
}

// descriptors lists the open descriptors of the kinds a pump and a
// reactor open (pipes, eventfds, epoll), as "kind:number".
func descriptors() []string {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil {
			continue
		}
		for _, kind := range []string{"pipe:", "anon_inode:[eventfd]", "anon_inode:[eventpoll]"} {
			if strings.HasPrefix(target, kind) {
				out = append(out, kind+e.Name())
			}
		}
	}
	slices.Sort(out)
	return out
}
