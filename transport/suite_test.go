package transport_test

import (
	"testing"

	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/transport/transporttest"
)

func TestConformance(t *testing.T) {
	for _, name := range reactor.Backends() {
		t.Run(name, func(t *testing.T) { transporttest.Run(t, reactortest.Plain(name)) })
	}
}
