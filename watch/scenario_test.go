package watch

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/task"
)

// A step of a scripted scenario: what it does to the tree, and the
// events it gives (normalized, see norm), the same from every backend.
type step struct {
	what string
	do   func(t *testing.T, dir string)
	want []string
	race bool // inotifywait can miss it: folders made faster than it watches them
}

// scenario is run in a folder that holds sub/.
func scenario() []step {
	j := filepath.Join
	return []step{
		{what: "create", do: func(t *testing.T, d string) { writeFile(t, j(d, "a"), "hello") }, want: []string{"Created a"}},
		{what: "append", do: func(t *testing.T, d string) { appendFile(t, j(d, "a"), " world") }, want: []string{"Written a"}},
		{what: "chmod", do: func(t *testing.T, d string) { must(t, os.Chmod(j(d, "a"), 0o600)) }, want: []string{"Attrib a"}},
		{what: "create in sub", do: func(t *testing.T, d string) { writeFile(t, j(d, "sub", "b"), "b") }, want: []string{"Created sub/b"}},
		{what: "rename into sub", do: func(t *testing.T, d string) { must(t, os.Rename(j(d, "a"), j(d, "sub", "c"))) }, want: []string{"Renamed a -> sub/c"}},
		{what: "rename a folder", do: func(t *testing.T, d string) { must(t, os.Rename(j(d, "sub"), j(d, "sub2"))) }, want: []string{"Renamed sub -> sub2/"}},
		{what: "write a temporary file", do: func(t *testing.T, d string) { writeFile(t, j(d, "sub2", ".c.tmp"), "new") }, want: []string{"Created sub2/.c.tmp"}},
		{what: "rename it over the target", do: func(t *testing.T, d string) { must(t, os.Rename(j(d, "sub2", ".c.tmp"), j(d, "sub2", "c"))) }, want: []string{"Renamed sub2/.c.tmp -> sub2/c"}},
		{what: "append to the target", do: func(t *testing.T, d string) { appendFile(t, j(d, "sub2", "c"), "er") }, want: []string{"Written sub2/c"}},
		{what: "truncate", do: func(t *testing.T, d string) { must(t, os.Truncate(j(d, "sub2", "c"), 0)) }, want: []string{"Written sub2/c"}},
		{what: "remove", do: func(t *testing.T, d string) { must(t, os.Remove(j(d, "sub2", "b"))) }, want: []string{"Removed sub2/b"}},
		{what: "mkdir", do: func(t *testing.T, d string) { must(t, os.Mkdir(j(d, "d"), 0o755)) }, want: []string{"Created d/"}},
		{what: "rmdir", do: func(t *testing.T, d string) { must(t, os.Remove(j(d, "d"))) }, want: []string{"Removed d/"}},
		{what: "mkdir -p and touch", race: true, do: func(t *testing.T, d string) {
			must(t, os.MkdirAll(j(d, "x", "y", "z"), 0o755))
			writeFile(t, j(d, "x", "y", "z", "f"), "")
		}, want: []string{"Created x/", "Created x/y/", "Created x/y/z/", "Created x/y/z/f"}},
		{what: "rm -r", do: func(t *testing.T, d string) { removeTree(t, j(d, "sub2")) }, want: []string{"Removed sub2/c", "Removed sub2/"}},
		{what: "the end", do: func(t *testing.T, d string) { writeFile(t, j(d, "end"), "") }, want: []string{"Created end"}},
	}
}

// TestNativeMatchesPolling: the scripted scenario gives the same event
// sequence natively, by polling, and through the folder-rescan logic of
// the kqueue backend (driven here by a simulation of its NOTE_WRITEs),
// watched side by side.
func TestNativeMatchesPolling(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		l := newLoop(t, backend)
		dir := t.TempDir()
		must(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
		native := l.watcher(dir)
		native.add(dir, Options{Recursive: true})
		poll := l.watcher(dir)
		poll.add(dir, Options{Recursive: true, Poll: true, Interval: pollEvery})
		kq := l.watcher(dir)
		l.do(func() { kq.w.nat = newKqueueSim(kq.w) })
		kq.add(dir, Options{Recursive: true, Interval: 50 * time.Millisecond})
		if b := kq.backend(dir); b != "kqsim" {
			t.Fatalf("simulated kqueue backend = %q", b)
		}
		for _, s := range scenario() {
			s.do(t, dir)
			native.expect("native: "+s.what, s.want...)
			poll.expect("polling: "+s.what, s.want...)
			kq.expect("kqueue's logic: "+s.what, s.want...)
		}
	})
}

// kqueueSim stands in for the kqueue backend on a system without one:
// it watches nothing, but tells the Watcher of a folder whose
// modification time moved, as NOTE_WRITE would, and the Watcher answers
// with syncDirs, the kqueue backend's own path.
type kqueueSim struct {
	w     *Watcher
	lc    *task.LoopingCall
	mtime map[*dirNode]int64
	next  int
}

func newKqueueSim(w *Watcher) *kqueueSim {
	k := &kqueueSim{w: w, mtime: map[*dirNode]int64{}, next: 1000}
	k.lc = task.NewLoopingCall(w.r, func() any {
		// One rename moves two folders' times at once, and kqueue
		// reports both; a sweep that read the first folder before the
		// rename and the second after it would see one. So sweep again
		// until a sweep finds nothing new.
		var dirty []*dirNode
		for {
			found := false
			for _, n := range w.dirs {
				if n.h < 0 {
					continue
				}
				fi, err := os.Stat(n.path)
				var m int64
				if err == nil {
					m = fi.ModTime().UnixNano()
				}
				if m != k.mtime[n] {
					k.mtime[n] = m
					if !slices.Contains(dirty, n) {
						dirty = append(dirty, n)
					}
					found = true
				}
			}
			if !found {
				break
			}
		}
		if len(dirty) > 0 {
			w.syncDirs(dirty)
			w.deliverSoon()
		}
		return nil
	})
	k.lc.Start(2*time.Millisecond, false).AddErrback(func(err error) any {
		if !errors.Is(err, reactor.ErrClosed) {
			panic(err)
		}
		return nil
	})
	return k
}

func (k *kqueueSim) name() string { return "kqsim" }
func (k *kqueueSim) watchDir(n *dirNode) error {
	if fi, err := os.Stat(n.path); err == nil {
		k.mtime[n] = fi.ModTime().UnixNano()
	}
	n.h = k.next
	k.next++
	return nil
}
func (k *kqueueSim) unwatchDir(n *dirNode) { n.h = -1; delete(k.mtime, n) }
func (k *kqueueSim) watchFile(*root)       {}
func (k *kqueueSim) unwatchFile(*root)     {}
func (k *kqueueSim) close() {
	if k.lc.Running() {
		k.lc.Stop()
	}
}

// TestInotifywait: loom's inotify events for the scenario are those
// inotifywait (Debian's inotify-tools), watching the same tree, reports.
func TestInotifywait(t *testing.T) {
	bin, err := exec.LookPath("inotifywait")
	if err != nil {
		t.Skip("inotifywait not installed (Debian package inotify-tools)")
	}
	l := newLoop(t, "epoll")
	dir := t.TempDir()
	must(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	rc := l.watcher(dir)
	rc.add(dir, Options{Recursive: true})
	if b := rc.backend(dir); b != Inotify {
		t.Skipf("backend %q", b)
	}

	cmd := exec.Command(bin, "-m", "-r", "--format", "%e|%w|%f",
		"-e", "create", "-e", "modify", "-e", "attrib", "-e", "delete", "-e", "moved_from", "-e", "moved_to", dir)
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	stderr, err := cmd.StderrPipe()
	must(t, err)
	must(t, cmd.Start())
	var mu sync.Mutex
	var out []string
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			mu.Lock()
			out = append(out, sc.Text())
			mu.Unlock()
		}
	}()
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		ok := false
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Watches established") && !ok {
				ok = true
				ready <- true
			}
		}
		if !ok {
			ready <- false
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-readDone
		cmd.Wait()
	})
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("inotifywait ended before its watches were set up")
		}
	case <-time.After(limit):
		t.Fatal("inotifywait did not set up its watches")
	}

	seen := 0 // lines of inotifywait's output compared so far
	for _, s := range scenario() {
		if s.race {
			continue
		}
		s.do(t, dir)
		rc.expect("loom: "+s.what, s.want...)
		// inotifywait, told of the same step, reports the same.
		var got []string
		deadline := time.Now().Add(limit)
		for {
			mu.Lock()
			lines := out[seen:]
			got = norm(parseInotifywait(dir, lines))
			mu.Unlock()
			if equal(got, s.want) || !isPrefix(got, s.want) || time.Now().After(deadline) {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		if !equal(got, s.want) {
			t.Fatalf("%s: inotifywait reported\n\t%s\nloom\n\t%s", s.what, strings.Join(got, "\n\t"), strings.Join(s.want, "\n\t"))
		}
		// loom's marker is the step's last event: inotifywait has told
		// of the step once it has told of the marker.
		mark := filepath.Join(dir, fmt.Sprintf(".mark-%d", rc.marks))
		for {
			mu.Lock()
			n, found := len(out), false
			for i := seen; i < n; i++ {
				if strings.HasSuffix(out[i], "|"+filepath.Base(mark)) {
					found, n = true, i+1
					break
				}
			}
			mu.Unlock()
			if found {
				seen = n
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: inotifywait did not report the marker", s.what)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
}

// parseInotifywait turns inotifywait's "%e|%w|%f" lines into the tests'
// renderings of events, pairing MOVED_FROM with the MOVED_TO after it.
// The events of watched folders themselves (no file name) are the ones
// loom tells as entries of their folder: left out.
func parseInotifywait(dir string, lines []string) []string {
	var out []string
	from := ""
	for _, ln := range lines {
		parts := strings.SplitN(ln, "|", 3)
		if len(parts) != 3 || parts[2] == "" || isMark(parts[2]) {
			continue
		}
		flags := strings.Split(parts[0], ",")
		rel, err := filepath.Rel(dir, filepath.Join(parts[1], parts[2]))
		if err != nil {
			continue
		}
		isDir := ""
		for _, f := range flags {
			if f == "ISDIR" {
				isDir = "/"
			}
		}
		switch flags[0] {
		case "CREATE":
			out = append(out, "Created "+rel+isDir)
		case "MODIFY":
			out = append(out, "Written "+rel)
		case "ATTRIB":
			out = append(out, "Attrib "+rel+isDir)
		case "DELETE":
			out = append(out, "Removed "+rel+isDir)
		case "MOVED_FROM":
			from = rel
		case "MOVED_TO":
			if from != "" {
				out = append(out, "Renamed "+from+" -> "+rel+isDir)
				from = ""
			} else {
				out = append(out, "Created "+rel+isDir)
			}
		}
	}
	return out
}
