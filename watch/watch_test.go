package watch

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/loomkit/loom/reactor"
)

// TestEvents: each kind of change to a watched folder gives its event,
// natively and by polling, and the Watcher says which backend serves it.
func TestEvents(t *testing.T) {
	forModes(t, func(t *testing.T, l *loop, opts Options) {
		dir := t.TempDir()
		rc := l.watcher(dir)
		rc.add(dir, opts)
		want := Polling
		if !opts.Poll {
			want = map[string]string{"linux": Inotify}[runtime.GOOS]
		}
		if got := rc.backend(dir); got != want {
			t.Fatalf("Backend = %q, want %q", got, want)
		}
		a := filepath.Join(dir, "a")
		writeFile(t, a, "one")
		rc.expect("create", "Created a")
		appendFile(t, a, "two")
		rc.expect("append", "Written a")
		must(t, os.Chmod(a, 0o600))
		rc.expect("chmod", "Attrib a")
		must(t, os.Rename(a, filepath.Join(dir, "b")))
		rc.expect("rename", "Renamed a -> b")
		must(t, os.Mkdir(filepath.Join(dir, "d"), 0o755))
		rc.expect("mkdir", "Created d/")
		must(t, os.Remove(filepath.Join(dir, "b")))
		rc.expect("remove", "Removed b")
		must(t, os.Remove(filepath.Join(dir, "d")))
		rc.expect("rmdir", "Removed d/")
		// Not recursive: what happens in a subfolder is not told.
		must(t, os.Mkdir(filepath.Join(dir, "e"), 0o755))
		rc.expect("mkdir e", "Created e/")
		writeFile(t, filepath.Join(dir, "e", "x"), "")
		writeFile(t, filepath.Join(dir, "z"), "")
		rc.expect("only the folder's own entries", "Created z")
	})
}

// TestAtomicSave: an editor's save of a watched file (write a temporary
// file, rename it over the target) yields an event for the target, and
// the target is still watched afterwards, save after save.
func TestAtomicSave(t *testing.T) {
	forModes(t, func(t *testing.T, l *loop, opts Options) {
		dir := t.TempDir()
		target := filepath.Join(dir, "notes.txt")
		writeFile(t, target, "v0")
		writeFile(t, filepath.Join(dir, "other"), "")
		rc := l.watcher(dir)
		rc.add(target, opts)
		for i, v := range []string{"v1", "v2", "v3"} {
			tmp := filepath.Join(dir, ".notes.txt.swp")
			writeFile(t, tmp, v)
			must(t, os.Rename(tmp, target))
			rc.expect("save "+v, "Created notes.txt")
			appendFile(t, target, "more")
			rc.expect("write after save "+v, "Written notes.txt")
			appendFile(t, filepath.Join(dir, "other"), "x") // not watched
			if i == 1 {
				// Removed and made again: still watched by name.
				must(t, os.Remove(target))
				rc.expect("remove", "Removed notes.txt")
				writeFile(t, target, "back")
				rc.expect("made again", "Created notes.txt")
			}
		}
		if got := rc.take(); len(got) != 0 {
			t.Fatalf("events for files not watched: %q", got)
		}
	})
}

// TestMkdirP: `mkdir -p a/b/c && touch a/b/c/f` under a recursive watch
// is seen whole, though the folders come faster than their watches.
func TestMkdirP(t *testing.T) {
	forModes(t, func(t *testing.T, l *loop, opts Options) {
		dir := t.TempDir()
		rc := l.watcher(dir)
		opts.Recursive = true
		rc.add(dir, opts)
		for round := 0; round < 5; round++ {
			top := filepath.Join(dir, "a")
			must(t, os.MkdirAll(filepath.Join(top, "b", "c"), 0o755))
			writeFile(t, filepath.Join(top, "b", "c", "f"), "")
			rc.expect("mkdir -p", "Created a/", "Created a/b/", "Created a/b/c/", "Created a/b/c/f")
			writeFile(t, filepath.Join(top, "b", "c", "g"), "x")
			rc.expect("a file in the new folder", "Created a/b/c/g")
			removeTree(t, top)
			rc.expect("rm -r", "Removed a/b/c/f", "Removed a/b/c/g", "Removed a/b/c/", "Removed a/b/", "Removed a/")
		}
	})
}

// TestRemoveSubfolder: deleting one watched subfolder leaves the watches
// of the others, and of the top, alive.
func TestRemoveSubfolder(t *testing.T) {
	forModes(t, func(t *testing.T, l *loop, opts Options) {
		dir := t.TempDir()
		for _, d := range []string{"one/deep", "two/deep", "three"} {
			must(t, os.MkdirAll(filepath.Join(dir, d), 0o755))
		}
		writeFile(t, filepath.Join(dir, "one", "deep", "f"), "")
		rc := l.watcher(dir)
		opts.Recursive = true
		rc.add(dir, opts)
		removeTree(t, filepath.Join(dir, "one"))
		rc.expect("rm -r one", "Removed one/deep/f", "Removed one/deep/", "Removed one/")
		writeFile(t, filepath.Join(dir, "two", "deep", "x"), "")
		rc.expect("two/deep still watched", "Created two/deep/x")
		writeFile(t, filepath.Join(dir, "three", "y"), "")
		rc.expect("three still watched", "Created three/y")
		writeFile(t, filepath.Join(dir, "z"), "")
		rc.expect("the top still watched", "Created z")
		// A folder made again where the removed one was is watched anew.
		must(t, os.MkdirAll(filepath.Join(dir, "one"), 0o755))
		rc.expect("mkdir one", "Created one/")
		writeFile(t, filepath.Join(dir, "one", "g"), "")
		rc.expect("one watched again", "Created one/g")
		if got := rc.backend(filepath.Join(dir, "two", "deep")); got == "" {
			t.Fatal("two/deep not watched")
		}
	})
}

// TestFolderRename: renaming a folder in a recursive watch is one event,
// and what is done inside it afterwards has its new paths; a folder moved
// out of the watch is Removed with what it holds, one moved in Created
// with it.
func TestFolderRename(t *testing.T) {
	forModes(t, func(t *testing.T, l *loop, opts Options) {
		dir := t.TempDir()
		outside := t.TempDir()
		must(t, os.MkdirAll(filepath.Join(dir, "p", "q"), 0o755))
		writeFile(t, filepath.Join(dir, "p", "q", "f"), "")
		rc := l.watcher(dir)
		opts.Recursive = true
		rc.add(dir, opts)
		must(t, os.Rename(filepath.Join(dir, "p"), filepath.Join(dir, "r")))
		rc.expect("rename p", "Renamed p -> r/")
		writeFile(t, filepath.Join(dir, "r", "q", "g"), "")
		rc.expect("create under the new name", "Created r/q/g")
		must(t, os.Rename(filepath.Join(dir, "r"), filepath.Join(outside, "r")))
		rc.expect("move out", "Removed r/q/f", "Removed r/q/g", "Removed r/q/", "Removed r/")
		writeFile(t, filepath.Join(outside, "r", "q", "h"), "")
		must(t, os.Rename(filepath.Join(outside, "r"), filepath.Join(dir, "s")))
		rc.expect("move in", "Created s/", "Created s/q/", "Created s/q/f", "Created s/q/g", "Created s/q/h")
		writeFile(t, filepath.Join(dir, "s", "q", "i"), "")
		rc.expect("create in the moved-in tree", "Created s/q/i")
	})
}

// TestWatchedFolderRemoved: a watched folder that is removed gives its
// Removed events, and its watch ends.
func TestWatchedFolderRemoved(t *testing.T) {
	forModes(t, func(t *testing.T, l *loop, opts Options) {
		dir := filepath.Join(t.TempDir(), "w")
		must(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
		writeFile(t, filepath.Join(dir, "sub", "f"), "")
		rc := l.watcher(filepath.Dir(dir))
		opts.Recursive = true
		rc.add(dir, opts)
		removeTree(t, dir)
		rc.expect("rm -r", "Removed w/sub/f", "Removed w/sub/", "Removed w/")
		l.until("the watch to end", func() bool { return len(rc.w.Watched()) == 0 })
		var dirs, view int
		l.do(func() { dirs, view = len(rc.w.dirs), len(rc.w.view) })
		if dirs != 0 || view != 0 {
			t.Fatalf("%d folders and %d paths left", dirs, view)
		}
	})
}

// TestOverlap: a path two watches cover is told once.
func TestOverlap(t *testing.T) {
	forModes(t, func(t *testing.T, l *loop, opts Options) {
		dir := t.TempDir()
		sub := filepath.Join(dir, "sub")
		must(t, os.Mkdir(sub, 0o755))
		rc := l.watcher(dir)
		rec := opts
		rec.Recursive = true
		rc.add(dir, rec)
		rc.add(sub, opts)
		writeFile(t, filepath.Join(sub, "f"), "x")
		rc.expect("create", "Created sub/f")
		rc.add(filepath.Join(sub, "f"), opts)
		writeFile(t, filepath.Join(sub, "e"), "x")
		rc.expect("create", "Created sub/e")
		appendFile(t, filepath.Join(sub, "f"), "y")
		rc.expect("write", "Written sub/f")
		// Removing the recursive watch leaves the others.
		l.do(func() { must(t, rc.w.Remove(dir)) })
		writeFile(t, filepath.Join(sub, "g"), "")
		rc.expect("create in sub", "Created sub/g")
		writeFile(t, filepath.Join(dir, "h"), "")
		must(t, os.Remove(filepath.Join(sub, "f")))
		rc.expect("remove", "Removed sub/f")
	})
}

// TestRemoveAndClose: Remove stops the events of a path and releases its
// watches; Close releases everything (CheckLeaks counts the descriptors)
// and no event comes after it.
func TestRemoveAndClose(t *testing.T) {
	forModes(t, func(t *testing.T, l *loop, opts Options) {
		dir := t.TempDir()
		must(t, os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755))
		rc := l.watcher(dir)
		opts.Recursive = true
		rc.add(dir, opts)
		var n int
		l.do(func() { n = len(rc.w.dirs) })
		if n != 3 {
			t.Fatalf("%d folders read, want 3", n)
		}
		l.do(func() {
			must(t, rc.w.Remove(dir))
			if err := rc.w.Remove(dir); !errors.Is(err, ErrNotWatched) {
				t.Errorf("Remove again: %v", err)
			}
			n = len(rc.w.dirs) + len(rc.w.view)
		})
		if n != 0 {
			t.Fatalf("%d folders and paths left after Remove", n)
		}
		writeFile(t, filepath.Join(dir, "x"), "")
		rc.add(dir, opts)
		l.do(func() {
			must(t, rc.w.Close())
			must(t, rc.w.Close())
			if err := rc.w.Add(dir, opts); !errors.Is(err, ErrClosed) {
				t.Errorf("Add after Close: %v", err)
			}
			if err := rc.w.Remove(dir); !errors.Is(err, ErrClosed) {
				t.Errorf("Remove after Close: %v", err)
			}
			if b := rc.w.Backend(dir); b != "" {
				t.Errorf("Backend after Close = %q", b)
			}
		})
		writeFile(t, filepath.Join(dir, "y"), "")
		time.Sleep(5 * pollEvery)
		if got := rc.take(); len(got) != 0 {
			t.Fatalf("events after Remove or Close: %q", got)
		}
	})
}

// TestReactorClose: the reactor's Close closes a Watcher left open.
func TestReactorClose(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		l := newLoop(t, backend)
		dir := t.TempDir()
		rc := l.watcher(dir)
		rc.add(dir, Options{Recursive: true})
		writeFile(t, filepath.Join(dir, "p"), "")
		rc.add(filepath.Join(dir, "p"), Options{Poll: true, Interval: pollEvery})
		// CheckLeaks fails the test if the inotify descriptor outlives
		// the reactor.
	})
}

// TestBadInput: misuse is an error, never a panic or a hang.
func TestBadInput(t *testing.T) {
	l := newLoop(t, reactor.Backends()[0])
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	writeFile(t, file, "x")
	l.do(func() {
		if _, err := New(nil, func(Event) {}); err == nil {
			t.Error("New(nil reactor) succeeded")
		}
		if _, err := New(l.r, nil); err == nil {
			t.Error("New(nil func) succeeded")
		}
		w, err := New(l.r, func(Event) {})
		must(t, err)
		defer w.Close()
		for _, p := range []string{"", filepath.Join(dir, "missing"), "a\x00b", filepath.Join(file, "below-a-file")} {
			if err := w.Add(p, Options{}); err == nil {
				t.Errorf("Add(%q) succeeded", p)
			}
		}
		if err := w.Add(dir, Options{Interval: -time.Second}); err == nil {
			t.Error("Add with a negative interval succeeded")
		}
		if err := w.Add(filepath.Join(dir, "missing"), Options{}); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Add(missing) = %v, want fs.ErrNotExist", err)
		}
		if err := w.Remove(filepath.Join(dir, "nope")); !errors.Is(err, ErrNotWatched) {
			t.Errorf("Remove(not watched) = %v", err)
		}
		if b := w.Backend(filepath.Join(dir, "nope")); b != "" {
			t.Errorf("Backend(not watched) = %q", b)
		}
		var zero Watcher
		if err := zero.Add(dir, Options{}); err == nil {
			t.Error("Add on a zero Watcher succeeded")
		}
		if err := zero.Remove(dir); err == nil {
			t.Error("Remove on a zero Watcher succeeded")
		}
		if err := zero.Close(); err != nil {
			t.Errorf("Close on a zero Watcher: %v", err)
		}
		var none *Watcher
		if none.Backend(dir) != "" || none.Close() != nil || none.Watched() != nil {
			t.Error("a nil Watcher misbehaves")
		}
		// A file watched as a folder would be, and re-added with other
		// options, is fine.
		must(t, w.Add(file, Options{Recursive: true}))
		must(t, w.Add(file, Options{Poll: true}))
		if b := w.Backend(file); b != Polling {
			t.Errorf("Backend after re-Add = %q", b)
		}
		if got := w.Watched(); len(got) != 1 || got[0] != file {
			t.Errorf("Watched = %q", got)
		}
	})
	closed, err := reactor.New(reactor.WithoutSignalHandlers())
	must(t, err)
	must(t, closed.Close())
	if _, err := New(closed, func(Event) {}); !errors.Is(err, ErrClosed) {
		t.Errorf("New on a closed reactor: %v", err)
	}
}

// TestCallbackMisbehaves: the Watcher's function may Remove watches and
// Close the Watcher while events are being delivered, and a panic in it
// is the reactor's to log: the next events still come.
func TestCallbackMisbehaves(t *testing.T) {
	forModes(t, func(t *testing.T, l *loop, opts Options) {
		dir := t.TempDir()
		var got []string
		panicked := false
		var w *Watcher
		l.do(func() {
			var err error
			w, err = New(l.r, func(ev Event) {
				l.onLoop()
				got = append(got, filepath.Base(ev.Path))
				switch filepath.Base(ev.Path) {
				case "boom":
					if !panicked {
						panicked = true
						panic("a bug in the application")
					}
				case "stop":
					w.Remove(dir)
				case "close":
					w.Close()
				}
			})
			must(t, err)
			must(t, w.Add(dir, opts))
		})
		writeFile(t, filepath.Join(dir, "boom"), "")
		writeFile(t, filepath.Join(dir, "after"), "")
		l.until("the event after the panic", func() bool { return strings.Contains(strings.Join(got, " "), "after") })
		writeFile(t, filepath.Join(dir, "stop"), "")
		l.until("stop", func() bool { return len(w.Watched()) == 0 })
		writeFile(t, filepath.Join(dir, "never"), "")
		// Closed from its own function, in the middle of a batch.
		l.do(func() { must(t, w.Add(dir, opts)) })
		writeFile(t, filepath.Join(dir, "close"), "")
		writeFile(t, filepath.Join(dir, "never2"), "")
		l.until("closed", func() bool { return w.closed })
		writeFile(t, filepath.Join(dir, "never3"), "")
		time.Sleep(5 * pollEvery)
		l.do(func() {
			if s := strings.Join(got, " "); strings.Contains(s, "never") {
				t.Errorf("an event after Remove or Close: %q", got)
			}
			must(t, w.Close())
		})
	})
}

func TestOpString(t *testing.T) {
	for op := Op(0); op <= Failed+1; op++ {
		if op.String() == "" {
			t.Errorf("Op(%d) has no name", op)
		}
	}
	ev := Event{Op: Renamed, OldPath: "a", Path: "b", Dir: true, Rescan: true}
	if s := ev.String(); s != "Renamed a -> b/ (rescan)" {
		t.Errorf("String = %q", s)
	}
	if s := (Event{Op: Failed, Err: errors.New("x")}).String(); s != "Failed: x" {
		t.Errorf("String = %q", s)
	}
}
