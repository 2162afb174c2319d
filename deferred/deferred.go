package deferred

import (
	"fmt"

	"github.com/loomkit/loom/internal/slow"
)

// Deferred is a result that is not ready yet, with Twisted's semantics: a
// chain of callbacks and errbacks through which the result flows once it
// arrives. Each callback receives the result of the one before (implicit
// chaining). A callback that returns a non-nil error, or panics, moves the
// chain to the errback path; an errback that returns anything other than an
// error moves it back. A callback that returns an unfired *Deferred pauses
// the chain until that Deferred has a result, which then flows on.
//
// The zero value is an unfired Deferred without a canceller, ready to use.
// A Deferred belongs to one goroutine, the loop goroutine: none of its
// methods may be called concurrently, and callbacks run on the goroutine
// that fires it or adds them.
type Deferred struct {
	result    any // the current result; a *Failure on the errback path, a *Deferred while waiting on it
	cbs       []link
	inline    [1]link // backing store for the first callback, so one callback costs no allocation
	next      int32   // index in cbs of the next link to run
	paused    int32   // unmatched Pause calls; waiting on another Deferred is kept apart, in result
	called    bool
	running   bool // a callback of this Deferred is on the stack
	suppress  bool // cancelled without a canceller: swallow one later Callback or Errback
	withdrawn bool // cancelled while waiting on a Lock, Semaphore or Queue: skipped when its turn comes
	canceller func(*Deferred)
	chainedTo *Deferred // the Deferred this one waits on, for String and tests
	unhandled *tracker
}

type linkKind uint8

const (
	linkPair     linkKind = iota // cb on success, eb on failure; nil means pass through
	linkBoth                     // cb on success and on failure
	linkContinue                 // hand the result to target, which waits on this Deferred
	linkChain                    // fire target with the result (Chain)
)

type link struct {
	cb     func(any) any
	eb     func(error) any
	target *Deferred
	kind   linkKind
}

// New returns an unfired Deferred without a canceller: cancelling it
// errbacks it with ErrCancelled. It may be called from any goroutine; the
// Deferred is then used on the loop goroutine.
func New() *Deferred { return new(Deferred) }

// NewWithCanceller returns an unfired Deferred whose Cancel calls canceller
// (with the Deferred) to stop the work behind it. The canceller decides the
// result: it may call Callback or Errback; if it does not, Cancel errbacks
// the Deferred with ErrCancelled. Loop goroutine only, like every use of the
// Deferred.
func NewWithCanceller(canceller func(*Deferred)) *Deferred {
	return &Deferred{canceller: canceller}
}

// Succeed returns a Deferred that has already been called back with result.
// Loop goroutine.
func Succeed(result any) *Deferred {
	d := new(Deferred)
	d.fire(result)
	return d
}

// Fail returns a Deferred that has already been errbacked with err (wrapped
// in a *Failure recording Fail's caller). Loop goroutine.
func Fail(err error) *Deferred {
	d := new(Deferred)
	d.fire(asFailure(err, 4))
	return d
}

// MaybeDeferred calls f and returns its result as a Deferred: the Deferred
// itself if f returns one, a failed Deferred if f returns an error or panics,
// a succeeded one otherwise. A nil f gives a Deferred failed with an error
// wrapping ErrNil. Loop goroutine.
func MaybeDeferred(f func() any) *Deferred {
	if f == nil {
		return failNil("the function given to MaybeDeferred")
	}
	r := callSafely(f)
	switch v := r.(type) {
	case *Deferred:
		if v != nil {
			return v
		}
		r = nil
	case error:
		d := new(Deferred)
		d.fire(asFailure(v, 4))
		return d
	}
	d := new(Deferred)
	d.fire(r)
	return d
}

// failNil returns a Deferred failed with an error saying what was nil.
func failNil(what string) *Deferred {
	d := new(Deferred)
	d.fire(newFailure(errNil(what), 3))
	return d
}

func callSafely(f func() any) (r any) {
	defer func() {
		if p := recover(); p != nil {
			r = panicFailure(p)
		}
	}()
	return f()
}

// asFailure wraps err (nil becomes an error saying so) in a Failure,
// recording the stack skip frames up.
func asFailure(err error, skip int) *Failure {
	if err == nil {
		err = errNilError
	}
	return newFailure(err, skip)
}

// Called reports whether Callback or Errback has been called (or the
// Deferred was cancelled). Loop goroutine.
func (d *Deferred) Called() bool { return d.called }

// AddCallbacks adds a callback and an errback side by side: callback runs if
// the result at this point of the chain is a success, errback if it is a
// failure. A nil callback or errback passes the result through. If the
// Deferred already has a result, the new pair runs before AddCallbacks
// returns (unless the Deferred is paused or is already running callbacks, in
// which case it runs when they get to it). AddCallbacks returns d.
//
// Each function's return value becomes the result for the next pair: a
// non-nil error (wrapped in a *Failure) continues on the errback path, a
// *Deferred is waited on, anything else continues on the callback path.
// Extra arguments, which Twisted passes after the result, are captured by
// the closure in Go. Loop goroutine.
func (d *Deferred) AddCallbacks(callback func(result any) any, errback func(err error) any) *Deferred {
	return d.add(link{cb: callback, eb: errback})
}

// AddCallback adds a callback for the success path; failures pass it by.
// See AddCallbacks. Loop goroutine.
func (d *Deferred) AddCallback(callback func(result any) any) *Deferred {
	return d.add(link{cb: callback})
}

// AddErrback adds an errback for the failure path; successes pass it by.
// The errback receives the *Failure; returning it (or another error) keeps
// the chain on the errback path, returning anything else recovers. See
// AddCallbacks. Loop goroutine.
func (d *Deferred) AddErrback(errback func(err error) any) *Deferred {
	return d.add(link{eb: errback})
}

// AddBoth adds f as both callback and errback: it receives the result
// whichever path the chain is on (a *Failure on the errback path). See
// AddCallbacks. Loop goroutine.
func (d *Deferred) AddBoth(f func(result any) any) *Deferred {
	return d.add(link{cb: f, kind: linkBoth})
}

// Chain makes other take part in d's chain (Twisted's chainDeferred): when
// the chain reaches this point, other is fired with the result, and d's
// result becomes nil. Firing other does not fire d. Unlike Twisted, the
// hand-over does not recurse, so chains of Chain calls of any length keep a
// bounded stack. Chain(nil) puts a failure wrapping ErrNil in d's chain at
// that point instead. Chain returns d. Loop goroutine.
func (d *Deferred) Chain(other *Deferred) *Deferred {
	if other == nil {
		return d.AddBoth(func(any) any { return newFailure(errNil("the Deferred given to Chain"), 3) })
	}
	other.chainedTo = d
	return d.add(link{target: other, kind: linkChain})
}

func (d *Deferred) add(l link) *Deferred {
	d.appendLink(l)
	if d.called {
		d.runCallbacks()
	}
	return d
}

func (d *Deferred) appendLink(l link) {
	if d.cbs == nil {
		d.cbs = d.inline[:0:1]
	}
	d.cbs = append(d.cbs, l)
}

// Callback fires the Deferred with result, running its callbacks. A result
// that is a non-nil error fires it on the errback path, as Errback does.
// Callback returns ErrAlreadyCalled if the Deferred already has a result
// (except for the one late result swallowed after a Cancel without
// canceller), and an error without firing if result is a *Deferred. Loop
// goroutine.
func (d *Deferred) Callback(result any) error {
	switch v := result.(type) {
	case *Deferred:
		return errDeferredResult
	case error:
		if d.called {
			return d.alreadyCalled()
		}
		return d.fire(newFailure(v, 3))
	}
	return d.fire(result)
}

// Errback fires the Deferred with a failure, running its errbacks. err is
// wrapped in a *Failure that records the stack of Errback's caller (an err
// that already carries a *Failure keeps its origin); a nil err becomes an
// error saying so. Errback returns ErrAlreadyCalled if the Deferred already
// has a result (except for the one late result swallowed after a Cancel
// without canceller). Loop goroutine.
func (d *Deferred) Errback(err error) error {
	if d.called {
		return d.alreadyCalled()
	}
	return d.fire(asFailure(err, 4))
}

func (d *Deferred) alreadyCalled() error {
	if d.suppress {
		d.suppress = false
		return nil
	}
	return ErrAlreadyCalled
}

func (d *Deferred) fire(result any) error {
	if d.called {
		return d.alreadyCalled()
	}
	d.called = true
	d.canceller = nil
	d.result = result
	d.runCallbacks()
	return nil
}

// Pause stops the Deferred from running callbacks until a matching Unpause.
// Loop goroutine.
func (d *Deferred) Pause() { d.paused++ }

// Unpause undoes one Pause; when none are left and the Deferred has a
// result, the callbacks added meanwhile run. Unpause on a Deferred that is
// not paused by Pause does nothing, even while it waits on a Deferred that
// one of its callbacks returned: that wait ends only when the other
// Deferred has its result. Loop goroutine.
func (d *Deferred) Unpause() {
	if d.paused == 0 {
		return
	}
	d.paused--
	if d.paused == 0 && d.called {
		d.runCallbacks()
	}
}

// Cancel asks for the work behind an unfired Deferred to stop. If the
// Deferred has a canceller, the canceller runs and decides the result; if
// it does not fire the Deferred (or there is no canceller), the Deferred is
// errbacked with ErrCancelled. Without a canceller, the one Callback or
// Errback that the producer will still make is then swallowed. A panic in
// the canceller fails the Deferred with that panic. If the Deferred has
// fired but is waiting on a Deferred returned by one of its callbacks,
// Cancel cancels that one instead, following such waits to the innermost
// Deferred however long the chain. Deferreds that wait on each other in a
// ring (a program error: none of them could ever go on) are not cancelled
// but set free: each stops waiting and goes on with a failure wrapping
// ErrWaitCycle, and Deferreds waiting on the ring get what its chains make
// of that. On a Deferred with a result, Cancel does nothing. Loop
// goroutine.
func (d *Deferred) Cancel() {
	// slow follows at half speed: if the waits form a ring, cur meets it.
	cur, slow := d, d
	for n := 0; cur.called; n++ {
		inner, ok := cur.result.(*Deferred)
		if !ok {
			return
		}
		cur = inner
		if n%2 == 1 {
			slow = slow.result.(*Deferred)
		}
		if cur == slow {
			cur.breakWaitCycle()
			return
		}
	}
	cur.cancelUnfired()
}

// cancelUnfired cancels a Deferred that has no result yet.
func (d *Deferred) cancelUnfired() {
	if c := d.canceller; c != nil {
		d.canceller = nil
		if f := callCanceller(c, d); f != nil && !d.called {
			d.fire(f)
		}
	} else {
		d.suppress = true
	}
	if !d.called {
		d.fire(newFailure(ErrCancelled, 3))
	}
}

// breakWaitCycle sets free a ring of Deferreds waiting on each other, of
// which d is one: each stops waiting and goes on with a failure wrapping
// ErrWaitCycle. The ring's hand-overs are removed first and every result set
// before any callback runs, so callbacks never see a ring half broken.
func (d *Deferred) breakWaitCycle() {
	var ring []*Deferred
	for cur := d; ; {
		ring = append(ring, cur)
		inner := cur.result.(*Deferred)
		for i := int(inner.next); i < len(inner.cbs); i++ {
			if l := inner.cbs[i]; l.kind == linkContinue && l.target == cur {
				inner.cbs[i] = link{} // passes the result through
				break
			}
		}
		if cur = inner; cur == d {
			break
		}
	}
	f := newFailure(ErrWaitCycle, 3)
	for _, r := range ring {
		r.chainedTo = nil
		r.result = f
	}
	for _, r := range ring {
		r.runCallbacks()
	}
}

func callCanceller(c func(*Deferred), d *Deferred) (f *Failure) {
	defer func() {
		if p := recover(); p != nil {
			f = panicFailure(p)
		}
	}()
	c(d)
	return nil
}

// String describes the Deferred the way Twisted's repr does: its address,
// and its current result or the Deferred it waits on. Loop goroutine.
func (d *Deferred) String() string {
	switch {
	case d.chainedTo != nil:
		return fmt.Sprintf("<Deferred at %p waiting on Deferred at %p>", d, d.chainedTo)
	case !d.called:
		return fmt.Sprintf("<Deferred at %p>", d)
	default:
		return fmt.Sprintf("<Deferred at %p current result: %v>", d, d.result)
	}
}

// runCallbacks runs the callbacks of d, and of every Deferred waiting on d,
// as far as the results allow. Like Twisted's _runCallbacks it keeps the
// Deferreds whose results are being handed on in an explicit stack instead
// of recursing, so the Go stack stays the same depth however long the chain
// of waiting Deferreds is.
func (d *Deferred) runCallbacks() {
	if d.running {
		return
	}
	var buf [8]*Deferred
	chain := append(buf[:0], d)
	for len(chain) > 0 {
		cur := chain[len(chain)-1]
		if cur.paused > 0 || isDeferred(cur.result) {
			// cur is paused (or, at the bottom, waits on another
			// Deferred): it goes on when unpaused. The Deferred below,
			// which handed cur its result, goes on now with its own
			// callbacks (Twisted's loop returns here, leaving them
			// until something else runs that Deferred).
			chain = chain[:len(chain)-1]
			continue
		}
		finished := true
		cur.chainedTo = nil
	links:
		for int(cur.next) < len(cur.cbs) {
			l := cur.cbs[cur.next]
			cur.cbs[cur.next] = link{}
			cur.next++

			switch l.kind {
			case linkContinue:
				// The Deferred waiting on cur takes its result; cur
				// itself is left with nil.
				waiter := l.target
				waiter.result = cur.result
				cur.result = nil
				chain = append(chain, waiter)
				finished = false
			case linkChain:
				other := l.target
				if other.called {
					if other.suppress {
						other.suppress = false
						cur.result = nil
					} else {
						cur.result = newFailure(ErrAlreadyCalled, 2)
					}
					continue
				}
				other.called = true
				other.canceller = nil
				other.result = cur.result
				cur.result = nil
				if other.paused > 0 {
					// other runs when unpaused; cur goes on now, as a
					// nested callback(other) would let it.
					other.chainedTo = nil
					continue
				}
				chain = append(chain, other)
				finished = false
			}
			if !finished {
				break links
			}

			var fn func(any) any
			var efn func(error) any
			failure, failed := cur.result.(*Failure)
			switch {
			case !failed:
				fn = l.cb
			case l.kind == linkBoth:
				fn = l.cb
			default:
				efn = l.eb
			}
			if fn == nil && efn == nil {
				continue // pass through
			}
			cur.running = true
			res := invoke(fn, efn, cur.result, failure)
			cur.running = false

			switch v := res.(type) {
			case nil:
			case *Failure:
			case *Deferred:
				if v == cur {
					res = newFailure(errCircular, 2)
					break
				}
				if !v.called || v.paused > 0 || isDeferred(v.result) {
					// Wait for v: v hands cur its result. cur's
					// result is v meanwhile, which holds its chain.
					cur.result = v
					cur.chainedTo = v
					v.appendLink(link{target: cur, kind: linkContinue})
					break links
				}
				// v has its result: take it.
				res = v.result
				v.result = nil
				v.unhandled = untrack(v.unhandled)
			case error:
				res = newFailure(v, 2)
			}
			cur.result = res
		}
		if finished {
			// cur has done all it can for now: watch a failure it is
			// left with, forget one it no longer has.
			if f, ok := cur.result.(*Failure); ok {
				cur.unhandled = track(cur.unhandled, cur, "Deferred", f)
			} else if cur.unhandled != nil {
				cur.unhandled = untrack(cur.unhandled)
			}
			if int(cur.next) >= len(cur.cbs) {
				cur.resetLinks()
			}
			chain = chain[:len(chain)-1]
		}
	}
}

// resetLinks drops the spent callbacks, keeping the inline slot.
func (d *Deferred) resetLinks() {
	if cap(d.cbs) == 1 {
		d.cbs = d.cbs[:0]
	} else {
		d.cbs = nil
	}
	d.next = 0
}

func isDeferred(v any) bool {
	_, ok := v.(*Deferred)
	return ok
}

// invoke calls fn(result) or efn(failure), turning a panic into a Failure
// and a nil *Deferred (a typed nil in an any) into a plain nil.
func invoke(fn func(any) any, efn func(error) any, result any, failure *Failure) any {
	if !slow.On() {
		return invokeRaw(fn, efn, result, failure)
	}
	t0, n0 := slow.Begin()
	res := invokeRaw(fn, efn, result, failure)
	pc := slow.FuncPC(fn)
	if fn == nil {
		pc = slow.FuncPC(efn)
	}
	slow.End("deferred callback", pc, 0, t0, n0)
	return res
}

func invokeRaw(fn func(any) any, efn func(error) any, result any, failure *Failure) (res any) {
	defer func() {
		if p := recover(); p != nil {
			res = panicFailure(p)
		}
	}()
	if fn != nil {
		res = fn(result)
	} else {
		res = efn(failure)
	}
	if d, ok := res.(*Deferred); ok && d == nil {
		res = nil
	}
	return res
}

// take removes and returns the result of a Deferred whose callbacks have all
// run, as an awaiting coroutine does; the Deferred's result becomes nil.
func (d *Deferred) take() any {
	r := d.result
	d.result = nil
	d.unhandled = untrack(d.unhandled)
	return r
}

// ready reports whether the Deferred has a result that no callback is still
// to see: fired, not paused, not waiting, not running.
func (d *Deferred) ready() bool {
	return d.called && d.paused == 0 && !d.running && !isDeferred(d.result) && int(d.next) >= len(d.cbs)
}
