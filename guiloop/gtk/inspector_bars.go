package gtkloop

import (
	"math"

	"github.com/gotk3/gotk3/cairo"
	"github.com/gotk3/gotk3/gtk"
	"github.com/loomkit/loom/reactor"
)

// bars draws a histogram's buckets, one bar each, from under 1µs on the
// left to a second and more on the right. A bar's height is the log of
// its count, so that a few slow passes still show beside thousands of
// quick ones; the buckets wholly over a frame (reactor.FrameThreshold)
// are red, and a line marks the frame.
type bars struct {
	area    *gtk.DrawingArea
	buckets [reactor.HistogramBuckets]uint64
}

// Its size, and the height of the scale under the bars.
const (
	barWidth   = 10
	barsHeight = 44
	scaleSpace = 12
)

func newBars() *bars {
	b := &bars{area: must(gtk.DrawingAreaNew())}
	b.area.SetSizeRequest(barWidth*reactor.HistogramBuckets, barsHeight)
	b.area.Connect("draw", b.draw)
	return b
}

// set shows h's buckets, redrawing if they changed.
func (b *bars) set(h *reactor.Histogram) {
	if h.Buckets != b.buckets {
		b.buckets = h.Buckets
		b.area.QueueDraw()
	}
}

// barX is where a duration (in nanoseconds) falls on the bars' scale: bucket i spans
// 2^(i-1) to 2^i µs.
func barX(d float64) float64 {
	us := d / 1e3
	if us < 1 {
		return barWidth * us
	}
	return barWidth * (1 + math.Log2(us))
}

func (b *bars) draw(area *gtk.DrawingArea, cr *cairo.Context) bool {
	w := float64(area.GetAllocatedWidth())
	plot := float64(barsHeight - scaleSpace)
	cr.SetSourceRGB(0.94, 0.94, 0.94)
	cr.Rectangle(0, 0, w, plot)
	cr.Fill()
	var most uint64
	for _, n := range b.buckets {
		most = max(most, n)
	}
	frame := float64(reactor.FrameThreshold)
	for i, n := range b.buckets {
		if n == 0 {
			continue
		}
		h := max(2, plot*math.Log1p(float64(n))/math.Log1p(float64(most)))
		if i > 0 && float64(reactor.BucketBound(i-1)) >= frame {
			cr.SetSourceRGB(0.85, 0.15, 0.1)
		} else {
			cr.SetSourceRGB(0.2, 0.4, 0.8)
		}
		cr.Rectangle(float64(i*barWidth)+1, plot-h, barWidth-2, h)
		cr.Fill()
	}
	cr.SetSourceRGB(0.85, 0.15, 0.1)
	cr.SetLineWidth(1)
	cr.MoveTo(math.Round(barX(frame))+0.5, 0)
	cr.LineTo(math.Round(barX(frame))+0.5, plot)
	cr.Stroke()

	cr.SetSourceRGB(0.3, 0.3, 0.3)
	cr.SelectFontFace("Sans", cairo.FONT_SLANT_NORMAL, cairo.FONT_WEIGHT_NORMAL)
	cr.SetFontSize(9)
	for _, tick := range []struct {
		at    float64
		label string
	}{{1e3, "1µs"}, {1e6, "1ms"}, {frame, reactor.FrameThreshold.String()}, {1e9, "1s"}} {
		ext := cr.TextExtents(tick.label)
		x := min(max(0, barX(tick.at)-ext.Width/2), w-ext.Width)
		cr.MoveTo(x, barsHeight-2)
		cr.ShowText(tick.label)
	}
	return false
}
