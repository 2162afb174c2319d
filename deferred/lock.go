package deferred

import "fmt"

// Lock is a mutual-exclusion lock for code on the loop goroutine (Twisted's
// DeferredLock): Acquire returns a Deferred that fires once the lock is
// held. Waiters are served first come, first served. The zero value is an
// unlocked Lock. All methods are for the loop goroutine.
type Lock struct {
	locked  bool
	waiting waiters
}

// Locked reports whether the lock is held. Loop goroutine.
func (l *Lock) Locked() bool { return l.locked }

// Acquire returns a Deferred that fires with the *Lock when the caller holds
// the lock: at once if it is free, otherwise after the holders before it
// release it. Cancelling the Deferred before it fires removes the caller
// from the waiters (and fails the Deferred with ErrCancelled); once it has
// fired, cancelling it does nothing. Waiting, handing over and cancelling
// each cost O(1) amortised, however many wait. Loop goroutine.
func (l *Lock) Acquire() *Deferred {
	d := NewWithCanceller(l.waiting.withdraw)
	if l.locked {
		l.waiting.push(d)
	} else {
		l.locked = true
		d.fire(l)
	}
	return d
}

// Release releases the lock, handing it to the first waiter if there is
// one. It returns ErrNotAcquired if the lock is not held. Loop goroutine.
func (l *Lock) Release() error {
	if !l.locked {
		return ErrNotAcquired
	}
	l.locked = false
	if d := l.waiting.pop(); d != nil {
		l.locked = true
		d.fire(l)
	}
	return nil
}

// Run acquires the lock, runs f (as MaybeDeferred does), and releases the
// lock when f's result is ready, even if f fails or panics; f may return a
// Deferred, and the lock is held until it fires. The returned Deferred fires
// with f's result. A nil f gives a Deferred failed with an error wrapping
// ErrNil, without taking the lock. Loop goroutine.
func (l *Lock) Run(f func() any) *Deferred {
	if f == nil {
		return failNil("the function given to Lock.Run")
	}
	return runLocked(l.Acquire(), f, l.Release)
}

// Semaphore limits how many users may hold it at once (Twisted's
// DeferredSemaphore). All methods are for the loop goroutine.
type Semaphore struct {
	tokens  int
	limit   int
	waiting waiters
}

// NewSemaphore returns a Semaphore with tokens free tokens, which is also its
// limit; fewer than one token is an error. Any goroutine.
func NewSemaphore(tokens int) (*Semaphore, error) {
	if tokens < 1 {
		return nil, fmt.Errorf("deferred: NewSemaphore(%d): a semaphore needs at least one token", tokens)
	}
	return &Semaphore{tokens: tokens, limit: tokens}, nil
}

// Tokens returns the number of tokens free now. Loop goroutine.
func (s *Semaphore) Tokens() int { return s.tokens }

// Limit returns the number of tokens the Semaphore was made with. Any
// goroutine.
func (s *Semaphore) Limit() int { return s.limit }

// Acquire returns a Deferred that fires with the *Semaphore when the caller
// holds a token: at once if one is free, otherwise first come, first served
// as tokens are released. Cancelling the Deferred before it fires removes
// the caller from the waiters; once it has fired, cancelling it does
// nothing. As for Lock, each of these costs O(1) amortised. Loop goroutine.
func (s *Semaphore) Acquire() *Deferred {
	d := NewWithCanceller(s.waiting.withdraw)
	if s.tokens == 0 {
		s.waiting.push(d)
	} else {
		s.tokens--
		d.fire(s)
	}
	return d
}

// Release returns a token, handing it to the first waiter if there is one.
// It returns ErrNotAcquired if all tokens are already free. Loop goroutine.
func (s *Semaphore) Release() error {
	if s.tokens >= s.limit {
		return ErrNotAcquired
	}
	if d := s.waiting.pop(); d != nil {
		d.fire(s)
		return nil
	}
	s.tokens++
	return nil
}

// Run acquires a token, runs f (as MaybeDeferred does), and releases the
// token when f's result is ready, even if f fails or panics. The returned
// Deferred fires with f's result. A nil f gives a Deferred failed with an
// error wrapping ErrNil, without taking a token. Loop goroutine.
func (s *Semaphore) Run(f func() any) *Deferred {
	if f == nil {
		return failNil("the function given to Semaphore.Run")
	}
	return runLocked(s.Acquire(), f, s.Release)
}

func runLocked(acquired *Deferred, f func() any, release func() error) *Deferred {
	return acquired.AddCallback(func(any) any {
		return MaybeDeferred(f).AddBoth(func(r any) any {
			release()
			return r
		})
	})
}
