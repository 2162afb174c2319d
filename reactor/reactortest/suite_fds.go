package reactortest

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loomkit/loom/reactor"
	"golang.org/x/sys/unix"
)

func init() {
	add("fds/pipe-reader", func(t *testing.T, newLoop NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		rd, wr := Pipe(t)
		var got []byte
		err := r.AddReader(rd, func() {
			buf := make([]byte, 64)
			n, _ := unix.Read(rd, buf)
			got = append(got, buf[:max(n, 0)]...)
			if len(got) == 5 {
				r.RemoveReader(rd)
				r.Stop()
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		write(t, wr, "hel")
		r.CallLater(20*time.Millisecond, func() { write(t, wr, "lo") })
		RunFor(t, l, limit)
		if string(got) != "hello" {
			t.Errorf("read %q, want hello", got)
		}
		if r.Watched() != 0 {
			t.Errorf("Watched = %d after RemoveReader", r.Watched())
		}
	})

	add("fds/socket-writer-then-reader", func(t *testing.T, newLoop NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		a, b := Socketpair(t)
		var got string
		err := r.AddWriter(a, func() {
			write(t, a, "ping")
			r.RemoveWriter(a)
		})
		if err != nil {
			t.Fatal(err)
		}
		err = r.AddReader(b, func() {
			buf := make([]byte, 16)
			n, _ := unix.Read(b, buf)
			got = string(buf[:max(n, 0)])
			r.RemoveReader(b)
			r.Stop()
		})
		if err != nil {
			t.Fatal(err)
		}
		RunFor(t, l, limit)
		if got != "ping" {
			t.Errorf("got %q", got)
		}
	})

	add("fds/reader-and-writer-on-one-descriptor", func(t *testing.T, newLoop NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		a, b := Socketpair(t)
		reads, writes := 0, 0
		must(t, r.AddWriter(a, func() {
			writes++
			r.RemoveWriter(a)
			write(t, b, "x") // makes a readable
		}))
		must(t, r.AddReader(a, func() {
			reads++
			buf := make([]byte, 8)
			unix.Read(a, buf)
			r.RemoveReader(a)
			r.Stop()
		}))
		RunFor(t, l, limit)
		if reads != 1 || writes != 1 {
			t.Errorf("reads %d, writes %d; want 1, 1", reads, writes)
		}
	})

	add("fds/level-triggered", func(t *testing.T, newLoop NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		rd, wr := Pipe(t)
		calls := 0
		must(t, r.AddReader(rd, func() {
			calls++
			var one [1]byte
			unix.Read(rd, one[:]) // leaves the rest for the next pass
			if calls == 5 {
				r.RemoveReader(rd)
				r.Stop()
			}
		}))
		write(t, wr, "12345")
		RunFor(t, l, limit)
		if calls != 5 {
			t.Errorf("reader called %d times for 5 bytes read one at a time", calls)
		}
	})

	add("fds/end-of-file", func(t *testing.T, newLoop NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		a, b := Socketpair(t)
		eof := false
		must(t, r.AddReader(a, func() {
			buf := make([]byte, 8)
			if n, err := unix.Read(a, buf); n == 0 && err == nil {
				eof = true
				r.RemoveReader(a)
				r.Stop()
			}
		}))
		r.CallLater(10*time.Millisecond, func() { unix.Shutdown(b, unix.SHUT_WR) })
		RunFor(t, l, limit)
		if !eof {
			t.Error("no end of file seen")
		}
	})

	add("fds/remove-inside-own-callback", func(t *testing.T, newLoop NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		rd, wr := Pipe(t)
		calls := 0
		must(t, r.AddReader(rd, func() { calls++; r.RemoveReader(rd) }))
		write(t, wr, "data stays unread")
		r.CallLater(50*time.Millisecond, r.Stop)
		RunFor(t, l, limit)
		if calls != 1 {
			t.Errorf("reader called %d times after removing itself", calls)
		}
	})

	add("fds/remove-another-ready-in-same-batch", func(t *testing.T, newLoop NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		a1, a2 := Socketpair(t)
		b1, b2 := Socketpair(t)
		calls := 0
		// Both are readable before the pass: whichever runs first removes
		// the other, which must not run though the OS reported it.
		must(t, r.AddReader(a1, func() { calls++; r.RemoveReader(a1); r.RemoveReader(b1) }))
		must(t, r.AddReader(b1, func() { calls++; r.RemoveReader(a1); r.RemoveReader(b1) }))
		write(t, a2, "x")
		write(t, b2, "x")
		r.CallLater(50*time.Millisecond, r.Stop)
		RunFor(t, l, limit)
		if calls != 1 {
			t.Errorf("%d callbacks ran; the removed descriptor's must not", calls)
		}
	})

	add("fds/close-and-reuse-number-during-dispatch", func(t *testing.T, newLoop NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		// Descriptors are managed by hand here: numbers get reused.
		a1, a2, err1 := socketpair()
		b1, b2, err2 := socketpair()
		if err := errors.Join(err1, err2); err != nil {
			t.Fatal(err)
		}
		open := map[int]bool{a1: true, a2: true, b1: true, b2: true}
		defer func() {
			for fd := range open {
				unix.Close(fd)
			}
		}()
		calls, stale := 0, 0
		first := func(self, other int) {
			calls++
			r.RemoveReader(self)
			r.RemoveReader(other)
			unix.Close(other)
			delete(open, other)
			// A new socket under other's number: its reader must not get
			// other's stale event from this batch.
			c1, c2, err := socketpair()
			if err != nil {
				t.Error(err)
				return
			}
			if c2 == other {
				c1, c2 = c2, c1
			}
			if c1 != other { // the OS did not reuse the number: force it
				if _, err := unix.FcntlInt(uintptr(other), unix.F_GETFD, 0); err == nil {
					// Taken meanwhile (another goroutine, the reactor):
					// dup2 would close it under its owner.
					unix.Close(c1)
					unix.Close(c2)
					r.CallLater(50*time.Millisecond, r.Stop)
					return
				}
				if err := dupOnto(c1, other); err != nil {
					t.Error(err)
					return
				}
				unix.Close(c1)
			}
			open[other], open[c2] = true, true
			reuse := other
			if err := r.AddReader(reuse, func() { stale++ }); err != nil {
				t.Error(err)
			}
			r.CallLater(50*time.Millisecond, func() { r.RemoveReader(reuse); r.Stop() })
		}
		must(t, r.AddReader(a1, func() { first(a1, b1) }))
		must(t, r.AddReader(b1, func() { first(b1, a1) }))
		write(t, a2, "x")
		write(t, b2, "x")
		RunFor(t, l, limit)
		if calls != 1 || stale != 0 {
			t.Errorf("calls %d (want 1), reader of the reused number called %d times (want 0)", calls, stale)
		}
	})

	add("fds/bad-descriptors-are-errors", func(t *testing.T, newLoop NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		rd, wr := Pipe(t)
		closedR, closedW, err := pipe() // not Pipe: its cleanup would close the numbers again
		if err != nil {
			t.Fatal(err)
		}
		unix.Close(closedR)
		unix.Close(closedW)
		nop := func() {}
		file, err := os.CreateTemp(t.TempDir(), "regular")
		if err != nil {
			t.Fatal(err)
		}
		defer file.Close()
		for _, c := range []struct {
			name string
			err  error
		}{
			{"negative", r.AddReader(-1, nop)},
			{"closed", r.AddReader(closedR, nop)},
			{"never opened", r.AddWriter(1<<20-1, nop)},
			{"nil callback", r.AddReader(rd, nil)},
			// Always "ready" to poll(2); epoll refuses it: so do all.
			{"regular file", r.AddReader(int(file.Fd()), nop)},
		} {
			if c.err == nil {
				t.Errorf("AddReader(%s fd) = nil, want an error", c.name)
			}
		}
		if r.Watched() != 0 {
			t.Errorf("failed adds left %d watched", r.Watched())
		}
		must(t, r.AddReader(rd, nop))
		if err := r.AddReader(rd, nop); !errors.Is(err, reactor.ErrAlreadyWatched) {
			t.Errorf("second AddReader: %v, want ErrAlreadyWatched", err)
		}
		must(t, r.AddWriter(wr, nop))
		if n := len(r.RemoveAll()); n != 2 || r.Watched() != 0 {
			t.Errorf("RemoveAll removed %d, %d left", n, r.Watched())
		}
		// And the loop still works.
		r.CallSoon(r.Stop)
		RunFor(t, l, limit)
	})

	add("fds/closed-while-watched-does-not-spin", func(t *testing.T, newLoop NewLoop) {
		var mu sync.Mutex
		var logged bytes.Buffer
		l := newLoop(t, reactor.WithLogger(slog.New(slog.NewTextHandler(&lockedWriter{&mu, &logged}, nil))))
		r := l.Reactor()
		rd, wr, err := pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(wr)
		calls := 0
		must(t, r.AddReader(rd, func() { calls++ }))
		unix.Close(rd) // a program bug: closed without RemoveReader
		passes := 0
		start := time.Now()
		for time.Since(start) < 100*time.Millisecond {
			if err := r.RunOnce(20 * time.Millisecond); err != nil {
				t.Fatal(err)
			}
			passes++
		}
		// A spinning loop would run thousands of passes in 100ms.
		if passes > 20 {
			t.Errorf("%d passes in 100ms: the loop spins on a closed descriptor", passes)
		}
		if calls != 0 {
			t.Errorf("reader of a closed descriptor called %d times", calls)
		}
		r.RemoveReader(rd)
		// poll reports the closed descriptor and the reactor says so; epoll
		// forgets it silently. Either way nothing else may be logged.
		mu.Lock()
		defer mu.Unlock()
		for _, line := range strings.Split(strings.TrimSpace(logged.String()), "\n") {
			if line != "" && !strings.Contains(line, "closed while watched") {
				t.Errorf("unexpected log: %s", line)
			}
		}
	})

	add("fds/re-add-after-remove", func(t *testing.T, newLoop NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		rd, wr := Pipe(t)
		calls := 0
		var reader func()
		reader = func() {
			calls++
			var b [1]byte
			unix.Read(rd, b[:])
			r.RemoveReader(rd)
			if calls == 3 {
				r.Stop()
				return
			}
			must(t, r.AddReader(rd, reader))
			write(t, wr, "x")
		}
		must(t, r.AddReader(rd, reader))
		write(t, wr, "x")
		RunFor(t, l, limit)
		if calls != 3 {
			t.Errorf("calls %d", calls)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
