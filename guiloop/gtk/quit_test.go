package gtkloop_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gotk3/gotk3/glib"
	"github.com/gotk3/gotk3/gtk"
	"go.uber.org/goleak"

	"github.com/loomkit/loom/deferred"
	gtkloop "github.com/loomkit/loom/guiloop/gtk"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/task"
)

// Quitting a GTK program by any path (gtk.MainQuit, SIGTERM, a
// gtk.Application's Quit, its last window closed), then closing its
// reactor as the program does after its loop returns, runs the reactor's Shutdown
// triggers, ends a coroutine, a cooperative task and goroutine work that
// were in flight, and leaves no goroutine or descriptor of loom's: each
// path in a process of its own.
func TestQuitPathsEndEverything(t *testing.T) {
	for _, path := range []string{"gtk-main-quit", "sigterm", "app-quit", "last-window-closed"} {
		t.Run(path, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childEnv+"=quit-"+path, "GORACE=atexit_sleep_ms=0")
			timer := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
			out, err := cmd.CombinedOutput()
			timer.Stop()
			if err != nil || !strings.Contains(string(out), "quit: everything ended") {
				t.Errorf("%v\n%s", err, out)
			}
		})
	}
}

func init() {
	for _, path := range []string{"gtk-main-quit", "sigterm", "app-quit", "last-window-closed"} {
		children["quit-"+path] = func() { quitChild(path) }
	}
}

// inFlight is work still going when a program quits.
type inFlight struct {
	shutdown  bool
	coroutine *deferred.Promise[any]
	taskErr   error
	jobEnded  chan struct{}
}

func startInFlight(r *reactor.Reactor) *inFlight {
	w := &inFlight{jobEnded: make(chan struct{})}
	r.AddSystemEventTrigger(reactor.After, reactor.Shutdown, func() *deferred.Deferred {
		w.shutdown = true
		return nil
	})
	r.CallSoon(func() {
		w.coroutine = deferred.Async(r, func(co *deferred.Co) (any, error) {
			return deferred.Await(co, deferred.New()) // never comes
		})
		c := task.NewCooperator(r)
		c.Cooperate(func(yield func(any) bool) {
			for yield(nil) {
				time.Sleep(time.Millisecond)
			}
		}).WhenDone().AddErrback(func(err error) any { w.taskErr = err; return nil })
		r.DeferToGoroutine(func(ctx context.Context) (any, error) {
			<-ctx.Done()
			close(w.jobEnded)
			return nil, ctx.Err()
		}).AddErrback(func(error) any { return nil })
	})
	return w
}

func (w *inFlight) check() error {
	var errs []error
	if !w.shutdown {
		errs = append(errs, errors.New("the Shutdown triggers did not run"))
	}
	if w.coroutine == nil || !w.coroutine.Settled() {
		errs = append(errs, errors.New("the coroutine is still waiting"))
	}
	if !errors.Is(w.taskErr, task.ErrCooperatorStopped) {
		errs = append(errs, fmt.Errorf("the cooperative task ended with %v", w.taskErr))
	}
	select {
	case <-w.jobEnded:
	case <-time.After(5 * time.Second):
		errs = append(errs, errors.New("the goroutine work still runs"))
	}
	return errors.Join(errs...)
}

func quitChild(path string) {
	// GTK and GLib open what they keep for the process's life first.
	warm, _ := gtk.WindowNew(gtk.WINDOW_TOPLEVEL)
	warm.ShowAll()
	for gtk.EventsPending() {
		gtk.MainIteration()
	}
	warm.Destroy()
	for gtk.EventsPending() {
		gtk.MainIteration()
	}
	// GApplication opens GLib's process-wide descriptors on first use.
	if app, err := gtk.ApplicationNew("org.loomkit.gtkloop.warm", glib.APPLICATION_NON_UNIQUE); err == nil {
		app.Connect("activate", func() { app.Quit() })
		app.Run(nil)
	}
	// Go's runtime netpoller opens its own descriptors on first use.
	if pr, pw, err := os.Pipe(); err == nil {
		pr.Close()
		pw.Close()
	}
	fdsBefore := reactortest.OpenFDs(fakeTB{})
	before := fdList()
	leakOpt := goleak.IgnoreCurrent()

	r, err := reactor.New()
	if err != nil {
		panic(err)
	}
	w := startInFlight(r)
	var opts []gtkloop.Option
	if path == "sigterm" {
		opts = append(opts, gtkloop.HandleSignals())
	}
	later := func(f func()) { r.CallLater(100*time.Millisecond, f) }
	switch path {
	case "gtk-main-quit", "sigterm":
		if _, err := gtkloop.Attach(r, opts...); err != nil {
			panic(err)
		}
		win, _ := gtk.WindowNew(gtk.WINDOW_TOPLEVEL)
		win.Connect("destroy", gtk.MainQuit)
		win.ShowAll()
		if path == "sigterm" {
			later(func() { syscall.Kill(syscall.Getpid(), syscall.SIGTERM) })
		} else {
			later(gtk.MainQuit) // on the GTK thread: a reactor callback
		}
		gtk.Main()
	case "app-quit", "last-window-closed":
		app, err := gtk.ApplicationNew("org.loomkit.gtkloop.quit", glib.APPLICATION_NON_UNIQUE)
		if err != nil {
			panic(err)
		}
		app.Connect("activate", func() {
			if _, err := gtkloop.Attach(r); err != nil {
				panic(err)
			}
			win, _ := gtk.ApplicationWindowNew(app)
			win.ShowAll()
			if path == "app-quit" {
				later(app.Quit)
			} else {
				later(win.Close) // as the user closing it
			}
		})
		app.Run(nil)
	}
	if err := r.Close(); err != nil {
		fmt.Println("Close:", err)
		os.Exit(1)
	}
	errs := []error{w.check()}
	if err := goleak.Find(leakOpt); err != nil {
		errs = append(errs, err)
	}
	fdsAfter := reactortest.OpenFDs(fakeTB{})
	for wait := time.Millisecond; fdsAfter > fdsBefore && wait < time.Second; wait *= 2 {
		time.Sleep(wait)
		fdsAfter = reactortest.OpenFDs(fakeTB{})
	}
	if fdsAfter > fdsBefore {
		errs = append(errs, fmt.Errorf("descriptors: %d before the reactor, %d after Close: %v, was %v", fdsBefore, fdsAfter, fdList(), before))
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Println("quit:", err)
		os.Exit(1)
	}
	fmt.Println("quit: everything ended")
}

// fakeTB lets a child scenario use helpers that take a testing.TB.
type fakeTB struct{ testing.TB }

func (fakeTB) Helper()          {}
func (fakeTB) Skip(args ...any) { panic(fmt.Sprint(args...)) }

// fdList names the process's open descriptors.
func fdList() []string {
	ents, _ := os.ReadDir("/proc/self/fd")
	var out []string
	for _, e := range ents {
		l, _ := os.Readlink("/proc/self/fd/" + e.Name())
		out = append(out, e.Name()+":"+l)
	}
	return out
}
