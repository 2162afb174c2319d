package reactor

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/loomkit/loom/deferred"
)

// DefaultWorkers is how many goroutines DeferToGoroutine runs at once
// unless WithWorkers says otherwise.
const DefaultWorkers = 10

// DeferToGoroutine runs blocking code off the reactor goroutine and
// delivers its outcome back on it: f runs on a bounded pool of goroutines
// (WithWorkers; work beyond the bound waits its turn, in order), and the
// returned Deferred fires on the reactor goroutine with f's result, or
// fails with its error, or with a *deferred.PanicError if it panicked.
//
// Cancelling the Deferred cancels ctx, the context f receives, and fails
// the Deferred with deferred.ErrCancelled at once; work not yet started
// is dropped. f should return soon after ctx is done: a goroutine cannot
// be stopped from outside. DeferToGoroutine must be called on the reactor
// goroutine.
func (r *Reactor) DeferToGoroutine(f func(ctx context.Context) (any, error)) *deferred.Deferred {
	ctx, cancel := context.WithCancel(context.Background())
	j := &job{f: f, ctx: ctx}
	j.d = deferred.NewWithCanceller(func(*deferred.Deferred) {
		cancel()
		r.pool.drop(j)
	})
	j.done = func(v any, err error) {
		cancel()
		if j.d.Called() {
			return // cancelled meanwhile
		}
		if err != nil {
			j.d.Errback(err)
		} else {
			j.d.Callback(v)
		}
	}
	r.pool.submit(r, j)
	return j.d
}

type job struct {
	f    func(context.Context) (any, error)
	ctx  context.Context
	d    *deferred.Deferred
	done func(any, error)
}

// pool runs jobs on at most max goroutines, started on demand and ended
// when the queue is empty, so an idle reactor owns no goroutine.
type pool struct {
	mu      sync.Mutex
	max     int
	running int
	queue   []*job
}

func (p *pool) submit(r *Reactor, j *job) {
	p.mu.Lock()
	if p.running >= p.max {
		p.queue = append(p.queue, j)
		p.mu.Unlock()
		return
	}
	p.running++
	p.mu.Unlock()
	go p.work(r, j)
}

func (p *pool) drop(j *job) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, q := range p.queue {
		if q == j {
			p.queue = append(p.queue[:i], p.queue[i+1:]...)
			return
		}
	}
}

func (p *pool) work(r *Reactor, j *job) {
	for j != nil {
		v, err := runJob(j)
		done := j.done
		r.CallFromGoroutine(func() { done(v, err) })
		p.mu.Lock()
		j = nil
		if len(p.queue) > 0 {
			j = p.queue[0]
			p.queue[0] = nil
			p.queue = p.queue[1:]
		} else {
			p.running--
		}
		p.mu.Unlock()
	}
}

func runJob(j *job) (v any, err error) {
	defer func() {
		if x := recover(); x != nil {
			err = deferred.NewFailure(fmt.Errorf("DeferToGoroutine: %w\n%s", &deferred.PanicError{Value: x}, debug.Stack()))
		}
	}()
	if j.ctx.Err() != nil {
		return nil, j.ctx.Err()
	}
	return j.f(j.ctx)
}
