package gtkloop

import (
	"slices"
	"strconv"
	"time"

	"github.com/gotk3/gotk3/glib"
	"github.com/gotk3/gotk3/gtk"
	"github.com/loomkit/loom/reactor"
)

// view is the inspector's window and the widgets that show its figures.
// Its methods run on the GTK thread.
type view struct {
	win *gtk.Window
	// figures are the labels that show one figure each, by name:
	// "passes", "passes/s", "callbacks", "callbacks/s", "timers",
	// "readers", "writers", "calls", "goroutine calls", "panics",
	// "slow", "slow threshold", "watched", "pending", "queued", and
	// "pass time " or "loop lag " followed by "count", "mean", "p50",
	// "p99" or "max".
	figures   map[string]*figure
	pass, lag *bars  // the histograms' buckets
	slow, fds *table // the slow callbacks and the descriptors
}

// The lists' columns.
var (
	slowColumns = []string{"duration", "kind", "function", "site", "until"}
	fdColumns   = []string{"fd", "what", "reader", "writer"}
)

// histogramFigures are the figures shown for each histogram, in order.
var histogramFigures = []string{"count", "mean", "p50", "p99", "max"}

// A figure is a label and the text it shows, so that a refresh that
// finds the same text leaves the label alone.
type figure struct {
	label *gtk.Label
	text  string
}

func (f *figure) set(text string) {
	if text != f.text {
		f.text = text
		f.label.SetText(text)
	}
}

// A table is a list on screen and the rows its store holds.
type table struct {
	store *gtk.ListStore
	rows  [][]string
}

// set shows rows, replacing what the list held if anything differs.
func (t *table) set(rows [][]string) {
	if slices.EqualFunc(rows, t.rows, slices.Equal[[]string]) {
		return
	}
	t.store.Clear()
	for _, row := range rows {
		cols := make([]int, len(row))
		vals := make([]any, len(row))
		for i, s := range row {
			cols[i], vals[i] = i, s
		}
		t.store.Set(t.store.Append(), cols, vals)
	}
	t.rows = rows
}

// widgetError carries a GTK constructor's error out of build.
type widgetError struct{ err error }

// must returns w, or ends build with err.
func must[W any](w W, err error) W {
	if err != nil {
		panic(widgetError{err})
	}
	return w
}

// build makes the window and its widgets, not shown yet.
func (v *view) build() (err error) {
	defer func() {
		if p := recover(); p != nil {
			we, ok := p.(widgetError)
			if !ok {
				panic(p)
			}
			if v.win != nil {
				v.win.Destroy()
				v.win = nil
			}
			err = we.err
		}
	}()
	v.figures = map[string]*figure{}
	v.win = must(gtk.WindowNew(gtk.WINDOW_TOPLEVEL))
	v.win.SetTitle(inspectorTitle)
	v.win.SetDefaultSize(820, 720)
	v.win.SetBorderWidth(12)

	box := must(gtk.BoxNew(gtk.ORIENTATION_VERTICAL, 6))
	v.win.Add(box)

	box.PackStart(heading("Loop"), false, false, 0)
	box.PackStart(v.counters(), false, false, 0)

	box.PackStart(heading("Pass time and timer lag"), false, false, 6)
	box.PackStart(v.histograms(), false, false, 0)

	box.PackStart(heading("Slowest recent callbacks"), false, false, 6)
	var list *gtk.ScrolledWindow
	v.slow, list = newTable(slowColumns, 1)
	box.PackStart(list, true, true, 0)

	box.PackStart(heading("Watched descriptors"), false, false, 6)
	v.fds, list = newTable(fdColumns, 1)
	box.PackStart(list, true, true, 0)
	return nil
}

// counters lays out the counters and gauges: the loop's work on the
// left, with its rates, what went wrong and what waits on the right.
func (v *view) counters() *gtk.Grid {
	g := grid()
	left := [][2]string{
		{"passes", "passes"},
		{"callbacks", "callbacks"},
		{"timers", "  timers"},
		{"readers", "  readers"},
		{"writers", "  writers"},
		{"calls", "  calls"},
		{"goroutine calls", "  calls from goroutines"},
	}
	for row, f := range left {
		g.Attach(name(f[1]), 0, row, 1, 1)
		g.Attach(v.figure(f[0], 10), 1, row, 1, 1)
	}
	g.Attach(v.figure("passes/s", 10), 2, 0, 1, 1)
	g.Attach(v.figure("callbacks/s", 10), 2, 1, 1, 1)
	right := [][2]string{
		{"panics", "panics"},
		{"slow", "slow callbacks"},
		{"watched", "watched descriptors"},
		{"pending", "pending timers"},
		{"queued", "queued calls"},
	}
	for row, f := range right {
		l := name(f[1])
		l.SetMarginStart(36)
		g.Attach(l, 3, row, 1, 1)
		g.Attach(v.figure(f[0], 8), 4, row, 1, 1)
	}
	t := v.figure("slow threshold", 0)
	t.SetXAlign(0)
	g.Attach(t, 5, 1, 1, 1)
	return g
}

// histograms lays out the pass time's and the lag's figures, a row
// each, and their buckets.
func (v *view) histograms() *gtk.Grid {
	g := grid()
	for i, f := range histogramFigures {
		h := name(f)
		h.SetXAlign(1)
		g.Attach(h, 1+i, 0, 1, 1)
	}
	g.Attach(name("buckets, 1µs to 1s on a log scale"), 1+len(histogramFigures), 0, 1, 1)
	v.pass = newBars()
	v.lag = newBars()
	for row, h := range []struct {
		name string
		bars *bars
	}{{"pass time", v.pass}, {"loop lag", v.lag}} {
		g.Attach(name(h.name), 0, 1+row, 1, 1)
		for i, f := range histogramFigures {
			g.Attach(v.figure(h.name+" "+f, 8), 1+i, 1+row, 1, 1)
		}
		g.Attach(h.bars.area, 1+len(histogramFigures), 1+row, 1, 1)
	}
	return g
}

// figure makes the label of the figure called key, right-aligned and
// chars wide (0: as wide as its text).
func (v *view) figure(key string, chars int) *gtk.Label {
	l := must(gtk.LabelNew("–"))
	l.SetXAlign(1)
	if chars > 0 {
		l.SetWidthChars(chars)
	}
	v.figures[key] = &figure{label: l, text: "–"}
	return l
}

// show puts what the reactor said on screen: s, the rates since last
// (dt earlier; 0 for none), the slow-callback threshold, the slow
// callbacks and the descriptors.
func (v *view) show(s, last reactor.Stats, dt, threshold time.Duration, slow []reactor.SlowCallback, fds []reactor.Descriptor) {
	f := v.figures
	for key, n := range map[string]uint64{
		"passes": s.Passes, "callbacks": s.Callbacks, "timers": s.Timers,
		"readers": s.Readers, "writers": s.Writers, "calls": s.Calls,
		"goroutine calls": s.GoroutineCalls, "panics": s.Panics, "slow": s.Slow,
		"watched": uint64(s.Watched), "pending": uint64(s.Pending), "queued": uint64(s.Queued),
	} {
		f[key].set(strconv.FormatUint(n, 10))
	}
	if dt > 0 {
		f["passes/s"].set(rate(s.Passes-last.Passes, dt))
		f["callbacks/s"].set(rate(s.Callbacks-last.Callbacks, dt))
	}
	if threshold > 0 {
		f["slow threshold"].set("over " + duration(threshold))
	} else {
		f["slow threshold"].set("detection off")
	}
	for _, h := range []struct {
		name string
		h    *reactor.Histogram
		bars *bars
	}{{"pass time", &s.PassTime, v.pass}, {"loop lag", &s.Lag, v.lag}} {
		f[h.name+" count"].set(strconv.FormatUint(h.h.Count, 10))
		f[h.name+" mean"].set(duration(h.h.Mean()))
		f[h.name+" p50"].set(duration(h.h.Quantile(0.5)))
		f[h.name+" p99"].set(duration(h.h.Quantile(0.99)))
		f[h.name+" max"].set(duration(h.h.Max))
		h.bars.set(h.h)
	}
	v.slow.set(slowRows(slow))
	v.fds.set(fdRows(fds))
}

// heading is a section's title.
func heading(text string) *gtk.Label {
	l := must(gtk.LabelNew(""))
	l.SetMarkup("<b>" + text + "</b>")
	l.SetXAlign(0)
	return l
}

// name is the name of a figure, or of a column of figures.
func name(text string) *gtk.Label {
	l := must(gtk.LabelNew(text))
	l.SetXAlign(0)
	return l
}

func grid() *gtk.Grid {
	g := must(gtk.GridNew())
	g.SetColumnSpacing(12)
	g.SetRowSpacing(2)
	return g
}

// newTable makes a list with a column of text for each title, the
// rightAligned first ones aligned right, in a scrolled window.
func newTable(titles []string, rightAligned int) (*table, *gtk.ScrolledWindow) {
	types := make([]glib.Type, len(titles))
	for i := range types {
		types[i] = glib.TYPE_STRING
	}
	store := must(gtk.ListStoreNew(types...))
	tree := must(gtk.TreeViewNewWithModel(store))
	tree.SetEnableSearch(false)
	for i, title := range titles {
		cell := must(gtk.CellRendererTextNew())
		if i < rightAligned {
			cell.SetProperty("xalign", 1.0)
		}
		col := must(gtk.TreeViewColumnNewWithAttribute(title, cell, "text", i))
		col.SetResizable(true)
		tree.AppendColumn(col)
	}
	scroll := must(gtk.ScrolledWindowNew(nil, nil))
	scroll.SetPolicy(gtk.POLICY_AUTOMATIC, gtk.POLICY_AUTOMATIC)
	scroll.SetShadowType(gtk.SHADOW_IN)
	scroll.SetMinContentHeight(120)
	scroll.Add(tree)
	return &table{store: store}, scroll
}
