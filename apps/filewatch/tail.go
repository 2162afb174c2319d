package filewatch

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/loomkit/loom/watch"
)

// TailLine is one line of the tail pane: a line of the file, or a marker
// that tells what happened to it (rotated, truncated, missing...).
type TailLine struct {
	Seq  uint64 `json:"seq"`
	Text string `json:"text"`
	// Marker is the marker's kind ("rotated", "truncated", "missing",
	// "skipped", "failed", "following"); "" for a line of the file.
	Marker string `json:"marker,omitempty"`
	// Color is the marker's background, "#rrggbb"; "" for a line.
	Color string `json:"color,omitempty"`
}

// MarkerColor is the background of the tail pane's marker lines.
const MarkerColor = "#c9c3f5"

// fromStartLimit is the largest file the tail pane reads from its start;
// a larger one is followed from its end.
const fromStartLimit = 1 << 20

// tailPane follows one file with watch.Tail and keeps its newest lines.
type tailPane struct {
	path    string
	t       *watch.Tailer
	lines   *ring[TailLine]
	all     *seqList // every line kept, for changes
	gen     uint64
	read    int64 // lines read from the file
	markers map[string]int
	err     string
}

func newTailPane(capacity int) *tailPane {
	return &tailPane{lines: newRing[TailLine](capacity), all: newSeqList(capacity), gen: 1, markers: map[string]int{}}
}

func (p *tailPane) push(l TailLine) {
	seq := p.lines.push(l)
	p.all.dropBelow(p.lines.first)
	p.all.push(seq)
}

func (p *tailPane) marker(kind, text string) {
	p.markers[kind]++
	p.push(TailLine{Text: "── " + text + " ──", Marker: kind, Color: MarkerColor})
}

func (p *tailPane) line(i int) (TailLine, bool) {
	if i < 0 || i >= p.all.n {
		return TailLine{}, false
	}
	seq := p.all.at(i)
	l, ok := p.lines.get(seq)
	l.Seq = seq
	return l, ok
}

func (p *tailPane) changes(c *Cursor) Changes { return changes(p.all, p.gen, p.lines.next, c) }

func (p *tailPane) close() {
	if p.t != nil {
		p.t.Close()
		p.t = nil
	}
}

// follow starts following path (closing what was followed before), on
// the app's reactor; "" follows nothing.
func (a *App) followFile(path string) error {
	p := a.tail
	if path != "" {
		abs, err := filepath.Abs(path)
		if err != nil {
			return err
		}
		path = abs
	}
	if path == p.path && (p.t != nil || path == "") {
		return nil
	}
	fromStart := true
	if st, err := os.Stat(path); err == nil && st.Size() > fromStartLimit {
		fromStart = false
	}
	var t *watch.Tailer
	if path != "" {
		var err error
		t, err = watch.Tail(a.r, path, watch.TailOptions{
			Line:      func(b []byte) { a.tailLine(t, b) },
			Marker:    func(m watch.Marker) { a.tailMarker(t, m) },
			FromStart: fromStart,
			Poll:      a.poll,
			Interval:  a.cfg.PollInterval,
		})
		if err != nil {
			p.err = err.Error()
			a.changed()
			return err
		}
	}
	p.close()
	p.t, p.path, p.err = t, path, ""
	switch {
	case path == "":
	case fromStart:
		p.marker("following", "following "+path)
	default:
		p.marker("following", fmt.Sprintf("following %s from its end (it holds more than %d MiB)", path, fromStartLimit>>20))
	}
	a.changed()
	return nil
}

func (a *App) tailLine(t *watch.Tailer, b []byte) {
	if t != a.tail.t {
		return
	}
	a.tail.read++
	a.tail.push(TailLine{Text: string(b)})
	a.changed()
}

func (a *App) tailMarker(t *watch.Tailer, m watch.Marker) {
	if t != a.tail.t {
		return
	}
	name := filepath.Base(m.Path)
	switch m.Kind {
	case watch.Rotated:
		a.tail.marker("rotated", name+" rotated: the old file was read to its end; the new one is followed from its start")
	case watch.Truncated:
		a.tail.marker("truncated", name+" truncated: reading again from its start")
	case watch.Missing:
		a.tail.marker("missing", name+" is missing: waiting for it")
	case watch.LineSkipped:
		a.tail.marker("skipped", fmt.Sprintf("a line of %d bytes was too long and skipped", m.N))
	case watch.ReadFailed:
		a.tail.marker("failed", fmt.Sprintf("reading %s failed: %v", name, m.Err))
	}
	a.changed()
}
