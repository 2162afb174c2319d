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
// is dropped. Close cancels every Deferred still pending the same way.
// f should return soon after ctx is done: a goroutine cannot be stopped
// from outside. On a closed reactor, the Deferred has failed already with
// ErrClosed. DeferToGoroutine must be called on the reactor goroutine.
func (r *Reactor) DeferToGoroutine(f func(ctx context.Context) (any, error)) *deferred.Deferred {
	r.loopOnly("DeferToGoroutine")
	if r.closed.Load() {
		return deferred.Fail(fmt.Errorf("DeferToGoroutine: %w", ErrClosed))
	}
	ctx, cancel := context.WithCancel(context.Background())
	j := &job{f: f, ctx: ctx, cancel: cancel}
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
	f      func(context.Context) (any, error)
	ctx    context.Context
	cancel context.CancelFunc
	d      *deferred.Deferred
	done   func(any, error)

	// The job is on one of the pool's lists: queued, or running.
	prev, next *job
	list       *jobList
}

// jobList is an intrusive doubly linked list, so a job leaves it in O(1)
// wherever it is: cancelling 100,000 queued jobs is linear, not
// quadratic.
type jobList struct {
	head, tail *job
	n          int
}

func (l *jobList) pushBack(j *job) {
	j.list, j.prev, j.next = l, l.tail, nil
	if l.tail != nil {
		l.tail.next = j
	} else {
		l.head = j
	}
	l.tail = j
	l.n++
}

func (l *jobList) remove(j *job) {
	if j.list != l {
		return
	}
	if j.prev != nil {
		j.prev.next = j.next
	} else {
		l.head = j.next
	}
	if j.next != nil {
		j.next.prev = j.prev
	} else {
		l.tail = j.prev
	}
	j.prev, j.next, j.list = nil, nil, nil
	l.n--
}

// pool runs jobs on at most max goroutines, started on demand and ended
// when the queue is empty, so an idle reactor owns no goroutine.
type pool struct {
	mu      sync.Mutex
	max     int
	workers int
	queue   jobList // waiting their turn, in order
	running jobList // started, not yet delivered
	closed  bool
}

func (p *pool) submit(r *Reactor, j *job) {
	p.mu.Lock()
	if p.workers >= p.max {
		p.queue.pushBack(j)
		p.mu.Unlock()
		return
	}
	p.workers++
	p.running.pushBack(j)
	p.mu.Unlock()
	go p.work(r, j)
}

// drop forgets a job that was cancelled: a queued one never starts.
func (p *pool) drop(j *job) {
	p.mu.Lock()
	p.queue.remove(j)
	p.running.remove(j)
	p.mu.Unlock()
}

// close cancels every job the pool holds, running or queued, on the
// reactor goroutine (Close): their Deferreds fail with ErrCancelled, the
// contexts of running ones are cancelled, queued ones never start.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	var jobs []*job
	for _, l := range []*jobList{&p.running, &p.queue} {
		for j := l.head; j != nil; j = j.next {
			jobs = append(jobs, j)
		}
	}
	p.mu.Unlock()
	for _, j := range jobs {
		j.d.Cancel()
	}
}

func (p *pool) work(r *Reactor, j *job) {
	for j != nil {
		v, err := runJob(j)
		done := j.done
		r.CallFromGoroutine(func() { done(v, err) })
		p.mu.Lock()
		p.running.remove(j)
		j = p.queue.head
		if j != nil && !p.closed {
			p.queue.remove(j)
			p.running.pushBack(j)
		} else {
			j = nil
			p.workers--
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
