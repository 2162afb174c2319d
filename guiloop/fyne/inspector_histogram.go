package fyneloop

import (
	"math"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/loomkit/loom/reactor"
)

// histogramBars draws a reactor.Histogram's buckets, one bar each, the
// shortest durations on the left, with ticks at 1µs, 1ms and 1s. Heights
// are on a log scale, so that one slow pass still shows beside thousands
// of fast ones; an empty bucket has no bar.
type histogramBars struct {
	widget.BaseWidget
	buckets [reactor.HistogramBuckets]uint64
}

func newHistogramBars() *histogramBars {
	h := &histogramBars{}
	h.ExtendBaseWidget(h)
	return h
}

// set shows buckets, redrawing only when they changed.
func (h *histogramBars) set(buckets [reactor.HistogramBuckets]uint64) {
	if buckets == h.buckets {
		return
	}
	h.buckets = buckets
	h.Refresh()
}

// fractions are the bars' heights, as fractions of the tallest.
func (h *histogramBars) fractions() [reactor.HistogramBuckets]float32 {
	var most uint64
	for _, n := range h.buckets {
		most = max(most, n)
	}
	var out [reactor.HistogramBuckets]float32
	if most == 0 {
		return out
	}
	for i, n := range h.buckets {
		out[i] = float32(math.Log1p(float64(n)) / math.Log1p(float64(most)))
	}
	return out
}

func (h *histogramBars) CreateRenderer() fyne.WidgetRenderer {
	r := &histogramRenderer{h: h, base: canvas.NewRectangle(nil)}
	r.objects = append(r.objects, r.base)
	for i := range r.bars {
		r.bars[i] = canvas.NewRectangle(nil)
		r.objects = append(r.objects, r.bars[i])
	}
	for i, label := range histogramTicks {
		r.marks[i] = canvas.NewRectangle(nil)
		r.ticks[i] = canvas.NewText(label.text, nil)
		r.ticks[i].TextSize = theme.CaptionTextSize()
		r.objects = append(r.objects, r.marks[i], r.ticks[i])
	}
	r.colour()
	return r
}

// histogramTicks are the bounds marked under the bars: bucket i begins
// at 2^(i-1) µs, so 1ms (1024µs) begins bucket 11 and 1s bucket 21.
var histogramTicks = [...]struct {
	text   string
	bucket int
}{{"1µs", 1}, {"1ms", 11}, {"1s", 21}}

const (
	histogramBarsHeight = 36
	histogramSlot       = 10 // minimum width per bucket
)

type histogramRenderer struct {
	h       *histogramBars
	base    *canvas.Rectangle
	bars    [reactor.HistogramBuckets]*canvas.Rectangle
	marks   [len(histogramTicks)]*canvas.Rectangle
	ticks   [len(histogramTicks)]*canvas.Text
	objects []fyne.CanvasObject
}

func (r *histogramRenderer) MinSize() fyne.Size {
	return fyne.NewSize(reactor.HistogramBuckets*histogramSlot, histogramBarsHeight+3+r.ticks[0].MinSize().Height)
}

func (r *histogramRenderer) Layout(size fyne.Size) {
	r.layoutBars(size)
	barsH := r.barsHeight(size)
	slot := size.Width / reactor.HistogramBuckets
	r.base.Move(fyne.NewPos(0, barsH))
	r.base.Resize(fyne.NewSize(size.Width, 1))
	for i, tick := range histogramTicks {
		x := float32(tick.bucket) * slot
		r.marks[i].Move(fyne.NewPos(x, barsH))
		r.marks[i].Resize(fyne.NewSize(1, 3))
		w := r.ticks[i].MinSize().Width
		r.ticks[i].Move(fyne.NewPos(min(max(x-w/2, 0), size.Width-w), barsH+3))
		r.ticks[i].Resize(r.ticks[i].MinSize())
	}
}

func (r *histogramRenderer) barsHeight(size fyne.Size) float32 {
	return size.Height - 3 - r.ticks[0].MinSize().Height
}

// layoutBars places the bars for the buckets, and reports whether any
// moved.
func (r *histogramRenderer) layoutBars(size fyne.Size) (moved bool) {
	barsH := r.barsHeight(size)
	slot := size.Width / reactor.HistogramBuckets
	fr := r.h.fractions()
	for i, bar := range r.bars {
		h := fr[i] * barsH
		if r.h.buckets[i] > 0 {
			h = max(h, 1)
		}
		pos, sz := fyne.NewPos(float32(i)*slot+1, barsH-h), fyne.NewSize(slot-2, h)
		if bar.Position() != pos || bar.Size() != sz {
			bar.Move(pos)
			bar.Resize(sz)
			moved = true
		}
	}
	return moved
}

// colour takes the colours from the theme, and reports whether they
// changed.
func (r *histogramRenderer) colour() (changed bool) {
	bar := theme.Color(theme.ColorNamePrimary)
	axis := theme.Color(theme.ColorNameDisabled)
	tick := theme.Color(theme.ColorNamePlaceHolder)
	if r.base.FillColor != nil && sameColour(r.bars[0].FillColor, bar) && sameColour(r.base.FillColor, axis) && sameColour(r.ticks[0].Color, tick) {
		return false
	}
	for _, b := range r.bars {
		b.FillColor = bar
	}
	r.base.FillColor = axis
	for i := range r.marks {
		r.marks[i].FillColor = axis
		r.ticks[i].Color = tick
	}
	return true
}

// Refresh redraws what changed: the bars whose bucket did (4 times a
// second while the inspector is open), everything when the theme did.
func (r *histogramRenderer) Refresh() {
	if r.colour() {
		r.Layout(r.h.Size())
		canvas.Refresh(r.h)
		return
	}
	if r.layoutBars(r.h.Size()) {
		canvas.Refresh(r.h)
	}
}

func (r *histogramRenderer) Objects() []fyne.CanvasObject { return r.objects }
func (r *histogramRenderer) Destroy()                     {}
