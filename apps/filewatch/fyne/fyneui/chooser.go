package fyneui

import (
	"context"
	"os"
	"path/filepath"
	"sort"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/loomkit/loom/reactor"
)

// chooser is a small file and folder chooser in a pop-up over the window:
// the folder's entries (folders first), Up, a path box to type in, Cancel
// and Choose. A folder clicked is opened; a file clicked is chosen, in a
// file chooser. Folders are read on a goroutine (reactor.Go), so that a
// slow disk never holds the window.
type chooser struct {
	u       *UI
	folder  bool // choose a folder; else a file
	do      func(string) error
	pop     *widget.PopUp
	title   *widget.Label
	where   *widget.Label
	list    *widget.List
	entry   *widget.Entry
	choose  *widget.Button
	up      *widget.Button
	dir     string
	entries []os.DirEntry
	reading *readResult
}

type readResult struct{ dir string }

// choose opens a chooser, titled title, of a folder (or of a file) that
// gives the path chosen to do.
func (u *UI) choose(title string, folder bool, do func(string) error) {
	c := &chooser{u: u, folder: folder, do: do}
	c.title = widget.NewLabelWithStyle(title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	c.where = widget.NewLabel("")
	c.where.Truncation = fyne.TextTruncateEllipsis
	c.list = widget.NewList(
		func() int { return len(c.entries) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(id widget.ListItemID, o fyne.CanvasObject) {
			e := c.entries[id]
			name := e.Name()
			if e.IsDir() {
				name += "/"
			}
			o.(*widget.Label).SetText(name)
		})
	c.list.OnSelected = func(id widget.ListItemID) {
		c.list.Unselect(id)
		if id >= len(c.entries) {
			return
		}
		p := filepath.Join(c.dir, c.entries[id].Name())
		if c.entries[id].IsDir() {
			c.open(p)
			return
		}
		c.entry.SetText(p)
		if !c.folder {
			c.done(p)
		}
	}
	c.entry = widget.NewEntry()
	c.entry.OnSubmitted = func(p string) {
		if st, err := os.Stat(p); err == nil && st.IsDir() && !c.folder {
			c.open(p)
			return
		}
		c.done(p)
	}
	c.up = widget.NewButton("Up", func() { c.open(filepath.Dir(c.dir)) })
	cancel := widget.NewButton("Cancel", func() { c.pop.Hide() })
	c.choose = widget.NewButton("Choose", func() { c.done(c.entry.Text) })
	c.choose.Importance = widget.HighImportance
	top := container.NewBorder(nil, nil, nil, c.up, container.NewVBox(c.title, c.where))
	bottom := container.NewBorder(nil, nil, nil, container.NewHBox(cancel, c.choose), c.entry)
	body := container.NewBorder(top, bottom, nil, nil, c.list)
	c.pop = widget.NewModalPopUp(body, u.win.Canvas())
	size := u.win.Canvas().Size()
	c.pop.Resize(fyne.NewSize(min(640, size.Width-40), min(460, size.Height-40)))
	start := u.view.Path
	if !u.view.IsDir && start != "" {
		start = filepath.Dir(start)
	}
	if start == "" {
		start, _ = os.UserHomeDir()
	}
	c.open(start)
	c.pop.Show()
	u.chooser = c
	u.win.Canvas().Focus(c.entry)
}

// open shows folder dir's entries, once read.
func (c *chooser) open(dir string) {
	r := &readResult{dir: dir}
	c.reading = r
	c.where.SetText(dir + " (reading…)")
	p := reactor.Go(c.u.r, func(context.Context) ([]os.DirEntry, error) {
		entries, err := os.ReadDir(dir)
		sort.SliceStable(entries, func(i, j int) bool { return entries[i].IsDir() && !entries[j].IsDir() })
		return entries, err
	})
	p.OnValue(func(entries []os.DirEntry) {
		if c.reading != r {
			return
		}
		c.dir, c.entries = dir, entries
		c.where.SetText(dir)
		if c.folder {
			c.entry.SetText(dir)
		}
		c.list.Refresh()
		c.list.ScrollToTop()
	})
	p.OnError(func(err error) {
		if c.reading == r {
			c.where.SetText(dir + ": " + err.Error())
		}
	})
}

// done chooses p, if there is a p, and closes the chooser.
func (c *chooser) done(p string) {
	if p == "" {
		return
	}
	c.pop.Hide()
	if c.u.chooser == c {
		c.u.chooser = nil
	}
	c.do(p)
}
