package fyneloop_test

import (
	"cmp"
	"fmt"
	"image"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"golang.org/x/sys/unix"

	fyneloop "github.com/loomkit/loom/guiloop/fyne"
	"github.com/loomkit/loom/internal/wintest"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
)

// TestInspectorView shows two sets of figures, two seconds apart, in the
// inspector's content alone, with no window, and checks what it shows:
// the totals and the rates between them, the gauges, the histograms'
// figures and bars, the slow callbacks slowest first with their sites
// shortened, and the descriptors; then that Fyne's test renderer draws
// those texts (its markup of the content).
func TestInspectorView(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s0 := reactor.Stats{Passes: 1000, Callbacks: 3000, Timers: 1000, Readers: 1500, Writers: 200,
		Calls: 250, GoroutineCalls: 50, Slow: 1, Watched: 2, Pending: 3, Queued: 1}
	s1 := reactor.Stats{Passes: 1500, Callbacks: 4000, Timers: 1200, Readers: 2100, Writers: 220,
		Calls: 270, GoroutineCalls: 210, Panics: 1, Slow: 3, Watched: 2, Pending: 4, Queued: 0, Timing: true}
	s1.PassTime.Buckets[3], s1.PassTime.Buckets[5], s1.PassTime.Buckets[16] = 100, 10, 1
	s1.PassTime.Count, s1.PassTime.Sum, s1.PassTime.Max = 111, 100*5*time.Microsecond+10*20*time.Microsecond+50*time.Millisecond, 50*time.Millisecond
	slow := []reactor.SlowCallback{
		{Kind: "timer", Func: "github.com/loomkit/loom/apps/hello.(*App).tick", FD: -1, Duration: 20 * time.Millisecond, At: t0},
		{Kind: "reader", Func: "main.main.func1", Site: "/home/x/src/loom/apps/hello/main.go:42", FD: 7, Duration: 80 * time.Millisecond, At: t0},
		{Kind: "coroutine", Func: "github.com/x/y.run.func2", Site: "/src/y/run.go:10", Until: "/src/y/wait.go:20", FD: -1, Duration: 30 * time.Millisecond, At: t0},
	}
	fds := []reactor.Descriptor{{FD: 7, Reader: "main.main.func1"}, {FD: 9, Writer: "github.com/x/net.(*conn).flush"}}
	describe := map[int]string{7: "pipe:[1234]", 9: "socket:[5678]"}

	var v *fyneloop.InspectorView
	var markup string
	// Widgets are made and drawn on Fyne's goroutine, where the app's own
	// windows are drawn: Fyne's caches are shared.
	onFyne(func() {
		v = fyneloop.NewInspectorView(func(fd int) string { return describe[fd] })
		v.Show(t0, s0, 0, nil, nil)
		v.Show(t0.Add(2*time.Second), s1, 16*time.Millisecond, slow, fds)
		v.Content().Resize(fyne.NewSize(880, 720))
		markup = test.RenderObjectToMarkup(v.Content())
	})

	for key, want := range map[string][2]string{
		"passes":          {"1,500", "250/s"},
		"callbacks":       {"4,000", "500/s"},
		"timers":          {"1,200", "100/s"},
		"readers":         {"2,100", "300/s"},
		"writers":         {"220", "10/s"},
		"calls":           {"270", "10/s"},
		"goroutine calls": {"210", "80/s"},
		"panics":          {"1", "0.5/s"},
		"slow":            {"3", "1/s"},
		"watched":         {"2", ""},
		"pending":         {"4", ""},
		"queued":          {"0", ""},
	} {
		if value, rate := v.Figure(key); value != want[0] || rate != want[1] {
			t.Errorf("%s: shows %q, %q; want %q, %q", key, value, rate, want[0], want[1])
		}
	}
	if got := v.Threshold(); got != "16ms" {
		t.Errorf("threshold %q, want 16ms", got)
	}
	wantPass := map[string]string{"count": "111", "mean": "456.8µs", "p50": "8µs", "p99": "32µs", "max": "50ms"}
	if got := v.Histogram("pass"); !mapsEqual(got, wantPass) {
		t.Errorf("pass time shows %v, want %v", got, wantPass)
	}
	wantLag := map[string]string{"count": "0", "mean": "0", "p50": "0", "p99": "0", "max": "0"}
	if got := v.Histogram("lag"); !mapsEqual(got, wantLag) {
		t.Errorf("timer lag shows %v, want %v", got, wantLag)
	}
	var bars []float32
	onFyne(func() { bars = v.Bars("pass") })
	for i, h := range bars {
		if full := s1.PassTime.Buckets[i] > 0; full != (h > 0) {
			t.Errorf("pass time bucket %d holds %d, its bar is %vpx high", i, s1.PassTime.Buckets[i], h)
		}
	}
	if !(bars[3] > bars[5] && bars[5] > bars[16] && bars[16] > 0) {
		t.Errorf("bars 3, 5, 16 are %v, %v, %vpx high for 100, 10 and 1 passes", bars[3], bars[5], bars[16])
	}
	onFyne(func() { bars = v.Bars("lag") })
	if i := slices.IndexFunc(bars, func(h float32) bool { return h != 0 }); i >= 0 {
		t.Errorf("an empty histogram has a bar: %v", bars)
	}

	wantSlow := [][]string{
		{"80ms", "reader, fd 7", "main.main.func1", "hello/main.go:42", ""},
		{"30ms", "coroutine", "y.run.func2", "y/run.go:10", "y/wait.go:20"},
		{"20ms", "timer", "hello.(*App).tick", "", ""},
	}
	if got := v.SlowRows(); !slices.EqualFunc(got, wantSlow, slices.Equal) {
		t.Errorf("slow callbacks:\n%q\nwant\n%q", got, wantSlow)
	}
	wantFDs := [][]string{{"7", "pipe:[1234]", "main.main.func1", ""}, {"9", "socket:[5678]", "", "net.(*conn).flush"}}
	if got := v.FDRows(); !slices.EqualFunc(got, wantFDs, slices.Equal) {
		t.Errorf("descriptors:\n%q\nwant\n%q", got, wantFDs)
	}
	for _, s := range []string{"1,500", "250/s", "456.8µs", "80ms", "reader, fd 7", "hello/main.go:42", "y/wait.go:20",
		"pipe:[1234]", "net.(*conn).flush", "Slowest recent callbacks, over 16ms", "duration", "until", "writer"} {
		if !strings.Contains(markup, s) {
			t.Errorf("the rendered content has no %q", s)
		}
	}
	if t.Failed() {
		t.Logf("markup:\n%s", markup)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// siteOf is the file:line of its caller: for siteOf(r.CallLater(d, func()
// {...})) on one line, the site of the function literal.
func siteOf(*reactor.DelayedCall) string {
	_, file, line, _ := runtime.Caller(1)
	return file + ":" + strconv.Itoa(line)
}

// shortSite is a site as the inspector shows it: the file's last two
// path elements and the line.
func shortSite(site string) string {
	parts := strings.Split(site, "/")
	return strings.Join(parts[max(len(parts)-2, 0):], "/")
}

// TestInspectorWindow opens the inspector on a running reactor in the test
// app and runs a workload: timers, a pipe's reader, calls from a
// goroutine and a timer that sleeps 50ms. It checks that the window's own
// refresh lists the slow timer, with this file's line, and that the
// figures shown are r.Stats() and the descriptors r.Descriptors(), the
// pipe's with what /proc says it is; it takes a screenshot of the window
// (out/inspector-fyne.png). Closed, the inspector leaves no timer, no
// timing and no detection behind, and no goroutine or descriptor.
func TestInspectorWindow(t *testing.T) {
	reactortest.CheckLeaks(t)
	complaints := watchFyneLog(t)
	r := newReactor(t, reactor.Backends()[0])
	rd, wr := reactortest.Pipe(t)
	start(t, theApp, r)

	var before reactor.Stats
	var threshold time.Duration
	reactortest.OnLoop(t, r, func() { before, threshold = r.Stats(), r.SlowThreshold() })
	if before.Timing || threshold != 0 {
		t.Fatalf("before the inspector: timing %v, slow threshold %v; want neither", before.Timing, threshold)
	}
	windows := countWindows()

	var in *fyneloop.Inspector
	var err error
	reactortest.OnLoop(t, r, func() {
		in, err = fyneloop.OpenInspector(theApp, r)
		if err == nil {
			threshold = r.SlowThreshold()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reactortest.OnLoop(t, r, in.Close) })
	if threshold != reactor.FrameThreshold {
		t.Errorf("with the inspector open the slow threshold is %v, want %v", threshold, reactor.FrameThreshold)
	}

	// The workload.
	var slowSite string
	var read int
	ticked, slept := make(chan struct{}), make(chan struct{})
	reactortest.OnLoop(t, r, func() {
		if err := r.AddReader(rd, func() {
			var buf [64]byte
			n, _ := unix.Read(rd, buf[:])
			read += max(n, 0)
		}); err != nil {
			t.Error(err)
		}
		n := 0
		var tick func()
		tick = func() {
			if n++; n == 40 {
				close(ticked)
				return
			}
			r.CallLater(5*time.Millisecond, tick)
		}
		r.CallLater(5*time.Millisecond, tick)
		slowSite = siteOf(r.CallLater(30*time.Millisecond, func() { time.Sleep(50 * time.Millisecond); close(slept) }))
	})
	for range 20 {
		if _, err := unix.Write(wr, []byte("x")); err != nil {
			t.Fatal(err)
		}
		r.CallFromGoroutine(func() {})
		time.Sleep(2 * time.Millisecond)
	}
	within(t, ticked, 10*time.Second, "40 ticks")
	within(t, slept, 10*time.Second, "the 50ms timer")
	reactortest.Eventually(t, r, 5*time.Second, "the reader read 20 bytes", func() bool { return read == 20 })

	// The window refreshes itself: the slow timer shows up.
	site := shortSite(slowSite)
	reactortest.Eventually(t, r, 5*time.Second, "the 50ms timer in the window", func() bool {
		return slices.ContainsFunc(in.View().SlowRows(), func(row []string) bool { return row[3] == site })
	})

	// What the window shows is what the reactor says, read in the same
	// callback.
	var s reactor.Stats
	var slowList []reactor.SlowCallback
	var fdRows, slowRows [][]string
	figures := map[string][2]string{}
	hist := map[string]map[string]string{}
	bars := map[string][]float32{}
	reactortest.OnLoop(t, r, func() {
		in.Refresh()
		s, slowList = r.Stats(), r.SlowCallbacks()
		v := in.View()
		for _, key := range []string{"passes", "callbacks", "timers", "readers", "writers", "calls", "goroutine calls", "panics", "slow", "watched", "pending", "queued"} {
			value, rate := v.Figure(key)
			figures[key] = [2]string{value, rate}
		}
		for _, h := range []string{"pass", "lag"} {
			hist[h], bars[h] = v.Histogram(h), v.Bars(h)
		}
		fdRows, slowRows = v.FDRows(), v.SlowRows()
	})
	for key, want := range map[string]uint64{"passes": s.Passes, "callbacks": s.Callbacks, "timers": s.Timers,
		"readers": s.Readers, "writers": s.Writers, "calls": s.Calls, "goroutine calls": s.GoroutineCalls,
		"panics": s.Panics, "slow": s.Slow, "watched": uint64(s.Watched), "pending": uint64(s.Pending), "queued": uint64(s.Queued)} {
		if got := figures[key][0]; got != fyneloop.FormatCount(want) {
			t.Errorf("%s: the window shows %q, Stats %d", key, got, want)
		}
	}
	for _, key := range []string{"passes", "callbacks", "timers", "readers"} {
		if rate := figures[key][1]; !strings.HasSuffix(rate, "/s") {
			t.Errorf("%s: rate %q", key, rate)
		}
	}
	if s.Readers < 1 || s.Timers < 41 || s.GoroutineCalls < 20 || s.Slow < 1 || s.Watched != 1 {
		t.Errorf("Stats after the workload: %+v", s)
	}
	if !s.Timing || s.Pending != before.Pending+1 {
		t.Errorf("with the inspector open: timing %v, %d timers pending (%d before); want timing and its own timer", s.Timing, s.Pending, before.Pending)
	}
	for name, h := range map[string]*reactor.Histogram{"pass": &s.PassTime, "lag": &s.Lag} {
		want := map[string]string{"count": fyneloop.FormatCount(h.Count), "mean": fyneloop.FormatDuration(h.Mean()),
			"p50": fyneloop.FormatDuration(h.Quantile(0.5)), "p99": fyneloop.FormatDuration(h.Quantile(0.99)), "max": fyneloop.FormatDuration(h.Max)}
		if !mapsEqual(hist[name], want) {
			t.Errorf("%s: the window shows %v, Stats %v", name, hist[name], want)
		}
		if h.Count == 0 {
			t.Errorf("%s: no count after the workload", name)
		}
		for i, b := range bars[name] {
			if (h.Buckets[i] > 0) != (b > 0) {
				t.Errorf("%s: bucket %d holds %d, its bar is %vpx high", name, i, h.Buckets[i], b)
			}
		}
	}
	if s.PassTime.Max < 50*time.Millisecond {
		t.Errorf("the longest pass took %v, less than the 50ms timer", s.PassTime.Max)
	}

	// The slow callbacks, slowest first, the 50ms timer among them.
	sorted := slices.Clone(slowList)
	slices.SortStableFunc(sorted, func(a, b reactor.SlowCallback) int {
		return cmp.Or(cmp.Compare(b.Duration, a.Duration), b.At.Compare(a.At))
	})
	if len(slowRows) != len(sorted) {
		t.Errorf("the window lists %d slow callbacks, SlowCallbacks %d", len(slowRows), len(sorted))
	}
	for i := range min(len(slowRows), len(sorted)) {
		if slowRows[i][0] != fyneloop.FormatDuration(sorted[i].Duration) {
			t.Errorf("slow callback %d: %q, want %s first", i, slowRows[i], fyneloop.FormatDuration(sorted[i].Duration))
		}
	}
	found := false
	for i, c := range sorted {
		if c.Site != slowSite {
			continue
		}
		found = true
		row := slowRows[i]
		if c.Duration < 45*time.Millisecond || row[1] != "timer" || !strings.HasPrefix(row[2], "fyne_test.TestInspectorWindow.") || row[3] != site || row[4] != "" {
			t.Errorf("the 50ms timer (%v) shows as %q", c.Duration, row)
		}
	}
	if !found {
		t.Errorf("SlowCallbacks has no callback registered at %s: %+v", slowSite, slowList)
	}

	// The descriptors: the pipe's read end, and what it is.
	what, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", rd))
	if err != nil {
		t.Fatal(err)
	}
	if len(fdRows) != 1 || fdRows[0][0] != strconv.Itoa(rd) || fdRows[0][1] != what ||
		!strings.HasPrefix(what, "pipe:[") || !strings.HasPrefix(fdRows[0][2], "fyne_test.TestInspectorWindow.") || fdRows[0][3] != "" {
		t.Errorf("descriptors %q, want the pipe's fd %d (%s) and its reader", fdRows, rd, what)
	}

	// On screen: the tables' cells hold those rows, and the window's
	// picture.
	img := inspectorScreenshot(t, r)
	cells := map[string][]string{}
	reactortest.OnLoop(t, r, func() { cells["slow"], cells["fd"] = in.View().Cells("slow"), in.View().Cells("fd") })
	for _, want := range []struct{ table, text string }{{"slow", site}, {"slow", "timer"}, {"slow", "duration"},
		{"fd", strconv.Itoa(rd)}, {"fd", what}, {"fd", "reader"}} {
		if !slices.Contains(cells[want.table], want.text) {
			t.Errorf("no cell %q in the %s table: %q", want.text, want.table, cells[want.table])
		}
	}
	if b := img.Bounds(); b.Dx() < 600 || b.Dy() < 500 {
		t.Errorf("the inspector's screenshot is %dx%d", b.Dx(), b.Dy())
	}
	if n := colours(img); n < 3 {
		t.Errorf("the inspector's screenshot has %d colours: nothing drawn", n)
	}

	// A second Inspect finds the window open; its close closes it, and
	// closing again does nothing.
	reactortest.OnLoop(t, r, func() {
		r.RemoveReader(rd)
		closeIt, err := fyneloop.Inspect(theApp, r)
		if err != nil {
			t.Error(err)
			return
		}
		closeIt()
		closeIt()
		in.Close()
	})
	var after reactor.Stats
	reactortest.OnLoop(t, r, func() { after, threshold = r.Stats(), r.SlowThreshold() })
	if after.Pending != before.Pending || after.Timing || threshold != 0 || !in.Stopped() {
		t.Errorf("closed: %d timers pending (%d before), timing %v, slow threshold %v, stopped %v; want no timer, no timing, no detection",
			after.Pending, before.Pending, after.Timing, threshold, in.Stopped())
	}
	time.Sleep(3 * fyneloop.InspectorEvery)
	var later reactor.Stats
	reactortest.OnLoop(t, r, func() { later = r.Stats() })
	if later.Timers != after.Timers {
		t.Errorf("%d timers ran after the inspector closed", later.Timers-after.Timers)
	}
	waitWindows(t, windows)
	if c := complaints(); c != "" {
		t.Errorf("Fyne's thread checks complained:\n%s", c)
	}
}

// inspectorScreenshot raises the inspector's window, lets Fyne draw a few
// frames and saves the window's picture as out/inspector-fyne.png.
func inspectorScreenshot(t *testing.T, r *reactor.Reactor) image.Image {
	t.Helper()
	id := wintest.WindowID(t, fyneloop.InspectorTitle)
	wintest.Xdotool(t, "windowraise", id)
	reactortest.OnLoop(t, r, func() {})
	time.Sleep(2 * fyneloop.InspectorEvery)
	return wintest.Grab(t, id, "inspector-fyne")
}

// colours counts the distinct colours of img, up to 100.
func colours(img image.Image) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y && len(seen) < 100; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
		}
	}
	return len(seen)
}

// countWindows counts the test app's windows.
func countWindows() int {
	var n int
	onFyne(func() { n = len(theApp.Driver().AllWindows()) })
	return n
}

// waitWindows waits until the test app has n windows again.
func waitWindows(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for countWindows() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d windows 5s after the inspector closed, want %d", countWindows(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestInspectorWindowClosed closes the inspector's window as its close
// button does: the inspector stops.
func TestInspectorWindowClosed(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t, reactor.Backends()[0])
	start(t, theApp, r)
	windows := countWindows()
	var closeIt func()
	var err error
	reactortest.OnLoop(t, r, func() { closeIt, err = fyneloop.Inspect(theApp, r) })
	if err != nil {
		t.Fatal(err)
	}
	waitWindows(t, windows+1)
	onFyne(func() {
		for _, w := range theApp.Driver().AllWindows() {
			if w.Title() == fyneloop.InspectorTitle {
				w.Close()
			}
		}
	})
	var s reactor.Stats
	var threshold time.Duration
	reactortest.OnLoop(t, r, func() { s, threshold = r.Stats(), r.SlowThreshold() })
	if s.Pending != 0 || s.Timing || threshold != 0 {
		t.Errorf("window closed: %d timers pending, timing %v, slow threshold %v; want none", s.Pending, s.Timing, threshold)
	}
	reactortest.OnLoop(t, r, closeIt) // closed already: nothing happens
	waitWindows(t, windows)
}

// TestInspectorKeepsDetection: with slow-callback detection on before
// the inspector opens, it stays on, with its threshold, once it closes.
func TestInspectorKeepsDetection(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t, reactor.Backends()[0], reactor.WithSlowCallbacks(40*time.Millisecond))
	start(t, theApp, r)
	windows := countWindows()
	var threshold time.Duration
	var timing bool
	reactortest.OnLoop(t, r, func() {
		closeIt, err := fyneloop.Inspect(theApp, r)
		if err != nil {
			t.Error(err)
			return
		}
		closeIt()
		threshold, timing = r.SlowThreshold(), r.Stats().Timing
	})
	if threshold != 40*time.Millisecond || !timing {
		t.Errorf("after the inspector: slow threshold %v, timing %v; want 40ms and timing", threshold, timing)
	}
	waitWindows(t, windows)
}

// TestInspectorReactorClosed closes the reactor with the inspector open:
// its window closes, and nothing is left.
func TestInspectorReactorClosed(t *testing.T) {
	reactortest.CheckLeaks(t)
	r, err := reactor.New(reactor.WithBackend(reactor.Backends()[0]))
	if err != nil {
		t.Fatal(err)
	}
	p := start(t, theApp, r)
	windows := countWindows()
	var in *fyneloop.Inspector
	reactortest.OnLoop(t, r, func() { in, err = fyneloop.OpenInspector(theApp, r) })
	if err != nil {
		t.Fatal(err)
	}
	waitWindows(t, windows+1)
	time.Sleep(2 * fyneloop.InspectorEvery) // a refresh or two
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if !in.Stopped() {
		t.Error("the inspector is still open after its reactor closed")
	}
	waitWindows(t, windows)
	onFyne(in.Close) // closed already: nothing happens
	onFyne(func() {
		if _, err := fyneloop.Inspect(theApp, r); err == nil {
			t.Error("Inspect on a closed reactor: no error")
		}
	})
}

// TestInspectNeedsAppAndReactor: nil for either is an error.
func TestInspectNeedsAppAndReactor(t *testing.T) {
	r := newReactor(t, reactor.Backends()[0])
	if _, err := fyneloop.Inspect(nil, r); err == nil {
		t.Error("Inspect(nil, r): no error")
	}
	if _, err := fyneloop.Inspect(theApp, nil); err == nil {
		t.Error("Inspect(app, nil): no error")
	}
}
