package fyneloop_test

import (
	"testing"

	"github.com/loomkit/loom/protocol/protocoltest"
	"github.com/loomkit/loom/reactor"
)

// TestHTTPConformance runs the HTTP client's suite with the reactor driven
// by the running Fyne app, once per backend.
func TestHTTPConformance(t *testing.T) {
	for _, name := range reactor.Backends() {
		t.Run(name, func(t *testing.T) { protocoltest.RunHTTP(t, newLoop(theApp, name)) })
	}
}
