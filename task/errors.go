package task

import (
	"errors"
	"fmt"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
)

var (
	// ErrNegativeInterval is the failure of LoopingCall.Start and
	// WaitForFile, and the error of LoopingCall.SetInterval, for an
	// interval below zero (Twisted's ValueError).
	ErrNegativeInterval = errors.New("task: interval must not be negative")

	// ErrAlreadyRunning is the failure of LoopingCall.Start on a
	// LoopingCall that is already running.
	ErrAlreadyRunning = errors.New("task: looping call already running")

	// ErrNotRunning is returned by LoopingCall.Stop and LoopingCall.Reset
	// on a LoopingCall that is not running.
	ErrNotRunning = errors.New("task: looping call not running")

	// ErrTaskFinished is wrapped by the errors of a CooperativeTask that
	// can no longer be paused or stopped: ErrTaskDone, ErrTaskStopped,
	// ErrTaskFailed and ErrCooperatorStopped (Twisted's TaskFinished).
	ErrTaskFinished = errors.New("task: task finished")

	// ErrTaskDone is returned by CooperativeTask.Pause and Stop once the
	// task's job is exhausted (Twisted's TaskDone).
	ErrTaskDone = fmt.Errorf("%w: job exhausted", ErrTaskFinished)

	// ErrTaskStopped is returned by CooperativeTask.Pause and Stop once the
	// task was stopped with Stop, and is the failure of its WhenDone
	// Deferreds (Twisted's TaskStopped).
	ErrTaskStopped = fmt.Errorf("%w: stopped", ErrTaskFinished)

	// ErrTaskFailed is returned by CooperativeTask.Pause and Stop once the
	// task's job has panicked, yielded an error or yielded a Deferred that
	// failed (Twisted's TaskFailed). The WhenDone Deferreds fail with the
	// job's own error, not this one.
	ErrTaskFailed = fmt.Errorf("%w: failed", ErrTaskFinished)

	// ErrCooperatorStopped is returned by CooperativeTask.Pause and Stop
	// once the task's Cooperator was stopped, before or while the task ran,
	// and is the failure of its WhenDone Deferreds (Twisted's
	// SchedulerStopped).
	ErrCooperatorStopped = fmt.Errorf("%w: cooperator stopped", ErrTaskFinished)

	// ErrNotPaused is returned by CooperativeTask.Resume on a task that is
	// not paused.
	ErrNotPaused = errors.New("task: task not paused")
)

var (
	errNoSeq = errors.New("task: no iterator to run")

	// errCooperatorClosed is what the WhenDone Deferreds of the tasks
	// ended by the reactor's Close fail with.
	errCooperatorClosed = fmt.Errorf("%w by the reactor's Close: %w", ErrCooperatorStopped, reactor.ErrClosed)
)

// endedByClose is the failure of work that the reactor's Close ended.
func endedByClose(what string) error {
	return fmt.Errorf("task: %s ended by the reactor's Close: %w", what, reactor.ErrClosed)
}

// onClosed is the failure of work started on a reactor already closed.
func onClosed(what string) error {
	return fmt.Errorf("task: %s on a closed reactor: %w", what, reactor.ErrClosed)
}

// misuse is the error of a call that cannot work: on a nil or zero
// value, or with a nil argument. It wraps deferred.ErrNil, as the
// deferred package's errors for the same mistakes do.
func misuse(what string) error { return &nilError{what} }

type nilError struct{ what string }

func (e *nilError) Error() string { return "task: " + e.what }
func (e *nilError) Unwrap() error { return deferred.ErrNil }
