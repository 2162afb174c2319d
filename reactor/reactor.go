package reactor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/loomkit/loom/internal/slow"
	"github.com/loomkit/loom/reactor/internal/poller"
)

// ErrClosed is returned when a closed reactor is asked to run.
var ErrClosed = errors.New("reactor: closed")

// ErrUnknownBackend is returned by New for a backend this OS lacks.
var ErrUnknownBackend = poller.ErrUnknownBackend

// Reactor is an event loop: it waits for descriptors, timers and calls
// from other goroutines, and runs their callbacks one at a time on one
// goroutine, the reactor goroutine. That is the goroutine running Run or
// RunOnce, or the GUI thread when a GUI loop drives the reactor.
//
// Only CallFromGoroutine may be called from other goroutines.
type Reactor struct {
	p            poller.Poller
	backend      string
	clock        Clock
	epoch        time.Time
	log          *slog.Logger
	unwatchClock func()

	timers timerHeap
	seq    uint64
	aside  []*DelayedCall // runTimers' reusable buffer

	soon []func()   // CallSoon's queue
	free [][]func() // spare queue buffers, reused so steady state allocates nothing

	unnested     []*unnestedCall // CallSoonUnnested's queue
	unnestedLive int             // calls in it not cancelled
	levelSeen    bool            // baseLevel has been measured
	baseLevel    int             // the outermost cgo-callback depth of a pass
	baseG        uint64          // the goroutine that runs passes at baseLevel
	nest         func(func())    // SetNest's

	coEnter, coLeave func() // SetCoroutineHooks'

	stats       counters
	tim         *timing // nil unless callbacks are timed (slow.go)
	slowLog     slowLog
	slowDefault time.Duration // what threshold 0 means
	slowAsked   time.Duration // the program's SetSlowThreshold: < 0 off
	slowHolds   int           // HoldSlowCallbacks not yet released
	nestProbe   atomic.Pointer[func(time.Duration) bool]

	debug   bool          // WithDebug: loop-only methods check the goroutine
	closing atomic.Bool   // Close is running (read by debug checks on any goroutine)
	loopG   atomic.Uint64 // debug: the goroutine of the latest outermost pass

	gmu     sync.Mutex
	gq      []func() // CallFromGoroutine's queue
	gspare  []func()
	gwake   atomic.Bool // a wakeup is pending for gq
	gclosed bool        // under gmu: Close has run, gq takes nothing more
	closed  atomic.Bool
	onWake  atomic.Pointer[func() bool] // SetWakeHook's

	fds    []*fdState // by descriptor number
	nfds   int
	evbufs [][]poller.Event // one event buffer per RunOnce depth
	pass   uint64           // counts I/O waits
	depth  int

	stopping bool
	stopped  bool
	running  bool
	runs     uint64 // counts Runs, so a late Stop from an old Run's context is ignored
	live     bool   // passes have run since the last stop: Close fires Shutdown
	grace    time.Duration
	embedded bool // BackendFD was asked for: a foreign loop polls it
	nudged   bool // a wakeup for work added outside a pass is pending

	signals   *signals
	events    map[string]*systemEvent
	pool      pool
	onClose   []*closeHook
	closeGone int // removed hooks still in onClose
}

type closeHook struct{ f func() }

// Backends lists the backends this OS has, the default first.
func Backends() []string { return poller.Names() }

// New creates a reactor. It fails for an unknown backend name or when the
// OS refuses a descriptor.
func New(opts ...Option) (*Reactor, error) {
	o := options{clock: realClock{}, logger: slog.Default(), signals: true, workers: DefaultWorkers, grace: DefaultShutdownTimeout, debug: debugFromEnv()}
	for _, opt := range opts {
		opt(&o)
	}
	if o.backend == "" {
		o.backend = os.Getenv("LOOM_BACKEND")
	}
	p, err := poller.New(o.backend)
	if err != nil {
		return nil, fmt.Errorf("reactor: %w", err)
	}
	name := o.backend
	if name == "" {
		name = poller.Names()[0]
	}
	r := &Reactor{p: p, backend: name, clock: o.clock, epoch: o.clock.Now(), log: o.logger, grace: o.grace, debug: o.debug,
		slowDefault: DefaultSlowThreshold, slowAsked: -1}
	if !o.slowSet {
		set, on, d, bad := slowFromEnv()
		if bad != "" {
			r.log.Warn("reactor: LOOM_SLOW is neither a duration nor 1: slow-callback detection uses the default threshold", "LOOM_SLOW", bad)
		}
		switch {
		case set:
			o.slowSet, o.slow = on, d
		case o.debug:
			o.slowSet, o.slow = true, 0 // debug mode reports slow callbacks too
		}
	}
	if o.slowSet && o.slow >= 0 {
		r.SetSlowThreshold(o.slow)
	}
	if o.timing || os.Getenv("LOOM_STATS") == "1" {
		r.TimePasses()
	}
	r.pool.max = o.workers
	if o.signals {
		r.signals = newSignals(r)
		r.signals.stopOnInterrupt = true
	}
	if w, ok := o.clock.(clockWatcher); ok {
		r.unwatchClock = w.Watch(r)
	}
	return r, nil
}

// Backend returns the name of the backend the reactor uses.
func (r *Reactor) Backend() string { return r.backend }

// CallSoon queues f to run on the next pass, after the calls queued before
// it. It must be called on the reactor goroutine.
func (r *Reactor) CallSoon(f func()) {
	r.loopOnly("CallSoon")
	if r.closed.Load() {
		return
	}
	r.soon = append(r.soon, f)
	r.nudge()
}

// nudge wakes the backend when work is added outside a pass (a GUI
// handler on the reactor goroutine): a foreign loop may be asleep on an
// older NextTimeout. Inside a pass, the pass itself looks again.
// Only a reactor whose BackendFD was asked for can be asleep that way.
func (r *Reactor) nudge() {
	if r.embedded && r.depth == 0 && !r.nudged && !r.closed.Load() {
		r.nudged = r.p.Wake() == nil
	}
}

// CallFromGoroutine queues f to run on the reactor goroutine and wakes the
// reactor. It is the one method safe to call from any goroutine. Calls
// keep their order; concurrent wakeups coalesce into one. After Close,
// f is dropped.
func (r *Reactor) CallFromGoroutine(f func()) {
	r.gmu.Lock()
	if r.gclosed {
		r.gmu.Unlock()
		return
	}
	r.gq = append(r.gq, f)
	r.gmu.Unlock()
	if r.gwake.CompareAndSwap(false, true) {
		if h := r.onWake.Load(); h != nil && (*h)() {
			return // the hook has a pass on its way
		}
		if err := r.p.Wake(); err != nil {
			r.gwake.Store(false) // let the next call try again
			r.log.Error("reactor: wakeup failed", "err", err)
		}
	}
}

// Run runs passes until Stop is called, ctx ends, or a wait fails. It
// returns nil after Stop and ctx's error when ctx ended it. The end of ctx
// stops the reactor as Stop does, but does not wait for Shutdown
// triggers still running when it comes. Run must not
// be called while the reactor is already running.
func (r *Reactor) Run(ctx context.Context) error {
	if r.running {
		return errors.New("reactor: Run called while running")
	}
	r.running = true
	r.runs++
	run := r.runs
	defer func() { r.running, r.live = false, false; r.EndRun() }()
	var ctxDone atomic.Bool
	stopCtx := context.AfterFunc(ctx, func() {
		ctxDone.Store(true)
		r.CallFromGoroutine(func() {
			if r.running && r.runs == run {
				r.Stop()
			}
		})
	})
	defer stopCtx()
	for !r.stopped {
		if ctxDone.Load() && r.stopping {
			// The context's end is final: triggers still holding the
			// shutdown are given up on.
			r.log.Warn("reactor: Run's context ended while Shutdown triggers were running; returning without them")
			break
		}
		if err := r.RunOnce(-1); err != nil {
			return err
		}
	}
	if ctxDone.Load() {
		return ctx.Err()
	}
	return nil
}

// Stop fires the Shutdown system event (see AddSystemEventTrigger) and,
// once its triggers are done, makes Run return after the current pass.
// Before triggers that hold the shutdown get at most the shutdown timeout
// (WithShutdownTimeout, DefaultShutdownTimeout) on the reactor's clock;
// then the reactor logs it and stops anyway. Stop may be called from any
// callback, any number of times; a Stop before Run makes the next Run
// return at once. GUI loops that drive the reactor quit their toolkit's
// loop when Stopped reports true. Stop must be called on the reactor
// goroutine; other goroutines use CallFromGoroutine(r.Stop).
func (r *Reactor) Stop() {
	r.loopOnly("Stop")
	if r.stopping {
		return
	}
	r.stopping = true
	r.fire(Shutdown, r.grace, func() {
		r.stopped, r.live = true, false
		// Whatever drives the reactor must look at it again soon, even
		// if Stop was called outside a pass (a GUI handler).
		r.p.Wake()
	})
}

// Stopped reports whether Stop has been called and the reactor has
// finished stopping. Embedding loops check it after each RunOnce.
func (r *Reactor) Stopped() bool { return r.stopped }

// EndRun clears a finished or pending stop, so that Stopped reports false
// and the reactor can run again. Run calls it when it returns; a loop that
// drives the reactor itself (a GUI loop) calls it when its own run ends.
// It must be called on the reactor goroutine.
func (r *Reactor) EndRun() {
	r.stopping, r.stopped = false, false
	if r.signals != nil {
		r.signals.rearm()
	}
}

// Close releases every descriptor the reactor opened (not those added
// with AddReader or AddWriter, which stay the caller's) and stops its
// signal handling. A reactor that has run passes since it last stopped
// (an embedding loop that ended without Stop: a GTK program quit with
// gtk.MainQuit) is stopped first: Close fires Shutdown and runs passes
// until its triggers are done, within the shutdown timeout. Then Close
// runs the OnClose hooks, and the CallSoonUnnested calls they queue (at
// the loop's depth: see SetNest); then it cancels every
// DeferToGoroutine Deferred still pending (the context of running work is
// cancelled; work still queued never starts), and drops the timers and
// calls still queued. Calls made after Close are dropped too. Close does
// not wait for running goroutine work to return. Close is idempotent; it
// fails if called from inside a pass.
func (r *Reactor) Close() error {
	if r.depth > 0 {
		return errors.New("reactor: Close called during a pass; call Stop and Close after Run returns")
	}
	if r.closed.Load() {
		return nil
	}
	r.closing.Store(true)
	r.shutdown()
	if t := r.tim; t != nil {
		t.running.Add(1) // the hooks and coroutines' last stretches run now
		r.runCloseHooks()
		r.drainUnnested()
		t.running.Add(-1)
	} else {
		r.runCloseHooks()
		r.drainUnnested()
	}
	r.closed.Store(true)
	r.applySlow() // detection ends: a closed reactor keeps no Sink
	r.pool.close()
	if r.signals != nil {
		r.signals.close()
	}
	if r.unwatchClock != nil {
		r.unwatchClock()
	}
	for _, c := range r.timers {
		c.state, c.index, c.f = cancelled, -1, nil
	}
	r.fds, r.nfds, r.timers, r.soon, r.unnested, r.unnestedLive = nil, 0, nil, nil, nil, 0
	r.gmu.Lock()
	r.gq, r.gspare, r.gclosed = nil, nil, true
	r.gmu.Unlock()
	r.free = nil
	return r.p.Close()
}

// shutdown stops a reactor that ran and was not stopped (its embedding
// loop just ended, as a GTK program's gtk.MainQuit does), running passes
// until the Shutdown triggers are done or the shutdown timeout has gone.
func (r *Reactor) shutdown() {
	if !r.live && !r.stopping {
		return
	}
	r.Stop()
	limit := r.grace
	if limit <= 0 {
		limit = DefaultShutdownTimeout
	}
	// Real time bounds it too: on a fake clock the timeout never comes.
	deadline := time.Now().Add(limit + limit/10)
	for !r.stopped && time.Now().Before(deadline) {
		if err := r.RunOnce(min(time.Until(deadline), 50*time.Millisecond)); err != nil {
			break
		}
	}
	r.EndRun()
}

// OnClose arranges for f to run when Close is called, before the reactor
// releases anything, so that work suspended on the reactor (a coroutine,
// a cooperative task, goroutine work) can be ended instead of left parked.
// Hooks run on the goroutine that calls Close, the last added first; a
// hook may still use the reactor, but calls it queues will never run.
// A hook that panics is logged and the others still run. The returned
// function removes the hook. OnClose on a closed reactor runs nothing and
// returns a no-op. It must be called on the reactor goroutine.
func (r *Reactor) OnClose(f func()) (remove func()) {
	if r.closed.Load() || f == nil {
		return func() {}
	}
	h := &closeHook{f: f}
	r.onClose = append(r.onClose, h)
	return func() {
		if h.f == nil {
			return
		}
		h.f = nil
		r.closeGone++
		if r.closeGone > 16 && r.closeGone > len(r.onClose)/2 {
			// Compact, so hooks added and removed by the million (one
			// per coroutine) do not pile up.
			live := r.onClose[:0]
			for _, x := range r.onClose {
				if x.f != nil {
					live = append(live, x)
				}
			}
			clear(r.onClose[len(live):])
			r.onClose, r.closeGone = live, 0
		}
	}
}

// runCloseHooks runs every OnClose hook, newest first, including hooks
// that hooks add.
func (r *Reactor) runCloseHooks() {
	for len(r.onClose) > 0 {
		h := r.onClose[len(r.onClose)-1]
		r.onClose = r.onClose[:len(r.onClose)-1]
		if f := h.f; f != nil {
			h.f = nil
			r.call(f, kindCloseHook, -1)
		}
	}
	r.onClose = nil
}

// RunOnce runs one pass of the loop:
//
//  1. timers that are due,
//  2. calls queued with CallSoon and CallFromGoroutine before the pass,
//     and those queued with CallSoonUnnested if the pass is not nested
//     deeper than the loop's own depth,
//  3. I/O: it waits for readiness, for at most timeout (timeout < 0
//     blocks until something happens; 0 only polls) but never past the
//     next timer, and not at all if steps 1 and 2 did any work or calls
//     are queued; then it runs the callbacks of the ready descriptors,
//     the calls that arrived from other goroutines during the wait and,
//     if it waited, the timers that came due meanwhile.
//
// RunOnce(0) does all ready work and never blocks. A callback may itself
// run a pass (a GUI's nested main loop); descriptors reported to an outer
// pass that an inner pass already served are not called again.
// RunOnce must be called on the reactor goroutine.
func (r *Reactor) RunOnce(timeout time.Duration) error {
	if r.closed.Load() {
		return ErrClosed
	}
	if r.signals != nil && !r.signals.started {
		if err := r.signals.start(); err != nil {
			return err
		}
	}
	r.depth++
	defer func() { r.depth-- }()
	if !r.stopping {
		r.live = true
	}
	if !r.levelSeen {
		r.markBase() // the loop's own depth: see CallSoonUnnested
	}
	if r.debug && r.depth == 1 {
		r.loopG.Store(goid())
	}
	r.stats.passes++
	if t := r.tim; t != nil {
		// A nested pass runs inside a callback of the outer one (see
		// timing.nested).
		work, seg, ran := t.work, t.seg, t.ran
		t.work, t.seg, t.ran = 0, 0, false
		var p0, n0 int64
		if r.depth > 1 {
			p0, n0 = slow.Now(), slow.NestedNow()
		} else {
			t.running.Add(1)
		}
		defer func() {
			t.segEnd()
			if t.ran {
				r.stats.passTime.add(t.work)
			}
			t.work, t.seg, t.ran = work, seg, ran
			if r.depth > 1 {
				t.nested(p0, n0)
			} else {
				t.running.Add(-1)
			}
		}()
	}

	worked := r.runTimers()
	worked = r.runSoon() || worked
	worked = r.runUnnested() || worked
	worked = r.runFromGoroutines() || worked
	if r.closed.Load() {
		return nil
	}

	if nt := r.NextTimeout(); nt >= 0 && (timeout < 0 || nt < timeout) {
		timeout = nt
	}
	if worked || r.stopped {
		// A pass that did something does not also block: the caller
		// asked for one pass, not for one pass and a wait.
		timeout = 0
	}
	for r.depth > len(r.evbufs) { // a nested pass may come before the outer's I/O
		r.evbufs = append(r.evbufs, make([]poller.Event, 256))
	}
	events := r.evbufs[r.depth-1]
	r.pass++
	pass := r.pass
	if t := r.tim; t != nil {
		t.segEnd() // the wait is not the pass's work
	}
	n, err := r.p.Wait(events, timeout)
	r.nudged = false
	if err != nil {
		return fmt.Errorf("reactor: %w", err)
	}
	r.dispatch(events[:n], pass)
	r.runFromGoroutines()
	if timeout != 0 {
		r.runTimers() // the ones the wait was waiting for
	}
	if d, ok := r.p.(interface{ PassDone() }); ok {
		d.PassDone()
	}
	return nil
}

// runSoon runs the CallSoon queue as it was when the pass began.
func (r *Reactor) runSoon() bool {
	if len(r.soon) == 0 {
		return false
	}
	batch := r.soon
	r.soon = nil
	if k := len(r.free); k > 0 {
		r.soon, r.free = r.free[k-1], r.free[:k-1]
	}
	// Counted as the batch is taken, and the check for timing made once:
	// the queue's calls are the cheapest callbacks there are.
	r.stats.kinds[kindCall] += uint64(len(batch))
	if t := r.tim; t != nil {
		for i, f := range batch {
			batch[i] = nil
			r.callTimed(t, f, kindCall, -1)
		}
	} else {
		for i, f := range batch {
			batch[i] = nil
			r.callPlain(f, kindCall, -1)
		}
	}
	r.free = append(r.free, batch[:0])
	return true
}

// runFromGoroutines runs the calls other goroutines queued, if a wakeup
// says there are any. Clearing the flag before taking the queue means a
// call queued after the take wakes the next wait.
func (r *Reactor) runFromGoroutines() bool {
	if !r.gwake.Swap(false) {
		return false
	}
	r.gmu.Lock()
	batch := r.gq
	r.gq, r.gspare = r.gspare, nil
	r.gmu.Unlock()
	for i, f := range batch {
		batch[i] = nil
		if f != nil {
			r.call(f, kindGoroutine, -1)
		}
	}
	r.gmu.Lock()
	if r.gspare == nil {
		r.gspare = batch[:0]
	}
	r.gmu.Unlock()
	return len(batch) > 0
}

// call runs one callback; a panic is logged with its stack and the loop
// goes on.
func (r *Reactor) call(f func(), kind cbKind, fd int) {
	r.stats.kinds[kind]++
	if t := r.tim; t != nil {
		r.callTimed(t, f, kind, fd)
		return
	}
	r.callPlain(f, kind, fd)
}

func (r *Reactor) callPlain(f func(), kind cbKind, fd int) {
	defer r.recoverCallback(kind, fd)
	f()
}

func (r *Reactor) recoverCallback(kind cbKind, fd int) {
	if v := recover(); v != nil {
		r.stats.panics++
		args := []any{"callback", kind.String(), "panic", v, "stack", string(debug.Stack())}
		if fd >= 0 {
			args = append(args, "fd", fd)
		}
		r.log.Error("reactor: callback panicked; the loop goes on", args...)
	}
}
