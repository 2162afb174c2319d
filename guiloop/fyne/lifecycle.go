package fyneloop

import (
	"errors"
	"reflect"
	"sync"

	"fyne.io/fyne/v2"
)

// ErrAppStopped is returned by Start for an app whose loop has already
// ended.
var ErrAppStopped = errors.New("fyneloop: the app has stopped")

// appHook ends an app's pumps when the app stops. Each app's lifecycle
// gets one, chained into its OnStopped hook by the first Start.
type appHook struct {
	mu      sync.Mutex
	pumps   map[*Pump]struct{}
	stopped bool
}

var (
	hooksMu sync.Mutex
	hooks   = map[fyne.Lifecycle]*appHook{}
)

// chainable is what Fyne's own lifecycle offers beyond fyne.Lifecycle:
// the hook in place, and the internal clean-up hook that OnStopped
// already includes.
type chainable interface {
	OnStopped() func()
	SetOnStoppedHookExecuted(func())
}

// hookApp returns a's hook, chaining it into the app's OnStopped hook the
// first time. A lifecycle that cannot be chained is left alone, rather
// than lose the program's own hook: the frame check's watchdog then finds
// the end of the app's loop (frames.go), or the program calls Stop.
func hookApp(a fyne.App) (*appHook, error) {
	lc := a.Lifecycle()
	if lc == nil || !reflect.TypeOf(lc).Comparable() {
		return &appHook{pumps: make(map[*Pump]struct{})}, nil
	}
	hooksMu.Lock()
	defer hooksMu.Unlock()
	if h, ok := hooks[lc]; ok {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.stopped {
			return nil, ErrAppStopped
		}
		return h, nil
	}
	h := &appHook{pumps: make(map[*Pump]struct{})}
	hooks[lc] = h
	if c, ok := lc.(chainable); ok {
		prev := c.OnStopped() // the program's hook and Fyne's clean-up
		c.SetOnStoppedHookExecuted(nil)
		lc.SetOnStopped(func() {
			h.fire()
			if prev != nil {
				prev()
			}
		})
	}
	return h, nil
}

func (h *appHook) add(p *Pump) {
	h.mu.Lock()
	h.pumps[p] = struct{}{}
	h.mu.Unlock()
}

func (h *appHook) remove(p *Pump) {
	h.mu.Lock()
	delete(h.pumps, p)
	h.mu.Unlock()
}

// fire ends every pump of the app and waits until they have ended, so
// that the program's own OnStopped hook, which runs next, may close the
// reactor.
func (h *appHook) fire() {
	h.mu.Lock()
	h.stopped = true
	pumps := make([]*Pump, 0, len(h.pumps))
	for p := range h.pumps {
		pumps = append(pumps, p)
	}
	h.mu.Unlock()
	for _, p := range pumps {
		p.appStopped()
	}
	for _, p := range pumps {
		<-p.done
	}
}
