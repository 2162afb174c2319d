package gtkloop_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotk3/gotk3/gtk"
	gtkloop "github.com/loomkit/loom/guiloop/gtk"
	"github.com/loomkit/loom/internal/wintest"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"golang.org/x/sys/unix"
)

// inspectorTitle is the inspector window's title.
const inspectorTitle = "loom inspector"

// line is the line it is called on.
func line() int {
	_, _, n, _ := runtime.Caller(1)
	return n
}

// warmInspector shows an inspector once, on a reactor of its own, so
// that what GTK opens the first time it draws a list and its fonts is
// open before a test counts descriptors.
func warmInspector(t *testing.T) {
	t.Helper()
	r, err := reactor.New()
	if err != nil {
		t.Fatal(err)
	}
	wait := start(t, r)
	var closeInspector func()
	onLoop(r, func() {
		closeInspector, err = gtkloop.Inspect(r)
		ok(t, err)
	})
	if closeInspector == nil {
		t.FailNow()
	}
	wintest.WindowID(t, inspectorTitle)
	time.Sleep(300 * time.Millisecond)
	onLoop(r, func() { closeInspector(); r.Stop() })
	ok(t, wait())
	ok(t, r.Close())
}

// detectionOff makes a reactor with slow-callback detection off, whatever
// LOOM_SLOW says, so that a test sees the inspector turn it on and off.
var detectionOff = reactor.WithSlowCallbacks(-1)

// timingAlone says whether a reactor records its pass times with no
// inspector open: LOOM_STATS=1 has it do so.
func timingAlone() bool { return os.Getenv("LOOM_STATS") == "1" }

// inspectorOnScreen reports whether a window titled "loom inspector" is
// on the display.
func inspectorOnScreen() bool {
	return exec.Command("xdotool", "search", "--onlyvisible", "--name", "^"+inspectorTitle+"$").Run() == nil
}

func TestInspectorShowsTheLoop(t *testing.T) {
	warmUp(t)
	warmInspector(t)
	reactortest.CheckLeaks(t)
	r := newReactor(t, detectionOff)
	wait := start(t, r)
	pr, pw := reactortest.Pipe(t)

	var before reactor.Stats
	var closeInspector func()
	onLoop(r, func() {
		before = r.Stats()
		var err error
		closeInspector, err = gtkloop.Inspect(r)
		ok(t, err)
	})
	if closeInspector == nil {
		t.FailNow()
	}
	onLoop(r, func() {
		s := r.Stats()
		if th := r.SlowThreshold(); th != reactor.FrameThreshold {
			t.Errorf("slow-callback threshold %v with the inspector open, want %v", th, reactor.FrameThreshold)
		}
		if !s.Timing {
			t.Error("pass times are not recorded with the inspector open")
		}
		if s.Pending != before.Pending+1 {
			t.Errorf("%d timers pending with the inspector open, %d before: want its one timer", s.Pending, before.Pending)
		}
	})

	// The workload: a timer that runs 40 times, a pipe's reader, and two
	// callbacks that keep the loop longer than a frame, the shorter first.
	var ticks, read int
	var shortLine, longLine int
	onLoop(r, func() {
		var tick func()
		tick = func() {
			if ticks++; ticks < 40 {
				r.CallLater(5*time.Millisecond, tick)
			}
		}
		r.CallLater(5*time.Millisecond, tick)
		ok(t, r.AddReader(pr, func() {
			var b [16]byte
			if n, _ := unix.Read(pr, b[:]); n > 0 {
				read += n
			}
		}))
		shortLine = line() + 1
		r.CallLater(10*time.Millisecond, func() { time.Sleep(25 * time.Millisecond) })
		longLine = line() + 1
		r.CallLater(60*time.Millisecond, func() { time.Sleep(50 * time.Millisecond) })
	})
	for range 3 {
		if _, err := unix.Write(pw, []byte("x")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The inspector's own timer shows the work: wait for the list to
	// hold the long callback.
	longSite := fmt.Sprintf("gtk/inspector_test.go:%d", longLine)
	shortSite := fmt.Sprintf("gtk/inspector_test.go:%d", shortLine)
	var mostPasses, mostCallbacks float64
	perSecond := func(what, s string) float64 {
		v, err := strconv.ParseFloat(strings.TrimSuffix(s, "/s"), 64)
		if !strings.HasSuffix(s, "/s") || err != nil {
			t.Errorf("%s shows %q, not a rate per second", what, s)
		}
		return v
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		var done bool
		onLoop(r, func() {
			figs := gtkloop.InspectorFigures(r)
			if figs["passes/s"] != "–" {
				mostPasses = max(mostPasses, perSecond("passes/s", figs["passes/s"]))
				mostCallbacks = max(mostCallbacks, perSecond("callbacks/s", figs["callbacks/s"]))
			}
			done = ticks == 40 && read == 3 && slices.ContainsFunc(gtkloop.InspectorRows(r, "slow"), func(row []string) bool {
				return row[3] == longSite
			})
		})
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10s: %d ticks, %d bytes read, the long callback not listed", ticks, read)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if mostPasses <= 0 || mostCallbacks <= 0 {
		t.Errorf("rates shown: at most %v passes/s, %v callbacks/s; want some", mostPasses, mostCallbacks)
	}

	// What the window shows is what the reactor says.
	onLoop(r, func() {
		if n := gtkloop.InspectorTicks(r); n == 0 {
			t.Error("the inspector's timer never updated it")
		}
		gtkloop.InspectorUpdate(r)
		s := r.Stats()
		figs := gtkloop.InspectorFigures(r)
		d := gtkloop.InspectorDuration
		want := map[string]string{
			"passes": fmt.Sprint(s.Passes), "callbacks": fmt.Sprint(s.Callbacks),
			"timers": fmt.Sprint(s.Timers), "readers": fmt.Sprint(s.Readers),
			"writers": fmt.Sprint(s.Writers), "calls": fmt.Sprint(s.Calls),
			"goroutine calls": fmt.Sprint(s.GoroutineCalls), "panics": fmt.Sprint(s.Panics),
			"slow": fmt.Sprint(s.Slow), "slow threshold": "over " + d(reactor.FrameThreshold),
			"watched": fmt.Sprint(s.Watched), "pending": fmt.Sprint(s.Pending), "queued": fmt.Sprint(s.Queued),
		}
		for name, h := range map[string]reactor.Histogram{"pass time": s.PassTime, "loop lag": s.Lag} {
			want[name+" count"] = fmt.Sprint(h.Count)
			want[name+" mean"] = d(h.Mean())
			want[name+" p50"] = d(h.Quantile(0.5))
			want[name+" p99"] = d(h.Quantile(0.99))
			want[name+" max"] = d(h.Max)
		}
		for name, w := range want {
			if figs[name] != w {
				t.Errorf("%s: the window shows %q, Stats says %q", name, figs[name], w)
			}
		}
		if s.Timers < 40 || s.Readers < 1 || s.Slow < 2 || s.Watched != 1 || s.PassTime.Count == 0 || s.PassTime.Max < 50*time.Millisecond {
			t.Errorf("Stats do not show the workload: %+v", s)
		}
		t.Logf("window: %q", figs)

		// The slow callbacks, the slowest first: the long one with the
		// line that registered it, before the short one.
		rows := gtkloop.InspectorRows(r, "slow")
		cbs := r.SlowCallbacks()
		if len(rows) != len(cbs) {
			t.Errorf("%d slow callbacks listed, %d detected", len(rows), len(cbs))
		}
		long, short := -1, -1
		for i, row := range rows {
			switch row[3] {
			case longSite:
				long = i
			case shortSite:
				short = i
			}
			if i > 0 && parse(t, row[0]) > parse(t, rows[i-1][0]) {
				t.Errorf("slow callbacks not slowest first: %q after %q", row, rows[i-1])
			}
		}
		if long < 0 || short < 0 || long > short {
			t.Errorf("the long callback is row %d, the short one %d, of %q", long, short, rows)
		} else {
			i := slices.IndexFunc(cbs, func(c reactor.SlowCallback) bool { return strings.HasSuffix(c.Site, longSite) })
			if i < 0 {
				t.Fatalf("the long callback is not among %+v", cbs)
			}
			c := cbs[i]
			wantRow := []string{d(c.Duration), "timer", gtkloop.ShortFunc(c.Func), longSite, ""}
			if !slices.Equal(rows[long], wantRow) || c.Duration < 45*time.Millisecond || !strings.Contains(c.Func, "TestInspectorShowsTheLoop") {
				t.Errorf("the long callback's row is %q, want %q (detected %+v)", rows[long], wantRow, c)
			}
		}
		t.Logf("slow callbacks: %q", rows)

		// The descriptors: the pipe, and its reader.
		fds := gtkloop.InspectorRows(r, "fds")
		descs := r.Descriptors()
		if len(fds) != len(descs) || len(descs) != 1 {
			t.Fatalf("descriptors listed: %q; watched: %+v", fds, descs)
		}
		got, reader := fds[0], gtkloop.ShortFunc(descs[0].Reader)
		if got[0] != strconv.Itoa(pr) || !strings.HasPrefix(got[1], "pipe:[") || got[2] != reader || got[3] != "" ||
			!strings.Contains(reader, "TestInspectorShowsTheLoop") {
			t.Errorf("descriptor row %q, want the pipe's read end %d, read by %s", got, pr, reader)
		}
		t.Logf("descriptors: %q", fds)
	})

	// A picture of the window, for people to look at: figures, red bars
	// (the passes that ran the slow callbacks) and blue ones.
	time.Sleep(300 * time.Millisecond)
	img := wintest.Grab(t, wintest.WindowID(t, inspectorTitle), "inspector-gtk")
	blue := func(r, g, b uint8) bool { return r < 80 && g > 80 && g < 130 && b > 180 }
	dark := func(r, g, b uint8) bool { return r < 90 && g < 90 && b < 90 }
	nb, nr, nd := count(img, img.Bounds(), blue), count(img, img.Bounds(), red), count(img, img.Bounds(), dark)
	t.Logf("screenshot %v: %d blue, %d red, %d dark pixels", img.Bounds().Size(), nb, nr, nd)
	// The two histograms' frame lines are 64 red pixels of their own.
	if nb < 50 || nr < 64+20 || nd < 2000 {
		t.Errorf("the screenshot shows %d blue (bars), %d red (slow bars), %d dark (text) pixels", nb, nr, nd)
	}

	// Closed (twice), the inspector leaves nothing behind.
	var timers uint64
	onLoop(r, func() {
		closeInspector()
		closeInspector()
		s := r.Stats()
		if s.Pending != before.Pending {
			t.Errorf("%d timers pending after close, %d before the inspector", s.Pending, before.Pending)
		}
		if s.Timing != before.Timing {
			t.Errorf("pass times recorded %v after close, %v before the inspector", s.Timing, before.Timing)
		}
		if th := r.SlowThreshold(); th != 0 {
			t.Errorf("slow-callback detection still on after close (threshold %v)", th)
		}
		if gtkloop.InspectorWindow(r) != nil {
			t.Error("an inspector is still open after close")
		}
		timers = s.Timers
		r.RemoveReader(pr)
	})
	time.Sleep(3 * 250 * time.Millisecond)
	onLoop(r, func() {
		if n := r.Stats().Timers; n != timers {
			t.Errorf("%d timers ran after close", n-timers)
		}
	})
	if inspectorOnScreen() {
		t.Error("the inspector's window is still on screen after close")
	}
	onLoop(r, r.Stop)
	ok(t, wait())
}

// parse reads a duration the inspector wrote.
func parse(t *testing.T, s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Errorf("duration %q: %v", s, err)
	}
	return d
}

func TestInspectorClosesWithItsWindowOrItsReactor(t *testing.T) {
	warmUp(t)
	warmInspector(t)
	reactortest.CheckLeaks(t)

	if _, err := gtkloop.Inspect(nil); err == nil {
		t.Error("Inspect(nil) did not fail")
	}

	// The window's close button (gtk_window_close does what the window
	// manager's does).
	r := newReactor(t, detectionOff)
	timing := timingAlone()
	wait := start(t, r)
	if _, err := gtkloop.Inspect(r); !errors.Is(err, gtkloop.ErrWrongThread) {
		t.Errorf("Inspect off the GTK thread: %v, want ErrWrongThread", err)
	}
	var pending int
	var win *gtk.Window
	var close1, close2 func()
	onLoop(r, func() {
		pending = r.Stats().Pending
		var err error
		close1, err = gtkloop.Inspect(r)
		ok(t, err)
		win = gtkloop.InspectorWindow(r)
		close2, err = gtkloop.Inspect(r)
		ok(t, err)
		if gtkloop.InspectorWindow(r) != win || r.Stats().Pending != pending+1 {
			t.Error("a second Inspect opened a second inspector")
		}
	})
	if close1 == nil || close2 == nil {
		t.FailNow()
	}
	wintest.WindowID(t, inspectorTitle)
	onLoop(r, win.Close)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var open bool
		onLoop(r, func() { open = gtkloop.InspectorWindow(r) != nil })
		if !open {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the inspector is still open 5s after its window was closed")
		}
	}
	onLoop(r, func() {
		close1() // closed already: nothing to do
		close2()
		if s := r.Stats(); s.Pending != pending || s.Timing != timing || r.SlowThreshold() != 0 {
			t.Errorf("after the window closed: %d timers pending (%d before), timing %v, slow threshold %v", s.Pending, pending, s.Timing, r.SlowThreshold())
		}
	})
	if inspectorOnScreen() {
		t.Error("the inspector's window is still on screen after it was closed")
	}

	// Detection that was on stays on, at its threshold.
	onLoop(r, func() {
		r.SetSlowThreshold(30 * time.Millisecond)
		closeInspector, err := gtkloop.Inspect(r)
		ok(t, err)
		if th := r.SlowThreshold(); th != 30*time.Millisecond {
			t.Errorf("threshold %v with the inspector open, was 30ms", th)
		}
		closeInspector()
		if th := r.SlowThreshold(); th != 30*time.Millisecond || !r.Stats().Timing {
			t.Errorf("threshold %v after close (timing %v), was 30ms", th, r.Stats().Timing)
		}
		r.SetSlowThreshold(-1)
	})
	onLoop(r, r.Stop)
	ok(t, wait())

	// The reactor closed on the GTK thread with the window open, as a
	// program's deferred Close after gtk.Main returns.
	r2 := newReactor(t, detectionOff)
	wait2 := start(t, r2)
	onLoop(r2, func() {
		_, err := gtkloop.Inspect(r2)
		ok(t, err)
		win = gtkloop.InspectorWindow(r2)
	})
	wintest.WindowID(t, inspectorTitle)
	onLoop(r2, r2.Stop)
	ok(t, wait2())
	onMain(func() {
		ok(t, r2.Close())
		if gtkloop.InspectorWindow(r2) != nil || win.IsVisible() {
			t.Error("the inspector is still open after its reactor closed")
		}
		if r2.Stats().Timing != timing {
			t.Error("pass times still recorded after the reactor closed")
		}
		if _, err := gtkloop.Inspect(r2); err == nil {
			t.Error("Inspect of a closed reactor did not fail")
		}
	})

	// The reactor closed on another goroutine: the window goes at the
	// GTK thread's next iteration.
	r3 := newReactor(t, detectionOff)
	wait3 := start(t, r3)
	onLoop(r3, func() {
		_, err := gtkloop.Inspect(r3)
		ok(t, err)
		win = gtkloop.InspectorWindow(r3)
	})
	wintest.WindowID(t, inspectorTitle)
	onLoop(r3, r3.Stop)
	ok(t, wait3())
	ok(t, r3.Close())
	onMain(func() {
		for gtk.EventsPending() {
			gtk.MainIteration()
		}
		if gtkloop.InspectorWindow(r3) != nil || win.IsVisible() {
			t.Error("the inspector is still open after its reactor closed on another goroutine")
		}
	})
	if inspectorOnScreen() {
		t.Error("an inspector's window is still on screen")
	}
}
