package pixels

import (
	"image"
	"image/color"
	"testing"

	"github.com/loomkit/loom/apps/netclient"
)

func TestCountAndFilled(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 100, 20))
	blue, _ := Hex("#3584e4")
	for y := 5; y < 15; y++ {
		for x := 10; x < 40; x++ {
			img.Set(x, y, color.NRGBA{R: blue.R + 2, G: blue.G - 3, B: blue.B, A: 0xff})
		}
		img.Set(90, y, color.NRGBA{R: blue.R + 4, G: blue.G, B: blue.B, A: 0xff}) // too far off
	}
	bar := netclient.Rect{X: 10, Y: 0, W: 60, H: 20}
	if n := Count(img, bar, blue); n != 300 {
		t.Errorf("Count = %d, want 300", n)
	}
	if f := Filled(img, bar, blue); f != 0.5 {
		t.Errorf("Filled = %v, want 0.5", f)
	}
	if n := Count(img, netclient.Rect{X: 80, Y: 0, W: 50, H: 50}, blue); n != 0 {
		t.Errorf("Count outside = %d", n)
	}
	if _, err := Hex("3584e4"); err == nil {
		t.Error("Hex took a colour without #")
	}
}
