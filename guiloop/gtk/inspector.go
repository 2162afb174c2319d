package gtkloop

// #include "source.h"
import "C"

import (
	"errors"
	"fmt"
	"time"

	"github.com/gotk3/gotk3/glib"
	"github.com/loomkit/loom/reactor"
	"golang.org/x/sys/unix"
)

// inspectorTitle is the inspector window's title.
const inspectorTitle = "loom inspector"

// inspectorPeriod is how often an open inspector reads the reactor again.
const inspectorPeriod = 250 * time.Millisecond

// inspectors holds the open inspector of each reactor. Only the GTK
// thread touches it.
var inspectors = map[*reactor.Reactor]*inspector{}

// Inspect opens a window titled "loom inspector" that shows, for a
// developer, what r is doing, read again four times a second by a timer
// on r while the window is open:
//
//   - its counters (passes and callbacks, with their rates per second,
//     callbacks by kind, panics, slow callbacks) and gauges (watched
//     descriptors, pending timers, queued calls);
//   - the pass time and the timers' lag: count, mean, p50, p99 and max,
//     and a drawing of the histogram's buckets on a log scale, with a
//     mark at one frame (reactor.FrameThreshold);
//   - the latest slow callbacks (reactor.SlowCallbacks), the slowest
//     first, each with its duration, kind, function, the line that
//     registered it and, for a coroutine, the Await it ran to;
//   - the watched descriptors: what each one is (a socket, a pipe, a
//     file's path, as /proc/self/fd names it on Linux) and the functions
//     reading and writing it.
//
// While the window is open the reactor records its pass times
// (r.TimePasses), and slow-callback detection is on
// (r.HoldSlowCallbacks: the program's threshold, or the default,
// FrameThreshold under a GUI loop); when the window closes, detection is
// as the program set it. Closing, by the returned close or by the
// window's own close button, stops the timer and the recording, so that
// a closed inspector costs the loop nothing. Closing r closes its
// inspector too. close is idempotent. The figures are read in the
// inspector's timer, which is so not among the pending timers shown,
// though its runs are counted with the timers and callbacks.
//
// A reactor has one inspector: Inspect on a reactor whose inspector is
// open brings that window to the front and returns its close. Inspect
// and close must be called on the GTK thread (elsewhere Inspect returns
// ErrWrongThread), for a reactor that gtkloop drives (Run or Attach) or
// is about to: the timer updates the window, so it must run there too.
// Inspect fails for a nil or closed reactor, and with ErrNotInitialized
// before gtk.Init.
func Inspect(r *reactor.Reactor) (close func(), err error) {
	if r == nil {
		return nil, errors.New("gtkloop: Inspect of a nil reactor")
	}
	if !onGTKThread() {
		return nil, ErrWrongThread
	}
	if C.loom_gtk_initialized() == 0 {
		return nil, ErrNotInitialized
	}
	if r.Closed() {
		return nil, fmt.Errorf("gtkloop: Inspect: %w", reactor.ErrClosed)
	}
	if in := inspectors[r]; in != nil {
		in.win.Present()
		return in.close, nil
	}
	in := &inspector{r: r}
	if err := in.build(); err != nil {
		return nil, fmt.Errorf("gtkloop: Inspect: %w", err)
	}
	in.releaseSlow = r.HoldSlowCallbacks()
	in.stopTiming = r.TimePasses()
	in.unhook = r.OnClose(in.close)
	inspectors[r] = in
	in.win.Connect("destroy", in.close)
	in.update()
	in.timer = r.CallLater(inspectorPeriod, in.tick)
	in.win.ShowAll()
	return in.close, nil
}

// onGTKThread reports whether the caller is on the GTK thread: the main
// OS thread, while no other thread runs the default main context.
func onGTKThread() bool {
	return unix.Gettid() == unix.Getpid() && C.loom_context_is_ours() != 0
}

// inspector is one open inspector window. Its methods run on the GTK
// thread, but for close, which r.Close may call elsewhere.
type inspector struct {
	r     *reactor.Reactor
	timer *reactor.DelayedCall // the next tick; nil while one runs

	releaseSlow func() // the hold on slow-callback detection
	stopTiming  func() // ends r.TimePasses
	unhook      func() // removes the OnClose hook
	closed      bool

	last   reactor.Stats // what the last update showed, for the rates
	lastAt time.Time     // when it read them, on r's clock
	ticks  int           // updates run by the timer

	view // the window and the widgets that show the figures
}

// tick is the timer's callback: it updates the window and comes back
// one period later, until the inspector closes.
func (in *inspector) tick() {
	in.timer = nil
	if in.closed {
		return
	}
	in.ticks++
	in.update()
	in.timer = in.r.CallLater(inspectorPeriod, in.tick)
}

// update reads the reactor and shows what it read.
func (in *inspector) update() {
	s, now := in.r.Stats(), in.r.Now()
	var dt time.Duration
	if !in.lastAt.IsZero() {
		dt = now.Sub(in.lastAt)
	}
	in.show(s, in.last, dt, in.r.SlowThreshold(), in.r.SlowCallbacks(), in.r.Descriptors())
	in.last, in.lastAt = s, now
}

// close stops what the inspector asked of the reactor and destroys its
// window. It is the returned close, the window's "destroy" handler and
// the reactor's OnClose hook; only the last may run off the GTK thread
// (a reactor closed on another goroutine), which then destroys the
// window from the GTK thread's next iteration.
func (in *inspector) close() {
	if in.closed {
		return
	}
	in.closed = true
	if in.timer != nil {
		in.timer.Cancel()
		in.timer = nil
	}
	in.stopTiming()
	in.releaseSlow()
	in.unhook()
	if onGTKThread() {
		in.dismiss()
	} else {
		glib.IdleAdd(in.dismiss)
	}
}

// dismiss forgets the inspector and destroys its window; GTK thread.
func (in *inspector) dismiss() {
	if inspectors[in.r] == in {
		delete(inspectors, in.r)
	}
	if !in.win.InDestruction() {
		in.win.Destroy()
	}
}
