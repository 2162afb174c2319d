package gtkloop_test

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gotk3/gotk3/glib"
	"github.com/gotk3/gotk3/gtk"
	gtkloop "github.com/loomkit/loom/guiloop/gtk"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"golang.org/x/sys/unix"
)

func TestCallbacksRunOnTheGTKThread(t *testing.T) {
	reactortest.CheckLeaks(t)
	for _, backend := range reactor.Backends() {
		t.Run(backend, func(t *testing.T) {
			r := newReactor(t, reactor.WithBackend(backend))
			rd, wr := reactortest.Pipe(t)
			tids := map[string]int{}
			ok(t, r.AddReader(rd, func() {
				var b [8]byte
				unix.Read(rd, b[:])
				r.RemoveReader(rd)
				tids["reader"] = unix.Gettid()
				r.CallSoon(func() { tids["soon"] = unix.Gettid() })
				r.CallLater(10*time.Millisecond, func() { tids["timer"] = unix.Gettid(); r.Stop() })
			}))
			r.CallSoon(func() {
				go func() {
					r.CallFromGoroutine(func() {
						tids["goroutine"] = unix.Gettid()
						unix.Write(wr, []byte("x"))
					})
				}()
			})
			ok(t, onMainRun(r))
			if len(tids) != 4 {
				t.Fatalf("callbacks ran: %v", tids)
			}
			for what, tid := range tids {
				if tid != mainTid {
					t.Errorf("%s callback ran on thread %d, GTK's is %d", what, tid, mainTid)
				}
			}
		})
	}
}

// onMainRun runs gtkloop.Run(r) on the GTK thread and waits for it.
func onMainRun(r *reactor.Reactor, opts ...gtkloop.Option) error {
	var err error
	onMain(func() { err = gtkloop.Run(r, opts...) })
	return err
}

// cpuTime is the process's user and system time.
func cpuTime() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestCallFromGoroutineWakesAnIdleGTKLoop(t *testing.T) {
	reactortest.CheckLeaks(t)
	for _, backend := range reactor.Backends() {
		t.Run(backend, func(t *testing.T) {
			r := newReactor(t, reactor.WithBackend(backend))
			const idle = 300 * time.Millisecond
			var cpu time.Duration
			var posted, ran atomic.Int64
			r.CallSoon(func() {
				go func() {
					before := cpuTime()
					time.Sleep(idle)
					cpu = cpuTime() - before
					posted.Store(time.Now().UnixNano())
					r.CallFromGoroutine(func() {
						ran.Store(time.Now().UnixNano())
						r.Stop()
					})
				}()
			})
			ok(t, onMainRun(r))
			if ran.Load() == 0 {
				t.Fatal("the call never ran")
			}
			if d := time.Duration(ran.Load() - posted.Load()); d > 500*time.Millisecond {
				t.Errorf("the call ran %v after it was posted", d)
			}
			// An idle loop sleeps in poll: a spinning one would burn the
			// whole idle time.
			if cpu > idle/4 {
				t.Errorf("idle GTK loop with an attached reactor used %v of CPU in %v", cpu, idle)
			}
		})
	}
}

func TestRunStopBeforeRunAndRunAgain(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	r.Stop()
	ran := false
	r.CallSoon(func() { ran = true })
	ok(t, onMainRun(r))
	if ran {
		t.Error("a reactor stopped before Run ran a pass")
	}
	// Run can run it again, twice.
	for i := range 2 {
		fired := false
		r.CallLater(5*time.Millisecond, func() { fired = true; r.Stop() })
		ok(t, onMainRun(r))
		if !fired {
			t.Errorf("run %d: the timer did not fire", i)
		}
	}
	// And so can the reactor's own Run.
	r.CallSoon(r.Stop)
	ok(t, r.Run(t.Context()))
}

func TestAttachErrors(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	onMain(func() {
		detach, err := gtkloop.Attach(r)
		if err != nil {
			t.Error(err)
			return
		}
		// Attaching again (an "activate" handler run a second time) is
		// harmless: the first attachment stays, its detach comes back.
		again, err := gtkloop.Attach(r)
		if err != nil {
			t.Errorf("second Attach: %v", err)
		}
		if err := gtkloop.Run(r); !errors.Is(err, gtkloop.ErrAttached) {
			t.Errorf("Run of an attached reactor: %v, want ErrAttached", err)
		}
		if again != nil {
			again() // the first attachment's detach
		}
		detach()
		detach, err = gtkloop.Attach(r)
		if err != nil {
			t.Errorf("Attach after detach: %v", err)
			return
		}
		detach()
	})
	// From another thread while GTK's loop runs.
	var err error
	r.CallSoon(func() {
		done := make(chan struct{})
		other := newReactor(t)
		go func() {
			_, err = gtkloop.Attach(other)
			close(done)
		}()
		<-done // GTK's thread owns the context meanwhile
		r.Stop()
	})
	ok(t, onMainRun(r))
	if !errors.Is(err, gtkloop.ErrWrongThread) {
		t.Errorf("Attach from another thread: %v, want ErrWrongThread", err)
	}
	// A closed reactor.
	closed, _ := reactor.New()
	closed.Close()
	onMain(func() {
		if _, err := gtkloop.Attach(closed); !errors.Is(err, reactor.ErrClosed) {
			t.Errorf("Attach(closed reactor): %v", err)
		}
	})
}

func TestStopQuitsNestedMainLoops(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	var got []string
	r.CallSoon(func() {
		got = append(got, "outer")
		r.CallLater(10*time.Millisecond, func() {
			got = append(got, "inner")
			r.CallLater(10*time.Millisecond, func() { got = append(got, "stop"); r.Stop() })
			gtk.Main() // a nested loop inside a reactor callback
			got = append(got, "inner returned")
		})
	})
	ok(t, onMainRun(r))
	want := []string{"outer", "inner", "stop", "inner returned"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	onMain(func() {
		if l := gtkloop.MainLevel(); l != 0 {
			t.Errorf("gtk_main_level %d after Run", l)
		}
	})
}

func TestAttachQuitsTheProgramsMain(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	stops := 0
	onMain(func() {
		detach, err := gtkloop.Attach(r, gtkloop.OnStop(func() { stops++ }))
		if err != nil {
			t.Error(err)
			return
		}
		defer detach()
		r.CallLater(10*time.Millisecond, r.Stop)
		gtk.Main() // returns when the reactor stops
	})
	if stops != 0 {
		t.Errorf("OnStop ran %d times for a program that runs gtk.Main", stops)
	}
}

func TestAttachOnStopEndsAnotherLoop(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	stops := 0
	onMain(func() {
		detach, err := gtkloop.Attach(r, gtkloop.OnStop(func() { stops++ }))
		if err != nil {
			t.Error(err)
			return
		}
		defer detach()
		r.CallLater(10*time.Millisecond, r.Stop)
		// A loop of the program's own, not gtk.Main.
		ctx := glib.MainContextDefault()
		deadline := time.Now().Add(10 * time.Second)
		for stops == 0 && time.Now().Before(deadline) {
			ctx.Iteration(true)
		}
		for range 5 {
			ctx.Iteration(false) // a stopped reactor leaves the loop alone
		}
	})
	if stops != 1 {
		t.Errorf("OnStop ran %d times, want 1", stops)
	}
}

func TestAttachToAGApplication(t *testing.T) {
	// GApplication opens GLib's process-wide descriptors on first use:
	// count after they exist.
	onMain(func() {
		app, err := gtk.ApplicationNew("org.loomkit.gtkloop.warmup", glib.APPLICATION_NON_UNIQUE)
		if err != nil {
			t.Error(err)
			return
		}
		app.Connect("activate", func() { app.Quit() })
		app.Run(nil)
	})
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	var activated, timer bool
	var status int
	onMain(func() {
		app, err := gtk.ApplicationNew("org.loomkit.gtkloop.test", glib.APPLICATION_NON_UNIQUE)
		if err != nil {
			t.Error(err)
			return
		}
		app.Connect("activate", func() {
			activated = true
			win, err := gtk.ApplicationWindowNew(app)
			if err != nil {
				t.Error(err)
				return
			}
			win.SetTitle("gtkloop application")
			win.ShowAll()
		})
		// The default application is the first one created: the warm-up's,
		// unless this one says otherwise.
		app.SetDefault()
		detach, err := gtkloop.Attach(r)
		if err != nil {
			t.Error(err)
			return
		}
		defer detach()
		r.CallLater(50*time.Millisecond, func() {
			timer = unix.Gettid() == mainTid
			r.Stop() // quits the application
		})
		status = app.Run(nil)
	})
	if !activated || !timer || status != 0 {
		t.Errorf("activated %v, timer on the GTK thread %v, status %d", activated, timer, status)
	}
}

func TestDetachInsideACallback(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	after := 0
	onMain(func() {
		detach, err := gtkloop.Attach(r)
		if err != nil {
			t.Error(err)
			return
		}
		r.CallSoon(func() {
			detach()
			r.CallSoon(func() { after++ })
			// The source is gone: GTK's loop goes on alone.
			glib.TimeoutAdd(30, func() { gtk.MainQuit() })
		})
		gtk.Main()
	})
	if after != 0 {
		t.Errorf("a call ran %d times after detach", after)
	}
	ok(t, r.RunOnce(0))
	if after != 1 {
		t.Errorf("the reactor did not run the call after detach")
	}
}

func TestPanicOutsideCallbacksIsRecovered(t *testing.T) {
	reactortest.CheckLeaks(t)
	var mu sync.Mutex
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&lockedBuffer{&mu, &buf}, nil)))
	defer slog.SetDefault(old)
	r := newReactor(t)
	later := false
	onMain(func() {
		detach, err := gtkloop.Attach(r, gtkloop.OnStop(func() { panic("boom in OnStop") }))
		if err != nil {
			t.Error(err)
			return
		}
		defer detach()
		r.CallSoon(r.Stop)
		// The panic must not unwind through GLib: the loop goes on.
		glib.TimeoutAdd(30, func() { later = true })
		ctx := glib.MainContextDefault()
		for deadline := time.Now().Add(5 * time.Second); !later && time.Now().Before(deadline); {
			ctx.Iteration(true)
		}
	})
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if !later {
		t.Error("GLib's loop did not go on after the panic")
	}
	if !strings.Contains(out, "boom in OnStop") || !strings.Contains(out, "thread_test.go") {
		t.Errorf("log lacks the panic and its stack:\n%s", out)
	}
}

type lockedBuffer struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func TestRunBeforeGTKInitSaysSo(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=run-before-init")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Run: "+gtkloop.ErrNotInitialized.Error()+" true") {
		t.Errorf("child: %v\n%s", err, out)
	}
}
