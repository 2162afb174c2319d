package fyneloop

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"golang.org/x/sys/unix"

	"github.com/loomkit/loom/reactor"
)

// ErrBackendClosed is returned by Pump.Stop when the reactor's backend
// descriptor was closed while the pump was waiting on it: the reactor was
// closed before the pump was stopped.
var ErrBackendClosed = errors.New("fyneloop: reactor closed while its pump was running; stop the pump first")

// A Pump drives a reactor from a Fyne app's event loop: it runs every
// reactor callback on Fyne's goroutine, one pass at a time, posted with
// the app driver's DoFromGoroutine (what fyne.Do does). Start makes one.
type Pump struct {
	r      *reactor.Reactor
	driver fyne.Driver
	onStop func()
	bfd    int
	stopR  int // read end of the stop pipe, polled with bfd; the pump closes it
	stopW  int // write end: closing it wakes the pump; guarded by mu
	nudgeR int // read end of the nudge pipe: a woken pass has news for the pump
	nudgeW int // write end, written by woken passes on Fyne's goroutine

	pass   func() // p.runPass
	woken  func() // p.runWokenPass
	result chan passResult
	quit   chan struct{} // closed by Stop and by the app's stopped hook
	done   chan struct{} // closed when the pump goroutine has returned

	mu       sync.Mutex // guards stopW and quitting
	quitting bool

	// passMu is held while a pass runs, so that the pump, as it ends, can
	// wait for the pass in progress; inPass says one is.
	passMu sync.Mutex
	inPass atomic.Bool
	// cancelled tells a pass still queued in Fyne that it must not run.
	cancelled atomic.Bool

	// queued says a pass is posted or running (and, for the pump's own,
	// that the pump has not yet taken its result): whoever sets it posts
	// the pass (the pump, or wakeHook on a goroutine's
	// CallFromGoroutine), so at most one is ever queued in Fyne.
	queued atomic.Bool
	// What a woken pass tells the pump through the nudge pipe: the
	// reactor's next timeout, or that the pump must end.
	wokenNext   atomic.Int64
	wokenEnd    atomic.Bool
	hookPosting atomic.Bool  // wakeHook is inside DoFromGoroutine
	polls       atomic.Int64 // the pump's polls that returned, for a test

	g       atomic.Uint64 // the pump goroutine's id
	fyneG   atomic.Uint64 // the id of Fyne's goroutine, once a pass ran there
	posting atomic.Bool   // the pump is inside DoFromGoroutine
	inline  atomic.Bool   // the driver runs posted calls on the caller's goroutine
	hook    *appHook
	coHooks *coroutineHooks // the reactor's coroutine hooks while the pump runs

	frames       *fyne.Animation // the frame check (frames.go)
	framesOn     atomic.Bool     // frames is running; changed on Fyne's goroutine
	watch        *time.Timer     // fires probe when frames stop coming
	pollDeadline atomic.Int64    // when the pump's poll times out, in Unix ns

	failed  error // the pump's own failure, handed to its last pass
	passErr error // the error that ended the last pass; guarded by passMu
	err     error // why the pump ended; set before done is closed
}

// passResult is what a pass hands back to the pump with the "done"
// signal.
type passResult struct {
	next time.Duration // the reactor's NextTimeout after the pass
	end  bool          // the pump must end: the reactor stopped or failed, or the app is gone
	err  error
}

// An Option configures Start.
type Option func(*Pump)

// OnStop sets what happens, on Fyne's goroutine, when the reactor stops
// (reactor.Stop) or a pass fails. By default the pump quits the app with
// a.Quit(). With OnStop the pump calls f instead, and the app goes on; f
// may be nil. Either way the pump then ends.
func OnStop(f func()) Option { return func(p *Pump) { p.onStop = f } }

// Start drives r from a's event loop until the reactor stops, the app
// stops or Stop is called. From then on every reactor callback runs on
// Fyne's goroutine, and Fyne's goroutine is the reactor goroutine: code
// there (widget handlers included) may call the reactor's methods
// directly.
//
// Start must be called on the reactor goroutine while nothing else drives
// the reactor: typically in main before a.Run (or w.ShowAndRun), or on
// Fyne's goroutine once the app runs. It works before or after the app
// starts running; passes run once it does. The reactor must not be
// closed until the pump has ended (see Stop).
//
// When the app stops, the pump ends without a call to Stop: Start chains
// the app's OnStopped lifecycle hook (so set the program's own hook
// before Start), and when Fyne drops that hook, as 2.8.1 does at times,
// the pump finds the end of Fyne's loop by itself within a fraction of a
// second. Stop after a.Run returns makes it certain.
func Start(a fyne.App, r *reactor.Reactor, opts ...Option) (*Pump, error) {
	if a == nil || r == nil {
		return nil, errors.New("fyneloop: Start needs an app and a reactor")
	}
	bfd, err := r.BackendFD()
	if err != nil {
		return nil, fmt.Errorf("fyneloop: %w", err)
	}
	p := &Pump{
		r:      r,
		driver: a.Driver(),
		onStop: a.Quit,
		bfd:    bfd,
		result: make(chan passResult, 1),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	for _, opt := range opts {
		opt(p)
	}
	p.pass = p.runPass // bound once: a post allocates nothing
	p.woken = p.runWokenPass
	p.coHooks = &coroutineHooks{}
	r.SetCoroutineHooks(p.coHooks.enter, p.coHooks.leave)
	r.SetSlowDefault(reactor.FrameThreshold) // a slow callback is a missed frame
	if os.Getenv("LOOM_INSPECT") == "1" {
		// A program's inspector, without a rebuild.
		r.CallSoon(func() {
			if _, err := Inspect(a, r); err != nil {
				slog.Warn("fyneloop: LOOM_INSPECT=1, but the inspector did not open", "error", err)
			}
		})
	}
	if p.stopR, p.stopW, err = pipe(); err != nil {
		return nil, fmt.Errorf("fyneloop: %w", err)
	}
	if p.nudgeR, p.nudgeW, err = nonblockingPipe(); err != nil {
		unix.Close(p.stopR)
		unix.Close(p.stopW)
		return nil, fmt.Errorf("fyneloop: %w", err)
	}
	h, err := hookApp(a)
	if err != nil {
		unix.Close(p.stopR)
		unix.Close(p.stopW)
		unix.Close(p.nudgeR)
		unix.Close(p.nudgeW)
		return nil, err
	}
	p.hook = h
	h.add(p)
	p.frames = p.newFrameCheck()
	p.watch = time.AfterFunc(time.Hour, p.probe)
	p.watch.Stop()
	if r.Backend() != "poll" {
		// The poll backend's descriptor is announced by a goroutine of
		// its own, which waits for the pass it announced to end before
		// it looks again: passes posted past it would break that
		// hand-shake. Its calls take the pump's hop.
		r.SetWakeHook(p.wakeHook)
	}
	go p.loop()
	return p, nil
}

// wakeHook runs on the goroutine of a CallFromGoroutine that wakes the
// reactor: it posts a pass to Fyne from there, as fyne.Do would, rather
// than waking the pump goroutine from its poll to post it (one more
// thread hand-off). The pump sleeps on; the pass tells it, through the
// nudge pipe, only what changes its wait. It reports whether it posted:
// if not (a pass is queued or running already, or Fyne's loop is not
// there), the reactor wakes its backend as usual.
func (p *Pump) wakeHook() bool {
	if p.inline.Load() || p.fyneG.Load() == 0 || p.cancelled.Load() {
		return false // no loop of Fyne's to post to (yet, or any more)
	}
	if !p.queued.CompareAndSwap(false, true) {
		return false
	}
	p.hookPosting.Store(true)
	p.driver.DoFromGoroutine(p.woken, false)
	p.hookPosting.Store(false)
	return true
}

// runWokenPass is the pass wakeHook posted. It runs as runPass does, but
// the pump did not post it and is not waiting for it: it hears from it
// only when it must end, or wait less than it does.
func (p *Pump) runWokenPass() {
	// Run inside the poster's DoFromGoroutine, not on Fyne's goroutine,
	// it would be a driver whose loop has ended (it then runs posted
	// calls inline). Only while the post is in progress can that be:
	// goid, a microsecond, is asked only then.
	if p.hookPosting.Load() && goid() != p.fyneG.Load() {
		// The loop has ended and the driver runs posted calls inline.
		p.queued.Store(false)
		p.appStopped()
		return
	}
	res := p.passBody(nil)
	p.queued.Store(false)
	if !res.end && !p.waitsLonger(res.next) {
		return
	}
	p.wokenNext.Store(int64(res.next))
	if res.end {
		p.wokenEnd.Store(true)
	}
	// Under passMu, so that the pump, ending, has not closed the pipe.
	p.passMu.Lock()
	if !p.cancelled.Load() {
		unix.Write(p.nudgeW, nudgeByte[:]) // full: a nudge is pending already
	}
	p.passMu.Unlock()
}

var nudgeByte = [1]byte{1}

// waitsLonger reports whether the pump, asleep in poll, would sleep past
// next (a reactor timeout from now).
func (p *Pump) waitsLonger(next time.Duration) bool {
	deadline := p.pollDeadline.Load()
	switch {
	case deadline == notPolling:
		return true // about to poll with an older timeout
	case next < 0:
		return false
	case deadline == forever:
		return true
	}
	return time.Now().UnixNano()+int64(next) < deadline-int64(time.Millisecond)
}

// Stop ends the pump and returns the error that ended it early, if any: a
// failed pass or a failed wait. It may be called from any goroutine, any
// number of times, from reactor callbacks too. Called from a reactor
// callback, it returns at once and the pump ends when the pass is over;
// anywhere else it returns once the pump goroutine has ended and no pass
// runs any more, so that the caller may close the reactor or drive it
// itself. A pass already queued in Fyne but not started then does
// nothing when Fyne gets to it.
func (p *Pump) Stop() error {
	p.cancelled.Store(true)
	p.signalQuit()
	me := goid()
	onFyne := me == p.fyneG.Load()
	if onFyne {
		p.stopFrames()
	}
	if p.inPass.Load() && (onFyne || me == p.g.Load()) {
		return nil // from a callback: the pump ends after this pass
	}
	<-p.done
	if !onFyne && p.framesOn.Load() {
		// The frame check is Fyne's to remove, on its goroutine.
		p.driver.DoFromGoroutine(p.stopFrames, false)
	}
	return p.err
}

// Done returns a channel closed when the pump has ended and no pass runs
// any more: after Stop, when the reactor stopped or failed, or when the
// app stopped.
func (p *Pump) Done() <-chan struct{} { return p.done }

// signalQuit wakes the pump wherever it waits: on the descriptors (the
// stop pipe's write end is closed) or for a pass (quit is closed).
func (p *Pump) signalQuit() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.quitting {
		return
	}
	p.quitting = true
	close(p.quit)
	unix.Close(p.stopW)
}

// appStopped is called by the app's OnStopped hook: Fyne's loop has ended
// and will run no more posted calls.
func (p *Pump) appStopped() {
	p.cancelled.Store(true)
	p.signalQuit()
}

// loop is the pump goroutine: wait on the reactor's descriptor (without
// consuming anything) for at most the reactor's next timeout, post one
// pass to Fyne's goroutine, wait for it to finish, repeat. At most one
// pass is ever queued in Fyne, and no readiness is seen twice.
func (p *Pump) loop() {
	p.g.Store(goid())
	defer p.exit()
	fds := []unix.PollFd{
		{Fd: int32(p.bfd), Events: unix.POLLIN},
		{Fd: int32(p.stopR), Events: unix.POLLIN},
		{Fd: int32(p.nudgeR), Events: unix.POLLIN},
	}
	var nudge [64]byte
	ms := 0           // the first pass runs at once: calls queued before Start
	awaiting := false // a woken pass is running: wait for its nudge alone
	for {
		fds[0].Revents, fds[1].Revents, fds[2].Revents = 0, 0, 0
		switch {
		case awaiting:
			// pollDeadline stays notPolling: the woken pass nudges.
		case ms < 0:
			p.pollDeadline.Store(forever)
		case ms > 0:
			p.pollDeadline.Store(time.Now().Add(time.Duration(ms) * time.Millisecond).UnixNano())
		}
		_, err := unix.Poll(fds, ms)
		p.pollDeadline.Store(notPolling)
		p.polls.Add(1)
		fds[0].Fd, awaiting = int32(p.bfd), false
		if fds[2].Revents != 0 {
			// A woken pass ran and tells the pump to wait less, or to end.
			unix.Read(p.nudgeR, nudge[:])
			if p.wokenEnd.Load() {
				return
			}
			if err == nil && fds[0].Revents == 0 && fds[1].Revents == 0 {
				ms = millis(time.Duration(p.wokenNext.Load()))
				continue
			}
		}
		switch {
		case err == unix.EINTR:
			// Run a pass anyway: it costs little and recomputes the wait.
		case err != nil:
			p.failed = fmt.Errorf("fyneloop: poll: %w", err)
		case fds[1].Revents != 0:
			return // Stop, or the app stopped
		case fds[0].Revents&(unix.POLLNVAL|unix.POLLERR|unix.POLLHUP) != 0:
			p.failed = ErrBackendClosed
		}
		if !p.queued.CompareAndSwap(false, true) {
			// A pass wakeHook posted is queued or running: it will serve
			// this readiness, and nudges the pump when it is done (the
			// pump is not polling now, as it sees). Wait for that alone.
			fds[0].Fd, awaiting, ms = -1, true, -1
			continue
		}
		// With p.failed set, this last pass tells Fyne's goroutine
		// (OnStop) instead of running the reactor.
		p.posting.Store(true)
		p.driver.DoFromGoroutine(p.pass, false)
		p.posting.Store(false)
		select {
		case res := <-p.result:
			p.queued.Store(false)
			if res.end || p.failed != nil {
				p.err = cmp.Or(res.err, p.failed)
				return
			}
			ms = millis(res.next)
		case <-p.quit:
			return
		}
	}
}

// runPass runs on Fyne's goroutine (or, with a driver that runs posted
// calls inline, on the pump's): one RunOnce(0), then the reactor's next
// timeout back to the pump.
func (p *Pump) runPass() {
	if !p.onFyne() {
		p.result <- passResult{end: true}
		return
	}
	p.result <- p.passBody(p.failed)
}

// passBody is one pass on Fyne's goroutine: one RunOnce(0) (or, with
// failed set, the pump's failure told to OnStop instead), and what the
// pump must do next.
func (p *Pump) passBody(failed error) passResult {
	if p.cancelled.Load() {
		return passResult{end: true}
	}
	p.passMu.Lock()
	if p.cancelled.Load() { // Stop came while we waited for the lock
		p.passMu.Unlock()
		return passResult{end: true}
	}
	p.inPass.Store(true)
	err := failed
	if err == nil {
		err = p.r.RunOnce(0)
	}
	if err != nil || p.r.Stopped() {
		p.passErr = err
		p.stopFrames()
		p.stopped()
		if p.r.Stopped() {
			// The pump's run is over: the reactor may run again, under
			// another pump or its own Run (as reactor.Run leaves it).
			p.r.EndRun()
		}
		p.inPass.Store(false)
		p.passMu.Unlock()
		return passResult{end: true, err: err}
	}
	next := p.r.NextTimeout()
	if !p.inline.Load() {
		p.startFrames()
	}
	p.inPass.Store(false)
	p.passMu.Unlock()
	return passResult{next: next}
}

// onFyne reports whether a posted call runs where it should. Fyne's GLFW
// driver runs posted calls on its goroutine while its loop runs, and on
// the caller's goroutine once the loop has ended and drained its queue;
// Fyne's test driver always runs them on the caller's goroutine. So a call
// that runs inside DoFromGoroutine on the pump goroutine is fine only if no call ever
// ran elsewhere: the driver has no loop of its own.
func (p *Pump) onFyne() bool {
	if p.inline.Load() {
		return true
	}
	if p.posting.Load() && goid() == p.g.Load() {
		if p.fyneG.Load() != 0 {
			return false // the loop has ended
		}
		p.inline.Store(true)
		return true
	}
	if p.fyneG.Load() == 0 {
		p.fyneG.Store(goid())
	}
	return true
}

// stopped runs, on the reactor goroutine, what OnStop set.
func (p *Pump) stopped() {
	if p.onStop != nil {
		p.onStop()
	}
}

func (p *Pump) exit() {
	p.cancelled.Store(true)
	p.r.SetWakeHook(nil)
	p.signalQuit()
	// A pass that has started finishes before the pump counts as ended;
	// one still queued in Fyne will not start.
	p.passMu.Lock()
	if p.err == nil {
		p.err = p.passErr // the pump may have left on Stop before reading it
	}
	p.passMu.Unlock()
	unix.Close(p.stopR)
	p.watch.Stop()
	// A woken pass still queued finds cancelled set and writes nothing;
	// one running now holds passMu, which we took above.
	unix.Close(p.nudgeR)
	unix.Close(p.nudgeW)
	p.hook.remove(p)
	close(p.done)
}

// millis converts a reactor timeout to poll's milliseconds, rounding up
// so that a timer due in 0.3ms waits 1ms instead of spinning; -1 (no
// timer) waits indefinitely.
func millis(d time.Duration) int {
	if d < 0 {
		return -1
	}
	ms := d / time.Millisecond
	if d%time.Millisecond != 0 {
		ms++
	}
	return int(min(ms, math.MaxInt32))
}
