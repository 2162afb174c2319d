package deferred

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
)

// Failure is the error a failed Deferred or rejected Promise carries: it
// wraps the original error and keeps the stack of the place where the failure
// arose (the Errback or Reject call, the panic, or the code that ran the
// callback which returned the error). errors.Is and errors.As see through it.
//
// A Failure is immutable and may be read from any goroutine.
type Failure struct {
	err error
	pcs []uintptr
}

// maxFrames bounds the stack a Failure records.
const maxFrames = 32

// NewFailure returns err as a *Failure. If err already is, or wraps, a
// *Failure, the new one keeps that Failure's origin stack; otherwise the
// stack of NewFailure's caller is recorded. NewFailure(nil) returns nil.
// It may be called from any goroutine.
func NewFailure(err error) *Failure {
	if err == nil {
		return nil
	}
	return newFailure(err, 3)
}

// newFailure builds a Failure, recording the stack skip frames above
// runtime.Callers when err carries no Failure of its own.
func newFailure(err error, skip int) *Failure {
	if f, ok := err.(*Failure); ok {
		return f
	}
	var inner *Failure
	if errors.As(err, &inner) {
		return &Failure{err: err, pcs: inner.pcs}
	}
	var buf [maxFrames]uintptr
	n := runtime.Callers(skip, buf[:])
	return &Failure{err: err, pcs: append([]uintptr(nil), buf[:n]...)}
}

// panicFailure turns a recovered panic value into a Failure. It must be called
// from the deferred function that recovered, so that the recorded stack still
// holds the frames of the code that panicked.
func panicFailure(v any) *Failure {
	var buf [maxFrames]uintptr
	n := runtime.Callers(3, buf[:])
	return &Failure{err: &PanicError{Value: v}, pcs: append([]uintptr(nil), buf[:n]...)}
}

// Error returns the wrapped error's message. Any goroutine.
func (f *Failure) Error() string { return f.err.Error() }

// Unwrap returns the wrapped error. Any goroutine.
func (f *Failure) Unwrap() error { return f.err }

// Callers returns the program counters of the stack where the failure arose,
// innermost first, as runtime.Callers reports them. Any goroutine.
func (f *Failure) Callers() []uintptr { return f.pcs }

// Stack formats the stack where the failure arose, one "function\n\tfile:line"
// entry per frame, innermost first. Any goroutine.
func (f *Failure) Stack() string {
	var b strings.Builder
	frames := runtime.CallersFrames(f.pcs)
	for {
		fr, more := frames.Next()
		if fr.Function != "" {
			fmt.Fprintf(&b, "%s\n\t%s:%d\n", fr.Function, fr.File, fr.Line)
		}
		if !more {
			break
		}
	}
	return b.String()
}

// Format implements fmt.Formatter: %v and %s print the message, %+v adds the
// origin stack. Any goroutine.
func (f *Failure) Format(s fmt.State, verb rune) {
	switch verb {
	case 'v':
		io.WriteString(s, f.Error())
		if s.Flag('+') {
			io.WriteString(s, "\n")
			io.WriteString(s, f.Stack())
		}
	case 's':
		io.WriteString(s, f.Error())
	case 'q':
		fmt.Fprintf(s, "%q", f.Error())
	default:
		fmt.Fprintf(s, "%%!%c(*deferred.Failure=%s)", verb, f.Error())
	}
}

// PanicError is the error a Failure wraps when a callback, errback, canceller
// or coroutine body panics. If the panic value is an error, Unwrap returns it.
type PanicError struct {
	Value any
}

// Error reports the panic value.
func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Unwrap returns the panic value if it is an error, else nil.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// FirstError is the error of a DeferredList with FireOnOneErrback (and of
// Gather) when one of its Deferreds fails: Index is that Deferred's position
// and Err its failure. Unwrap returns Err.
type FirstError struct {
	Index int
	Err   error
}

// Error reports the index and the failure.
func (e *FirstError) Error() string { return fmt.Sprintf("FirstError[#%d, %v]", e.Index, e.Err) }

// Unwrap returns the failure of the Deferred at Index.
func (e *FirstError) Unwrap() error { return e.Err }

// FailureGroup is the error of Race when every Deferred failed: Errs holds
// their failures in list order. errors.Is and errors.As look into each.
type FailureGroup struct {
	Errs []error
}

// Error lists the failures.
func (g *FailureGroup) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "all %d Deferreds failed", len(g.Errs))
	for i, err := range g.Errs {
		fmt.Fprintf(&b, "; #%d: %v", i, err)
	}
	return b.String()
}

// Unwrap returns the failures.
func (g *FailureGroup) Unwrap() []error { return g.Errs }
