package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loomkit/loom/apps/filewatch"
	"github.com/loomkit/loom/watch"
)

// newest is the core's newest row of the list as filtered; GTK thread.
func (a *app) newest() filewatch.Row {
	r, _ := a.core.Row(a.core.RowCount() - 1)
	return r
}

// same says whether the widget's row w shows the core's row r.
// settled is the state once the first row on screen has stayed the same
// over 300 ms (at most 5 s).
func (a *app) settled() filewatch.State {
	s := a.state()
	since := time.Now()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); {
		time.Sleep(50 * time.Millisecond)
		n := a.state()
		if len(n.Visible) == 0 || len(s.Visible) == 0 || !same(n.Visible[0], s.Visible[0]) {
			s, since = n, time.Now()
			continue
		}
		if time.Since(since) >= 300*time.Millisecond {
			break
		}
	}
	return s
}

func same(w, r filewatch.Row) bool { return w.Time == r.Time && w.Kind == r.Kind && w.Path == r.Path }

// showsNewest says whether the list, on screen, ends with the core's
// newest row, scrolled to the bottom; GTK thread.
func (a *app) showsNewest() bool {
	s := a.w.state()
	return s.AtBottom && len(s.Visible) > 0 && same(s.Visible[len(s.Visible)-1], a.newest())
}

// storeRows returns the rows the event list's store holds; GTK thread.
func (a *app) storeRows() []filewatch.Row {
	var out []filewatch.Row
	it, ok := a.w.store.GetIterFirst()
	for ok {
		out = append(out, filewatch.Row{Time: str(a.w.store, it, colTime), Kind: str(a.w.store, it, colKind), Path: str(a.w.store, it, colPath)})
		ok = a.w.store.IterNext(it)
	}
	return out
}

// TestGeneratorLiveInTheWindow: the generator's changes show in the
// window as they come: the list, following, ends with the newest event;
// its kinds are coloured (created, written, renamed, removed seen in the
// screenshot); the counts say how many; the tail pane shows the log with
// a rotation marker.
func TestGeneratorLiveInTheWindow(t *testing.T) {
	a := startApp(t, filewatch.Config{Recursive: true, GenInterval: 40 * time.Millisecond, RotateEvery: 6})
	a.eventually("30 events, a rotation, the newest row on screen", func() bool {
		v := a.core.View()
		return v.Total >= 30 && v.Tail.Markers["rotated"] >= 1 && a.showsNewest()
	})
	a.on(func() { a.core.SetGenerating(false) })
	a.eventually("the last frame", func() bool { return a.showsNewest() })
	s := a.state()
	img := a.shot("filewatch-gtk-test-live")
	list, tail := s.Widgets["list"], s.Widgets["tail"]
	// Each kind on screen shows in its colour; which kinds the last
	// screenful holds depends on where the generator was stopped.
	onScreen := map[string]bool{}
	for _, row := range s.Visible {
		onScreen[row.Kind] = true
	}
	shown := 0
	for _, op := range []watch.Op{watch.Created, watch.Written, watch.Renamed, watch.Removed} {
		if !onScreen[filewatch.KindName(op)] {
			continue
		}
		shown++
		if n := pixels(img, list, filewatch.KindColor(op)); n < 200 {
			t.Errorf("%d pixels of %s's colour in the list, which shows %s rows", n, filewatch.KindName(op), filewatch.KindName(op))
		}
	}
	if shown < 2 {
		t.Errorf("the list on screen shows %d of the kinds created, written, renamed, removed: %+v", shown, s.Visible)
	}
	if n := pixels(img, tail, filewatch.MarkerColor); n < 2000 {
		t.Errorf("%d pixels of the markers' colour in the tail pane", n)
	}
	if n := pixels(img, filewatch.Rect{W: s.Window.W, H: s.Window.H}, filewatch.BannerColor); n != 0 {
		t.Errorf("%d pixels of the banner's colour with no overflow", n)
	}
	if s.Rows != s.View.Shown || !s.FollowButton || s.BannerShown {
		t.Errorf("state: %d rows for %d shown, follow button %v, banner %v", s.Rows, s.View.Shown, s.FollowButton, s.BannerShown)
	}
	var counts string
	a.on(func() {
		for _, l := range a.w.counts {
			if l.GetVisible() {
				text, _ := l.GetText()
				counts += text + ";"
			}
		}
	})
	want := ""
	for _, c := range s.View.Counts {
		want += c.Kind + " " + c.Text + ";"
	}
	if counts != want {
		t.Errorf("counts on screen %q, want %q", counts, want)
	}
	rotated := false
	for _, l := range s.TailVisible {
		if l.Marker != "" && strings.Contains(l.Text, "app.log rotated") {
			rotated = true
		}
	}
	if !rotated {
		t.Errorf("no rotation marker on screen in the tail pane: %+v", s.TailVisible)
	}
}

// TestFilterTyped: words typed in the filter box narrow the list to the
// renames: the store holds only them, the screenshot shows only the
// renames' colour among the kinds; emptied, the list has every row.
func TestFilterTyped(t *testing.T) {
	a := startApp(t, filewatch.Config{Recursive: true, GenInterval: 40 * time.Millisecond})
	a.eventually("40 events", func() bool { return a.core.View().Total >= 40 })
	a.typeInto("filter", "renamed")
	a.eventually("the filter applied", func() bool {
		s := a.w.state()
		rows := a.storeRows()
		if s.FilterText != "renamed" || s.View.Filter != "renamed" || len(rows) == 0 || len(rows) != a.core.RowCount() {
			return false
		}
		for _, r := range rows {
			if r.Kind != "renamed" {
				return false
			}
		}
		return a.showsNewest()
	})
	s := a.state()
	img := a.shot("filewatch-gtk-test-filter")
	list := s.Widgets["list"]
	if n := pixels(img, list, filewatch.KindColor(watch.Renamed)); n < 200 {
		t.Errorf("%d pixels of the renames' colour", n)
	}
	for _, op := range []watch.Op{watch.Created, watch.Written, watch.Removed, watch.Attrib} {
		if n := pixels(img, list, filewatch.KindColor(op)); n != 0 {
			t.Errorf("%d pixels of %s's colour through the filter", n, filewatch.KindName(op))
		}
	}
	xdotool(t, "key", "ctrl+a", "BackSpace")
	a.eventually("every row back", func() bool {
		s := a.w.state()
		return s.View.Filter == "" && s.Rows == s.View.Kept && s.Rows > len(a.storeRowsOf("renamed"))
	})
}

func (a *app) storeRowsOf(kind string) []filewatch.Row {
	var out []filewatch.Row
	for _, r := range a.storeRows() {
		if r.Kind == kind {
			out = append(out, r)
		}
	}
	return out
}

// TestScrollUpStopsFollowing: the wheel turned up over the list turns
// Follow off (the toggle shows it): the rows the user looks at stay
// where they are while new ones come below. The wheel turned back down
// to the bottom turns it on again; so do End and the Follow toggle.
func TestScrollUpStopsFollowing(t *testing.T) {
	// The list keeps 150 rows: older ones go while the user looks.
	a := startApp(t, filewatch.Config{Recursive: true, GenInterval: 30 * time.Millisecond, MaxEvents: 150})
	a.eventually("200 events, following", func() bool { return a.core.View().Total >= 200 && a.showsNewest() })
	list := a.rect("list")
	a.pointer(list.X+list.W/2, list.Y+list.H/2)
	xdotool(t, "click", "--repeat", "5", "--delay", "30", "4")
	a.eventually("Follow off", func() bool {
		s := a.w.state()
		return !s.View.Follow && !s.FollowButton && !s.AtBottom
	})
	// The wheel's clicks may still be arriving when Follow goes off: the
	// rows on screen are the ones to keep once they have stopped moving.
	before := a.settled()
	var total int64
	a.on(func() { total = a.core.View().Total })
	a.eventually("20 more events", func() bool { return a.core.View().Total >= total+20 })
	after := a.state()
	a.shot("filewatch-gtk-test-scrolled-up")
	if len(after.Visible) == 0 || !same(after.Visible[0], before.Visible[0]) {
		t.Errorf("the first row on screen moved from %+v to %+v while new rows came", before.Visible[0], after.Visible[0])
	}
	var newest filewatch.Row
	a.on(func() { newest = a.newest() })
	for _, r := range after.Visible {
		if same(r, newest) {
			t.Errorf("the newest row %+v is on screen with Follow off", newest)
		}
	}
	if after.View.Follow || after.FollowButton {
		t.Error("Follow came back on by itself")
	}

	// The wheel turned down to the bottom (the generator paused, so that
	// there is a bottom to reach).
	var togo float64
	a.on(func() {
		a.core.SetGenerating(false)
		adj := a.w.list.GetVAdjustment()
		togo = adj.GetUpper() - adj.GetPageSize() - adj.GetValue()
	})
	a.pointer(list.X+list.W/2, list.Y+list.H/2)
	xdotool(t, "click", "--repeat", strconv.Itoa(int(togo/20)+10), "--delay", "10", "5")
	a.eventually("Follow on at the bottom", func() bool {
		s := a.w.state()
		return s.View.Follow && s.FollowButton && a.showsNewest()
	})
	a.on(func() { a.core.SetGenerating(true) })

	// End, in the list, goes to the newest row and follows.
	up := func() {
		a.pointer(list.X+list.W/2, list.Y+list.H/2)
		xdotool(t, "click", "--repeat", "5", "--delay", "30", "4")
		a.eventually("Follow off again", func() bool { return !a.w.state().View.Follow })
	}
	up()
	xdotool(t, "key", "End")
	a.eventually("Follow on from End", func() bool {
		s := a.w.state()
		return s.View.Follow && s.FollowButton && a.showsNewest()
	})

	// And the Follow toggle.
	up()
	a.click("follow")
	a.eventually("Follow on from its toggle, the newest row on screen", func() bool {
		s := a.w.state()
		return s.View.Follow && s.FollowButton && a.showsNewest()
	})
	a.shot("filewatch-gtk-test-follow-again")
}

// TestFloodShowsTheBanner: Flood overflows inotify's queue; the banner
// says events may have been missed and what the rescan found, in its
// colour (the screenshot); the list, following, ends with the rows the
// rescan found; Dismiss takes the banner away.
func TestFloodShowsTheBanner(t *testing.T) {
	a := startApp(t, filewatch.Config{Recursive: true, NoGenerate: true})
	a.eventually("the watch", func() bool { return a.core.View().Backend == watch.Inotify })
	a.click("flood")
	a.eventually("the banner", func() bool {
		s := a.w.state()
		return s.BannerShown && s.View.Banner.Rescanned >= filewatch.FloodFiles && a.showsNewest()
	})
	s := a.state()
	img := a.shot("filewatch-gtk-test-banner")
	if !strings.HasPrefix(s.BannerText, "Events may have been missed") || !strings.Contains(s.BannerText, "rescan") {
		t.Errorf("banner %q", s.BannerText)
	}
	b := s.Widgets["banner"]
	if n := pixels(img, b, filewatch.BannerColor); n < b.W*b.H/2 {
		t.Errorf("%d pixels of the banner's colour in its %dx%d", n, b.W, b.H)
	}
	if n := pixels(img, s.Widgets["list"], filewatch.KindColor(watch.Overflow)); n != 0 {
		t.Logf("the overflow's row is on screen (%d pixels)", n)
	}
	last := s.Visible[len(s.Visible)-1]
	if last.Note != "found by the rescan" {
		t.Errorf("the newest row on screen %+v is not from the rescan", last)
	}
	a.click("dismiss")
	a.eventually("the banner gone", func() bool { return !a.w.state().BannerShown })
	img = a.shot("filewatch-gtk-test-banner-dismissed")
	if n := pixels(img, filewatch.Rect{W: s.Window.W, H: s.Window.H}, filewatch.BannerColor); n != 0 {
		t.Errorf("%d pixels of the banner's colour after Dismiss", n)
	}
}

// TestHundredThousandEvents: 100,000 events fed to the core in bursts of
// 5,000 (as a watcher's reads would bring them) cost no frame more than
// the list's capacity of rows: the store ends with the newest 10,000,
// the window answers a click at once after, and what it shows is the
// newest.
func TestHundredThousandEvents(t *testing.T) {
	dir := t.TempDir()
	a := startApp(t, filewatch.Config{Path: dir})
	const total, burst = 100000, 5000
	for b := 0; b < total/burst; b++ {
		a.on(func() {
			for i := range burst {
				n := b*burst + i
				a.core.HandleEvent(watch.Event{Op: filewatch.Kinds[n%5], Path: filepath.Join(dir, fmt.Sprintf("f%06d", n))})
			}
		})
	}
	a.eventually("the newest 10,000 in the store", func() bool {
		rows := a.storeRows()
		return len(rows) == filewatch.DefaultMaxEvents && rows[len(rows)-1].Path == "f099999" && rows[0].Path == "f090000" && a.showsNewest()
	})
	var most, frames int
	a.on(func() { most, frames = a.w.mostRows, a.w.frames })
	t.Logf("%d frames drawn; at most %d rows added and dropped in one", frames, most)
	if most > filewatch.DefaultMaxEvents {
		t.Errorf("a frame added and dropped %d rows, more than the list's capacity", most)
	}
	if v := a.state().View; v.Total != total || v.Kept != filewatch.DefaultMaxEvents {
		t.Errorf("total %d, kept %d", v.Total, v.Kept)
	}
	a.click("follow")
	a.eventually("Follow off from its toggle", func() bool { return !a.w.state().View.Follow })
	a.shot("filewatch-gtk-test-100000")
}

// TestPathAndPolling: a folder typed in the path box (Enter) is watched
// in place of the generator's; the Poll box moves it to polling, which
// the backend label shows; the tail chooser follows the file chosen in
// it.
func TestPathAndPolling(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "server.log")
	if err := os.WriteFile(log, []byte("first line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a := startApp(t, filewatch.Config{Recursive: true, NoGenerate: true, PollInterval: 100 * time.Millisecond})
	a.typeInto("path", dir)
	xdotool(t, "key", "Return")
	a.eventually("the folder watched", func() bool {
		v := a.w.state().View
		return v.Path == dir && v.Backend == watch.Inotify
	})
	a.click("poll")
	a.eventually("polling", func() bool {
		s := a.w.state()
		text, _ := a.w.backend.GetText()
		return s.View.Backend == watch.Polling && text == watch.Polling
	})
	if err := os.WriteFile(filepath.Join(dir, "made"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	a.eventually("the file made, found by polling", func() bool { return a.newest().Path == "made" && a.showsNewest() })

	a.click("choose-tail")
	// The chooser's location box takes the path typed (Ctrl+L opens
	// it), Return chooses it.
	id := windowID(t, "Follow a file")
	xdotool(t, "windowfocus", "--sync", id)
	time.Sleep(300 * time.Millisecond) // the dialog realized and drawn
	xdotool(t, "key", "ctrl+l")
	xdotool(t, "type", "--delay", "20", log)
	time.Sleep(300 * time.Millisecond)
	xdotool(t, "key", "Return")
	a.eventually("the chosen file followed", func() bool {
		s := a.w.state()
		return s.View.Tail.Path == log && len(s.TailVisible) > 0 && s.TailVisible[len(s.TailVisible)-1].Text == "first line"
	})
	if out, _ := exec.Command("xdotool", "search", "--onlyvisible", "--name", "^Follow a file$").Output(); len(strings.TrimSpace(string(out))) > 0 {
		t.Error("the chooser is still open")
	}
	a.shot("filewatch-gtk-test-path")
}
