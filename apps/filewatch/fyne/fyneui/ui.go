// Package fyneui is the Fyne window of loom's file watcher: widgets that
// draw the core's (package filewatch) Frame at most once per Fyne frame
// and hand the user's doings to the core's commands. The event list and
// the tail pane are widget.Lists, virtual: they build widgets for the
// rows on screen only, and read the rows from the core.
//
// Everything here runs on Fyne's goroutine, which fyneloop makes the
// reactor's: no lock and no fyne.Do.
package fyneui

import (
	"fmt"
	"image/color"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/loomkit/loom/apps/filewatch"
	"github.com/loomkit/loom/reactor"
)

// Title is the window's title.
const Title = "loom — filewatch"

// UI is the window's widgets and what they have shown.
type UI struct {
	app fyne.App
	win fyne.Window
	r   *reactor.Reactor
	c   *filewatch.App
	// chooser is the file chooser open, if one is.
	chooser *chooser

	path                  *widget.Entry
	chooseDir, chooseFile *widget.Button
	recursive, poll       *widget.Check
	backend, status, err  *widget.Label
	banner                *fyne.Container
	bannerText            *widget.Label
	dismiss               *widget.Button
	filter                *widget.Entry
	counts                *fyne.Container
	countRects            []*canvas.Rectangle
	countLabels           []*widget.Label
	follow                *widget.Check
	clear                 *widget.Button
	list                  *widget.List
	tailHeader            *widget.Label
	chooseTail            *widget.Button
	tailList              *widget.List
	summary, genLabel     *widget.Label
	generate              *widget.Check
	flood                 *widget.Button
	head                  *fyne.Container
	content               fyne.CanvasObject

	view    filewatch.View
	version uint64
	events  filewatch.Cursor
	tail    filewatch.Cursor
	rowsN   int // rows the list was last told it has
	tailN   int

	// setting is true while the UI sets its own widgets, whose
	// callbacks are then not the user's doing.
	setting bool
	// offset is the list's scroll offset as the UI left it: another one
	// at the next frame was the user's scrolling.
	offset     float32
	tailOffset float32
	tailStick  bool

	// bound are the lists' row widgets, and the row each shows, with
	// when it was told to (the list keeps widgets it no longer shows).
	bound     map[*rowItem]binding
	tailBound map[*tailItem]binding
	binds     uint64
	frames    int
	animation *fyne.Animation
}

// New builds the window's content for core c on reactor r in win, and
// draws it once. Call Start for the frame timer. Fyne's goroutine.
func New(a fyne.App, win fyne.Window, r *reactor.Reactor, c *filewatch.App) *UI {
	u := &UI{app: a, win: win, r: r, c: c, tailStick: true, bound: map[*rowItem]binding{}, tailBound: map[*tailItem]binding{}}
	a.Settings().SetTheme(lightTheme{theme.DefaultTheme()})
	u.build()
	win.SetContent(u.content)
	u.Frame()
	return u
}

// Content is the window's content.
func (u *UI) Content() fyne.CanvasObject { return u.content }

// lightTheme is Fyne's theme in its light variant, whatever the
// desktop's: the kinds' and markers' colours are light, for dark text.
type lightTheme struct{ fyne.Theme }

func (t lightTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, theme.VariantLight)
}

// ShownPath is a row's path as the list shows it: Fyne's fonts draw a
// space after "→" as a missing glyph, and none after "➜".
func ShownPath(p string) string { return strings.ReplaceAll(p, " → ", " ➜ ") }

func hexColor(hex string) color.NRGBA {
	c := color.NRGBA{A: 0xff}
	fmt.Sscanf(hex, "#%02x%02x%02x", &c.R, &c.G, &c.B)
	return c
}

func (u *UI) build() {
	u.path = widget.NewEntry()
	u.path.SetPlaceHolder("File or folder to watch")
	u.path.OnSubmitted = func(s string) { u.c.Watch(s) }
	u.chooseDir = widget.NewButton("Folder…", func() { u.choose("Watch a folder", true, u.c.Watch) })
	u.chooseFile = widget.NewButton("File…", func() { u.choose("Watch a file", false, u.c.Watch) })
	u.recursive = widget.NewCheck("Subfolders", func(on bool) {
		if !u.setting {
			u.c.SetRecursive(on)
		}
	})
	u.poll = widget.NewCheck("Poll", func(on bool) {
		if !u.setting {
			u.c.SetPoll(on)
		}
	})
	u.backend = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	top := container.NewBorder(nil, nil, nil,
		container.NewHBox(u.chooseDir, u.chooseFile, u.recursive, u.poll, u.backend), u.path)
	u.status = widget.NewLabel("")
	u.status.Truncation = fyne.TextTruncateEllipsis
	u.err = widget.NewLabel("")
	u.err.Importance = widget.DangerImportance
	u.err.Hide()

	u.bannerText = widget.NewLabel("")
	u.bannerText.Wrapping = fyne.TextWrapWord
	u.dismiss = widget.NewButton("Dismiss", func() { u.c.DismissBanner() })
	u.banner = container.NewStack(canvas.NewRectangle(hexColor(filewatch.BannerColor)),
		container.NewBorder(nil, nil, nil, container.NewCenter(u.dismiss), u.bannerText))
	u.banner.Hide()

	u.filter = widget.NewEntry()
	u.filter.SetPlaceHolder("Filter: kind or path words")
	u.filter.SetText(u.c.View().Filter)
	u.filter.OnChanged = func(s string) {
		if !u.setting {
			u.c.SetFilter(s)
		}
	}
	u.counts = container.NewHBox()
	for _, op := range filewatch.Kinds {
		r := canvas.NewRectangle(hexColor(filewatch.KindColor(op)))
		r.CornerRadius = 3
		l := widget.NewLabel("")
		u.countRects = append(u.countRects, r)
		u.countLabels = append(u.countLabels, l)
		cell := container.NewStack(r, l)
		cell.Hide()
		u.counts.Add(cell)
	}
	u.follow = widget.NewCheck("Follow", func(on bool) {
		if !u.setting {
			u.c.SetFollow(on)
		}
	})
	u.clear = widget.NewButton("Clear", func() { u.c.Clear() })
	filterW := container.NewGridWrap(fyne.NewSize(260, u.filter.MinSize().Height), u.filter)
	bar := container.NewBorder(nil, nil, container.NewHBox(filterW, u.counts), container.NewHBox(u.clear, u.follow))

	u.list = widget.NewList(
		func() int { return u.rowsN },
		func() fyne.CanvasObject { return newRowItem() },
		func(id widget.ListItemID, o fyne.CanvasObject) {
			it := o.(*rowItem)
			u.binds++
			u.bound[it] = binding{id, u.binds}
			if r, ok := u.c.Row(id); ok {
				it.set(r)
			}
		})
	u.list.OnSelected = func(id widget.ListItemID) { u.list.Unselect(id) }

	u.tailHeader = widget.NewLabel("")
	u.tailHeader.Truncation = fyne.TextTruncateEllipsis
	u.chooseTail = widget.NewButton("Tail file…", func() { u.choose("Follow a file", false, u.c.TailFile) })
	u.tailList = widget.NewList(
		func() int { return u.tailN },
		func() fyne.CanvasObject { return newTailItem() },
		func(id widget.ListItemID, o fyne.CanvasObject) {
			it := o.(*tailItem)
			u.binds++
			u.tailBound[it] = binding{id, u.binds}
			if l, ok := u.c.TailLine(id); ok {
				it.set(l)
			}
		})
	u.tailList.HideSeparators = true
	u.tailList.OnSelected = func(id widget.ListItemID) { u.tailList.Unselect(id) }
	tailBox := container.NewBorder(container.NewBorder(nil, nil, nil, u.chooseTail, u.tailHeader), nil, nil, nil, u.tailList)
	split := container.NewVSplit(u.list, tailBox)
	split.Offset = 0.58

	u.summary = widget.NewLabel("")
	u.genLabel = widget.NewLabel("")
	u.genLabel.Truncation = fyne.TextTruncateEllipsis
	u.generate = widget.NewCheck("Generate", func(on bool) {
		if !u.setting {
			u.c.SetGenerating(on)
		}
	})
	u.flood = widget.NewButton("Flood", func() { u.c.Flood() })
	foot := container.NewBorder(nil, nil, u.summary, container.NewHBox(u.generate, u.flood), u.genLabel)
	if u.c.Generator() == nil {
		u.generate.Hide()
		u.flood.Hide()
		u.genLabel.Hide()
	}

	u.head = container.NewVBox(top, u.status, u.err, u.banner, bar)
	u.content = container.NewBorder(u.head, foot, nil, nil, split)

	u.win.Canvas().AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyF, Modifier: fyne.KeyModifierShortcutDefault},
		func(fyne.Shortcut) { u.win.Canvas().Focus(u.filter) })
	u.win.Canvas().AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyL, Modifier: fyne.KeyModifierShortcutDefault},
		func(fyne.Shortcut) { u.win.Canvas().Focus(u.path) })
}

// Start runs the frame timer: an animation that lasts for ever and does
// nothing itself, so that Fyne calls it once per frame; it draws when the
// core has changed, or the user has scrolled the list. Fyne's goroutine.
func (u *UI) Start() {
	u.animation = fyne.NewAnimation(time.Second, func(float32) { u.tick() })
	u.animation.RepeatCount = fyne.AnimationRepeatForever
	u.animation.Curve = fyne.AnimationLinear
	u.animation.Start()
}

// Stop stops the frame timer.
func (u *UI) Stop() {
	if u.animation != nil {
		u.animation.Stop()
	}
}

func (u *UI) tick() {
	u.scrolled()
	if u.c.Version() != u.version || u.version == 0 {
		u.Frame()
		return
	}
	// A list made shorter (the banner shown) is no longer at its end.
	if u.view.Follow && u.list.GetScrollOffset() < bottom(u.list, u.rowsN, rowTemplate)-1 {
		u.list.ScrollToBottom()
		u.offset = u.list.GetScrollOffset()
	}
	if u.tailStick && u.tailList.GetScrollOffset() < bottom(u.tailList, u.tailN, tailTemplate)-1 {
		u.tailList.ScrollToBottom()
		u.tailOffset = u.tailList.GetScrollOffset()
	}
}

// pitch is the height of a row of l, separator included.
func pitch(l *widget.List, item fyne.CanvasObject) float32 {
	return item.MinSize().Height + theme.Padding()
}

// bottom is the scroll offset of list l, of n rows of item's height, at
// its end.
func bottom(l *widget.List, n int, item fyne.CanvasObject) float32 {
	content := float32(n)*pitch(l, item) - theme.Padding()
	return max(0, content-l.Size().Height)
}

var (
	rowTemplate  = newRowItem()
	tailTemplate = newTailItem()
)

// scrolled tells the core when the user has moved the list: up from its
// end turns Follow off, back to the end on.
func (u *UI) scrolled() {
	if off := u.list.GetScrollOffset(); off != u.offset {
		u.offset = off
		u.c.UserScrolled(off >= bottom(u.list, u.rowsN, rowTemplate)-1)
	}
	if off := u.tailList.GetScrollOffset(); off != u.tailOffset {
		u.tailOffset = off
		u.tailStick = off >= bottom(u.tailList, u.tailN, tailTemplate)-1
	}
}

// Frame brings the widgets in line with the core. The frame timer calls
// it; so can tests under Fyne's test driver, which has no frames.
func (u *UI) Frame() {
	u.scrolled()
	f := u.c.Frame(&u.events, &u.tail)
	v := f.View
	u.view, u.version = v, v.Version
	u.frames++
	u.setting = true
	defer func() { u.setting = false }()

	if c := u.win.Canvas().Focused(); c != u.path && u.path.Text != v.Path {
		u.path.SetText(v.Path)
	}
	u.recursive.SetChecked(v.Recursive)
	if v.CanRecursive {
		u.recursive.Enable()
	} else {
		u.recursive.Disable()
	}
	u.poll.SetChecked(v.Poll)
	u.backend.SetText(v.Backend)
	u.status.SetText(v.Status)
	u.err.SetText(v.Error)
	u.bannerText.SetText(v.Banner.Text)
	if show(u.err, v.Error != "") || show(u.banner, v.Banner.Shown) {
		u.head.Refresh() // laid out again, with or without them
	}
	for _, c := range v.Counts {
		for j, op := range filewatch.Kinds {
			if filewatch.KindName(op) == c.Kind {
				u.countLabels[j].SetText(c.Kind + " " + c.Text)
				u.counts.Objects[j].Show()
			}
		}
	}
	u.follow.SetChecked(v.Follow)
	u.summary.SetText(v.Summary)
	u.tailHeader.SetText(v.Tail.Status)
	if g := v.Generator; g != nil {
		u.genLabel.SetText(g.Text)
		u.generate.SetChecked(g.Running)
	}

	if !f.Events.Empty() {
		keep := u.list.GetScrollOffset()
		u.rowsN = u.c.RowCount()
		u.list.Refresh()
		if !v.Follow && !f.Events.Reset && f.Events.Drop > 0 {
			// Not following, the rows the user looks at stay in place
			// when older ones go.
			u.list.ScrollToOffset(max(0, keep-float32(f.Events.Drop)*pitch(u.list, rowTemplate)))
		}
	}
	if v.Follow {
		u.list.ScrollToBottom()
	}
	u.offset = u.list.GetScrollOffset()
	if !f.Tail.Empty() {
		u.tailN = u.c.TailCount()
		u.tailList.Refresh()
		if u.tailStick {
			u.tailList.ScrollToBottom()
		}
	}
	u.tailOffset = u.tailList.GetScrollOffset()
}

// binding is the row a list's widget was last told to show, and when.
type binding struct {
	id   int
	when uint64
}

// show shows or hides o and says whether that changed anything.
func show(o fyne.CanvasObject, on bool) bool {
	if o.Visible() == on {
		return false
	}
	if on {
		o.Show()
	} else {
		o.Hide()
	}
	return true
}

// rowItem is a row of the event list: time, kind on its colour, path,
// note.
type rowItem struct {
	widget.BaseWidget
	time, kind, path, note *widget.Label
	bg                     *canvas.Rectangle
	box                    *fyne.Container
}

func newRowItem() *rowItem {
	it := &rowItem{
		time: widget.NewLabel("00:00:00.000"), kind: widget.NewLabel("overflow"),
		path: widget.NewLabel(""), note: widget.NewLabel(""), bg: canvas.NewRectangle(color.Transparent),
	}
	it.path.Truncation = fyne.TextTruncateEllipsis
	it.note.Truncation = fyne.TextTruncateEllipsis
	it.box = container.New(&columns{widths: []float32{110, 96, -1, 230}},
		it.time, container.NewStack(it.bg, it.kind), it.path, it.note)
	it.ExtendBaseWidget(it)
	return it
}

func (it *rowItem) set(r filewatch.Row) {
	it.time.SetText(r.Time)
	it.kind.SetText(r.Kind)
	it.path.SetText(ShownPath(r.Path))
	it.note.SetText(r.Note)
	it.bg.FillColor = hexColor(r.Color)
	it.bg.Refresh()
}

func (it *rowItem) row() filewatch.Row {
	return filewatch.Row{Time: it.time.Text, Kind: it.kind.Text, Path: it.path.Text, Note: it.note.Text}
}

func (it *rowItem) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(it.box) }

// tailItem is a line of the tail pane; a marker on its colour.
type tailItem struct {
	widget.BaseWidget
	text   *widget.Label
	bg     *canvas.Rectangle
	box    *fyne.Container
	marker string
}

func newTailItem() *tailItem {
	it := &tailItem{text: widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Monospace: true}), bg: canvas.NewRectangle(color.Transparent)}
	it.text.Truncation = fyne.TextTruncateEllipsis
	it.box = container.NewStack(it.bg, it.text)
	it.ExtendBaseWidget(it)
	return it
}

func (it *tailItem) set(l filewatch.TailLine) {
	it.text.SetText(l.Text)
	it.marker = l.Marker
	if l.Marker != "" {
		it.bg.FillColor = hexColor(l.Color)
	} else {
		it.bg.FillColor = color.Transparent
	}
	it.bg.Refresh()
}

func (it *tailItem) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(it.box) }

// columns lays its objects side by side at fixed widths; a width of -1
// takes what the others leave.
type columns struct{ widths []float32 }

func (c *columns) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	fixed := float32(0)
	for _, w := range c.widths {
		if w > 0 {
			fixed += w
		}
	}
	x := float32(0)
	for i, o := range objs {
		w := c.widths[i]
		if w < 0 {
			w = max(0, size.Width-fixed)
		}
		o.Move(fyne.NewPos(x, 0))
		o.Resize(fyne.NewSize(w, size.Height))
		x += w
	}
}

func (c *columns) MinSize(objs []fyne.CanvasObject) fyne.Size {
	h := float32(0)
	w := float32(0)
	for i, o := range objs {
		h = max(h, o.MinSize().Height)
		if c.widths[i] > 0 {
			w += c.widths[i]
		}
	}
	return fyne.NewSize(w, h)
}
