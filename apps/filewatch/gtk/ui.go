package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/gotk3/gotk3/gdk"
	"github.com/gotk3/gotk3/glib"
	"github.com/gotk3/gotk3/gtk"

	"github.com/loomkit/loom/apps/filewatch"
	"github.com/loomkit/loom/reactor"
)

// Title is the window's title.
const Title = "loom — filewatch"

// The event list's columns in its ListStore.
const (
	colTime = iota
	colKind
	colColor
	colPath
	colNote
)

// The tail pane's columns.
const (
	tailText = iota
	tailColor
	tailMarked
)

// window is the GTK front end: widgets that draw the core's Frame, at
// most once per frame, and hand the user's doings to the core's
// commands. Everything here runs on the GTK thread, which is the
// reactor's.
type window struct {
	r   *reactor.Reactor
	app *filewatch.App
	win *gtk.Window

	path                  *gtk.Entry
	chooseDir, chooseFile *gtk.Button
	recursive, poll       *gtk.CheckButton
	backend, status       *gtk.Label
	errLabel              *gtk.Label
	banner                *gtk.Box
	bannerText            *gtk.Label
	dismiss               *gtk.Button
	filter                *gtk.SearchEntry
	counts                []*gtk.Label
	follow                *gtk.ToggleButton
	clear                 *gtk.Button
	list                  *gtk.ScrolledWindow
	tree                  *gtk.TreeView
	store                 *gtk.ListStore
	tailHeader            *gtk.Label
	chooseTail            *gtk.Button
	tailList              *gtk.ScrolledWindow
	tailTree              *gtk.TreeView
	tailStore             *gtk.ListStore
	summary, genLabel     *gtk.Label
	generate              *gtk.ToggleButton
	flood                 *gtk.Button

	events, tail filewatch.Cursor
	rows         int // rows in store
	tailRows     int
	view         filewatch.View

	tailStick bool // the tail pane sticks to its end

	framePending bool
	// setting is true while the window sets its own widgets, whose
	// signals are then not the user's doing.
	setting bool
	// userMoving is set while the user scrolls the list (wheel, keys,
	// the scroll bar held); moves then are the user's.
	userMoving bool
	userTimer  *reactor.DelayedCall
	dragging   bool
	frames     int // frames drawn
	mostRows   int // the most event rows added and dropped in one frame
}

// css colours the banner, the counts, and nothing else: the theme does
// the rest.
func css() string {
	var b strings.Builder
	fmt.Fprintf(&b, "#banner { background-color: %s; padding: 6px 10px; }\n", filewatch.BannerColor)
	b.WriteString("#banner label { color: #1a1a1a; }\n")
	b.WriteString(".count { padding: 1px 8px; border-radius: 3px; color: #1a1a1a; }\n")
	for _, op := range filewatch.Kinds {
		fmt.Fprintf(&b, "#count-%s { background-color: %s; }\n", filewatch.KindName(op), filewatch.KindColor(op))
	}
	b.WriteString("#error { color: #b00020; }\n")
	return b.String()
}

// newWindow builds the window for app; GTK thread.
func newWindow(r *reactor.Reactor, app *filewatch.App) (*window, error) {
	w := &window{r: r, app: app, tailStick: true}
	provider, err := gtk.CssProviderNew()
	if err != nil {
		return nil, err
	}
	if err := provider.LoadFromData(css()); err != nil {
		return nil, err
	}
	screen, err := gdk.ScreenGetDefault()
	if err != nil {
		return nil, err
	}
	gtk.AddProviderForScreen(screen, provider, gtk.STYLE_PROVIDER_PRIORITY_APPLICATION)

	w.win, _ = gtk.WindowNew(gtk.WINDOW_TOPLEVEL)
	w.win.SetTitle(Title)
	w.win.SetDefaultSize(1000, 720)
	outer, _ := gtk.BoxNew(gtk.ORIENTATION_VERTICAL, 6)
	outer.SetMarginTop(8)
	outer.SetMarginBottom(8)
	outer.SetMarginStart(8)
	outer.SetMarginEnd(8)
	w.win.Add(outer)

	// The path, its choosers and how it is watched.
	top, _ := gtk.BoxNew(gtk.ORIENTATION_HORIZONTAL, 6)
	w.path, _ = gtk.EntryNew()
	w.path.SetPlaceholderText("File or folder to watch")
	w.path.SetTooltipText("A file or folder to watch; Enter watches it")
	w.chooseDir, _ = gtk.ButtonNewWithLabel("Folder…")
	w.chooseFile, _ = gtk.ButtonNewWithLabel("File…")
	w.recursive, _ = gtk.CheckButtonNewWithLabel("Subfolders")
	w.recursive.SetTooltipText("Watch the folder's whole tree")
	w.poll, _ = gtk.CheckButtonNewWithLabel("Poll")
	w.poll.SetTooltipText("Compare with the disk every second instead of the system's notifications (for network file systems)")
	w.backend, _ = gtk.LabelNew("")
	top.PackStart(w.path, true, true, 0)
	for _, x := range []gtk.IWidget{w.chooseDir, w.chooseFile, w.recursive, w.poll, w.backend} {
		top.PackStart(x, false, false, 0)
	}
	outer.PackStart(top, false, false, 0)
	w.status, _ = gtk.LabelNew("")
	w.status.SetXAlign(0)
	w.status.SetEllipsize(2) // PANGO_ELLIPSIZE_MIDDLE
	w.errLabel, _ = gtk.LabelNew("")
	w.errLabel.SetName("error")
	w.errLabel.SetXAlign(0)
	w.errLabel.SetNoShowAll(true)
	outer.PackStart(w.status, false, false, 0)
	outer.PackStart(w.errLabel, false, false, 0)

	// The overflow banner, hidden until an overflow.
	w.banner, _ = gtk.BoxNew(gtk.ORIENTATION_HORIZONTAL, 10)
	w.banner.SetName("banner")
	w.banner.SetNoShowAll(true)
	w.bannerText, _ = gtk.LabelNew("")
	w.bannerText.SetLineWrap(true)
	w.bannerText.SetXAlign(0)
	w.dismiss, _ = gtk.ButtonNewWithLabel("Dismiss")
	w.banner.PackStart(w.bannerText, true, true, 0)
	w.banner.PackEnd(w.dismiss, false, false, 0)
	w.bannerText.Show()
	w.dismiss.Show()
	outer.PackStart(w.banner, false, false, 0)

	// The filter, the counts, Follow and Clear.
	bar, _ := gtk.BoxNew(gtk.ORIENTATION_HORIZONTAL, 6)
	w.filter, _ = gtk.SearchEntryNew()
	w.filter.SetPlaceholderText("Filter: kind or path words")
	w.filter.SetWidthChars(28)
	bar.PackStart(w.filter, false, false, 0)
	for _, op := range filewatch.Kinds {
		l, _ := gtk.LabelNew("")
		l.SetName("count-" + filewatch.KindName(op))
		ctx, _ := l.GetStyleContext()
		ctx.AddClass("count")
		l.SetNoShowAll(true)
		w.counts = append(w.counts, l)
		bar.PackStart(l, false, false, 0)
	}
	w.clear, _ = gtk.ButtonNewWithLabel("Clear")
	w.follow, _ = gtk.ToggleButtonNewWithLabel("Follow")
	w.follow.SetTooltipText("Stick to the newest event; scrolling up turns it off, back to the bottom on")
	bar.PackEnd(w.follow, false, false, 0)
	bar.PackEnd(w.clear, false, false, 0)
	outer.PackStart(bar, false, false, 0)

	// The event list over the tail pane.
	paned, _ := gtk.PanedNew(gtk.ORIENTATION_VERTICAL)
	w.store, _ = gtk.ListStoreNew(glib.TYPE_STRING, glib.TYPE_STRING, glib.TYPE_STRING, glib.TYPE_STRING, glib.TYPE_STRING)
	w.tree, _ = gtk.TreeViewNewWithModel(w.store)
	for _, c := range []struct {
		title string
		col   int
		width int
	}{{"Time", colTime, 100}, {"Kind", colKind, 90}, {"Path", colPath, 460}, {"Note", colNote, 260}} {
		cell, _ := gtk.CellRendererTextNew()
		column, _ := gtk.TreeViewColumnNewWithAttribute(c.title, cell, "text", c.col)
		if c.col == colKind {
			column.AddAttribute(cell, "cell-background", colColor)
		}
		if c.col == colPath {
			cell.SetProperty("ellipsize", 2)
			column.SetExpand(true)
		}
		column.SetSizing(gtk.TREE_VIEW_COLUMN_FIXED)
		column.SetFixedWidth(c.width)
		column.SetResizable(true)
		w.tree.AppendColumn(column)
	}
	w.tree.SetFixedHeightMode(true)
	w.tree.SetEnableSearch(false)
	w.list, _ = gtk.ScrolledWindowNew(nil, nil)
	w.list.SetPolicy(gtk.POLICY_AUTOMATIC, gtk.POLICY_ALWAYS)
	w.list.SetOverlayScrolling(false) // a scroll bar to hold, always there
	w.list.Add(w.tree)
	paned.Pack1(w.list, true, false)

	tailBox, _ := gtk.BoxNew(gtk.ORIENTATION_VERTICAL, 4)
	tailTop, _ := gtk.BoxNew(gtk.ORIENTATION_HORIZONTAL, 6)
	w.tailHeader, _ = gtk.LabelNew("")
	w.tailHeader.SetXAlign(0)
	w.tailHeader.SetEllipsize(2)
	w.chooseTail, _ = gtk.ButtonNewWithLabel("Tail file…")
	tailTop.PackStart(w.tailHeader, true, true, 0)
	tailTop.PackEnd(w.chooseTail, false, false, 0)
	tailBox.PackStart(tailTop, false, false, 0)
	w.tailStore, _ = gtk.ListStoreNew(glib.TYPE_STRING, glib.TYPE_STRING, glib.TYPE_BOOLEAN)
	w.tailTree, _ = gtk.TreeViewNewWithModel(w.tailStore)
	cell, _ := gtk.CellRendererTextNew()
	cell.SetProperty("family", "monospace")
	column, _ := gtk.TreeViewColumnNewWithAttribute("", cell, "text", tailText)
	column.AddAttribute(cell, "cell-background", tailColor)
	column.AddAttribute(cell, "cell-background-set", tailMarked)
	column.SetSizing(gtk.TREE_VIEW_COLUMN_FIXED)
	w.tailTree.AppendColumn(column)
	w.tailTree.SetHeadersVisible(false)
	w.tailTree.SetFixedHeightMode(true)
	w.tailTree.SetEnableSearch(false)
	w.tailList, _ = gtk.ScrolledWindowNew(nil, nil)
	w.tailList.SetPolicy(gtk.POLICY_AUTOMATIC, gtk.POLICY_ALWAYS)
	w.tailList.Add(w.tailTree)
	tailBox.PackStart(w.tailList, true, true, 0)
	paned.Pack2(tailBox, true, false)
	paned.SetPosition(360)
	outer.PackStart(paned, true, true, 0)

	// What was seen, and the generator's controls.
	foot, _ := gtk.BoxNew(gtk.ORIENTATION_HORIZONTAL, 10)
	w.summary, _ = gtk.LabelNew("")
	w.genLabel, _ = gtk.LabelNew("")
	w.genLabel.SetEllipsize(3)
	w.generate, _ = gtk.ToggleButtonNewWithLabel("Generate")
	w.generate.SetTooltipText("Run or pause the generator that makes changes in the temporary folder")
	w.flood, _ = gtk.ButtonNewWithLabel("Flood")
	foot.PackStart(w.summary, false, false, 0)
	foot.PackStart(w.genLabel, true, true, 0)
	foot.PackEnd(w.flood, false, false, 0)
	foot.PackEnd(w.generate, false, false, 0)
	outer.PackStart(foot, false, false, 0)
	if app.Generator() != nil {
		w.flood.SetTooltipText(filewatch.FloodTip())
	} else {
		w.generate.SetNoShowAll(true)
		w.flood.SetNoShowAll(true)
		w.genLabel.SetNoShowAll(true)
	}

	w.filter.SetText(app.View().Filter) // the user's own from then on
	w.connect()
	app.OnChange(w.requestFrame)
	w.draw()
	w.tree.GrabFocus()
	return w, nil
}

// connect hands the widgets' signals to the core.
func (w *window) connect() {
	w.path.Connect("activate", func() {
		text, _ := w.path.GetText()
		w.app.Watch(text)
	})
	w.chooseDir.Connect("clicked", func() { w.choose("Watch a folder", gtk.FILE_CHOOSER_ACTION_SELECT_FOLDER, w.app.Watch) })
	w.chooseFile.Connect("clicked", func() { w.choose("Watch a file", gtk.FILE_CHOOSER_ACTION_OPEN, w.app.Watch) })
	w.chooseTail.Connect("clicked", func() { w.choose("Follow a file", gtk.FILE_CHOOSER_ACTION_OPEN, w.app.TailFile) })
	w.recursive.Connect("toggled", func() {
		if !w.setting {
			w.app.SetRecursive(w.recursive.GetActive())
		}
	})
	w.poll.Connect("toggled", func() {
		if !w.setting {
			w.app.SetPoll(w.poll.GetActive())
		}
	})
	w.dismiss.Connect("clicked", w.app.DismissBanner)
	w.filter.Connect("search-changed", func() {
		if !w.setting {
			text, _ := w.filter.GetText()
			w.app.SetFilter(text)
		}
	})
	w.follow.Connect("toggled", func() {
		if !w.setting {
			if w.follow.GetActive() {
				w.stopMoving()
			}
			w.app.SetFollow(w.follow.GetActive())
		}
	})
	w.clear.Connect("clicked", w.app.Clear)
	w.generate.Connect("toggled", func() {
		if !w.setting {
			w.app.SetGenerating(w.generate.GetActive())
		}
	})
	w.flood.Connect("clicked", func() { w.app.Flood() })
	// A double click (or Enter) on a file's row follows it in the tail pane.
	w.tree.Connect("row-activated", func(_ *gtk.TreeView, path *gtk.TreePath) {
		if i := path.GetIndices(); len(i) == 1 {
			w.tailRow(i[0])
		}
	})

	// Follow: the user's scrolling turns it off (up) or on (back to the
	// bottom); the list's growth never does.
	adj := w.list.GetVAdjustment()
	adj.Connect("value-changed", func() {
		if w.setting || !(w.userMoving || w.dragging) {
			return
		}
		w.app.UserScrolled(atBottom(adj))
	})
	adj.Connect("changed", func() {
		if w.view.Follow {
			w.toBottom(adj)
		}
	})
	// The tail pane sticks to its end the same way, by itself: while it
	// is scrolled to the bottom, new lines keep it there.
	tailAdj := w.tailList.GetVAdjustment()
	tailAdj.Connect("value-changed", func() {
		if !w.setting {
			w.tailStick = atBottom(tailAdj)
		}
	})
	tailAdj.Connect("changed", func() {
		if w.tailStick {
			w.toBottom(tailAdj)
		}
	})
	w.tree.Connect("scroll-event", func() bool { w.moving(); return false })
	// End goes to the newest row and follows, as in lnav and less;
	// other keys move as GTK moves them, the user's doing.
	w.tree.Connect("key-press-event", func(_ *gtk.TreeView, ev *gdk.Event) bool {
		switch gdk.EventKeyNewFromEvent(ev).KeyVal() {
		case gdk.KEY_End, gdk.KEY_KP_End:
			w.stopMoving()
			w.app.SetFollow(true)
			return true
		}
		w.moving()
		return false
	})
	bar := w.list.GetVScrollbar()
	bar.Connect("button-press-event", func() bool { w.dragging = true; return false })
	bar.Connect("button-release-event", func() bool {
		w.dragging = false
		w.app.UserScrolled(atBottom(adj))
		return false
	})
	bar.Connect("scroll-event", func() bool { w.moving(); return false })

	w.win.Connect("key-press-event", func(_ *gtk.Window, ev *gdk.Event) bool {
		k := gdk.EventKeyNewFromEvent(ev)
		if k.State()&uint(gdk.CONTROL_MASK) == 0 {
			return false
		}
		switch k.KeyVal() {
		case gdk.KEY_f:
			w.filter.GrabFocus()
			return true
		case gdk.KEY_l:
			w.path.GrabFocus()
			return true
		}
		return false
	})
}

// moving notes that the user is scrolling the list, for half a second
// after the last wheel turn or key (GTK's smooth scrolling goes on for a
// while after).
func (w *window) moving() {
	w.userMoving = true
	if w.userTimer != nil {
		w.userTimer.Cancel()
	}
	w.userTimer = w.r.CallLater(500*time.Millisecond, func() { w.userMoving = false })
}

// stopMoving forgets the user's scrolling: asked to follow, the list
// goes to its end, and what is left of a smooth scroll's movement is not
// the user turning Follow off again.
func (w *window) stopMoving() {
	w.userMoving = false
	if w.userTimer != nil {
		w.userTimer.Cancel()
		w.userTimer = nil
	}
}

func atBottom(adj *gtk.Adjustment) bool {
	return adj.GetValue() >= adj.GetUpper()-adj.GetPageSize()-1
}

func (w *window) toBottom(adj *gtk.Adjustment) {
	bottom := adj.GetUpper() - adj.GetPageSize()
	if adj.GetValue() != bottom {
		w.setting = true
		adj.SetValue(bottom)
		w.setting = false
	}
}

// tailRow follows the file of event row i in the tail pane.
func (w *window) tailRow(i int) {
	row, ok := w.app.Row(i)
	if !ok || row.Kind == "removed" || row.Kind == "overflow" {
		return
	}
	p := row.Path
	if j := strings.LastIndex(p, " → "); j >= 0 {
		p = p[j+len(" → "):]
	}
	if !strings.HasPrefix(p, "/") {
		p = w.view.Path + "/" + p
	}
	w.app.TailFile(p)
}

// choose runs a file chooser, without a nested loop: its answer comes
// to the response handler, which gives the path to do.
func (w *window) choose(title string, action gtk.FileChooserAction, do func(string) error) {
	d, err := gtk.FileChooserDialogNewWith2Buttons(title, w.win, action, "Cancel", gtk.RESPONSE_CANCEL, "Choose", gtk.RESPONSE_ACCEPT)
	if err != nil {
		return
	}
	d.SetModal(true)
	if action == gtk.FILE_CHOOSER_ACTION_SELECT_FOLDER && w.view.IsDir {
		d.SetCurrentFolder(w.view.Path)
	}
	answered := false
	d.Connect("response", func(_ *gtk.FileChooserDialog, resp gtk.ResponseType) {
		if answered {
			return
		}
		answered = true
		if resp == gtk.RESPONSE_ACCEPT {
			if p := d.GetFilename(); p != "" {
				do(p)
			}
		}
		d.Destroy()
	})
	d.Connect("destroy", func() { answered = true })
	d.Show()
}

// requestFrame asks GTK's frame clock for one frame, at which the window
// draws what changed: however many changes come before it, one draw.
func (w *window) requestFrame() {
	if w.framePending {
		return
	}
	w.framePending = true
	w.win.AddTickCallback(func(*gtk.Widget, *gdk.FrameClock) bool {
		w.framePending = false
		w.draw()
		return false // once
	})
}

// draw brings the widgets in line with the core.
func (w *window) draw() {
	f := w.app.Frame(&w.events, &w.tail)
	v := f.View
	w.view = v
	w.frames++
	w.setting = true
	defer func() { w.setting = false }()

	if !w.path.HasFocus() {
		if text, _ := w.path.GetText(); text != v.Path {
			w.path.SetText(v.Path)
		}
	}
	w.recursive.SetActive(v.Recursive)
	w.recursive.SetSensitive(v.CanRecursive)
	w.poll.SetActive(v.Poll)
	w.backend.SetMarkup("<b>" + glib.MarkupEscapeText(v.Backend) + "</b>")
	w.status.SetText(v.Status)
	w.errLabel.SetText(v.Error)
	w.errLabel.SetVisible(v.Error != "")
	w.bannerText.SetText(v.Banner.Text)
	w.banner.SetVisible(v.Banner.Shown)
	for _, c := range v.Counts {
		for j, op := range filewatch.Kinds {
			if filewatch.KindName(op) == c.Kind {
				w.counts[j].SetText(c.Kind + " " + c.Text)
				w.counts[j].Show()
			}
		}
	}
	w.follow.SetActive(v.Follow)
	w.summary.SetText(v.Summary)
	w.tailHeader.SetText(v.Tail.Status)
	if v.Generator != nil {
		w.genLabel.SetText(v.Generator.Text)
		w.generate.SetActive(v.Generator.Running)
	}

	w.apply(f.Events, v.Follow)
	w.applyTail(f.Tail)
	if v.Follow {
		w.toBottom(w.list.GetVAdjustment())
	}
}

// apply makes the event store what the core's list is: the Changes
// are bounded by the list's capacity, so a frame never does more.
func (w *window) apply(c filewatch.Changes, follow bool) {
	if c.Empty() {
		return
	}
	adj := w.list.GetVAdjustment()
	rowH := 0.0
	if w.rows > 0 {
		rowH = adj.GetUpper() / float64(w.rows)
	}
	// Many rows at once go faster with the store off the view.
	detach := c.Reset || c.Drop+c.Added > 500
	if detach {
		w.tree.SetModel(nil)
	}
	if c.Reset {
		w.store.Clear()
		w.rows = 0
	}
	for range c.Drop {
		if it, ok := w.store.GetIterFirst(); ok {
			w.store.Remove(it)
			w.rows--
		}
	}
	cols := []int{colTime, colKind, colColor, colPath, colNote}
	for i := c.From; i < c.From+c.Added; i++ {
		row, ok := w.app.Row(i)
		if !ok {
			continue
		}
		w.store.Set(w.store.Append(), cols, []interface{}{row.Time, row.Kind, row.Color, row.Path, row.Note})
		w.rows++
	}
	w.mostRows = max(w.mostRows, c.Drop+c.Added)
	if detach {
		value := adj.GetValue()
		w.tree.SetModel(w.store)
		adj.SetValue(value)
	}
	// Not following, the rows the user looks at stay in place when older
	// ones go.
	if !follow && !c.Reset && c.Drop > 0 && rowH > 0 {
		adj.SetValue(max(0, adj.GetValue()-float64(c.Drop)*rowH))
	}
}

func (w *window) applyTail(c filewatch.Changes) {
	if c.Empty() {
		return
	}
	if c.Reset {
		w.tailStore.Clear()
		w.tailRows = 0
	}
	for range c.Drop {
		if it, ok := w.tailStore.GetIterFirst(); ok {
			w.tailStore.Remove(it)
			w.tailRows--
		}
	}
	cols := []int{tailText, tailColor, tailMarked}
	for i := c.From; i < c.From+c.Added; i++ {
		l, ok := w.app.TailLine(i)
		if !ok {
			continue
		}
		color := l.Color
		if color == "" {
			color = "#ffffff"
		}
		w.tailStore.Set(w.tailStore.Append(), cols, []interface{}{l.Text, color, l.Marker != ""})
		w.tailRows++
	}
}
