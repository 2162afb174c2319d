package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gotk3/gotk3/gdk"
	"github.com/gotk3/gotk3/glib"
	"github.com/gotk3/gotk3/gtk"
	"github.com/gotk3/gotk3/pango"

	"github.com/loomkit/loom/apps/netclient"
)

// Title is the window's title.
const Title = "loom netclient"

// The colours of the exchange (Wireshark's Follow Stream: what this side
// sent on red, what the server sent on blue), of the connection badge
// and of the progress bars. Tests and scripts look for them on screen.
const (
	SentBG, SentFG         = "#fbe3e4", "#a51d2d"
	ReceivedBG, ReceivedFG = "#e3ecfa", "#1a5fb4"
	NoteBG, NoteFG         = "#ffffff", "#77767b"
)

// css styles the badge by connection state and the transfers' bars by
// transfer state.
const css = `
#badge { min-width: 16px; min-height: 16px; border-radius: 8px; background-color: #9a9996; }
#badge.connected { background-color: #2ec27e; }
#badge.connecting { background-color: #f6d32d; }
#badge.failed { background-color: #e01b24; }
progressbar.transfer trough { min-height: 14px; background-color: #deddda; background-image: none; }
progressbar.transfer progress { min-height: 14px; background-color: #3584e4; background-image: none; border-color: #3584e4; }
progressbar.transfer.done progress { background-color: #2ec27e; border-color: #2ec27e; }
progressbar.transfer.cancelled progress, progressbar.transfer.failed progress { background-color: #9a9996; border-color: #9a9996; }
.transfer-name { font-weight: bold; }
#transfers row:selected { background-color: #dcdcdc; color: #000000; }
#transfers row:selected button:disabled { color: #9a9996; background-image: none; background-color: #f2f2f0; box-shadow: none; border-color: #cdc7c2; }
#transfers row:selected button:disabled label { color: #9a9996; }
`

// Columns of the exchange's ListStore.
const (
	colTime = iota
	colArrow
	colText
	colBG
	colFG
	colStyle
)

// window is the GTK view of a netclient core: it draws the core's View at
// most once a frame and hands the widgets' actions to the core's
// commands. Everything here runs on the GTK thread.
type window struct {
	s   *netclient.Session
	a   *netclient.App
	win *gtk.Window

	addr                       *gtk.Entry
	useTLS                     *gtk.CheckButton
	connect, disconnect, recon *gtk.Button
	badge, status              *gtk.Label
	exchange                   *gtk.TreeView
	exchangeScroll             *gtk.ScrolledWindow
	store                      *gtk.ListStore
	line                       *gtk.Entry
	send, clearLines           *gtk.Button
	follow                     *gtk.CheckButton
	counts                     *gtk.Label
	url                        *gtk.ComboBoxText
	save                       *gtk.CheckButton
	fetch, clearFinished       *gtk.Button
	transfers                  *gtk.ListBox
	transfersScroll            *gtk.ScrolledWindow
	details                    *gtk.TextView
	downloads                  *gtk.Label
	rows                       []*row
	shownFirst, shownNext      uint64 // the exchange shows lines [shownFirst, shownNext)
	pending                    bool   // a redraw is due at the next frame
	drawn                      uint64 // the version drawn last
	lastState                  string
	lastDetails                string
	selecting                  bool
	renders                    int
}

// row is one transfer in the list.
type row struct {
	id            int
	row           *gtk.ListBoxRow
	name, summary *gtk.Label
	bar           *gtk.ProgressBar
	cancel        *gtk.Button
	state         string
	done          int64
}

// newWindow builds the window of s's core and shows it. GTK thread.
func newWindow(s *netclient.Session) (*window, error) {
	w := &window{s: s, a: s.App}
	if err := loadCSS(); err != nil {
		return nil, err
	}
	var err error
	if w.win, err = gtk.WindowNew(gtk.WINDOW_TOPLEVEL); err != nil {
		return nil, err
	}
	w.win.SetTitle(Title)
	w.win.SetDefaultSize(980, 760)
	v := w.a.View()

	// The line console.
	w.addr, _ = gtk.EntryNew()
	w.addr.SetText(v.Console.Addr)
	w.addr.SetWidthChars(26)
	w.addr.SetPlaceholderText("host:port")
	w.useTLS, _ = gtk.CheckButtonNewWithLabel("TLS")
	w.useTLS.SetActive(v.Console.TLS)
	w.connect, _ = gtk.ButtonNewWithLabel("Connect")
	w.disconnect, _ = gtk.ButtonNewWithLabel("Disconnect")
	w.recon, _ = gtk.ButtonNewWithLabel("Reconnect")
	w.badge, _ = gtk.LabelNew("")
	w.badge.SetName("badge")
	w.badge.SetVAlign(gtk.ALIGN_CENTER)
	w.status, _ = gtk.LabelNew("")
	w.status.SetEllipsize(pango.ELLIPSIZE_END)
	w.status.SetXAlign(0)
	server, _ := gtk.LabelNew("Server")
	top := hbox(6, server, w.addr, w.useTLS, w.connect, w.disconnect, w.recon, w.badge)
	top.PackStart(w.status, true, true, 0)

	if w.store, err = gtk.ListStoreNew(glib.TYPE_STRING, glib.TYPE_STRING, glib.TYPE_STRING,
		glib.TYPE_STRING, glib.TYPE_STRING, glib.TYPE_INT); err != nil {
		return nil, err
	}
	w.exchange, _ = gtk.TreeViewNewWithModel(w.store)
	w.exchange.SetName("exchange")
	for i, c := range []struct {
		title string
		col   int
		width int
	}{{"Time", colTime, 110}, {"", colArrow, 28}, {"Line", colText, 0}} {
		cell, _ := gtk.CellRendererTextNew()
		cell.SetProperty("family", "monospace")
		column, _ := gtk.TreeViewColumnNewWithAttribute(c.title, cell, "text", c.col)
		column.AddAttribute(cell, "cell-background", colBG)
		column.AddAttribute(cell, "foreground", colFG)
		column.AddAttribute(cell, "style", colStyle)
		column.SetSizing(gtk.TREE_VIEW_COLUMN_FIXED)
		if c.width > 0 {
			column.SetFixedWidth(c.width)
		} else {
			column.SetExpand(true)
		}
		w.exchange.InsertColumn(column, i)
	}
	w.exchange.SetFixedHeightMode(true) // rows drawn as they scroll into view
	w.exchangeScroll, _ = gtk.ScrolledWindowNew(nil, nil)
	w.exchangeScroll.SetPolicy(gtk.POLICY_AUTOMATIC, gtk.POLICY_AUTOMATIC)
	w.exchangeScroll.Add(w.exchange)
	w.exchangeScroll.SetSizeRequest(-1, 160)

	w.line, _ = gtk.EntryNew()
	w.line.SetPlaceholderText("a line to send: HELP, ECHO text, UPPER text, COUNT n, QUIT, RESET")
	w.send, _ = gtk.ButtonNewWithLabel("Send")
	w.follow, _ = gtk.CheckButtonNewWithLabel("Follow")
	w.follow.SetActive(true)
	w.clearLines, _ = gtk.ButtonNewWithLabel("Clear")
	w.counts, _ = gtk.LabelNew("")
	bottom, _ := gtk.BoxNew(gtk.ORIENTATION_HORIZONTAL, 6)
	bottom.PackStart(w.line, true, true, 0)
	for _, x := range []gtk.IWidget{w.send, w.follow, w.clearLines, w.counts} {
		bottom.PackStart(x, false, false, 0)
	}
	console := vbox(6, top)
	console.PackStart(w.exchangeScroll, true, true, 0)
	console.PackStart(bottom, false, false, 0)

	// HTTP.
	w.url, _ = gtk.ComboBoxTextNewWithEntry()
	for _, u := range v.URLs {
		w.url.AppendText(u)
	}
	if e, err := w.url.GetEntry(); err == nil {
		e.SetText(v.URL)
		e.Connect("activate", w.onFetch)
	}
	w.save, _ = gtk.CheckButtonNewWithLabel("Save to file")
	w.save.SetActive(true)
	w.fetch, _ = gtk.ButtonNewWithLabel("Fetch")
	w.clearFinished, _ = gtk.ButtonNewWithLabel("Clear finished")
	urlLabel, _ := gtk.LabelNew("URL")
	fetchBar, _ := gtk.BoxNew(gtk.ORIENTATION_HORIZONTAL, 6)
	fetchBar.PackStart(urlLabel, false, false, 0)
	fetchBar.PackStart(w.url, true, true, 0)
	for _, x := range []gtk.IWidget{w.save, w.fetch, w.clearFinished} {
		fetchBar.PackStart(x, false, false, 0)
	}
	w.transfers, _ = gtk.ListBoxNew()
	w.transfers.SetSelectionMode(gtk.SELECTION_SINGLE)
	w.transfers.SetName("transfers")
	placeholder, _ := gtk.LabelNew("No transfers: type a URL and press Fetch.")
	placeholder.Show()
	w.transfers.SetPlaceholder(placeholder)
	w.transfersScroll, _ = gtk.ScrolledWindowNew(nil, nil)
	w.transfersScroll.SetPolicy(gtk.POLICY_NEVER, gtk.POLICY_AUTOMATIC)
	w.transfersScroll.Add(w.transfers)
	w.transfersScroll.SetSizeRequest(-1, 170)
	w.details, _ = gtk.TextViewNew()
	w.details.SetEditable(false)
	w.details.SetMonospace(true)
	w.details.SetWrapMode(gtk.WRAP_CHAR)
	detailsScroll, _ := gtk.ScrolledWindowNew(nil, nil)
	detailsScroll.SetPolicy(gtk.POLICY_AUTOMATIC, gtk.POLICY_AUTOMATIC)
	detailsScroll.Add(w.details)
	detailsScroll.SetSizeRequest(-1, 110)
	w.downloads, _ = gtk.LabelNew("Files are saved in " + v.Downloads)
	w.downloads.SetXAlign(0)
	w.downloads.SetEllipsize(pango.ELLIPSIZE_MIDDLE)
	fetches := vbox(6, fetchBar)
	fetches.PackStart(w.transfersScroll, true, true, 0)
	fetches.PackStart(detailsScroll, false, false, 0)
	fetches.PackStart(w.downloads, false, false, 0)

	consoleFrame, _ := gtk.FrameNew("Line console")
	consoleFrame.Add(margin(console, 8))
	httpFrame, _ := gtk.FrameNew("HTTP")
	httpFrame.Add(margin(fetches, 8))
	paned, _ := gtk.PanedNew(gtk.ORIENTATION_VERTICAL)
	paned.Pack1(consoleFrame, true, false)
	paned.Pack2(httpFrame, true, false)
	paned.SetPosition(360)
	w.win.Add(margin(paned, 8))

	// The widgets' actions are the core's commands.
	w.connect.Connect("clicked", w.onConnect)
	w.addr.Connect("activate", w.onConnect)
	w.disconnect.Connect("clicked", func() { w.a.Disconnect() })
	w.recon.Connect("clicked", func() { w.a.Reconnect() })
	w.send.Connect("clicked", w.onSend)
	w.line.Connect("activate", w.onSend)
	w.clearLines.Connect("clicked", func() { w.a.ClearExchange() })
	w.follow.Connect("toggled", func() {
		if w.follow.GetActive() {
			w.scrollToEnd()
		}
	})
	w.fetch.Connect("clicked", w.onFetch)
	w.clearFinished.Connect("clicked", func() { w.a.ClearFinished() })
	w.transfers.Connect("row-selected", func(_ *gtk.ListBox, r *gtk.ListBoxRow) {
		if r != nil && !w.selecting {
			if i := r.GetIndex(); i >= 0 && i < len(w.rows) {
				w.a.Select(w.rows[i].id)
			}
		}
	})

	// Changes are drawn once a frame: the first change after a drawing
	// asks the frame clock for one tick.
	w.a.OnChange(w.schedule)
	w.render()
	w.win.ShowAll()
	w.line.GrabFocus()
	return w, nil
}

func (w *window) onConnect() {
	addr, _ := w.addr.GetText()
	w.a.Connect(addr, w.useTLS.GetActive())
}

func (w *window) onSend() {
	text, _ := w.line.GetText()
	if w.a.Send(text) == nil {
		w.line.SetText("")
	}
}

func (w *window) onFetch() {
	if u := strings.TrimSpace(w.url.GetActiveText()); u != "" {
		w.a.Fetch(u, w.save.GetActive())
	}
}

// schedule asks for a redraw at the next frame, once however many
// changes come before it.
func (w *window) schedule() {
	if w.pending {
		return
	}
	w.pending = true
	w.win.AddTickCallback(func(*gtk.Widget, *gdk.FrameClock) bool {
		w.pending = false
		w.render()
		return false // once
	})
}

// render draws the core's View. GTK thread.
func (w *window) render() {
	v := w.a.View()
	if v.Version == w.drawn && w.renders > 0 {
		return
	}
	w.drawn = v.Version
	w.renders++

	c := v.Console
	if c.State != w.lastState {
		sc, _ := w.badge.GetStyleContext()
		if w.lastState != "" {
			sc.RemoveClass(w.lastState)
		}
		sc.AddClass(c.State)
		w.lastState = c.State
	}
	setText(w.status, c.Status)
	w.status.SetTooltipText(c.Status)
	setText(w.counts, c.Counts)
	w.disconnect.SetSensitive(c.CanDisconnect)
	w.recon.SetSensitive(c.CanReconnect)
	w.send.SetSensitive(c.CanSend)
	w.syncLines()

	w.syncTransfers(v)
	if d := strings.Join(v.Details, "\n"); d != w.lastDetails {
		buf, _ := w.details.GetBuffer()
		buf.SetText(d)
		w.lastDetails = d
	}
}

// syncLines brings the exchange's rows to the core's lines: the rows of
// lines the core no longer keeps go, new lines are added.
func (w *window) syncLines() {
	first := w.a.FirstSeq()
	n := w.a.LineCount()
	next := first + uint64(n)
	if first >= w.shownNext || next < w.shownNext {
		w.store.Clear() // cleared, or everything shown has gone
		w.shownFirst, w.shownNext = first, first
	}
	for w.shownFirst < first {
		it, ok := w.store.GetIterFirst()
		if !ok {
			break
		}
		w.store.Remove(it)
		w.shownFirst++
	}
	w.shownFirst = first
	adding := int(next - w.shownNext)
	if adding == 0 {
		return
	}
	// Many rows at once go in with the model detached, which spares the
	// tree view a layout per row.
	detach := adding > 500
	if detach {
		w.exchange.SetModel(nil)
	}
	for i := n - adding; i < n; i++ {
		l := w.a.Line(i)
		bg, fg, style := NoteBG, NoteFG, pango.STYLE_ITALIC
		switch l.Dir {
		case netclient.Sent:
			bg, fg, style = SentBG, SentFG, pango.STYLE_NORMAL
		case netclient.Received:
			bg, fg, style = ReceivedBG, ReceivedFG, pango.STYLE_NORMAL
		}
		w.store.Set(w.store.Append(), []int{colTime, colArrow, colText, colBG, colFG, colStyle},
			[]any{l.At.Format("15:04:05.000"), l.Dir.Arrow(), l.Text, bg, fg, int(style)})
	}
	w.shownNext = next
	if detach {
		w.exchange.SetModel(w.store)
	}
	if w.follow.GetActive() {
		w.scrollToEnd()
	}
}

func (w *window) scrollToEnd() {
	if n := w.a.LineCount(); n > 0 {
		if path, err := gtk.TreePathNewFromIndicesv([]int{n - 1}); err == nil {
			w.exchange.ScrollToCell(path, nil, false, 0, 0)
		}
	}
}

// syncTransfers brings the transfer rows to the View's list.
func (w *window) syncTransfers(v netclient.View) {
	keep := map[int]bool{}
	for _, t := range v.Transfers {
		keep[t.ID] = true
	}
	kept := w.rows[:0]
	for _, r := range w.rows {
		if keep[r.id] {
			kept = append(kept, r)
		} else {
			r.row.Destroy()
		}
	}
	w.rows = kept
	for i, t := range v.Transfers {
		if i >= len(w.rows) || w.rows[i].id != t.ID {
			r := w.newRow(t)
			w.rows = append(w.rows, nil)
			copy(w.rows[i+1:], w.rows[i:])
			w.rows[i] = r
			w.transfers.Insert(r.row, i)
			r.row.ShowAll()
		}
		w.rows[i].update(t)
	}
	w.selecting = true
	for _, r := range w.rows {
		if r.id == v.Selected && !r.row.IsSelected() {
			w.transfers.SelectRow(r.row)
		}
	}
	w.selecting = false
}

func (w *window) newRow(t netclient.TransferView) *row {
	r := &row{id: t.ID}
	r.row, _ = gtk.ListBoxRowNew()
	r.name, _ = gtk.LabelNew(t.Name)
	r.name.SetXAlign(0)
	r.name.SetTooltipText(t.URL)
	sc, _ := r.name.GetStyleContext()
	sc.AddClass("transfer-name")
	r.summary, _ = gtk.LabelNew("")
	r.summary.SetXAlign(0)
	r.summary.SetEllipsize(pango.ELLIPSIZE_END)
	r.bar, _ = gtk.ProgressBarNew()
	r.bar.SetPulseStep(0.08)
	r.bar.SetVAlign(gtk.ALIGN_CENTER)
	sc, _ = r.bar.GetStyleContext()
	sc.AddClass("transfer")
	r.cancel, _ = gtk.ButtonNewWithLabel("Cancel")
	id := t.ID
	r.cancel.Connect("clicked", func() { w.a.Cancel(id) })
	line := hbox(8, r.name)
	line.PackStart(r.summary, true, true, 0)
	body := vbox(4, line, r.bar)
	box, _ := gtk.BoxNew(gtk.ORIENTATION_HORIZONTAL, 8)
	box.PackStart(body, true, true, 0)
	box.PackStart(r.cancel, false, false, 0)
	r.row.Add(margin(box, 4))
	return r
}

func (r *row) update(t netclient.TransferView) {
	setText(r.summary, t.Summary)
	r.cancel.SetSensitive(t.CanCancel)
	if t.State != r.state {
		sc, _ := r.bar.GetStyleContext()
		if r.state != "" {
			sc.RemoveClass(r.state)
		}
		sc.AddClass(t.State)
		r.state = t.State
	}
	switch {
	case t.Known || !t.Active:
		r.bar.SetFraction(t.Fraction)
	case t.Done != r.done:
		r.bar.Pulse() // the size is not known: the bar moves as bytes come
	}
	r.done = t.Done
}

// layout says where the widgets are, for the state file.
func (w *window) layout() netclient.Layout {
	l := netclient.Layout{}
	put := func(name string, x gtk.IWidget) {
		wd := x.ToWidget()
		if !wd.GetMapped() {
			return
		}
		a := wd.GetAllocation()
		px, py, err := wd.TranslateCoordinates(w.win, 0, 0)
		if err != nil || a.GetWidth() <= 1 {
			return
		}
		l[name] = netclient.Rect{X: px, Y: py, W: a.GetWidth(), H: a.GetHeight()}
	}
	for name, x := range map[string]gtk.IWidget{
		"address": w.addr, "tls": w.useTLS, "connect": w.connect, "disconnect": w.disconnect,
		"reconnect": w.recon, "badge": w.badge, "status": w.status, "exchange": w.exchangeScroll,
		"line": w.line, "send": w.send, "follow": w.follow, "clear": w.clearLines, "counts": w.counts,
		"url": w.url, "save": w.save, "fetch": w.fetch, "clear-finished": w.clearFinished,
		"transfers": w.transfersScroll, "details": w.details,
	} {
		put(name, x)
	}
	for _, r := range w.rows {
		id := strconv.Itoa(r.id)
		put("transfer."+id, r.row)
		put("transfer."+id+".bar", r.bar)
		put("transfer."+id+".cancel", r.cancel)
	}
	return l
}

// Colors are the colours the window paints, for the state file.
var Colors = map[string]string{
	"bar": "#3584e4", "done": "#2ec27e", "stopped": "#9a9996",
	"sent": SentBG, "received": ReceivedBG, "sent-text": SentFG, "received-text": ReceivedFG,
	"badge.disconnected": "#9a9996", "badge.closed": "#9a9996", "badge.connecting": "#f6d32d",
	"badge.connected": "#2ec27e", "badge.failed": "#e01b24",
}

// state is what the state file holds.
func (w *window) state() netclient.State {
	return w.a.State("gtk", Title, w.layout(), Colors)
}

func setText(l *gtk.Label, s string) {
	if cur, _ := l.GetText(); cur != s {
		l.SetText(s)
	}
}

func hbox(spacing int, children ...gtk.IWidget) *gtk.Box {
	b, _ := gtk.BoxNew(gtk.ORIENTATION_HORIZONTAL, spacing)
	for _, c := range children {
		b.PackStart(c, false, false, 0)
	}
	return b
}

func vbox(spacing int, children ...gtk.IWidget) *gtk.Box {
	b, _ := gtk.BoxNew(gtk.ORIENTATION_VERTICAL, spacing)
	for _, c := range children {
		b.PackStart(c, false, false, 0)
	}
	return b
}

func margin(w gtk.IWidget, m int) gtk.IWidget {
	wd := w.ToWidget()
	wd.SetMarginTop(m)
	wd.SetMarginBottom(m)
	wd.SetMarginStart(m)
	wd.SetMarginEnd(m)
	return w
}

var cssLoaded bool

func loadCSS() error {
	if cssLoaded {
		return nil
	}
	p, err := gtk.CssProviderNew()
	if err != nil {
		return err
	}
	if err := p.LoadFromData(css); err != nil {
		return fmt.Errorf("css: %w", err)
	}
	screen, err := gdk.ScreenGetDefault()
	if err != nil {
		return err
	}
	gtk.AddProviderForScreen(screen, p, gtk.STYLE_PROVIDER_PRIORITY_APPLICATION)
	cssLoaded = true
	return nil
}
