package fyneloop_test

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"

	fyneloop "github.com/loomkit/loom/guiloop/fyne"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
)

// TestConformance runs the reactor's conformance suite with the reactor
// driven by the running Fyne app (GLFW driver, under X), once per
// backend.
func TestConformance(t *testing.T) {
	for _, name := range reactor.Backends() {
		t.Run(name, func(t *testing.T) { reactortest.Run(t, newLoop(theApp, name)) })
	}
}

// fyneLoop is a reactortest.Loop whose Run starts a pump in the running
// app and returns when the reactor has stopped, leaving the app running
// (OnStop(nil)): the one app serves every case.
type fyneLoop struct {
	app fyne.App
	r   *reactor.Reactor
}

func (l *fyneLoop) Reactor() *reactor.Reactor { return l.r }

func (l *fyneLoop) Run() error {
	p, err := fyneloop.Start(l.app, l.r, fyneloop.OnStop(nil))
	if err != nil {
		return err
	}
	<-p.Done()
	return p.Stop()
}

func newLoop(a fyne.App, backend string) reactortest.NewLoop {
	return func(t *testing.T, opts ...reactor.Option) reactortest.Loop {
		t.Helper()
		if strings.HasSuffix(t.Name(), "/signals/sigterm-stops-the-loop") {
			// Fyne's GLFW driver quits the app on SIGTERM too (its
			// catchTerm), and this process has one app for every test.
			t.Skip("SIGTERM quits the shared Fyne app: covered in a process of its own by TestAppStops/sigterm")
		}
		r, err := reactor.New(append([]reactor.Option{reactor.WithBackend(backend)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := r.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		// Open the backend's descriptor now, not in Run: the poll
		// backend opens its helper's descriptors on the first BackendFD,
		// and the case fds/bad-descriptors-are-errors closes two
		// descriptors by hand whose Pipe cleanup closes them again at the
		// end; opened in Run, the helper would get those numbers and lose
		// them to that second close.
		if _, err := r.BackendFD(); err != nil {
			t.Fatal(err)
		}
		return &fyneLoop{a, r}
	}
}
