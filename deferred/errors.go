package deferred

import (
	"errors"
	"fmt"
)

var (
	// ErrAlreadyCalled is returned by Callback and Errback on a Deferred that
	// already has a result, and by a Resolver on a settled Promise
	// (Twisted's AlreadyCalledError).
	ErrAlreadyCalled = errors.New("deferred: already called")

	// ErrCancelled is the failure of a Deferred or Promise that was cancelled
	// and whose canceller did not give it another result (Twisted's
	// CancelledError). Await returns it inside a cancelled coroutine.
	ErrCancelled = errors.New("deferred: cancelled")

	// ErrTimeout is the failure of a Deferred timed out by AddTimeout
	// (Twisted's TimeoutError).
	ErrTimeout = errors.New("deferred: timed out")

	// ErrQueueOverflow is returned by Queue.Put when the queue already holds
	// its size limit of values (Twisted's QueueOverflow).
	ErrQueueOverflow = errors.New("deferred: queue overflow")

	// ErrQueueUnderflow is the failure of Queue.Get when the backlog limit of
	// waiting Gets is already reached (Twisted's QueueUnderflow).
	ErrQueueUnderflow = errors.New("deferred: queue underflow")

	// ErrNotAcquired is returned by Lock.Release on an unlocked Lock and by
	// Semaphore.Release when every token is already free.
	ErrNotAcquired = errors.New("deferred: released more often than acquired")

	// ErrTypeMismatch is the failure of a Promise made by FromDeferred when
	// the Deferred's result does not have the promised type.
	ErrTypeMismatch = errors.New("deferred: result has the wrong type")

	// ErrWaitCycle is wrapped by the failure a Deferred gets when it would
	// wait on itself: a callback that returns the Deferred it was added to,
	// or a Cancel of Deferreds that wait on each other in a ring (each
	// callback returned the next one), which can never fire otherwise. It
	// is also what Await returns when cancelling a coroutine comes back to
	// it through coroutines that await each other.
	ErrWaitCycle = errors.New("deferred: Deferreds wait on each other in a cycle")

	// ErrLoopClosed is wrapped by the error a coroutine's Await returns, and
	// its promise is rejected with, when the loop it runs on is closed, and
	// by the error of a Wait for a result that the closed loop can no
	// longer deliver.
	ErrLoopClosed = errors.New("deferred: loop closed")

	// ErrNil is wrapped by the error of a call given nil where it needs a
	// value: a nil *Deferred, *Promise, Co, Loop or function, a nil member
	// of a DeferredList, Gather or Race, or a zero Resolver. The error's
	// message names what was nil.
	ErrNil = errors.New("deferred: nil argument")
)

// nilError is a misuse: what was nil.
type nilError struct{ what string }

func (e *nilError) Error() string { return "deferred: " + e.what + " is nil" }
func (e *nilError) Unwrap() error { return ErrNil }

func errNil(what string) error { return &nilError{what} }

var (
	errDeferredResult   = errors.New("deferred: Callback called with a *Deferred; return it from a callback to chain")
	errNilError         = errors.New("deferred: Errback called with a nil error")
	errCircular         = fmt.Errorf("%w: a callback returned the Deferred it was attached to", ErrWaitCycle)
	errAwaitOutsideBody = errors.New("deferred: Await called outside the body of its coroutine")
	errLoopClosed       = fmt.Errorf("%w while the coroutine awaited", ErrLoopClosed)
	errLoopClosedStart  = fmt.Errorf("%w before the coroutine started", ErrLoopClosed)
	errLoopClosedParked = fmt.Errorf("%w at another cgo-callback depth than the coroutine was made at; its goroutine stays parked", ErrLoopClosed)
	errWaitClosed       = fmt.Errorf("%w before the awaited result came", ErrLoopClosed)
	errAwaitCycle       = fmt.Errorf("%w: cancelling what a coroutine awaits came back to cancel the coroutine", ErrWaitCycle)
)
