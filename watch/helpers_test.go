package watch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loomkit/loom/internal/stack"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
)

// limit bounds every wait: generous, for polling on a loaded machine
// under the race detector.
const limit = 20 * time.Second

// pollEvery is the polling interval of the tests.
const pollEvery = 15 * time.Millisecond

// loop is a reactor running on a goroutine of its own, as an
// application's; the test goroutine reaches it through OnLoop and
// Eventually. Every callback a test hands to the package checks that it
// runs on the loop goroutine.
type loop struct {
	t       *testing.T
	r       *reactor.Reactor
	id      uint64
	offLoop atomic.Int64
}

// newLoop starts a loop on the named reactor backend, stopped and closed
// when t ends, and fails t if the test leaves a descriptor open or a
// goroutine running.
func newLoop(t *testing.T, backend string) *loop {
	t.Helper()
	reactortest.CheckLeaks(t)
	r, err := reactor.New(reactor.WithBackend(backend), reactor.WithoutSignalHandlers())
	if err != nil {
		t.Fatal(err)
	}
	l := &loop{t: t, r: r}
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		l.id = stack.Goid()
		close(started)
		done <- r.Run(context.Background())
	}()
	<-started
	t.Cleanup(func() {
		r.CallFromGoroutine(r.Stop)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(limit):
			t.Errorf("the loop did not stop")
		}
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if n := l.offLoop.Load(); n > 0 {
			t.Errorf("%d callbacks ran off the loop goroutine", n)
		}
	})
	return l
}

// onLoop counts a callback that runs anywhere but on the loop goroutine.
func (l *loop) onLoop() {
	if stack.Goid() != l.id {
		l.offLoop.Add(1)
	}
}

func (l *loop) do(f func()) { l.t.Helper(); reactortest.OnLoop(l.t, l.r, f) }
func (l *loop) until(what string, cond func() bool) {
	l.t.Helper()
	reactortest.Eventually(l.t, l.r, limit, what, cond)
}

// forBackends runs f under every reactor backend.
func forBackends(t *testing.T, f func(t *testing.T, backend string)) {
	for _, b := range reactor.Backends() {
		t.Run(b, func(t *testing.T) { f(t, b) })
	}
}

// modes are the ways the tests watch: natively and by polling.
var modes = []struct {
	name string
	opts Options
}{
	{"native", Options{}},
	{"poll", Options{Poll: true, Interval: pollEvery}},
}

// forModes runs f under every reactor backend, natively and polling.
func forModes(t *testing.T, f func(t *testing.T, l *loop, opts Options)) {
	forBackends(t, func(t *testing.T, backend string) {
		for _, m := range modes {
			t.Run(m.name, func(t *testing.T) { f(t, newLoop(t, backend), m.opts) })
		}
	})
}

// rec is a Watcher whose events are recorded, on the loop.
type rec struct {
	l     *loop
	w     *Watcher
	evs   []Event
	base  string // stripped from paths by strs
	marks int    // marker files made by settle
}

func (l *loop) watcher(base string) *rec {
	l.t.Helper()
	rc := &rec{l: l, base: base}
	l.do(func() {
		w, err := New(l.r, func(ev Event) {
			if n := len(rc.evs); n < 1000 || n%97 == 0 {
				l.onLoop() // reading the goroutine's id costs microseconds: not for every event of a flood
			}
			rc.evs = append(rc.evs, ev)
		})
		if err != nil {
			l.t.Fatal(err)
		}
		rc.w = w
	})
	return rc
}

func (rc *rec) add(path string, opts Options) {
	rc.l.t.Helper()
	var err error
	rc.l.do(func() { err = rc.w.Add(path, opts) })
	if err != nil {
		rc.l.t.Fatalf("Add %s: %v", path, err)
	}
}

func (rc *rec) backend(path string) (b string) {
	rc.l.do(func() { b = rc.w.Backend(path) })
	return b
}

// take returns the events so far, as strings, and forgets them.
func (rc *rec) take() (out []string) {
	rc.l.do(func() {
		out = rc.strs(rc.evs)
		rc.evs = nil
	})
	return out
}

// strs renders events with paths relative to base.
func (rc *rec) strs(evs []Event) []string {
	out := make([]string, 0, len(evs))
	for _, ev := range evs {
		if !isMark(ev.Path) {
			out = append(out, rc.str(ev))
		}
	}
	return out
}

func (rc *rec) str(ev Event) string {
	rel := func(p string) string {
		if r, err := filepath.Rel(rc.base, p); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
		return p
	}
	s := ev.Op.String()
	if ev.OldPath != "" {
		s += " " + rel(ev.OldPath) + " ->"
	}
	if ev.Path != "" {
		s += " " + rel(ev.Path)
	}
	if ev.Dir {
		s += "/"
	}
	return s
}

// expect waits until the events since the last call, normalized (see
// norm), are want, and fails if they become something else. Then it
// settles: it waits until whatever the step still causes has come (see
// settle), and checks again.
func (rc *rec) expect(what string, want ...string) {
	rc.l.t.Helper()
	var got []string
	ok := false
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		rc.l.do(func() { got = norm(rc.strs(rc.evs)) })
		if equal(got, want) {
			ok = true
			break
		}
		if !isPrefix(got, want) {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	if ok {
		rc.settle()
		rc.l.do(func() { got = norm(rc.strs(rc.evs)) })
		ok = equal(got, want)
	}
	rc.l.do(func() { rc.evs = nil })
	if !ok {
		rc.l.t.Fatalf("%s: events\n\t%s\nwant\n\t%s", what, strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

// settle waits until the changes made so far have all been told. A
// polling Watcher has then compared the tree twice since; a native one
// has told of a marker file made after them (events come in order).
// Marker files are left out of what the tests compare.
func (rc *rec) settle() {
	rc.l.t.Helper()
	polls, s0, covered := false, 0, false
	rc.marks++
	mark := filepath.Join(rc.base, fmt.Sprintf(".mark-%d", rc.marks))
	rc.l.do(func() {
		s0 = rc.w.syncs
		covered = rc.w.covered(mark)
		for _, rt := range rc.w.roots {
			polls = polls || rt.backend != Inotify
		}
	})
	if polls {
		rc.l.until("two comparisons", func() bool { return rc.w.syncs >= s0+2 })
		return
	}
	if !covered {
		return
	}
	writeFile(rc.l.t, mark, "")
	rc.l.until("the marker "+mark, func() bool {
		for _, ev := range rc.evs {
			if ev.Path == mark {
				return true
			}
		}
		return false
	})
}

func isMark(p string) bool { return strings.HasPrefix(filepath.Base(p), ".mark-") }

// norm folds what polling cannot tell apart from within one interval:
// a Written or Attrib of a path Created before it in the same step, and
// repeats of an event.
func norm(evs []string) []string {
	var out []string
	created := map[string]bool{}
	for _, s := range evs {
		op, path, _ := strings.Cut(s, " ")
		path = strings.TrimSuffix(path, "/")
		if (op == "Written" || op == "Attrib") && created[path] {
			continue
		}
		if op == "Created" {
			created[path] = true
		}
		if len(out) > 0 && out[len(out)-1] == s {
			continue
		}
		out = append(out, s)
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// isPrefix reports whether a could still grow into b.
func isPrefix(a, b []string) bool {
	return len(a) <= len(b) && equal(a, b[:len(a)])
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	must(t, os.WriteFile(p, []byte(s), 0o644))
}

func appendFile(t *testing.T, p, s string) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	_, err = f.WriteString(s)
	must(t, err)
	must(t, f.Close())
}

// removeTree removes the tree at p as rm -r does, in a known order: what
// a folder holds (by name) before the folder.
func removeTree(t *testing.T, p string) {
	t.Helper()
	ents, err := os.ReadDir(p)
	if err == nil {
		for _, e := range ents {
			removeTree(t, filepath.Join(p, e.Name()))
		}
	}
	must(t, os.Remove(p))
}

func lines(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprint(i))
	}
	return out
}
