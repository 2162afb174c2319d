package deferred

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// These tests follow Twisted's LogTests: a failure left as a Deferred's
// result when it is garbage collected is logged; one that was handled, or
// handed on to another Deferred, is not.

//go:noinline
func dropFailingDeferred(msg string) {
	New().AddCallback(func(any) any { panic(errors.New(msg)) }).Callback(1)
}

func TestUnhandledFailureLogged(t *testing.T) {
	logs := captureLogs(t)
	dropFailingDeferred("unhandled-in-callback")
	rec := waitForLog(t, logs, "unhandled error in Deferred", "unhandled-in-callback")
	if !strings.Contains(rec.attrs["stack"], "dropFailingDeferred") {
		t.Fatalf("stack does not show the origin:\n%s", rec.attrs["stack"])
	}
}

//go:noinline
func dropErrbackedDeferred(msg string) {
	d := New()
	d.AddCallback(func(v any) any { return v })
	d.Errback(errors.New(msg))
}

func TestUnhandledErrbackLogged(t *testing.T) {
	logs := captureLogs(t)
	dropErrbackedDeferred("unhandled-errback")
	rec := waitForLog(t, logs, "unhandled error in Deferred", "unhandled-errback")
	if !strings.Contains(rec.attrs["stack"], "dropErrbackedDeferred") {
		t.Fatalf("stack does not show the Errback call:\n%s", rec.attrs["stack"])
	}
}

// assertNotLogged collects garbage a few times and checks no record about
// errText appeared.
func assertNotLogged(t *testing.T, logs *logCapture, errText string) {
	t.Helper()
	for range 3 {
		collectGarbage(t)
		time.Sleep(5 * time.Millisecond)
	}
	if recs := logs.find("unhandled error in Deferred", errText); len(recs) > 0 {
		t.Fatalf("logged: %v", recs)
	}
	if recs := logs.find("unhandled error in Promise", errText); len(recs) > 0 {
		t.Fatalf("logged: %v", recs)
	}
}

//go:noinline
func dropHandledDeferred(msg string) {
	d := Fail(errors.New(msg))
	d.AddErrback(func(error) any { return "fine" })
}

func TestHandledFailureNotLogged(t *testing.T) {
	logs := captureLogs(t)
	dropHandledDeferred("handled-later")
	// A failure handled later, after the Deferred was already failed.
	dropFailingDeferred("control-logged")
	waitForLog(t, logs, "unhandled error in Deferred", "control-logged")
	assertNotLogged(t, logs, "handled-later")
}

//go:noinline
func dropChainedError(msg string) {
	d := New()
	d.AddCallback(func(any) any { return Fail(errors.New(msg)) })
	d.Callback(nil)
	d.AddErrback(func(error) any { return nil })
}

func TestChainedErrorCleanup(t *testing.T) {
	logs := captureLogs(t)
	dropChainedError("chained-error")
	assertNotLogged(t, logs, "chained-error")
}

//go:noinline
func dropErrorClearedByChaining(msg string) {
	bad := Fail(errors.New(msg))
	good := New()
	bad.AddErrback(func(error) any { return good })
}

func TestErrorClearedByChaining(t *testing.T) {
	logs := captureLogs(t)
	dropErrorClearedByChaining("cleared-by-chaining")
	assertNotLogged(t, logs, "cleared-by-chaining")
}

//go:noinline
func dropRejectedPromise(msg string, observe bool) {
	p, r := NewPromise[int]()
	p.OnValue(func(int) {})
	if observe {
		p.OnError(func(error) {})
	}
	r.Reject(errors.New(msg))
}

func TestUnhandledPromiseRejectionLogged(t *testing.T) {
	logs := captureLogs(t)
	dropRejectedPromise("promise-unhandled", false)
	dropRejectedPromise("promise-handled", true)
	waitForLog(t, logs, "unhandled error in Promise", "promise-unhandled")
	assertNotLogged(t, logs, "promise-handled")
}

func TestSetLoggerNilRestoresDefault(t *testing.T) {
	c := &logCapture{}
	SetLogger(slog.New(c))
	if currentLogger().Handler() != c {
		t.Fatal("logger not set")
	}
	SetLogger(nil)
	if currentLogger() != slog.Default() {
		t.Fatal("nil did not restore slog.Default")
	}
	SetLogger(slog.New(slog.DiscardHandler))
}

func TestTrackingFollowsTheCurrentResult(t *testing.T) {
	d := Fail(errGeneric)
	if d.unhandled == nil {
		t.Fatal("failure not tracked")
	}
	d.AddErrback(func(error) any { return nil })
	if d.unhandled != nil {
		t.Fatal("handled failure still tracked")
	}
	d.AddCallback(func(any) any { return errors.New("again") })
	if d.unhandled == nil || d.unhandled.failure.Unwrap().Error() != "again" {
		t.Fatal("new failure not tracked")
	}
	d.AddErrback(func(error) any { return nil })
	if d.unhandled != nil {
		t.Fatal("still tracked")
	}
	if s := Succeed(1); s.unhandled != nil {
		t.Fatal("a success is tracked")
	}
}
