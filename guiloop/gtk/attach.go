package gtkloop

// #include <gtk/gtk.h>
// #include "source.h"
import "C"

import (
	"errors"
	"fmt"
	"runtime/cgo"
	"sync"

	"github.com/loomkit/loom/reactor"
)

// ErrWrongThread is returned by Attach and Run when another thread is
// running the GLib main context: they must be called on the GTK thread.
var ErrWrongThread = errors.New("gtkloop: the default main context belongs to another thread; call on the GTK thread")

// ErrNotInitialized is returned by Run when GTK has no display yet.
var ErrNotInitialized = errors.New("gtkloop: GTK is not initialized; call gtk.Init before Run")

// ErrAttached is returned when the reactor is already attached.
var ErrAttached = errors.New("gtkloop: reactor already attached to the GTK main loop")

var (
	attachedMu sync.Mutex
	attached   = map[*reactor.Reactor]bool{}
)

// Attach drives r from GLib's default main context, the one gtk.Main and
// a GApplication's run iterate: from then on r's callbacks run on the GTK
// thread, between GTK's own events, for as long as that thread keeps
// running the loop. It is for a GTK program that keeps its gtk.Main (new
// programs call Run).
//
// When r stops (r.Stop, or SIGINT/SIGTERM by default), every gtk.Main the
// source runs in is quit, innermost first; with none, the default
// GApplication is quit (see OnStop). The stopped reactor is then left
// alone until detach.
//
// detach removes the source; it is idempotent, and a reactor that
// stopped is ready to run again after it. Call detach before r.Close.
// Attach and detach must be called on the GTK thread.
func Attach(r *reactor.Reactor, opts ...Option) (detach func(), err error) {
	s, err := attach(r, newConfig(opts), 0, true)
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
// runtime.LockOSThread from an init function. Stop ends both loops: Run's
// gtk.Main, and any gtk.Main nested in it, are quit. A modal dialog's
// Run inside keeps running until it gets a response; Run returns after it.
// Run can be called again once it has returned.
func Run(r *reactor.Reactor, opts ...Option) error {
	if C.loom_gtk_initialized() == 0 {
		return ErrNotInitialized
	}
	cfg := newConfig(opts)
	cfg.onStop = nil
	s, err := attach(r, cfg, mainLevel(), false)
	if err != nil {
		return err
	}
	C.gtk_main()
	err = s.err
	s.detach()
	return err
}

func attach(r *reactor.Reactor, cfg config, base int, quitApp bool) (*source, error) {
	if C.loom_context_is_ours() == 0 {
		return nil, ErrWrongThread
	}
	fd, err := r.BackendFD()
	if err != nil {
		return nil, fmt.Errorf("gtkloop: %w", err)
	}
	attachedMu.Lock()
	defer attachedMu.Unlock()
	if attached[r] {
		return nil, ErrAttached
	}
	attached[r] = true
	s := &source{r: r, cfg: cfg, fd: fd, base: base, quitApp: quitApp}
	s.handle = cgo.NewHandle(s)
	s.gs = C.loom_source_new(C.uintptr_t(s.handle), C.int(fd), C.int(cfg.priority))
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
	if s.r.Stopped() {
		s.r.EndRun()
	}
}
