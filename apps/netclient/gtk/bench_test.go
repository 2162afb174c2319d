package main

import (
	"io"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gotk3/gotk3/gdk"
	"github.com/gotk3/gotk3/gtk"

	"github.com/loomkit/loom/apps/netclient"
)

// BenchmarkSaturatedDownload measures, in one run, the window idle and
// the window while a download takes everything loopback gives (the
// local server unthrottled, the body read and discarded): GTK's frame
// clock tick intervals, and how long a click on a button (Clear) takes
// to be answered: to reach its handler, and to be drawn (the frame after
// the handler), from the moment the button's release is written to an
// xdotool that reads its commands from a pipe. Run it with
//
//	go test -run '^$' -bench SaturatedDownload -benchtime 1x ./apps/netclient/gtk/
func BenchmarkSaturatedDownload(b *testing.B) {
	const phase = 4 * time.Second
	for range b.N {
		a := startApp(b, netclient.Options{})
		v := a.view()
		time.Sleep(time.Second) // the window's first frames and fonts
		idle := a.measure(phase)
		var id int
		a.on(func() { id = a.s.Fetch(v.URLs[0]+"?size=1000G&rate=0", false) })
		a.eventually("bytes moving", func() bool { return transferOf(a.s.View(), id).Done > 0 })
		var from int64
		a.on(func() { from = transferOf(a.s.View(), id).Done })
		start := time.Now()
		load := a.measure(phase)
		var to int64
		a.on(func() {
			to = transferOf(a.s.View(), id).Done
			a.s.Cancel(id)
		})
		mbps := float64(to-from) / time.Since(start).Seconds() / 1e6

		b.ReportMetric(mbps, "download-MB/s")
		b.ReportMetric(ms(percentile(idle.ticks, 50)), "idle-tick-p50-ms")
		b.ReportMetric(ms(percentile(idle.ticks, 99)), "idle-tick-p99-ms")
		b.ReportMetric(ms(percentile(load.ticks, 50)), "load-tick-p50-ms")
		b.ReportMetric(ms(percentile(load.ticks, 99)), "load-tick-p99-ms")
		b.ReportMetric(float64(percentile(load.ticks, 99))/float64(percentile(idle.ticks, 99)), "tick-p99-ratio")
		b.ReportMetric(ms(percentile(idle.clicks, 99)), "idle-click-p99-ms")
		b.ReportMetric(ms(percentile(load.clicks, 50)), "load-click-p50-ms")
		b.ReportMetric(ms(percentile(load.clicks, 99)), "load-click-p99-ms")
		b.ReportMetric(ms(percentile(idle.drawn, 99)), "idle-drawn-p99-ms")
		b.ReportMetric(ms(percentile(load.drawn, 99)), "load-drawn-p99-ms")
		b.ReportMetric(float64(len(load.clicks)), "load-clicks")
		b.Logf("download %.0f MB/s; ticks p50/p99 idle %v/%v, loaded %v/%v; clicks answered p99 idle %v, loaded %v (drawn %v/%v), %d and %d clicks",
			mbps, percentile(idle.ticks, 50), percentile(idle.ticks, 99), percentile(load.ticks, 50), percentile(load.ticks, 99),
			percentile(idle.clicks, 99), percentile(load.clicks, 99), percentile(idle.drawn, 99), percentile(load.drawn, 99),
			len(idle.clicks), len(load.clicks))
	}
}

type measured struct{ ticks, clicks, drawn []time.Duration }

// measure records, for d, the intervals between the window's frame clock
// ticks (a tick callback that redraws the badge, so that every frame
// paints) and the latency of clicks on Clear, one every 30ms or so.
func (a *app) measure(d time.Duration) measured {
	var ticks []time.Time
	var tickID int
	clicked := make(chan [2]time.Time, 1)
	var sent time.Time
	var handler func()
	a.on(func() {
		tickID = a.w.win.AddTickCallback(func(*gtk.Widget, *gdk.FrameClock) bool {
			ticks = append(ticks, time.Now())
			a.w.badge.QueueDraw()
			return true
		})
		// After the window's own handler: the core has cleared the
		// exchange and the window has asked for a frame; the tick added
		// here runs after the window's, once it has drawn.
		h := a.w.clearLines.Connect("clicked", func() {
			at := time.Now()
			a.w.win.AddTickCallback(func(*gtk.Widget, *gdk.FrameClock) bool {
				clicked <- [2]time.Time{at, time.Now()}
				return false
			})
		})
		handler = func() { a.w.clearLines.HandlerDisconnect(h) }
	})
	x, y := a.rect("clear").Center()
	// Not --sync: the pointer may be there already, and then xdotool
	// waits for a move that never comes.
	xdotool(a.t, "mousemove", "--window", a.id, strconv.Itoa(x), strconv.Itoa(y))
	time.Sleep(50 * time.Millisecond)
	cmd := exec.Command("xdotool", "-")
	in, err := cmd.StdinPipe()
	if err != nil {
		a.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		a.t.Fatal(err)
	}
	defer cmd.Wait()
	defer in.Close()
	var m measured
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		// The button goes down, and the click is its release: what GTK
		// answers with "clicked".
		if _, err := io.WriteString(in, "mousedown 1\n"); err != nil {
			a.t.Fatalf("xdotool: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
		sent = time.Now()
		if _, err := io.WriteString(in, "mouseup 1\n"); err != nil {
			a.t.Fatalf("xdotool: %v", err)
		}
		select {
		case at := <-clicked:
			m.clicks = append(m.clicks, at[0].Sub(sent))
			m.drawn = append(m.drawn, at[1].Sub(sent))
		case <-time.After(5 * time.Second):
			a.t.Fatalf("a click on Clear was not answered within 5s")
		}
	}
	var got []time.Time
	a.on(func() {
		a.w.win.RemoveTickCallback(tickID)
		handler()
		got = slices.Clone(ticks)
	})
	for i := 1; i < len(got); i++ {
		m.ticks = append(m.ticks, got[i].Sub(got[i-1]))
	}
	return m
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(float64(len(s)-1)*p/100)]
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
