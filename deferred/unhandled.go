package deferred

import (
	"log/slog"
	"runtime"
	"sync/atomic"
)

var logger atomic.Pointer[slog.Logger]

// SetLogger sets the logger that reports failures nobody handled (a Deferred
// or Promise garbage collected while its result is a failure), panics in
// Promise observers and panics in event observers. nil restores the default,
// slog.Default(). It may be called from any goroutine.
func SetLogger(l *slog.Logger) {
	logger.Store(l)
}

func currentLogger() *slog.Logger {
	if l := logger.Load(); l != nil {
		return l
	}
	return slog.Default()
}

// tracker watches one unhandled failure: while it is registered, the
// failure is reported if its owner becomes unreachable.
type tracker struct {
	failure *Failure
	cleanup runtime.Cleanup
}

// unhandledReport is what a cleanup receives. It must not refer to the
// Deferred or Promise it watches, or that object would never be collected.
type unhandledReport struct {
	what    string
	failure *Failure
}

func reportUnhandled(r unhandledReport) {
	currentLogger().Error("unhandled error in "+r.what,
		slog.String("error", r.failure.Error()),
		slog.String("stack", r.failure.Stack()))
}

// track arranges for f to be reported when owner is collected, replacing any
// failure tracked before. It returns the tracker to keep in owner.
func track[O any](t *tracker, owner *O, what string, f *Failure) *tracker {
	if t != nil {
		if t.failure == f {
			return t
		}
		t.cleanup.Stop()
	} else {
		t = new(tracker)
	}
	t.failure = f
	t.cleanup = runtime.AddCleanup(owner, reportUnhandled, unhandledReport{what: what, failure: f})
	return t
}

// untrack stops reporting t's failure. It returns nil to store in the owner.
func untrack(t *tracker) *tracker {
	if t != nil {
		t.cleanup.Stop()
	}
	return nil
}
