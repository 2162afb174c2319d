package deferred

import (
	"reflect"
	"strings"
	"testing"
)

var (
	testStatus = NewEvent[string]("status")
	testLevel  = NewEvent[int]("level")
)

func TestTypedEventsReachTypedObservers(t *testing.T) {
	p, r := NewPromise[int]()
	var statuses []string
	var levels []int
	On(p, testStatus, func(s string) { statuses = append(statuses, s) })
	On(p, testLevel, func(n int) { levels = append(levels, n) })
	Emit(r, testStatus, "connecting")
	Emit(r, testLevel, 1)
	Emit(r, testStatus, "connected")
	r.Resolve(7)
	Emit(r, testStatus, "late") // after settling: dropped
	On(p, testStatus, func(string) { t.Error("observer added after settling was called") })
	Emit(r, testStatus, "later")
	if want := []string{"connecting", "connected"}; !reflect.DeepEqual(statuses, want) {
		t.Errorf("statuses = %q, want %q", statuses, want)
	}
	if want := []int{1}; !reflect.DeepEqual(levels, want) {
		t.Errorf("levels = %v, want %v", levels, want)
	}
}

func TestTypedAndStringNamedEventsAreOneEvent(t *testing.T) {
	p, r := NewPromise[int]()
	var typed []string
	var named []any
	On(p, testStatus, func(s string) { typed = append(typed, s) })
	p.On("status", func(v any) { named = append(named, v) })
	Emit(r, testStatus, "a")
	r.Emit("status", "b")
	r.Emit("status", 3) // not a string: the typed observer does not see it
	if want := []string{"a", "b"}; !reflect.DeepEqual(typed, want) {
		t.Errorf("typed = %q, want %q", typed, want)
	}
	if want := []any{"a", "b", 3}; !reflect.DeepEqual(named, want) {
		t.Errorf("named = %v, want %v", named, want)
	}
	if testStatus.Name() != "status" || Progress.Name() != "progress" {
		t.Errorf("names = %q, %q", testStatus.Name(), Progress.Name())
	}
	if NewEvent[string]("status") != testStatus {
		t.Error("two Events of the same name and type are not equal")
	}
}

func TestTypedEventsOfDerivedPromises(t *testing.T) {
	p, r := NewPromise[int]()
	q := Then(p, func(v int) (string, error) { return strings.Repeat("x", v), nil })
	var got []Count
	On(q, Progress, func(c Count) { got = append(got, c) })
	Emit(r, Progress, Count{Done: 1, Total: 2})
	Emit(r, Progress, Count{Done: 2, Total: 2})
	r.Resolve(2)
	if want := []Count{{1, 2}, {2, 2}}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestTypedEventObserverPanicIsLogged(t *testing.T) {
	logs := captureLogs(t)
	p, r := NewPromise[int]()
	var after bool
	On(p, testLevel, func(int) { panic("observer boom") })
	On(p, testLevel, func(int) { after = true })
	Emit(r, testLevel, 1)
	if !after {
		t.Error("the observer after a panicking one was not called")
	}
	if len(logs.find("panic in Promise event observer", "observer boom")) != 1 {
		t.Error("the panic was not logged once")
	}
}

func TestTypedEventsOnZeroResolver(t *testing.T) {
	var r Resolver[int]
	Emit(r, testLevel, 1) // does nothing
}

func TestCountFraction(t *testing.T) {
	for _, tc := range []struct {
		c     Count
		known bool
		f     float64
	}{
		{Count{0, 100}, true, 0},
		{Count{25, 100}, true, 0.25},
		{Count{100, 100}, true, 1},
		{Count{150, 100}, true, 1},
		{Count{-1, 100}, true, 0},
		{Count{0, 0}, true, 1},
		{Count{42, -1}, false, 0},
	} {
		if got := tc.c.Fraction(); got != tc.f {
			t.Errorf("%+v.Fraction() = %v, want %v", tc.c, got, tc.f)
		}
		if got := tc.c.Known(); got != tc.known {
			t.Errorf("%+v.Known() = %v, want %v", tc.c, got, tc.known)
		}
	}
}
