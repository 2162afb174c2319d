// Package slow times the callbacks loom runs on a loop for its slow
// callback reports. The reactor times its own callbacks; the deferred
// package, which does not know the loop a Deferred fires on, times a
// Deferred's callbacks and a coroutine's resumes here and hands the slow
// ones to the reactor whose loop they ran on, a Sink. It is cgo-free.
//
// A callback's own time is what it took less the slow callbacks reported
// inside it (a Deferred's callback that a reader fired), so that one slow
// piece of code is reported once, by its own site, and not again by every
// callback that was running around it. That sum is process-wide: two
// loops whose slow callbacks overlap in time on different goroutines may
// take part of each other's time off (a program has one loop, tests may
// have several).
package slow

import (
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/loomkit/loom/internal/stack"
)

// A Sink takes the slow callbacks timed outside it: the reactor.
type Sink interface {
	// Threshold is the time over which a callback is slow, in ns. Any
	// goroutine.
	Threshold() int64
	// Running says whether the Sink's loop is running a pass, and Loop
	// is its goroutine (0 if not known yet). Any goroutine.
	Running() bool
	Loop() uint64
	// Report takes one slow callback; on the goroutine that ran it.
	Report(c Call)
}

// Call is one timed callback.
type Call struct {
	Kind  string
	Fn    uintptr // the callback function's entry
	Until uintptr // a coroutine's: a pc in the Await it stopped at, or 0
	FD    int     // a descriptor's callback: the descriptor; else -1
	Dur   int64   // its own time, ns
	End   int64   // Now when it ended
}

var (
	sinks   atomic.Int32 // Sinks registered: 0 and the deferred package times nothing
	least   atomic.Int64 // the lowest threshold of the registered Sinks, ns
	nested  atomic.Int64 // ns of every slow callback reported: see the package doc
	mu      sync.Mutex
	entries []entry
)

type entry struct{ s Sink }

var base = time.Now()

// The tick is a coarse clock that spares a clock read per callback (about
// 30 ns here, as much as dispatching a call): while Sinks are registered
// a timer stores Now every Least/8, and a callback reads the tick as it
// starts and as it ends. The same tick at both ends means it ran less than
// a tick's period: not slow. Otherwise it ends with a clock read, and its
// start is taken as half a period after the tick before it began (or the
// pass's own start, read exactly, if later): a slow callback's figure
// errs by about half a period, a sixteenth of the threshold, either way,
// plus the timer's own lateness (some 0.5 ms here) over.
var (
	tickAt     atomic.Int64
	ticker     *time.Timer   // under mu; nil while no Sink is registered
	period     time.Duration // under mu
	halfPeriod atomic.Int64
)

// Tick is the time of the latest tick (see above).
func Tick() int64 { return tickAt.Load() }

func fire() {
	tickAt.Store(Now())
	mu.Lock()
	defer mu.Unlock()
	if ticker != nil {
		ticker.Reset(period)
	}
}

// setTicker starts, retunes or stops the tick; under mu.
func setTicker() {
	if len(entries) == 0 {
		if ticker != nil {
			ticker.Stop()
			ticker = nil
		}
		return
	}
	was := period
	period = max(time.Duration(least.Load())/8, 500*time.Microsecond)
	halfPeriod.Store(int64(period / 2))
	switch {
	case ticker == nil:
		tickAt.Store(Now())
		ticker = time.AfterFunc(period, fire)
	case period < was:
		// A tick of the old, longer period would let a callback over
		// the new threshold end within one tick.
		tickAt.Store(Now())
		ticker.Reset(period)
	}
}

// HalfPeriod is half the tick's period, in ns: the tick before a callback
// began is on average that much before it.
func HalfPeriod() int64 { return halfPeriod.Load() }

// Now is a monotonic time in ns.
func Now() int64 { return int64(time.Since(base)) }

// On says whether any Sink is registered: whether to time callbacks.
func On() bool { return sinks.Load() > 0 }

// Least is the lowest threshold of the registered Sinks, ns.
func Least() int64 { return least.Load() }

// Register adds s, or updates its threshold if it is registered already.
func Register(s Sink) {
	mu.Lock()
	defer mu.Unlock()
	found := false
	for _, e := range entries {
		found = found || e.s == s
	}
	if !found {
		entries = append(entries, entry{s: s})
		sinks.Add(1)
	}
	setLeast()
	setTicker()
}

// Unregister removes s.
func Unregister(s Sink) {
	mu.Lock()
	defer mu.Unlock()
	for i, e := range entries {
		if e.s == s {
			entries = slices.Delete(entries, i, i+1)
			sinks.Add(-1)
			break
		}
	}
	setLeast()
	setTicker()
}

func setLeast() {
	l := int64(0)
	for _, e := range entries {
		if t := e.s.Threshold(); t > 0 && (l == 0 || t < l) {
			l = t
		}
	}
	least.Store(l)
}

// Begin starts timing a callback: the tick, and the sum of the slow
// callbacks reported so far.
func Begin() (t0, n0 int64) { return Tick(), nested.Load() }

// NestedNow is the sum of the slow callbacks reported so far.
func NestedNow() int64 { return nested.Load() }

// Own is the own time of a callback that began after t0, with the sum of
// slow callbacks at n0, and ended at t1: what it took less the slow
// callbacks reported meanwhile.
func Own(t0, n0, t1 int64) int64 { return t1 - t0 - (nested.Load() - n0) }

// Nested adds the time of a slow callback that was reported to the sum
// that the callbacks around it take off their own time.
func Nested(d int64) { nested.Add(d) }

// End ends timing a callback of the deferred package that began with
// (t0, n0) from Begin, and reports it to the Sink of the goroutine it ran
// on when its own time is over that Sink's threshold. fn is the callback.
func End(kind string, fn uintptr, until uintptr, t0, n0 int64) {
	if s, d, t1 := over(t0, n0); s != nil {
		s.Report(Call{Kind: kind, Fn: fn, Until: until, FD: -1, Dur: d, End: t1})
	}
}

// EndMethod is End for a callback that is a method of an interface value
// (a transport's protocol's DataReceived): the method is looked up only
// when the call is reported. fd is the descriptor it serves, or -1.
func EndMethod(kind string, recv any, method string, fd int, t0, n0 int64) {
	if s, d, t1 := over(t0, n0); s != nil {
		s.Report(Call{Kind: kind, Fn: MethodPC(recv, method), FD: fd, Dur: d, End: t1})
	}
}

// over ends timing a callback that began with (t0, n0): when its own
// time d, to t1, is over the threshold of the Sink of the goroutine it
// ran on, it returns that Sink, having added d to the slow callbacks'
// sum; else nil.
func over(t0, n0 int64) (s Sink, d, t1 int64) {
	if Tick() == t0 {
		return nil, 0, 0 // shorter than a tick
	}
	t1 = Now()
	d = Own(t0+HalfPeriod(), n0, t1)
	if l := least.Load(); l == 0 || d < l {
		return nil, 0, 0
	}
	if s = sinkHere(); s == nil || d < s.Threshold() {
		return nil, 0, 0
	}
	nested.Add(d)
	return s, d, t1
}

// MethodPC is the entry of the named method of recv's dynamic type, 0 if
// it has none.
func MethodPC(recv any, name string) uintptr {
	t := reflect.TypeOf(recv)
	if t == nil {
		return 0
	}
	m, ok := t.MethodByName(name)
	if !ok {
		return 0
	}
	return m.Func.Pointer()
}

// sinkHere is the Sink of the calling goroutine's loop: the running one
// whose loop runs on this goroutine or, on a coroutine's goroutine (which
// runs in place of a loop's, waiting), the only one running; nil when
// none is (the loop it ran on does not detect slow callbacks).
func sinkHere() Sink {
	mu.Lock()
	running := make([]Sink, 0, len(entries))
	for _, e := range entries {
		if e.s.Running() {
			running = append(running, e.s)
		}
	}
	mu.Unlock()
	if len(running) == 0 {
		return nil
	}
	g := stack.Goid()
	for _, s := range running {
		if s.Loop() == g {
			return s
		}
	}
	if _, coro := stack.CgoCallbacks(); coro && len(running) == 1 {
		return running[0]
	}
	return nil
}

// FuncPC is the entry of the function f calls; f is a func value.
func FuncPC[F any](f F) uintptr {
	// A func value points to a funcval whose first word is the code.
	p := *(*unsafe.Pointer)(unsafe.Pointer(&f))
	if p == nil {
		return 0
	}
	return *(*uintptr)(p)
}

// Site names the function whose entry is fn: its name, and the file:line
// where it begins, which for a function literal is the line that
// registers it. A method value (x.m) is named by its method; its file is
// the compiler's, so site is "".
func Site(fn uintptr) (name, site string) {
	f := runtime.FuncForPC(fn)
	if f == nil {
		return "", ""
	}
	name = f.Name()
	file, line := f.FileLine(fn)
	if strings.HasSuffix(name, "-fm") || file == "<autogenerated>" || file == "" {
		return strings.TrimSuffix(name, "-fm"), ""
	}
	return name, file + ":" + itoa(line)
}

// PCSite is the file:line of a pc a call returned to (runtime.Callers).
func PCSite(pc uintptr) string {
	if pc == 0 {
		return ""
	}
	frames := runtime.CallersFrames([]uintptr{pc})
	fr, _ := frames.Next()
	if fr.File == "" {
		return ""
	}
	return fr.File + ":" + itoa(fr.Line)
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	if n == 0 {
		return "0"
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
