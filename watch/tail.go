package watch

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/task"
	"golang.org/x/sys/unix"
)

// DefaultMaxLineLength is the longest line Tail delivers unless
// TailOptions.MaxLineLength says otherwise: 64 KiB.
const DefaultMaxLineLength = 64 << 10

const (
	tailChunk   = 64 << 10 // bytes per read
	tailBudget  = 16       // reads per wakeup; the rest on a later pass
	tailCompare = 64       // bytes before the offset checked for a rewrite
)

// MarkerKind is what a Marker tells.
type MarkerKind uint8

const (
	// Truncated: the file was truncated (copytruncate, "> file") or
	// rewritten from its start: reading starts again at its start.
	Truncated MarkerKind = iota + 1
	// Rotated: the path holds another file (rotation by rename, or a
	// file removed and made again). The old file was read to its end,
	// its unfinished last line delivered; the new one is read from its
	// start.
	Rotated
	// Missing: the path holds no file, or no regular file. Tail waits
	// for one, still reading the old file, if it had one, for what its
	// writer adds.
	Missing
	// LineSkipped: a line longer than MaxLineLength was dropped; N is
	// its length.
	LineSkipped
	// ReadFailed: reading or watching failed; Err says why. Tail goes
	// on.
	ReadFailed
)

var markerNames = [...]string{"MarkerKind(0)", "Truncated", "Rotated", "Missing", "LineSkipped", "ReadFailed"}

func (k MarkerKind) String() string {
	if int(k) < len(markerNames) {
		return markerNames[k]
	}
	return fmt.Sprintf("MarkerKind(%d)", uint8(k))
}

// A Marker is something Tail tells besides lines, in order with them.
type Marker struct {
	Kind MarkerKind
	Path string
	N    int64 // LineSkipped: the dropped line's length
	Err  error // ReadFailed
}

// TailOptions configure Tail.
type TailOptions struct {
	// Line is called with each line, without its "\n" (nor a '\r'
	// before it). The slice is valid only during the call. Required.
	Line func(line []byte)
	// Marker, if set, is called with each Marker.
	Marker func(m Marker)
	// FromStart reads what the file holds when Tail starts; by default
	// Tail starts at its end, as tail -F -n 0. A file that appears later
	// is always read from its start.
	FromStart bool
	// MaxLineLength is the longest line delivered (0 is
	// DefaultMaxLineLength); a longer one is dropped and told as
	// LineSkipped.
	MaxLineLength int
	// Poll and Interval choose the watch of the path, as Options do;
	// Interval is also how often a missing folder is looked for.
	Poll     bool
	Interval time.Duration
}

// A Tailer follows a file (see Tail). Its methods must be called on the
// reactor goroutine.
type Tailer struct {
	r      *reactor.Reactor
	path   string
	opts   TailOptions
	w      *Watcher
	unhook func()
	closed bool

	target   string // the file the path's symbolic link names, watched too
	fd       int    // the file being read, -1 if none
	id       fileID // its identity
	off      int64  // how far it has been read
	last     []byte // the bytes before off, to catch a rewrite
	split    lineSplitter
	buf      []byte
	switchTo bool // the path holds another file: switch once this one is read to its end
	missing  bool // Missing told, and no file found since
	more     *reactor.DelayedCall
	wait     *deferred.Deferred // waiting for the folder to appear
}

// Tail follows the file at path with tail -F's semantics, delivering its
// lines on the reactor goroutine: what is appended is read as it comes;
// a truncation starts again from the top (Truncated); a rotation, by
// rename or by a new file at the path, drains the old file and follows
// the new one (Rotated); a missing file, or a missing folder, is waited
// for (Missing). copytruncate is a truncation: the bytes it removes
// before Tail has read them are in the copy only.
//
// Reads never block the loop for long: a regular file is always
// readable, so Tail reads at most 1 MiB per wakeup, and a wakeup is
// a change the Watcher reports (inotify's IN_MODIFY, kqueue, polling),
// never a reader on the file itself.
//
// A file rewritten from its start and grown past where Tail had read
// before Tail looks at it again is caught by comparing the bytes just
// before that point with what Tail read there; one rewritten with the
// same bytes there is not. Writes to a rotated file after a new file
// took its name are read only until Tail switches to the new file.
//
// Tail fails for a path that names a folder, and for bad options. The
// reactor's Close closes the Tailer. Tail must be called on the reactor
// goroutine.
func Tail(r *reactor.Reactor, path string, opts TailOptions) (*Tailer, error) {
	switch {
	case r == nil:
		return nil, errors.New("watch: Tail given a nil reactor")
	case r.Closed():
		return nil, ErrClosed
	case opts.Line == nil:
		return nil, errors.New("watch: Tail given no Line function")
	case path == "":
		return nil, errors.New("watch: Tail given an empty path")
	case opts.MaxLineLength < 0:
		return nil, fmt.Errorf("watch: Tail %q: negative MaxLineLength %d", path, opts.MaxLineLength)
	case opts.Interval < 0:
		return nil, fmt.Errorf("watch: Tail %q: negative interval %v", path, opts.Interval)
	}
	p := filepath.Clean(path)
	if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		return nil, &fs.PathError{Op: "tail", Path: p, Err: errors.New("is a folder")}
	} else if err != nil && !gone(err) {
		return nil, &fs.PathError{Op: "tail", Path: p, Err: err}
	}
	if opts.MaxLineLength == 0 {
		opts.MaxLineLength = DefaultMaxLineLength
	}
	if opts.Interval == 0 {
		opts.Interval = DefaultInterval
	}
	t := &Tailer{r: r, path: p, opts: opts, fd: -1, split: lineSplitter{max: opts.MaxLineLength}}
	w, err := New(r, t.event)
	if err != nil {
		return nil, err
	}
	t.w = w
	if err := t.watch(); err != nil {
		if !gone(err) {
			w.Close()
			return nil, err
		}
		t.waitForFolder()
	}
	if t.open(true) {
		if opts.FromStart {
			t.later()
		}
	} else {
		r.CallSoon(t.lost)
	}
	t.unhook = r.OnClose(func() { t.Close() })
	return t, nil
}

// watch starts watching the path's name; it fails if its folder is
// missing.
func (t *Tailer) watch() error {
	return t.w.add(t.path, t.watchOptions(), true)
}

func (t *Tailer) watchOptions() Options {
	return Options{Poll: t.opts.Poll, Interval: t.opts.Interval}
}

// follow watches, besides the path, the file its symbolic link names, if
// it is one: writes to that file are told under its own name.
func (t *Tailer) follow() {
	target := ""
	if fi, err := os.Lstat(t.path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		if p, err := filepath.EvalSymlinks(t.path); err == nil && p != t.path {
			target = p
		}
	}
	if target == t.target {
		return
	}
	if t.target != "" {
		t.w.Remove(t.target)
	}
	t.target = ""
	if target != "" && t.w.add(target, t.watchOptions(), true) == nil {
		t.target = target
	}
}

// waitForFolder polls for the path, with task.WaitForFile, until its
// folder and the file are back, then watches it again.
func (t *Tailer) waitForFolder() {
	d := task.WaitForFile(t.r, t.path, t.opts.Interval)
	t.wait = d
	d.AddCallbacks(func(any) any {
		if t.wait == d {
			t.wait = nil
		}
		if t.closed {
			return nil
		}
		if err := t.watch(); err != nil {
			// There, but not to be watched (yet): try again later.
			if !gone(err) {
				t.marker(Marker{Kind: ReadFailed, Path: t.path, Err: err})
			}
			t.r.CallLater(t.opts.Interval, func() {
				if !t.closed && t.wait == nil {
					t.waitForFolder()
				}
			})
		}
		t.check()
		return nil
	}, func(err error) any {
		if t.wait == d {
			t.wait = nil
		}
		if !t.closed && !errors.Is(err, deferred.ErrCancelled) && !errors.Is(err, reactor.ErrClosed) {
			t.marker(Marker{Kind: ReadFailed, Path: t.path, Err: err})
		}
		return nil
	})
}

// Backend returns the watch backend following the path (see
// Watcher.Backend), or "" while Tail waits for its folder.
func (t *Tailer) Backend() string {
	if t == nil || t.closed {
		return ""
	}
	return t.w.Backend(t.path)
}

// Close stops following the file and releases it. No line or marker is
// delivered after it. Close is idempotent.
func (t *Tailer) Close() error {
	if t == nil || t.closed {
		return nil
	}
	t.closed = true
	if t.unhook != nil {
		t.unhook()
	}
	if t.more != nil {
		t.more.Cancel()
		t.more = nil
	}
	if t.wait != nil {
		d := t.wait
		t.wait = nil
		d.Cancel()
	}
	t.w.Close()
	t.closeFile()
	return nil
}

func (t *Tailer) closeFile() {
	if t.fd >= 0 {
		unix.Close(t.fd)
		t.fd = -1
	}
}

// event handles what the Watcher reports of the path.
func (t *Tailer) event(ev Event) {
	if t.closed {
		return
	}
	if t.target != "" && (ev.Path == t.target || ev.OldPath == t.target) {
		if ev.Op == Written {
			t.read()
		} else {
			t.check()
		}
		return
	}
	switch ev.Op {
	case Written:
		if ev.Path == t.path {
			t.read()
		}
	case Created:
		if ev.Path == t.path {
			t.check()
		}
	case Renamed:
		switch t.path {
		case ev.Path:
			t.check()
		case ev.OldPath:
			t.lost()
		}
	case Removed:
		if ev.Path == t.path {
			t.lost()
		}
	case Overflow:
		t.check()
	case Failed:
		t.marker(Marker{Kind: ReadFailed, Path: ev.Path, Err: ev.Err})
	}
}

// check looks at what the path holds now: the file being read (read on),
// another (switch to it once this one is read to its end), none.
func (t *Tailer) check() {
	if t.closed {
		return
	}
	var st unix.Stat_t
	err := unix.Stat(t.path, &st)
	if err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		t.lost()
		return
	}
	t.missing = false
	if t.fd < 0 {
		if t.open(false) {
			t.read()
		}
		return
	}
	if (fileID{uint64(st.Dev), uint64(st.Ino)}) != t.id {
		t.switchTo = true
	}
	t.read()
}

// lost handles a path that holds no file: read what is left of the old
// one; tell Missing once.
func (t *Tailer) lost() {
	if t.closed {
		return
	}
	if t.fd >= 0 {
		t.read()
	}
	if !t.missing && !t.closed {
		var st unix.Stat_t
		if unix.Stat(t.path, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG {
			return // back already
		}
		t.missing = true
		t.marker(Marker{Kind: Missing, Path: t.path})
	}
}

// open opens the file at the path; at its end if first and not
// FromStart. It reports whether there was a regular file to open.
func (t *Tailer) open(first bool) bool {
	fd, err := unix.Open(t.path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	for err == unix.EINTR {
		fd, err = unix.Open(t.path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	}
	if err != nil {
		if !gone(err) {
			t.marker(Marker{Kind: ReadFailed, Path: t.path, Err: &fs.PathError{Op: "open", Path: t.path, Err: err}})
		}
		return false
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return false
	}
	t.fd = fd
	t.id = fileID{uint64(st.Dev), uint64(st.Ino)}
	t.off = 0
	if first && !t.opts.FromStart {
		t.off = st.Size
	}
	t.last = t.last[:0]
	t.missing = false
	t.follow()
	return true
}

// later reads on the next pass.
func (t *Tailer) later() {
	if t.more == nil && !t.closed {
		t.more = t.r.CallLater(0, func() {
			t.more = nil
			t.read()
		})
	}
}

// read reads what the file has gained, up to the budget of a wakeup (the
// rest on the next pass), checking first for a truncation or a rewrite;
// at the file's end it switches to the path's new file if there is one.
func (t *Tailer) read() {
	if t.closed || t.fd < 0 {
		return
	}
	if t.rewound() {
		t.endOfStream()
		if t.closed {
			return
		}
		t.marker(Marker{Kind: Truncated, Path: t.path})
		t.off = 0
		t.last = t.last[:0]
	}
	if t.buf == nil {
		t.buf = make([]byte, tailChunk)
	}
	for i := 0; i < tailBudget; i++ {
		if t.closed || t.fd < 0 {
			return
		}
		n, err := unix.Pread(t.fd, t.buf, t.off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.marker(Marker{Kind: ReadFailed, Path: t.path, Err: &fs.PathError{Op: "read", Path: t.path, Err: err}})
			return
		}
		if n == 0 {
			if t.switchTo {
				t.switchFile()
			}
			return
		}
		b := t.buf[:n]
		t.off += int64(n)
		t.keepLast(b)
		t.split.feed(b, t.line, t.skipped, t.stopped)
	}
	t.later()
}

// rewound reports whether the file is now shorter than what was read, or
// holds other bytes just before that point.
func (t *Tailer) rewound() bool {
	var st unix.Stat_t
	if unix.Fstat(t.fd, &st) != nil {
		return false
	}
	if st.Size < t.off {
		return true
	}
	if len(t.last) == 0 {
		return false
	}
	var buf [tailCompare]byte
	b := buf[:len(t.last)]
	n, err := unix.Pread(t.fd, b, t.off-int64(len(b)))
	return err == nil && (n != len(b) || !bytes.Equal(b, t.last))
}

// keepLast keeps the last bytes read, for rewound.
func (t *Tailer) keepLast(b []byte) {
	if len(b) >= tailCompare {
		t.last = append(t.last[:0], b[len(b)-tailCompare:]...)
		return
	}
	t.last = append(t.last, b...)
	if k := len(t.last) - tailCompare; k > 0 {
		t.last = append(t.last[:0], t.last[k:]...)
	}
}

// switchFile moves to the path's new file, the old one read to its end.
func (t *Tailer) switchFile() {
	t.switchTo = false
	t.endOfStream()
	if t.closed {
		return
	}
	t.closeFile()
	t.marker(Marker{Kind: Rotated, Path: t.path})
	if t.closed {
		return
	}
	if t.open(false) {
		t.read()
	} else {
		t.lost()
	}
}

// endOfStream delivers the unfinished last line of the file read so far.
func (t *Tailer) endOfStream() { t.split.end(t.line, t.skipped) }

func (t *Tailer) line(b []byte) {
	if !t.closed {
		t.opts.Line(b)
	}
}

func (t *Tailer) skipped(n int64) {
	t.marker(Marker{Kind: LineSkipped, Path: t.path, N: n})
}

func (t *Tailer) stopped() bool { return t.closed }

func (t *Tailer) marker(m Marker) {
	if !t.closed && t.opts.Marker != nil {
		t.opts.Marker(m)
	}
}
