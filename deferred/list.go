package deferred

import "fmt"

// ListFlags choose how DeferredList and Gather collect their Deferreds.
type ListFlags uint8

const (
	// FireOnOneCallback fires the list with the first success, as an
	// Indexed result, without waiting for the others.
	FireOnOneCallback ListFlags = 1 << iota
	// FireOnOneErrback fails the list with the first failure, as a
	// *FirstError that carries the failing Deferred's index.
	FireOnOneErrback
	// ConsumeErrors turns each failure, once the list has seen it, into a nil
	// result in the failing Deferred's own chain, so it is not reported as
	// unhandled there.
	ConsumeErrors
)

// Outcome is the result of one Deferred in a DeferredList: OK and Value for
// a success, Err (a *Failure) for a failure.
type Outcome struct {
	OK    bool
	Value any
	Err   error
}

// Indexed is a result together with the index of the Deferred that gave it:
// the result of a DeferredList with FireOnOneCallback, and of Race.
type Indexed struct {
	Index int
	Value any
}

// DeferredList returns a Deferred that collects the results of ds
// (Twisted's DeferredList). By default it fires, once every Deferred has a
// result, with a []Outcome in the order of ds. FireOnOneCallback and
// FireOnOneErrback make it fire early, see ListFlags. An empty list fires at
// once with an empty []Outcome (never, with FireOnOneCallback).
//
// The list adds a callback pair to each Deferred, so it sees each result
// where the chain is when DeferredList is called, and passes it on
// unchanged (or nil, for a failure under ConsumeErrors). Cancelling the list
// before it fires cancels each of ds; the list then fires with what they
// give. A nil member is a mistake: the list then fails at once with an
// error wrapping ErrNil that gives its index, and ds are left alone. Loop
// goroutine.
func DeferredList(ds []*Deferred, flags ListFlags) *Deferred {
	return deferredList("DeferredList", ds, flags)
}

func deferredList(caller string, ds []*Deferred, flags ListFlags) *Deferred {
	if d := checkMembers(caller, ds); d != nil {
		return d
	}
	ds = append([]*Deferred(nil), ds...)
	results := make([]Outcome, len(ds))
	list := NewWithCanceller(func(*Deferred) {
		for _, d := range ds {
			d.Cancel()
		}
	})
	if len(ds) == 0 {
		if flags&FireOnOneCallback == 0 {
			list.fire(results)
		}
		return list
	}
	finished := 0
	for i, d := range ds {
		d.AddCallbacks(func(v any) any {
			results[i] = Outcome{OK: true, Value: v}
			finished++
			if !list.called {
				if flags&FireOnOneCallback != 0 {
					list.fire(Indexed{Index: i, Value: v})
				} else if finished == len(ds) {
					list.fire(results)
				}
			}
			return v
		}, func(err error) any {
			results[i] = Outcome{Err: err}
			finished++
			if !list.called {
				if flags&FireOnOneErrback != 0 {
					list.fire(newFailure(&FirstError{Index: i, Err: err}, 2))
				} else if finished == len(ds) {
					list.fire(results)
				}
			}
			if flags&ConsumeErrors != 0 {
				return nil
			}
			return err
		})
	}
	return list
}

// Gather returns a Deferred that fires with the results of ds as a []any in
// the order of ds once all have succeeded, or fails with a *FirstError as
// soon as one fails (Twisted's gatherResults). ConsumeErrors in flags
// consumes the failures as in DeferredList; other flags are ignored.
// Cancelling it cancels each of ds. A nil member fails it at once, as in
// DeferredList. Loop goroutine.
func Gather(ds []*Deferred, flags ListFlags) *Deferred {
	return deferredList("Gather", ds, FireOnOneErrback|flags&ConsumeErrors).AddCallback(func(r any) any {
		outcomes := r.([]Outcome)
		values := make([]any, len(outcomes))
		for i, o := range outcomes {
			values[i] = o.Value
		}
		return values
	})
}

// Race returns a Deferred that fires with the first success among ds, as an
// Indexed result, and cancels all the others (Twisted's race). If every one
// fails, it fails with a *FailureGroup of their failures in list order; an
// empty ds fails at once with an empty FailureGroup. Race consumes the
// results of ds: each of their chains goes on with nil. Cancelling the race
// cancels every one of ds. A nil member fails it at once, as in
// DeferredList. Loop goroutine.
func Race(ds []*Deferred) *Deferred {
	if d := checkMembers("Race", ds); d != nil {
		return d
	}
	ds = append([]*Deferred(nil), ds...)
	won := false
	race := NewWithCanceller(func(*Deferred) {
		for _, d := range ds {
			d.Cancel()
		}
	})
	if len(ds) == 0 {
		race.fire(newFailure(&FailureGroup{}, 2))
		return race
	}
	errs := make([]error, len(ds))
	failed := 0
	for i, d := range ds {
		d.AddCallbacks(func(v any) any {
			if won || race.called {
				return nil
			}
			won = true
			for j, other := range ds {
				if j != i {
					other.Cancel()
				}
			}
			race.fire(Indexed{Index: i, Value: v})
			return nil
		}, func(err error) any {
			errs[i] = err
			failed++
			if failed == len(ds) && !won && !race.called {
				race.fire(newFailure(&FailureGroup{Errs: errs}, 2))
			}
			return nil
		})
	}
	return race
}

// checkMembers returns a failed Deferred naming the first nil member of ds,
// or nil if there is none.
func checkMembers(caller string, ds []*Deferred) *Deferred {
	for i, d := range ds {
		if d == nil {
			return failNil(fmt.Sprintf("member [%d] of the Deferreds given to %s", i, caller))
		}
	}
	return nil
}
