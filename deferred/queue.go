package deferred

// Queue is a first-in, first-out queue for code on the loop goroutine
// (Twisted's DeferredQueue): Get returns a Deferred that fires with the next
// value, at once if one is waiting. A size limit bounds the values held, a
// backlog limit bounds the Gets waiting. The zero value is a Queue with no
// limits. All methods are for the loop goroutine.
type Queue struct {
	pending []any
	waiting waiters
	size    int // limit + 1; 0 means no limit
	backlog int // limit + 1; 0 means no limit
}

// NewQueue returns a Queue that holds at most size values and lets at most
// backlog Gets wait; a negative limit means no limit. Any goroutine.
func NewQueue(size, backlog int) *Queue {
	return &Queue{size: max(size+1, 0), backlog: max(backlog+1, 0)}
}

// Len returns the number of values waiting to be got. Loop goroutine.
func (q *Queue) Len() int { return len(q.pending) }

// Waiting returns the number of Gets waiting for a value. Loop goroutine.
func (q *Queue) Waiting() int { return q.waiting.len() }

// Put adds v to the queue, or hands it straight to the oldest waiting Get,
// in O(1) amortised however many wait. It returns ErrQueueOverflow, without
// adding v, if the queue already holds its size limit of values. Loop
// goroutine.
func (q *Queue) Put(v any) error {
	if d := q.waiting.pop(); d != nil {
		d.fire(v)
		return nil
	}
	if q.size != 0 && len(q.pending) >= q.size-1 {
		return ErrQueueOverflow
	}
	q.pending = append(q.pending, v)
	return nil
}

// Get returns a Deferred that fires with the oldest value in the queue: at
// once if there is one, otherwise when one is Put. If the backlog limit of
// waiting Gets is reached, the Deferred fails at once with
// ErrQueueUnderflow. Cancelling a waiting Get removes it from the waiters,
// so the next value goes to the next Get. Loop goroutine.
func (q *Queue) Get() *Deferred {
	if len(q.pending) > 0 {
		v := q.pending[0]
		q.pending[0] = nil
		q.pending = q.pending[1:]
		if len(q.pending) == 0 {
			q.pending = nil
		}
		return Succeed(v)
	}
	if q.backlog != 0 && q.waiting.len() >= q.backlog-1 {
		return Fail(ErrQueueUnderflow)
	}
	d := NewWithCanceller(q.waiting.withdraw)
	q.waiting.push(d)
	return d
}
