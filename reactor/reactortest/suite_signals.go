package reactortest

import (
	"syscall"
	"testing"
)

func init() {
	add("signals/on-signal-runs-on-the-loop", func(t *testing.T, newLoop NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		got := 0
		stop := r.OnSignal(syscall.SIGUSR1, func() { got++; r.Stop() })
		r.CallSoon(func() { syscall.Kill(syscall.Getpid(), syscall.SIGUSR1) })
		RunFor(t, l, limit)
		stop()
		if got != 1 {
			t.Errorf("handler ran %d times", got)
		}
	})

	add("signals/sigterm-stops-the-loop", func(t *testing.T, newLoop NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		// The first pass installs the handler, before queued calls run.
		r.CallSoon(func() { syscall.Kill(syscall.Getpid(), syscall.SIGTERM) })
		RunFor(t, l, limit)
	})
}
