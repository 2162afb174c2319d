package gtkloop_test

import (
	"testing"

	"github.com/loomkit/loom/process/processtest"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
)

// TestProcessConformance runs the process suite with the reactor inside
// GLib's main loop, attached and run, as TestTransportConformance does.
func TestProcessConformance(t *testing.T) {
	for _, backend := range reactor.Backends() {
		t.Run("attach/"+backend, func(t *testing.T) {
			processtest.Run(t, func(t *testing.T, opts ...reactor.Option) reactortest.Loop {
				return attachLoop{newReactor(t, append([]reactor.Option{reactor.WithBackend(backend)}, opts...)...)}
			})
		})
	}
	t.Run("run/"+reactor.Backends()[0], func(t *testing.T) {
		processtest.Run(t, func(t *testing.T, opts ...reactor.Option) reactortest.Loop {
			return runLoop{newReactor(t, opts...)}
		})
	})
}
