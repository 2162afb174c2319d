// Package ui is the Fyne view of netclient's core (apps/netclient): the
// widgets, drawn from the core's View at most once a frame, whose
// actions are the core's commands. The command netclient-fyne puts it in
// a window; its tests use it under Fyne's test driver.
//
// Everything here runs on Fyne's goroutine, which fyneloop makes the
// reactor goroutine: socket and transfer callbacks change the core,
// which asks for a redraw; nothing here needs fyne.Do or a lock.
package ui

import (
	"fmt"
	"image/color"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/loomkit/loom/apps/netclient"
	"github.com/loomkit/loom/reactor"
)

// Title is the window's title.
const Title = "loom netclient (Fyne)"

// Frame is the shortest time between two redraws.
const Frame = 16 * time.Millisecond

// The colours of the exchange (Wireshark's Follow Stream: what this side
// sent on red, what the server sent on blue), of the connection badge and
// of ended transfers' bars. Running bars are the theme's primary colour.
var (
	SentBG, SentFG         = rgb(0xfb, 0xe3, 0xe4), rgb(0xa5, 0x1d, 0x2d)
	ReceivedBG, ReceivedFG = rgb(0xe3, 0xec, 0xfa), rgb(0x1a, 0x5f, 0xb4)
	NoteBG, NoteFG         = color.NRGBA{A: 0}, rgb(0x77, 0x76, 0x7b)
	Badge                  = map[string]color.NRGBA{
		"disconnected": rgb(0x9a, 0x99, 0x96), "closed": rgb(0x9a, 0x99, 0x96),
		"connecting": rgb(0xf6, 0xd3, 0x2d), "connected": rgb(0x2e, 0xc2, 0x7e), "failed": rgb(0xe0, 0x1b, 0x24),
	}
	DoneBar, StoppedBar, Trough = rgb(0x2e, 0xc2, 0x7e), rgb(0x9a, 0x99, 0x96), rgb(0xde, 0xdd, 0xda)
)

func rgb(r, g, b uint8) color.NRGBA { return color.NRGBA{R: r, G: g, B: b, A: 0xff} }

// Light is the theme the window uses: Fyne's own, always in its light
// variant, which the exchange's colours are made for.
type Light struct{ fyne.Theme }

func (t Light) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, theme.VariantLight)
}

// UI is the view. Its fields are the widgets, for tests to read and tap.
type UI struct {
	a *netclient.App
	r *reactor.Reactor

	Content fyne.CanvasObject

	Addr                       *widget.Entry
	TLS                        *widget.Check
	Connect, Disconnect, Recon *widget.Button
	Badge                      *canvas.Circle
	Status                     *widget.Label
	Exchange                   *widget.List
	Line                       *widget.Entry
	Send, ClearLines           *widget.Button
	Follow                     *widget.Check
	Counts                     *widget.Label
	URL                        *widget.SelectEntry
	Save                       *widget.Check
	Fetch, ClearFinished       *widget.Button
	Transfers                  *widget.List
	Details                    *widget.Label
	Downloads                  *widget.Label
	badgeBox                   fyne.CanvasObject
	exchangeBox, transfersBox  fyne.CanvasObject

	view     netclient.View // as last drawn
	lines    int            // the line count last drawn
	lastSeq  uint64
	pending  bool
	renders  int
	rowOf    map[*transferRow]int // the transfer id each list item shows
	selected int
}

// New builds the view of a (which must not change until the view is on
// screen: call it on the reactor goroutine or before the pump starts).
func New(a *netclient.App) *UI {
	u := &UI{a: a, r: a.Reactor(), rowOf: map[*transferRow]int{}}
	v := a.View()
	u.view = v

	u.Addr = widget.NewEntry()
	u.Addr.SetText(v.Console.Addr)
	u.Addr.SetPlaceHolder("host:port")
	u.Addr.OnSubmitted = func(string) { u.onConnect() }
	u.TLS = widget.NewCheck("TLS", nil)
	u.TLS.SetChecked(v.Console.TLS)
	u.Connect = widget.NewButton("Connect", u.onConnect)
	u.Disconnect = widget.NewButton("Disconnect", a.Disconnect)
	u.Recon = widget.NewButton("Reconnect", a.Reconnect)
	u.Badge = canvas.NewCircle(Badge["disconnected"])
	u.badgeBox = container.NewGridWrap(fyne.NewSize(16, 16), u.Badge)
	u.Status = widget.NewLabel("")
	u.Status.Truncation = fyne.TextTruncateEllipsis
	addr := container.NewGridWrap(fyne.NewSize(230, u.Addr.MinSize().Height), u.Addr)
	top := container.NewBorder(nil, nil,
		container.NewHBox(widget.NewLabel("Server"), addr, u.TLS, u.Connect, u.Disconnect, u.Recon,
			container.NewCenter(u.badgeBox)),
		nil, u.Status)

	u.Exchange = widget.NewList(a.LineCount, newLineRow, func(i widget.ListItemID, o fyne.CanvasObject) {
		if i < a.LineCount() {
			o.(*lineRow).set(a.Line(i))
		}
	})
	u.exchangeBox = u.Exchange
	u.Line = widget.NewEntry()
	u.Line.SetPlaceHolder("a line to send: HELP, ECHO text, UPPER text, COUNT n, QUIT, RESET")
	u.Line.OnSubmitted = func(string) { u.onSend() }
	u.Send = widget.NewButton("Send", u.onSend)
	u.Follow = widget.NewCheck("Follow", nil)
	u.Follow.SetChecked(true)
	u.Follow.OnChanged = func(on bool) {
		if on {
			u.scrollToBottom()
		}
	}
	u.ClearLines = widget.NewButton("Clear", a.ClearExchange)
	u.Counts = widget.NewLabel("")
	bottom := container.NewBorder(nil, nil, nil, container.NewHBox(u.Send, u.Follow, u.ClearLines, u.Counts), u.Line)
	console := container.NewBorder(container.NewVBox(heading("Line console"), top), bottom, nil, nil, u.Exchange)

	u.URL = widget.NewSelectEntry(v.URLs)
	u.URL.SetText(v.URL)
	u.URL.OnSubmitted = func(string) { u.onFetch() }
	u.Save = widget.NewCheck("Save to file", nil)
	u.Save.SetChecked(true)
	u.Fetch = widget.NewButton("Fetch", u.onFetch)
	u.ClearFinished = widget.NewButton("Clear finished", a.ClearFinished)
	fetchBar := container.NewBorder(nil, nil, widget.NewLabel("URL"),
		container.NewHBox(u.Save, u.Fetch, u.ClearFinished), u.URL)
	u.Transfers = widget.NewList(func() int { return len(u.view.Transfers) }, u.newTransferRow,
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i < len(u.view.Transfers) {
				r := o.(*transferRow)
				u.rowOf[r] = u.view.Transfers[i].ID
				r.set(u.view.Transfers[i])
			}
		})
	u.Transfers.OnSelected = func(i widget.ListItemID) {
		if i < len(u.view.Transfers) && u.view.Transfers[i].ID != u.selected {
			u.selected = u.view.Transfers[i].ID
			a.Select(u.selected)
		}
	}
	u.transfersBox = u.Transfers
	u.Details = widget.NewLabel("")
	u.Details.TextStyle.Monospace = true
	u.Details.Wrapping = fyne.TextWrapBreak
	u.Details.Selectable = true
	details := container.NewGridWrap(fyne.NewSize(940, 130), container.NewVScroll(u.Details))
	u.Downloads = widget.NewLabel("Files are saved in " + v.Downloads)
	u.Downloads.Truncation = fyne.TextTruncateEllipsis
	fetches := container.NewBorder(container.NewVBox(heading("HTTP"), fetchBar),
		container.NewVBox(details, u.Downloads), nil, nil, u.Transfers)

	split := container.NewVSplit(console, fetches)
	split.Offset = 0.45
	u.Content = split

	a.OnChange(u.schedule)
	u.Render()
	return u
}

func heading(s string) *widget.Label {
	return widget.NewLabelWithStyle(s, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
}

func (u *UI) onConnect() { u.a.Connect(u.Addr.Text, u.TLS.Checked) }

func (u *UI) onSend() {
	if u.a.Send(u.Line.Text) == nil {
		u.Line.SetText("")
	}
}

func (u *UI) onFetch() {
	if s := strings.TrimSpace(u.URL.Text); s != "" {
		u.a.Fetch(s, u.Save.Checked)
	}
}

// schedule asks for one redraw a frame from now, however many changes
// come before it.
func (u *UI) schedule() {
	if u.pending {
		return
	}
	u.pending = true
	u.r.CallLater(Frame, func() {
		u.pending = false
		u.Render()
	})
}

// scrollToBottom shows the newest line, once the list is on screen
// (Fyne's List cannot scroll before it is laid out).
func (u *UI) scrollToBottom() {
	if u.Exchange.Size().Height > 0 {
		u.Exchange.ScrollToBottom()
	}
}

// Renders counts the redraws.
func (u *UI) Renders() int { return u.renders }

// Render draws the core's View now. Reactor goroutine.
func (u *UI) Render() {
	v := u.a.View()
	u.renders++
	u.view = v
	c := v.Console
	if col := Badge[c.State]; u.Badge.FillColor != color.Color(col) {
		u.Badge.FillColor = col
		u.Badge.Refresh()
	}
	setText(u.Status, c.Status)
	setText(u.Counts, c.Counts)
	enable(u.Disconnect, c.CanDisconnect)
	enable(u.Recon, c.CanReconnect)
	enable(u.Send, c.CanSend)

	n := u.a.LineCount()
	last := u.a.FirstSeq() + uint64(n)
	if n != u.lines || last != u.lastSeq {
		u.lines, u.lastSeq = n, last
		u.Exchange.Refresh()
		if u.Follow.Checked && n > 0 {
			u.scrollToBottom()
		}
	}

	u.Transfers.Refresh()
	if v.Selected != u.selected {
		u.selected = v.Selected
		for i, t := range v.Transfers {
			if t.ID == v.Selected {
				u.Transfers.Select(i)
			}
		}
	}
	setText(u.Details, strings.Join(v.Details, "\n"))
}

// State is what the state file holds, with where the widgets are on c.
func (u *UI) State(c fyne.Canvas) netclient.State {
	return u.a.State("fyne", Title, u.Layout(c), u.Colors())
}

// Colors are the colours the view paints, for the state file: running
// bars are the theme's primary colour.
func (u *UI) Colors() map[string]string {
	th := fyne.CurrentApp().Settings().Theme()
	m := map[string]string{
		"bar":  hex(th.Color(theme.ColorNamePrimary, theme.VariantLight)),
		"done": hex(DoneBar), "stopped": hex(StoppedBar),
		"sent": hex(SentBG), "received": hex(ReceivedBG), "sent-text": hex(SentFG), "received-text": hex(ReceivedFG),
	}
	for state, c := range Badge {
		m["badge."+state] = hex(c)
	}
	return m
}

func hex(c color.Color) string {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	return fmt.Sprintf("#%02x%02x%02x", n.R, n.G, n.B)
}

// Layout says where the widgets are on c, in its pixels.
func (u *UI) Layout(c fyne.Canvas) netclient.Layout {
	l := netclient.Layout{}
	d := fyne.CurrentApp().Driver()
	scale := c.Scale()
	put := func(name string, o fyne.CanvasObject) {
		if !o.Visible() || d.CanvasForObject(o) == nil {
			return
		}
		p, s := d.AbsolutePositionForObject(o), o.Size()
		if s.Width <= 1 {
			return
		}
		l[name] = netclient.Rect{X: int(p.X * scale), Y: int(p.Y * scale), W: int(s.Width * scale), H: int(s.Height * scale)}
	}
	for name, o := range map[string]fyne.CanvasObject{
		"address": u.Addr, "tls": u.TLS, "connect": u.Connect, "disconnect": u.Disconnect,
		"reconnect": u.Recon, "badge": u.badgeBox, "status": u.Status, "exchange": u.exchangeBox,
		"line": u.Line, "send": u.Send, "follow": u.Follow, "clear": u.ClearLines, "counts": u.Counts,
		"url": u.URL, "save": u.Save, "fetch": u.Fetch, "clear-finished": u.ClearFinished,
		"transfers": u.transfersBox, "details": u.Details,
	} {
		put(name, o)
	}
	list := l["transfers"]
	for r, id := range u.rowOf {
		name := "transfer." + strconv.Itoa(id)
		put(name, r)
		if rr, ok := l[name]; !ok || rr.Y < list.Y || rr.Y+rr.H > list.Y+list.H {
			delete(l, name) // scrolled out, or a template not in use
			continue
		}
		bar := r.bar.obj()
		put(name+".bar", bar)
		put(name+".cancel", r.cancel)
	}
	return l
}

func setText(l *widget.Label, s string) {
	if l.Text != s {
		l.SetText(s)
	}
}

func enable(b *widget.Button, on bool) {
	if on && b.Disabled() {
		b.Enable()
	} else if !on && !b.Disabled() {
		b.Disable()
	}
}

// lineRow is one line of the exchange: time, direction, text, on the
// direction's colour.
type lineRow struct {
	widget.BaseWidget
	bg              *canvas.Rectangle
	at, arrow, text *canvas.Text
}

func newLineRow() fyne.CanvasObject {
	r := &lineRow{bg: canvas.NewRectangle(NoteBG)}
	mono := fyne.TextStyle{Monospace: true}
	r.at = canvas.NewText("00:00:00.000", NoteFG)
	r.arrow = canvas.NewText("→", NoteFG)
	r.text = canvas.NewText("", NoteFG)
	for _, t := range []*canvas.Text{r.at, r.arrow, r.text} {
		t.TextStyle = mono
	}
	r.ExtendBaseWidget(r)
	return r
}

func (r *lineRow) set(l netclient.Line) {
	bg, fg := NoteBG, NoteFG
	style := fyne.TextStyle{Monospace: true}
	switch l.Dir {
	case netclient.Sent:
		bg, fg = SentBG, SentFG
	case netclient.Received:
		bg, fg = ReceivedBG, ReceivedFG
	default:
		style.Italic = true
	}
	r.bg.FillColor = bg
	r.at.Text, r.arrow.Text, r.text.Text = l.At.Format("15:04:05.000"), l.Dir.Arrow(), l.Text
	for _, t := range []*canvas.Text{r.at, r.arrow, r.text} {
		t.Color, t.TextStyle = fg, style
	}
	r.Refresh()
}

func (r *lineRow) CreateRenderer() fyne.WidgetRenderer {
	pad := theme.Padding()
	row := container.New(layout.NewCustomPaddedHBoxLayout(2*pad), r.at, r.arrow, r.text)
	return widget.NewSimpleRenderer(container.NewStack(r.bg, container.NewPadded(row)))
}

// transferRow is one transfer: its name and summary, its bar, Cancel.
type transferRow struct {
	widget.BaseWidget
	name, summary *widget.Label
	bar           *bar
	cancel        *widget.Button
	id            int
}

func (u *UI) newTransferRow() fyne.CanvasObject {
	r := &transferRow{
		name:    widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		summary: widget.NewLabel(""),
		bar:     newBar(),
	}
	r.summary.Truncation = fyne.TextTruncateEllipsis
	r.cancel = widget.NewButton("Cancel", func() { u.a.Cancel(r.id) })
	r.ExtendBaseWidget(r)
	return r
}

func (r *transferRow) set(t netclient.TransferView) {
	r.id = t.ID
	setText(r.name, t.Name)
	setText(r.summary, t.Summary)
	enable(r.cancel, t.CanCancel)
	r.bar.set(t)
}

func (r *transferRow) CreateRenderer() fyne.WidgetRenderer {
	line := container.NewBorder(nil, nil, r.name, nil, r.summary)
	body := container.NewBorder(nil, nil, nil, container.NewCenter(r.cancel), container.NewVBox(line, r.bar.box))
	return widget.NewSimpleRenderer(body)
}

// bar is a transfer's bar: Fyne's progress bar while the size is known,
// its infinite bar while it is not, and a plain one once the transfer
// has ended (green done, grey cancelled or failed).
type bar struct {
	box      *fyne.Container
	known    *widget.ProgressBar
	infinite *widget.ProgressBarInfinite
	ended    *fyne.Container
	fill     *canvas.Rectangle
	fraction float64
	min      fyne.Size
}

func newBar() *bar {
	b := &bar{known: widget.NewProgressBar(), infinite: widget.NewProgressBarInfinite()}
	b.known.TextFormatter = func() string { return "" }
	b.min = b.known.MinSize()
	b.fill = canvas.NewRectangle(DoneBar)
	trough := canvas.NewRectangle(Trough)
	b.fill.CornerRadius = theme.InputRadiusSize()
	trough.CornerRadius = theme.InputRadiusSize()
	b.ended = container.New(&fractionLayout{b: b}, trough, b.fill)
	b.infinite.Hide()
	b.infinite.Stop()
	b.ended.Hide()
	b.box = container.NewStack(b.known, b.infinite, b.ended)
	return b
}

// obj is the bar on screen.
func (b *bar) obj() fyne.CanvasObject {
	switch {
	case b.known.Visible():
		return b.known
	case b.infinite.Visible():
		return b.infinite
	}
	return b.ended
}

func (b *bar) set(t netclient.TransferView) {
	show := func(o fyne.CanvasObject) {
		for _, x := range []fyne.CanvasObject{b.known, b.infinite, b.ended} {
			if x == o && !x.Visible() {
				x.Show()
			} else if x != o && x.Visible() {
				x.Hide()
			}
		}
		if o == b.infinite && !b.infinite.Running() {
			b.infinite.Start()
		} else if o != b.infinite && b.infinite.Running() {
			b.infinite.Stop()
		}
	}
	switch {
	case !t.Active:
		col := DoneBar
		if t.State != "done" {
			col = StoppedBar
		}
		if b.fill.FillColor != color.Color(col) || b.fraction != t.Fraction {
			b.fill.FillColor, b.fraction = col, t.Fraction
			b.ended.Refresh()
		}
		show(b.ended)
	case t.Known:
		b.known.SetValue(t.Fraction)
		show(b.known)
	default:
		show(b.infinite)
	}
}

// fractionLayout lays out a trough and its fill, the fill across the
// bar's fraction of the width.
type fractionLayout struct{ b *bar }

func (l *fractionLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	objs[0].Resize(size)
	objs[1].Resize(fyne.NewSize(size.Width*float32(l.b.fraction), size.Height))
}

func (l *fractionLayout) MinSize([]fyne.CanvasObject) fyne.Size { return l.b.min }
