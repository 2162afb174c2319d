package filewatch

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/task"
)

// State is what a front end's window shows, read back from its widgets,
// with the core's View beside it: what a script checks a screenshot
// against. A front end fills it for -state-file.
type State struct {
	Toolkit string `json:"toolkit"` // "gtk", "fyne"
	View    View   `json:"view"`
	// Newest is the core's newest row of the list as filtered, which
	// Follow keeps on screen.
	Newest Row `json:"newest"`
	// Rows is how many rows the event list widget holds; Visible those
	// on screen, top to bottom, as the widget shows them.
	Rows    int   `json:"rows"`
	Visible []Row `json:"visible"`
	// AtBottom: the list is scrolled to its end.
	AtBottom bool `json:"at_bottom"`
	// FollowButton is the Follow toggle's state; FilterText the filter
	// box's text.
	FollowButton bool   `json:"follow_button"`
	FilterText   string `json:"filter_text"`
	// BannerShown and BannerText are the overflow banner's.
	BannerShown bool   `json:"banner_shown"`
	BannerText  string `json:"banner_text"`
	// TailRows is how many lines the tail pane holds, TailVisible those
	// on screen.
	TailRows    int        `json:"tail_rows"`
	TailVisible []TailLine `json:"tail_visible"`
	// Widgets are where the main widgets on screen are, in the window's
	// coordinates in pixels (a screenshot's): "path", "filter",
	// "follow", "clear", "list", "tail", "banner", "dismiss", "flood",
	// "generate", "poll", "recursive", "backend", "choose-folder",
	// "choose-file", "choose-tail" (and "scrollbar" in GTK).
	Widgets map[string]Rect `json:"widgets"`
	// Window is the window's size.
	Window Rect `json:"window"`
}

// NewState is the State of a's window with the core's part filled in:
// View and Newest. The front end adds what its widgets show.
func NewState(a *App, toolkit string) State {
	s := State{Toolkit: toolkit, View: a.View(), Widgets: map[string]Rect{}}
	s.Newest, _ = a.Row(a.RowCount() - 1)
	return s
}

// Rect is a rectangle in pixels.
type Rect struct {
	X int `json:"x"`
	Y int `json:"y"`
	W int `json:"w"`
	H int `json:"h"`
}

// WriteState writes s to path as JSON, atomically (a temporary file
// renamed over it), so that a reader never sees half of it.
func WriteState(path string, s State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".state-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(append(b, '\n'))
	if e := tmp.Close(); err == nil {
		err = e
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// ReadState reads a state file.
func ReadState(path string) (State, error) {
	var s State
	b, err := os.ReadFile(path)
	if err != nil {
		return s, err
	}
	err = json.Unmarshal(b, &s)
	return s, err
}

// StateInterval is how often a front end writes its state file.
const StateInterval = 200 * time.Millisecond

// WriteStateEvery writes collect's State to path every StateInterval on
// r, until the returned stop is called (which writes it a last time).
// Reactor goroutine.
func WriteStateEvery(r *reactor.Reactor, path string, collect func() State) (stop func()) {
	write := func() {
		if err := WriteState(path, collect()); err != nil {
			slog.Warn("filewatch: writing the state file", "path", path, "err", err)
		}
	}
	lc := task.NewLoopingCall(r, func() any { write(); return nil })
	lc.Start(StateInterval, true)
	return func() {
		if lc.Running() {
			lc.Stop()
			write()
		}
	}
}
