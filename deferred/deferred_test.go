package deferred

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// These tests follow twisted/test/test_defer.py's DeferredTests, one Go test
// per Twisted test where the behaviour carries over.

var errGeneric = errors.New("generic error")

type callRecorder struct {
	callback, callback2 []any
	errback             []error
}

func (r *callRecorder) cb(v any) any  { r.callback = append(r.callback, v); return v }
func (r *callRecorder) cb2(v any) any { r.callback2 = append(r.callback2, v); return nil }
func (r *callRecorder) eb(err error) any {
	r.errback = append(r.errback, err)
	return nil
}

func TestCallbackWithoutArgs(t *testing.T) {
	var r callRecorder
	d := New()
	d.AddCallback(r.cb)
	d.Callback("hello")
	if r.errback != nil || !reflect.DeepEqual(r.callback, []any{"hello"}) {
		t.Fatalf("callback got %v, errback %v", r.callback, r.errback)
	}
}

// Twisted passes extra arguments after the result; in Go the closure
// captures them.
func TestCallbackWithArgs(t *testing.T) {
	var got []any
	withArgs := func(world string) func(any) any {
		return func(v any) any { got = append(got, v, world); return v }
	}
	d := New()
	d.AddCallback(withArgs("world"))
	d.Callback("hello")
	if !reflect.DeepEqual(got, []any{"hello", "world"}) {
		t.Fatalf("got %v", got)
	}
}

func TestTwoCallbacks(t *testing.T) {
	var r callRecorder
	d := New()
	d.AddCallback(r.cb)
	d.AddCallback(r.cb2)
	d.Callback("hello")
	if !reflect.DeepEqual(r.callback, []any{"hello"}) || !reflect.DeepEqual(r.callback2, []any{"hello"}) {
		t.Fatalf("got %v and %v", r.callback, r.callback2)
	}
}

func TestAddCallbacksNilErrbackPassesThrough(t *testing.T) {
	var r callRecorder
	d := New()
	d.AddCallbacks(r.cb, nil)
	d.Errback(errGeneric)
	d.AddErrback(r.eb)
	if r.callback != nil || len(r.errback) != 1 || !errors.Is(r.errback[0], errGeneric) {
		t.Fatalf("callback %v errback %v", r.callback, r.errback)
	}
}

func TestResultsFeedTheNextCallback(t *testing.T) {
	d := New()
	d.AddCallback(func(v any) any { return v.(int) + 1 }).
		AddCallback(func(v any) any { return v.(int) * 10 })
	d.Callback(1)
	if got := resultOf(t, d); got != 20 {
		t.Fatalf("got %v, want 20", got)
	}
}

func TestImmediateSuccess(t *testing.T) {
	var got []any
	Succeed("success").AddCallback(func(v any) any { got = append(got, v); return nil })
	if !reflect.DeepEqual(got, []any{"success"}) {
		t.Fatalf("got %v", got)
	}
}

func TestImmediateFailure(t *testing.T) {
	var got []error
	Fail(errors.New("fail")).AddErrback(func(err error) any { got = append(got, err); return nil })
	if len(got) != 1 || got[0].Error() != "fail" {
		t.Fatalf("got %v", got)
	}
}

func TestPausedFailure(t *testing.T) {
	var got []error
	d := Fail(errors.New("fail"))
	d.Pause()
	d.AddErrback(func(err error) any { got = append(got, err); return nil })
	if got != nil {
		t.Fatalf("errback ran while paused")
	}
	d.Unpause()
	if len(got) != 1 || got[0].Error() != "fail" {
		t.Fatalf("got %v", got)
	}
}

func TestCallbackErrors(t *testing.T) {
	// A panic (1 // 0 in Twisted's test) becomes a failure.
	var got []error
	d := New()
	zero := 0
	d.AddCallback(func(any) any { return 1 / zero }).
		AddErrback(func(err error) any { got = append(got, err); return nil })
	d.Callback(1)
	var re runtime.Error
	if len(got) != 1 || !errors.As(got[0], &re) || !strings.Contains(re.Error(), "divide by zero") {
		t.Fatalf("got %v", got)
	}
	var pe *PanicError
	if !errors.As(got[0], &pe) {
		t.Fatalf("%v is not a PanicError", got[0])
	}

	// So does a returned error (Twisted: a returned Failure).
	got = nil
	d2 := New()
	d2.AddCallback(func(any) any { return errGeneric }).
		AddErrback(func(err error) any { got = append(got, err); return nil })
	d2.Callback(1)
	if len(got) != 1 || !errors.Is(got[0], errGeneric) {
		t.Fatalf("got %v", got)
	}
}

func TestErrbackPlainReturnRecovers(t *testing.T) {
	var path []string
	d := New()
	d.AddCallback(func(any) any { path = append(path, "cb1"); return errGeneric }).
		AddCallback(func(any) any { path = append(path, "skipped"); return nil }).
		AddErrback(func(err error) any { path = append(path, "eb"); return "recovered" }).
		AddCallbacks(func(v any) any { path = append(path, "cb2:"+v.(string)); return v },
			func(error) any { path = append(path, "eb2"); return nil })
	d.Callback(nil)
	if want := []string{"cb1", "eb", "cb2:recovered"}; !reflect.DeepEqual(path, want) {
		t.Fatalf("path %v, want %v", path, want)
	}
}

func TestErrbackReturningTheErrorStaysOnErrbackPath(t *testing.T) {
	var seen []error
	d := New()
	d.AddErrback(func(err error) any { seen = append(seen, err); return err })
	d.AddErrback(func(err error) any { seen = append(seen, err); return nil })
	d.Errback(errGeneric)
	if len(seen) != 2 || seen[0] != seen[1] {
		t.Fatalf("the same *Failure should reach both errbacks: %v", seen)
	}
}

func TestAddBothSeesBothPaths(t *testing.T) {
	var seen []any
	both := func(r any) any { seen = append(seen, r); return r }
	Succeed(1).AddBoth(both)
	d := Fail(errGeneric).AddBoth(both)
	failureOf(t, d)
	if len(seen) != 2 || seen[0] != 1 {
		t.Fatalf("seen %v", seen)
	}
	if f, ok := seen[1].(*Failure); !ok || !errors.Is(f, errGeneric) {
		t.Fatalf("AddBoth on failure got %v", seen[1])
	}
}

func TestUnpauseBeforeCallback(t *testing.T) {
	var r callRecorder
	d := New()
	d.Pause()
	d.AddCallback(r.cb)
	d.Unpause()
	if r.callback != nil {
		t.Fatal("callback ran before the Deferred had a result")
	}
	d.Callback(1)
	if len(r.callback) != 1 {
		t.Fatal("callback did not run")
	}
}

func TestUnpauseWithoutPauseIsHarmless(t *testing.T) {
	d := New()
	d.Unpause()
	d.Pause()
	d.Callback(1)
	var ran bool
	d.AddCallback(func(v any) any { ran = true; return v })
	if ran {
		t.Fatal("ran while paused")
	}
	d.Unpause()
	if !ran {
		t.Fatal("did not run after Unpause")
	}
}

func TestCallbackReturnsDeferred(t *testing.T) {
	var r callRecorder
	d1, d2 := New(), New()
	d2.Pause()
	d1.AddCallback(func(any) any { return d2 })
	d1.AddCallback(r.cb)
	d1.Callback(1)
	if r.callback != nil {
		t.Fatal("should not have been called yet")
	}
	d2.Callback(2)
	if r.callback != nil {
		t.Fatal("still should not have been called yet")
	}
	d2.Unpause()
	if !reflect.DeepEqual(r.callback, []any{2}) {
		t.Fatalf("result should come from the second Deferred: %v", r.callback)
	}
}

func TestCallbackMaybeReturnsFailure(t *testing.T) {
	shouldFail := false
	errRT := errors.New("runtime")
	maybeFail := func(v any) any {
		if shouldFail {
			return errRT
		}
		return v.(int) + 1
	}
	d := New()
	d.Callback(6)
	if got := resultOf(t, d.AddCallback(maybeFail)); got != 7 {
		t.Fatalf("got %v", got)
	}
	d = New()
	shouldFail = true
	d.Callback(6)
	f := failureOf(t, d.AddCallback(maybeFail).AddCallback(maybeFail))
	if f.Unwrap() != errRT {
		t.Fatalf("failure wraps %v, want the very error returned", f.Unwrap())
	}
}

func TestErrbackReturnsDeferred(t *testing.T) {
	d, d2 := New(), New()
	var values []any
	d.AddErrback(func(error) any { return d2 }).
		AddCallback(func(v any) any { values = append(values, v); return nil })
	d.Errback(errors.New("value"))
	assertNoResult(t, d)
	if values != nil {
		t.Fatal("callback ran early")
	}
	d2.Callback("result")
	if !reflect.DeepEqual(values, []any{"result"}) {
		t.Fatalf("values %v", values)
	}
}

func TestChainedPausedDeferredWithResult(t *testing.T) {
	expected := new(int)
	paused := New()
	paused.Callback(expected)
	paused.Pause()
	chained := New()
	chained.AddCallback(func(any) any { return paused })
	chained.Callback(nil)

	var result []any
	chained.AddCallback(func(v any) any { result = append(result, v); return nil })
	if result != nil {
		t.Fatal("ran while the inner Deferred is paused")
	}
	paused.Unpause()
	if len(result) != 1 || result[0] != expected {
		t.Fatalf("result %v", result)
	}
}

func TestPausedDeferredChained(t *testing.T) {
	first, second := New(), New()
	first.AddCallback(func(any) any { return second })
	first.Callback(nil)
	first.Pause()
	second.Callback(nil)
	var result []any
	second.AddCallback(func(v any) any { result = append(result, v); return nil })
	if !reflect.DeepEqual(result, []any{nil}) {
		t.Fatalf("result %v", result)
	}
}

func TestMaybeDeferredSync(t *testing.T) {
	result := new(int)
	if got := resultOf(t, MaybeDeferred(func() any { return result })); got != result {
		t.Fatalf("got %v", got)
	}
}

func TestMaybeDeferredSyncWithArgs(t *testing.T) {
	plusFive := func(x int) any { return x + 5 }
	if got := resultOf(t, MaybeDeferred(func() any { return plusFive(10) })); got != 15 {
		t.Fatalf("got %v", got)
	}
}

func TestMaybeDeferredSyncPanic(t *testing.T) {
	f := failureOf(t, MaybeDeferred(func() any { panic("that value is unacceptable") }))
	var pe *PanicError
	if !errors.As(f, &pe) || pe.Value != "that value is unacceptable" {
		t.Fatalf("failure %v", f)
	}
}

func TestMaybeDeferredSyncFailure(t *testing.T) {
	expected := NewFailure(errGeneric)
	if f := failureOf(t, MaybeDeferred(func() any { return expected })); f != expected {
		t.Fatalf("got %v, want the same Failure", f)
	}
}

func TestMaybeDeferredAsync(t *testing.T) {
	d1 := New()
	d2 := MaybeDeferred(func() any { return d1 })
	d1.Callback("Success")
	if got := resultOf(t, d2); got != "Success" {
		t.Fatalf("got %v", got)
	}
}

func TestMaybeDeferredAsyncError(t *testing.T) {
	d1 := New()
	d2 := MaybeDeferred(func() any { return d1 })
	d1.Errback(errGeneric)
	if f := failureOf(t, d2); !errors.Is(f, errGeneric) {
		t.Fatalf("got %v", f)
	}
}

func innerCallbacksScenario(t *testing.T, transform bool) []any {
	var results []any
	var failures []error
	inner := New()
	cb := func(result any) any {
		results = append(results, [2]any{"start-of-cb", result})
		d := Succeed("inner")
		d.AddCallback(func(result any) any {
			results = append(results, [2]any{"firstCallback", result})
			if transform {
				return inner.AddCallback(func(r any) any { return []any{r} })
			}
			return inner
		}).AddCallback(func(result any) any {
			results = append(results, [2]any{"secondCallback", result})
			if l, ok := result.([]any); ok {
				return append(append([]any{}, l...), l...)
			}
			return result.(string) + result.(string)
		}).AddErrback(func(err error) any { failures = append(failures, err); return nil })
		return d
	}
	outer := Succeed("outer")
	outer.AddCallback(cb)
	outer.AddCallback(func(v any) any { results = append(results, v); return nil })
	want := []any{[2]any{"start-of-cb", "outer"}, [2]any{"firstCallback", "inner"}}
	if !reflect.DeepEqual(results, want) {
		t.Fatalf("before inner fires: %v", results)
	}
	inner.Callback("orange")
	inner.AddErrback(func(err error) any { failures = append(failures, err); return nil })
	outer.AddErrback(func(err error) any { failures = append(failures, err); return nil })
	if failures != nil {
		t.Fatalf("unexpected failures %v", failures)
	}
	return results
}

func TestInnerCallbacksPreserved(t *testing.T) {
	got := innerCallbacksScenario(t, false)
	want := []any{
		[2]any{"start-of-cb", "outer"},
		[2]any{"firstCallback", "inner"},
		[2]any{"secondCallback", "orange"},
		"orangeorange",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
}

func TestNestedAsynchronousChainedDeferredsWithExtraCallbacks(t *testing.T) {
	got := innerCallbacksScenario(t, true)
	want := []any{
		[2]any{"start-of-cb", "outer"},
		[2]any{"firstCallback", "inner"},
		[2]any{"secondCallback", []any{"orange"}},
		[]any{"orange", "orange"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
}

func continueScenario(t *testing.T, withFinal bool) {
	var results []any
	var failures []error
	a := New()
	cb := func(result any) any {
		results = append(results, [2]any{"cb", result})
		d := New()
		returner := d.AddCallback(func(result any) any {
			results = append(results, [2]any{"firstCallback", result})
			return Gather([]*Deferred{a}, 0)
		}).AddCallback(func(result any) any {
			results = append(results, [2]any{"secondCallback", result})
			return nil
		}).AddErrback(func(err error) any { failures = append(failures, err); return nil })
		d.Callback(nil)
		return returner
	}
	outer := New()
	outer.AddCallback(cb)
	if withFinal {
		outer.AddCallback(func(any) any { results = append(results, [2]any{"final", nil}); return nil })
	}
	outer.AddErrback(func(err error) any { failures = append(failures, err); return nil })
	outer.Callback("outer")
	want := []any{[2]any{"cb", "outer"}, [2]any{"firstCallback", nil}}
	if !reflect.DeepEqual(results, want) {
		t.Fatalf("before a fires: %v", results)
	}
	a.Callback("withers")
	if failures != nil {
		t.Fatalf("failures %v", failures)
	}
	want = append(want, [2]any{"secondCallback", []any{"withers"}})
	if withFinal {
		want = append(want, [2]any{"final", nil})
	}
	if !reflect.DeepEqual(results, want) {
		t.Fatalf("got %v\nwant %v", results, want)
	}
}

func TestContinueCallbackNotFirst(t *testing.T) { continueScenario(t, false) }
func TestCallbackOrderPreserved(t *testing.T)   { continueScenario(t, true) }

func TestReentrantRunCallbacks(t *testing.T) {
	d := New()
	var called []int
	d.AddCallback(func(any) any {
		called = append(called, 1)
		d.AddCallback(func(any) any { called = append(called, 3); return nil })
		return nil
	})
	d.AddCallback(func(any) any { called = append(called, 2); return nil })
	d.Callback(nil)
	if !reflect.DeepEqual(called, []int{1, 2, 3}) {
		t.Fatalf("called %v", called)
	}
}

func TestNonReentrantCallbacks(t *testing.T) {
	d := New()
	var called []int
	d.AddCallback(func(any) any {
		called = append(called, 1)
		d.AddCallback(func(any) any { called = append(called, 2); return nil })
		if !reflect.DeepEqual(called, []int{1}) {
			t.Errorf("callback added inside a callback ran at once: %v", called)
		}
		return nil
	})
	d.Callback(nil)
	if !reflect.DeepEqual(called, []int{1, 2}) {
		t.Fatalf("called %v", called)
	}
}

func TestReentrantRunCallbacksWithFailure(t *testing.T) {
	d := New()
	d.AddCallback(func(any) any {
		d.AddCallback(func(any) any { panic("callback raised exception") })
		return nil
	})
	d.Callback(nil)
	f := failureOf(t, d)
	var pe *PanicError
	if !errors.As(f, &pe) || pe.Value != "callback raised exception" {
		t.Fatalf("failure %v", f)
	}
}

func TestSynchronousImplicitChain(t *testing.T) {
	result := new(int)
	first := Succeed(result)
	second := New()
	second.AddCallback(func(any) any { return first })
	second.Callback(nil)
	if got := resultOf(t, first); got != nil {
		t.Fatalf("first's result should be nil once second took it, got %v", got)
	}
	if got := resultOf(t, second); got != result {
		t.Fatalf("second got %v", got)
	}
}

func TestAsynchronousImplicitChain(t *testing.T) {
	first, second := New(), New()
	second.AddCallback(func(any) any { return first })
	second.Callback(nil)
	var firstResult, secondResult []any
	first.AddCallback(func(v any) any { firstResult = append(firstResult, v); return v })
	second.AddCallback(func(v any) any { secondResult = append(secondResult, v); return v })
	if firstResult != nil || secondResult != nil {
		t.Fatal("fired early")
	}
	result := new(int)
	first.Callback(result)
	// second's continuation was added to first before the callback, so
	// second takes the result and first's own callback sees nil.
	if !reflect.DeepEqual(firstResult, []any{nil}) {
		t.Fatalf("first saw %v", firstResult)
	}
	if !reflect.DeepEqual(secondResult, []any{result}) {
		t.Fatalf("second saw %v", secondResult)
	}
}

func TestSynchronousImplicitErrorChain(t *testing.T) {
	first := Fail(errors.New("first's failure"))
	second := New()
	second.AddCallback(func(any) any { return first })
	second.Callback(nil)
	if got := resultOf(t, first); got != nil {
		t.Fatalf("first kept %v", got)
	}
	if first.unhandled != nil {
		t.Fatal("first still watches a failure it handed on")
	}
	if f := failureOf(t, second); f.Error() != "first's failure" {
		t.Fatalf("second failed with %v", f)
	}
}

func TestAsynchronousImplicitErrorChain(t *testing.T) {
	first, second := New(), New()
	second.AddCallback(func(any) any { return first })
	second.Callback(nil)
	var secondError []error
	second.AddErrback(func(err error) any { secondError = append(secondError, err); return nil })
	var firstResult, secondResult []any
	first.AddCallback(func(v any) any { firstResult = append(firstResult, v); return v })
	second.AddCallback(func(v any) any { secondResult = append(secondResult, v); return v })
	first.Errback(errors.New("first's failure"))
	if len(secondError) != 1 || secondError[0].Error() != "first's failure" {
		t.Fatalf("second's errback got %v", secondError)
	}
	if !reflect.DeepEqual(firstResult, []any{nil}) || len(secondResult) != 1 {
		t.Fatalf("first %v second %v", firstResult, secondResult)
	}
}

func TestDoubleAsynchronousImplicitChaining(t *testing.T) {
	first, second, third := New(), New(), New()
	second.AddCallback(func(any) any { return first })
	third.AddCallback(func(any) any { return second })
	var thirdResult []any
	third.AddCallback(func(v any) any { thirdResult = append(thirdResult, v); return nil })
	result := new(int)
	second.Callback(nil)
	third.Callback(nil)
	if thirdResult != nil {
		t.Fatal("still waiting")
	}
	first.Callback(result)
	if !reflect.DeepEqual(thirdResult, []any{result}) {
		t.Fatalf("third got %v", thirdResult)
	}
}

func TestChainRecordsExplicitChain(t *testing.T) {
	a, b := New(), New()
	b.Chain(a)
	if a.chainedTo != b {
		t.Fatal("chain not recorded")
	}
	b.Callback(nil)
	if a.chainedTo != nil {
		t.Fatal("chain not cleared once resolved")
	}
}

func TestChainRecordsImplicitChain(t *testing.T) {
	a, b := New(), New()
	a.AddCallback(func(any) any { return b })
	a.Callback(nil)
	if a.chainedTo != b {
		t.Fatal("implicit chain not recorded")
	}
	b.Callback(nil)
	if a.chainedTo != nil {
		t.Fatal("implicit chain not cleared")
	}
}

func TestChainFiresOther(t *testing.T) {
	var got []any
	a, b := New(), New()
	b.AddCallback(func(v any) any { got = append(got, v); return v })
	a.Chain(b)
	a.AddCallback(func(v any) any { got = append(got, v); return v })
	a.Callback("x")
	// b saw the result; a goes on with nil, as after callback(b) in Twisted.
	if !reflect.DeepEqual(got, []any{"x", nil}) {
		t.Fatalf("got %v", got)
	}

	// A failure goes to the other Deferred too.
	c, e := New(), New()
	c.Chain(e)
	c.Errback(errGeneric)
	if f := failureOf(t, e); !errors.Is(f, errGeneric) {
		t.Fatalf("chained Deferred got %v", f)
	}
	if got := resultOf(t, c); got != nil {
		t.Fatalf("c kept %v", got)
	}
}

func TestChainToCalledDeferredFails(t *testing.T) {
	a, b := New(), New()
	a.Chain(b)
	b.Callback(1)
	a.Callback(2)
	if f := failureOf(t, a); !errors.Is(f, ErrAlreadyCalled) {
		t.Fatalf("got %v", f)
	}
	// Cancelled without canceller: the late result is swallowed.
	c, e := New(), New()
	c.Chain(e)
	e.Cancel()
	c.Callback(3)
	if got := resultOf(t, c); got != nil {
		t.Fatalf("got %v", got)
	}
	failureOf(t, e)
}

func TestChainToPausedDeferredDoesNotBlockTheSource(t *testing.T) {
	a, b := New(), New()
	b.Pause()
	var order []string
	b.AddCallback(func(v any) any { order = append(order, "b"); return v })
	a.Chain(b)
	a.AddCallback(func(v any) any { order = append(order, "a"); return v })
	a.Callback(1)
	if !reflect.DeepEqual(order, []string{"a"}) {
		t.Fatalf("order %v", order)
	}
	b.Unpause()
	if !reflect.DeepEqual(order, []string{"a", "b"}) {
		t.Fatalf("order %v", order)
	}
}

func TestCircularChainFails(t *testing.T) {
	d := New()
	d.AddCallback(func(any) any { return d })
	d.Callback("foo")
	if f := failureOf(t, d); !errors.Is(f, errCircular) {
		t.Fatalf("got %v", f)
	}
}

func TestString(t *testing.T) {
	d := New()
	if got, want := d.String(), fmt.Sprintf("<Deferred at %p>", d); got != want {
		t.Fatalf("%q, want %q", got, want)
	}
	d.Callback("orange")
	if got, want := d.String(), fmt.Sprintf("<Deferred at %p current result: orange>", d); got != want {
		t.Fatalf("%q, want %q", got, want)
	}
	a, b := New(), New()
	b.Chain(a)
	if got, want := a.String(), fmt.Sprintf("<Deferred at %p waiting on Deferred at %p>", a, b); got != want {
		t.Fatalf("%q, want %q", got, want)
	}
}

func TestResultOfDeferredResultOfDeferredOfFiredDeferredCalled(t *testing.T) {
	first, second, third := New(), New(), New()
	first.AddCallback(func(any) any { return second })
	second.AddCallback(func(any) any { return third })
	second.Callback(nil)
	first.Callback(nil)
	third.Callback(nil)
	var results []any
	second.AddCallback(func(v any) any { results = append(results, v); return nil })
	if !reflect.DeepEqual(results, []any{nil}) {
		t.Fatalf("results %v", results)
	}
}

func TestAlreadyCalled(t *testing.T) {
	fire := map[string]func(d *Deferred) error{
		"C": func(d *Deferred) error { return d.Callback("hello") },
		"E": func(d *Deferred) error { return d.Errback(errGeneric) },
	}
	for _, first := range []string{"C", "E"} {
		for _, second := range []string{"C", "E"} {
			t.Run(first+second, func(t *testing.T) {
				d := New()
				d.AddCallbacks(func(any) any { return nil }, func(error) any { return nil })
				if err := fire[first](d); err != nil {
					t.Fatalf("first call: %v", err)
				}
				if err := fire[second](d); !errors.Is(err, ErrAlreadyCalled) {
					t.Fatalf("second call returned %v, want ErrAlreadyCalled", err)
				}
			})
		}
	}
}

func TestCallbackWithErrorFailsAndWithDeferredIsRefused(t *testing.T) {
	d := New()
	d.Callback(errGeneric)
	if f := failureOf(t, d); !errors.Is(f, errGeneric) {
		t.Fatalf("got %v", f)
	}
	d2 := New()
	if err := d2.Callback(New()); err == nil || d2.Called() {
		t.Fatalf("Callback(*Deferred) = %v, called %v", err, d2.Called())
	}
	d3 := New()
	d3.Errback(nil)
	if f := failureOf(t, d3); !errors.Is(f, errNilError) {
		t.Fatalf("Errback(nil) gave %v", f)
	}
}

//go:noinline
func errbackHere(d *Deferred) { d.Errback(errGeneric) }

//go:noinline
func panicHere(any) any { panic(errGeneric) }

func TestFailureRecordsOriginStack(t *testing.T) {
	d := New()
	errbackHere(d)
	f := failureOf(t, d)
	if !strings.Contains(f.Stack(), "deferred.errbackHere") {
		t.Fatalf("Errback's caller missing from stack:\n%s", f.Stack())
	}
	if !strings.Contains(fmt.Sprintf("%+v", f), "deferred.errbackHere") {
		t.Fatal("the + flag does not print the stack")
	}
	if fmt.Sprint(f) != errGeneric.Error() {
		t.Fatalf("%%v = %q", fmt.Sprint(f))
	}

	d2 := New()
	d2.AddCallback(panicHere)
	d2.Callback(nil)
	f2 := failureOf(t, d2)
	if !strings.Contains(f2.Stack(), "deferred.panicHere") {
		t.Fatalf("panicking function missing from stack:\n%s", f2.Stack())
	}
	if !errors.Is(f2, errGeneric) {
		t.Fatal("errors.Is does not see the panic's error")
	}

	// A Failure wrapped again keeps its origin.
	wrapped := NewFailure(fmt.Errorf("context: %w", f))
	if !reflect.DeepEqual(wrapped.Callers(), f.Callers()) || !errors.Is(wrapped, errGeneric) {
		t.Fatal("re-wrapped failure lost its origin")
	}
	if NewFailure(nil) != nil {
		t.Fatal("NewFailure(nil) != nil")
	}
}

// boundedChain builds Twisted's test_boundedStackDepth structure with
// howMany inner Deferreds and returns the stack depth at which the last
// callback runs.
func boundedChain(t *testing.T, howMany int) int {
	depth := -1
	top := New()
	inners := make([]*Deferred, howMany)
	for i := range inners {
		inners[i] = New()
	}
	last := New()
	inner := inners[howMany-1]
	top.AddCallback(func(any) any { return inner })
	top.AddCallback(func(any) any { depth = stackDepth(); return nil })
	for i := howMany - 2; i >= 0; i-- {
		next := inners[i]
		inner.AddCallback(func(any) any { return next })
		inner = next
	}
	inner.AddCallback(func(any) any { return last })
	top.Callback(nil)
	for _, d := range inners {
		d.Callback(nil)
	}
	if depth != -1 {
		t.Fatal("callback ran before the last Deferred fired")
	}
	last.Callback(nil)
	if depth == -1 {
		t.Fatal("callback never ran")
	}
	return depth
}

func TestBoundedStackDepth(t *testing.T) {
	if a, b := boundedChain(t, 1), boundedChain(t, 2); a != b {
		t.Fatalf("depth %d for 1 inner, %d for 2", a, b)
	}
}

func TestMillionNestedDeferreds(t *testing.T) {
	n := 1_000_000
	small, big := boundedChain(t, 1), boundedChain(t, n)
	if small != big {
		t.Fatalf("depth %d for 1 nested Deferred, %d for %d", small, big, n)
	}
}

// A callback returning an unfired Deferred whose callback returns another,
// a million deep, each created only when the one before runs.
func TestMillionNestedDeferredsCreatedOnTheWay(t *testing.T) {
	const n = 1_000_000
	var pending []*Deferred
	var depths []int
	var nest func(level int) func(any) any
	nest = func(level int) func(any) any {
		return func(any) any {
			if level == n {
				depths = append(depths, stackDepth())
				return level
			}
			d := New()
			d.AddCallback(nest(level + 1))
			pending = append(pending, d)
			if level == 1 {
				depths = append(depths, stackDepth())
			}
			return d
		}
	}
	top := New()
	top.AddCallback(nest(1))
	top.Callback(nil)
	// Fire them innermost last: each fires only once the one it is
	// nested in is waiting on it.
	for i := 0; i < len(pending); i++ {
		pending[i].Callback(nil)
	}
	if got := resultOf(t, top); got != n {
		t.Fatalf("top got %v, want %d", got, n)
	}
	if len(depths) != 2 || depths[0] != depths[1] {
		t.Fatalf("stack depths %v should be equal", depths)
	}
}

func TestMillionLinkChain(t *testing.T) {
	const n = 1_000_000
	d := New()
	var first, last int
	for i := range n {
		d.AddCallback(func(v any) any {
			switch i {
			case 0:
				first = stackDepth()
			case n - 1:
				last = stackDepth()
			}
			return v.(int) + 1
		})
	}
	d.Callback(0)
	if got := resultOf(t, d); got != n {
		t.Fatalf("got %v", got)
	}
	if first != last {
		t.Fatalf("depth %d at the first link, %d at the last", first, last)
	}
}

func TestMillionChainCalls(t *testing.T) {
	const n = 1_000_000
	ds := make([]*Deferred, n)
	for i := range ds {
		ds[i] = New()
		if i > 0 {
			ds[i-1].Chain(ds[i])
		}
	}
	var depths []int
	ds[0].AddCallback(func(v any) any { depths = append(depths, stackDepth()); return v })
	ds[n-1].AddCallback(func(v any) any { depths = append(depths, stackDepth()); return v })
	ds[0].Callback("x")
	if got := resultOf(t, ds[n-1]); got != "x" {
		t.Fatalf("last got %v", got)
	}
	if len(depths) != 2 || depths[0] != depths[1] {
		t.Fatalf("depths %v", depths)
	}
}

// A nil *Deferred returned from a callback or from MaybeDeferred's
// function is a plain nil result, not a crash.
func TestNilDeferredResultIsNil(t *testing.T) {
	var got []any
	Succeed(1).AddCallback(func(any) any { var d *Deferred; return d }).
		AddCallback(func(v any) any { got = append(got, v); return nil })
	MaybeDeferred(func() any { var d *Deferred; return d }).
		AddCallback(func(v any) any { got = append(got, v); return nil })
	if len(got) != 2 || got[0] != nil || got[1] != nil {
		t.Fatalf("got %v, want two nils", got)
	}
}
