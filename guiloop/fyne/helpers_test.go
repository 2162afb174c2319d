package fyneloop_test

import (
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2"

	fyneloop "github.com/loomkit/loom/guiloop/fyne"
	"github.com/loomkit/loom/reactor"
)

// countingApp is the test app seen through a driver that counts the
// calls posted to Fyne's goroutine.
type countingApp struct {
	fyne.App
	d *countingDriver
}

func (a *countingApp) Driver() fyne.Driver { return a.d }

func counting(a fyne.App) *countingApp {
	return &countingApp{a, &countingDriver{Driver: a.Driver()}}
}

// countingDriver counts posts, and those queued in Fyne but not yet
// started (outstanding), with the most ever outstanding at once.
type countingDriver struct {
	fyne.Driver
	posts, outstanding, most atomic.Int64
}

func (d *countingDriver) DoFromGoroutine(f func(), wait bool) {
	d.posts.Add(1)
	n := d.outstanding.Add(1)
	for m := d.most.Load(); n > m && !d.most.CompareAndSwap(m, n); m = d.most.Load() {
	}
	d.Driver.DoFromGoroutine(func() { d.outstanding.Add(-1); f() }, wait)
}

// newReactor makes a reactor with the named backend, closed when t ends.
func newReactor(t testing.TB, backend string, opts ...reactor.Option) *reactor.Reactor {
	t.Helper()
	r, err := reactor.New(append([]reactor.Option{reactor.WithBackend(backend)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

// start starts a pump in a that leaves the app running when the reactor
// stops, and stops it when t ends.
func start(t testing.TB, a fyne.App, r *reactor.Reactor, opts ...fyneloop.Option) *fyneloop.Pump {
	t.Helper()
	p, err := fyneloop.Start(a, r, append([]fyneloop.Option{fyneloop.OnStop(nil)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop() })
	return p
}

// waitDone waits for the pump to end, failing t after limit.
func waitDone(t testing.TB, p *fyneloop.Pump, limit time.Duration) {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(limit):
		t.Fatalf("pump still running after %v", limit)
	}
}

// within waits for ch, failing t after limit.
func within[T any](t testing.TB, ch <-chan T, limit time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(limit):
		t.Fatalf("%s: nothing after %v", what, limit)
		panic("unreachable")
	}
}

// eachBackend runs f as a subtest per reactor backend.
func eachBackend(t *testing.T, f func(t *testing.T, backend string)) {
	for _, name := range reactor.Backends() {
		t.Run(name, func(t *testing.T) { f(t, name) })
	}
}
