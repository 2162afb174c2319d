package filewatch

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/watch"
)

func newReactor(t *testing.T) *reactor.Reactor {
	t.Helper()
	r, err := reactor.New(reactor.WithoutSignalHandlers())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// newApp makes a core on a new reactor; the test goroutine is the
// reactor goroutine (it runs the passes, in until).
func newApp(t *testing.T, cfg Config) (*reactor.Reactor, *App) {
	t.Helper()
	r := newReactor(t)
	a, err := New(r, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return r, a
}

// until runs the reactor until cond holds, for up to 20 seconds.
func until(t *testing.T, r *reactor.Reactor, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 20s", what)
		}
		if err := r.RunOnce(10 * time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
}

// rows returns the event list's rows as "kind path", with the note if
// any.
func rows(a *App) []string {
	var out []string
	for i := range a.RowCount() {
		r, _ := a.Row(i)
		s := r.Kind + " " + r.Path
		if r.Note != "" {
			s += " (" + r.Note + ")"
		}
		out = append(out, s)
	}
	return out
}

func tailText(a *App) []string {
	var out []string
	for i := range a.TailCount() {
		l, _ := a.TailLine(i)
		if l.Marker != "" {
			out = append(out, "["+l.Marker+"]")
		} else {
			out = append(out, l.Text)
		}
	}
	return out
}

func has(list []string, s string) bool { return slices.Contains(list, s) }

// hasPart says whether a string of list holds part.
func hasPart(list []string, part string) bool {
	return slices.ContainsFunc(list, func(s string) bool { return strings.Contains(s, part) })
}

// TestGeneratorRound: with no path, the core watches a temporary folder
// natively (recursively) and the generator's round of six steps shows as
// created, written, renamed (old → new), created in the subfolder,
// attrib and removed events, with every step's line in the tail pane.
func TestGeneratorRound(t *testing.T) {
	reactortest.CheckLeaks(t)
	r, a := newApp(t, Config{Recursive: true, NoGenerate: true})
	g := a.Generator()
	if g == nil {
		t.Fatal("no generator with no path")
	}
	v := a.View()
	if v.Path != g.Dir() || !v.IsDir || !v.Recursive || v.Backend != watch.Inotify || v.Tail.Path != g.LogPath() {
		t.Fatalf("view %+v", v)
	}
	if !strings.Contains(v.Status, "folder and its subfolders") || !strings.Contains(v.Status, "with inotify") {
		t.Errorf("status %q", v.Status)
	}
	for range 12 { // two rounds
		g.Step()
	}
	want := []string{
		"created note-0.txt",
		"written note-0.txt",
		"renamed note-0.txt → note-0.old",
		"created data/report-0.csv",
		"attrib note-0.old",
		"created note-1.txt",
		"renamed note-1.txt → note-1.old",
		"removed note-0.old",
		"removed data/report-0.csv",
	}
	until(t, r, "events of two rounds", func() bool {
		got := rows(a)
		for _, w := range want {
			if !has(got, w) {
				return false
			}
		}
		return true
	})
	until(t, r, "the tail's lines", func() bool { return hasPart(tailText(a), " INFO step 12: removed note-0.old and data/report-0.csv") })
	lines := tailText(a)
	for i := 1; i <= 12; i++ {
		n := 0
		for _, l := range lines {
			if strings.Contains(l, fmt.Sprintf(" step %d: ", i)) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("step %d's line is in the tail pane %d times:\n%s", i, n, strings.Join(lines, "\n"))
		}
	}
	v = a.View()
	count := map[string]int64{}
	for _, c := range v.Counts {
		count[c.Kind] = c.N
	}
	if count["created"] < 4 || count["renamed"] != 2 || count["removed"] != 2 || count["attrib"] < 2 || count["written"] < 1 {
		t.Errorf("counts %v (%s)", count, v.CountsText)
	}
	if v.Total != int64(a.RowCount()) || v.Kept != a.RowCount() {
		t.Errorf("total %d, kept %d, %d rows", v.Total, v.Kept, a.RowCount())
	}
	if v.Banner.Shown {
		t.Errorf("banner shown with no overflow: %+v", v.Banner)
	}
}

// TestTailRotationAndTruncation: the generator's log, rotated by rename
// and truncated (copytruncate) every few lines, is followed through both:
// the tail pane shows a marker for each, in the order they came, and
// every line written to a log that is then renamed is read (tail -F
// drains the old file).
func TestTailRotationAndTruncation(t *testing.T) {
	reactortest.CheckLeaks(t)
	const every = 4
	r, a := newApp(t, Config{Recursive: true, NoGenerate: true, RotateEvery: every})
	g := a.Generator()
	// The first line ("generator started") is the log's first; every 4
	// lines the log turns: rotated, rotated, truncated, rotated...
	steps := 0
	// step makes a step and waits for the tail pane to have read the log
	// to its end (its last line on disk).
	step := func() {
		g.Step()
		steps++
		b, err := os.ReadFile(g.LogPath())
		must(t, err)
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		last := lines[len(lines)-1]
		until(t, r, fmt.Sprintf("the tail pane at %q", last), func() bool {
			got := tailText(a)
			return len(got) > 0 && got[len(got)-1] == last
		})
	}
	for range 4 * every {
		step()
	}
	st := g.Stats()
	if st.Rotations != 3 || st.Truncations != 1 {
		t.Fatalf("the generator rotated %d and truncated %d times", st.Rotations, st.Truncations)
	}
	var markers []string
	for _, l := range tailText(a) {
		if strings.HasPrefix(l, "[") {
			markers = append(markers, l)
		}
	}
	want := []string{"[following]", "[rotated]", "[rotated]", "[truncated]", "[rotated]"}
	if !slices.Equal(markers, want) {
		t.Errorf("markers %v, want %v\n%s", markers, want, strings.Join(tailText(a), "\n"))
	}
	v := a.View()
	if v.Tail.Markers["rotated"] != 3 || v.Tail.Markers["truncated"] != 1 {
		t.Errorf("the view counts markers %v", v.Tail.Markers)
	}
	// Each step's line comes once; those before a rename come all.
	lines := tailText(a)
	for i := 1; i <= steps; i++ {
		n := 0
		for _, l := range lines {
			if strings.Contains(l, fmt.Sprintf(" step %d: ", i)) {
				n++
			}
		}
		if n > 1 || n == 0 && i != 3*every-1 {
			// The line of step 11, written just before the copytruncate
			// in the same callback, is in the copy only (watch.Tail's
			// doc); every other one is read.
			t.Errorf("step %d's line is in the tail pane %d times", i, n)
		}
	}
	// The events tell the rotations too.
	evs := rows(a)
	if !has(evs, "renamed app.log → app.log.1") {
		t.Errorf("no rename of the log among the events:\n%s", strings.Join(evs, "\n"))
	}
}

// TestOverflowAndRescan: a flood of writes made while the loop is held
// overflows inotify's queue, and the files made after them are lost from
// it: the list shows the overflow, the banner says events may have been
// missed and how many changes the rescan found, every file made is
// counted as created exactly once (found by the rescan), and the list
// keeps no more than its capacity. Dismissed, the banner goes until the
// next overflow, whose rescan finds the files removed.
func TestOverflowAndRescan(t *testing.T) {
	reactortest.CheckLeaks(t)
	r, a := newApp(t, Config{Recursive: true, NoGenerate: true, MaxEvents: 5000})
	until(t, r, "the watch", func() bool { return a.View().Backend != "" })
	if err := a.Flood(); err != nil {
		t.Fatal(err)
	}
	until(t, r, "the overflow's rescan", func() bool { return a.View().Banner.Rescanned >= FloodFiles })
	for range 20 { // what else may come
		r.RunOnce(10 * time.Millisecond)
	}
	v := a.View()
	if !v.Banner.Shown || v.Banner.Overflows != 1 {
		t.Fatalf("banner %+v after the flood", v.Banner)
	}
	if !strings.HasPrefix(v.Banner.Text, "Events may have been missed") ||
		!strings.Contains(v.Banner.Text, "A rescan compared the folder with what was known and found "+thousands(v.Banner.Rescanned)+" changes") {
		t.Errorf("banner text %q", v.Banner.Text)
	}
	if v.Kept != 5000 || a.RowCount() != 5000 {
		t.Errorf("the list keeps %d events (%d rows), want 5000", v.Kept, a.RowCount())
	}
	created := map[string]int{}
	for i := range a.RowCount() {
		row, _ := a.Row(i)
		if row.Kind == "created" && strings.HasPrefix(row.Path, "data/flood0-") {
			created[row.Path]++
			if row.Note != "found by the rescan" {
				t.Errorf("row %+v: made after the queue was full, not found by the rescan", row)
			}
		}
	}
	if len(created) != FloodFiles {
		t.Errorf("%d of the %d files made were told", len(created), FloodFiles)
	}
	for p, n := range created {
		if n != 1 {
			t.Errorf("%s created %d times", p, n)
		}
	}
	if o := a.log.counts[watch.Overflow]; o != 1 {
		t.Errorf("%d overflows counted", o)
	}
	a.SetFilter("overflow")
	if a.RowCount() != 1 {
		t.Errorf("%d overflow rows", a.RowCount())
	}
	a.SetFilter("")
	a.DismissBanner()
	if a.View().Banner.Shown {
		t.Error("the banner stays after Dismiss")
	}
	// The second flood removes the first one's files: another overflow,
	// another banner, and the rescan finds them gone.
	if err := a.Flood(); err != nil {
		t.Fatal(err)
	}
	until(t, r, "the second rescan", func() bool { return a.View().Banner.Rescanned >= 2*FloodFiles })
	removed := 0
	for _, row := range rows(a) {
		if strings.HasPrefix(row, "removed data/flood0-") {
			removed++
		}
	}
	if removed != FloodFiles || a.log.counts[watch.Overflow] != 2 || a.View().Banner.Overflows != 1 {
		t.Errorf("%d files of the first flood told removed, %d overflows, banner %+v", removed, a.log.counts[watch.Overflow], a.View().Banner)
	}
}

// TestInjectedOverflowBanner: an Overflow from the watcher and the
// rescan's events after it make the banner's words; another overflow
// counts in; Dismiss hides it.
func TestInjectedOverflowBanner(t *testing.T) {
	dir := t.TempDir()
	_, a := newApp(t, Config{Path: dir})
	a.event(watch.Event{Op: watch.Overflow})
	v := a.View()
	if !v.Banner.Shown || !strings.Contains(v.Banner.Text, "found no change") {
		t.Errorf("banner %+v", v.Banner)
	}
	a.event(watch.Event{Op: watch.Created, Path: filepath.Join(dir, "a"), Rescan: true})
	if v := a.View(); !strings.Contains(v.Banner.Text, "found 1 change ") {
		t.Errorf("banner %q", v.Banner.Text)
	}
	a.event(watch.Event{Op: watch.Overflow})
	a.event(watch.Event{Op: watch.Removed, Path: filepath.Join(dir, "b"), Rescan: true})
	v = a.View()
	if v.Banner.Overflows != 2 || v.Banner.Rescanned != 2 || !strings.Contains(v.Banner.Text, "(2 times)") || !strings.Contains(v.Banner.Text, "found 2 changes") {
		t.Errorf("banner %+v", v.Banner)
	}
	if got := rows(a); !slices.Equal(got, []string{
		"overflow (every watched folder) (events lost; a rescan follows)",
		"created a (found by the rescan)",
		"overflow (every watched folder) (events lost; a rescan follows)",
		"removed b (found by the rescan)",
	}) {
		t.Errorf("rows %q", got)
	}
	a.DismissBanner()
	if a.View().Banner.Shown {
		t.Error("the banner stays after Dismiss")
	}
}

// TestPolling: asked to poll, the core watches by polling (the view
// says so), and the generator's changes come as events.
func TestPolling(t *testing.T) {
	reactortest.CheckLeaks(t)
	r, a := newApp(t, Config{Recursive: true, Poll: true, PollInterval: 50 * time.Millisecond, NoGenerate: true})
	v := a.View()
	if v.Backend != watch.Polling || !strings.Contains(v.Status, "by polling") {
		t.Fatalf("backend %q, status %q", v.Backend, v.Status)
	}
	if v.Tail.Backend != watch.Polling {
		t.Errorf("the tail pane's backend is %q", v.Tail.Backend)
	}
	a.Generator().Step()
	until(t, r, "the note created", func() bool { return has(rows(a), "created note-0.txt") })
	until(t, r, "the tail's line", func() bool { return hasPart(tailText(a), "step 1: created note-0.txt") })
	// Back to the native backend, for the folder and the tail.
	a.SetPoll(false)
	if v := a.View(); v.Backend != watch.Inotify || v.Poll || v.Tail.Backend != watch.Inotify {
		t.Errorf("after SetPoll(false): backend %q, tail %q", v.Backend, v.Tail.Backend)
	}
	a.Generator().Step()
	until(t, r, "the note written", func() bool { return has(rows(a), "written note-0.txt") })
}

// TestRunningGenerator: started, the generator steps on its own
// LoopingCall; paused, it stops.
func TestRunningGenerator(t *testing.T) {
	reactortest.CheckLeaks(t)
	r, a := newApp(t, Config{Recursive: true, GenInterval: 20 * time.Millisecond})
	until(t, r, "a round of steps", func() bool { return a.View().Generator.Steps >= 6 })
	if !a.View().Generator.Running {
		t.Error("not running")
	}
	a.SetGenerating(false)
	steps := a.View().Generator.Steps
	for range 10 {
		r.RunOnce(10 * time.Millisecond)
	}
	if v := a.View().Generator; v.Running || v.Steps != steps {
		t.Errorf("paused: %+v, %d steps before", v, steps)
	}
	if !strings.Contains(a.View().Generator.Text, "paused") {
		t.Errorf("text %q", a.View().Generator.Text)
	}
}

// TestWatchAFile: a file given as the path is watched and followed.
func TestWatchAFile(t *testing.T) {
	reactortest.CheckLeaks(t)
	dir := t.TempDir()
	f := filepath.Join(dir, "server.log")
	if err := os.WriteFile(f, []byte("one\ntwo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, a := newApp(t, Config{Path: f})
	v := a.View()
	if v.IsDir || v.CanRecursive || v.Path != f || v.Tail.Path != f || v.Generator != nil {
		t.Fatalf("view %+v", v)
	}
	until(t, r, "the file's lines", func() bool { return has(tailText(a), "two") })
	if err := appendFile(f, "three\n"); err != nil {
		t.Fatal(err)
	}
	until(t, r, "the new line and its event", func() bool {
		return has(tailText(a), "three") && has(rows(a), "written server.log")
	})
}

// TestWatchCommands: another path, a bad path (what was watched stays),
// non-recursive, Clear.
func TestWatchCommands(t *testing.T) {
	reactortest.CheckLeaks(t)
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	r, a := newApp(t, Config{Path: dir, Recursive: true})
	if v := a.View(); v.Tail.Path != "" || v.Tail.Status != "No file followed: choose one" {
		t.Errorf("tail %+v", v.Tail)
	}
	must(t, os.WriteFile(filepath.Join(dir, "sub", "deep"), nil, 0o644))
	until(t, r, "the deep file", func() bool { return has(rows(a), "created sub/deep") })

	err := a.Watch(filepath.Join(dir, "missing"))
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Watch(missing) = %v", err)
	}
	if v := a.View(); v.Path != dir || !strings.Contains(v.Error, "cannot watch") {
		t.Errorf("after a bad path: path %q, error %q", v.Path, v.Error)
	}

	a.SetRecursive(false)
	must(t, os.WriteFile(filepath.Join(dir, "sub", "deeper"), nil, 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "top"), nil, 0o644))
	until(t, r, "the top file", func() bool { return has(rows(a), "created top") })
	for range 10 {
		r.RunOnce(5 * time.Millisecond)
	}
	if has(rows(a), "created sub/deeper") {
		t.Error("a file in a subfolder is told with Recursive off")
	}
	if v := a.View(); v.Recursive || strings.Contains(v.Status, "subfolders") || v.Error != "" {
		t.Errorf("status %q, error %q", v.Status, v.Error)
	}

	other := t.TempDir()
	must(t, a.Watch(other))
	must(t, os.WriteFile(filepath.Join(other, "x"), nil, 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "not-any-more"), nil, 0o644))
	until(t, r, "the new folder's file", func() bool { return has(rows(a), "created x") })
	if has(rows(a), "created not-any-more") {
		t.Error("the folder watched before is still watched")
	}
	if got := a.Watcher().Watched(); !slices.Equal(got, []string{other}) {
		t.Errorf("watched %v", got)
	}

	total := a.View().Total
	a.Clear()
	if v := a.View(); a.RowCount() != 0 || v.Total != total {
		t.Errorf("after Clear: %d rows, total %d (was %d)", a.RowCount(), v.Total, total)
	}
}

// TestFollowAndFilter: Follow is on at the start; a scroll up turns it
// off, back to the bottom on; the filter's words narrow the list and
// the summary says how many it shows.
func TestFollowAndFilter(t *testing.T) {
	dir := t.TempDir()
	_, a := newApp(t, Config{Path: dir})
	if !a.View().Follow {
		t.Error("Follow off at the start")
	}
	a.UserScrolled(false)
	if a.View().Follow {
		t.Error("Follow still on after a scroll up")
	}
	a.UserScrolled(true)
	if !a.View().Follow {
		t.Error("Follow off after a scroll to the bottom")
	}
	a.SetFollow(false)
	if a.View().Follow {
		t.Error("SetFollow(false)")
	}
	for i := range 30 {
		a.event(ev(i).ev)
	}
	a.SetFilter("renamed f1")
	v := a.View()
	if v.Filter != "renamed f1" || v.Shown != a.RowCount() {
		t.Errorf("filter %q, shown %d, %d rows", v.Filter, v.Shown, a.RowCount())
	}
	for _, r := range rows(a) {
		if !strings.HasPrefix(r, "renamed ") || !strings.Contains(r, "f1") {
			t.Errorf("row %q through the filter", r)
		}
	}
	if !strings.Contains(v.Summary, "30 events") || !strings.Contains(v.Summary, fmt.Sprintf("%d shown by the filter", v.Shown)) {
		t.Errorf("summary %q", v.Summary)
	}
}

// TestOneChangeCallPerFrame: however many changes come between two
// frames, OnChange's function is called once, at the first.
func TestOneChangeCallPerFrame(t *testing.T) {
	dir := t.TempDir()
	_, a := newApp(t, Config{Path: dir})
	calls := 0
	a.OnChange(func() { calls++ })
	var evs, tail Cursor
	a.Frame(&evs, &tail)
	for i := range 1000 {
		a.event(ev(i).ev)
	}
	if calls != 1 {
		t.Errorf("%d calls for 1,000 events", calls)
	}
	f := a.Frame(&evs, &tail)
	if f.Events.Added != 1000 || f.View.Version != a.Version() {
		t.Errorf("frame %+v", f.Events)
	}
	a.SetFilter("created")
	a.SetFollow(false)
	if calls != 2 {
		t.Errorf("%d calls after a frame and two changes", calls)
	}
	if f := a.Frame(&evs, &tail); !f.Events.Reset || f.Events.Added != 250 {
		t.Errorf("after a new filter: %+v", f.Events)
	}
	if f := a.Frame(&evs, &tail); !f.Events.Empty() || !f.Tail.Empty() {
		t.Errorf("a frame with no change: %+v %+v", f.Events, f.Tail)
	}
}

func TestStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	s := State{Toolkit: "gtk", View: View{Path: "/x", Follow: true}, Rows: 3,
		Visible: []Row{{Seq: 1, Kind: "created"}}, Widgets: map[string]Rect{"list": {1, 2, 3, 4}}}
	must(t, WriteState(path, s))
	got, err := ReadState(path)
	must(t, err)
	if got.Toolkit != "gtk" || got.View.Path != "/x" || !got.View.Follow || got.Rows != 3 || got.Widgets["list"] != (Rect{1, 2, 3, 4}) || got.Visible[0].Kind != "created" {
		t.Errorf("read back %+v", got)
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".state-*")); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

func TestParseFlags(t *testing.T) {
	f, err := ParseFlags("filewatch", []string{"-poll", "-recursive=false", "-state-file", "s.json", "-quit-after", "3s", "/tmp"}, io.Discard)
	must(t, err)
	if f.Path != "/tmp" || !f.Poll || f.Recursive || f.StateFile != "s.json" || f.QuitAfter != 3*time.Second || f.MaxEvents != DefaultMaxEvents {
		t.Errorf("flags %+v", f)
	}
	if _, err := ParseFlags("filewatch", []string{"-nope"}, io.Discard); err == nil {
		t.Error("an unknown flag accepted")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
