package deferred

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
)

// These tests follow Twisted's DeferredList, gatherResults and race tests.

func fakeCallbackCanceller(d *Deferred) { d.Callback("Callback Result") }

func TestDeferredList(t *testing.T) {
	d1, d2, d3 := New(), New(), New()
	dl := DeferredList([]*Deferred{d1, d2, d3}, 0)
	var result []Outcome
	dl.AddCallbacks(func(v any) any { result = v.([]Outcome); return nil }, nil)
	d1.Callback("1")
	d2.AddErrback(func(error) any { return nil })
	d2.Errback(errors.New("2"))
	if result != nil {
		t.Fatal("fired before all Deferreds had results")
	}
	d3.Callback("3")
	if len(result) != 3 ||
		result[0] != (Outcome{OK: true, Value: "1"}) ||
		result[1].OK || result[1].Err.Error() != "2" ||
		result[2] != (Outcome{OK: true, Value: "3"}) {
		t.Fatalf("result %+v", result)
	}
}

func TestEmptyDeferredList(t *testing.T) {
	if got := resultOf(t, DeferredList(nil, 0)); !reflect.DeepEqual(got, []Outcome{}) {
		t.Fatalf("got %#v", got)
	}
	assertNoResult(t, DeferredList(nil, FireOnOneCallback))
}

func TestDeferredListFireOnOneCallback(t *testing.T) {
	d1, d2 := New(), New()
	dl := DeferredList([]*Deferred{d1, d2}, FireOnOneCallback)
	d2.Callback("two")
	if got := resultOf(t, dl); got != (Indexed{Index: 1, Value: "two"}) {
		t.Fatalf("got %#v", got)
	}
	d1.Callback("one") // ignored by the list
}

func TestDeferredListFireOnOneError(t *testing.T) {
	d1, d2, d3 := New(), New(), New()
	dl := DeferredList([]*Deferred{d1, d2, d3}, FireOnOneErrback)
	var result []error
	dl.AddErrback(func(err error) any { result = append(result, err); return nil })
	d2.AddErrback(func(error) any { return nil })
	d1.Callback("1")
	if result != nil {
		t.Fatal("fired on a success")
	}
	errDef2 := errors.New("from def2")
	d2.Errback(errDef2)
	if len(result) != 1 {
		t.Fatalf("result %v", result)
	}
	var fe *FirstError
	if !errors.As(result[0], &fe) || fe.Index != 1 || !errors.Is(fe.Err, errDef2) {
		t.Fatalf("got %v", result[0])
	}
	if !errors.Is(result[0], errDef2) {
		t.Fatal("errors.Is does not reach the failure inside FirstError")
	}
	if got := fe.Error(); got != "FirstError[#1, from def2]" {
		t.Fatalf("Error() = %q", got)
	}
	d3.Callback("3")
}

func TestDeferredListDontConsumeErrors(t *testing.T) {
	d1 := New()
	dl := DeferredList([]*Deferred{d1}, 0)
	var trapped []error
	d1.AddErrback(func(err error) any { trapped = append(trapped, err); return nil })
	var results [][]Outcome
	dl.AddCallback(func(v any) any { results = append(results, v.([]Outcome)); return nil })
	d1.Errback(errors.New("Bang"))
	if len(trapped) != 1 || trapped[0].Error() != "Bang" {
		t.Fatalf("trapped %v", trapped)
	}
	if len(results) != 1 || results[0][0].Err.Error() != "Bang" {
		t.Fatalf("results %v", results)
	}
}

func TestDeferredListConsumeErrors(t *testing.T) {
	d1 := New()
	dl := DeferredList([]*Deferred{d1}, ConsumeErrors)
	var trapped []error
	d1.AddErrback(func(err error) any { trapped = append(trapped, err); return nil })
	var results [][]Outcome
	dl.AddCallback(func(v any) any { results = append(results, v.([]Outcome)); return nil })
	d1.Errback(errors.New("Bang"))
	if trapped != nil {
		t.Fatalf("error reached d1's own errback: %v", trapped)
	}
	if len(results) != 1 || results[0][0].Err.Error() != "Bang" {
		t.Fatalf("results %v", results)
	}
	if d1.unhandled != nil {
		t.Fatal("consumed failure still tracked")
	}
}

func TestDeferredListFireOnOneErrorWithAlreadyFiredDeferreds(t *testing.T) {
	d1, d2 := New(), New()
	d1.Errback(errors.New("Bang"))
	dl := DeferredList([]*Deferred{d1, d2}, FireOnOneErrback)
	failureOf(t, dl)
	d1.AddErrback(func(error) any { return nil })
}

func TestDeferredListWithAlreadyFiredDeferreds(t *testing.T) {
	d1, d2 := New(), New()
	d1.Errback(errors.New("Bang"))
	d2.Callback(2)
	dl := DeferredList([]*Deferred{d1, d2}, 0)
	got := resultOf(t, dl).([]Outcome)
	if len(got) != 2 || got[0].OK || got[1] != (Outcome{OK: true, Value: 2}) {
		t.Fatalf("got %+v", got)
	}
	d1.AddErrback(func(error) any { return nil })
}

func TestCancelDeferredList(t *testing.T) {
	d1, d2 := New(), New()
	dl := DeferredList([]*Deferred{d1, d2}, 0)
	dl.Cancel()
	for i, d := range []*Deferred{d1, d2} {
		if f := failureOf(t, d); !errors.Is(f, ErrCancelled) {
			t.Fatalf("#%d: %v", i, f)
		}
	}
}

func TestCancelDeferredListCallback(t *testing.T) {
	d1, d2 := NewWithCanceller(fakeCallbackCanceller), New()
	dl := DeferredList([]*Deferred{d1, d2}, 0)
	dl.Cancel()
	if f := failureOf(t, d2); !errors.Is(f, ErrCancelled) {
		t.Fatalf("d2: %v", f)
	}
	got := resultOf(t, dl).([]Outcome)
	if got[0] != (Outcome{OK: true, Value: "Callback Result"}) || got[1].OK || !errors.Is(got[1].Err, ErrCancelled) {
		t.Fatalf("got %+v", got)
	}
}

func TestCancelDeferredListWithFireOnOneCallback(t *testing.T) {
	d1, d2 := New(), New()
	dl := DeferredList([]*Deferred{d1, d2}, FireOnOneCallback)
	dl.Cancel()
	failureOf(t, d1)
	failureOf(t, d2)
}

func TestCancelDeferredListWithFireOnOneCallbackAndDeferredCallback(t *testing.T) {
	d1, d2 := NewWithCanceller(fakeCallbackCanceller), New()
	dl := DeferredList([]*Deferred{d1, d2}, FireOnOneCallback)
	dl.Cancel()
	if f := failureOf(t, d2); !errors.Is(f, ErrCancelled) {
		t.Fatalf("d2: %v", f)
	}
	if got := resultOf(t, dl); got != (Indexed{Index: 0, Value: "Callback Result"}) {
		t.Fatalf("got %#v", got)
	}
}

func TestCancelDeferredListWithFireOnOneErrback(t *testing.T) {
	d1, d2 := New(), New()
	dl := DeferredList([]*Deferred{d1, d2}, FireOnOneErrback)
	dl.Cancel()
	failureOf(t, d1)
	failureOf(t, d2)
	var fe *FirstError
	if f := failureOf(t, dl); !errors.As(f, &fe) || !errors.Is(fe.Err, ErrCancelled) {
		t.Fatalf("got %v", f)
	}
}

func TestCancelDeferredListWithFireOnOneErrbackAllDeferredsCallback(t *testing.T) {
	d1, d2 := NewWithCanceller(fakeCallbackCanceller), NewWithCanceller(fakeCallbackCanceller)
	dl := DeferredList([]*Deferred{d1, d2}, FireOnOneErrback)
	dl.Cancel()
	got := resultOf(t, dl).([]Outcome)
	want := Outcome{OK: true, Value: "Callback Result"}
	if got[0] != want || got[1] != want {
		t.Fatalf("got %+v", got)
	}
}

func TestCancelDeferredListWithOriginalDeferreds(t *testing.T) {
	d1, d2 := New(), New()
	args := []*Deferred{d1, d2}
	dl := DeferredList(args, 0)
	d3 := New()
	args[1] = d3 // the list keeps its own copy
	dl.Cancel()
	failureOf(t, d1)
	failureOf(t, d2)
	assertNoResult(t, d3)
}

func TestCancelDeferredListWithPanickingCanceller(t *testing.T) {
	d1 := NewWithCanceller(func(*Deferred) { panic("test") })
	d2 := New()
	dl := DeferredList([]*Deferred{d1, d2}, 0)
	dl.Cancel()
	if f := failureOf(t, d2); !errors.Is(f, ErrCancelled) {
		t.Fatalf("d2 not cancelled: %v", f)
	}
	var pe *PanicError
	if f := failureOf(t, d1); !errors.As(f, &pe) {
		t.Fatalf("d1: %v", f)
	}
}

func TestCancelFiredOnOneCallbackDeferredList(t *testing.T) {
	d1, d2 := New(), New()
	dl := DeferredList([]*Deferred{d1, d2}, FireOnOneCallback)
	d1.Callback(nil)
	dl.Cancel()
	assertNoResult(t, d2)
}

func TestCancelFiredOnOneErrbackDeferredList(t *testing.T) {
	d1, d2 := New(), New()
	dl := DeferredList([]*Deferred{d1, d2}, FireOnOneErrback)
	d1.Errback(errGeneric)
	dl.Cancel()
	assertNoResult(t, d2)
	failureOf(t, d1)
	var fe *FirstError
	if f := failureOf(t, dl); !errors.As(f, &fe) {
		t.Fatalf("got %v", f)
	}
}

func TestGather(t *testing.T) {
	if got := resultOf(t, Gather([]*Deferred{Succeed(1), Succeed(2)}, 0)); !reflect.DeepEqual(got, []any{1, 2}) {
		t.Fatalf("got %v", got)
	}
	dl := []*Deferred{Succeed(1), Fail(errors.New("value"))}
	f := failureOf(t, Gather(dl, 0))
	var fe *FirstError
	if !errors.As(f, &fe) || fe.Index != 1 {
		t.Fatalf("got %v", f)
	}
	dl[1].AddErrback(func(error) any { return 1 })
}

func TestGatherWithConsumeErrors(t *testing.T) {
	good, bad := Succeed(1), Fail(errors.New("oh noes"))
	d := Gather([]*Deferred{good, bad}, ConsumeErrors)
	var unconsumed []error
	bad.AddErrback(func(err error) any { unconsumed = append(unconsumed, err); return nil })
	f := failureOf(t, d)
	var fe *FirstError
	if unconsumed != nil || !errors.As(f, &fe) || fe.Err.Error() != "oh noes" {
		t.Fatalf("unconsumed %v gathered %v", unconsumed, f)
	}
}

func TestCancelGather(t *testing.T) {
	d1, d2 := New(), New()
	g := Gather([]*Deferred{d1, d2}, 0)
	g.Cancel()
	failureOf(t, d1)
	failureOf(t, d2)
	var fe *FirstError
	if f := failureOf(t, g); !errors.As(f, &fe) || !errors.Is(f, ErrCancelled) {
		t.Fatalf("got %v", f)
	}
}

func TestCancelGatherWithAllDeferredsCallback(t *testing.T) {
	d1, d2 := NewWithCanceller(fakeCallbackCanceller), NewWithCanceller(fakeCallbackCanceller)
	g := Gather([]*Deferred{d1, d2}, 0)
	g.Cancel()
	if got := resultOf(t, g); !reflect.DeepEqual(got, []any{"Callback Result", "Callback Result"}) {
		t.Fatalf("got %v", got)
	}
}

func setupRace(n int) ([]int, []*Deferred) {
	cancelled := make([]int, n)
	ds := make([]*Deferred, n)
	for i := range ds {
		ds[i] = NewWithCanceller(func(*Deferred) { cancelled[i]++ })
	}
	return cancelled, ds
}

func TestRaceSuccess(t *testing.T) {
	for before := range 4 {
		for after := range 4 {
			t.Run(fmt.Sprint(before, after), func(t *testing.T) {
				cancelled, ds := setupRace(before + 1 + after)
				r := Race(ds)
				expected := new(int)
				ds[before].Callback(expected)
				if got := resultOf(t, r); got != (Indexed{Index: before, Value: expected}) {
					t.Fatalf("got %v", got)
				}
				for i, c := range cancelled {
					if want := 1; i == before {
						if c != 0 {
							t.Fatalf("winner cancelled")
						}
					} else if c != want {
						t.Fatalf("loser #%d cancelled %d times", i, c)
					}
				}
			})
		}
	}
}

func TestRaceFailure(t *testing.T) {
	for n := 1; n <= 7; n++ {
		cancelled, ds := setupRace(n)
		r := Race(ds)
		failure := errors.New("the test demands failures")
		for _, d := range ds {
			d.Errback(failure)
		}
		var fg *FailureGroup
		f := failureOf(t, r)
		if !errors.As(f, &fg) || len(fg.Errs) != n || !errors.Is(f, failure) {
			t.Fatalf("got %v", f)
		}
		for i, c := range cancelled {
			if c != 0 {
				t.Fatalf("#%d cancelled", i)
			}
		}
	}
}

func TestRaceResultAfterCancel(t *testing.T) {
	ds := []*Deferred{New(), New(), New()}
	r := Race(ds)
	ds[0].Callback(nil)
	ds[1].Callback(nil) // cancelled without canceller: swallowed
	resultOf(t, r)
	for _, d := range ds {
		if d.unhandled != nil {
			t.Fatalf("loser left a failure: %v", d)
		}
	}
}

func TestRaceResultFromCancel(t *testing.T) {
	winner := New()
	ds := []*Deferred{winner, NewWithCanceller(func(d *Deferred) { d.Callback(new(int)) })}
	r := Race(ds)
	expected := new(int)
	winner.Callback(expected)
	if got := resultOf(t, r); got != (Indexed{Index: 0, Value: expected}) {
		t.Fatalf("got %v", got)
	}
}

func TestRaceCancel(t *testing.T) {
	for n := 1; n <= 3; n++ {
		cancelled, ds := setupRace(n)
		r := Race(ds)
		r.Cancel()
		for i, c := range cancelled {
			if c != 1 {
				t.Fatalf("#%d cancelled %d times", i, c)
			}
		}
		var fg *FailureGroup
		if f := failureOf(t, r); !errors.As(f, &fg) || !errors.Is(f, ErrCancelled) {
			t.Fatalf("got %v", f)
		}
	}
}

func TestRaceEmpty(t *testing.T) {
	var fg *FailureGroup
	if f := failureOf(t, Race(nil)); !errors.As(f, &fg) || len(fg.Errs) != 0 {
		t.Fatalf("got %v", f)
	}
}
