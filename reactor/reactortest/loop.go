package reactortest

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loomkit/loom/reactor"
)

// A Loop is one way of driving a reactor: the reactor's own Run, or a GUI
// toolkit's main loop with the reactor embedded in it.
type Loop interface {
	// Reactor returns the reactor the loop drives.
	Reactor() *reactor.Reactor
	// Run drives the reactor until it has stopped (reactor.Stop) and
	// returns; a loop that can be run again after that must be.
	Run() error
}

// NewLoop makes a fresh loop for one test, its reactor created with
// opts. It registers the loop's teardown, closing the reactor, with
// t.Cleanup.
type NewLoop func(t *testing.T, opts ...reactor.Option) Loop

// Plain returns a NewLoop for the reactor's own Run with the named
// backend.
func Plain(backend string) NewLoop {
	return func(t *testing.T, opts ...reactor.Option) Loop {
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
		return plainLoop{r}
	}
}

type plainLoop struct{ r *reactor.Reactor }

func (l plainLoop) Reactor() *reactor.Reactor { return l.r }
func (l plainLoop) Run() error                { return l.r.Run(context.Background()) }

// RunFor runs l until its reactor stops, failing t if that takes longer
// than limit (the reactor is then stopped so the test can end).
func RunFor(t testing.TB, l Loop, limit time.Duration) {
	t.Helper()
	r := l.Reactor()
	var late atomic.Bool
	watchdog := time.AfterFunc(limit, func() {
		late.Store(true)
		r.CallFromGoroutine(r.Stop)
	})
	err := l.Run()
	watchdog.Stop()
	if err != nil {
		t.Fatalf("loop: %v", err)
	}
	if late.Load() {
		t.Fatalf("loop still running after %v: stopped it", limit)
	}
}
