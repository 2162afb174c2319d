package fyneloop_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
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

	"github.com/loomkit/loom/deferred"
	fyneloop "github.com/loomkit/loom/guiloop/fyne"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/task"
)

// A scenario runs one app from start to end in a process of its own (an
// app runs once per process), on the main goroutine, and reports what
// went wrong.
const scenarioEnv = "FYNELOOP_SCENARIO"

type scenario struct {
	// arrange sets up how the app or the reactor will stop, once the
	// app runs.
	arrange func(s *run)
	// reactorStops says whether the reactor itself stops (reactor.Stop),
	// rather than by Close after the app quits.
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

	hook      func() // the program's OnStopped hook
	hookRuns  atomic.Int64
	hookEarly atomic.Bool // the hook ran before the pump had ended

	stopped  atomic.Bool   // the reactor's Shutdown triggers ran
	returned chan struct{} // closed when a.Run has returned
	closed   chan struct{} // closed when main has closed the reactor after a.Run
	closeErr error

	// Work in flight when the app quits, which Close must end.
	coroutine *deferred.Promise[any]
	task      *task.CooperativeTask
	taskErr   atomic.Value
	jobEnded  chan struct{}
	firstPass chan struct{}
	fdsBefore []string
	goBefore  goleak.Option
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
			// Under the race detector, a race inside Fyne's own shutdown
			// must not fail the child: races are judged below.
			cmd.Env = append(os.Environ(), scenarioEnv+"="+name, "GORACE="+os.Getenv("GORACE")+" exitcode=0")
			cmd.WaitDelay = time.Second
			timer := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
			out, err := cmd.CombinedOutput()
			timer.Stop()
			checkRaces(t, string(out))
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

// runScenario is the child's side of TestAppStops. It does not return
// once the app runs: the checks run on a goroutine of their own, which
// exits the process, so that they happen even if Fyne hangs as it ends
// (see verify).
func runScenario(name string) int {
	sc, ok := scenarios[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "no scenario %q\n", name)
		return 2
	}
	s := &run{mainG: fyneloop.Goid(), returned: make(chan struct{}), closed: make(chan struct{}), jobEnded: make(chan struct{})}
	s.a = app.New()
	s.w = s.a.NewWindow("fyneloop scenario")
	s.w.SetContent(widget.NewLabel("scenario"))
	s.w.Show()
	s.hook = func() {
		s.hookRuns.Add(1)
		select {
		case <-s.p.Done():
		default:
			s.hookEarly.Store(true)
		}
	}
	s.a.Lifecycle().SetOnStopped(s.hook)
	s.fdsBefore = descriptors()
	s.goBefore = goleak.IgnoreCurrent()
	var err error
	if s.r, err = reactor.New(); err == nil {
		s.p, err = fyneloop.Start(s.a, s.r)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "scenario %s: %v\n", name, err)
		return 1
	}
	s.firstPass = make(chan struct{})
	s.r.AddSystemEventTrigger(reactor.After, reactor.Shutdown, func() *deferred.Deferred {
		s.stopped.Store(true)
		return nil
	})
	s.r.CallSoon(func() { s.check(); close(s.firstPass) })
	s.r.CallSoon(func() { s.inFlight() })
	sc.arrange(s)
	go func() {
		if err := s.verify(sc); err != nil {
			fmt.Fprintf(os.Stderr, "scenario %s: %v\n", name, err)
			os.Exit(1)
		}
		fmt.Println("scenario: the pump ended with the app, no goroutine or descriptor left")
		os.Exit(0)
	}()
	s.a.Run()
	s.ended.Store(true)
	close(s.returned)
	// As a program does after a.Run: stop the pump, close the reactor,
	// here on Fyne's goroutine, where its coroutines were made.
	if err := s.p.Stop(); err != nil {
		s.closeErr = err
	}
	if err := s.r.Close(); err != nil && s.closeErr == nil {
		s.closeErr = err
	}
	close(s.closed)
	select {} // verify ends the process
}

// inFlight starts work that is still going when the app quits: a
// coroutine waiting for what never comes, a cooperative task that never
// ends, and goroutine work that waits for its context.
func (s *run) inFlight() {
	s.coroutine = deferred.Async(s.r, func(co *deferred.Co) (any, error) {
		return deferred.Await(co, deferred.New())
	})
	c := task.NewCooperator(s.r)
	s.task = c.Cooperate(func(yield func(any) bool) {
		for yield(nil) {
			time.Sleep(time.Millisecond)
		}
	})
	s.task.WhenDone().AddErrback(func(err error) any { s.taskErr.Store(err); return nil })
	s.r.DeferToGoroutine(func(ctx context.Context) (any, error) {
		<-ctx.Done()
		close(s.jobEnded)
		return nil, ctx.Err()
	}).AddErrback(func(error) any { return nil })
}

// verify checks, once the app has stopped, that the pump ended with it.
func (s *run) verify(sc scenario) error {
	var errs []error
	select {
	case <-s.p.Done():
	case <-time.After(10 * time.Second):
		return errors.New("pump still running 10s after the start")
	}
	select {
	case <-s.returned:
	case <-time.After(5 * time.Second):
		// Fyne 2.8.1's shutdown can hang: its lifecycle goroutine posts
		// the OnStopped hook to the main queue while the queue closes, and
		// then waits for it forever (WaitForEvents with it). The pump must
		// have ended all the same.
		if !fyneShutdownHung() {
			return errors.New("the app did not stop")
		}
		fmt.Println("scenario: Fyne hung in its own shutdown (its lifecycle goroutine waits on its closed queue); the pump had ended")
	}
	select {
	case <-s.firstPass:
	default:
		errs = append(errs, errors.New("the reactor never ran"))
	}
	// Fyne 2.8.1 drops its OnStopped hook now and then (see frames.go):
	// then the pump finds the loop's end by itself.
	switch n := s.hookRuns.Load(); {
	case n == 0:
		fmt.Println("scenario: Fyne dropped its OnStopped hook; the pump found the loop's end by itself")
	case n > 1 || s.hookEarly.Load() && !sc.hookFirst:
		errs = append(errs, fmt.Errorf("the program's OnStopped hook ran %d times, before the pump ended: %v", n, s.hookEarly.Load()))
	}
	time.Sleep(50 * time.Millisecond) // a pass refused after the drain would show now
	if n := s.wrong.Load(); n > 0 {
		errs = append(errs, fmt.Errorf("%d callbacks ran off Fyne's goroutine or after the app ended", n))
	}
	hung := false
	select {
	case <-s.closed:
		if s.closeErr != nil {
			errs = append(errs, fmt.Errorf("Stop or Close: %v", s.closeErr))
		}
	case <-time.After(5 * time.Second):
		// Fyne hung as it ended (above): a.Run never returned, so close
		// here, off Fyne's goroutine, where coroutines cannot be ended.
		hung = true
		if err := s.p.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("Stop: %v", err))
		}
		if err := s.r.Close(); err != nil {
			errs = append(errs, fmt.Errorf("Close: %v", err))
		}
	}
	// Whatever the path, quitting stopped the reactor: its Shutdown
	// triggers ran, and its work in flight ended.
	if !s.stopped.Load() {
		errs = append(errs, errors.New("the reactor's Shutdown triggers did not run"))
	}
	select {
	case <-s.jobEnded:
	case <-time.After(5 * time.Second):
		errs = append(errs, errors.New("goroutine work still running after Close"))
	}
	if err, _ := s.taskErr.Load().(error); !errors.Is(err, task.ErrCooperatorStopped) {
		errs = append(errs, fmt.Errorf("the cooperative task ended with %v, want ErrCooperatorStopped", err))
	}
	if !hung {
		if c := s.coroutine; c == nil || !c.Settled() {
			errs = append(errs, errors.New("the coroutine is still waiting after Close"))
		}
	} else {
		fmt.Println("scenario: Fyne hung, Close ran off its goroutine: coroutines left parked, as documented")
	}
	extra := []goleak.Option{}
	if hung {
		extra = append(extra, goleak.IgnoreAnyFunction("iter.Pull[...].func1"), goleak.IgnoreTopFunction("runtime.coroswitch"))
	}
	// Fyne leaves goroutines of its own behind after Run: its SIGTERM
	// watcher (unless a SIGTERM came), at times its settings file
	// watcher, and its lifecycle goroutine when its shutdown hung.
	// Everything else must be gone.
	if err := goleak.Find(append(extra, s.goBefore,
		goleak.IgnoreCurrent(),
		goleak.IgnoreTopFunction("fyne.io/fyne/v2/internal/driver/glfw.(*gLDriver).catchTerm"),
		goleak.IgnoreTopFunction("fyne.io/fyne/v2/app.watchFile.func1"),
		goleak.IgnoreAnyFunction("github.com/fsnotify/fsnotify.(*inotify).readEvents"),
		goleak.IgnoreAnyFunction("fyne.io/fyne/v2/internal/app.(*Lifecycle).RunEventQueue"),
	)...); err != nil {
		errs = append(errs, err)
	}
	// The app closes some of its own as it ends (GLFW's); none may be new.
	var opened []string
	for _, fd := range descriptors() {
		if !slices.Contains(s.fdsBefore, fd) {
			opened = append(opened, fd)
		}
	}
	if len(opened) > 0 {
		errs = append(errs, fmt.Errorf("descriptors left open: %v (before the reactor: %v)", opened, s.fdsBefore))
	}
	return errors.Join(errs...)
}

// fyneShutdownHung reports whether Fyne's lifecycle goroutine is stuck
// waiting for a call on its main queue.
func fyneShutdownHung() bool {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "(*Lifecycle).RunEventQueue") && strings.Contains(g, "runOnMainWithWait") {
			return true
		}
	}
	return false
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

// checkRaces fails t for each data race report in out that involves loom
// code, and logs those wholly inside Fyne (its shutdown: the lifecycle
// goroutine posts to the main queue while it closes).
func checkRaces(t *testing.T, out string) {
	t.Helper()
	reports := strings.Split(out, "WARNING: DATA RACE")
	for _, r := range reports[1:] {
		r, _, _ = strings.Cut(r, "==================")
		access, _, _ := strings.Cut(r, "created at:") // the two accesses, not who started the goroutines
		if strings.Contains(access, "github.com/loomkit/loom/guiloop/fyne.") || strings.Contains(access, "github.com/loomkit/loom/reactor") {
			t.Errorf("data race involving loom:%s", r)
			continue
		}
		first, _, _ := strings.Cut(strings.TrimSpace(r), "\n")
		t.Logf("a data race inside Fyne itself, not loom's: %s ...", first)
	}
}
