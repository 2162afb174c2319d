package fyneloop

import (
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/loomkit/loom/internal/inspect"
	"github.com/loomkit/loom/reactor"
)

// What the inspector's tests read of it.

const (
	InspectorTitle = inspectorTitle
	InspectorEvery = inspectorEvery
)

type (
	Inspector     = inspector
	InspectorView = inspectorView
)

var (
	FormatCount    = formatCount
	FormatDuration = formatDuration
	DescribeFD     = inspect.DescribeFD
)

// OpenInspector is Inspect, returning the inspector itself.
func OpenInspector(a fyne.App, r *reactor.Reactor) (*Inspector, error) { return openInspector(a, r) }

func (in *inspector) View() *InspectorView { return in.view }
func (in *inspector) Window() fyne.Window  { return in.w }
func (in *inspector) Close()               { in.close() }
func (in *inspector) Refresh()             { in.refresh() }
func (in *inspector) Stopped() bool        { return in.stopped.Load() }

// NewInspectorView is the inspector's content alone.
func NewInspectorView(describe func(fd int) string) *InspectorView {
	return newInspectorView(describe)
}

func (v *inspectorView) Content() fyne.CanvasObject { return v.content }

func (v *inspectorView) Show(at time.Time, s reactor.Stats, threshold time.Duration, slow []reactor.SlowCallback, fds []reactor.Descriptor) {
	v.show(at, s, threshold, slow, fds)
}

// Figure is what the view shows for a counter (its total and rate) or a
// gauge (its value, and no rate).
func (v *inspectorView) Figure(key string) (value, rate string) {
	if f, ok := v.gauges[key]; ok {
		return f.text.Text, ""
	}
	if f, ok := v.values[key]; ok {
		return f.text.Text, v.rates[key].text.Text
	}
	return "?", "?"
}

func (v *inspectorView) Threshold() string { return v.threshold.text.Text }
func (v *inspectorView) SlowTitle() string { return v.slowTitle.Text }

// Histogram is what the view shows of "pass" or "lag": count, mean, p50,
// p99 and max.
func (v *inspectorView) Histogram(which string) map[string]string {
	out := map[string]string{}
	for k, f := range v.hist[which].figures {
		out[k] = f.text.Text
	}
	return out
}

// Bars are the heights of a histogram's bars as drawn, in pixels.
func (v *inspectorView) Bars(which string) []float32 {
	var out []float32
	r := test.WidgetRenderer(v.hist[which].bars).(*histogramRenderer)
	for _, b := range r.bars {
		out = append(out, b.Size().Height)
	}
	return out
}

func (v *inspectorView) SlowRows() [][]string { return tableRows(v.slow) }
func (v *inspectorView) FDRows() [][]string   { return tableRows(v.fds) }

func tableRows[R slowRow | fdRow](in []R) [][]string {
	out := make([][]string, 0, len(in))
	for _, r := range in {
		row := make([]string, len(r))
		for i := range len(r) {
			row[i] = r[i]
		}
		out = append(out, row)
	}
	return out
}

// Cells are the texts of the labels in sight in a table of the view
// ("slow" or "fd"): its header and the cells on screen, walked through
// the renderers Fyne drew them with.
func (v *inspectorView) Cells(which string) []string {
	t := v.slowTable
	if which == "fd" {
		t = v.fdTable
	}
	var out []string
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if !o.Visible() {
			return
		}
		switch o := o.(type) {
		case *widget.Label:
			if o.Text != "" {
				out = append(out, o.Text)
			}
		case fyne.Widget:
			for _, child := range test.WidgetRenderer(o).Objects() {
				walk(child)
			}
		case *fyne.Container:
			for _, child := range o.Objects {
				walk(child)
			}
		}
	}
	walk(t)
	return out
}

// OpenInspectorOf is r's open inspector, nil for none.
func OpenInspectorOf(r *reactor.Reactor) *Inspector {
	inspectors.Lock()
	defer inspectors.Unlock()
	return inspectors.open[r]
}
