package reactortest

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
	"golang.org/x/sys/unix"
)

// Records is a slog.Handler that keeps what is logged, for tests.
type Records struct {
	mu   sync.Mutex
	recs []map[string]string
}

func (h *Records) Enabled(context.Context, slog.Level) bool { return true }
func (h *Records) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *Records) WithGroup(string) slog.Handler            { return h }
func (h *Records) Handle(_ context.Context, r slog.Record) error {
	m := map[string]string{"msg": r.Message, "level": r.Level.String()}
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	h.mu.Lock()
	h.recs = append(h.recs, m)
	h.mu.Unlock()
	return nil
}

// Matching returns the records whose message contains msg.
func (h *Records) Matching(msg string) []map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []map[string]string
	for _, m := range h.recs {
		if strings.Contains(m["msg"], msg) {
			out = append(out, m)
		}
	}
	return out
}

// SlowReports are the slow-callback lines logged to h.
func (h *Records) SlowReports() []map[string]string { return h.Matching("slow callback") }

// here is the file:line n lines below the caller's.
func here(n int) string {
	_, file, line, _ := runtime.Caller(1)
	return fmt.Sprintf("%s:%d", file, line+n)
}

func init() {
	add("diag/slow-callbacks-are-reported-with-their-site", func(t *testing.T, newLoop NewLoop) {
		logs := &Records{}
		l := newLoop(t, reactor.WithSlowCallbacks(20*time.Millisecond), reactor.WithLogger(slog.New(logs)))
		r := l.Reactor()
		rd, wr := Pipe(t)
		d := deferred.New()
		await1, await2 := deferred.New(), deferred.New()
		timerSite, soonSite, readerSite, cbSite := here(1), here(2), here(3), here(4)
		r.CallLater(0, func() { time.Sleep(50 * time.Millisecond) })
		r.CallSoon(func() { time.Sleep(time.Millisecond) })
		must(t, r.AddReader(rd, func() { drain(rd); r.RemoveReader(rd); time.Sleep(50 * time.Millisecond) }))
		d.AddCallback(func(v any) any { time.Sleep(50 * time.Millisecond); return v })
		write(t, wr, "x")
		coSite, untilSite := here(1), here(4)
		deferred.Async(r, func(co *deferred.Co) (int, error) {
			deferred.Await(co, await1)
			time.Sleep(50 * time.Millisecond)
			deferred.Await(co, await2)
			return 0, nil
		})
		r.CallLater(10*time.Millisecond, func() { d.Callback(1) }) // fast itself: what it fires is slow
		r.CallLater(20*time.Millisecond, func() { await1.Callback(1) })
		r.CallLater(200*time.Millisecond, func() { await2.Callback(1); r.Stop() })
		RunFor(t, l, limit)

		want := map[string]string{"timer": timerSite, "reader": readerSite, "deferred callback": cbSite, "coroutine": coSite}
		got := map[string]string{}
		for _, m := range logs.SlowReports() {
			if _, dup := got[m["kind"]]; dup {
				t.Errorf("a second report of a %s: %v", m["kind"], m)
			}
			got[m["kind"]] = m["site"]
			if m["level"] != "WARN" || m["duration"] == "" || m["func"] == "" {
				t.Errorf("report %v", m)
			}
			if m["kind"] == "coroutine" && m["until"] != untilSite {
				t.Errorf("the coroutine's slow stretch ended at %q, want %q", m["until"], untilSite)
			}
			if m["kind"] == "reader" && m["fd"] != fmt.Sprint(rd) {
				t.Errorf("the reader's fd %q, want %d", m["fd"], rd)
			}
		}
		for kind, site := range want {
			if got[kind] != site {
				t.Errorf("%s reported at %q, want %q", kind, got[kind], site)
			}
		}
		for kind, site := range got {
			if _, ok := want[kind]; !ok {
				t.Errorf("a %s at %s was reported; the 1 ms call at %s and the call that fired the Deferred must not be", kind, site, soonSite)
			}
		}
		var recent []reactor.SlowCallback
		recent = r.SlowCallbacks()
		if len(recent) != len(want) {
			t.Errorf("SlowCallbacks holds %d, want %d: %+v", len(recent), len(want), recent)
		}
		for _, s := range recent {
			if s.Duration < 45*time.Millisecond || s.Duration > 5*time.Second || s.At.IsZero() {
				t.Errorf("%+v", s)
			}
		}
	})

	add("diag/slow-callback-reports-are-rate-limited", func(t *testing.T, newLoop NewLoop) {
		logs := &Records{}
		l := newLoop(t, reactor.WithSlowCallbacks(10*time.Millisecond), reactor.WithLogger(slog.New(logs)))
		r := l.Reactor()
		runs := 0
		var tick func()
		start := time.Now()
		tick = func() {
			runs++
			time.Sleep(15 * time.Millisecond)
			switch {
			case runs < 5:
				r.CallSoon(tick)
			case runs == 5:
				// The sixth comes a second after the first report.
				r.CallLater(time.Until(start.Add(1100*time.Millisecond)), tick)
			default:
				r.Stop()
			}
		}
		r.CallSoon(tick)
		RunFor(t, l, limit)
		reports := logs.SlowReports()
		if len(reports) != 2 {
			t.Fatalf("%d reports of six slow runs of one function, two of them a second apart: want 2: %v", len(reports), reports)
		}
		if reports[0]["dropped"] != "" || reports[1]["dropped"] != "4" {
			t.Errorf("dropped %q then %q, want none then 4", reports[0]["dropped"], reports[1]["dropped"])
		}
		var st reactor.Stats
		var recent []reactor.SlowCallback
		st, recent = r.Stats(), r.SlowCallbacks()
		if st.Slow != 6 || len(recent) != 6 {
			t.Errorf("Stats.Slow %d and %d recent, want 6 (the rate limit keeps lines from the log, not from the figures)", st.Slow, len(recent))
		}
	})

	add("diag/stats-count-a-scripted-workload", func(t *testing.T, newLoop NewLoop) {
		l, r, clk := fakeLoop(t, newLoop)
		rd, wr := Pipe(t)
		_, wr2 := Pipe(t)
		var script func()
		var base, mid, end reactor.Stats
		// The script starts on the second pass, after what a loop may do
		// on its first (gtkloop.Attach queues a call).
		r.CallSoon(func() { r.CallLater(0, script) })
		script = func() {
			base = r.Stats()
			for range 3 {
				r.CallLater(time.Second, func() {})
			}
			r.CallLater(time.Hour, func() {}).Cancel()
			keep := r.CallLater(time.Hour, func() {})
			for range 2 {
				r.CallSoon(func() {})
			}
			last := func() {
				end = r.Stats()
				keep.Cancel()
				r.Stop()
			}
			finish := func() {
				// The three timers run 500 ms late. Advance wakes the
				// loop with a call from a goroutine; last comes after it.
				clk.Advance(1500 * time.Millisecond)
				r.CallFromGoroutine(func() { r.CallLater(0, last) })
			}
			reads := 0
			must(t, r.AddReader(rd, func() {
				drain(rd)
				if reads++; reads < 4 {
					write(t, wr, "b") // readable again: the reader runs once per write
					return
				}
				r.RemoveReader(rd)
				r.CallLater(0, finish)
			}))
			writes := 0
			must(t, r.AddWriter(wr2, func() {
				if writes++; writes == 2 {
					r.RemoveWriter(wr2)
				}
			}))
			mid = r.Stats()
			go func() {
				for range 4 {
					r.CallFromGoroutine(func() {})
				}
				r.CallFromGoroutine(func() { write(t, wr, "a") })
			}()
		}
		RunFor(t, l, limit)
		if mid.Pending-base.Pending != 4 || mid.Watched-base.Watched != 2 || mid.Queued-base.Queued != 2 {
			t.Errorf("after scheduling: %d more timers, %d more watched, %d more queued; want 4, 2, 2",
				mid.Pending-base.Pending, mid.Watched-base.Watched, mid.Queued-base.Queued)
		}
		for _, c := range []struct {
			what      string
			got, want uint64
		}{
			{"reader calls", end.Readers - base.Readers, 4},
			{"writer calls", end.Writers - base.Writers, 2},
			{"calls from goroutines (the script's 5, Advance's, finish's)", end.GoroutineCalls - base.GoroutineCalls, 7},
			{"queued calls", end.Calls - base.Calls, 2},
			{"timers (three, finish, last)", end.Timers - base.Timers, 5},
			{"panics", end.Panics - base.Panics, 0},
		} {
			if c.got != c.want {
				t.Errorf("%s: %d, want %d", c.what, c.got, c.want)
			}
		}
		if d := end.Callbacks - base.Callbacks; d != (end.Timers-base.Timers)+(end.Readers-base.Readers)+(end.Writers-base.Writers)+
			(end.Calls-base.Calls)+(end.GoroutineCalls-base.GoroutineCalls)+(end.Signals-base.Signals)+(end.CloseHooks-base.CloseHooks) {
			t.Errorf("%d callbacks, not the sum of the kinds", d)
		}
		if end.Watched != base.Watched || end.Pending != base.Pending+1 {
			t.Errorf("at the end: %d watched (want %d), %d pending (want %d: the last callback cancels one after reading)",
				end.Watched, base.Watched, end.Pending, base.Pending+1)
		}
		if end.Passes <= base.Passes {
			t.Errorf("passes %d → %d", base.Passes, end.Passes)
		}
		// Lag, on the fake clock: the three timers ran 500 ms late, the
		// other two on time.
		if n := end.Lag.Count - base.Lag.Count; n != 5 || end.Lag.Max != 500*time.Millisecond {
			t.Errorf("lag: %d timers, max %v; want 5, 500ms", n, end.Lag.Max)
		}
		if n := end.Lag.Buckets[0] - base.Lag.Buckets[0]; n != 2 {
			t.Errorf("%d timers on time, want 2", n)
		}
	})
}

// drain reads what fd holds.
func drain(fd int) {
	var b [512]byte
	for {
		if n, err := unix.Read(fd, b[:]); n <= 0 || err != nil {
			return
		}
	}
}
