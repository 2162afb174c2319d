package main

import (
	"bytes"
	"image/color"
	"os"
	"strconv"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"

	"github.com/loomkit/loom/apps/netclient"
	"github.com/loomkit/loom/apps/netclient/fyne/ui"
	"github.com/loomkit/loom/apps/netclient/servers"
)

func transferOf(v netclient.View, id int) netclient.TransferView {
	for _, t := range v.Transfers {
		if t.ID == id {
			return t
		}
	}
	return netclient.TransferView{}
}

func lastLine(f *fixture) string {
	n := f.s.LineCount()
	if n == 0 {
		return ""
	}
	return f.s.Line(n - 1).Text
}

// A person's session in the real window, through the X server: connect,
// send a line, start two downloads (one with a size, one without),
// cancel the first, let the second finish; each step checked in the
// widgets and on a screenshot of the window (out/netclient-fyne-test-*).
func TestAPersonUsesTheWindow(t *testing.T) {
	f := newFixture(t, netclient.Options{})
	v := f.view()
	var primary color.Color
	f.on(func() {
		primary = fyne.CurrentApp().Settings().Theme().Color(theme.ColorNamePrimary, theme.VariantLight)
	})

	img := f.shot("netclient-fyne-test-1-start")
	if n := count(img, f.rect("badge"), ui.Badge["disconnected"]); n < 100 {
		t.Errorf("before connecting, the badge has %d grey pixels", n)
	}

	f.click("connect")
	f.eventually("the greeting", func() bool { return lastLine(f) == servers.Greeting })
	f.eventually("the status label says connected", func() bool { return f.u.Status.Text == "connected to "+v.Console.Addr })
	img = f.shot("netclient-fyne-test-2-connected")
	if n := count(img, f.rect("badge"), ui.Badge["connected"]); n < 100 {
		t.Errorf("connected, the badge has %d green pixels", n)
	}

	f.typeInto("line", "UPPER hello loom", true)
	f.eventually("the answer", func() bool { return lastLine(f) == "HELLO LOOM" })
	f.eventually("the entry emptied", func() bool { return f.u.Line.Text == "" })
	img = f.shot("netclient-fyne-test-3-sent")
	ex := f.rect("exchange")
	sent, received := count(img, ex, ui.SentBG), count(img, ex, ui.ReceivedBG)
	t.Logf("exchange: %d pixels of the sent colour, %d of the received", sent, received)
	if sent < 2000 || received < 2*2000 {
		t.Errorf("the exchange shows %d pixels of the sent rows' colour and %d of the received", sent, received)
	}
	if n := count(img, ex, ui.SentFG); n < 50 {
		t.Errorf("the sent line's text: %d pixels", n)
	}

	big := v.URLs[0] + "?size=32M&rate=4M"
	stream := v.URLs[1] + "?size=2M&rate=1M"
	f.typeInto("url", big, false)
	f.click("fetch")
	f.typeInto("url", stream, false)
	f.click("fetch")
	f.eventually("two transfers", func() bool { return len(f.s.View().Transfers) == 2 })
	v = f.view()
	one, two := v.Transfers[0].ID, v.Transfers[1].ID
	if v.Transfers[0].URL != big || v.Transfers[1].URL != stream {
		t.Fatalf("transfers of %q and %q", v.Transfers[0].URL, v.Transfers[1].URL)
	}
	f.eventually("both receiving, the first a tenth through", func() bool {
		v := f.s.View()
		return v.Transfers[0].Fraction > 0.1 && v.Transfers[1].State == "receiving" && v.Transfers[1].Done > 0
	})
	bar1, bar2 := f.rect("transfer."+strconv.Itoa(one)+".bar"), f.rect("transfer."+strconv.Itoa(two)+".bar")
	before := transferOf(f.view(), one).Fraction
	img = f.shot("netclient-fyne-test-4-downloading")
	after := transferOf(f.view(), one).Fraction
	fill := float64(columns(img, bar1, primary)) / float64(bar1.W)
	t.Logf("first bar: %.2f filled on screen, %.2f-%.2f in the view", fill, before, after)
	if fill < before-0.05 || fill > after+0.05 {
		t.Errorf("the first bar is %.2f filled on screen; the transfer was %.2f-%.2f through", fill, before, after)
	}
	if p := float64(columns(img, bar2, primary)) / float64(bar2.W); p <= 0 || p > 0.6 {
		t.Errorf("the pulsing bar shows a block %.2f of its width", p)
	}

	f.click("transfer." + strconv.Itoa(one) + ".cancel")
	f.eventually("the first cancelled", func() bool { return transferOf(f.s.View(), one).State == "cancelled" })
	f.eventually("the second done", func() bool { return transferOf(f.s.View(), two).State == "done" })
	img = f.shot("netclient-fyne-test-5-cancelled")
	bar1, bar2 = f.rect("transfer."+strconv.Itoa(one)+".bar"), f.rect("transfer."+strconv.Itoa(two)+".bar")
	c := transferOf(f.view(), one)
	if n := columns(img, bar1, primary); n != 0 {
		t.Errorf("the cancelled bar still has %d columns of the primary colour", n)
	}
	if p := float64(columns(img, bar1, ui.StoppedBar)) / float64(bar1.W); p < c.Fraction-0.05 || p > c.Fraction+0.05 {
		t.Errorf("the cancelled bar is %.2f grey; it stopped at %.2f", p, c.Fraction)
	}
	if p := float64(columns(img, bar2, ui.DoneBar)) / float64(bar2.W); p < 0.95 {
		t.Errorf("the finished bar is %.2f green", p)
	}
	if !strings.HasPrefix(c.Summary, "cancelled after ") {
		t.Errorf("the cancelled transfer says %q", c.Summary)
	}
	d := transferOf(f.view(), two)
	got, err := os.ReadFile(d.Path)
	want := make([]byte, 2<<20)
	servers.FillText(want, 0)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("the saved file %s: %d bytes, %v", d.Path, len(got), err)
	}
	f.eventually("the details of the finished transfer", func() bool {
		return strings.Contains(f.u.Details.Text, "HTTP/1.1 200 OK\n") && strings.Contains(f.u.Details.Text, "saved to "+d.Path)
	})
}

// The server resets the connection: the badge turns red, the status says
// so, and Reconnect brings the connection back.
func TestResetAndReconnect(t *testing.T) {
	f := newFixture(t, netclient.Options{URL: "http://127.0.0.1:1/"})
	f.click("connect")
	f.eventually("the greeting", func() bool { return lastLine(f) == servers.Greeting })
	f.typeInto("line", "RESET", true)
	f.eventually("the status label says reset", func() bool { return f.u.Status.Text == "reset by the peer" })
	img := f.shot("netclient-fyne-test-reset")
	if n := count(img, f.rect("badge"), ui.Badge["failed"]); n < 100 {
		t.Errorf("after the reset, the badge has %d red pixels", n)
	}
	f.eventually("Reconnect enabled", func() bool { return !f.u.Recon.Disabled() })
	f.click("reconnect")
	f.eventually("connected again", func() bool { return f.u.Status.Text == "connected to "+f.s.View().Console.Addr })
}
