package main

import (
	"image"
	"image/color"
	"strings"
	"testing"

	"github.com/loomkit/loom/apps/netclient"
)

// state is a window at the downloading step: the first bar at f, the
// second pulsing.
func state(f float64) *netclient.State {
	return &netclient.State{
		View: netclient.View{Transfers: []netclient.TransferView{
			{ID: 1, State: "receiving", Known: true, Fraction: f, Summary: "x"},
			{ID: 2, State: "receiving", Done: 10},
		}},
		Layout: netclient.Layout{
			"transfer.1.bar": {X: 0, Y: 10, W: 100, H: 10},
			"transfer.2.bar": {X: 0, Y: 30, W: 100, H: 10},
			"badge":          {X: 200, Y: 0, W: 10, H: 10},
		},
		Colors: map[string]string{"bar": "#3584e4", "badge.disconnected": "#9a9996"},
	}
}

func paint(img *image.NRGBA, x0, x1, y0, y1 int, c color.NRGBA) {
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			img.Set(x, y, c)
		}
	}
}

func TestCheckDownloading(t *testing.T) {
	blue := color.NRGBA{0x35, 0x84, 0xe4, 0xff}
	img := image.NewNRGBA(image.Rect(0, 0, 800, 600))
	paint(img, 0, 30, 10, 20, blue)  // the first bar, 0.30 filled
	paint(img, 40, 60, 30, 40, blue) // the second bar's block
	if _, err := check("downloading", state(0.28), state(0.31), img); err != nil {
		t.Errorf("a bar 0.30 filled while the transfer went 0.28 to 0.31: %v", err)
	}
	if _, err := check("downloading", state(0.5), state(0.52), img); err == nil || !strings.Contains(err.Error(), "the first bar is 0.30 filled") {
		t.Errorf("a bar 0.30 filled while the transfer was at 0.5: %v", err)
	}
	paint(img, 0, 100, 30, 40, blue) // the second bar full: not pulsing
	if _, err := check("downloading", state(0.28), state(0.31), img); err == nil || !strings.Contains(err.Error(), "second bar") {
		t.Errorf("a full second bar: %v", err)
	}
}

func TestCheckStart(t *testing.T) {
	st := state(0)
	st.Console.State = "disconnected"
	st.Layout["connect"], st.Layout["line"], st.Layout["url"], st.Layout["fetch"], st.Layout["exchange"] =
		netclient.Rect{W: 1}, netclient.Rect{W: 1}, netclient.Rect{W: 1}, netclient.Rect{W: 1}, netclient.Rect{W: 1}
	img := image.NewNRGBA(image.Rect(0, 0, 800, 600))
	if _, err := check("start", st, st, img); err == nil || !strings.Contains(err.Error(), "the badge has 0 pixels") {
		t.Errorf("no badge: %v", err)
	}
	paint(img, 200, 210, 0, 10, color.NRGBA{0x9a, 0x99, 0x96, 0xff})
	if _, err := check("start", st, st, img); err != nil {
		t.Errorf("a grey badge: %v", err)
	}
	if _, err := check("start", st, st, image.NewNRGBA(image.Rect(0, 0, 100, 100))); err == nil {
		t.Error("a picture too small for the window passed")
	}
}
