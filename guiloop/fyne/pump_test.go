package fyneloop_test

import (
	"math"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
	"golang.org/x/sys/unix"

	fyneloop "github.com/loomkit/loom/guiloop/fyne"
	"github.com/loomkit/loom/reactor/reactortest"
)

// TestCallbacksRunOnFyneGoroutine checks every kind of callback against
// the goroutine that runs the app, the check Fyne's own thread
// assertions make (goroutine identity): one goroutine cannot run a
// callback and Fyne's event processing at the same time.
func TestCallbacksRunOnFyneGoroutine(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		reactortest.CheckLeaks(t)
		r := newReactor(t, backend)
		rd, wr := reactortest.Pipe(t)
		var mu sync.Mutex
		where := map[string]uint64{}
		note := func(kind string) {
			mu.Lock()
			where[kind] = fyneloop.Goid()
			mu.Unlock()
		}
		r.CallSoon(func() { note("CallSoon") })
		r.CallLater(5*time.Millisecond, func() { note("CallLater") })
		if err := r.AddReader(rd, func() {
			var b [8]byte
			unix.Read(rd, b[:])
			r.RemoveReader(rd)
			note("reader")
		}); err != nil {
			t.Fatal(err)
		}
		stopSig := r.OnSignal(syscall.SIGUSR1, func() { note("signal") })
		defer stopSig()
		stopped := make(chan uint64, 1)
		p := start(t, theApp, r, fyneloop.OnStop(func() { stopped <- fyneloop.Goid() }))
		go func() {
			unix.Write(wr, []byte("x"))
			r.CallFromGoroutine(func() { note("CallFromGoroutine") })
			syscall.Kill(syscall.Getpid(), syscall.SIGUSR1)
		}()
		r.CallFromGoroutine(func() {
			// Stop once every kind has run.
			var check func()
			check = func() {
				mu.Lock()
				n := len(where)
				mu.Unlock()
				if n == 5 {
					r.Stop()
					return
				}
				r.CallLater(time.Millisecond, check)
			}
			check()
		})
		if g := within(t, stopped, 10*time.Second, "OnStop"); g != mainG {
			t.Errorf("OnStop ran on goroutine %d, Fyne's is %d", g, mainG)
		}
		waitDone(t, p, 5*time.Second)
		if err := p.Stop(); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(where) != 5 {
			t.Fatalf("callbacks run: %v", where)
		}
		for kind, g := range where {
			if g != mainG {
				t.Errorf("%s callback ran on goroutine %d, Fyne's is %d", kind, g, mainG)
			}
		}
	})
}

// TestCallFromGoroutineWakesIdleApp: with nothing to do the pump waits
// in poll without posting anything to Fyne; a call from a goroutine wakes
// it and runs on Fyne's goroutine.
func TestCallFromGoroutineWakesIdleApp(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		reactortest.CheckLeaks(t)
		r := newReactor(t, backend)
		a := counting(theApp)
		idle := make(chan struct{})
		r.CallSoon(func() { close(idle) })
		p := start(t, a, r)
		within(t, idle, 5*time.Second, "first pass")
		time.Sleep(20 * time.Millisecond) // the pump is back in poll
		before := a.d.posts.Load()
		time.Sleep(200 * time.Millisecond)
		if n := a.d.posts.Load() - before; n != 0 {
			t.Errorf("idle pump posted %d passes in 200ms", n)
		}
		ran := make(chan uint64, 1)
		sent := time.Now()
		go r.CallFromGoroutine(func() { ran <- fyneloop.Goid() })
		if g := within(t, ran, 5*time.Second, "call from goroutine"); g != mainG {
			t.Errorf("ran on goroutine %d, Fyne's is %d", g, mainG)
		}
		t.Logf("woke the idle app in %v", time.Since(sent))
		if err := p.Stop(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestTimerWaitIsNotABusyLoop: the pump waits for the next timer with
// poll's millisecond timeout rounded up, so a timer due in 1.5ms costs a
// couple of passes, not a spin.
func TestTimerWaitIsNotABusyLoop(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		reactortest.CheckLeaks(t)
		r := newReactor(t, backend)
		a := counting(theApp)
		var fired []time.Duration
		begin := time.Now()
		for _, d := range []time.Duration{1500 * time.Microsecond, 40 * time.Millisecond, 90 * time.Millisecond} {
			r.CallLater(d, func() { fired = append(fired, time.Since(begin)) })
		}
		r.CallLater(100*time.Millisecond, r.Stop)
		p := start(t, a, r)
		waitDone(t, p, 5*time.Second)
		if err := p.Stop(); err != nil {
			t.Fatal(err)
		}
		if len(fired) != 3 {
			t.Fatalf("%d timers fired", len(fired))
		}
		for i, want := range []time.Duration{1500 * time.Microsecond, 40 * time.Millisecond, 90 * time.Millisecond} {
			if fired[i] < want {
				t.Errorf("timer %d fired after %v, before its %v", i, fired[i], want)
			}
		}
		// One pass at start, one per timer, a few for a loaded machine;
		// a spin would be thousands.
		if n := a.d.posts.Load(); n > 12 {
			t.Errorf("%d passes for 4 timers in 100ms", n)
		}
	})
}

func TestMillisRoundsUp(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want int
	}{
		{-1, -1},
		{0, 0},
		{1, 1},
		{time.Millisecond, 1},
		{1500 * time.Microsecond, 2},
		{time.Second, 1000},
		{math.MaxInt64, math.MaxInt32},
	} {
		if got := fyneloop.Millis(c.d); got != c.want {
			t.Errorf("millis(%v) = %d, want %d", c.d, got, c.want)
		}
	}
}

// TestFloodKeepsFyneQueueShort floods the reactor (a socket pair written
// as fast as it drains, and calls from goroutines) and checks that at
// most one pass is ever queued in Fyne, while Fyne's own calls still get
// through quickly.
func TestFloodKeepsFyneQueueShort(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		reactortest.CheckLeaks(t)
		r := newReactor(t, backend)
		a := counting(theApp)
		rd, wr := reactortest.Socketpair(t)
		var read, calls atomic.Int64
		if err := r.AddReader(rd, func() {
			var buf [4096]byte
			n, _ := unix.Read(rd, buf[:])
			read.Add(int64(max(n, 0)))
		}); err != nil {
			t.Fatal(err)
		}
		quit := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { // the writer: keeps the socket readable
			defer wg.Done()
			chunk := make([]byte, 64<<10)
			p := []unix.PollFd{{Fd: int32(wr), Events: unix.POLLOUT}}
			for {
				select {
				case <-quit:
					return
				default:
				}
				if _, err := unix.Write(wr, chunk); err == unix.EAGAIN {
					unix.Poll(p, 10)
				}
			}
		}()
		go func() { // calls from a goroutine, as fast as they go
			defer wg.Done()
			for {
				select {
				case <-quit:
					return
				default:
				}
				r.CallFromGoroutine(func() { calls.Add(1) })
				time.Sleep(10 * time.Microsecond)
			}
		}()
		p := start(t, a, r)
		var worst time.Duration
		deadline := time.Now().Add(400 * time.Millisecond)
		for time.Now().Before(deadline) {
			t0 := time.Now()
			onFyne(func() {})
			worst = max(worst, time.Since(t0))
			time.Sleep(5 * time.Millisecond)
		}
		close(quit)
		wg.Wait()
		most := a.d.most.Load() // before Stop, which may post a clean-up
		if err := p.Stop(); err != nil {
			t.Fatal(err)
		}
		r.RemoveReader(rd)
		t.Logf("%d passes, %d bytes read, %d calls; Fyne's own calls waited at most %v", a.d.posts.Load(), read.Load(), calls.Load(), worst)
		if m := most; m > 1 {
			t.Errorf("%d passes queued in Fyne at once, want at most 1", m)
		}
		if read.Load() == 0 || calls.Load() == 0 || a.d.posts.Load() < 10 {
			t.Errorf("the flood was not served: %d passes, %d bytes, %d calls", a.d.posts.Load(), read.Load(), calls.Load())
		}
		if worst > time.Second {
			t.Errorf("a call to Fyne's goroutine waited %v during the flood", worst)
		}
	})
}

// TestWidgetHandlerSchedulesReactorWork: code on Fyne's goroutine
// outside reactor callbacks (a button's OnTapped) calls CallSoon and
// CallLater directly; the pump, asleep in poll, notices within a frame.
func TestWidgetHandlerSchedulesReactorWork(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		reactortest.CheckLeaks(t)
		r := newReactor(t, backend)
		r.CallLater(time.Hour, func() {}) // the pump's wait: an hour
		first := make(chan struct{})
		r.CallSoon(func() { close(first) })
		a := counting(theApp)
		p := start(t, a, r)
		within(t, first, 5*time.Second, "first pass")
		time.Sleep(50 * time.Millisecond)
		soon, later := make(chan time.Duration, 1), make(chan time.Duration, 1)
		var tapped time.Time
		button := widget.NewButton("go", func() {
			tapped = time.Now()
			r.CallSoon(func() { soon <- time.Since(tapped) })
			r.CallLater(30*time.Millisecond, func() { later <- time.Since(tapped) })
		})
		onFyne(func() { test.Tap(button) })
		t.Logf("CallSoon ran %v after the tap", within(t, soon, 5*time.Second, "CallSoon from a handler"))
		if d := within(t, later, 5*time.Second, "CallLater from a handler"); d < 30*time.Millisecond || d > time.Second {
			t.Errorf("CallLater(30ms) from a handler ran after %v", d)
		} else {
			t.Logf("CallLater(30ms) ran %v after the tap", d)
		}
		// Idle again: the frame check posts nothing.
		time.Sleep(50 * time.Millisecond)
		before := a.d.posts.Load()
		time.Sleep(200 * time.Millisecond)
		if n := a.d.posts.Load() - before; n != 0 {
			t.Errorf("%d passes posted in 200ms of idling", n)
		}
		if err := p.Stop(); err != nil {
			t.Fatal(err)
		}
	})
}

// A call from a goroutine reaches Fyne's goroutine as fyne.Do does, with
// the pass posted from the calling goroutine: the pump goroutine, asleep
// in its poll, is not woken for it (that was one more thread hand-off
// per call). The poll backend's calls still go through the pump.
func TestCallFromGoroutineDoesNotWakeThePump(t *testing.T) {
	r := newReactor(t, "epoll")
	p := start(t, theApp, r)
	ran := make(chan uint64, 1)
	mark := func() { ran <- fyneloop.Goid() }
	r.CallFromGoroutine(mark) // the first pass on Fyne's goroutine
	fyneG := <-ran
	time.Sleep(50 * time.Millisecond) // the pump settles into its poll
	before := p.Polls()
	for range 100 {
		// Sporadic calls: one that comes while the last pass is still
		// finishing wakes the backend (and the pump) as usual.
		time.Sleep(2 * time.Millisecond)
		r.CallFromGoroutine(mark)
		if g := <-ran; g != fyneG {
			t.Fatalf("a call ran on goroutine %d, Fyne's is %d", g, fyneG)
		}
	}
	if n := p.Polls() - before; n > 10 {
		t.Errorf("100 calls from a goroutine woke the pump %d times", n)
	}
}
