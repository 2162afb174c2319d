// Command democheck checks what a filewatch window shows, for
// scripts/demo-filewatch: the state file the window writes (-state-file:
// what its widgets show, read back from them) and screenshots of it.
//
//	democheck wait -state F [-timeout 20s] COND...   wait until every COND holds
//	democheck where -state F WIDGET                  print the middle of WIDGET: "x y"
//	democheck shot -state F -png P CHECK...          check a screenshot's pixels
//
// Conditions: events, following, scrolled-up, filtered:WORD, unfiltered,
// rotated, banner, no-banner, paused, generating. Pixel checks: kinds
// (rows of three kinds or more on their colours in the list), only:KIND (that kind's colour alone
// among the kinds in the list), marker (a marker line whole in the tail
// pane), banner (the banner's colour over half of it), no-banner.
// Each prints what it found; it exits 1 when a check fails.
package main

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"strings"
	"time"

	"github.com/loomkit/loom/apps/filewatch"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: democheck wait|where|shot -state FILE ...")
	}
	fs := flag.NewFlagSet("democheck "+os.Args[1], flag.ExitOnError)
	state := fs.String("state", "", "the window's state file")
	shot := fs.String("png", "", "screenshot of the window")
	timeout := fs.Duration("timeout", 20*time.Second, "how long to wait")
	fs.Parse(os.Args[2:])
	if *state == "" {
		fail("no -state file")
	}
	switch os.Args[1] {
	case "wait":
		s, err := wait(*state, *timeout, fs.Args())
		if err != nil {
			fail(err.Error())
		}
		fmt.Printf("ok: %s (%s)\n", strings.Join(fs.Args(), ", "), summary(s))
	case "where":
		s, err := wait(*state, *timeout, []string{"widget:" + fs.Arg(0)})
		if err != nil {
			fail(err.Error())
		}
		r := s.Widgets[fs.Arg(0)]
		fmt.Println(r.X+r.W/2, r.Y+r.H/2)
	case "shot":
		s, err := filewatch.ReadState(*state)
		if err != nil {
			fail(err.Error())
		}
		img, err := readPNG(*shot)
		if err != nil {
			fail(err.Error())
		}
		bad := false
		for _, c := range fs.Args() {
			msg, ok := pixelCheck(s, img, c)
			if ok {
				fmt.Printf("ok: %s: %s\n", c, msg)
			} else {
				fmt.Printf("FAILED: %s: %s\n", c, msg)
				bad = true
			}
		}
		if bad {
			os.Exit(1)
		}
	default:
		fail("unknown command " + os.Args[1])
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "democheck:", msg)
	os.Exit(1)
}

// wait reads the state file until every condition holds on one reading.
func wait(path string, timeout time.Duration, conds []string) (filewatch.State, error) {
	deadline := time.Now().Add(timeout)
	var s filewatch.State
	var err error
	for {
		s, err = filewatch.ReadState(path)
		failed := ""
		if err != nil {
			failed = err.Error()
		} else {
			for _, c := range conds {
				if why := check(s, c); why != "" {
					failed = c + ": " + why
					break
				}
			}
		}
		if failed == "" {
			return s, nil
		}
		if time.Now().After(deadline) {
			return s, fmt.Errorf("after %v, %s (%s)", timeout, failed, summary(s))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func summary(s filewatch.State) string {
	v := s.View
	return fmt.Sprintf("%s window: %d events, %d rows, follow %v, at bottom %v, filter %q, banner %v, tail markers %v",
		s.Toolkit, v.Total, s.Rows, v.Follow, s.AtBottom, s.FilterText, s.BannerShown, v.Tail.Markers)
}

// same says whether the widget's row w shows the core's row r (Fyne's
// list draws a rename's arrow as "➜").
func same(w, r filewatch.Row) bool {
	return w.Time == r.Time && w.Kind == r.Kind && strings.ReplaceAll(w.Path, " ➜ ", " → ") == r.Path
}

func newestOnScreen(s filewatch.State) bool {
	for _, r := range s.Visible {
		if same(r, s.Newest) {
			return true
		}
	}
	return false
}

// check returns why condition c does not hold on s, or "".
func check(s filewatch.State, c string) string {
	v := s.View
	switch {
	case c == "events":
		if v.Total < 20 || s.Rows == 0 || len(s.Visible) == 0 {
			return fmt.Sprintf("%d events, %d rows, %d on screen", v.Total, s.Rows, len(s.Visible))
		}
	case c == "following":
		if !v.Follow || !s.FollowButton || !s.AtBottom {
			return fmt.Sprintf("follow %v, its toggle %v, at bottom %v", v.Follow, s.FollowButton, s.AtBottom)
		}
		if len(s.Visible) == 0 || !same(s.Visible[len(s.Visible)-1], s.Newest) {
			return fmt.Sprintf("the last row on screen is not the newest, %+v", s.Newest)
		}
	case c == "scrolled-up":
		if v.Follow || s.FollowButton || s.AtBottom {
			return fmt.Sprintf("follow %v, its toggle %v, at bottom %v", v.Follow, s.FollowButton, s.AtBottom)
		}
		if newestOnScreen(s) {
			return "the newest row is on screen"
		}
	case strings.HasPrefix(c, "filtered:"):
		word := strings.TrimPrefix(c, "filtered:")
		if s.FilterText != word || v.Filter != word {
			return fmt.Sprintf("the filter box holds %q, the core's filter is %q", s.FilterText, v.Filter)
		}
		if len(s.Visible) == 0 || s.Rows != v.Shown {
			return fmt.Sprintf("%d rows on screen, %d in the list for %d shown", len(s.Visible), s.Rows, v.Shown)
		}
		for _, r := range s.Visible {
			if !strings.Contains(r.Kind+" "+r.Path, word) {
				return fmt.Sprintf("row %+v through the filter", r)
			}
		}
	case c == "unfiltered":
		if s.FilterText != "" || v.Filter != "" || s.Rows != v.Kept {
			return fmt.Sprintf("filter %q, %d rows of %d kept", v.Filter, s.Rows, v.Kept)
		}
	case c == "rotated":
		if v.Tail.Markers["rotated"] == 0 {
			return "no rotation yet"
		}
		for _, l := range s.TailVisible {
			if l.Marker != "" && strings.Contains(l.Text, "rotated") {
				return ""
			}
		}
		return "no rotation marker on screen"
	case c == "banner":
		if !s.BannerShown || !strings.HasPrefix(s.BannerText, "Events may have been missed") || v.Banner.Rescanned == 0 {
			return fmt.Sprintf("banner shown %v, %q, %d found by the rescan", s.BannerShown, s.BannerText, v.Banner.Rescanned)
		}
	case c == "no-banner":
		if s.BannerShown {
			return "the banner is shown"
		}
	case c == "paused" || c == "generating":
		if v.Generator == nil {
			return "no generator"
		}
		if v.Generator.Running != (c == "generating") {
			return fmt.Sprintf("the generator's running is %v", v.Generator.Running)
		}
	case strings.HasPrefix(c, "widget:"):
		if r, ok := s.Widgets[strings.TrimPrefix(c, "widget:")]; !ok || r.W == 0 || r.H == 0 {
			return "not on screen"
		}
	default:
		return "unknown condition"
	}
	return ""
}

// pixelCheck checks screenshot img against the widgets' places in s.
func pixelCheck(s filewatch.State, img image.Image, c string) (string, bool) {
	list, tail, banner := s.Widgets["list"], s.Widgets["tail"], s.Widgets["banner"]
	switch {
	case c == "kinds":
		// Rows of several kinds, each on its colour.
		var found []string
		kinds := 0
		for _, op := range filewatch.Kinds[:5] {
			n := pixels(img, list, filewatch.KindColor(op))
			found = append(found, fmt.Sprintf("%s %d", filewatch.KindName(op), n))
			if n >= 200 {
				kinds++
			}
		}
		return "pixels of the kinds' colours in the list: " + strings.Join(found, ", "), kinds >= 3
	case strings.HasPrefix(c, "only:"):
		kind := strings.TrimPrefix(c, "only:")
		var found []string
		ok := true
		for _, op := range filewatch.Kinds[:5] {
			n := pixels(img, list, filewatch.KindColor(op))
			found = append(found, fmt.Sprintf("%s %d", filewatch.KindName(op), n))
			if filewatch.KindName(op) == kind {
				ok = ok && n >= 200
			} else {
				ok = ok && n == 0
			}
		}
		return "pixels of the kinds' colours in the list: " + strings.Join(found, ", "), ok
	case c == "marker":
		// A marker line whole: a band of its colour across the pane, at
		// least 15 pixels high (the lines are 20 or more).
		n := pixels(img, tail, filewatch.MarkerColor)
		return fmt.Sprintf("%d pixels of the markers' colour in the tail pane (%dx%d)", n, tail.W, tail.H), tail.W > 0 && n >= 15*tail.W*9/10
	case c == "banner":
		n := pixels(img, banner, filewatch.BannerColor)
		return fmt.Sprintf("%d pixels of the banner's colour in its %dx%d", n, banner.W, banner.H), banner.W > 0 && n >= banner.W*banner.H/2
	case c == "no-banner":
		n := pixels(img, img.Bounds(), filewatch.BannerColor)
		return fmt.Sprintf("%d pixels of the banner's colour", n), n == 0
	}
	return "unknown check", false
}

// pixels counts the pixels of img inside r within 3 of the colour hex in
// each channel; r is a filewatch.Rect or an image.Rectangle.
func pixels(img image.Image, r any, hex string) int {
	var rect image.Rectangle
	switch r := r.(type) {
	case filewatch.Rect:
		rect = image.Rect(r.X, r.Y, r.X+r.W, r.Y+r.H)
	case image.Rectangle:
		rect = r
	}
	var c color.NRGBA
	fmt.Sscanf(hex, "#%02x%02x%02x", &c.R, &c.G, &c.B)
	near := func(a, b uint8) bool { return int(a)-int(b) <= 3 && int(b)-int(a) <= 3 }
	n := 0
	rect = rect.Intersect(img.Bounds())
	for y := rect.Min.Y; y < rect.Max.Y; y++ {
		for x := rect.Min.X; x < rect.Max.X; x++ {
			p := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			if near(p.R, c.R) && near(p.G, c.G) && near(p.B, c.B) {
				n++
			}
		}
	}
	return n
}

func readPNG(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return png.Decode(f)
}
