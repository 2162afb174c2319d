package gtkloop_test

import (
	"testing"

	"github.com/loomkit/loom/protocol/protocoltest"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
)

// TestHTTPConformance runs the HTTP client's suite with the reactor inside
// GLib's main loop, attached and run: progress, bodies and cancels, every
// callback on the GTK thread.
func TestHTTPConformance(t *testing.T) {
	for _, backend := range reactor.Backends() {
		t.Run("attach/"+backend, func(t *testing.T) {
			protocoltest.RunHTTP(t, func(t *testing.T, opts ...reactor.Option) reactortest.Loop {
				return attachLoop{newReactor(t, append([]reactor.Option{reactor.WithBackend(backend)}, opts...)...)}
			})
		})
	}
	t.Run("run/"+reactor.Backends()[0], func(t *testing.T) {
		protocoltest.RunHTTP(t, func(t *testing.T, opts ...reactor.Option) reactortest.Loop {
			return runLoop{newReactor(t, opts...)}
		})
	})
}
