package main

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/gotk3/gotk3/gdk"
	"github.com/gotk3/gotk3/gtk"

	"github.com/loomkit/loom/apps/netclient"
	"github.com/loomkit/loom/apps/netclient/servers"
)

// storeTexts returns the text column of the exchange's rows. GTK thread.
func (w *window) storeTexts() []string {
	var texts []string
	it, ok := w.store.GetIterFirst()
	for ok {
		v, _ := w.store.GetValue(it, colText)
		s, _ := v.GetString()
		texts = append(texts, s)
		ok = w.store.IterNext(it)
	}
	return texts
}

func hasLine(texts []string, s string) bool {
	for _, t := range texts {
		if t == s {
			return true
		}
	}
	return false
}

// A person's session, through the X server: connect, send a line, start
// two downloads (one with a size, one without), cancel the first, let
// the second finish. Each step is checked in the widgets and on a
// screenshot of the window (out/netclient-gtk-test-*.png).
func TestAPersonUsesTheWindow(t *testing.T) {
	a := startApp(t, netclient.Options{})
	v := a.view()
	grey, green := hex("#9a9996"), hex("#2ec27e")

	img := a.shot("netclient-gtk-test-1-start")
	if n := count(img, a.rect("badge"), grey); n < 100 {
		t.Errorf("before connecting, the badge has %d grey pixels", n)
	}

	a.click("connect")
	a.eventually("connected", func() bool { return a.s.View().Console.State == "connected" })
	a.eventually("the greeting in the exchange", func() bool { return hasLine(a.w.storeTexts(), servers.Greeting) })
	img = a.shot("netclient-gtk-test-2-connected")
	if n := count(img, a.rect("badge"), green); n < 100 {
		t.Errorf("connected, the badge has %d green pixels", n)
	}
	a.eventually("the status label says connected", func() bool {
		s, _ := a.w.status.GetText()
		return s == "connected to "+v.Console.Addr
	})

	a.typeInto("line", "UPPER hello loom", true)
	a.eventually("the answer in the exchange", func() bool { return hasLine(a.w.storeTexts(), "HELLO LOOM") })
	var entry string
	a.on(func() { entry, _ = a.w.line.GetText() })
	if entry != "" {
		t.Errorf("the line entry still holds %q after sending", entry)
	}
	img = a.shot("netclient-gtk-test-3-sent")
	ex := a.rect("exchange")
	sent, received := count(img, ex, hex(SentBG)), count(img, ex, hex(ReceivedBG))
	t.Logf("exchange: %d pixels of the sent colour, %d of the received", sent, received)
	if sent < 2000 || received < 2*2000 { // one row sent, two received (greeting, answer)
		t.Errorf("the exchange shows %d pixels of the sent rows' colour and %d of the received", sent, received)
	}
	if n := count(img, ex, hex(SentFG)); n < 50 {
		t.Errorf("the sent line's text: %d pixels", n)
	}

	// Two downloads: a file with a length, slow enough to cancel midway,
	// and a chunked one that finishes.
	big := v.URLs[0] + "?size=32M&rate=4M"
	stream := v.URLs[1] + "?size=2M&rate=1M"
	a.typeInto("url", big, false)
	a.click("fetch")
	a.typeInto("url", stream, false)
	a.click("fetch")
	a.eventually("two transfers", func() bool { return len(a.s.View().Transfers) == 2 })
	v = a.view()
	one, two := v.Transfers[0].ID, v.Transfers[1].ID
	if v.Transfers[0].URL != big || v.Transfers[1].URL != stream {
		t.Fatalf("transfers of %q and %q", v.Transfers[0].URL, v.Transfers[1].URL)
	}
	a.eventually("both receiving, the first a tenth through", func() bool {
		v := a.s.View()
		return v.Transfers[0].Fraction > 0.1 && v.Transfers[1].State == "receiving" && v.Transfers[1].Done > 0
	})
	bar1, bar2 := a.rect(idName(one, "bar")), a.rect(idName(two, "bar"))
	before := transferOf(a.view(), one).Fraction
	img = a.shot("netclient-gtk-test-4-downloading")
	after := transferOf(a.view(), one).Fraction
	blue := hex("#3584e4")
	fill := float64(columns(img, bar1, blue)) / float64(bar1.W)
	t.Logf("first bar: %.2f filled on screen, %.2f-%.2f in the view", fill, before, after)
	if fill < before-0.05 || fill > after+0.05 {
		t.Errorf("the first bar is %.2f filled on screen; the transfer was %.2f-%.2f through", fill, before, after)
	}
	if p := float64(columns(img, bar2, blue)) / float64(bar2.W); p <= 0 || p > 0.5 {
		t.Errorf("the pulsing bar shows a block %.2f of its width", p)
	}

	a.click(idName(one, "cancel"))
	a.eventually("the first cancelled", func() bool { return transferOf(a.s.View(), one).State == "cancelled" })
	a.eventually("the second done", func() bool { return transferOf(a.s.View(), two).State == "done" })
	img = a.shot("netclient-gtk-test-5-cancelled")
	c := transferOf(a.view(), one)
	if n := columns(img, bar1, blue); n != 0 {
		t.Errorf("the cancelled bar still has %d blue columns", n)
	}
	if p := float64(columns(img, bar1, grey)) / float64(bar1.W); p < c.Fraction-0.05 || p > c.Fraction+0.05 {
		t.Errorf("the cancelled bar is %.2f grey; it stopped at %.2f", p, c.Fraction)
	}
	if p := float64(columns(img, bar2, green)) / float64(bar2.W); p < 0.95 {
		t.Errorf("the finished bar is %.2f green", p)
	}
	var summary string
	var cancels [2]bool
	a.on(func() {
		summary, _ = a.w.rows[0].summary.GetText()
		cancels = [2]bool{a.w.rows[0].cancel.GetSensitive(), a.w.rows[1].cancel.GetSensitive()}
	})
	if cancels[0] || cancels[1] {
		t.Errorf("Cancel buttons of ended transfers sensitive: %v", cancels)
	}
	if !strings.HasPrefix(summary, "cancelled after ") || summary != c.Summary {
		t.Errorf("the cancelled row says %q (the view: %q)", summary, c.Summary)
	}
	d := transferOf(a.view(), two)
	got, err := os.ReadFile(d.Path)
	want := make([]byte, 2<<20)
	servers.FillText(want, 0)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("the saved file %s: %d bytes, %v", d.Path, len(got), err)
	}
	var details string
	a.on(func() {
		buf, _ := a.w.details.GetBuffer()
		details, _ = buf.GetText(buf.GetStartIter(), buf.GetEndIter(), false)
	})
	if !strings.Contains(details, "HTTP/1.1 200 OK\n") || !strings.Contains(details, "saved to "+d.Path) {
		t.Errorf("details pane:\n%s", details)
	}
}

// The server resets the connection: the badge turns red and the status
// says so; Reconnect brings it back.
func TestResetAndReconnect(t *testing.T) {
	a := startApp(t, netclient.Options{URL: "http://127.0.0.1:1/"})
	a.click("connect")
	a.eventually("connected", func() bool { return a.s.View().Console.State == "connected" })
	a.typeInto("line", "RESET", true)
	a.eventually("the status label says reset", func() bool {
		s, _ := a.w.status.GetText()
		return s == "reset by the peer"
	})
	var reconnect bool
	a.on(func() { reconnect = a.w.recon.GetSensitive() })
	if !reconnect {
		t.Errorf("after RESET: Reconnect not sensitive")
	}
	img := a.shot("netclient-gtk-test-reset")
	if n := count(img, a.rect("badge"), hex("#e01b24")); n < 100 {
		t.Errorf("after the reset, the badge has %d red pixels", n)
	}
	a.click("reconnect")
	a.eventually("connected again", func() bool { return a.s.View().Console.State == "connected" })
}

// COUNT 100000 sends a hundred thousand lines: the exchange keeps the
// last DefaultMaxLines, the rows follow the core's, and the redraws stay
// at most one a frame.
func TestManyLinesOneRedrawAFrame(t *testing.T) {
	a := startApp(t, netclient.Options{URL: "http://127.0.0.1:1/"})
	a.click("connect")
	a.eventually("connected", func() bool { return a.s.View().Console.State == "connected" })
	frames, renders0 := 0, 0
	var version0 uint64
	a.on(func() {
		renders0, version0 = a.w.renders, a.s.Version()
		a.w.win.AddTickCallback(func(*gtk.Widget, *gdk.FrameClock) bool { frames++; return true })
	})
	a.typeInto("line", "COUNT 100000", true)
	a.eventually("the last line shown", func() bool {
		texts := a.w.storeTexts()
		return len(texts) > 0 && texts[len(texts)-1] == "100000"
	})
	var texts []string
	var kept, renders, framesSeen int
	var changes uint64
	a.on(func() {
		texts = a.w.storeTexts()
		kept = a.s.LineCount()
		renders = a.w.renders - renders0
		changes = a.s.Version() - version0
		framesSeen = frames
	})
	if kept != netclient.DefaultMaxLines || len(texts) != kept {
		t.Errorf("the core keeps %d lines, the view shows %d", kept, len(texts))
	}
	if texts[0] != "90001" {
		t.Errorf("the first row shown is %q", texts[0])
	}
	t.Logf("%d changes, %d redraws in %d frames", changes, renders, framesSeen)
	if changes < 100000 || renders > framesSeen+2 {
		t.Errorf("%d changes, %d redraws in %d frames", changes, renders, framesSeen)
	}
	img := a.shot("netclient-gtk-test-count")
	if n := count(img, a.rect("exchange"), hex(ReceivedBG)); n < 10000 {
		t.Errorf("the exchange shows %d pixels of received rows", n)
	}
}

func idName(id int, part string) string {
	return "transfer." + strconv.Itoa(id) + "." + part
}

func transferOf(v netclient.View, id int) netclient.TransferView {
	for _, t := range v.Transfers {
		if t.ID == id {
			return t
		}
	}
	return netclient.TransferView{}
}
