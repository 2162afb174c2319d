// Package pixels reads screenshots of netclient's windows: how many
// pixels of a colour a widget's place holds, and how much of a
// progress bar is filled.
package pixels

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"strconv"
	"strings"

	"github.com/loomkit/loom/apps/netclient"
)

// Tolerance is how far, in each channel, a pixel may be from a colour
// and still count as it.
const Tolerance = 3

// Load reads a PNG file.
func Load(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return png.Decode(f)
}

// Hex reads "#rrggbb".
func Hex(s string) (color.NRGBA, error) {
	v, err := strconv.ParseUint(strings.TrimPrefix(s, "#"), 16, 32)
	if err != nil || len(s) != 7 || s[0] != '#' {
		return color.NRGBA{}, fmt.Errorf("%q is not a colour #rrggbb", s)
	}
	return color.NRGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 0xff}, nil
}

func near(p, c color.NRGBA) bool {
	d := func(a, b uint8) bool { return int(a)-int(b) <= Tolerance && int(b)-int(a) <= Tolerance }
	return d(p.R, c.R) && d(p.G, c.G) && d(p.B, c.B)
}

// Count counts the pixels of img inside r of colour c.
func Count(img image.Image, r netclient.Rect, c color.Color) int {
	want := color.NRGBAModel.Convert(c).(color.NRGBA)
	n := 0
	rect := image.Rect(r.X, r.Y, r.X+r.W, r.Y+r.H).Intersect(img.Bounds())
	for y := rect.Min.Y; y < rect.Max.Y; y++ {
		for x := rect.Min.X; x < rect.Max.X; x++ {
			if near(color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA), want) {
				n++
			}
		}
	}
	return n
}

// Filled is the part of r's columns that hold a pixel of colour c: how
// far a progress bar painted in c is filled.
func Filled(img image.Image, r netclient.Rect, c color.Color) float64 {
	if r.W <= 0 {
		return 0
	}
	n := 0
	for x := r.X; x < r.X+r.W; x++ {
		if Count(img, netclient.Rect{X: x, Y: r.Y, W: 1, H: r.H}, c) > 0 {
			n++
		}
	}
	return float64(n) / float64(r.W)
}
