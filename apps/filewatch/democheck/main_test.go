package main

import (
	"image"
	"image/color"
	"image/draw"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loomkit/loom/apps/filewatch"
	"github.com/loomkit/loom/watch"
)

func row(kind, path string) filewatch.Row {
	return filewatch.Row{Time: "09:00:00.000", Kind: kind, Path: path}
}

// following is the state of a window that follows: the newest row last
// on screen.
func following() filewatch.State {
	newest := row("renamed", "a.txt → a.old")
	return filewatch.State{
		View:     filewatch.View{Total: 30, Kept: 30, Shown: 30, Follow: true},
		Newest:   newest,
		Rows:     30,
		Visible:  []filewatch.Row{row("created", "a.txt"), newest},
		AtBottom: true, FollowButton: true,
	}
}

func TestConditions(t *testing.T) {
	ok := func(s filewatch.State, c string) {
		t.Helper()
		if why := check(s, c); why != "" {
			t.Errorf("%s: %s", c, why)
		}
	}
	not := func(s filewatch.State, c string) {
		t.Helper()
		if check(s, c) == "" {
			t.Errorf("%s holds on %+v", c, s)
		}
	}
	s := following()
	ok(s, "events")
	ok(s, "following")
	not(s, "scrolled-up")
	// Fyne draws the arrow as "➜".
	s.Visible[1].Path = "a.txt ➜ a.old"
	ok(s, "following")

	up := following()
	up.View.Follow, up.FollowButton, up.AtBottom = false, false, false
	not(up, "scrolled-up") // the newest row is still on screen
	up.Visible = up.Visible[:1]
	ok(up, "scrolled-up")
	not(up, "following")
	half := following()
	half.View.Follow = false // the core off, the toggle still on
	not(half, "following")
	not(half, "scrolled-up")

	f := following()
	f.FilterText, f.View.Filter = "renamed", "renamed"
	f.Rows, f.View.Shown = 1, 1
	f.Visible = f.Visible[1:]
	ok(f, "filtered:renamed")
	not(f, "filtered:created")
	f.Visible = append(f.Visible, row("created", "b"))
	not(f, "filtered:renamed")
	not(f, "unfiltered")
	ok(following(), "unfiltered")

	r := following()
	not(r, "rotated")
	r.View.Tail.Markers = map[string]int{"rotated": 1}
	not(r, "rotated") // told, not on screen
	r.TailVisible = []filewatch.TailLine{{Text: "── app.log rotated: … ──", Marker: "rotated"}}
	ok(r, "rotated")

	b := following()
	ok(b, "no-banner")
	not(b, "banner")
	b.BannerShown, b.BannerText = true, "Events may have been missed: …"
	not(b, "banner") // no rescan told yet
	b.View.Banner.Rescanned = 3
	ok(b, "banner")
	not(b, "no-banner")

	g := following()
	not(g, "paused")
	g.View.Generator = &filewatch.GeneratorView{Running: true}
	ok(g, "generating")
	not(g, "paused")

	w := following()
	not(w, "widget:follow")
	w.Widgets = map[string]filewatch.Rect{"follow": {X: 1, Y: 2, W: 30, H: 20}}
	ok(w, "widget:follow")
	not(w, "no-such-condition")
}

// TestWaitReadsTheStateFile: wait reads a state file until it holds what
// is asked, and fails with what it saw.
func TestWaitReadsTheStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	s := following()
	s.View.Follow = false
	if err := filewatch.WriteState(path, s); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		filewatch.WriteState(path, following())
	}()
	if _, err := wait(path, 10*time.Second, []string{"events", "following"}); err != nil {
		t.Fatal(err)
	}
	_, err := wait(path, 300*time.Millisecond, []string{"scrolled-up"})
	if err == nil || !strings.Contains(err.Error(), "scrolled-up") || !strings.Contains(err.Error(), "follow true") {
		t.Errorf("wait for what does not come: %v", err)
	}
}

func fill(img *image.NRGBA, r filewatch.Rect, hex string) {
	var c color.NRGBA
	c.A = 0xff
	for i, p := range []*uint8{&c.R, &c.G, &c.B} {
		var v uint8
		for _, d := range hex[1+2*i : 3+2*i] {
			v = v*16 + uint8(strings.IndexRune("0123456789abcdef", d))
		}
		*p = v
	}
	draw.Draw(img, image.Rect(r.X, r.Y, r.X+r.W, r.Y+r.H), &image.Uniform{c}, image.Point{}, draw.Src)
}

// TestPixelChecks: the checks count the colours where the widgets are,
// and fail when they are not there.
func TestPixelChecks(t *testing.T) {
	s := following()
	s.Widgets = map[string]filewatch.Rect{
		"list":   {X: 0, Y: 100, W: 400, H: 300},
		"tail":   {X: 0, Y: 420, W: 400, H: 100},
		"banner": {X: 0, Y: 40, W: 400, H: 40},
	}
	img := image.NewNRGBA(image.Rect(0, 0, 400, 600))
	draw.Draw(img, img.Bounds(), &image.Uniform{color.White}, image.Point{}, draw.Src)
	expect := func(c string, want bool) {
		t.Helper()
		msg, ok := pixelCheck(s, img, c)
		if ok != want {
			t.Errorf("%s: %v (%s), want %v", c, ok, msg, want)
		}
	}
	expect("kinds", false)
	expect("marker", false)
	expect("banner", false)
	expect("no-banner", true)
	fill(img, filewatch.Rect{X: 10, Y: 110, W: 90, H: 20}, filewatch.KindColor(watch.Renamed))
	expect("only:renamed", true)
	expect("kinds", false)
	fill(img, filewatch.Rect{X: 10, Y: 140, W: 90, H: 20}, filewatch.KindColor(watch.Created))
	fill(img, filewatch.Rect{X: 10, Y: 170, W: 90, H: 20}, filewatch.KindColor(watch.Written))
	expect("kinds", true)
	expect("only:renamed", false)
	// A marker cut to a sliver by the pane's top is not whole.
	fill(img, filewatch.Rect{X: 0, Y: 420, W: 400, H: 6}, filewatch.MarkerColor)
	expect("marker", false)
	fill(img, filewatch.Rect{X: 0, Y: 450, W: 400, H: 22}, filewatch.MarkerColor)
	expect("marker", true)
	// The banner's colour outside the banner's place does not count.
	fill(img, filewatch.Rect{X: 0, Y: 540, W: 400, H: 40}, filewatch.BannerColor)
	expect("banner", false)
	expect("no-banner", false)
	fill(img, s.Widgets["banner"], filewatch.BannerColor)
	expect("banner", true)
	expect("nonsense", false)
}
