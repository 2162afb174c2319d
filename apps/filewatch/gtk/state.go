package main

import (
	"strconv"

	"github.com/gotk3/gotk3/gtk"

	"github.com/loomkit/loom/apps/filewatch"
)

// state reads back what the window shows, from its widgets: the rows in
// the stores and those on screen, the toggles, the banner, where the
// main widgets are. GTK thread.
func (w *window) state() filewatch.State {
	s := filewatch.NewState(w.app, "gtk")
	s.Rows = w.store.IterNChildren(nil)
	s.AtBottom = atBottom(w.list.GetVAdjustment())
	s.FollowButton = w.follow.GetActive()
	s.BannerShown = w.banner.GetMapped()
	s.TailRows = w.tailStore.IterNChildren(nil)
	s.FilterText, _ = w.filter.GetText()
	s.BannerText, _ = w.bannerText.GetText()
	first, last := visible(w.tree, w.list)
	for i := first; i >= 0 && i <= last; i++ {
		it, err := w.store.GetIterFromString(strconv.Itoa(i))
		if err != nil {
			break
		}
		s.Visible = append(s.Visible, filewatch.Row{
			Time: str(w.store, it, colTime), Kind: str(w.store, it, colKind), Color: str(w.store, it, colColor),
			Path: str(w.store, it, colPath), Note: str(w.store, it, colNote),
		})
	}
	first, last = visible(w.tailTree, w.tailList)
	for i := first; i >= 0 && i <= last; i++ {
		it, err := w.tailStore.GetIterFromString(strconv.Itoa(i))
		if err != nil {
			break
		}
		l := filewatch.TailLine{Text: str(w.tailStore, it, tailText)}
		if v, err := w.tailStore.GetValue(it, tailMarked); err == nil {
			if b, _ := v.GoValue(); b == true {
				l.Color = str(w.tailStore, it, tailColor)
				l.Marker = "marker"
			}
		}
		s.TailVisible = append(s.TailVisible, l)
	}
	for name, x := range map[string]gtk.IWidget{
		"path": w.path, "filter": w.filter, "follow": w.follow, "list": w.list, "tail": w.tailList,
		"banner": w.banner, "dismiss": w.dismiss, "flood": w.flood, "generate": w.generate, "clear": w.clear,
		"poll": w.poll, "recursive": w.recursive, "backend": w.backend,
		"scrollbar": w.list.GetVScrollbar(), "choose-folder": w.chooseDir, "choose-file": w.chooseFile, "choose-tail": w.chooseTail,
	} {
		wd := x.ToWidget()
		if !wd.GetMapped() {
			continue
		}
		x0, y0, err := wd.TranslateCoordinates(w.win, 0, 0)
		if err != nil {
			continue
		}
		s.Widgets[name] = filewatch.Rect{X: x0, Y: y0, W: wd.GetAllocatedWidth(), H: wd.GetAllocatedHeight()}
	}
	s.Window = filewatch.Rect{W: w.win.GetAllocatedWidth(), H: w.win.GetAllocatedHeight()}
	return s
}

// visible returns the first and last rows of tree, in scrolled, on screen
// (-1, -2 if none). The tree's bin window coordinates start at the top
// of what is visible; the adjustment's page is its height.
func visible(tree *gtk.TreeView, scrolled *gtk.ScrolledWindow) (first, last int) {
	first, last = -1, -2
	h := int(scrolled.GetVAdjustment().GetPageSize())
	if p, _, _, _, ok := tree.GetPathAtPos(1, 1); ok {
		first = p.GetIndices()[0]
	} else {
		return
	}
	last = first
	for y := h - 1; y > 1; y -= 4 {
		if p, _, _, _, ok := tree.GetPathAtPos(1, y); ok {
			last = p.GetIndices()[0]
			break
		}
	}
	return
}

func str(store *gtk.ListStore, it *gtk.TreeIter, col int) string {
	v, err := store.GetValue(it, col)
	if err != nil {
		return ""
	}
	s, _ := v.GetString()
	return s
}
