package fyneloop_test

import (
	"testing"

	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/transport/transporttest"
)

// TestTransportConformance runs the transports' conformance suite with
// the reactor driven by the running Fyne app, once per backend.
func TestTransportConformance(t *testing.T) {
	for _, name := range reactor.Backends() {
		t.Run(name, func(t *testing.T) { transporttest.Run(t, newLoop(theApp, name)) })
	}
}
