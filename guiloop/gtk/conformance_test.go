package gtkloop_test

import (
	"testing"

	"github.com/gotk3/gotk3/gtk"
	gtkloop "github.com/loomkit/loom/guiloop/gtk"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
)

// attachLoop drives its reactor as an existing GTK program would: Attach,
// gtk.Main on the GTK thread, detach. It asks for the reactor's signal
// handling, which the suite's signal cases expect.
type attachLoop struct{ r *reactor.Reactor }

func (l attachLoop) Reactor() *reactor.Reactor { return l.r }

func (l attachLoop) Run() error {
	var err error
	onMain(func() {
		var detach func()
		if detach, err = gtkloop.Attach(l.r, gtkloop.HandleSignals()); err != nil {
			return
		}
		gtk.Main()
		detach()
	})
	return err
}

// runLoop drives its reactor with gtkloop.Run.
type runLoop struct{ r *reactor.Reactor }

func (l runLoop) Reactor() *reactor.Reactor { return l.r }

func (l runLoop) Run() error {
	var err error
	onMain(func() { err = gtkloop.Run(l.r) })
	return err
}

func newReactor(t testing.TB, opts ...reactor.Option) *reactor.Reactor {
	t.Helper()
	r, err := reactor.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	// The poll backend opens its embedding descriptors on the first
	// BackendFD. Open them now, before the test's own: the suite's
	// fds/bad-descriptors-are-errors closes a reactortest.Pipe by hand and
	// Pipe's cleanup closes those numbers again, which would close the
	// reactor's descriptors if they had reused them.
	if _, err := r.BackendFD(); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestConformance(t *testing.T) {
	for _, backend := range reactor.Backends() {
		t.Run("attach/"+backend, func(t *testing.T) {
			reactortest.Run(t, func(t *testing.T, opts ...reactor.Option) reactortest.Loop {
				return attachLoop{newReactor(t, append([]reactor.Option{reactor.WithBackend(backend)}, opts...)...)}
			})
		})
	}
	t.Run("run/"+reactor.Backends()[0], func(t *testing.T) {
		reactortest.Run(t, func(t *testing.T, opts ...reactor.Option) reactortest.Loop {
			return runLoop{newReactor(t, opts...)}
		})
	})
}
