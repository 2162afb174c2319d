package fyneui

import (
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/loomkit/loom/apps/filewatch"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/watch"
)

// These tests run the window under Fyne's test driver, which has no event
// loop and draws nothing on a screen: every widget call runs on the
// caller's goroutine. The test goroutine is thus Fyne's and the
// reactor's: it runs the reactor's passes itself (pass, until) and calls
// Frame where the frame timer would.

var epoch = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

type harness struct {
	t   *testing.T
	r   *reactor.Reactor
	clk *reactortest.Clock
	c   *filewatch.App
	u   *UI
	w   fyne.Window
}

func newHarness(t *testing.T, cfg filewatch.Config) *harness {
	t.Helper()
	clk := reactortest.NewClock(epoch)
	r, err := reactor.New(reactor.WithoutSignalHandlers(), reactor.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	c, err := filewatch.New(r, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	a := test.NewTempApp(t)
	w := test.NewTempWindow(t, nil)
	w.Resize(fyne.NewSize(1000, 720))
	h := &harness{t: t, r: r, clk: clk, c: c, w: w}
	h.u = New(a, w, r, c)
	w.Resize(fyne.NewSize(1000, 720))
	return h
}

// until runs the reactor's passes until cond holds, drawing a frame after
// each, for up to 20 seconds.
func (h *harness) until(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		h.u.tick()
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("no %s after 20s", what)
		}
		if err := h.r.RunOnce(5 * time.Millisecond); err != nil {
			h.t.Fatal(err)
		}
	}
}

// settle runs the reactor until nothing more comes for a while.
func (h *harness) settle() {
	for quiet := 0; quiet < 10; {
		v := h.c.Version()
		h.r.RunOnce(5 * time.Millisecond)
		h.u.tick()
		if h.c.Version() == v {
			quiet++
		} else {
			quiet = 0
		}
	}
}

// goldenDir is the generator's folder for the markup goldens, whose
// texts hold it: always the same path.
func goldenDir(t *testing.T) string {
	dir := filepath.Join(os.TempDir(), "loom-filewatch-golden")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func count(img image.Image, hex string) int {
	c := hexColor(hex)
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA) == c {
				n++
			}
		}
	}
	return n
}

// TestGeneratorRoundGolden: a round of the generator's steps, watched
// natively, with the log rotated every three lines, drawn in the window:
// the markup of the whole window (its rows, counts, tail pane with the
// rotations' markers) is the golden's, and the kinds' and markers'
// colours are in its pixels.
func TestGeneratorRoundGolden(t *testing.T) {
	h := newHarness(t, filewatch.Config{GeneratorDir: goldenDir(t), Recursive: true, NoGenerate: true, RotateEvery: 3})
	h.settle()
	for range 6 {
		h.c.Generator().Step()
		h.settle()
	}
	h.until("the round's last line", func() bool {
		l, _ := h.c.TailLine(h.c.TailCount() - 1)
		return strings.Contains(l.Text, "step 6: nothing to remove")
	})
	h.u.Frame()
	test.AssertRendersToMarkup(t, "generator-round.xml", h.w.Canvas())
	img := h.w.Canvas().Capture()
	for _, op := range []watch.Op{watch.Created, watch.Written, watch.Renamed, watch.Attrib} {
		if n := count(img, filewatch.KindColor(op)); n < 500 {
			t.Errorf("%d pixels of %s's colour", n, filewatch.KindName(op))
		}
	}
	if n := count(img, filewatch.MarkerColor); n < 2000 {
		t.Errorf("%d pixels of the markers' colour", n)
	}
	s := h.u.State()
	if !s.AtBottom || !s.FollowButton || s.Rows != h.c.RowCount() {
		t.Errorf("state: at bottom %v, follow %v, %d rows of %d", s.AtBottom, s.FollowButton, s.Rows, h.c.RowCount())
	}
	last, _ := h.c.Row(h.c.RowCount() - 1)
	if len(s.Visible) == 0 || s.Visible[len(s.Visible)-1].Path != ShownPath(last.Path) {
		t.Errorf("the rows on screen %+v do not end with the newest, %+v", s.Visible, last)
	}
}

// TestFilterTyped: typed into the filter box, "renamed" leaves the
// renames only, in the list and in the markup.
func TestFilterTyped(t *testing.T) {
	h := newHarness(t, filewatch.Config{GeneratorDir: goldenDir(t), Recursive: true, NoGenerate: true})
	h.settle()
	for range 12 {
		h.c.Generator().Step()
		h.settle()
	}
	h.w.Canvas().Focus(h.u.filter)
	test.Type(h.u.filter, "renamed")
	h.u.Frame()
	if v := h.c.View(); v.Filter != "renamed" || h.u.list.Length() != v.Shown || v.Shown != 2 {
		t.Fatalf("filter %q: %d rows in the list, %d shown", v.Filter, h.u.list.Length(), v.Shown)
	}
	for _, r := range h.u.State().Visible {
		if r.Kind != "renamed" {
			t.Errorf("row %+v through the filter", r)
		}
	}
	test.AssertRendersToMarkup(t, "filtered.xml", h.w.Canvas())
}

// TestScrollUpStopsFollowing: the wheel turned up over the list turns
// Follow off, and the rows on screen stay while new ones come; ticking
// Follow brings the list back to its newest row.
func TestScrollUpStopsFollowing(t *testing.T) {
	dir := t.TempDir()
	// The list keeps 220 rows: older ones go while the user looks.
	h := newHarness(t, filewatch.Config{Path: dir, MaxEvents: 220})
	feed := func(from, n int) {
		for i := from; i < from+n; i++ {
			h.c.HandleEvent(watch.Event{Op: watch.Created, Path: filepath.Join(dir, fmt.Sprintf("f%04d", i))})
		}
		h.u.tick()
	}
	feed(0, 200)
	if s := h.u.State(); !s.AtBottom || s.Visible[len(s.Visible)-1].Path != "f0199" {
		t.Fatalf("following: at bottom %v, rows on screen %+v", s.AtBottom, s.Visible)
	}
	list := h.u.list
	pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(list).Add(fyne.NewPos(200, 100))
	test.Scroll(h.w.Canvas(), pos, 0, 200)
	h.u.tick()
	before := h.u.State()
	if before.View.Follow || before.FollowButton || before.AtBottom {
		t.Fatalf("after a scroll up: follow %v, button %v, at bottom %v", before.View.Follow, before.FollowButton, before.AtBottom)
	}
	feed(200, 50)
	after := h.u.State()
	if after.Visible[0] != before.Visible[0] {
		t.Errorf("the first row on screen moved from %+v to %+v", before.Visible[0], after.Visible[0])
	}
	if after.View.Follow {
		t.Error("Follow came back on by itself")
	}
	// The wheel back down to the bottom: Follow again.
	test.Scroll(h.w.Canvas(), pos, 0, -100000)
	h.u.tick()
	if s := h.u.State(); !s.View.Follow || !s.AtBottom || s.Visible[len(s.Visible)-1].Path != "f0249" {
		t.Errorf("at the bottom: follow %v, at bottom %v, last row %+v", s.View.Follow, s.AtBottom, s.Visible[len(s.Visible)-1])
	}
	test.Scroll(h.w.Canvas(), pos, 0, 300)
	h.u.tick()
	test.Tap(h.u.follow)
	feed(250, 10)
	if s := h.u.State(); !s.View.Follow || !s.FollowButton || !s.AtBottom || s.Visible[len(s.Visible)-1].Path != "f0259" {
		t.Errorf("Follow ticked: follow %v, at bottom %v, last row %+v", s.View.Follow, s.AtBottom, s.Visible[len(s.Visible)-1])
	}
}

// TestOverflowBanner: an overflow and the rescan's findings put up the
// banner, in its colour, with the words of the markup golden; Dismiss
// takes it away.
func TestOverflowBanner(t *testing.T) {
	h := newHarness(t, filewatch.Config{GeneratorDir: goldenDir(t), Recursive: true, NoGenerate: true})
	h.settle()
	dir := h.c.Generator().Dir()
	h.c.HandleEvent(watch.Event{Op: watch.Overflow})
	for i := range 3 {
		h.c.HandleEvent(watch.Event{Op: watch.Created, Path: filepath.Join(dir, fmt.Sprintf("lost-%d", i)), Rescan: true})
	}
	h.u.Frame()
	s := h.u.State()
	if !s.BannerShown || !strings.Contains(s.BannerText, "found 3 changes") {
		t.Fatalf("banner %v %q", s.BannerShown, s.BannerText)
	}
	if n := count(h.w.Canvas().Capture(), filewatch.BannerColor); n < 20000 {
		t.Errorf("%d pixels of the banner's colour", n)
	}
	test.AssertRendersToMarkup(t, "banner.xml", h.w.Canvas())
	test.Tap(h.u.dismiss)
	h.u.Frame()
	if h.u.State().BannerShown {
		t.Error("the banner stays after Dismiss")
	}
	if n := count(h.w.Canvas().Capture(), filewatch.BannerColor); n != 0 {
		t.Errorf("%d pixels of the banner's colour after Dismiss", n)
	}
}

// TestChooser: the Folder… chooser lists a folder's entries, read on a
// goroutine, opens a subfolder clicked, and Choose watches it; the tail
// pane's chooser goes Up and follows the file clicked.
func TestChooser(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"alpha", "beta"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "file.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, filewatch.Config{Path: dir})
	test.Tap(h.u.chooseDir)
	c := h.u.chooser
	if c == nil || !c.pop.Visible() {
		t.Fatal("no chooser open")
	}
	h.until("the folder read", func() bool { return len(c.entries) == 3 })
	if c.entries[0].Name() != "alpha" || c.entries[1].Name() != "beta" || c.entries[2].Name() != "file.txt" {
		t.Errorf("entries %v", c.entries)
	}
	c.list.Select(1) // beta/
	h.until("beta read", func() bool { return c.dir == filepath.Join(dir, "beta") })
	test.Tap(c.choose)
	h.u.Frame()
	if v := h.c.View(); v.Path != filepath.Join(dir, "beta") || c.pop.Visible() {
		t.Errorf("watching %q, chooser shown %v", v.Path, c.pop.Visible())
	}

	// The tail pane's chooser: Up, then the file clicked is followed.
	test.Tap(h.u.chooseTail)
	c = h.u.chooser
	h.until("beta read", func() bool { return c.dir == filepath.Join(dir, "beta") })
	if c.title.Text != "Follow a file" {
		t.Errorf("chooser titled %q", c.title.Text)
	}
	test.Tap(c.up)
	h.until("the folder read again", func() bool { return c.dir == dir && len(c.entries) == 3 })
	c.list.Select(2) // file.txt
	h.u.Frame()
	if v := h.c.View(); v.Tail.Path != filepath.Join(dir, "file.txt") || c.pop.Visible() {
		t.Errorf("following %q, chooser shown %v", v.Tail.Path, c.pop.Visible())
	}
}
