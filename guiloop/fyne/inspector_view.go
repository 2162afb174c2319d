package fyneloop

import (
	"cmp"
	"fmt"
	"image/color"
	"slices"
	"strconv"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/loomkit/loom/internal/inspect"
	"github.com/loomkit/loom/reactor"
)

// What the inspector shows: the counters, with a rate each, the gauges,
// a histogram's figures, and the columns of its tables.
var (
	inspectorCounters = []struct {
		key, label string
		get        func(*reactor.Stats) uint64
	}{
		{"passes", "passes", func(s *reactor.Stats) uint64 { return s.Passes }},
		{"callbacks", "callbacks", func(s *reactor.Stats) uint64 { return s.Callbacks }},
		{"timers", "   timers", func(s *reactor.Stats) uint64 { return s.Timers }},
		{"readers", "   readers", func(s *reactor.Stats) uint64 { return s.Readers }},
		{"writers", "   writers", func(s *reactor.Stats) uint64 { return s.Writers }},
		{"calls", "   calls", func(s *reactor.Stats) uint64 { return s.Calls }},
		{"goroutine calls", "   from goroutines", func(s *reactor.Stats) uint64 { return s.GoroutineCalls }},
		{"panics", "panics", func(s *reactor.Stats) uint64 { return s.Panics }},
		{"slow", "slow callbacks", func(s *reactor.Stats) uint64 { return s.Slow }},
	}
	inspectorGauges = []struct {
		key, label string
		get        func(*reactor.Stats) int
	}{
		{"watched", "watched descriptors", func(s *reactor.Stats) int { return s.Watched }},
		{"pending", "pending timers", func(s *reactor.Stats) int { return s.Pending }},
		{"queued", "queued calls", func(s *reactor.Stats) int { return s.Queued }},
	}
	// inspectorQuantiles are a histogram's figures, in their columns.
	inspectorQuantiles = [...]string{"count", "mean", "p50", "p99", "max"}

	slowColumns = [...]column{{"duration", 80}, {"kind", 150}, {"function", 320}, {"site", 210}, {"until", 170}}
	fdColumns   = [...]column{{"fd", 50}, {"what", 250}, {"reader", 315}, {"writer", 315}}
)

// A column is a table's column: its header and its width.
type column struct {
	title string
	width float32
}

// noRate stands for a rate not known yet: the first figures have no
// earlier ones to compare with.
const noRate = "–"

type (
	slowRow [len(slowColumns)]string
	fdRow   [len(fdColumns)]string
)

// inspectorView is the inspector window's content. show puts figures in
// it; it keeps the previous figures, for the rates.
type inspectorView struct {
	content  fyne.CanvasObject
	describe func(fd int) string // what a descriptor is

	values, rates map[string]*figure
	gauges        map[string]*figure
	threshold     *figure
	hist          map[string]*histogramView // "pass" and "lag"
	slowTitle     *widget.Label
	slowTable     *widget.Table
	slow          []slowRow
	fdTable       *widget.Table
	fds           []fdRow

	prev   reactor.Stats
	prevAt time.Time
}

// histogramView is one histogram's figures and bars.
type histogramView struct {
	figures map[string]*figure
	bars    *histogramBars
}

// figure is a line of text in a theme colour; its text is what goes in
// a container.
type figure struct {
	text   *canvas.Text
	colour fyne.ThemeColorName
}

func newFigure(text string, align fyne.TextAlign, colour fyne.ThemeColorName, bold bool) *figure {
	t := canvas.NewText(text, theme.Color(colour))
	t.Alignment = align
	t.TextStyle.Bold = bold
	return &figure{t, colour}
}

// newCaption is a line of text that does not change.
func newCaption(text string, align fyne.TextAlign, colour fyne.ThemeColorName, bold bool) *canvas.Text {
	return newFigure(text, align, colour, bold).text
}

// set shows s, redrawing only what changed.
func (f *figure) set(s string) {
	c := theme.Color(f.colour)
	if f.text.Text == s && sameColour(f.text.Color, c) {
		return
	}
	f.text.Text, f.text.Color = s, c
	f.text.Refresh()
}

func sameColour(a, b color.Color) bool {
	if a == nil || b == nil {
		return a == b
	}
	r1, g1, b1, a1 := a.RGBA()
	r2, g2, b2, a2 := b.RGBA()
	return r1 == r2 && g1 == g2 && b1 == b2 && a1 == a2
}

// newInspectorView builds the content, empty until the first show.
// describe says what a descriptor is (inspect.DescribeFD).
func newInspectorView(describe func(fd int) string) *inspectorView {
	v := &inspectorView{
		describe: describe,
		values:   map[string]*figure{},
		rates:    map[string]*figure{},
		gauges:   map[string]*figure{},
		hist:     map[string]*histogramView{},
	}
	const (
		fg  = theme.ColorNameForeground
		dim = theme.ColorNamePlaceHolder
	)
	lead, trail := fyne.TextAlignLeading, fyne.TextAlignTrailing

	counters := []fyne.CanvasObject{newCaption("counter", lead, dim, false), newCaption("total", trail, dim, false), newCaption("per second", trail, dim, false)}
	for _, c := range inspectorCounters {
		v.values[c.key] = newFigure("0", trail, fg, false)
		v.rates[c.key] = newFigure(noRate, trail, dim, false)
		counters = append(counters, newCaption(c.label, lead, fg, false), v.values[c.key].text, v.rates[c.key].text)
	}
	gauges := []fyne.CanvasObject{newCaption("now", lead, dim, false), layout.NewSpacer()}
	for _, g := range inspectorGauges {
		v.gauges[g.key] = newFigure("0", trail, fg, false)
		gauges = append(gauges, newCaption(g.label, lead, fg, false), v.gauges[g.key].text)
	}
	v.threshold = newFigure("off", trail, fg, false)
	gauges = append(gauges, newCaption("slow over", lead, fg, false), v.threshold.text)

	var hists []fyne.CanvasObject
	for _, h := range []struct{ key, title string }{{"pass", "pass time"}, {"lag", "timer lag"}} {
		hv := &histogramView{figures: map[string]*figure{}, bars: newHistogramBars()}
		v.hist[h.key] = hv
		var names, values []fyne.CanvasObject
		for _, q := range inspectorQuantiles {
			hv.figures[q] = newFigure("0", trail, fg, false)
			names = append(names, newCaption(q, trail, dim, false))
			values = append(values, hv.figures[q].text)
		}
		hists = append(hists, container.NewVBox(
			newCaption(h.title, lead, fg, true),
			container.NewGridWithColumns(len(inspectorQuantiles), names...),
			container.NewGridWithColumns(len(inspectorQuantiles), values...),
			hv.bars,
		))
	}

	v.slowTitle = widget.NewLabelWithStyle("Slowest recent callbacks", lead, fyne.TextStyle{Bold: true})
	v.slowTable = newInspectorTable(slowColumns[:], func() int { return len(v.slow) }, func(row, col int) string { return v.slow[row][col] })
	v.fdTable = newInspectorTable(fdColumns[:], func() int { return len(v.fds) }, func(row, col int) string { return v.fds[row][col] })
	tables := container.NewVSplit(
		container.NewBorder(v.slowTitle, nil, nil, nil, v.slowTable),
		container.NewBorder(widget.NewLabelWithStyle("Watched descriptors", lead, fyne.TextStyle{Bold: true}), nil, nil, nil, v.fdTable),
	)
	tables.Offset = 0.55

	// Two columns, a gutter between them.
	gutter := 2 * theme.Padding()
	columns := func(left, right fyne.CanvasObject) fyne.CanvasObject {
		return container.NewGridWithColumns(2,
			container.New(layout.NewCustomPaddedLayout(0, 0, 0, gutter), left),
			container.New(layout.NewCustomPaddedLayout(0, 0, gutter, 0), right))
	}
	top := container.NewVBox(
		columns(container.NewGridWithColumns(3, counters...), container.NewVBox(container.NewGridWithColumns(2, gauges...))),
		widget.NewSeparator(),
		columns(hists[0], hists[1]),
		widget.NewSeparator(),
	)
	v.content = container.NewPadded(container.NewBorder(top, nil, nil, nil, tables))
	return v
}

// newInspectorTable makes a table of text with a header row, columns as
// given, rows() rows and cell(row, col) in each cell.
func newInspectorTable(columns []column, rows func() int, cell func(row, col int) string) *widget.Table {
	t := widget.NewTableWithHeaders(
		func() (int, int) { return rows(), len(columns) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(id widget.TableCellID, o fyne.CanvasObject) {
			setLabel(o.(*widget.Label), cell(id.Row, id.Col))
		},
	)
	t.ShowHeaderColumn = false
	t.CreateHeader = func() fyne.CanvasObject {
		return widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	}
	t.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		if id.Col >= 0 {
			setLabel(o.(*widget.Label), columns[id.Col].title)
		}
	}
	for i, c := range columns {
		t.SetColumnWidth(i, c.width)
	}
	return t
}

// setLabel sets l's text if it changed: a label redraws on every
// SetText, and a table sets every cell in sight on each refresh.
func setLabel(l *widget.Label, s string) {
	if l.Text != s {
		l.SetText(s)
	}
}

// show puts the figures in the view: s and the rates since the
// previous show (at is when s was read, on the reactor's clock), the
// slow-callback threshold (0: detection off), the slow callbacks, the
// slowest first, and the descriptors.
func (v *inspectorView) show(at time.Time, s reactor.Stats, threshold time.Duration, slow []reactor.SlowCallback, fds []reactor.Descriptor) {
	dt := at.Sub(v.prevAt).Seconds()
	rated := !v.prevAt.IsZero() && dt > 0
	for _, c := range inspectorCounters {
		n := c.get(&s)
		v.values[c.key].set(formatCount(n))
		rate := noRate
		if rated {
			rate = formatRate(float64(n-min(n, c.get(&v.prev))) / dt)
		}
		v.rates[c.key].set(rate)
	}
	for _, g := range inspectorGauges {
		v.gauges[g.key].set(formatCount(uint64(max(g.get(&s), 0))))
	}
	if threshold > 0 {
		v.threshold.set(formatDuration(threshold))
		setLabel(v.slowTitle, "Slowest recent callbacks, over "+formatDuration(threshold))
	} else {
		v.threshold.set("off")
		setLabel(v.slowTitle, "Slowest recent callbacks (detection is off)")
	}
	v.hist["pass"].show(&s.PassTime)
	v.hist["lag"].show(&s.Lag)
	v.prev, v.prevAt = s, at

	rows := make([]slowRow, 0, len(slow))
	sorted := slices.Clone(slow)
	slices.SortStableFunc(sorted, func(a, b reactor.SlowCallback) int {
		return cmp.Or(cmp.Compare(b.Duration, a.Duration), b.At.Compare(a.At))
	})
	for _, c := range sorted {
		rows = append(rows, slowCallbackRow(c))
	}
	if !slices.Equal(rows, v.slow) {
		v.slow = rows
		v.slowTable.Refresh()
	}

	frows := make([]fdRow, 0, len(fds))
	for _, d := range fds {
		frows = append(frows, fdRow{strconv.Itoa(d.FD), v.describe(d.FD), inspect.ShortFunc(d.Reader), inspect.ShortFunc(d.Writer)})
	}
	if !slices.Equal(frows, v.fds) {
		v.fds = frows
		v.fdTable.Refresh()
	}
}

// slowCallbackRow is how a slow callback reads in the table.
func slowCallbackRow(c reactor.SlowCallback) slowRow {
	kind := c.Kind
	if c.FD >= 0 {
		kind = fmt.Sprintf("%s, fd %d", kind, c.FD)
	}
	return slowRow{formatDuration(c.Duration), kind, inspect.ShortFunc(c.Func), inspect.ShortSite(c.Site), inspect.ShortSite(c.Until)}
}

func (h *histogramView) show(s *reactor.Histogram) {
	h.figures["count"].set(formatCount(s.Count))
	h.figures["mean"].set(formatDuration(s.Mean()))
	h.figures["p50"].set(formatDuration(s.Quantile(0.5)))
	h.figures["p99"].set(formatDuration(s.Quantile(0.99)))
	h.figures["max"].set(formatDuration(s.Max))
	h.bars.set(s.Buckets)
}
