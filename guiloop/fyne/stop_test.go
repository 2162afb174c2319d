package fyneloop_test

import (
	"errors"
	"testing"
	"time"

	fyneloop "github.com/loomkit/loom/guiloop/fyne"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
)

// TestStopFromCallback: Stop called in a reactor callback returns at
// once; the pump ends after the pass, the reactor and the app go on.
func TestStopFromCallback(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t, reactor.Backends()[0])
	var p *fyneloop.Pump
	ready := make(chan struct{})
	returned := make(chan error, 1)
	r.CallSoon(func() {
		<-ready
		returned <- p.Stop()
	})
	p = start(t, theApp, r)
	close(ready)
	if err := within(t, returned, 5*time.Second, "Stop in a callback"); err != nil {
		t.Fatal(err)
	}
	waitDone(t, p, 5*time.Second)
	if r.Stopped() {
		t.Error("Stop of the pump stopped the reactor")
	}
	// The test goroutine may drive the reactor again.
	ran := false
	r.CallSoon(func() { ran = true })
	if err := r.RunOnce(0); err != nil || !ran {
		t.Fatalf("RunOnce after Stop: %v, ran %v", err, ran)
	}
}

// TestStopFromAnotherGoroutine: Stop returns once the pump has ended;
// then the caller owns the reactor.
func TestStopFromAnotherGoroutine(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		reactortest.CheckLeaks(t)
		r := newReactor(t, backend)
		ticks := 0
		var tick func()
		tick = func() { ticks++; r.CallLater(time.Millisecond, tick) }
		r.CallSoon(tick)
		p := start(t, theApp, r)
		time.Sleep(50 * time.Millisecond)
		if err := p.Stop(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-p.Done():
		default:
			t.Fatal("Done not closed when Stop returned")
		}
		n := ticks // no pass runs any more: no race
		time.Sleep(20 * time.Millisecond)
		if ticks != n || n == 0 {
			t.Errorf("ticks %d, then %d after Stop", n, ticks)
		}
		if err := p.Stop(); err != nil {
			t.Errorf("second Stop: %v", err)
		}
	})
}

// TestStopCancelsQueuedPass: a pass still waiting in Fyne's queue when
// Stop returns does nothing when Fyne gets to it.
func TestStopCancelsQueuedPass(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t, reactor.Backends()[0])
	a := counting(theApp)
	ran := false
	r.CallSoon(func() { ran = true })
	hold, held := make(chan struct{}), make(chan struct{})
	theApp.Driver().DoFromGoroutine(func() { close(held); <-hold }, false)
	<-held // Fyne's goroutine is busy: the first pass waits in its queue
	p, err := fyneloop.Start(a, r, fyneloop.OnStop(nil))
	if err != nil {
		t.Fatal(err)
	}
	for a.d.posts.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- p.Stop() }()
	if err := within(t, stopped, 5*time.Second, "Stop with Fyne busy"); err != nil {
		t.Fatal(err)
	}
	close(hold)
	onFyne(func() {}) // behind the cancelled pass in Fyne's queue
	if ran {
		t.Fatal("a pass queued before Stop ran the reactor after it")
	}
	if err := r.RunOnce(0); err != nil || !ran {
		t.Fatalf("RunOnce: %v, ran %v", err, ran)
	}
}

// TestStopOnFyneGoroutineOutsideAPass: a widget handler may stop the
// pump too.
func TestStopOnFyneGoroutineOutsideAPass(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t, reactor.Backends()[0])
	p := start(t, theApp, r)
	var err error
	onFyne(func() { err = p.Stop() })
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, p, 5*time.Second)
}

// TestReactorStopFromFyneHandler: reactor.Stop called by a widget
// handler, outside any pass, wakes the pump, which calls OnStop.
func TestReactorStopFromFyneHandler(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		reactortest.CheckLeaks(t)
		r := newReactor(t, backend)
		first := make(chan struct{})
		r.CallSoon(func() { close(first) })
		onStop := make(chan uint64, 1)
		p := start(t, theApp, r, fyneloop.OnStop(func() { onStop <- fyneloop.Goid() }))
		within(t, first, 5*time.Second, "first pass")
		time.Sleep(20 * time.Millisecond)
		onFyne(r.Stop)
		if g := within(t, onStop, 5*time.Second, "OnStop"); g != mainG {
			t.Errorf("OnStop on goroutine %d, Fyne's is %d", g, mainG)
		}
		waitDone(t, p, 5*time.Second)
	})
}

// TestStartOnFyneGoroutine: a pump may be started by code already running
// on Fyne's goroutine.
func TestStartOnFyneGoroutine(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t, reactor.Backends()[0])
	ran := make(chan uint64, 1)
	var p *fyneloop.Pump
	var err error
	onFyne(func() {
		r.CallLater(10*time.Millisecond, func() { ran <- fyneloop.Goid(); r.Stop() })
		p, err = fyneloop.Start(theApp, r, fyneloop.OnStop(nil))
	})
	if err != nil {
		t.Fatal(err)
	}
	if g := within(t, ran, 5*time.Second, "timer"); g != mainG {
		t.Errorf("timer on goroutine %d, Fyne's is %d", g, mainG)
	}
	waitDone(t, p, 5*time.Second)
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
}

// TestFailedPassEndsThePump: a reactor closed (wrongly) by a Fyne
// handler while a pass is queued makes that pass fail; the pump calls
// OnStop and Stop reports the error.
func TestFailedPassEndsThePump(t *testing.T) {
	reactortest.CheckLeaks(t)
	r, err := reactor.New()
	if err != nil {
		t.Fatal(err)
	}
	a := counting(theApp)
	hold, held := make(chan struct{}), make(chan struct{})
	theApp.Driver().DoFromGoroutine(func() {
		close(held)
		<-hold
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	}, false)
	<-held
	onStop := make(chan struct{})
	p, err := fyneloop.Start(a, r, fyneloop.OnStop(func() { close(onStop) }))
	if err != nil {
		t.Fatal(err)
	}
	for a.d.posts.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	close(hold)
	within(t, onStop, 5*time.Second, "OnStop")
	if err := p.Stop(); !errors.Is(err, reactor.ErrClosed) {
		t.Errorf("Stop = %v, want %v", err, reactor.ErrClosed)
	}
}

// TestStartFailsOnClosedReactor: Start needs the backend's descriptor.
func TestStartFailsOnClosedReactor(t *testing.T) {
	reactortest.CheckLeaks(t)
	r, err := reactor.New()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if _, err := fyneloop.Start(theApp, r); !errors.Is(err, reactor.ErrClosed) {
		t.Errorf("Start on a closed reactor: %v", err)
	}
	if _, err := fyneloop.Start(nil, r); err == nil {
		t.Error("Start without an app: no error")
	}
}
