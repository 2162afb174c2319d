package reactortest

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loomkit/loom/reactor"
	"golang.org/x/sys/unix"
)

func init() {
	add("loop/run-once-zero-never-blocks", func(t *testing.T, newLoop NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		rd, _ := Pipe(t)
		must(t, r.AddReader(rd, func() {}))
		r.CallLater(time.Hour, func() {})
		unblock := watchdog(r, 5*time.Second)
		for range 100 {
			if err := r.RunOnce(0); err != nil {
				t.Fatal(err)
			}
		}
		if unblock() {
			t.Error("100 RunOnce(0) blocked until the watchdog woke the loop")
		}
		r.RemoveReader(rd)
	})

	add("loop/run-once-waits-for-the-next-timer-and-runs-it", func(t *testing.T, newLoop NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		fired := false
		start := time.Now()
		r.CallLater(30*time.Millisecond, func() { fired = true })
		// Take any wakeup already pending (an embedding loop's reactor is
		// nudged when work is added outside a pass).
		must(t, r.RunOnce(0))
		unblock := watchdog(r, 5*time.Second)
		must(t, r.RunOnce(-1)) // one pass: waits for the timer, then runs it
		if unblock() {
			t.Fatal("RunOnce(-1) slept past its timer until the watchdog woke it")
		}
		if !fired {
			t.Error("the pass that waited for the timer did not run it")
		}
		if d := time.Since(start); d < 30*time.Millisecond {
			t.Errorf("timer fired after %v, before its 30ms", d)
		}
	})

	add("loop/a-pass-that-worked-does-not-block", func(t *testing.T, newLoop NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		ran := false
		r.CallLater(time.Hour, func() {})
		r.CallSoon(func() { ran = true })
		unblock := watchdog(r, 5*time.Second)
		must(t, r.RunOnce(-1))
		if unblock() {
			t.Error("RunOnce(-1) ran a queued call and then blocked")
		}
		if !ran {
			t.Error("the queued call did not run")
		}
	})

	add("loop/nested-pass-in-the-first-pass", func(t *testing.T, newLoop NewLoop) {
		var mu sync.Mutex
		var buf bytes.Buffer
		l := newLoop(t, reactor.WithLogger(slog.New(slog.NewTextHandler(&lockedWriter{&mu, &buf}, nil))))
		r := l.Reactor()
		rd, wr := Pipe(t)
		read := false
		must(t, r.AddReader(rd, func() { read = true; r.RemoveReader(rd) }))
		write(t, wr, "x")
		r.CallSoon(func() {
			must(t, r.RunOnce(0)) // a modal loop started before any I/O
		})
		must(t, r.RunOnce(0))
		mu.Lock()
		defer mu.Unlock()
		if !read || strings.Contains(buf.String(), "panicked") {
			t.Errorf("nested pass: reader ran %v; log:\n%s", read, buf.String())
		}
	})

	add("loop/stop-is-idempotent", func(t *testing.T, newLoop NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		after := 0
		r.CallSoon(func() {
			r.Stop()
			r.Stop()
			if !r.Stopped() {
				t.Error("Stopped() false after Stop")
			}
		})
		r.CallSoon(func() { r.Stop(); after++ })
		RunFor(t, l, limit)
		if after != 1 {
			t.Errorf("calls queued with the Stop ran %d times", after)
		}
	})

	add("loop/panic-in-callback-is-logged-and-loop-goes-on", func(t *testing.T, newLoop NewLoop) {
		var mu sync.Mutex
		var buf bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&lockedWriter{&mu, &buf}, nil))
		l := newLoop(t, reactor.WithLogger(logger))
		r := l.Reactor()
		rd, wr := Pipe(t)
		ran := []string{}
		r.CallSoon(func() { panic("boom in call") })
		r.CallLater(0, func() { panic("boom in timer") })
		must(t, r.AddReader(rd, func() { r.RemoveReader(rd); panic("boom in reader") }))
		write(t, wr, "x")
		r.CallLater(30*time.Millisecond, func() { ran = append(ran, "after"); r.Stop() })
		RunFor(t, l, limit)
		equal(t, "ran", ran, []string{"after"})
		mu.Lock()
		out := buf.String()
		mu.Unlock()
		for _, want := range []string{"boom in call", "boom in timer", "boom in reader", "suite_loop.go"} {
			if !strings.Contains(out, want) {
				t.Errorf("log lacks %q (the panic and its stack):\n%s", want, out)
			}
		}
	})

	add("loop/closed-reactor-says-so", func(t *testing.T, newLoop NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		rd, _ := Pipe(t)
		r.CallSoon(func() {
			if err := r.Close(); err == nil {
				t.Error("Close inside a pass: want an error")
			}
			r.Stop()
		})
		RunFor(t, l, limit)
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		is(t, "RunOnce after Close", r.RunOnce(0), reactor.ErrClosed)
		is(t, "AddReader after Close", r.AddReader(rd, func() {}), reactor.ErrClosed)
		r.CallFromGoroutine(func() { t.Error("call ran after Close") })
		if _, err := r.BackendFD(); !errors.Is(err, reactor.ErrClosed) {
			t.Errorf("BackendFD after Close: %v", err)
		}
	})

	add("loop/nested-pass-inside-a-callback", func(t *testing.T, newLoop NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		a1, a2 := Socketpair(t)
		b1, b2 := Socketpair(t)
		calls := map[string]int{}
		drain := func(fd int) {
			var buf [8]byte
			unix.Read(fd, buf[:])
		}
		var nested func(self string, fd int)
		nested = func(self string, fd int) {
			calls[self]++
			drain(fd)
			if calls["a"]+calls["b"] == 1 {
				// A modal dialog's loop: runs passes inside a callback.
				for range 3 {
					if err := r.RunOnce(0); err != nil {
						t.Error(err)
					}
				}
				r.CallLater(20*time.Millisecond, r.Stop)
			}
		}
		must(t, r.AddReader(a1, func() { nested("a", a1) }))
		must(t, r.AddReader(b1, func() { nested("b", b1) }))
		write(t, a2, "x")
		write(t, b2, "x")
		RunFor(t, l, limit)
		r.RemoveAll()
		if calls["a"] != 1 || calls["b"] != 1 {
			t.Errorf("calls %v: each reader once, the inner pass serving the other", calls)
		}
	})

	add("loop/backend-fd-readable-on-work", func(t *testing.T, newLoop NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		bfd, err := r.BackendFD()
		if err != nil {
			t.Fatal(err)
		}
		must(t, r.RunOnce(0))
		if readable(bfd, 0) {
			t.Fatal("BackendFD readable with no work")
		}
		ran := false
		go r.CallFromGoroutine(func() { ran = true })
		if !readable(bfd, 5000) {
			t.Fatal("BackendFD not readable after CallFromGoroutine")
		}
		if !readable(bfd, 0) {
			t.Fatal("polling BackendFD consumed the wakeup")
		}
		must(t, r.RunOnce(0))
		if !ran {
			t.Fatal("RunOnce(0) did not run the queued call")
		}
		rd, wr := Pipe(t)
		got := 0
		must(t, r.AddReader(rd, func() {
			var b [8]byte
			n, _ := unix.Read(rd, b[:])
			got += n
		}))
		must(t, r.RunOnce(0))
		if readable(bfd, 0) {
			t.Fatal("BackendFD readable with no work")
		}
		write(t, wr, "x")
		if !readable(bfd, 5000) {
			t.Fatal("BackendFD not readable with a watched descriptor ready")
		}
		must(t, r.RunOnce(0))
		if got != 1 {
			t.Fatalf("reader got %d bytes", got)
		}
		must(t, r.RunOnce(0))
		if readable(bfd, 20) {
			t.Fatal("BackendFD still readable after the work was done")
		}
		r.RemoveReader(rd)
	})

	add("loop/work-added-outside-a-pass-wakes-backend-fd", func(t *testing.T, newLoop NewLoop) {
		// A GUI handler runs on the reactor goroutine but outside any
		// pass; the foreign loop may be asleep on an older NextTimeout.
		l := newLoop(t)
		r := l.Reactor()
		bfd, err := r.BackendFD()
		if err != nil {
			t.Fatal(err)
		}
		later := r.CallLater(time.Hour, func() {})
		must(t, r.RunOnce(0))
		must(t, r.RunOnce(0))
		if readable(bfd, 0) {
			t.Fatal("BackendFD readable with no work")
		}
		ran := 0
		r.CallSoon(func() { ran++ })
		if !readable(bfd, 5000) {
			t.Error("CallSoon outside a pass did not wake BackendFD")
		}
		must(t, r.RunOnce(0))
		must(t, r.RunOnce(0))
		r.CallLater(10*time.Millisecond, func() { ran++ }) // earlier than the hour
		if !readable(bfd, 5000) {
			t.Error("an earlier CallLater outside a pass did not wake BackendFD")
		}
		must(t, r.RunOnce(0))
		for deadline := time.Now().Add(5 * time.Second); ran < 2 && time.Now().Before(deadline); {
			must(t, r.RunOnce(-1))
		}
		if ran != 2 {
			t.Errorf("%d of 2 calls ran", ran)
		}
		must(t, later.Cancel())
	})

	add("loop/next-timeout", func(t *testing.T, newLoop NewLoop) {
		_, r, _ := fakeLoop(t, newLoop)
		must(t, r.RunOnce(0))
		if d := r.NextTimeout(); d != -1 {
			t.Errorf("idle NextTimeout = %v, want -1", d)
		}
		c := r.CallLater(time.Hour, func() {})
		if d := r.NextTimeout(); d != time.Hour {
			t.Errorf("NextTimeout = %v, want 1h", d)
		}
		// Overdue without any wakeup pending: a GUI loop must not sleep.
		must(t, c.Delay(-2*time.Hour))
		if d := r.NextTimeout(); d != 0 {
			t.Errorf("overdue NextTimeout = %v, want 0", d)
		}
		must(t, c.Cancel())
		if d := r.NextTimeout(); d != -1 {
			t.Errorf("NextTimeout after Cancel = %v, want -1", d)
		}
		r.CallSoon(func() {})
		if d := r.NextTimeout(); d != 0 {
			t.Errorf("NextTimeout with a queued call = %v, want 0", d)
		}
		must(t, r.RunOnce(0))
		if d := r.NextTimeout(); d != -1 {
			t.Errorf("NextTimeout after the work = %v, want -1", d)
		}
	})
}

// watchdog wakes r from another goroutine after limit; unblock cancels it
// and reports whether it had to fire.
func watchdog(r *reactor.Reactor, limit time.Duration) (unblock func() bool) {
	var fired atomic.Bool
	t := time.AfterFunc(limit, func() {
		fired.Store(true)
		r.CallFromGoroutine(func() {})
	})
	return func() bool {
		t.Stop()
		return fired.Load()
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}
