package reactor

import (
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/loomkit/loom/internal/slow"
)

// DefaultSlowThreshold is the time over which a callback is slow when
// detection is on with no threshold of its own, as asyncio's debug mode
// has it. A GUI loop driving the reactor lowers it to FrameThreshold.
const DefaultSlowThreshold = 100 * time.Millisecond

// FrameThreshold is one frame at 60 Hz: a callback on a GUI thread that
// runs longer makes the window miss a frame.
const FrameThreshold = 16 * time.Millisecond

// SlowCallback is a callback that ran longer than the threshold on the
// loop, which did nothing else meanwhile: in a GUI program, a window that
// did not redraw or answer input.
type SlowCallback struct {
	// Kind is what ran: "timer", "reader", "writer", "call", "call from
	// goroutine", "unnested call", "deferred callback", "coroutine", ...
	Kind string
	// Func is the callback function's name, Site the file:line where it
	// begins: for a function literal, the line that registered it (the
	// CallLater, AddReader, CallSoon or AddCallback). A method value
	// (x.refresh) has a name and no Site.
	Func, Site string
	// Until is, for a coroutine, the file:line of the Await it ran to
	// (its resume ran from the Await before it); "" when it ended.
	Until string
	// FD is a reader's or writer's descriptor, -1 for other kinds.
	FD int
	// Duration is its own time: what it took, less the slow callbacks
	// reported inside it (a Deferred's callback that it fired, say).
	Duration time.Duration
	// At is when it ended.
	At time.Time
	// Dropped counts the reports of the same function that the rate
	// limit (one log line per function per second) kept from the log
	// before this one.
	Dropped int
}

// WithSlowCallbacks turns on slow-callback detection: a callback that
// runs longer than threshold on the reactor goroutine is logged (a Warn
// through the reactor's logger) with its duration and its function, named
// with the file:line where it begins — for a function literal, the line
// of the CallLater, AddReader, CallSoon, AddCallback or Then that
// registered it — at most once per function per second, and kept among
// SlowCallbacks. threshold 0 means the default: DefaultSlowThreshold, or
// FrameThreshold when a GUI loop drives the reactor; threshold < 0 keeps
// detection off whatever LOOM_SLOW and debug mode say. The environment
// variable LOOM_SLOW turns it on without a rebuild: LOOM_SLOW=1 with the
// default threshold, LOOM_SLOW=50ms with that one; LOOM_SLOW=0 keeps it
// off. Debug mode (WithDebug, LOOM_DEBUG=1) turns it on too.
//
// Detection reads a coarse tick, which a timer moves every eighth of the
// threshold, before and after each callback, and the clock after one
// that ran across a tick; so durations err by about a sixteenth of the
// threshold. A callback that runs a nested pass (a modal loop) is timed
// less the nested passes and the time between them, when the loop was
// running; under gtkloop, one that ran GTK's own nested loop (a dialog's
// Run) is not reported (see SetNestedLoopProbe). A Deferred's callbacks, a Promise's and coroutine resumes are
// timed on every loop of the program while one has detection on. Off, it
// costs a branch per callback.
func WithSlowCallbacks(threshold time.Duration) Option {
	return func(o *options) { o.slow, o.slowSet = threshold, true }
}

// WithTiming records the pass durations of Stats without slow-callback
// detection (LOOM_STATS=1 does the same).
func WithTiming() Option { return func(o *options) { o.timing = true } }

// slowLog is what slow-callback detection found: the recent ones, and
// the rate limit's state. Any goroutine may read it.
type slowLog struct {
	mu      sync.Mutex
	recent  [32]SlowCallback
	nrecent int
	last    map[uintptr]int64 // function → when it was last logged
	dropped map[uintptr]int   // function → reports dropped since
	count   uint64
}

// slowFromEnv reads LOOM_SLOW: whether it is set, on, and the threshold
// (0: the default).
func slowFromEnv() (set, on bool, threshold time.Duration, bad string) {
	v := strings.TrimSpace(os.Getenv("LOOM_SLOW"))
	switch strings.ToLower(v) {
	case "":
		return false, false, 0, ""
	case "0", "off", "false", "no":
		return true, false, 0, ""
	case "1", "on", "true", "yes":
		return true, true, 0, ""
	}
	d, err := time.ParseDuration(v)
	switch {
	case err != nil || d < 0:
		return true, true, 0, v
	case d == 0:
		return true, false, 0, "" // LOOM_SLOW=0s
	}
	return true, true, d, ""
}

// timing is the state of timed callbacks; nil while nothing is timed.
type timing struct {
	r         *Reactor
	threshold atomic.Int64 // ns over which a callback is slow; 0: detection off
	refs      int          // TimePasses and WithTiming
	seg       int64        // when this stretch of callbacks in the pass began; 0: none yet
	work      int64        // this pass's time in callbacks so far
	ran       bool         // this pass ran a callback
	nestEnd   int64        // when the last nested pass inside the running callback ended
	running   atomic.Int32 // outermost passes running: package slow's Running
	g         atomic.Uint64
	gKnown    bool // g was read since detection went on
}

// sink is the Reactor's slow.Sink.
type sink timing

func (s *sink) Threshold() int64   { return s.threshold.Load() }
func (s *sink) Running() bool      { return s.running.Load() > 0 }
func (s *sink) Loop() uint64       { return s.g.Load() }
func (s *sink) Report(c slow.Call) { (*timing)(s).report(c) }

func (r *Reactor) timing() bool { return r.tim != nil }

// SetSlowThreshold turns slow-callback detection on with the threshold
// (0: the default, see WithSlowCallbacks), or off for threshold < 0. It
// is the program's own setting: detection stays on while something holds
// it (HoldSlowCallbacks). It must be called on the reactor goroutine.
func (r *Reactor) SetSlowThreshold(threshold time.Duration) {
	r.loopOnly("SetSlowThreshold")
	r.slowAsked = threshold
	r.applySlow()
}

// SetNestedLoopProbe gives the reactor a GUI loop's answer to whether
// the toolkit ran a main-loop iteration nested inside a dispatch within
// the last d: a callback that runs a modal dialog's own loop (a GTK
// dialog's Run) waits in it, its window answering, and is not reported
// as slow for that, though no nested pass of the reactor's marked it
// (see WithSlowCallbacks). nil removes the probe. It must be called on
// the reactor goroutine; f may be called on a coroutine's.
func (r *Reactor) SetNestedLoopProbe(f func(d time.Duration) bool) {
	if f == nil {
		r.nestProbe.Store(nil)
		return
	}
	r.nestProbe.Store(&f)
}

// HoldSlowCallbacks keeps slow-callback detection on until release is
// called, with the program's threshold if it has set one and the default
// otherwise, whatever the program sets meanwhile: an inspector window
// holds it while it is open, and leaves the program's own setting as it
// found it. release is idempotent. It must be called on the reactor
// goroutine.
func (r *Reactor) HoldSlowCallbacks() (release func()) {
	r.slowHolds++
	r.applySlow()
	done := false
	return func() {
		if !done {
			done = true
			r.slowHolds--
			r.applySlow()
		}
	}
}

// applySlow sets detection as the program's setting and the holds say.
func (r *Reactor) applySlow() {
	var threshold time.Duration
	switch {
	case r.slowAsked > 0:
		threshold = r.slowAsked
	case r.slowAsked == 0 || r.slowHolds > 0:
		threshold = r.slowDefault
	}
	t := r.tim
	if threshold <= 0 || r.closed.Load() {
		if t == nil || t.threshold.Load() == 0 {
			return
		}
		t.threshold.Store(0)
		slow.Unregister((*sink)(t))
		if t.refs == 0 {
			r.tim = nil
		}
		return
	}
	if t == nil {
		t = &timing{r: r}
		r.tim = t
	}
	if t.threshold.Swap(int64(threshold)) == 0 {
		t.gKnown = false // the loop may have moved since
	}
	slow.Register((*sink)(t)) // or its threshold changed
}

// SlowThreshold is the threshold over which a callback is slow, 0 while
// detection is off. It must be called on the reactor goroutine.
func (r *Reactor) SlowThreshold() time.Duration {
	if r.tim == nil {
		return 0
	}
	return time.Duration(r.tim.threshold.Load())
}

// SetSlowDefault sets what threshold 0 means (see WithSlowCallbacks):
// a GUI loop driving the reactor sets FrameThreshold. It must be called
// on the reactor goroutine.
func (r *Reactor) SetSlowDefault(d time.Duration) {
	if d <= 0 {
		d = DefaultSlowThreshold
	}
	r.slowDefault = d
	r.applySlow()
}

// TimePasses records the pass durations of Stats (it is on already with
// slow-callback detection) until stop is called; an inspector window
// calls it while it is open. stop is idempotent. It must be called on
// the reactor goroutine.
func (r *Reactor) TimePasses() (stop func()) {
	if r.tim == nil {
		r.tim = &timing{r: r}
	}
	t := r.tim
	t.refs++
	done := false
	return func() {
		if done {
			return
		}
		done = true
		t.refs--
		if t.refs == 0 && t.threshold.Load() == 0 && r.tim == t {
			r.tim = nil
		}
	}
}

// SlowCallbacks returns the latest slow callbacks detected (up to 32),
// the oldest first. Any goroutine may call it.
func (r *Reactor) SlowCallbacks() []SlowCallback {
	l := &r.slowLog
	l.mu.Lock()
	defer l.mu.Unlock()
	n := min(l.nrecent, len(l.recent))
	out := make([]SlowCallback, 0, n)
	for i := l.nrecent - n; i < l.nrecent; i++ {
		out = append(out, l.recent[i%len(l.recent)])
	}
	return out
}

// callTimed runs a callback while timing is on. The pass's time is read
// at the start of its first callback and at its end (see segEnd); slow
// detection reads the tick (see package slow), and the clock only after
// a callback that ran across one.
func (r *Reactor) callTimed(t *timing, f func(), kind cbKind, fd int) {
	if t.seg == 0 {
		t.seg = slow.Now()
	}
	if t.threshold.Load() == 0 {
		r.callPlain(f, kind, fd)
		return
	}
	if !t.gKnown {
		t.gKnown = true
		t.g.Store(goid())
	}
	c0, n0, ne := slow.Tick(), slow.NestedNow(), t.nestEnd
	t.nestEnd = 0
	r.callPlain(f, kind, fd)
	t.nestEnd = ne
	th := t.threshold.Load()
	if th == 0 || slow.Tick() == c0 {
		return // detection went off, or it ran less than a tick
	}
	end := slow.Now()
	if own := slow.Own(max(c0+slow.HalfPeriod(), t.seg), n0, end); own >= th {
		slow.Nested(own)
		t.report(slow.Call{Kind: kind.String(), Fn: slow.FuncPC(f), FD: fd, Dur: own, End: end})
	}
}

// nested accounts for a pass run inside a callback (a modal loop's) that
// began at p0 with the slow callbacks' sum at n0: the loop was running,
// so the pass, and the time since the last nested pass inside the same
// callback ended, are not the callback's own time (less what the slow
// callbacks reported inside took off already), and not its pass's.
func (t *timing) nested(p0, n0 int64) {
	p1 := slow.Now()
	give := p1 - p0 - (slow.NestedNow() - n0)
	if t.nestEnd != 0 {
		give += p0 - t.nestEnd
	}
	t.nestEnd = p1
	if give > 0 {
		slow.Nested(give)
		t.work -= give
	}
}

// segEnd ends a stretch of callbacks (before the pass waits, and at its
// end), adding it to the pass's time.
func (t *timing) segEnd() {
	if t.seg != 0 {
		t.work += slow.Now() - t.seg
		t.seg = 0
		t.ran = true
	}
}

// report logs one slow callback, unless the same function was logged
// less than a second ago, and keeps it among the recent ones.
func (t *timing) report(c slow.Call) {
	if f := t.r.nestProbe.Load(); f != nil && (*f)(time.Duration(c.Dur)) {
		return // it ran a toolkit's nested loop: the window was live
	}
	name, site := slow.Site(c.Fn)
	s := SlowCallback{Kind: c.Kind, Func: name, Site: site, Until: slow.PCSite(c.Until), FD: c.FD,
		Duration: time.Duration(c.Dur), At: time.Now()}
	l := &t.r.slowLog
	l.mu.Lock()
	l.count++
	if l.last == nil {
		l.last, l.dropped = make(map[uintptr]int64), make(map[uintptr]int)
	}
	log := true
	if at, ok := l.last[c.Fn]; ok && c.End-at < int64(time.Second) {
		l.dropped[c.Fn]++
		log = false
	} else {
		l.last[c.Fn] = c.End
		s.Dropped = l.dropped[c.Fn]
		delete(l.dropped, c.Fn)
	}
	l.recent[l.nrecent%len(l.recent)] = s
	l.nrecent++
	l.mu.Unlock()
	if !log {
		return
	}
	args := []any{"kind", s.Kind, "duration", s.Duration.Round(time.Microsecond), "threshold", time.Duration(t.threshold.Load()), "func", s.Func}
	if s.Site != "" {
		args = append(args, "site", s.Site)
	}
	if s.Until != "" {
		args = append(args, "until", s.Until)
	}
	if s.FD >= 0 {
		args = append(args, "fd", s.FD)
	}
	if s.Dropped > 0 {
		args = append(args, "dropped", s.Dropped)
	}
	t.r.log.Warn("reactor: slow callback: the loop ran nothing else meanwhile", args...)
}
