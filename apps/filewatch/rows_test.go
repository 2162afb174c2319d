package filewatch

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/loomkit/loom/watch"
)

// widget is a list widget as a front end holds it (a GTK ListStore): the
// rows it was told to add, in order, with a count of the row operations
// each frame cost it.
type widget struct {
	rows []Row
	cur  Cursor
}

// frame applies what the log says changed and returns the row
// operations it took (a row dropped or added is one; a reset, one).
func (w *widget) frame(t *testing.T, l *eventLog) int {
	t.Helper()
	c := l.changes(&w.cur)
	ops := 0
	if c.Reset {
		w.rows = w.rows[:0]
		ops++
	}
	if c.Drop > len(w.rows) {
		t.Fatalf("told to drop %d of %d rows", c.Drop, len(w.rows))
	}
	w.rows = append(w.rows[:0], w.rows[c.Drop:]...)
	ops += c.Drop
	if c.From != len(w.rows) {
		t.Fatalf("told to add from row %d, the widget holds %d", c.From, len(w.rows))
	}
	for i := c.From; i < c.From+c.Added; i++ {
		r, ok := l.row(i)
		if !ok {
			t.Fatalf("row %d of %d missing", i, l.shown.n)
		}
		w.rows = append(w.rows, r)
	}
	ops += c.Added
	return ops
}

// same checks that the widget holds the log's filtered rows.
func (w *widget) same(t *testing.T, l *eventLog) {
	t.Helper()
	if len(w.rows) != l.shown.n {
		t.Fatalf("the widget holds %d rows, the list %d", len(w.rows), l.shown.n)
	}
	for i, r := range w.rows {
		want, _ := l.row(i)
		if r != want {
			t.Fatalf("row %d: the widget holds %+v, the list %+v", i, r, want)
		}
	}
}

var epoch = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func ev(i int) entry {
	ops := []watch.Op{watch.Created, watch.Written, watch.Renamed, watch.Removed}
	e := entry{at: epoch.Add(time.Duration(i) * time.Millisecond), root: "/w"}
	e.ev = watch.Event{Op: ops[i%len(ops)], Path: fmt.Sprintf("/w/f%d.txt", i%97)}
	if e.ev.Op == watch.Renamed {
		e.ev.OldPath = fmt.Sprintf("/w/f%d.tmp", i%97)
	}
	return e
}

// TestChangesKeepAWidgetInLine: whatever comes between two frames
// (events, more than the list keeps, a new filter, a clear), the changes
// a frame is given bring a widget that applies them exactly in line with
// the list.
func TestChangesKeepAWidgetInLine(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	l := newEventLog(100)
	var w widget
	filters := []string{"", "renamed", "f1", "created f2", "nothing-matches", "WRITTEN"}
	n := 0
	for round := range 2000 {
		switch k := rng.IntN(20); {
		case k == 0:
			l.setFilter(filters[rng.IntN(len(filters))])
		case k == 1:
			l.clear()
		default:
			for range rng.IntN([]int{3, 30, 300}[rng.IntN(3)]) {
				l.add(ev(n))
				n++
			}
		}
		if ops := w.frame(t, l); ops > 100+1 {
			t.Fatalf("round %d: a frame took %d row operations, more than the list holds", round, ops)
		}
		w.same(t, l)
	}
}

// TestHundredThousandEventsBoundedPerFrame feeds 100,000 events to the
// core's list, as the watcher would, and draws a frame now and then: each
// frame's work is bounded by the list's capacity, however many events
// came in between, and what the list keeps stays at its capacity.
func TestHundredThousandEventsBoundedPerFrame(t *testing.T) {
	const total, capacity = 100000, DefaultMaxEvents
	for _, perFrame := range []int{100, 5000, total} {
		t.Run(fmt.Sprint(perFrame, " per frame"), func(t *testing.T) {
			l := newEventLog(capacity)
			var w widget
			most := 0
			for i := range total {
				l.add(ev(i))
				if (i+1)%perFrame == 0 {
					ops := w.frame(t, l)
					most = max(most, ops)
					if l.all.len() > capacity || l.shown.n > capacity {
						t.Fatalf("the list keeps %d rows (%d shown), more than its %d", l.all.len(), l.shown.n, capacity)
					}
				}
			}
			w.same(t, l)
			t.Logf("%d events, %d a frame: at most %d row operations in a frame", total, perFrame, most)
			// A frame adds the rows that came and drops as many old
			// ones, or, when they all went, resets: at most what the
			// list keeps, and a reset.
			if want := min(2*perFrame, capacity+1); most > want {
				t.Errorf("a frame took %d row operations, want at most %d", most, want)
			}
			if l.total != total {
				t.Errorf("%d events counted, want %d", l.total, total)
			}
			// A new filter costs at most what the list keeps.
			l.setFilter("renamed")
			if ops := w.frame(t, l); ops > capacity+1 {
				t.Errorf("a new filter took %d row operations", ops)
			}
			w.same(t, l)
			if l.shown.n != capacity/4 {
				t.Errorf("the filter shows %d rows, want a quarter of %d", l.shown.n, capacity)
			}
		})
	}
}

// TestFilterWords: every word must be in the kind or a path, without
// regard to case.
func TestFilterWords(t *testing.T) {
	e := entry{root: "/w", ev: watch.Event{Op: watch.Renamed, OldPath: "/w/Notes/a.txt", Path: "/w/b.log"}}
	for text, want := range map[string]bool{
		"":                   true,
		"renamed":            true,
		"RENAMED notes":      true,
		"rename b.log":       true,
		"created":            false,
		"renamed c.txt":      false,
		"  a.txt   renamed ": true,
	} {
		if got := parseFilter(text).match(e); got != want {
			t.Errorf("filter %q on %v: %v, want %v", text, e.ev, got, want)
		}
	}
}

func TestRowInWords(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 15, 30, 125e6, time.UTC)
	for _, c := range []struct {
		ev   watch.Event
		want Row
	}{
		{watch.Event{Op: watch.Created, Path: "/w/data/x.csv"}, Row{Kind: "created", Path: "data/x.csv", Color: KindColor(watch.Created)}},
		{watch.Event{Op: watch.Renamed, OldPath: "/w/a.txt", Path: "/w/a.old"}, Row{Kind: "renamed", Path: "a.txt → a.old", Color: KindColor(watch.Renamed)}},
		{watch.Event{Op: watch.Created, Path: "/w/d", Dir: true, Rescan: true}, Row{Kind: "created", Path: "d", Note: "folder; found by the rescan", Color: KindColor(watch.Created)}},
		{watch.Event{Op: watch.Overflow}, Row{Kind: "overflow", Path: "(every watched folder)", Note: "events lost; a rescan follows", Color: KindColor(watch.Overflow)}},
		{watch.Event{Op: watch.Written, Path: "/elsewhere/f"}, Row{Kind: "written", Path: "/elsewhere/f", Color: KindColor(watch.Written)}},
		{watch.Event{Op: watch.Written, Path: "/w"}, Row{Kind: "written", Path: "w", Color: KindColor(watch.Written)}},
	} {
		c.want.Seq, c.want.Time = 7, "09:15:30.125"
		if got := makeRow(7, entry{at: at, ev: c.ev, root: "/w"}); got != c.want {
			t.Errorf("%v: row %+v, want %+v", c.ev, got, c.want)
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 100000: "100,000", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
