package reactor_test

import (
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
)

func line(n int) string {
	_, file, l, _ := runtime.Caller(1)
	return fmt.Sprintf("%s:%d", file, l+n)
}

func TestSlowFromEnvironment(t *testing.T) {
	for _, c := range []struct {
		env  string
		want time.Duration
		warn bool
	}{
		{"", 0, false},
		{"0", 0, false},
		{"0s", 0, false},
		{"1", reactor.DefaultSlowThreshold, false},
		{"on", reactor.DefaultSlowThreshold, false},
		{"40ms", 40 * time.Millisecond, false},
		{"soon", reactor.DefaultSlowThreshold, true},
		{"-5ms", reactor.DefaultSlowThreshold, true},
	} {
		t.Run(c.env, func(t *testing.T) {
			t.Setenv("LOOM_SLOW", c.env)
			logs := &reactortest.Records{}
			r := newTestReactor(t, reactor.WithLogger(slog.New(logs)))
			if got := r.SlowThreshold(); got != c.want {
				t.Errorf("LOOM_SLOW=%q: threshold %v, want %v", c.env, got, c.want)
			}
			if got := len(logs.Matching("LOOM_SLOW")) > 0; got != c.warn {
				t.Errorf("LOOM_SLOW=%q: warned %v", c.env, got)
			}
			r.SetSlowDefault(reactor.FrameThreshold) // as a GUI loop does
			if c.want == reactor.DefaultSlowThreshold && r.SlowThreshold() != reactor.FrameThreshold {
				t.Errorf("the default threshold under a GUI loop is %v", r.SlowThreshold())
			}
		})
	}
	t.Run("debug-mode", func(t *testing.T) {
		t.Setenv("LOOM_DEBUG", "1")
		if got := newTestReactor(t).SlowThreshold(); got != reactor.DefaultSlowThreshold {
			t.Errorf("LOOM_DEBUG=1: threshold %v", got)
		}
		t.Setenv("LOOM_SLOW", "0")
		if got := newTestReactor(t).SlowThreshold(); got != 0 {
			t.Errorf("LOOM_DEBUG=1 LOOM_SLOW=0: threshold %v", got)
		}
	})
	t.Run("option-wins", func(t *testing.T) {
		t.Setenv("LOOM_SLOW", "1")
		r := newTestReactor(t, reactor.WithSlowCallbacks(30*time.Millisecond))
		r.SetSlowDefault(reactor.FrameThreshold)
		if got := r.SlowThreshold(); got != 30*time.Millisecond {
			t.Errorf("threshold %v", got)
		}
	})
}

// A slow Promise callback and a method value are named by their own
// function; a callback that only fired them is not reported; switching
// detection off stops the reports.
func TestSlowCallbackSites(t *testing.T) {
	logs := &reactortest.Records{}
	r := newTestReactor(t, reactor.WithSlowCallbacks(15*time.Millisecond), reactor.WithLogger(slog.New(logs)))
	p, res := deferred.NewPromise[int]()
	thenSite := line(1)
	deferred.Then(p, func(v int) (int, error) { time.Sleep(25 * time.Millisecond); return v, nil })
	var w sleeper
	r.CallSoon(func() { res.Resolve(1) })
	r.CallSoon(w.sleep)
	for range 3 {
		if err := r.RunOnce(0); err != nil {
			t.Fatal(err)
		}
	}
	reports := logs.SlowReports()
	if len(reports) != 2 {
		t.Fatalf("%d reports, want 2: %v", len(reports), reports)
	}
	if m := reports[0]; m["kind"] != "promise callback" || m["site"] != thenSite {
		t.Errorf("the Then callback: %v, want its site %s", m, thenSite)
	}
	if m := reports[1]; m["kind"] != "call" || m["func"] != "github.com/loomkit/loom/reactor_test.sleeper.sleep" || m["site"] != "" {
		t.Errorf("the method value: %v", m)
	}
	r.SetSlowThreshold(-1)
	r.CallSoon(w.sleep)
	if err := r.RunOnce(0); err != nil {
		t.Fatal(err)
	}
	if n := len(logs.SlowReports()); n != 2 || r.SlowThreshold() != 0 {
		t.Errorf("%d reports after detection went off (threshold %v)", n, r.SlowThreshold())
	}
}

type sleeper struct{}

func (sleeper) sleep() { time.Sleep(25 * time.Millisecond) }

// Pass durations are recorded while timing is on, and only then.
func TestPassTime(t *testing.T) {
	r := newTestReactor(t)
	pass := func(d time.Duration) {
		r.CallSoon(func() { time.Sleep(d) })
		if err := r.RunOnce(0); err != nil {
			t.Fatal(err)
		}
	}
	pass(2 * time.Millisecond)
	if s := r.Stats(); s.Timing || s.PassTime.Count != 0 {
		t.Errorf("timing off: %+v", s.PassTime)
	}
	stop := r.TimePasses()
	pass(2 * time.Millisecond)
	pass(0)
	if err := r.RunOnce(0); err != nil { // no callback: not a pass with work
		t.Fatal(err)
	}
	s := r.Stats()
	if !s.Timing || s.PassTime.Count != 2 || s.PassTime.Max < 2*time.Millisecond || s.PassTime.Max > time.Second {
		t.Errorf("timing on: %+v", s.PassTime)
	}
	if q := s.PassTime.Quantile(1); q < 2*time.Millisecond {
		t.Errorf("the largest pass's bucket bound %v", q)
	}
	stop()
	stop()
	pass(2 * time.Millisecond)
	if s := r.Stats(); s.Timing || s.PassTime.Count != 2 {
		t.Errorf("after stop: timing %v, %d passes", s.Timing, s.PassTime.Count)
	}
}

func TestDescriptors(t *testing.T) {
	r := newTestReactor(t)
	rd, wr := reactortest.Pipe(t)
	if err := r.AddReader(rd, func() {}); err != nil {
		t.Fatal(err)
	}
	if err := r.AddWriter(wr, func() {}); err != nil {
		t.Fatal(err)
	}
	ds := r.Descriptors()
	if len(ds) != 2 || ds[0].FD != min(rd, wr) || ds[1].FD != max(rd, wr) {
		t.Fatalf("%+v", ds)
	}
	for _, d := range ds {
		if (d.FD == rd) != strings.Contains(d.Reader, "TestDescriptors") || (d.FD == wr) != strings.Contains(d.Writer, "TestDescriptors") {
			t.Errorf("%+v", d)
		}
	}
}

func TestHistogram(t *testing.T) {
	var h reactor.Histogram
	if h.Quantile(0.5) != 0 || h.Mean() != 0 {
		t.Error("empty")
	}
	for i := 0; i < reactor.HistogramBuckets; i++ {
		lo := time.Duration(0)
		if i > 0 {
			lo = reactor.BucketBound(i - 1)
		}
		if hi := reactor.BucketBound(i); hi <= lo {
			t.Errorf("bucket %d: [%v, %v)", i, lo, hi)
		}
	}
	if reactor.BucketBound(0) != time.Microsecond || reactor.BucketBound(10) != 1024*time.Microsecond {
		t.Errorf("bounds %v %v", reactor.BucketBound(0), reactor.BucketBound(10))
	}
}

func newTestReactor(t *testing.T, opts ...reactor.Option) *reactor.Reactor {
	t.Helper()
	r, err := reactor.New(append([]reactor.Option{reactor.WithoutSignalHandlers()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// A hold keeps detection on over the program's own setting, and leaves
// that setting as it was when released.
func TestHoldSlowCallbacks(t *testing.T) {
	r := newTestReactor(t)
	release := r.HoldSlowCallbacks()
	if got := r.SlowThreshold(); got != reactor.DefaultSlowThreshold {
		t.Errorf("held: %v", got)
	}
	r.SetSlowThreshold(-1)
	if got := r.SlowThreshold(); got != reactor.DefaultSlowThreshold {
		t.Errorf("held, the program off: %v", got)
	}
	r.SetSlowThreshold(30 * time.Millisecond)
	if got := r.SlowThreshold(); got != 30*time.Millisecond {
		t.Errorf("held, the program at 30ms: %v", got)
	}
	release()
	release()
	if got := r.SlowThreshold(); got != 30*time.Millisecond {
		t.Errorf("released, the program at 30ms: %v", got)
	}
	release = r.HoldSlowCallbacks()
	r.SetSlowThreshold(-1)
	release()
	if got := r.SlowThreshold(); got != 0 {
		t.Errorf("released, the program off: %v", got)
	}
}

// A slow Deferred callback on a loop without detection is not reported
// by another loop that has it, running at the same time.
func TestSlowReportsStayWithTheirLoop(t *testing.T) {
	reactortest.CheckLeaks(t)
	logs := &reactortest.Records{}
	a := newTestReactor(t, reactor.WithSlowCallbacks(20*time.Millisecond), reactor.WithLogger(slog.New(logs)))
	b := newTestReactor(t, reactor.WithSlowCallbacks(-1))
	busy := make(chan struct{})
	a.CallSoon(func() { close(busy); time.Sleep(150 * time.Millisecond) }) // a is inside a pass meanwhile
	aDone := make(chan error, 1)
	go func() { aDone <- a.RunOnce(0) }()
	<-busy
	d := deferred.New()
	d.AddCallback(func(v any) any { time.Sleep(40 * time.Millisecond); return v })
	b.CallSoon(func() { d.Callback(1) })
	if err := b.RunOnce(0); err != nil {
		t.Fatal(err)
	}
	if err := <-aDone; err != nil {
		t.Fatal(err)
	}
	for _, m := range logs.SlowReports() {
		if m["kind"] != "call" {
			t.Errorf("loop a reported loop b's callback: %v", m)
		}
	}
	if n := len(a.SlowCallbacks()); n != 1 {
		t.Errorf("loop a holds %d slow callbacks, want its own one", n)
	}
}

// A callback that turns detection off is not reported for it; nor is a
// callback's nested pass, which waited with the loop running; a closed
// reactor takes no new setting.
func TestSlowDetectionEdges(t *testing.T) {
	reactortest.CheckLeaks(t)
	logs := &reactortest.Records{}
	r := newTestReactor(t, reactor.WithSlowCallbacks(5*time.Millisecond), reactor.WithLogger(slog.New(logs)))
	r.CallSoon(func() { time.Sleep(20 * time.Millisecond); r.SetSlowThreshold(-1) })
	if err := r.RunOnce(0); err != nil {
		t.Fatal(err)
	}
	if n := len(logs.SlowReports()); n != 0 {
		t.Errorf("the callback that turned detection off was reported: %v", logs.SlowReports())
	}

	r.SetSlowThreshold(20 * time.Millisecond)
	before := r.Stats().PassTime
	r.CallSoon(func() {
		r.CallLater(60*time.Millisecond, func() {})
		if err := r.RunOnce(-1); err != nil { // a modal loop's pass, waiting 60 ms
			t.Error(err)
		}
	})
	if err := r.RunOnce(0); err != nil {
		t.Fatal(err)
	}
	if n := len(logs.SlowReports()); n != 0 {
		t.Errorf("a callback was reported for its nested pass's wait: %v", logs.SlowReports())
	}
	if pt := r.Stats().PassTime; pt.Count-before.Count != 2 || pt.Sum-before.Sum >= 20*time.Millisecond {
		t.Errorf("pass times: %d more, %v in all; want 2 short ones", pt.Count-before.Count, pt.Sum-before.Sum)
	}

	// Lowered from a long threshold, the new one holds at once.
	r.SetSlowThreshold(2 * time.Second)
	r.SetSlowThreshold(4 * time.Millisecond)
	r.CallSoon(func() { time.Sleep(20 * time.Millisecond) })
	if err := r.RunOnce(0); err != nil {
		t.Fatal(err)
	}
	if n := len(logs.SlowReports()); n != 1 {
		t.Errorf("%d reports of a 20 ms callback over a 4 ms threshold lowered from 2 s, want 1", n)
	}

	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r.SetSlowDefault(reactor.FrameThreshold)
	r.SetSlowThreshold(0)
	if got := r.SlowThreshold(); got != 0 {
		t.Errorf("a closed reactor detects with threshold %v", got)
	}
}

// A coroutine's last stretch, run inside Close (its Await fails with the
// loop closed), is reported like any other.
func TestSlowCoroutineInClose(t *testing.T) {
	logs := &reactortest.Records{}
	r, err := reactor.New(reactor.WithoutSignalHandlers(), reactor.WithSlowCallbacks(20*time.Millisecond), reactor.WithLogger(slog.New(logs)))
	if err != nil {
		t.Fatal(err)
	}
	site := line(1)
	deferred.Async(r, func(co *deferred.Co) (int, error) {
		deferred.Await(co, deferred.New()) // never fires
		time.Sleep(40 * time.Millisecond)  // the cleanup, inside Close
		return 0, nil
	})
	if err := r.RunOnce(0); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	reports := logs.SlowReports()
	if len(reports) != 1 || reports[0]["kind"] != "coroutine" || reports[0]["site"] != site {
		t.Errorf("reports %v, want the coroutine at %s", reports, site)
	}
}

func TestStatsCountCloseHooks(t *testing.T) {
	r, err := reactor.New(reactor.WithoutSignalHandlers())
	if err != nil {
		t.Fatal(err)
	}
	var s reactor.Stats
	r.OnClose(func() { s = r.Stats() })
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if s.CloseHooks != 1 || s.Callbacks != 1 {
		t.Errorf("close hooks %d, callbacks %d", s.CloseHooks, s.Callbacks)
	}
}
