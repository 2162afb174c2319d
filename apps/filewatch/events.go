package filewatch

import (
	"path/filepath"
	"strings"
	"time"

	"github.com/loomkit/loom/watch"
)

// entry is one event as the log keeps it.
type entry struct {
	at   time.Time
	ev   watch.Event
	root string // the watched path the event came under
}

// eventLog keeps the newest events (at most its capacity), the rows the
// filter lets through among them, and counts of every event seen, kept
// or not.
type eventLog struct {
	all      *ring[entry]
	shown    *seqList
	gen      uint64 // bumped by each new filter and by Clear
	filter   filter
	counts   [watch.Failed + 1]int64
	total    int64
	rescans  int64
	lastRoot string
}

func newEventLog(capacity int) *eventLog {
	return &eventLog{all: newRing[entry](capacity), shown: newSeqList(capacity), gen: 1}
}

func (l *eventLog) add(e entry) {
	if int(e.ev.Op) < len(l.counts) {
		l.counts[e.ev.Op]++
	}
	l.total++
	if e.ev.Rescan {
		l.rescans++
	}
	seq := l.all.push(e)
	l.shown.dropBelow(l.all.first)
	if l.filter.match(e) {
		l.shown.push(seq)
	}
}

func (l *eventLog) setFilter(text string) bool {
	f := parseFilter(text)
	if f.text == l.filter.text {
		return false
	}
	l.filter = f
	l.refilter()
	return true
}

func (l *eventLog) refilter() {
	l.gen++
	l.shown.reset()
	for seq := l.all.first; seq < l.all.next; seq++ {
		if e, _ := l.all.get(seq); l.filter.match(e) {
			l.shown.push(seq)
		}
	}
}

// clear forgets the events kept; the counts go on.
func (l *eventLog) clear() {
	l.all.clear()
	l.refilter()
}

func (l *eventLog) row(i int) (Row, bool) {
	if i < 0 || i >= l.shown.n {
		return Row{}, false
	}
	seq := l.shown.at(i)
	e, ok := l.all.get(seq)
	if !ok {
		return Row{}, false
	}
	return makeRow(seq, e), true
}

func (l *eventLog) changes(c *Cursor) Changes { return changes(l.shown, l.gen, l.all.next, c) }

// A filter keeps the events whose kind or path holds every one of its
// words, without regard to case: "renamed log" keeps the renames of
// files whose path holds "log".
type filter struct {
	text  string
	words []string
}

func parseFilter(text string) filter {
	text = strings.TrimSpace(text)
	return filter{text: text, words: strings.Fields(strings.ToLower(text))}
}

func (f filter) match(e entry) bool {
	if len(f.words) == 0 {
		return true
	}
	kind := KindName(e.ev.Op)
	path := strings.ToLower(e.ev.Path + "\x00" + e.ev.OldPath)
	for _, w := range f.words {
		if !strings.Contains(kind, w) && !strings.Contains(path, w) {
			return false
		}
	}
	return true
}

// Row is one line of the event list, in words.
type Row struct {
	Seq  uint64 `json:"seq"`
	Time string `json:"time"` // 15:04:05.000
	Kind string `json:"kind"` // created, written, removed, renamed, attrib, overflow, failed
	// Path is the path under the watched folder; for a rename, "old → new".
	Path string `json:"path"`
	// Note says more: "folder", "found by the rescan", an error.
	Note string `json:"note,omitempty"`
	// Color is the kind's colour, "#rrggbb", for the kind's cell.
	Color string `json:"color"`
}

func makeRow(seq uint64, e entry) Row {
	r := Row{
		Seq:   seq,
		Time:  e.at.Format("15:04:05.000"),
		Kind:  KindName(e.ev.Op),
		Color: KindColor(e.ev.Op),
	}
	rel := func(p string) string {
		if p == "" {
			return ""
		}
		if rp, err := filepath.Rel(e.root, p); err == nil && !strings.HasPrefix(rp, "..") {
			if rp == "." {
				return filepath.Base(p)
			}
			return rp
		}
		return p
	}
	switch e.ev.Op {
	case watch.Renamed:
		r.Path = rel(e.ev.OldPath) + " → " + rel(e.ev.Path)
	case watch.Overflow:
		r.Path = "(every watched folder)"
		r.Note = "events lost; a rescan follows"
	default:
		r.Path = rel(e.ev.Path)
	}
	var notes []string
	if e.ev.Dir {
		notes = append(notes, "folder")
	}
	if e.ev.Rescan {
		notes = append(notes, "found by the rescan")
	}
	if e.ev.Err != nil {
		notes = append(notes, e.ev.Err.Error())
	}
	if len(notes) > 0 {
		r.Note = strings.Join(notes, "; ")
	}
	return r
}

// Kinds are the kinds of event, in the order the counts show them.
var Kinds = []watch.Op{watch.Created, watch.Written, watch.Removed, watch.Renamed, watch.Attrib, watch.Overflow, watch.Failed}

// KindColor is the background colour of a kind's cell, "#rrggbb": light
// enough for dark text, and told apart in a screenshot.
func KindColor(op watch.Op) string {
	switch op {
	case watch.Created:
		return "#b8e6b8"
	case watch.Written:
		return "#f2e3a0"
	case watch.Removed:
		return "#f2b8b8"
	case watch.Renamed:
		return "#b8d0f2"
	case watch.Attrib:
		return "#dcc8ef"
	case watch.Overflow:
		return "#f5a35c"
	case watch.Failed:
		return "#e07070"
	}
	return "#dddddd"
}

// KindName is a kind's name as the list shows it: "created", "renamed".
func KindName(op watch.Op) string { return strings.ToLower(op.String()) }
