package reactortest

import (
	"bytes"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loomkit/loom/reactor"
	"golang.org/x/sys/unix"
)

// A watched descriptor closed before RemoveReader while another
// descriptor keeps its file open: a copy made with dup, the descriptor a
// net.Conn keeps when its File is closed, or one a child process
// inherited. epoll keeps a registration alive as long as its file is
// open, whatever the number the program closed; kqueue drops it with the
// number. Either way, once RemoveReader returns, the old file must never
// be reported again: not to the number's next owner, and not as a loop
// that never sleeps.
func init() {
	for _, copyKind := range []string{"dup", "conn-file", "inherited"} {
		for _, order := range []string{"remove-then-reuse", "reuse-then-remove"} {
			add("fds/closed-with-a-copy/"+copyKind+"/"+order, func(t *testing.T, newLoop NewLoop) {
				closedWithACopy(t, newLoop, copyKind, order == "reuse-then-remove")
			})
		}
	}
}

// watchedWithACopy returns a descriptor to watch, the descriptor that
// makes it readable when written, and a function that closes the
// watched descriptor as a buggy program would, leaving a copy of its
// file open until the test ends.
func watchedWithACopy(t *testing.T, kind string) (watched, peer int, closeWatched func()) {
	t.Helper()
	switch kind {
	case "dup":
		rd, wr, err := pipe()
		if err != nil {
			t.Fatal(err)
		}
		cp, err := unix.Dup(rd)
		if err != nil {
			t.Fatal(err)
		}
		unix.CloseOnExec(cp)
		t.Cleanup(func() { unix.Close(cp); unix.Close(wr) })
		return rd, wr, func() { unix.Close(rd) }
	case "conn-file":
		a, b, err := socketpair()
		if err != nil {
			t.Fatal(err)
		}
		fa := os.NewFile(uintptr(a), "socket")
		conn, err := net.FileConn(fa) // a copy of a
		fa.Close()
		if err != nil {
			t.Fatal(err)
		}
		f, err := conn.(*net.UnixConn).File() // and another
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close(); unix.Close(b) })
		// Not f.Fd(): it would make the shared file blocking.
		sc, err := f.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		fd := -1
		sc.Control(func(u uintptr) { fd = int(u) })
		return fd, b, func() { f.Close() }
	case "inherited":
		sleep, err := exec.LookPath("sleep")
		if err != nil {
			t.Skip("no sleep command to hold a copy:", err)
		}
		rd, wr, err := pipe()
		if err != nil {
			t.Fatal(err)
		}
		cp, err := unix.Dup(rd)
		if err != nil {
			t.Fatal(err)
		}
		extra := os.NewFile(uintptr(cp), "copy")
		cmd := exec.Command(sleep, "60")
		cmd.ExtraFiles = []*os.File{extra}
		err = cmd.Start()
		extra.Close()
		if err != nil {
			unix.Close(rd)
			unix.Close(wr)
			t.Skip("cannot start a child to hold a copy:", err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
			unix.Close(wr)
		})
		return rd, wr, func() { unix.Close(rd) }
	}
	panic("unknown copy kind " + kind)
}

// reuseNumber makes a new pipe whose read end has the number fd, if that
// number is free, and reports whether it could.
func reuseNumber(t *testing.T, fd int) (rd, wr int, ok bool) {
	t.Helper()
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
		return -1, -1, false // taken meanwhile (another goroutine, the reactor)
	}
	rd, wr, err := pipe()
	if err != nil {
		t.Fatal(err)
	}
	if rd != fd {
		if err := dupOnto(rd, fd); err != nil {
			t.Fatal(err)
		}
		unix.Close(rd)
		unix.CloseOnExec(fd)
		rd = fd
	}
	return rd, wr, true
}

func closedWithACopy(t *testing.T, newLoop NewLoop, copyKind string, reuseFirst bool) {
	var mu sync.Mutex
	var logged bytes.Buffer
	l := newLoop(t, reactor.WithLogger(slog.New(slog.NewTextHandler(&lockedWriter{&mu, &logged}, nil))))
	r := l.Reactor()
	fd, peer, closeWatched := watchedWithACopy(t, copyKind)
	removed := false
	stale := 0 // calls after RemoveReader
	var newRd, newWr int
	reused, written := false, false
	newCalls, newStale := 0, 0
	newReader := func() {
		if !written {
			newStale++ // the old file's readiness, seen under its number
		} else {
			newCalls++
		}
		var buf [64]byte
		unix.Read(newRd, buf[:])
		if written {
			r.RemoveReader(newRd)
			r.Stop()
		}
	}
	reuse := func() {
		newRd, newWr, reused = reuseNumber(t, fd)
	}
	remove := func() {
		if reuseFirst {
			reuse()
		}
		r.RemoveReader(fd)
		removed = true
		if !reuseFirst {
			reuse()
		}
		if !reused {
			// The number went to someone else: nothing to check it with.
			r.CallLater(60*time.Millisecond, r.Stop)
			return
		}
		must(t, r.AddReader(newRd, newReader))
		// The old file stays readable through its copy all along.
		r.CallLater(60*time.Millisecond, func() {
			written = true
			write(t, newWr, "new")
		})
	}
	closed := false
	must(t, r.AddReader(fd, func() {
		if removed {
			stale++
			return
		}
		if !closed {
			// The bug under test: closed, not removed. The reader may
			// still be called until RemoveReader (epoll cannot tell a
			// closed number whose file lives on), never after.
			closed = true
			closeWatched()
			r.CallLater(30*time.Millisecond, remove)
		}
	}))
	write(t, peer, "old data, never read")
	RunFor(t, l, limit)
	if reused {
		defer unix.Close(newWr)
		defer unix.Close(newRd)
	}

	if !closed {
		t.Fatal("the watched descriptor's reader never ran")
	}
	if stale != 0 {
		t.Errorf("reader called %d times after RemoveReader", stale)
	}
	if reused && (newStale != 0 || newCalls != 1) {
		t.Errorf("the number's new reader: called %d times before its pipe was written (want 0), %d after (want 1)",
			newStale, newCalls)
	}
	if r.Watched() != 0 {
		t.Errorf("Watched = %d", r.Watched())
	}
	notSpinning(t, r)

	mu.Lock()
	defer mu.Unlock()
	for _, line := range strings.Split(strings.TrimSpace(logged.String()), "\n") {
		if line != "" && !strings.Contains(line, "closed while watched") {
			t.Errorf("unexpected log: %s", line)
		}
	}
}

// notSpinning checks that r, with nothing ready, sleeps: RunOnce with a
// timeout blocks, and BackendFD does not poll readable.
func notSpinning(t *testing.T, r *reactor.Reactor) {
	t.Helper()
	must(t, r.RunOnce(0)) // what is due now
	passes := 0
	for start := time.Now(); time.Since(start) < 60*time.Millisecond; passes++ {
		must(t, r.RunOnce(20*time.Millisecond))
	}
	// A sleeping loop makes about 3 passes; a spinning one thousands.
	if passes > 20 {
		t.Errorf("%d passes in 60ms with nothing ready: the loop spins", passes)
	}
	bfd, err := r.BackendFD()
	if err != nil {
		t.Fatal(err)
	}
	must(t, r.RunOnce(0))
	if readable(bfd, 30) {
		t.Error("BackendFD readable with nothing ready: a foreign loop would spin")
	}
}
