package deferred

import (
	"fmt"
	"github.com/loomkit/loom/internal/slow"
	"log/slog"
	"reflect"
)

// Promise is a typed result that is not ready yet, without implicit
// chaining: every observer receives the same settled value (or error), and
// nothing an observer does can change what the others see. Chaining is
// explicit: Then (a function, since it changes the type) and Recover return
// new promises for the result of their function. Before it settles, a
// promise can emit named events, such as download progress, to observers
// registered with On.
//
// Promises are made by NewPromise, Resolved, Rejected, FromDeferred, Then,
// Recover and Async. A Promise belongs to the loop goroutine: none of its
// methods may be called concurrently, and observers run on the goroutine
// that settles it or adds them.
type Promise[T any] struct {
	value     T
	err       *Failure
	state     promiseState
	notifying bool // observers are being called: new ones queue behind them
	handled   bool // an observer has taken a rejection
	suppress  bool // cancelled without a canceller: swallow one later settle
	decides   bool // the canceller alone decides the result (Async)
	obs       []observer[T]
	inline    [1]observer[T]
	events    []eventObserver
	parent    interface{ On(string, func(any)) } // source of the events of a derived promise
	canceller func()
	unhandled *tracker
}

type promiseState uint8

const (
	pending promiseState = iota
	fulfilled
	rejected
)

type observer[T any] struct {
	onValue func(T)
	onError func(error)
	both    func(T, error) (took bool)
}

type eventObserver struct {
	name string
	f    func(any)
}

// Resolver settles its Promise and emits its events; the code that makes a
// promise keeps the Resolver and hands out the Promise. A Resolver comes from
// NewPromise: the zero Resolver has no promise, its Resolve and Reject return
// an error wrapping ErrNil and its other methods do nothing. Its methods are
// for the loop goroutine.
type Resolver[T any] struct {
	p *Promise[T]
}

// NewPromise returns a pending promise and the Resolver that settles it.
// Any goroutine; the pair is then used on the loop goroutine.
func NewPromise[T any]() (*Promise[T], Resolver[T]) {
	p := new(Promise[T])
	return p, Resolver[T]{p}
}

// Resolved returns a promise already fulfilled with v. Any goroutine.
func Resolved[T any](v T) *Promise[T] {
	return &Promise[T]{value: v, state: fulfilled}
}

// Rejected returns a promise already rejected with err (a *Failure recording
// Rejected's caller). Loop goroutine.
func Rejected[T any](err error) *Promise[T] {
	p := new(Promise[T])
	var zero T
	p.settle(zero, asFailure(err, 4))
	return p
}

// Resolve fulfils the promise with v and calls its value observers in the
// order they were added. It returns ErrAlreadyCalled if the promise is
// already settled (except for the one late result swallowed after a Cancel
// without canceller). Loop goroutine.
func (r Resolver[T]) Resolve(v T) error {
	if r.p == nil {
		return errZeroResolver
	}
	return r.p.settle(v, nil)
}

// Reject rejects the promise with err, wrapped in a *Failure that records
// Reject's caller, and calls its error observers in the order they were
// added. It returns ErrAlreadyCalled if the promise is already settled
// (except for the one late result swallowed after a Cancel without
// canceller). Loop goroutine.
func (r Resolver[T]) Reject(err error) error {
	if r.p == nil {
		return errZeroResolver
	}
	if r.p.state != pending {
		return r.p.alreadySettled()
	}
	var zero T
	return r.p.settle(zero, asFailure(err, 4))
}

// Emit calls the observers of the named event with v, in the order they
// were added. Events emitted after the promise settled are dropped. Loop
// goroutine.
func (r Resolver[T]) Emit(name string, v any) {
	p := r.p
	if p == nil || p.state != pending {
		return
	}
	for i := 0; i < len(p.events) && p.state == pending; i++ {
		if e := p.events[i]; e.name == name {
			callEventObserver(e.f, v)
		}
	}
}

// OnCancel sets the function Promise.Cancel calls to stop the work behind
// the promise. It decides the result: it may settle the promise; if it does
// not, Cancel rejects the promise with ErrCancelled. Loop goroutine.
func (r Resolver[T]) OnCancel(canceller func()) {
	if r.p == nil {
		return
	}
	r.p.canceller = canceller
}

// Settled reports whether the promise is fulfilled or rejected. Loop
// goroutine.
func (p *Promise[T]) Settled() bool { return p.state != pending }

// OnValue adds an observer called with the value once the promise is
// fulfilled; at once if it already is. A panic in f is logged and does not
// affect other observers. Loop goroutine.
func (p *Promise[T]) OnValue(f func(T)) {
	p.observe(observer[T]{onValue: f})
}

// OnError adds an observer called with the error (a *Failure) once the
// promise is rejected; at once if it already is. An error observer marks the
// rejection as handled, so it is not reported when the promise is garbage
// collected. A panic in f is logged and does not affect other observers.
// Loop goroutine.
func (p *Promise[T]) OnError(f func(error)) {
	p.observe(observer[T]{onError: f})
}

// On adds an observer of the named event, called with each value the
// producer emits under that name until the promise settles. Observers added
// after the promise settled are never called; events emitted before an
// observer was added are not replayed. On a promise derived by Then or
// Recover, On observes the events of the promise it was derived from. A
// panic in f is logged. Loop goroutine.
func (p *Promise[T]) On(name string, f func(any)) {
	if p.state != pending {
		return
	}
	if p.parent != nil {
		p.parent.On(name, f)
		return
	}
	p.events = append(p.events, eventObserver{name: name, f: f})
}

// Cancel asks for the work behind a pending promise to stop. If its
// producer set a canceller (Resolver.OnCancel), the canceller runs and
// decides the result; if it leaves the promise pending, or there is none,
// the promise is rejected with ErrCancelled. On a settled promise Cancel does
// nothing. A promise made by Then, Recover or Promise.Deferred has no
// canceller: cancelling it leaves its source alone. A promise made by Async
// is different, see Async. Loop goroutine.
func (p *Promise[T]) Cancel() {
	if p.state != pending {
		return
	}
	var zero T
	c := p.canceller
	if c == nil {
		p.settle(zero, newFailure(ErrCancelled, 2))
		p.suppress = true
		return
	}
	if !p.decides {
		p.canceller = nil
	}
	f := callFunc(c)
	if p.state != pending {
		return
	}
	if f != nil {
		p.settle(zero, f)
		return
	}
	if !p.decides {
		p.settle(zero, newFailure(ErrCancelled, 2))
	}
}

func callFunc(c func()) (f *Failure) {
	defer func() {
		if p := recover(); p != nil {
			f = panicFailure(p)
		}
	}()
	c()
	return nil
}

// Then returns a promise for f applied to p's value: when p is fulfilled, f
// runs once and the new promise settles with what f returns (a panic in f
// rejects it); when p is rejected, the new promise is rejected with the same
// error and f does not run. p and its other observers are not affected.
// Loop goroutine.
func Then[T, U any](p *Promise[T], f func(T) (U, error)) *Promise[U] {
	dst := &Promise[U]{parent: p}
	p.observe(observer[T]{both: func(v T, err error) bool {
		if err != nil {
			var zero U
			dst.settle(zero, newFailure(err, 2))
			return true
		}
		u, err := timedThen("promise callback", f, v)
		if err != nil {
			var zero U
			dst.settle(zero, newFailure(err, 2))
		} else {
			dst.settle(u, nil)
		}
		return true
	}})
	return dst
}

// Recover returns a promise that settles with p's value when p is
// fulfilled, and with what f returns (a panic in f rejects it) when p is
// rejected: f can turn the error into a value. Loop goroutine.
func (p *Promise[T]) Recover(f func(error) (T, error)) *Promise[T] {
	dst := &Promise[T]{parent: p}
	p.observe(observer[T]{both: func(v T, err error) bool {
		if err == nil {
			dst.settle(v, nil)
			return true
		}
		v, err = timedThen("promise callback", f, err)
		if err != nil {
			dst.settle(v, newFailure(err, 2))
		} else {
			dst.settle(v, nil)
		}
		return true
	}})
	return dst
}

func callThen[A, B any](f func(A) (B, error), a A) (b B, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = panicFailure(p)
		}
	}()
	return f(a)
}

// Deferred returns a new Deferred that fires with p's value, or fails with
// its error, when p settles. The Deferred is one more observer: its chain
// does not affect p, and cancelling it does not cancel p. Loop goroutine.
func (p *Promise[T]) Deferred() *Deferred {
	d := new(Deferred)
	p.observe(observer[T]{both: func(v T, err error) bool {
		if err != nil {
			d.fire(newFailure(err, 2))
		} else {
			d.fire(v)
		}
		return true
	}})
	return d
}

// FromDeferred returns a promise for d's result. It takes the result from
// d's chain, as awaiting does: d's chain goes on with nil. A result that is
// not a T rejects the promise with an error wrapping ErrTypeMismatch (nil is
// accepted as the zero value of pointer, interface, slice, map, channel and
// function types). Cancelling the promise cancels d. A nil d gives a
// promise rejected with an error wrapping ErrNil. Loop goroutine.
func FromDeferred[T any](d *Deferred) *Promise[T] {
	if d == nil {
		return rejectNil[T]("the Deferred given to FromDeferred")
	}
	p := new(Promise[T])
	p.canceller = d.Cancel
	d.AddBoth(func(r any) any {
		var zero T
		if f, ok := r.(*Failure); ok {
			p.settle(zero, f)
			return nil
		}
		v, err := convert[T](r)
		if err != nil {
			p.settle(zero, newFailure(err, 2))
		} else {
			p.settle(v, nil)
		}
		return nil
	})
	return p
}

func convert[T any](r any) (T, error) {
	if v, ok := r.(T); ok {
		return v, nil
	}
	var zero T
	t := reflect.TypeFor[T]()
	if r == nil {
		switch t.Kind() {
		case reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Map, reflect.Chan, reflect.Func, reflect.UnsafePointer:
			return zero, nil
		}
	}
	return zero, fmt.Errorf("%w: want %v, got %T", ErrTypeMismatch, t, r)
}

var errZeroResolver = errNil("the promise of a zero Resolver (make one with NewPromise)")

// rejectNil returns a promise rejected with an error saying what was nil.
func rejectNil[T any](what string) *Promise[T] {
	p := new(Promise[T])
	var zero T
	p.settle(zero, newFailure(errNil(what), 3))
	return p
}

func (p *Promise[T]) alreadySettled() error {
	if p.suppress {
		p.suppress = false
		return nil
	}
	return ErrAlreadyCalled
}

// settle fulfils (f == nil) or rejects the promise and calls its observers.
func (p *Promise[T]) settle(v T, f *Failure) error {
	if p.state != pending {
		return p.alreadySettled()
	}
	if f != nil {
		p.state, p.err = rejected, f
	} else {
		p.state, p.value = fulfilled, v
	}
	p.canceller, p.events, p.parent = nil, nil, nil
	p.notifying = true
	for i := 0; i < len(p.obs); i++ {
		o := p.obs[i]
		p.obs[i] = observer[T]{}
		p.deliver(o)
	}
	p.obs = nil
	p.notifying = false
	if p.state == rejected && !p.handled {
		p.unhandled = track(p.unhandled, p, "Promise", p.err)
	}
	return nil
}

func (p *Promise[T]) observe(o observer[T]) {
	if o.onError != nil {
		p.handled = true
	}
	if p.state == pending || p.notifying {
		if p.obs == nil {
			p.obs = p.inline[:0:1]
		}
		p.obs = append(p.obs, o)
		return
	}
	p.deliver(o)
	if p.handled && p.unhandled != nil {
		p.unhandled = untrack(p.unhandled)
	}
}

func (p *Promise[T]) deliver(o observer[T]) {
	var err error
	if p.state == rejected {
		err = p.err
	}
	switch {
	case o.both != nil:
		if o.both(p.value, err) {
			p.handled = true
		}
	case err == nil && o.onValue != nil:
		callObserver(o.onValue, p.value)
	case err != nil && o.onError != nil:
		callObserver(o.onError, err)
	}
}

func callObserver[A any](f func(A), a A) {
	if slow.On() {
		t0, n0 := slow.Begin()
		defer slow.End("promise observer", slow.FuncPC(f), 0, t0, n0)
	}
	defer func() {
		if p := recover(); p != nil {
			logPanic("panic in Promise observer", panicFailure(p))
		}
	}()
	f(a)
}

func callEventObserver(f func(any), v any) {
	if slow.On() {
		t0, n0 := slow.Begin()
		defer slow.End("promise event observer", slow.FuncPC(f), 0, t0, n0)
	}
	defer func() {
		if p := recover(); p != nil {
			logPanic("panic in Promise event observer", panicFailure(p))
		}
	}()
	f(v)
}

func logPanic(msg string, f *Failure) {
	currentLogger().Error(msg, slog.String("error", f.Error()), slog.String("stack", f.Stack()))
}

// poll returns the settled result, if there is one, and marks a rejection
// as handled.
func (p *Promise[T]) poll() (T, error, bool) {
	switch p.state {
	case fulfilled:
		return p.value, nil, true
	case rejected:
		p.handled = true
		p.unhandled = untrack(p.unhandled)
		var zero T
		return zero, p.err, true
	}
	var zero T
	return zero, nil, false
}

// subscribe calls f once with the result when the promise settles (at once
// if it has); f reports whether it took a rejection.
func (p *Promise[T]) subscribe(f func(T, error) bool) {
	p.observe(observer[T]{both: f})
}

func (p *Promise[T]) isNil() bool { return p == nil }
