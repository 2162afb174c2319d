package filewatch

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/task"
)

// Generator makes a little life in a folder, one step at a time on a
// task.LoopingCall: notes created, written, renamed, given other
// permissions and removed, reports made in a subfolder, and a log
// appended to at every step and rotated every few lines (renamed to
// app.log.1 and made again, or, every third time, copied and truncated,
// as logrotate's copytruncate does). Flood makes many changes at once,
// to overflow the system's event queue. Its methods are for the reactor
// goroutine.
type Generator struct {
	r           *reactor.Reactor
	dir         string
	lc          *task.LoopingCall
	rotateEvery int
	onChange    func()

	steps       int
	note        int
	logLines    int // lines in the current log
	rotations   int // by rename
	truncations int // copytruncate
	floods      int
	floodFiles  int
	floodSize   int
	err         error
}

// GeneratorLog is the name of the generator's log in its folder.
const GeneratorLog = "app.log"

// NewGenerator makes a generator that works in dir (which must exist),
// rotating its log every rotateEvery lines, and makes the log and a
// "data" subfolder in it. It does not start.
func NewGenerator(r *reactor.Reactor, dir string, rotateEvery int) (*Generator, error) {
	if rotateEvery <= 0 {
		rotateEvery = DefaultRotateEvery
	}
	g := &Generator{r: r, dir: dir, rotateEvery: rotateEvery, floodSize: FloodSize()}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, err
	}
	g.lc = task.NewLoopingCall(r, func() any { g.Step(); return nil })
	if err := g.logf("generator started in %s", dir); err != nil {
		return nil, err
	}
	return g, nil
}

// Dir is the generator's folder; LogPath its log.
func (g *Generator) Dir() string     { return g.dir }
func (g *Generator) LogPath() string { return filepath.Join(g.dir, GeneratorLog) }

// Start runs a Step every interval; Stop pauses it.
func (g *Generator) Start(interval time.Duration) {
	if !g.lc.Running() {
		g.lc.Start(interval, false)
		g.changed()
	}
}

func (g *Generator) Stop() {
	if g.lc.Running() {
		g.lc.Stop()
		g.changed()
	}
}

// Running says whether the generator steps on its own.
func (g *Generator) Running() bool { return g.lc.Running() }

func (g *Generator) changed() {
	if g.onChange != nil {
		g.onChange()
	}
}

func (g *Generator) path(name string) string { return filepath.Join(g.dir, name) }

// Step does the next thing in the generator's round of six, for note n:
// create note-n.txt, write to it, rename it to note-n.old, create
// data/report-n.csv, change note-n.old's permissions, remove the note
// and the report of the round before. Each step logs a line; every
// rotateEvery lines the log is rotated.
func (g *Generator) Step() {
	n := g.note
	var what string
	var err error
	switch g.steps % 6 {
	case 0:
		what = fmt.Sprintf("created note-%d.txt", n)
		err = os.WriteFile(g.path(fmt.Sprintf("note-%d.txt", n)), []byte(fmt.Sprintf("note %d\n", n)), 0o644)
	case 1:
		what = fmt.Sprintf("wrote to note-%d.txt", n)
		err = appendFile(g.path(fmt.Sprintf("note-%d.txt", n)), fmt.Sprintf("more for note %d\n", n))
	case 2:
		what = fmt.Sprintf("renamed note-%d.txt → note-%d.old", n, n)
		err = os.Rename(g.path(fmt.Sprintf("note-%d.txt", n)), g.path(fmt.Sprintf("note-%d.old", n)))
	case 3:
		what = fmt.Sprintf("created data/report-%d.csv", n)
		err = os.WriteFile(g.path(fmt.Sprintf("data/report-%d.csv", n)), []byte("step,kind\n"), 0o644)
	case 4:
		what = fmt.Sprintf("made note-%d.old read-only", n)
		err = os.Chmod(g.path(fmt.Sprintf("note-%d.old", n)), 0o444)
	case 5:
		if n == 0 {
			what = "nothing to remove in the first round"
		} else {
			what = fmt.Sprintf("removed note-%d.old and data/report-%d.csv", n-1, n-1)
			err = removeIfThere(g.path(fmt.Sprintf("note-%d.old", n-1)))
			if e := removeIfThere(g.path(fmt.Sprintf("data/report-%d.csv", n-1))); err == nil {
				err = e
			}
		}
		g.note++
	}
	g.steps++
	if err != nil {
		g.err = err
		what += " failed: " + err.Error()
	}
	if e := g.logf("step %d: %s", g.steps, what); e != nil {
		g.err = e
	}
	g.changed()
}

// logf appends a line to the log, and rotates it when it is full.
func (g *Generator) logf(format string, args ...any) error {
	line := g.r.Now().Format("15:04:05.000") + " INFO " + fmt.Sprintf(format, args...) + "\n"
	if err := appendFile(g.LogPath(), line); err != nil {
		return err
	}
	g.logLines++
	if g.logLines < g.rotateEvery {
		return nil
	}
	g.logLines = 0
	old := g.LogPath() + ".1"
	if (g.rotations+g.truncations)%3 == 2 {
		// copytruncate: the writer keeps its file; it is emptied.
		b, err := os.ReadFile(g.LogPath())
		if err != nil {
			return err
		}
		if err := os.WriteFile(old, b, 0o644); err != nil {
			return err
		}
		if err := os.Truncate(g.LogPath(), 0); err != nil {
			return err
		}
		g.truncations++
		return appendFile(g.LogPath(), g.r.Now().Format("15:04:05.000")+" INFO log truncated (copied to app.log.1)\n")
	}
	if err := os.Rename(g.LogPath(), old); err != nil {
		return err
	}
	g.rotations++
	return appendFile(g.LogPath(), g.r.Now().Format("15:04:05.000")+fmt.Sprintf(" INFO log rotated (%d so far)\n", g.rotations))
}

// FloodSize is how many writes Flood makes: more than the system's event
// queue holds (inotify's max_queued_events, where it can be read), so
// that it overflows.
func FloodSize() int {
	n := 16384
	if b, err := os.ReadFile("/proc/sys/fs/inotify/max_queued_events"); err == nil {
		if v, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && v > 0 {
			n = v
		}
	}
	return min(max(n+n/4, 2000), 1<<20)
}

// FloodFiles is how many files a flood makes after its writes.
const FloodFiles = 100

// Flood overflows the system's event queue, in one reactor callback, so
// that the loop reads no event meanwhile: FloodSize writes, to two files
// in turn (so that the system cannot merge them), fill the queue; then
// the files of the flood before, if any, are removed and FloodFiles new
// ones made in the data subfolder, whose events the full queue loses.
// The watcher tells the overflow and rescans, which finds those files.
// Writes are cheap; making tens of thousands of files is not, on every
// file system, and would hold the loop for seconds.
func (g *Generator) Flood() error {
	defer g.changed()
	data := g.path("data")
	var files [2]*os.File
	for i := range files {
		f, err := os.OpenFile(filepath.Join(data, fmt.Sprintf("burst-%c.log", 'a'+i)), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			g.err = err
			return err
		}
		defer f.Close()
		files[i] = f
	}
	line := []byte("burst\n")
	for i := range g.floodSize {
		if _, err := files[i%2].Write(line); err != nil {
			g.err = err
			return err
		}
	}
	for i := range g.floodFiles {
		if err := removeIfThere(filepath.Join(data, floodName(g.floods-1, i))); err != nil {
			g.err = err
			return err
		}
	}
	g.floodFiles = 0
	for i := range FloodFiles {
		f, err := os.Create(filepath.Join(data, floodName(g.floods, i)))
		if err != nil {
			g.err = err
			return err
		}
		f.Close()
		g.floodFiles++
	}
	g.floods++
	return g.logf("flood %d: %s writes and %d new files at once in data/", g.floods, thousands(int64(g.floodSize)), FloodFiles)
}

func floodName(flood, i int) string { return fmt.Sprintf("flood%d-%03d", flood, i) }

// Stats returns what the generator has done.
func (g *Generator) Stats() GeneratorView {
	v := GeneratorView{
		Dir: g.dir, Running: g.Running(), Steps: g.steps, Rotations: g.rotations,
		Truncations: g.truncations, Floods: g.floods, FloodFiles: g.floodFiles, FloodSize: g.floodSize,
	}
	if g.err != nil {
		v.Error = g.err.Error()
	}
	return v
}

func appendFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(s)
	if e := f.Close(); err == nil {
		err = e
	}
	return err
}

func removeIfThere(path string) error {
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

// FloodTip says what Flood does, for its button's tooltip.
func FloodTip() string {
	return fmt.Sprintf("%s writes and %d new files at once, faster than they are read: the system's event queue overflows and a rescan follows",
		thousands(int64(FloodSize())), FloodFiles)
}
