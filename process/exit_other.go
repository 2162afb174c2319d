//go:build !linux && !darwin && !dragonfly && !freebsd && !netbsd && !openbsd

package process

import (
	"time"

	"github.com/loomkit/loom/reactor"
)

// nativeWatch elsewhere watches nothing: the goroutine in Wait does.
type nativeWatch struct{}

func (w *nativeWatch) start(p *Process) bool     { return false }
func (w *nativeWatch) stop(r *reactor.Reactor)   {}
func (w *nativeWatch) wait(d time.Duration) bool { return false }
