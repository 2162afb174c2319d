package gtkloop_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gotk3/gotk3/gdk"
	"github.com/gotk3/gotk3/gtk"
	gtkloop "github.com/loomkit/loom/guiloop/gtk"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"golang.org/x/sys/unix"
)

// flood saturates r: a socket pair whose writer keeps writing and whose
// reader keeps reading, so that the reactor always has work. stop removes
// both and returns how many bytes went through. Reactor goroutine.
func flood(t testing.TB, r *reactor.Reactor) (stop func() int64) {
	a, b := reactortest.Socketpair(t)
	out, in := make([]byte, 64<<10), make([]byte, 64<<10)
	var moved int64
	ok(t, r.AddWriter(a, func() { unix.Write(a, out) }))
	ok(t, r.AddReader(b, func() {
		n, err := unix.Read(b, in)
		if err == nil || !errors.Is(err, unix.EAGAIN) {
			moved += int64(max(n, 0))
		}
	}))
	return func() int64 {
		r.RemoveWriter(a)
		r.RemoveReader(b)
		return moved
	}
}

// frameTicks runs Run(r, opts...) with a window whose widget has a tick
// callback (so GTK's frame clock keeps producing frames), for d, flooding
// the reactor if asked, and returns the intervals between ticks and how
// many bytes the flood moved.
func frameTicks(t testing.TB, r *reactor.Reactor, flooded bool, d time.Duration, opts ...gtkloop.Option) ([]time.Duration, int64) {
	t.Helper()
	wait := start(t, r, opts...)
	var ticks []time.Time
	var win *gtk.Window
	onLoop(r, func() {
		area, _ := gtk.DrawingAreaNew()
		area.SetSizeRequest(200, 100)
		area.AddTickCallback(func(w *gtk.Widget, _ *gdk.FrameClock) bool {
			ticks = append(ticks, time.Now())
			w.QueueDraw()
			return true
		})
		win = newWindow(t, "gtkloop frames", 200, 100, area)
	})
	for deadline := time.Now().Add(5 * time.Second); ; {
		n := 0
		onLoop(r, func() { n = len(ticks) })
		if n >= 5 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	var stopFlood func() int64
	var from int
	onLoop(r, func() {
		from = len(ticks)
		if flooded {
			stopFlood = flood(t, r)
		}
	})
	time.Sleep(d)
	var moved int64
	var got []time.Time
	onLoop(r, func() {
		got = slices.Clone(ticks[from:])
		if stopFlood != nil {
			moved = stopFlood()
		}
		win.Destroy()
		r.Stop()
	})
	ok(t, wait())
	var intervals []time.Duration
	for i := 1; i < len(got); i++ {
		intervals = append(intervals, got[i].Sub(got[i-1]))
	}
	return intervals, moved
}

// percentile returns the p-th percentile (0..100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

func TestSaturatedReactorDoesNotStopFrames(t *testing.T) {
	warmUp(t)
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	const d = time.Second
	intervals, moved := frameTicks(t, r, true, d)
	t.Logf("while flooded (%.0f MB/s through the reactor): %d frames in %v, interval p50 %v, p99 %v, max %v",
		float64(moved)/d.Seconds()/1e6, len(intervals)+1, d,
		percentile(intervals, 50), percentile(intervals, 99), percentile(intervals, 100))
	if moved < 1<<20 {
		t.Errorf("the flood moved only %d bytes: the reactor was not saturated", moved)
	}
	// Generous bounds for a loaded machine; the benchmark has the figure.
	if len(intervals) < 15 {
		t.Errorf("%d frames in %v while the reactor was saturated", len(intervals)+1, d)
	}
	if p50 := percentile(intervals, 50); p50 > 60*time.Millisecond {
		t.Errorf("median frame interval %v while the reactor was saturated", p50)
	}
}
