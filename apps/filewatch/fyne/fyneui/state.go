package fyneui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"

	"github.com/loomkit/loom/apps/filewatch"
)

// State reads back what the window shows, from its widgets: the rows
// the lists have and those on screen (their labels' texts), the
// toggles, the banner, where the main widgets are in pixels. Fyne's
// goroutine.
func (u *UI) State() filewatch.State {
	s := filewatch.NewState(u.c, "fyne")
	s.Rows = u.list.Length()
	s.FollowButton = u.follow.Checked
	s.FilterText = u.filter.Text
	s.BannerShown = u.banner.Visible()
	s.BannerText = u.bannerText.Text
	s.TailRows = u.tailList.Length()
	off := u.list.GetScrollOffset()
	s.AtBottom = off >= bottom(u.list, u.rowsN, rowTemplate)-1
	first, last := onScreen(u.list, u.rowsN, rowTemplate)
	for id := first; id <= last; id++ {
		if it := latest(u.bound, id); it != nil {
			s.Visible = append(s.Visible, it.row())
		}
	}
	first, last = onScreen(u.tailList, u.tailN, tailTemplate)
	for id := first; id <= last; id++ {
		if it := latest(u.tailBound, id); it != nil {
			s.TailVisible = append(s.TailVisible, filewatch.TailLine{Text: it.text.Text, Marker: it.marker})
		}
	}
	scale := u.win.Canvas().Scale()
	d := u.app.Driver()
	for name, o := range map[string]fyne.CanvasObject{
		"path": u.path, "filter": u.filter, "follow": u.follow, "list": u.list, "tail": u.tailList,
		"banner": u.banner, "dismiss": u.dismiss, "flood": u.flood, "generate": u.generate, "clear": u.clear,
		"poll": u.poll, "recursive": u.recursive, "backend": u.backend,
		"choose-folder": u.chooseDir, "choose-file": u.chooseFile, "choose-tail": u.chooseTail,
	} {
		if !o.Visible() || d.CanvasForObject(o) == nil {
			continue
		}
		p, sz := d.AbsolutePositionForObject(o), o.Size()
		s.Widgets[name] = filewatch.Rect{X: int(p.X * scale), Y: int(p.Y * scale), W: int(sz.Width * scale), H: int(sz.Height * scale)}
	}
	c := u.win.Canvas().Size()
	s.Window = filewatch.Rect{W: int(c.Width * scale), H: int(c.Height * scale)}
	return s
}

// onScreen is the first and last rows of l, of n rows, on screen.
func onScreen(l interface {
	GetScrollOffset() float32
	Size() fyne.Size
}, n int, item fyne.CanvasObject) (first, last int) {
	p := item.MinSize().Height + theme.Padding()
	off := l.GetScrollOffset()
	first = int(off / p)
	last = min(n-1, int((off+l.Size().Height-1)/p))
	return first, last
}

// latest is the widget last told to show row id: the one on screen.
func latest[T comparable](bound map[T]binding, id int) T {
	var it T
	var when uint64
	for o, b := range bound {
		if b.id == id && b.when > when {
			it, when = o, b.when
		}
	}
	return it
}
