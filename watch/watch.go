package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/task"
)

// DefaultInterval is how often the polling backend compares a watched
// tree with the disk unless Options.Interval says otherwise.
const DefaultInterval = time.Second

// The backends, as Watcher.Backend names them.
const (
	Inotify = "inotify" // Linux
	Kqueue  = "kqueue"  // macOS and the BSDs
	Polling = "poll"    // everywhere: snapshots compared on a timer
)

// Op is what an Event reports.
type Op uint8

const (
	// Created: a file or folder now exists at Path. It may replace one
	// that was there: a file renamed over Path from outside the watch
	// (an editor's atomic save of a watched file) is Created.
	Created Op = iota + 1
	// Written: the file at Path was written to or truncated.
	Written
	// Removed: nothing exists at Path any more. A file renamed to a name
	// outside the watch is Removed. A folder that goes, with what it
	// holds, gives a Removed for each entry in it, deepest first, and
	// then its own.
	Removed
	// Renamed: what was at OldPath is now at Path, both inside the
	// watch. A folder's rename is one event; the entries in it are not
	// reported again.
	Renamed
	// Attrib: the attributes of Path (mode, owner, link count, and
	// natively also times and extended attributes) changed.
	Attrib
	// Overflow: the native backend's queue overflowed and events were
	// lost. A rescan of every natively watched tree follows at once: the
	// differences it finds are delivered next, with Rescan set, and
	// bring the Watcher's view back in line with the disk.
	Overflow
	// Failed: something went wrong that no call could return: a folder
	// could not be read, the native backend failed. Err says what; Path
	// names the folder, when there is one. Watching goes on.
	Failed
)

var opNames = [...]string{"Op(0)", "Created", "Written", "Removed", "Renamed", "Attrib", "Overflow", "Failed"}

func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// An Event is one change under a watched path, delivered on the reactor
// goroutine.
type Event struct {
	Op      Op
	Path    string // the path, joined to the watched path as it was given to Add (cleaned)
	OldPath string // for Renamed: the path it had before
	Dir     bool   // Path is (or, for Removed, was) a folder
	// Rescan is set on the events of the rescan that follows an
	// Overflow: differences found by comparing the disk with the
	// Watcher's view rather than reported by the system.
	Rescan bool
	Err    error // for Failed
}

func (e Event) String() string {
	var b strings.Builder
	b.WriteString(e.Op.String())
	if e.OldPath != "" {
		b.WriteString(" " + e.OldPath + " ->")
	}
	if e.Path != "" {
		b.WriteString(" " + e.Path)
	}
	if e.Dir {
		b.WriteString("/")
	}
	if e.Rescan {
		b.WriteString(" (rescan)")
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Options say how Add watches a path.
type Options struct {
	// Recursive watches a folder's whole tree, folders created in it
	// later included; without it, a folder's own entries only. It means
	// nothing for a file.
	Recursive bool
	// Poll asks for the polling backend even where a native one could
	// serve.
	Poll bool
	// Interval is how often the polling backend compares the tree with
	// the disk (0 is DefaultInterval). On kqueue it is also how often
	// the files in a watched folder are checked for writes (see the
	// package doc).
	Interval time.Duration
}

var (
	// ErrClosed is returned by the methods of a Watcher that was closed,
	// or whose reactor was.
	ErrClosed = errors.New("watch: watcher closed")
	// ErrNotWatched is returned by Remove for a path that Add was not
	// given.
	ErrNotWatched = errors.New("watch: path not watched")
)

// A Watcher watches files and folders and reports their changes as
// Events, to one function, on the reactor goroutine. Its methods must be
// called on the reactor goroutine too.
type Watcher struct {
	r      *reactor.Reactor
	fn     func(Event)
	unhook func()
	closed bool

	roots                 map[string]*root    // by cleaned path
	fileRoots             map[string][]*root  // the file roots in each folder
	view                  map[string]*entry   // every path the roots cover, as last seen
	dirs                  map[string]*dirNode // the folders read or watched
	nat                   native              // nil until needed, or when the OS has none
	natErr                error               // why there is no native backend
	adding                *root               // the root setUp is reading
	syncs                 int                 // comparisons of trees with the disk made
	queue                 []queued            // events not yet delivered
	epoch                 uint64              // counts the Removes and replacing Adds
	delivering, scheduled bool
}

// A queued event remembers the epoch it was queued in: if the roots were
// changed since, whether it is still covered is asked again.
type queued struct {
	ev    Event
	epoch uint64
}

// A root is one path given to Add.
type root struct {
	path      string
	dir       bool // a folder (its entries are watched) or a file (its name is)
	recursive bool
	backend   string
	interval  time.Duration
	lc        *task.LoopingCall
	h         int  // kqueue: the descriptor of a watched file, -1 otherwise
	short     bool // the native backend ran out of room while setting it up
}

// A dirNode is a folder the Watcher reads: a watched folder, a folder in
// a recursive watch, or the folder of a watched file.
type dirNode struct {
	path  string
	id    fileID
	names map[string]struct{} // its entries in the view
	h     int                 // the native backend's handle (inotify wd, kqueue fd), -1 if none
}

// New returns a Watcher on r that calls fn with every Event, on the
// reactor goroutine. It opens nothing until Add needs it. The reactor's
// Close closes the Watcher too. New must be called on the reactor
// goroutine.
func New(r *reactor.Reactor, fn func(Event)) (*Watcher, error) {
	switch {
	case r == nil:
		return nil, errors.New("watch: New given a nil reactor")
	case fn == nil:
		return nil, errors.New("watch: New given a nil function")
	case r.Closed():
		return nil, ErrClosed
	}
	w := &Watcher{
		r:         r,
		fn:        fn,
		roots:     make(map[string]*root),
		fileRoots: make(map[string][]*root),
		view:      make(map[string]*entry),
		dirs:      make(map[string]*dirNode),
	}
	w.unhook = r.OnClose(func() { w.Close() })
	return w, nil
}

// Add starts watching path: a folder's entries (its whole tree with
// opts.Recursive), or a file. A file is watched by its name: replaced by
// a rename (an editor's atomic save), removed and created again, it is
// still watched. A folder's watch ends when the folder is removed or
// moved away, after its Removed event.
//
// The backend is the native one (inotify, kqueue) unless opts.Poll asks
// for polling or the native one cannot serve: the path is on a network
// or FUSE file system, whose changes made elsewhere the kernel never
// hears of, or the native backend has run out of room (inotify's watch
// limit, the limit on open descriptors); Backend tells which serves it.
//
// Add on a path already watched replaces its options. Add reports no
// events for what the path holds already. It fails for a path that does
// not exist or a folder that cannot be read, and on a closed Watcher with
// ErrClosed.
func (w *Watcher) Add(path string, opts Options) error {
	return w.add(path, opts, false)
}

func (w *Watcher) add(path string, opts Options, missingOK bool) error {
	switch {
	case w == nil || w.roots == nil:
		return errors.New("watch: Add on a Watcher not made by New")
	case w.closed || w.r.Closed():
		return ErrClosed
	case path == "":
		return errors.New("watch: Add given an empty path")
	case strings.IndexByte(path, 0) >= 0:
		return &fs.PathError{Op: "watch", Path: path, Err: fs.ErrInvalid}
	case opts.Interval < 0:
		return fmt.Errorf("watch: Add %q: negative interval %v", path, opts.Interval)
	}
	p := filepath.Clean(path)
	dir := false
	fi, err := os.Stat(p)
	switch {
	case err == nil:
		dir = fi.IsDir()
		if dir {
			// A folder that cannot be read cannot be watched.
			f, err := os.Open(p)
			if err != nil {
				return &fs.PathError{Op: "watch", Path: p, Err: err}
			}
			f.Close()
		}
	case missingOK && errors.Is(err, fs.ErrNotExist):
		// A file that may appear: its folder must be there to watch it.
		if pfi, perr := os.Stat(filepath.Dir(p)); perr != nil || !pfi.IsDir() {
			return &fs.PathError{Op: "watch", Path: p, Err: err}
		}
	default:
		return &fs.PathError{Op: "watch", Path: p, Err: err}
	}
	if old := w.roots[p]; old != nil {
		w.epoch++
		w.removeRoot(old)
	}
	rt := &root{path: p, dir: dir, recursive: opts.Recursive && dir, interval: opts.Interval, h: -1}
	if rt.interval == 0 {
		rt.interval = DefaultInterval
	}
	rt.backend = w.choose(p, opts)
	w.roots[p] = rt
	if !dir {
		d := filepath.Dir(p)
		w.fileRoots[d] = append(w.fileRoots[d], rt)
	}
	var e *entry
	if fi != nil {
		e = entryOf(fi)
	}
	w.setUp(rt, e)
	if rt.short {
		w.demote(rt)
	}
	if rt.backend != Inotify {
		w.startPolling(rt)
	}
	if len(w.queue) > 0 && !w.scheduled {
		// Failures met while reading the tree: told on the next pass,
		// not from inside Add.
		w.scheduled = true
		w.r.CallSoon(w.deliver)
	}
	return nil
}

// choose picks the backend for a new root at p.
func (w *Watcher) choose(p string, opts Options) string {
	if opts.Poll || remote(p) {
		return Polling
	}
	if w.nat == nil && w.natErr == nil {
		w.nat, w.natErr = openNative(w)
	}
	if w.nat == nil {
		return Polling
	}
	return w.nat.name()
}

// setUp reads rt's tree into the view, silently, watching its folders
// natively if its backend is native. What other roots cover and the view
// does not hold yet is left for them to find and tell.
func (w *Watcher) setUp(rt *root, e *entry) {
	w.adding = rt
	defer func() { w.adding = nil }()
	if rt.dir {
		if w.view[rt.path] == nil && !w.coveredOther(rt.path, rt) {
			w.view[rt.path] = e
		}
		w.walkNew(rt.path, e, false)
		return
	}
	n := w.ensureNode(filepath.Dir(rt.path), fileID{})
	if e, err := lstat(rt.path); err == nil && !w.coveredOther(rt.path, rt) {
		w.view[rt.path] = e
		if n != nil {
			n.names[filepath.Base(rt.path)] = struct{}{}
		}
	}
	w.fileAppeared(rt)
}

// startPolling starts the timer that compares rt's tree with the disk.
func (w *Watcher) startPolling(rt *root) {
	if rt.lc != nil && rt.lc.Running() {
		return
	}
	rt.lc = task.NewLoopingCall(w.r, func() any {
		if w.closed || w.roots[rt.path] != rt {
			return nil
		}
		w.fullSync([]*root{rt}, false)
		w.deliverSoon()
		return nil
	})
	rt.lc.Start(rt.interval, false).AddErrback(func(err error) any {
		if !w.closed && !errors.Is(err, reactor.ErrClosed) {
			w.failed(rt.path, fmt.Errorf("watch: polling stopped: %w", err))
			w.deliverSoon()
		}
		return nil
	})
}

// demote moves rt to the polling backend, after the native one ran out
// of room for it; polling's first comparison catches up with whatever
// the native watches missed meanwhile.
func (w *Watcher) demote(rt *root) {
	rt.short = false
	if rt.backend == Polling {
		return
	}
	rt.backend = Polling
	if w.nat != nil {
		w.nat.unwatchFile(rt)
	}
	w.prune()
	w.startPolling(rt)
}

// Remove stops watching path, a path given to Add. It returns
// ErrNotWatched for any other path, and ErrClosed on a closed Watcher.
func (w *Watcher) Remove(path string) error {
	if w == nil || w.roots == nil {
		return errors.New("watch: Remove on a Watcher not made by New")
	}
	if w.closed {
		return ErrClosed
	}
	rt := w.roots[filepath.Clean(path)]
	if rt == nil {
		return fmt.Errorf("watch: Remove %q: %w", path, ErrNotWatched)
	}
	w.epoch++
	w.removeRoot(rt)
	return nil
}

// removeRoot forgets rt and whatever only it needed.
func (w *Watcher) removeRoot(rt *root) {
	if w.roots[rt.path] != rt {
		return
	}
	delete(w.roots, rt.path)
	if !rt.dir {
		d := filepath.Dir(rt.path)
		list := w.fileRoots[d]
		for i, f := range list {
			if f == rt {
				list = append(list[:i:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(w.fileRoots, d)
		} else {
			w.fileRoots[d] = list
		}
	}
	if rt.lc != nil && rt.lc.Running() {
		rt.lc.Stop()
	}
	if w.nat != nil {
		w.nat.unwatchFile(rt)
	}
	w.prune()
}

// prune drops from the view the paths no root covers any more, and the
// folders no root needs, stopping their native watches; and stops the
// native watches of folders now only polled.
func (w *Watcher) prune() {
	for p := range w.view {
		if !w.covered(p) {
			w.forget(p)
		}
	}
	for p, n := range w.dirs {
		need, native := w.needs(p)
		switch {
		case !need:
			w.dropNode(n)
		case !native && n.h >= 0:
			w.nat.unwatchDir(n)
			n.h = -1
		}
	}
}

// Close stops watching everything and releases the native backend's
// descriptors. No event is delivered after it. Close is idempotent.
func (w *Watcher) Close() error {
	if w == nil || w.roots == nil || w.closed {
		return nil
	}
	w.closed = true
	if w.unhook != nil {
		w.unhook()
	}
	for _, rt := range w.roots {
		if rt.lc != nil && rt.lc.Running() {
			rt.lc.Stop()
		}
		if w.nat != nil {
			w.nat.unwatchFile(rt)
		}
	}
	if w.nat != nil {
		for _, n := range w.dirs {
			if n.h >= 0 {
				w.nat.unwatchDir(n)
			}
		}
		w.nat.close()
	}
	w.roots, w.fileRoots, w.view, w.dirs = map[string]*root{}, map[string][]*root{}, map[string]*entry{}, map[string]*dirNode{}
	w.queue = nil
	return nil
}

// Backend returns the backend that serves path, a path given to Add or
// one inside a watched folder: Inotify, Kqueue or Polling; "" if no watch
// covers it.
func (w *Watcher) Backend(path string) string {
	if w == nil || w.roots == nil || w.closed {
		return ""
	}
	p := filepath.Clean(path)
	if rt := w.roots[p]; rt != nil {
		return rt.backend
	}
	best := ""
	for a, first := filepath.Dir(p), true; ; a, first = filepath.Dir(a), false {
		if rt := w.roots[a]; rt != nil && rt.dir && (first || rt.recursive) {
			if best == "" || rt.backend != Polling {
				best = rt.backend
			}
		}
		if filepath.Dir(a) == a {
			break
		}
	}
	return best
}

// Watched returns the paths given to Add that are still watched, sorted.
func (w *Watcher) Watched() []string {
	if w == nil || w.closed {
		return nil
	}
	out := make([]string, 0, len(w.roots))
	for p := range w.roots {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// covered reports whether some root covers p: p is a root, or an entry
// of a watched folder, or inside a recursive watch.
func (w *Watcher) covered(p string) bool {
	if _, ok := w.roots[p]; ok {
		return true
	}
	return w.listed(filepath.Dir(p))
}

// coveredOther reports whether a root other than not covers p.
func (w *Watcher) coveredOther(p string, not *root) bool {
	if rt := w.roots[p]; rt != nil && rt != not {
		return true
	}
	return w.listedOther(filepath.Dir(p), not)
}

// listed reports whether every entry of the folder d is covered: d is a
// watched folder or lies in a recursive watch.
func (w *Watcher) listed(d string) bool { return w.listedOther(d, nil) }

func (w *Watcher) listedOther(d string, not *root) bool {
	for a, first := d, true; ; a, first = filepath.Dir(a), false {
		if rt := w.roots[a]; rt != nil && rt != not && rt.dir && (first || rt.recursive) {
			return true
		}
		if filepath.Dir(a) == a {
			return false
		}
	}
}

// needs reports whether some root needs the folder d read (a watched
// folder, one in a recursive watch, the folder of a watched file), and
// whether one of those roots is native.
func (w *Watcher) needs(d string) (need, native bool) {
	for a, first := d, true; ; a, first = filepath.Dir(a), false {
		if rt := w.roots[a]; rt != nil && rt.dir && (first || rt.recursive) {
			need = true
			native = native || rt.backend != Polling
		}
		if filepath.Dir(a) == a {
			break
		}
	}
	for _, rt := range w.fileRoots[d] {
		need = true
		native = native || rt.backend != Polling
	}
	return need, native
}

// emit queues an event for delivery if a root covers its path; a rename
// half outside the watch is queued as the half inside: Created or
// Removed.
func (w *Watcher) emit(ev Event) {
	if ev, ok := w.inside(ev); ok {
		if ev.Op == Written && len(w.queue) > 0 {
			// A run of writes to one file is one event.
			if last := w.queue[len(w.queue)-1].ev; last.Op == Written && last.Path == ev.Path {
				return
			}
		}
		w.queue = append(w.queue, queued{ev, w.epoch})
	}
}

// inside returns the part of ev that the roots cover, and false if none.
func (w *Watcher) inside(ev Event) (Event, bool) {
	switch ev.Op {
	case Overflow, Failed:
		return ev, true
	case Renamed:
		oldIn, newIn := w.covered(ev.OldPath), w.covered(ev.Path)
		switch {
		case oldIn && newIn:
			return ev, true
		case newIn:
			return Event{Op: Created, Path: ev.Path, Dir: ev.Dir, Rescan: ev.Rescan}, true
		case oldIn:
			return Event{Op: Removed, Path: ev.OldPath, Dir: ev.Dir, Rescan: ev.Rescan}, true
		}
		return ev, false
	}
	return ev, w.covered(ev.Path)
}

func (w *Watcher) failed(path string, err error) {
	w.emit(Event{Op: Failed, Path: path, Err: err})
}

// deliverSoon delivers the queued events on the next pass: from a
// LoopingCall's function, so that a panic in the Watcher's function is
// the reactor's to log rather than the end of the polling.
func (w *Watcher) deliverSoon() {
	if len(w.queue) > 0 && !w.scheduled && !w.closed {
		w.scheduled = true
		w.r.CallSoon(w.deliver)
	}
}

// deliver calls the Watcher's function with each queued event. The
// function may Remove a watch, or Close the Watcher, as it goes: events
// queued before a Remove are checked against the roots again.
func (w *Watcher) deliver() {
	w.scheduled = false
	if w.delivering {
		return // the delivery under way reaches the new events too
	}
	w.delivering = true
	defer func() {
		w.delivering = false
		if len(w.queue) > 0 {
			// The function panicked: the rest goes on the next pass.
			w.deliverSoon()
		}
	}()
	for len(w.queue) > 0 && !w.closed {
		q := w.queue[0]
		w.queue[0] = queued{}
		w.queue = w.queue[1:]
		ev, ok := q.ev, true
		if q.epoch != w.epoch {
			ev, ok = w.inside(ev)
		}
		if ok {
			w.fn(ev)
		}
	}
	if len(w.queue) == 0 {
		w.queue = nil
	}
}
