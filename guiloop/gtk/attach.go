package gtkloop

// #include <gtk/gtk.h>
// #include "source.h"
import "C"

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/cgo"
	"sync"
	"time"

	"github.com/loomkit/loom/reactor"
	"golang.org/x/sys/unix"
)

// ErrWrongThread is returned by Attach and Run called on a thread other
// than the process's main thread, or while another thread runs the GLib
// main context: they must be called on the GTK thread.
var ErrWrongThread = errors.New("gtkloop: not on the GTK thread; call on the main OS thread, locked with runtime.LockOSThread in an init function")

// ErrNotInitialized is returned by Run when GTK has no display yet.
var ErrNotInitialized = errors.New("gtkloop: GTK is not initialized; call gtk.Init before Run")

var (
	attachedMu sync.Mutex
	attached   = map[*reactor.Reactor]*source{}
)

// Attach drives r from GLib's default main context, the one gtk.Main and
// a GApplication's run iterate: from then on r's callbacks run on the GTK
// thread, between GTK's own events, for as long as that thread keeps
// running the loop. It is for a GTK program that keeps its gtk.Main (new
// programs call Run).
//
// When r stops (r.Stop), running modal dialogs are answered with
// gtk.RESPONSE_DELETE_EVENT, as if the user had closed them, and every
// gtk.Main the source runs in is quit, innermost first; with none, the
// default GApplication is quit (see OnStop). The stopped reactor is then
// left alone until detach.
//
// The host program keeps its signals: Attach turns off the reactor's stop
// on SIGINT and SIGTERM (reactor.SetStopOnInterrupt), so they end the
// program as they did before, unless the option HandleSignals asks for
// the reactor's graceful stop instead. Detach puts the setting back.
//
// Attaching a reactor that is attached already does nothing and returns
// the first attachment's detach, so an "activate" handler that runs again
// (a GApplication launched a second time) may call Attach each time.
//
// detach removes the source; it is idempotent, and a reactor that
// stopped is ready to run again after it. r.Close detaches r by itself
// (after running its Shutdown triggers, if the reactor was still live:
// a program quit with gtk.MainQuit). Attach and detach must be called on
// the GTK thread: the main OS thread, locked with runtime.LockOSThread
// from an init function; elsewhere Attach returns ErrWrongThread.
func Attach(r *reactor.Reactor, opts ...Option) (detach func(), err error) {
	cfg := newConfig(opts)
	s, err := attach(r, cfg, 0, true)
	if err != nil {
		return nil, err
	}
	return s.detach, nil
}

// Run drives r from gtk.Main until r stops, then returns: nil after
// r.Stop, or the error that made the reactor fail. It is for new
// programs: build the widgets, then call Run where gtk.Main would be
// called. GTK must be initialized (gtk.Init) by the caller, before any
// widget is created; Run says so with ErrNotInitialized.
//
// Run must be called on the GTK thread: the main OS thread, locked with
// runtime.LockOSThread from an init function. Stop ends every loop Run
// runs: modal dialogs running inside it are answered with
// gtk.RESPONSE_DELETE_EVENT (so their Run returns), any gtk.Main nested
// in it is quit, and then Run's own. SIGINT and SIGTERM stop the reactor
// that way unless it was made reactor.WithoutSignalHandlers; a second one
// while the stop is held up ends the process. Run can be called again
// once it has returned; it fails with ErrAttached if r is attached.
func Run(r *reactor.Reactor, opts ...Option) error {
	if C.loom_gtk_initialized() == 0 {
		return ErrNotInitialized
	}
	cfg := newConfig(opts)
	cfg.onStop = nil
	cfg.keepSignals = true
	attachedMu.Lock()
	_, busy := attached[r]
	attachedMu.Unlock()
	if busy {
		return ErrAttached
	}
	s, err := attach(r, cfg, mainLevel(), false)
	if err != nil {
		return err
	}
	s.running = true
	C.gtk_main()
	s.running = false
	err = s.err
	s.detach()
	return err
}

// nestedWithin is the reactor's nested-loop probe: whether a GLib
// iteration ran inside a dispatch within the last d.
func nestedWithin(d time.Duration) bool {
	return C.loom_nested_within(C.gint64(d/time.Microsecond)) != 0
}

// ErrAttached is returned by Run when the reactor is attached already.
var ErrAttached = errors.New("gtkloop: reactor already attached to the GTK main loop")

func attach(r *reactor.Reactor, cfg config, base int, quitApp bool) (*source, error) {
	if C.loom_context_is_ours() == 0 || unix.Gettid() != unix.Getpid() {
		return nil, ErrWrongThread
	}
	attachedMu.Lock()
	if s := attached[r]; s != nil {
		attachedMu.Unlock()
		return s, nil
	}
	attachedMu.Unlock()
	fd, err := r.BackendFD()
	if err != nil {
		return nil, fmt.Errorf("gtkloop: %w", err)
	}
	s := &source{r: r, cfg: cfg, fd: fd, base: base, quitApp: quitApp}
	s.handle = cgo.NewHandle(s)
	s.gs = C.loom_source_new(C.uintptr_t(s.handle), C.int(fd), C.int(cfg.priority))
	// The depth the loop's own dispatches run at: one deeper for Run's
	// gtk.Main, or for a program that attaches before its loop runs; the
	// depth of the handler that attaches, inside a running loop.
	if d := int(C.loom_main_depth()); !quitApp || d == 0 {
		s.baseDepth = d + 1
	} else {
		s.baseDepth = d
	}
	if !cfg.keepSignals && !cfg.handleSignals {
		s.restoreSignals = r.StopsOnInterrupt()
		r.SetStopOnInterrupt(false)
	} else if cfg.handleSignals {
		s.restoreSignals = r.StopsOnInterrupt()
		r.SetStopOnInterrupt(true)
	}
	s.signalsSet = !cfg.keepSignals
	if r.StopsOnInterrupt() {
		// The reactor subscribes to SIGINT and SIGTERM on its first
		// pass, and an idle program's source has no reason to run one:
		// have one at once, or the signal kills the process instead of
		// stopping the reactor.
		r.CallSoon(func() {})
	}
	r.SetNest(nest)
	r.SetSlowDefault(reactor.FrameThreshold) // a slow callback is a missed frame
	r.SetNestedLoopProbe(nestedWithin)
	if os.Getenv("LOOM_INSPECT") == "1" {
		// A program's inspector, without a rebuild.
		r.CallSoon(func() {
			if _, err := Inspect(r); err != nil {
				slog.Warn("gtkloop: LOOM_INSPECT=1, but the inspector did not open", "error", err)
			}
		})
	}
	s.unhook = r.OnClose(s.closing)
	attachedMu.Lock()
	attached[r] = s
	attachedMu.Unlock()
	return s, nil
}

// detach removes the source from the main context and, if the reactor
// stopped, ends its run so that it can run again (as reactor.Run does
// when it returns).
func (s *source) detach() {
	if s.detached {
		return
	}
	s.detached = true
	s.free()
	attachedMu.Lock()
	delete(attached, s.r)
	attachedMu.Unlock()
	if s.unhook != nil {
		s.unhook()
	}
	if s.signalsSet && !s.r.Closed() {
		s.r.SetStopOnInterrupt(s.restoreSignals)
	}
	s.r.SetNestedLoopProbe(nil)
	if s.r.Stopped() {
		s.r.EndRun()
	}
}

// closing is the reactor's OnClose hook: Close detaches the source, and
// ends Run's gtk.Main if it is running (Run then returns ErrClosed).
func (s *source) closing() {
	s.unhook = nil
	if s.running && s.err == nil {
		s.err = fmt.Errorf("gtkloop: %w", reactor.ErrClosed)
		if mainLevel() > s.base {
			C.loom_gtk_main_quit()
		}
	}
	s.detach()
}

// nest runs f one cgo callback deeper (through C), for the reactor's Close
// called after gtk.Main has returned: coroutines made in the main loop's
// dispatches can only be ended at that depth (reactor.SetNest).
func nest(f func()) {
	h := cgo.NewHandle(f)
	defer h.Delete()
	C.loom_nest(C.uintptr_t(h))
}

//export loomNest
func loomNest(h C.uintptr_t) {
	defer func() {
		if v := recover(); v != nil {
			logPanic("nest", v)
		}
	}()
	cgo.Handle(h).Value().(func())()
}
