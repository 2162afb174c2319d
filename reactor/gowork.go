package reactor

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/loomkit/loom/deferred"
)

// Go is the typed form of DeferToGoroutine: f runs on the same bounded
// pool of goroutines, and the returned promise settles on the reactor
// goroutine with f's result, or is rejected with its error, or with a
// *deferred.PanicError if it panicked.
//
// Cancelling the promise cancels ctx, the context f receives, and rejects
// the promise with deferred.ErrCancelled at once; work not yet started is
// dropped. Close cancels every promise still pending the same way. f
// should return soon after ctx is done. On a closed reactor, the promise
// has been rejected already with an error wrapping ErrClosed; with a nil
// reactor or f, with one wrapping deferred.ErrNil. Go must be called on
// the reactor goroutine.
func Go[T any](r *Reactor, f func(ctx context.Context) (T, error)) *deferred.Promise[T] {
	if f == nil {
		return deferred.Rejected[T](fmt.Errorf("reactor.Go given a nil function: %w", deferred.ErrNil))
	}
	return goWork(r, "reactor.Go", func(ctx context.Context, _ func(struct{})) (T, error) { return f(ctx) }, nil)
}

// GoWithProgress is Go for work that reports how far it has come: f
// receives a progress function, which it (or any goroutine it starts) may
// call as often as it likes, and each value reaches the promise's
// observers of ev (deferred.On) on the reactor goroutine. With
// deferred.Progress as ev, a progress bar reads:
//
//	p := reactor.GoWithProgress(r, deferred.Progress,
//		func(ctx context.Context, progress func(deferred.Count)) ([]byte, error) {
//			... progress(deferred.Count{Done: n, Total: size}) ...
//		})
//	deferred.On(p, deferred.Progress, func(c deferred.Count) { bar.SetValue(c.Fraction()) })
//
// Reports are coalesced so that a flood of them cannot swamp the loop
// (or a GUI's frames): a report replaces the value not yet delivered,
// observers see at most one value per pass of the loop, the latest, and
// at most one CallFromGoroutine per promise is in flight. The last report
// made before f returns is always delivered, before the promise settles
// (in the pass that settles it, which may follow another delivery).
// Reports made after f returned, or after the promise was cancelled, are
// dropped. Cancellation, Close and panics are as for Go. GoWithProgress
// must be called on the reactor goroutine; the progress function may be
// called from any goroutine.
func GoWithProgress[T, P any](r *Reactor, ev deferred.Event[P], f func(ctx context.Context, progress func(P)) (T, error)) *deferred.Promise[T] {
	if f == nil {
		return deferred.Rejected[T](fmt.Errorf("reactor.GoWithProgress given a nil function: %w", deferred.ErrNil))
	}
	return goWork(r, "reactor.GoWithProgress", f, &ev)
}

// goWork runs f on the pool as a job whose Deferred (which Close and the
// pool cancel) settles the returned promise; with ev, f's reports are
// emitted under it, coalesced by a progressBox.
func goWork[T, P any](r *Reactor, name string, f func(context.Context, func(P)) (T, error), ev *deferred.Event[P]) *deferred.Promise[T] {
	if r == nil {
		return deferred.Rejected[T](fmt.Errorf("%s given a nil reactor: %w", name, deferred.ErrNil))
	}
	if r.closed.Load() {
		return deferred.Rejected[T](fmt.Errorf("%s: %w", name, ErrClosed))
	}
	p, res := deferred.NewPromise[T]()
	var box *progressBox[P]
	report := func(P) {}
	if ev != nil {
		box = &progressBox[P]{r: r, emit: func(v P) { deferred.Emit(res, *ev, v) }}
		report = box.report
	}
	ctx, cancel := context.WithCancel(context.Background())
	var value T // written by the worker before it hands done to the loop
	j := &job{ctx: ctx, cancel: cancel}
	j.f = func(ctx context.Context) (any, error) {
		v, err := callTyped(name, f, ctx, report)
		value = v
		if box != nil {
			box.finish()
		}
		return nil, err
	}
	j.d = deferred.NewWithCanceller(func(*deferred.Deferred) {
		cancel()
		r.pool.drop(j)
	})
	j.done = func(_ any, err error) {
		cancel()
		if j.d.Called() {
			return // cancelled meanwhile
		}
		if box != nil {
			box.flush() // the final report, before the promise settles
		}
		if err != nil {
			j.d.Errback(err)
		} else {
			j.d.Callback(nil)
		}
	}
	j.d.AddBoth(func(v any) any {
		if err, ok := v.(error); ok {
			res.Reject(err)
		} else {
			res.Resolve(value)
		}
		return nil
	})
	res.OnCancel(func() { j.d.Cancel() })
	r.pool.submit(r, j)
	return p
}

func callTyped[T, P any](name string, f func(context.Context, func(P)) (T, error), ctx context.Context, report func(P)) (v T, err error) {
	defer func() {
		if x := recover(); x != nil {
			err = deferred.NewFailure(fmt.Errorf("%s: %w\n%s", name, &deferred.PanicError{Value: x}, debug.Stack()))
		}
	}()
	return f(ctx, report)
}

// progressBox carries progress reports from a job's goroutines to the
// loop: it holds the latest value not yet delivered. The first report
// queues one delivery with CallFromGoroutine; from then on, while reports
// keep coming, the loop takes the latest once per pass (CallSoon), and
// only a pass that finds none waiting lets the next report queue a
// delivery again.
type progressBox[P any] struct {
	r    *Reactor
	emit func(P) // loop goroutine

	mu       sync.Mutex
	latest   P
	has      bool // latest is waiting for delivery
	inFlight bool // a delivery is queued, or the loop takes values each pass
	finished bool // f returned: reports are dropped
}

// report records v as the latest value and queues a delivery unless one
// is on its way. Any goroutine.
func (b *progressBox[P]) report(v P) {
	b.mu.Lock()
	if b.finished {
		b.mu.Unlock()
		return
	}
	b.latest, b.has = v, true
	if b.inFlight {
		b.mu.Unlock()
		return
	}
	b.inFlight = true
	b.mu.Unlock()
	b.r.CallFromGoroutine(b.deliver)
}

// finish drops the reports that come after f returned. Worker goroutine,
// before the job's done is queued.
func (b *progressBox[P]) finish() {
	b.mu.Lock()
	b.finished = true
	b.mu.Unlock()
}

// deliver emits the value waiting and looks again on the next pass. Loop
// goroutine.
func (b *progressBox[P]) deliver() {
	b.flush()
	b.r.CallSoon(b.next)
}

// next emits the value that came in since the last pass, if one did, and
// looks again on the pass after; otherwise it lets the next report queue
// a delivery. Loop goroutine.
func (b *progressBox[P]) next() {
	b.mu.Lock()
	if !b.has {
		b.inFlight = false
		b.mu.Unlock()
		return
	}
	b.mu.Unlock()
	b.deliver()
}

// flush emits the value waiting, if there is one. Loop goroutine.
func (b *progressBox[P]) flush() {
	b.mu.Lock()
	v, ok := b.latest, b.has
	var zero P
	b.latest, b.has = zero, false
	b.mu.Unlock()
	if ok {
		b.emit(v)
	}
}
