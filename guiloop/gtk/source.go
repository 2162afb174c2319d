package gtkloop

// #cgo pkg-config: gtk+-3.0
// #include "source.h"
import "C"

import (
	"log/slog"
	"runtime/cgo"
	"runtime/debug"
	"time"

	"github.com/loomkit/loom/reactor"
	"golang.org/x/sys/unix"
)

// source is the Go side of the GSource in source.c. All its methods run
// on the GTK thread: GLib calls them from the main context's iteration.
type source struct {
	r      *reactor.Reactor
	cfg    config
	fd     int // the reactor's BackendFD
	gs     *C.GSource
	handle cgo.Handle
	pfd    [1]unix.PollFd // hasWork's poll set, kept to avoid allocating

	// base is the gtk_main_level that a stop quits down to: 0 for Attach,
	// the level Run was called at for Run.
	base int
	// quitApp says that, once no gtk.Main is left to quit, a stop also
	// quits the default GApplication (Attach without OnStop).
	quitApp bool

	mainDepth int // g_main_depth at the last dispatch
	busy      int // dispatches in a row that ended with work left
	baseDepth int // the least g_main_depth a dispatch ran at: the loop's own
	answered  int // the deepest nested loop whose dialogs a stop answered

	unhook         func() // removes the reactor's OnClose hook
	running        bool   // Run's gtk.Main is running
	signalsSet     bool   // attach changed the reactor's stop on signals
	restoreSignals bool   // what detach puts back

	stopping  bool  // the reactor stopped or failed: quitting loops, fd unwatched
	quitLevel int   // the gtk_main_level last quit, 0 for none
	notified  bool  // OnStop (or the GApplication quit) has run
	err       error // what RunOnce returned, if it failed
	detached  bool
}

// A Go panic must never unwind through GLib's C frames: it would skip
// them, leaving the main context (and a modal dialog's loop on the stack)
// broken, and crash the program later. The reactor recovers panics in
// callbacks; loomPrepare and loomDispatch recover anything else (OnStop,
// or a fault in the reactor itself), log it and let the loop go on.

//export loomPrepare
func loomPrepare(h C.uintptr_t) (us C.gint64) {
	defer func() {
		if v := recover(); v != nil {
			logPanic("prepare", v)
			us = 1000 // look again soon, without spinning
		}
	}()
	prepares++
	return C.gint64(cgo.Handle(h).Value().(*source).prepare())
}

// prepares counts loomPrepare's calls, for a test: GLib's iterations
// must not call Go to prepare while the reactor's timeout stands.
var prepares int

//export loomDispatch
func loomDispatch(h C.uintptr_t, depth C.int) (us C.gint64) {
	defer func() {
		if v := recover(); v != nil {
			logPanic("dispatch", v)
			us = askGo
		}
	}()
	s := cgo.Handle(h).Value().(*source)
	s.dispatch(int(depth))
	return C.gint64(s.next())
}

// What prepare and dispatch return besides microseconds: askGo makes the
// next prepare call Go again (LOOM_ASK in source.c), yield lets one
// iteration go to sources of lower priority (LOOM_YIELD).
const (
	askGo = -2
	yield = -3
)

func logPanic(where string, v any) {
	slog.Error("gtkloop: panic in the GSource's "+where+"; recovered, the loop goes on",
		"panic", v, "stack", string(debug.Stack()))
}

//export loomFinalize
func loomFinalize(h C.uintptr_t) {
	cgo.Handle(h).Delete()
}

// prepare returns, in microseconds, when the reactor has work: 0 now, -1
// when only the descriptor can tell, or yield or askGo. source.c asks it
// only when the last dispatch said so (next), or before the first.
func (s *source) prepare() int64 {
	if s.busy >= busyYield && !s.stopping {
		// Always ready at priority 121, the source would starve what
		// GLib runs at lower priorities (idle callbacks, 200, which GTK
		// uses too): after busyYield dispatches that left work behind,
		// one iteration goes to them.
		s.busy = 0
		return yield
	}
	if s.stopping {
		if s.quitPending() {
			return 0
		}
		return askGo
	}
	return micros(s.r.NextTimeout())
}

// next is what a dispatch tells source.c: the reactor's next timeout,
// which prepare then serves from C until the next dispatch, or askGo.
// Nothing else can make the reactor's timeout shorter meanwhile without
// waking the descriptor: a GTK handler's CallSoon or CallLater outside a
// pass nudges the backend, and so does Stop.
func (s *source) next() int64 {
	if s.detached || s.stopping || s.busy >= busyYield {
		return askGo
	}
	return micros(s.r.NextTimeout())
}

// micros converts a reactor timeout to whole microseconds, rounded up;
// -1 stays -1.
func micros(d time.Duration) int64 {
	if d < 0 {
		return -1
	}
	us := int64(d / time.Microsecond)
	if d%time.Microsecond != 0 {
		us++ // without overflowing for the longest timeouts
	}
	return us
}

// dispatch runs reactor passes within the budget, then, if the reactor
// has stopped, quits the GTK loops it runs in.
func (s *source) dispatch(depth int) {
	if s.detached {
		return // detached by a callback of an outer dispatch
	}
	s.checkNesting(depth)
	if !s.stopping {
		if !s.r.Stopped() {
			s.run()
		}
		if s.detached {
			return
		}
		if s.r.Stopped() || s.err != nil {
			s.beginStop()
		}
	}
	if s.stopping {
		s.quitStep()
	}
}

// run is the budget: passes of RunOnce(0) while there is work, at most
// cfg.passes of them and no more once cfg.budget has gone, so that GLib
// gets back control, and GTK its turn to draw, however busy the reactor.
func (s *source) run() {
	start := time.Now()
	for i := 1; ; i++ {
		if err := s.r.RunOnce(0); err != nil {
			s.err = err
			return
		}
		if s.detached || s.r.Stopped() {
			return
		}
		if !s.hasWork() {
			s.busy = 0
			return
		}
		if i >= s.cfg.passes || time.Since(start) >= s.cfg.budget {
			s.busy++ // the budget ended with work left
			return
		}
	}
}

// busyYield is how many dispatches in a row may end with work left before
// the source lets one main-loop iteration go to lower priorities.
const busyYield = 4

// hasWork reports whether another pass would find something to do now.
func (s *source) hasWork() bool {
	if s.r.NextTimeout() == 0 {
		return true
	}
	s.pfd[0] = unix.PollFd{Fd: int32(s.fd), Events: unix.POLLIN}
	n, err := unix.Poll(s.pfd[:], 0)
	return err == nil && n > 0
}

// beginStop stops watching the descriptor (a stopped reactor may keep it
// readable, and GLib would spin on it) and starts quitting loops.
func (s *source) beginStop() {
	if s.stopping {
		return
	}
	s.stopping = true
	s.answered = 0
	C.loom_source_unwatch(s.gs)
	if s.err != nil {
		slog.Error("gtkloop: the reactor failed; stopping", "err", s.err)
	}
}

// quitPending reports whether quitStep has something left to do.
func (s *source) quitPending() bool {
	level := mainLevel()
	if level > s.base {
		return s.quitLevel == 0 || level < s.quitLevel
	}
	return !s.notified
}

// quitStep quits the innermost gtk.Main above base, once per level:
// gtk_main_quit only reaches the innermost loop, so the next one is quit
// after it has returned. With no gtk.Main to quit, it runs OnStop once.
func (s *source) quitStep() {
	if d := int(C.loom_main_depth()); d > s.baseDepth && d > s.answered {
		// A nested loop (a modal dialog's Run) runs the dispatch: answer
		// the dialogs, once, as a user closing them would.
		s.answered = d
		C.loom_answer_modal_dialogs()
	}
	level := mainLevel()
	if level > s.base {
		if s.quitLevel == 0 || level < s.quitLevel {
			s.quitLevel = level
			C.loom_gtk_main_quit()
		}
		return
	}
	if s.notified {
		return
	}
	s.notified = true
	switch {
	case s.cfg.onStop != nil:
		s.cfg.onStop()
	case s.quitApp:
		C.loom_quit_default_application()
	}
}

// free removes the source from the main context. GLib finalizes it, and
// the handle goes, once no dispatch of it is left on the stack.
func (s *source) free() {
	C.loom_source_free(s.gs)
}

// mainLevel is gtk_main_level.
func mainLevel() int { return int(C.loom_gtk_main_level()) }
