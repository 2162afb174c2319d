//go:build linux

package watch

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

const maxQueued = "/proc/sys/fs/inotify/max_queued_events"

// queueLimit makes sure that a new inotify instance's queue holds fewer
// than n events, so that n events overflow it: it reads the limit and,
// if it is n or more and the test runs as root, lowers it until the
// returned function is called (the limit is read when an instance is
// made). It skips the test otherwise.
func queueLimit(t *testing.T, n int) (restore func()) {
	t.Helper()
	b, err := os.ReadFile(maxQueued)
	if err != nil {
		t.Skipf("cannot read %s: %v", maxQueued, err)
	}
	cur, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Skipf("%s: %v", maxQueued, err)
	}
	if cur < n {
		return func() {}
	}
	if os.Geteuid() != 0 {
		t.Skipf("%s is %d, not below the %d events of the test, and only root may lower it", maxQueued, cur, n)
	}
	if err := os.WriteFile(maxQueued, []byte("16384"), 0); err != nil {
		t.Skipf("cannot lower %s: %v", maxQueued, err)
	}
	var once sync.Once
	restore = func() {
		once.Do(func() {
			if err := os.WriteFile(maxQueued, b, 0); err != nil {
				t.Errorf("restoring %s: %v", maxQueued, err)
			}
		})
	}
	t.Cleanup(restore)
	return restore
}

// TestOverflow: 20,000 files created while the loop is held busy
// overflow inotify's queue; the Watcher tells Overflow, then a rescan
// whose events (flagged) bring its view in line with the folder: every
// file is Created exactly once, by an event or by the rescan.
func TestOverflow(t *testing.T) {
	const files = 20000
	forBackends(t, func(t *testing.T, backend string) {
		l := newLoop(t, backend)
		dir := t.TempDir()
		restore := queueLimit(t, files)
		rc := l.watcher(dir)
		rc.add(dir, Options{Recursive: true})
		restore()
		if b := rc.backend(dir); b != Inotify {
			t.Skipf("backend %q", b)
		}
		must(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
		rc.expect("mkdir", "Created sub/")

		busy, free := make(chan struct{}), make(chan struct{})
		l.r.CallFromGoroutine(func() {
			close(busy)
			<-free // the loop reads nothing meanwhile
		})
		<-busy
		for i := 0; i < files; i++ {
			d := dir
			if i%2 == 1 {
				d = filepath.Join(dir, "sub")
			}
			f, err := os.Create(filepath.Join(d, fmt.Sprintf("f%05d", i)))
			if err != nil {
				close(free)
				t.Fatal(err)
			}
			f.Close()
		}
		close(free)

		created := map[string]int{}
		overflow, rescanned, pos := 0, 0, 0
		done := func() bool {
			for _, ev := range rc.evs[pos:] {
				switch ev.Op {
				case Overflow:
					overflow++
				case Created:
					created[ev.Path]++
					if ev.Rescan {
						rescanned++
					}
				default:
					t.Errorf("unexpected %v", ev)
				}
			}
			pos = len(rc.evs)
			return overflow > 0 && len(created) == files
		}
		l.until("all files created", done)
		l.do(func() { done() })
		if overflow != 1 || rescanned == 0 {
			t.Fatalf("%d Overflow events, %d Created by the rescan", overflow, rescanned)
		}
		for p, n := range created {
			if n != 1 {
				t.Errorf("%s Created %d times", p, n)
			}
		}
		// The view matches the folder.
		onDisk := map[string]bool{}
		must(t, filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
			onDisk[p] = true
			return err
		}))
		l.do(func() {
			for p := range rc.w.view {
				if !onDisk[p] {
					t.Errorf("the view holds %s, not on disk", p)
				}
			}
			if len(rc.w.view) != len(onDisk) {
				t.Errorf("the view holds %d paths, the folder %d", len(rc.w.view), len(onDisk))
			}
		})
		t.Logf("%d of %d files found by the rescan", rescanned, files)
		// And watching goes on.
		writeFile(t, filepath.Join(dir, "sub", "after"), "")
		l.until("the file after", func() bool {
			for _, ev := range rc.evs[pos:] {
				if ev.Path == filepath.Join(dir, "sub", "after") && !ev.Rescan {
					return true
				}
			}
			return false
		})
	})
}

// TestFallback: the native backend gives way to polling when it cannot
// serve: inotify_init1 refused (EMFILE), the watch limit reached
// (ENOSPC) at Add or later in a recursive tree, a network file system.
// Events keep coming, and Backend says who serves.
func TestFallback(t *testing.T) {
	emfile := func(int) (int, error) { return -1, unix.EMFILE }
	cases := []struct {
		name  string
		setUp func(dir string) (undo func())
		late  bool // the limit is reached after Add, in a new folder
	}{
		{"EMFILE", func(string) func() {
			inotifyInit = emfile
			return func() { inotifyInit = unix.InotifyInit1 }
		}, false},
		{"ENOSPC at Add", func(dir string) func() {
			inotifyAddWatch = limitWatches(2)
			return func() { inotifyAddWatch = unix.InotifyAddWatch }
		}, false},
		{"ENOSPC later", func(dir string) func() {
			inotifyAddWatch = limitWatches(3)
			return func() { inotifyAddWatch = unix.InotifyAddWatch }
		}, true},
		{"NFS", func(dir string) func() {
			statfs = func(p string, st *unix.Statfs_t) error {
				err := unix.Statfs(p, st)
				if strings.HasPrefix(p, dir) {
					st.Type = 0x6969
				}
				return err
			}
			return func() { statfs = unix.Statfs }
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := newLoop(t, "epoll")
			dir := t.TempDir()
			must(t, os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755))
			undo := c.setUp(dir)
			defer undo()
			rc := l.watcher(dir)
			rc.add(dir, Options{Recursive: true, Interval: pollEvery})
			if !c.late {
				if b := rc.backend(dir); b != Polling {
					t.Fatalf("Backend = %q, want polling", b)
				}
			} else {
				if b := rc.backend(dir); b != Inotify {
					t.Fatalf("Backend = %q before the limit, want inotify", b)
				}
				must(t, os.Mkdir(filepath.Join(dir, "c"), 0o755))
				rc.expect("the folder past the limit", "Created c/")
				l.until("the move to polling", func() bool { return rc.w.Backend(dir) == Polling })
			}
			writeFile(t, filepath.Join(dir, "a", "b", "f"), "")
			rc.expect("create after the fall back", "Created a/b/f")
			must(t, os.Rename(filepath.Join(dir, "a", "b", "f"), filepath.Join(dir, "g")))
			rc.expect("rename", "Renamed a/b/f -> g")
			var native int
			l.do(func() {
				for _, n := range rc.w.dirs {
					if n.h >= 0 {
						native++
					}
				}
			})
			if native != 0 {
				t.Errorf("%d folders still watched natively", native)
			}
		})
	}
}

// limitWatches returns an inotify_add_watch that fails with ENOSPC once
// n watches have been added.
func limitWatches(n int) func(int, string, uint32) (int, error) {
	var mu sync.Mutex
	return func(fd int, p string, mask uint32) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		if n == 0 {
			return -1, unix.ENOSPC
		}
		n--
		return unix.InotifyAddWatch(fd, p, mask)
	}
}

func TestRemoteType(t *testing.T) {
	for _, c := range []struct {
		t    uint32
		want bool
	}{{0x6969, true}, {0xff534d42, true}, {0xfe534d42, true}, {0x65735546, true}, {0x517b, true},
		{0xef53, false}, {0x01021994, false}, {0x9123683e, false}, {0x794c7630, false}} {
		if got := remoteType(c.t); got != c.want {
			t.Errorf("remoteType(%#x) = %v", c.t, got)
		}
	}
	for _, c := range []struct {
		name string
		want bool
	}{{"nfs", true}, {"smbfs", true}, {"macfuse", true}, {"fusefs.sshfs", true}, {"apfs", false}, {"ufs", false}, {"zfs", false}} {
		if got := remoteName(c.name); got != c.want {
			t.Errorf("remoteName(%q) = %v", c.name, got)
		}
	}
	if got := cstr([]byte("nfs\x00\x00xx")); got != "nfs" {
		t.Errorf("cstr = %q", got)
	}
}

// TestParseEvents: records split as the kernel lays them out; a
// truncated one ends the batch.
func TestParseEvents(t *testing.T) {
	var b []byte
	b = appendRaw(b, 1, unix.IN_CREATE, 0, "a")
	b = appendRaw(b, 2, unix.IN_MOVED_FROM, 7, "long-name-padded")
	b = appendRaw(b, -1, unix.IN_Q_OVERFLOW, 0, "")
	var got []string
	f := func(wd int32, mask, cookie uint32, name string) {
		got = append(got, fmt.Sprintf("%d %#x %d %q", wd, mask, cookie, name))
	}
	parseEvents(b, f)
	want := []string{`1 0x100 0 "a"`, `2 0x40 7 "long-name-padded"`, `-1 0x4000 0 ""`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q", got)
	}
	got = nil
	parseEvents(b[:len(b)-1], f)
	if len(got) != 2 {
		t.Fatalf("a truncated record: %q", got)
	}
}

func appendRaw(b []byte, wd int32, mask, cookie uint32, name string) []byte {
	n := 0
	if name != "" {
		n = (len(name) + 1 + 15) / 16 * 16
	}
	var h [unix.SizeofInotifyEvent]byte
	binary.NativeEndian.PutUint32(h[0:], uint32(wd))
	binary.NativeEndian.PutUint32(h[4:], mask)
	binary.NativeEndian.PutUint32(h[8:], cookie)
	binary.NativeEndian.PutUint32(h[12:], uint32(n))
	b = append(b, h[:]...)
	pad := make([]byte, n)
	copy(pad, name)
	return append(b, pad...)
}

// FuzzParseEvents: no input makes the parser panic or read past its
// buffer.
func FuzzParseEvents(f *testing.F) {
	f.Add(appendRaw(nil, 1, unix.IN_CREATE, 0, "a"))
	f.Add(appendRaw(appendRaw(nil, 3, unix.IN_MOVED_TO, 9, "x"), -1, unix.IN_Q_OVERFLOW, 0, ""))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		total := 0
		parseEvents(b, func(wd int32, mask, cookie uint32, name string) {
			total += unix.SizeofInotifyEvent + len(name)
			if strings.IndexByte(name, 0) >= 0 {
				t.Fatalf("a name with a NUL: %q", name)
			}
		})
		if total > len(b) {
			t.Fatalf("parsed %d bytes of %d", total, len(b))
		}
	})
}
