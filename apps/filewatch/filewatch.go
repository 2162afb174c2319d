// Package filewatch is the toolkit-free core of loom's file watcher: it
// watches a file or a folder (recursively or not, natively or by
// polling) and keeps a live list of its events with a filter, counts per
// kind and a Follow mode that sticks to the newest row until the user
// scrolls up; it follows a growing log file as tail -F does, with its
// rotations and truncations as markers; and it puts up a banner when the
// system's event queue overflowed, saying that events may have been
// missed and that a rescan was done. With no path to watch, it watches a
// temporary folder where a Generator makes files, writes, renames and
// removes them, and appends to a log it rotates, so that there is
// something to see.
//
// The core holds the state and the commands; a front end (filewatch/gtk,
// filewatch/fyne) draws what Frame, Row and TailLine return and calls the
// commands from its widgets. Every method is for the reactor goroutine,
// which is the GUI thread under gtkloop and fyneloop: the watcher's
// events change the state directly, with no lock.
//
// A front end draws at most once per frame. Every change bumps the
// version; the first change after a Frame calls the function given to
// OnChange, which asks the toolkit for a frame, and the frame calls
// Frame once, however many events came in between. The event list and
// the tail pane keep their newest rows only (Config.MaxEvents,
// Config.MaxTailLines), and Frame says what changed since the frame
// before as a Changes (rows to drop, rows to add) bounded by those
// capacities: a burst of 100,000 events costs a frame no more than
// MaxEvents rows.
package filewatch

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/watch"
)

// Config is what the core starts with.
type Config struct {
	// Path is the file or folder watched; "" makes a temporary folder,
	// watched with a Generator running in it.
	Path string
	// Tail is the file the tail pane follows; "" is Path when it is a
	// file, the generator's log when there is a generator.
	Tail string
	// Recursive watches a folder's whole tree.
	Recursive bool
	// Poll watches by polling rather than natively; PollInterval is how
	// often (0: watch.DefaultInterval).
	Poll         bool
	PollInterval time.Duration
	// Filter is the event list's filter to start with.
	Filter string
	// MaxEvents and MaxTailLines are the most rows the event list and
	// the tail pane keep (0: DefaultMaxEvents, DefaultMaxTailLines).
	MaxEvents    int
	MaxTailLines int
	// GenInterval is the time between the generator's steps (0:
	// DefaultGenInterval), RotateEvery the lines between its log's
	// rotations (0: DefaultRotateEvery). NoGenerate leaves it paused.
	GenInterval time.Duration
	RotateEvery int
	NoGenerate  bool
	// GeneratorDir is the folder the generator works in when there is no
	// Path (it is made if missing, and left in place); "" makes a
	// temporary one, which Close removes.
	GeneratorDir string
}

// Defaults of Config.
const (
	DefaultMaxEvents    = 10000
	DefaultMaxTailLines = 2000
	DefaultGenInterval  = 300 * time.Millisecond
	DefaultRotateEvery  = 15
)

// Flags are the command line of both front ends.
type Flags struct {
	Config
	// StateFile, if set, is where the front end writes what it shows
	// (State, as JSON) a few times a second, for scripts to check.
	StateFile string
	// QuitAfter, if set, quits after that long.
	QuitAfter time.Duration
}

// ParseFlags reads the command line of a front end; errors and usage go
// to out.
func ParseFlags(name string, args []string, out io.Writer) (Flags, error) {
	var f Flags
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&f.Path, "path", "", "file or folder to watch (default: a temporary folder with a generator running in it)")
	fs.StringVar(&f.Tail, "tail", "", "file to follow in the tail pane (default: -path if it is a file, else the generator's log)")
	fs.BoolVar(&f.Recursive, "recursive", true, "watch a folder's whole tree")
	fs.BoolVar(&f.Poll, "poll", false, "watch by polling rather than natively (inotify, kqueue)")
	fs.DurationVar(&f.PollInterval, "interval", 0, "polling interval (default 1s)")
	fs.StringVar(&f.Filter, "filter", "", "filter of the event list")
	fs.IntVar(&f.MaxEvents, "max-events", DefaultMaxEvents, "most events kept in the list")
	fs.DurationVar(&f.GenInterval, "gen-interval", DefaultGenInterval, "time between the generator's steps")
	fs.IntVar(&f.RotateEvery, "rotate-every", DefaultRotateEvery, "lines between the rotations of the generator's log")
	fs.BoolVar(&f.NoGenerate, "no-generate", false, "start with the generator paused")
	fs.StringVar(&f.StateFile, "state-file", "", "write what the window shows to this file (JSON), a few times a second")
	fs.DurationVar(&f.QuitAfter, "quit-after", 0, "quit after this long")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 && f.Path == "" {
		f.Path = fs.Arg(0)
	}
	return f, nil
}

// App is the core's state.
type App struct {
	r   *reactor.Reactor
	cfg Config

	w         *watch.Watcher
	root      string // the path watched ("" for none)
	isDir     bool
	recursive bool
	poll      bool
	err       string // the last command's failure, in words
	gone      bool   // the watched path was removed

	log    *eventLog
	tail   *tailPane
	follow bool
	banner banner

	gen *Generator
	tmp string // the temporary folder made for the generator

	version  uint64
	dirty    bool
	onChange func()
	closed   bool
}

// banner is what the overflow banner says.
type banner struct {
	shown     bool
	overflows int
	at        time.Time
	rescanned int64 // events found by the rescans since the first overflow shown
}

// New makes a core on r and starts watching. With no cfg.Path, it makes
// a temporary folder (removed by Close) and starts a generator in it.
// Reactor goroutine.
func New(r *reactor.Reactor, cfg Config) (*App, error) {
	if cfg.MaxEvents <= 0 {
		cfg.MaxEvents = DefaultMaxEvents
	}
	if cfg.MaxTailLines <= 0 {
		cfg.MaxTailLines = DefaultMaxTailLines
	}
	if cfg.GenInterval <= 0 {
		cfg.GenInterval = DefaultGenInterval
	}
	a := &App{
		r: r, cfg: cfg, recursive: cfg.Recursive, poll: cfg.Poll, follow: true,
		log: newEventLog(cfg.MaxEvents), tail: newTailPane(cfg.MaxTailLines),
	}
	a.log.setFilter(cfg.Filter)
	w, err := watch.New(r, a.event)
	if err != nil {
		return nil, err
	}
	a.w = w
	path, tail := cfg.Path, cfg.Tail
	if path == "" {
		dir := cfg.GeneratorDir
		if dir == "" {
			dir, err = os.MkdirTemp("", "filewatch-")
			a.tmp = dir
		} else {
			err = os.MkdirAll(dir, 0o755)
		}
		if err != nil {
			w.Close()
			return nil, err
		}
		g, err := NewGenerator(r, dir, cfg.RotateEvery)
		if err != nil {
			a.Close()
			return nil, err
		}
		g.onChange = a.changed
		a.gen = g
		path = dir
		if tail == "" {
			tail = g.LogPath()
		}
	}
	if err := a.Watch(path); err != nil {
		a.Close()
		return nil, err
	}
	if tail != "" {
		if err := a.followFile(tail); err != nil {
			a.Close()
			return nil, err
		}
	}
	if a.gen != nil && !cfg.NoGenerate {
		a.gen.Start(cfg.GenInterval)
	}
	return a, nil
}

// OnChange sets the function called at the first change after a Frame:
// the front end asks its toolkit for a frame there. Reactor goroutine.
func (a *App) OnChange(f func()) { a.onChange = f }

func (a *App) changed() {
	a.version++
	if !a.dirty {
		a.dirty = true
		if a.onChange != nil && !a.closed {
			a.onChange()
		}
	}
}

// Version counts the changes so far.
func (a *App) Version() uint64 { return a.version }

// HandleEvent takes one event as if the watcher had told it: the
// watcher's function. Events from elsewhere (another source of changes,
// a test) may be fed in through it. Reactor goroutine.
func (a *App) HandleEvent(ev watch.Event) { a.event(ev) }

func (a *App) event(ev watch.Event) {
	root := a.root
	a.log.add(entry{at: a.r.Now(), ev: ev, root: root})
	switch {
	case ev.Op == watch.Overflow:
		if !a.banner.shown {
			a.banner = banner{shown: true}
		}
		a.banner.overflows++
		a.banner.at = a.r.Now()
	case ev.Rescan && a.banner.shown:
		a.banner.rescanned++
	case ev.Op == watch.Removed && ev.Path == root:
		a.gone = true
	case ev.Op == watch.Created && ev.Path == root:
		a.gone = false
	}
	a.changed()
}

// Watch watches path, a file or a folder, in place of what was watched:
// a folder's tree if Recursive is set, natively unless Poll is. A file
// watched is also followed in the tail pane. On failure, what was watched
// stays watched and the view tells why.
func (a *App) Watch(path string) error {
	err := a.watch(path)
	if err != nil {
		a.err = err.Error()
	} else {
		a.err = ""
	}
	a.changed()
	return err
}

func (a *App) watch(path string) error {
	if strings.TrimSpace(path) == "" {
		return errors.New("no path given")
	}
	if strings.HasPrefix(path, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			path = filepath.Join(home, path[2:])
		}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return fmt.Errorf("cannot watch %s: %w", abs, errors.Unwrap(err))
	}
	if a.root != "" && a.root != abs {
		a.w.Remove(a.root)
	}
	if err := a.w.Add(abs, a.options()); err != nil {
		if a.root != "" && a.root != abs {
			a.w.Add(a.root, a.options())
		}
		return fmt.Errorf("cannot watch %s: %w", abs, err)
	}
	a.root, a.isDir, a.gone = abs, st.IsDir(), false
	if !a.isDir {
		if err := a.followFile(abs); err != nil {
			return err
		}
	}
	return nil
}

func (a *App) options() watch.Options {
	return watch.Options{Recursive: a.recursive, Poll: a.poll, Interval: a.cfg.PollInterval}
}

// rewatch watches the same path with the options as they are now.
func (a *App) rewatch() {
	if a.root == "" {
		return
	}
	if err := a.w.Add(a.root, a.options()); err != nil {
		a.err = fmt.Sprintf("cannot watch %s: %v", a.root, err)
	} else {
		a.err = ""
	}
}

// SetRecursive watches folders' whole trees, or their own entries only.
func (a *App) SetRecursive(on bool) {
	if a.recursive == on {
		return
	}
	a.recursive = on
	a.rewatch()
	a.changed()
}

// SetPoll watches by polling, or natively; the tail pane's file too.
func (a *App) SetPoll(on bool) {
	if a.poll == on {
		return
	}
	a.poll = on
	a.rewatch()
	if p := a.tail.path; p != "" {
		a.tail.close()
		a.tail.path = ""
		if err := a.followFile(p); err != nil {
			a.err = err.Error()
		}
	}
	a.changed()
}

// SetFilter filters the event list: the events whose kind or path holds
// every word of text, without regard to case.
func (a *App) SetFilter(text string) {
	if a.log.setFilter(text) {
		a.changed()
	}
}

// SetFollow turns Follow on (the list shows its newest row, and goes on
// showing the newest as rows come) or off.
func (a *App) SetFollow(on bool) {
	if a.follow != on {
		a.follow = on
		a.changed()
	}
}

// UserScrolled tells the core that the user moved the event list: up,
// away from its newest row, turns Follow off; back down to it turns
// Follow on.
func (a *App) UserScrolled(atBottom bool) { a.SetFollow(atBottom) }

// DismissBanner hides the overflow banner until the next overflow.
func (a *App) DismissBanner() {
	if a.banner.shown {
		a.banner = banner{}
		a.changed()
	}
}

// Clear empties the event list (the counts go on).
func (a *App) Clear() {
	a.log.clear()
	a.changed()
}

// TailFile follows path in the tail pane, in place of the file followed.
func (a *App) TailFile(path string) error {
	err := a.followFile(path)
	if err != nil {
		a.err = err.Error()
	} else {
		a.err = ""
	}
	a.changed()
	return err
}

// SetGenerating runs or pauses the generator, if there is one.
func (a *App) SetGenerating(on bool) {
	if a.gen == nil {
		return
	}
	if on {
		a.gen.Start(a.cfg.GenInterval)
	} else {
		a.gen.Stop()
	}
}

// Flood has the generator make many files at once, so that the
// system's event queue overflows (see Generator.Flood).
func (a *App) Flood() error {
	if a.gen == nil {
		return errors.New("no generator")
	}
	return a.gen.Flood()
}

// Generator returns the generator, or nil when a path was given.
func (a *App) Generator() *Generator { return a.gen }

// Watcher returns the watcher.
func (a *App) Watcher() *watch.Watcher { return a.w }

// Row returns row i of the event list as filtered (0 is the oldest
// kept), for a front end to draw.
func (a *App) Row(i int) (Row, bool) { return a.log.row(i) }

// RowCount is how many rows the filtered event list has.
func (a *App) RowCount() int { return a.log.shown.n }

// TailLine returns line i of the tail pane (0 is the oldest kept).
func (a *App) TailLine(i int) (TailLine, bool) { return a.tail.line(i) }

// TailCount is how many lines the tail pane has.
func (a *App) TailCount() int { return a.tail.all.n }

// Frame is what a front end draws at a frame: the view, and what changed
// in the event list and the tail pane since the cursors' frame.
type Frame struct {
	View   View
	Events Changes
	Tail   Changes
}

// Frame returns the view, moves the cursors to the lists as they are and
// says what changed in them; the next change calls OnChange's function
// again. Either cursor may be nil (a front end that draws the list
// through a virtual widget needs no changes).
func (a *App) Frame(events, tail *Cursor) Frame {
	a.dirty = false
	f := Frame{View: a.View()}
	if events != nil {
		f.Events = a.log.changes(events)
	}
	if tail != nil {
		f.Tail = a.tail.changes(tail)
	}
	return f
}

// Close stops watching, following and generating, and removes the
// temporary folder if it made one.
func (a *App) Close() error {
	if a.closed {
		return nil
	}
	a.closed = true
	if a.gen != nil {
		a.gen.Stop()
	}
	a.tail.close()
	var err error
	if a.w != nil {
		err = a.w.Close()
	}
	if a.tmp != "" {
		if e := os.RemoveAll(a.tmp); err == nil {
			err = e
		}
	}
	return err
}
