package fyneloop_test

import (
	"testing"

	"github.com/loomkit/loom/process/processtest"
	"github.com/loomkit/loom/reactor"
)

// TestProcessConformance runs the process suite with the reactor driven
// by the running Fyne app, once per backend.
func TestProcessConformance(t *testing.T) {
	for _, name := range reactor.Backends() {
		t.Run(name, func(t *testing.T) { processtest.Run(t, newLoop(theApp, name)) })
	}
}
