package watch

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/loomkit/loom/reactor"
)

// tailRec is a Tailer whose lines and markers are recorded, on the loop.
type tailRec struct {
	l       *loop
	tl      *Tailer
	lines   []string
	markers []Marker
}

func (l *loop) tail(path string, opts TailOptions) *tailRec {
	l.t.Helper()
	tr := &tailRec{l: l}
	opts.Line = func(b []byte) {
		if n := len(tr.lines); n < 1000 || n%997 == 0 {
			l.onLoop() // reading the goroutine's id costs microseconds: not for every line of a big file
		}
		tr.lines = append(tr.lines, string(b))
	}
	opts.Marker = func(m Marker) {
		l.onLoop()
		tr.markers = append(tr.markers, m)
	}
	var err error
	l.do(func() { tr.tl, err = Tail(l.r, path, opts) })
	if err != nil {
		l.t.Fatalf("Tail: %v", err)
	}
	return tr
}

// waitLine waits until the line s has been delivered.
func (tr *tailRec) waitLine(s string) {
	tr.l.t.Helper()
	tr.l.until("line "+s, func() bool {
		return len(tr.lines) > 0 && tr.lines[len(tr.lines)-1] == s
	})
}

// numbered checks that the lines are the numbers from 0 to n-1, each
// exactly once, in order.
func (tr *tailRec) numbered(n int) {
	tr.l.t.Helper()
	var got []string
	tr.l.do(func() { got = append(got, tr.lines...) })
	seen := map[int]int{}
	for i, s := range got {
		v, err := strconv.Atoi(s)
		if err != nil {
			tr.l.t.Fatalf("line %d is %q", i, s)
		}
		seen[v]++
		if v != i {
			tr.l.t.Fatalf("line %d is %d (lines %q)", i, v, got[max(0, i-3):min(len(got), i+3)])
		}
	}
	if len(got) != n {
		tr.l.t.Fatalf("%d lines, want %d", len(got), n)
	}
}

func (tr *tailRec) kinds() (out []string) {
	tr.l.do(func() {
		for _, m := range tr.markers {
			out = append(out, m.Kind.String())
		}
	})
	return out
}

// writer appends numbered lines to a file through one descriptor opened
// with O_APPEND, one write per line, as a logger does.
type writer struct {
	t    *testing.T
	f    *os.File
	next int
}

func openWriter(t *testing.T, path string, next int) *writer {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	must(t, err)
	t.Cleanup(func() { f.Close() })
	return &writer{t: t, f: f, next: next}
}

func (w *writer) lines(n int) {
	w.t.Helper()
	for i := 0; i < n; i++ {
		_, err := fmt.Fprintf(w.f, "%d\n", w.next)
		must(w.t, err)
		w.next++
	}
}

func (w *writer) close() { w.f.Close() }

var tailModes = []struct {
	name string
	opts TailOptions
}{
	{"native", TailOptions{Interval: pollEvery}},
	{"poll", TailOptions{Poll: true, Interval: pollEvery}},
}

func forTailModes(t *testing.T, f func(t *testing.T, l *loop, opts TailOptions)) {
	forBackends(t, func(t *testing.T, backend string) {
		for _, m := range tailModes {
			t.Run(m.name, func(t *testing.T) { f(t, newLoop(t, backend), m.opts) })
		}
	})
}

// TestTailRotateRename: logrotate's default: the log is renamed, its
// writer goes on writing to it a while, then a new log takes the name.
// Every line comes exactly once, in order: the old file is read to its
// end before the new one.
func TestTailRotateRename(t *testing.T) {
	forTailModes(t, func(t *testing.T, l *loop, opts TailOptions) {
		dir := t.TempDir()
		path := filepath.Join(dir, "app.log")
		w := openWriter(t, path, 0)
		w.lines(100)
		opts.FromStart = true
		tr := l.tail(path, opts)
		w.lines(100)
		tr.waitLine("199")
		for round := 0; round < 3; round++ {
			must(t, os.Rename(path, fmt.Sprintf("%s.%d", path, round)))
			w.lines(50) // to the renamed file
			nw := openWriter(t, path, w.next)
			w.close()
			w = nw
			w.lines(100)
			tr.waitLine(strconv.Itoa(w.next - 1))
		}
		tr.numbered(w.next)
		if k := strings.Join(tr.kinds(), " "); strings.Count(k, "Rotated") != 3 {
			t.Fatalf("markers %s, want 3 Rotated", k)
		}
	})
}

// TestTailCopytruncate: logrotate's copytruncate: the log is copied, then
// truncated, and its writer (O_APPEND) goes on at its start. Every line
// comes exactly once: those written before the truncation were read
// before it, those after are read from the top.
func TestTailCopytruncate(t *testing.T) {
	forTailModes(t, func(t *testing.T, l *loop, opts TailOptions) {
		dir := t.TempDir()
		path := filepath.Join(dir, "app.log")
		w := openWriter(t, path, 0)
		tr := l.tail(path, opts)
		for round := 0; round < 3; round++ {
			w.lines(100 + round*50)
			tr.waitLine(strconv.Itoa(w.next - 1))
			copyFile(t, path, fmt.Sprintf("%s.%d", path, round))
			must(t, os.Truncate(path, 0))
			// More than was read before, at once: the file is longer
			// again than where the Tailer had read to.
			w.lines(300)
			tr.waitLine(strconv.Itoa(w.next - 1))
		}
		tr.numbered(w.next)
		if k := strings.Join(tr.kinds(), " "); strings.Count(k, "Truncated") != 3 {
			t.Fatalf("markers %s, want 3 Truncated", k)
		}
	})
}

// TestTailTruncateRepeatedly: a file truncated again and again, by its
// own writer ("> file" then writes) or by truncate(2): each time every
// line comes exactly once.
func TestTailTruncateRepeatedly(t *testing.T) {
	forTailModes(t, func(t *testing.T, l *loop, opts TailOptions) {
		dir := t.TempDir()
		path := filepath.Join(dir, "out")
		writeFile(t, path, "")
		tr := l.tail(path, opts)
		next := 0
		for round := 0; round < 8; round++ {
			var b strings.Builder
			for i := 0; i < 20+round*7; i++ {
				fmt.Fprintf(&b, "%d\n", next)
				next++
			}
			if round%2 == 0 {
				writeFile(t, path, b.String()) // O_TRUNC and write
			} else {
				must(t, os.Truncate(path, 0))
				appendFile(t, path, b.String())
			}
			tr.waitLine(strconv.Itoa(next - 1))
		}
		tr.numbered(next)
	})
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	must(t, err)
	defer src.Close()
	dst, err := os.Create(to)
	must(t, err)
	_, err = io.Copy(dst, src)
	must(t, err)
	must(t, dst.Close())
}

// TestTailMissing: a file not there yet is waited for, and read from its
// start once it comes; so is one whose folder is not there yet; a file
// removed is Missing until another takes its name.
func TestTailMissing(t *testing.T) {
	forTailModes(t, func(t *testing.T, l *loop, opts TailOptions) {
		dir := t.TempDir()
		path := filepath.Join(dir, "later.log")
		tr := l.tail(path, opts)
		l.until("Missing", func() bool { return len(tr.markers) > 0 })
		writeFile(t, path, "0\n1\n")
		tr.waitLine("1")
		must(t, os.Remove(path))
		l.until("Missing again", func() bool { return len(tr.markers) == 2 })
		writeFile(t, path, "2\n3\n")
		tr.waitLine("3")
		tr.numbered(4)
		if k := strings.Join(tr.kinds(), " "); k != "Missing Missing Rotated" {
			t.Fatalf("markers %s", k)
		}

		deep := filepath.Join(dir, "not", "yet", "there.log")
		tr2 := l.tail(deep, opts)
		l.until("Missing", func() bool { return len(tr2.markers) > 0 })
		if b := func() (b string) { l.do(func() { b = tr2.tl.Backend() }); return }(); b != "" {
			t.Fatalf("Backend while the folder is missing = %q", b)
		}
		must(t, os.MkdirAll(filepath.Dir(deep), 0o755))
		writeFile(t, deep, "0\n")
		tr2.waitLine("0")
		appendFile(t, deep, "1\n")
		tr2.waitLine("1")
		tr2.numbered(2)
	})
}

// TestTailLines: lines split across writes, '\r\n' endings, a line
// longer than the maximum (dropped and told), and an unfinished last
// line delivered when its file is rotated away.
func TestTailLines(t *testing.T) {
	forTailModes(t, func(t *testing.T, l *loop, opts TailOptions) {
		dir := t.TempDir()
		path := filepath.Join(dir, "f")
		writeFile(t, path, "before\n")
		opts.MaxLineLength = 10
		tr := l.tail(path, opts)
		appendFile(t, path, "ab")
		appendFile(t, path, "c\r\n"+strings.Repeat("x", 50)+"\nexactly10!\r\n")
		appendFile(t, path, "unfinished")
		tr.waitLine("exactly10!")
		must(t, os.Rename(path, path+".old"))
		writeFile(t, path, "new\n")
		tr.waitLine("new")
		var got []string
		l.do(func() { got = append(got, tr.lines...) })
		if strings.Join(got, "|") != "abc|exactly10!|unfinished|new" {
			t.Fatalf("lines %q", got)
		}
		var skipped int64
		l.do(func() {
			for _, m := range tr.markers {
				if m.Kind == LineSkipped {
					skipped = m.N
				}
			}
		})
		if skipped != 50 {
			t.Fatalf("LineSkipped N = %d, markers %v", skipped, tr.kinds())
		}
	})
}

// TestTailBig: a file of many megabytes is read in bounded chunks over
// several passes of the loop, every line once.
func TestTailBig(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		l := newLoop(t, backend)
		path := filepath.Join(t.TempDir(), "big")
		w := openWriter(t, path, 0)
		w.lines(600_000) // about 4 MB
		fi, err := os.Stat(path)
		must(t, err)
		passes := 0
		tr := l.tail(path, TailOptions{FromStart: true})
		tr.l.do(func() {
			var count func()
			count = func() {
				passes++
				if !tr.tl.closed && tr.tl.off < fi.Size() {
					l.r.CallLater(0, count)
				}
			}
			count()
		})
		tr.waitLine(strconv.Itoa(w.next - 1))
		tr.numbered(w.next)
		if passes < 2 {
			t.Fatalf("read in %d passes of the loop", passes)
		}
	})
}

// TestTailClose: closing from the Line function stops the lines at once;
// Close releases the file (CheckLeaks counts descriptors).
func TestTailClose(t *testing.T) {
	l := newLoop(t, reactor.Backends()[0])
	path := filepath.Join(t.TempDir(), "f")
	writeFile(t, path, "1\n2\n3\n")
	var got []string
	var tl *Tailer
	l.do(func() {
		var err error
		tl, err = Tail(l.r, path, TailOptions{FromStart: true, Line: func(b []byte) {
			got = append(got, string(b))
			if string(b) == "2" {
				tl.Close()
			}
		}})
		must(t, err)
	})
	l.until("closed", func() bool { return tl.closed })
	appendFile(t, path, "4\n")
	l.do(func() {
		if strings.Join(got, " ") != "1 2" {
			t.Errorf("lines %q", got)
		}
		must(t, tl.Close())
		if tl.Backend() != "" {
			t.Error("Backend after Close")
		}
	})
	// A Tailer left open is closed by the reactor's Close.
	l.tail(path, TailOptions{})
}

// TestTailSymlink: a path that is a symbolic link to a file elsewhere is
// followed: writes to the file are read, and the link pointed at another
// file is a rotation.
func TestTailSymlink(t *testing.T) {
	forTailModes(t, func(t *testing.T, l *loop, opts TailOptions) {
		logs, links := t.TempDir(), t.TempDir()
		one, two := filepath.Join(logs, "one"), filepath.Join(logs, "two")
		link := filepath.Join(links, "current")
		writeFile(t, one, "")
		must(t, os.Symlink(one, link))
		tr := l.tail(link, opts)
		appendFile(t, one, "0\n1\n")
		tr.waitLine("1")
		writeFile(t, two, "2\n")
		must(t, os.Symlink(two, link+".new"))
		must(t, os.Rename(link+".new", link))
		tr.waitLine("2")
		appendFile(t, two, "3\n")
		tr.waitLine("3")
		tr.numbered(4)
	})
}

func TestTailBadInput(t *testing.T) {
	l := newLoop(t, reactor.Backends()[0])
	dir := t.TempDir()
	line := func([]byte) {}
	l.do(func() {
		for _, c := range []struct {
			r    *reactor.Reactor
			path string
			opts TailOptions
		}{
			{nil, filepath.Join(dir, "f"), TailOptions{Line: line}},
			{l.r, filepath.Join(dir, "f"), TailOptions{}},
			{l.r, "", TailOptions{Line: line}},
			{l.r, dir, TailOptions{Line: line}},
			{l.r, filepath.Join(dir, "f"), TailOptions{Line: line, MaxLineLength: -1}},
			{l.r, filepath.Join(dir, "f"), TailOptions{Line: line, Interval: -1}},
		} {
			if tl, err := Tail(c.r, c.path, c.opts); err == nil {
				tl.Close()
				t.Errorf("Tail(%q, %+v) succeeded", c.path, c.opts)
			}
		}
	})
	for k := MarkerKind(0); k <= ReadFailed+1; k++ {
		if k.String() == "" {
			t.Errorf("MarkerKind(%d) has no name", k)
		}
	}
}

// TestLineSplitter: the splitter against a plain reference, for every
// way of cutting the input.
func TestLineSplitter(t *testing.T) {
	in := "a\nbb\r\n\n" + strings.Repeat("y", 12) + "\ncc\r" + "\n0123456789\r\nz"
	want := "a|bb||<skip 12>|cc|0123456789|z"
	for cut := 0; cut <= len(in); cut++ {
		for cut2 := cut; cut2 <= len(in); cut2 += 3 {
			s := lineSplitter{max: 10}
			var got []string
			line := func(b []byte) { got = append(got, string(b)) }
			skip := func(n int64) { got = append(got, fmt.Sprintf("<skip %d>", n)) }
			never := func() bool { return false }
			s.feed([]byte(in[:cut]), line, skip, never)
			s.feed([]byte(in[cut:cut2]), line, skip, never)
			s.feed([]byte(in[cut2:]), line, skip, never)
			s.end(line, skip)
			if g := strings.Join(got, "|"); g != want {
				t.Fatalf("cut at %d, %d: %q", cut, cut2, g)
			}
		}
	}
}

// FuzzLineSplitter: whatever the bytes and however they are cut, the
// splitter gives the lines a plain split gives, holds no more than a
// line's maximum, and never panics.
func FuzzLineSplitter(f *testing.F) {
	f.Add([]byte("one\ntwo\r\nthree"), uint8(3), uint8(4))
	f.Add([]byte("\r\r\n\n\n"), uint8(1), uint8(0))
	f.Fuzz(func(t *testing.T, in []byte, cut, max uint8) {
		m := int(max%16) + 1
		var want []string
		parts := strings.Split(string(in), "\n")
		for i, p := range parts {
			if i == len(parts)-1 && p == "" {
				break
			}
			n := len(p)
			p = strings.TrimSuffix(p, "\r")
			if len(p) > m {
				want = append(want, fmt.Sprintf("<skip %d>", n))
			} else {
				want = append(want, p)
			}
		}
		s := lineSplitter{max: m}
		var got []string
		line := func(b []byte) { got = append(got, string(b)) }
		skip := func(n int64) { got = append(got, fmt.Sprintf("<skip %d>", n)) }
		never := func() bool { return false }
		c := int(cut) % (len(in) + 1)
		s.feed(in[:c], line, skip, never)
		if len(s.buf) > m+1 {
			t.Fatalf("holds %d bytes", len(s.buf))
		}
		s.feed(in[c:], line, skip, never)
		s.end(line, skip)
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("got %q want %q", got, want)
		}
	})
}
