package fyneloop

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"

	"github.com/loomkit/loom/internal/inspect"
	"github.com/loomkit/loom/reactor"
)

const (
	inspectorTitle = "loom inspector"
	// inspectorEvery is how often an open inspector reads the figures
	// again.
	inspectorEvery = 250 * time.Millisecond
)

// Inspect opens a window titled "loom inspector" that shows what r is
// doing, read again four times a second while the window is open: the
// reactor's counters (passes, callbacks of each kind, panics, slow
// callbacks) with their rates per second, its gauges (watched
// descriptors, pending timers, queued calls), pass time and timer lag
// (count, mean, p50, p99, max and the histogram's buckets), the slowest
// recent callbacks with the function and the line that registered each,
// and the watched descriptors with what each is (socket:[…], pipe:[…], a
// path) and the functions that watch it.
//
// While the window is open the reactor times its passes
// (reactor.TimePasses) and detects slow callbacks
// (reactor.HoldSlowCallbacks: with the program's threshold, or the
// default, FrameThreshold under a Pump); when it closes, timing stops and
// detection is as the program set it, so a closed inspector costs
// nothing. Closing the window, calling close (any number of times) or
// closing the reactor closes the inspector. Inspect on a reactor whose
// inspector is open brings that window to the front and returns its
// close.
//
// Inspect and close must be called on the reactor goroutine while it is
// Fyne's goroutine: in a reactor callback or a widget handler while a
// Pump drives r, or in main before a.Run.
func Inspect(a fyne.App, r *reactor.Reactor) (close func(), err error) {
	in, err := openInspector(a, r)
	if err != nil {
		return nil, err
	}
	return in.close, nil
}

// inspector is an open inspector window and what it holds on its
// reactor.
type inspector struct {
	r      *reactor.Reactor
	driver fyne.Driver
	w      fyne.Window
	view   *inspectorView

	timer       *reactor.DelayedCall // the next refresh
	tick        func()               // in.run, bound once
	untime      func()               // ends TimePasses
	releaseSlow func()               // the hold on slow-callback detection
	unhook      func()               // removes the OnClose hook
	stopped     atomic.Bool
}

// inspectors are the open inspectors, one per reactor at most.
var inspectors struct {
	sync.Mutex
	open map[*reactor.Reactor]*inspector
}

func openInspector(a fyne.App, r *reactor.Reactor) (*inspector, error) {
	if a == nil || r == nil {
		return nil, errors.New("fyneloop: Inspect needs an app and a reactor")
	}
	if r.Closed() {
		return nil, errors.New("fyneloop: Inspect: the reactor is closed")
	}
	inspectors.Lock()
	in := inspectors.open[r]
	inspectors.Unlock()
	if in != nil {
		in.w.Show()
		in.w.RequestFocus()
		return in, nil
	}

	in = &inspector{r: r, driver: a.Driver(), view: newInspectorView(inspect.DescribeFD)}
	in.tick = in.run
	in.untime = r.TimePasses()
	in.releaseSlow = r.HoldSlowCallbacks()
	in.unhook = r.OnClose(in.reactorClosing)
	in.w = a.NewWindow(inspectorTitle)
	in.w.SetContent(in.view.content)
	in.w.Resize(fyne.NewSize(960, 760))
	in.w.SetOnClosed(in.windowClosed)
	in.refresh()
	in.timer = r.CallLater(inspectorEvery, in.tick)

	inspectors.Lock()
	if inspectors.open == nil {
		inspectors.open = make(map[*reactor.Reactor]*inspector)
	}
	inspectors.open[r] = in
	inspectors.Unlock()
	in.w.Show()
	return in, nil
}

// run is the refresh timer's callback: it refreshes the window and
// schedules the next refresh.
func (in *inspector) run() {
	if in.stopped.Load() {
		return
	}
	in.refresh()
	in.timer = in.r.CallLater(inspectorEvery, in.tick)
}

// refresh reads the reactor's figures and shows them.
func (in *inspector) refresh() {
	r := in.r
	in.view.show(r.Now(), r.Stats(), r.SlowThreshold(), r.SlowCallbacks(), r.Descriptors())
}

// stop ends what the open inspector does on its reactor: the refresh
// timer, TimePasses, the detection it turned on and its OnClose hook. It
// reports whether it did, which only its first call does.
func (in *inspector) stop() bool {
	if !in.stopped.CompareAndSwap(false, true) {
		return false
	}
	in.timer.Cancel()
	in.untime()
	in.releaseSlow()
	in.unhook()
	inspectors.Lock()
	delete(inspectors.open, in.r)
	inspectors.Unlock()
	return true
}

// close is Inspect's close: it stops the inspector and closes its
// window.
func (in *inspector) close() {
	if in.stop() {
		in.w.Close() // its OnClosed hook finds the inspector stopped
	}
}

// windowClosed is the window's OnClosed hook: the window closes, by its
// close button or by close.
func (in *inspector) windowClosed() { in.stop() }

// reactorClosing is the reactor's OnClose hook. Close runs it on the
// goroutine that calls Close, maybe not Fyne's, so it posts the window's
// closing to Fyne.
func (in *inspector) reactorClosing() {
	if in.stop() {
		in.driver.DoFromGoroutine(in.w.Close, false)
	}
}
