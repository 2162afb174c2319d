package fyneloop

import (
	"math"
	"time"

	"fyne.io/fyne/v2"
)

// Code on Fyne's goroutine outside reactor callbacks (widget handlers)
// may call CallSoon or CallLater, or Reset a timer. The reactor does not
// wake its backend for those (it does for Stop), so a pump asleep in
// poll until the deadline it was given would not notice them. The frame
// check notices: an animation that animates nothing lets the pump look at
// the reactor once per Fyne frame, on Fyne's goroutine, and wakes the
// pump when the reactor needs a pass sooner than the pump's wait ends.
// Work scheduled by a handler thus starts within a frame (1/60 s); an
// idle app posts nothing.
//
// The frames also tell that Fyne's loop is alive. The app's OnStopped
// hook ends the pump when the app stops, but Fyne 2.8.1 drops that hook
// now and then (its lifecycle goroutine posts it to the main queue, and
// the queue is being drained without running what it holds), so when no
// frame has come for quiet, a probe asks Fyne's loop: a call posted with
// wait that returns without having run, or that runs on the caller's
// goroutine, means the loop has ended, and the pump ends too.

// quiet is how long without a frame makes the pump probe Fyne's loop.
const quiet = 250 * time.Millisecond

// notPolling is pollDeadline's value while the pump is not waiting in
// poll: a pass is on its way, or the pump has not started or has ended.
const notPolling = 0

// forever is pollDeadline's value while the pump polls without a timeout.
const forever = math.MaxInt64

// newFrameCheck returns the animation that runs the frame check.
func (p *Pump) newFrameCheck() *fyne.Animation {
	a := fyne.NewAnimation(time.Second, p.frame)
	a.RepeatCount = fyne.AnimationRepeatForever
	a.Curve = fyne.AnimationLinear
	return a
}

// startFrames starts the frame check; it runs on Fyne's goroutine (Fyne's
// animation runner is not safe elsewhere), in a pass.
func (p *Pump) startFrames() {
	if !p.framesOn.Load() {
		p.framesOn.Store(true)
		p.driver.StartAnimation(p.frames)
		p.watch.Reset(quiet)
	}
}

// stopFrames stops the frame check, on Fyne's goroutine.
func (p *Pump) stopFrames() {
	if p.framesOn.Swap(false) {
		p.driver.StopAnimation(p.frames)
	}
	p.watch.Stop()
}

// frame runs on Fyne's goroutine once per frame.
func (p *Pump) frame(float32) {
	p.watch.Reset(quiet)
	deadline := p.pollDeadline.Load()
	if deadline == notPolling || p.inline.Load() {
		return
	}
	p.passMu.Lock()
	defer p.passMu.Unlock()
	if p.cancelled.Load() {
		return // the pump has ended: the reactor may be gone
	}
	next := p.r.NextTimeout()
	if next < 0 {
		return
	}
	if deadline != forever && time.Now().UnixNano()+int64(next) >= deadline-int64(time.Millisecond) {
		return // the pump wakes in time
	}
	if p.pollDeadline.CompareAndSwap(deadline, notPolling) {
		p.r.CallFromGoroutine(wake) // BackendFD polls readable
	}
}

func wake() {}

// probe runs when no frame came for quiet: Fyne's goroutine is busy, or
// its loop has ended.
func (p *Pump) probe() {
	if p.cancelled.Load() {
		return
	}
	ran, where := false, uint64(0)
	p.driver.DoFromGoroutine(func() { ran, where = true, goid() }, true)
	if !ran || where != p.fyneG.Load() {
		p.appStopped() // dropped by the drain, or run inline after it
	}
	// Otherwise Fyne was only busy: its frames re-arm the watch.
}
