package filewatch

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/loomkit/loom/watch"
)

// View is what a front end shows, as of one Version, in words ready for
// labels. It is a copy. The rows of the event list and the tail pane are
// not in it (there may be thousands): a front end reads them with Row and
// TailLine.
type View struct {
	Version uint64 `json:"version"`
	// Path is the file or folder watched; IsDir says which.
	Path  string `json:"path"`
	IsDir bool   `json:"is_dir"`
	// Backend serves the path: "inotify", "kqueue" or "poll" (see
	// watch.Watcher.Backend); BackendText says it in words.
	Backend     string `json:"backend"`
	BackendText string `json:"backend_text"`
	Recursive   bool   `json:"recursive"`
	// CanRecursive: the path is a folder, so Recursive means something.
	CanRecursive bool `json:"can_recursive"`
	Poll         bool `json:"poll"`
	// Status says what is watched, how, and with what; Error what the
	// last command could not do.
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`

	Filter string `json:"filter"`
	Follow bool   `json:"follow"`
	// Counts are the events seen of each kind (kept in the list or not),
	// CountsText the same in words.
	Counts     []Count `json:"counts"`
	CountsText string  `json:"counts_text"`
	// Total is every event seen; Kept those the list keeps; Shown those
	// the filter lets through; Summary says it in words.
	Total   int64  `json:"total"`
	Kept    int    `json:"kept"`
	Shown   int    `json:"shown"`
	Summary string `json:"summary"`

	Banner    Banner         `json:"banner"`
	Tail      TailView       `json:"tail"`
	Generator *GeneratorView `json:"generator,omitempty"`
}

// Count is the number of events of one kind.
type Count struct {
	Kind  string `json:"kind"`
	N     int64  `json:"n"`
	Text  string `json:"text"` // N in words: "1,234"
	Color string `json:"color"`
}

// Banner is the overflow banner: Shown after an overflow until dismissed.
type Banner struct {
	Shown     bool   `json:"shown"`
	Text      string `json:"text"`
	Overflows int    `json:"overflows"`
	Rescanned int64  `json:"rescanned"`
}

// BannerColor is the overflow banner's background.
const BannerColor = "#f7c948"

// TailView is the tail pane's header.
type TailView struct {
	Path    string         `json:"path"`
	Backend string         `json:"backend"`
	Lines   int            `json:"lines"`   // lines kept, markers included
	Read    int64          `json:"read"`    // lines read from the file
	Markers map[string]int `json:"markers"` // markers told, by kind
	Status  string         `json:"status"`
	Error   string         `json:"error,omitempty"`
}

// GeneratorView tells what the generator has done.
type GeneratorView struct {
	Dir         string `json:"dir"`
	Running     bool   `json:"running"`
	Steps       int    `json:"steps"`
	Rotations   int    `json:"rotations"`
	Truncations int    `json:"truncations"`
	Floods      int    `json:"floods"`
	FloodFiles  int    `json:"flood_files"`
	FloodSize   int    `json:"flood_size"`
	Error       string `json:"error,omitempty"`
	// Text says it in words.
	Text string `json:"text"`
}

// View returns what the view shows now. Reactor goroutine.
func (a *App) View() View {
	v := View{
		Version:      a.version,
		Path:         a.root,
		IsDir:        a.isDir,
		Recursive:    a.recursive,
		CanRecursive: a.isDir,
		Poll:         a.poll,
		Error:        a.err,
		Filter:       a.log.filter.text,
		Follow:       a.follow,
		Total:        a.log.total,
		Kept:         a.log.all.len(),
		Shown:        a.log.shown.n,
	}
	if a.root != "" {
		v.Backend = a.w.Backend(a.root)
	}
	v.BackendText = backendText(v.Backend)
	switch {
	case a.root == "":
		v.Status = "Nothing watched"
	case a.gone:
		v.Status = a.root + " was removed: waiting for nothing more from it"
	default:
		what := "file"
		if a.isDir {
			what = "folder"
			if a.recursive {
				what = "folder and its subfolders"
			}
		}
		v.Status = fmt.Sprintf("Watching %s (%s) %s", a.root, what, v.BackendText)
	}
	var words []string
	for _, op := range Kinds {
		n := a.log.counts[op]
		if n == 0 && (op == watch.Overflow || op == watch.Failed) {
			continue
		}
		v.Counts = append(v.Counts, Count{Kind: KindName(op), N: n, Text: thousands(n), Color: KindColor(op)})
		words = append(words, KindName(op)+" "+thousands(n))
	}
	v.CountsText = strings.Join(words, " · ")
	v.Summary = fmt.Sprintf("%s events", thousands(v.Total))
	if v.Total > int64(v.Kept) {
		v.Summary += fmt.Sprintf(", the newest %s kept", thousands(int64(v.Kept)))
	}
	if v.Filter != "" {
		v.Summary += fmt.Sprintf(", %s shown by the filter", thousands(int64(v.Shown)))
	}
	if b := a.banner; b.shown {
		v.Banner = Banner{Shown: true, Overflows: b.overflows, Rescanned: b.rescanned}
		times := ""
		if b.overflows > 1 {
			times = fmt.Sprintf(" (%d times)", b.overflows)
		}
		changes := "no change"
		if b.rescanned == 1 {
			changes = "1 change"
		} else if b.rescanned > 1 {
			changes = thousands(b.rescanned) + " changes"
		}
		v.Banner.Text = fmt.Sprintf("Events may have been missed: the system's event queue overflowed at %s%s. "+
			"A rescan compared the folder with what was known and found %s (marked \"found by the rescan\").",
			b.at.Format("15:04:05"), times, changes)
	}
	t := a.tail
	v.Tail = TailView{Path: t.path, Lines: t.all.n, Read: t.read, Markers: map[string]int{}, Error: t.err}
	for k, n := range t.markers {
		v.Tail.Markers[k] = n
	}
	if t.t != nil {
		v.Tail.Backend = t.t.Backend()
	}
	switch {
	case t.path == "":
		v.Tail.Status = "No file followed: choose one"
	case v.Tail.Backend == "":
		v.Tail.Status = fmt.Sprintf("Following %s (waiting for its folder)", t.path)
	default:
		v.Tail.Status = fmt.Sprintf("Following %s %s, %s lines read", t.path, backendText(v.Tail.Backend), thousands(t.read))
	}
	if a.gen != nil {
		g := a.gen.Stats()
		state := "paused"
		if g.Running {
			state = "running"
		}
		g.Text = fmt.Sprintf("Generator %s: %s, the log rotated %s and truncated %s",
			state, plural(g.Steps, "step"), plural(g.Rotations, "time"), plural(g.Truncations, "time"))
		if g.Floods > 0 {
			g.Text += ", " + plural(g.Floods, "flood")
		}
		if g.Error != "" {
			g.Text += "; " + g.Error
		}
		v.Generator = &g
	}
	return v
}

func backendText(b string) string {
	switch b {
	case watch.Inotify:
		return "with inotify"
	case watch.Kqueue:
		return "with kqueue"
	case watch.Polling:
		return "by polling"
	}
	return "(no backend)"
}

// thousands writes n with commas between groups of three digits.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// plural says n things: "1 step", "3 steps".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return thousands(int64(n)) + " " + thing + "s"
}
