package deferred

// Event is a typed key for the events a promise emits: it joins a name to
// the type E of the values emitted under it, so that an observer added with
// On and a value emitted with Emit agree on both, checked by the compiler.
// Declare each event once, as a package-level variable, and use the
// variable on both sides:
//
//	var Status = deferred.NewEvent[string]("status")
//
//	deferred.Emit(res, Status, "connecting")       // producer
//	deferred.On(p, Status, func(s string) { ... }) // observer
//
// An Event is a small comparable value; any goroutine may copy it.
// Underneath it is the string-named event of Promise.On and Resolver.Emit,
// which keep working: two Events with the same name are the same event.
type Event[E any] struct {
	name string
}

// NewEvent returns the event key for name, whose values are of type E.
// Any goroutine.
func NewEvent[E any](name string) Event[E] {
	return Event[E]{name: name}
}

// Name returns the name of the event, the one Promise.On and Resolver.Emit
// know it by. Any goroutine.
func (e Event[E]) Name() string { return e.name }

// On adds an observer of event ev to p, called with each value emitted
// under ev until p settles, as Promise.On does. Values emitted under ev's
// name that are not of type E (possible only through the string-named
// Resolver.Emit) are not passed to f. A panic in f is logged. Loop
// goroutine.
func On[T, E any](p *Promise[T], ev Event[E], f func(E)) {
	p.On(ev.name, func(v any) {
		if e, ok := v.(E); ok {
			f(e)
		}
	})
}

// Emit calls the observers of event ev on r's promise with v, in the order
// they were added, as Resolver.Emit does; events emitted after the promise
// settled are dropped. Loop goroutine.
func Emit[T, E any](r Resolver[T], ev Event[E], v E) {
	r.Emit(ev.name, v)
}

// Progress is the standard event of work that reports how far it has come:
// a download, a copy, goroutine work started by reactor.GoWithProgress. Its
// name is "progress".
var Progress = NewEvent[Count]("progress")

// Count says how far work has come: Done units (bytes, files, rows) out of
// Total. Total is negative when it is not known (an HTTP body without a
// length, a gzip stream), as in http.Response.ContentLength.
type Count struct {
	Done, Total int64
}

// Known reports whether the total is known. Any goroutine.
func (c Count) Known() bool { return c.Total >= 0 }

// Fraction returns Done/Total between 0 and 1, for a progress bar: 0 when
// the total is not known, 1 when it is zero. Any goroutine.
func (c Count) Fraction() float64 {
	switch {
	case c.Total < 0:
		return 0
	case c.Total == 0 || c.Done >= c.Total:
		return 1
	case c.Done <= 0:
		return 0
	}
	return float64(c.Done) / float64(c.Total)
}
