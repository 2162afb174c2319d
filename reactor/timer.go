package reactor

import (
	"cmp"
	"errors"
	"math"
	"slices"
	"time"
)

// ErrAlreadyCalled is returned by a DelayedCall's methods once it has run
// (from inside its own function too, as Twisted's AlreadyCalled).
var ErrAlreadyCalled = errors.New("reactor: delayed call already called")

// ErrAlreadyCancelled is returned by a DelayedCall's methods once it has
// been cancelled.
var ErrAlreadyCancelled = errors.New("reactor: delayed call already cancelled")

type callState uint8

const (
	pending callState = iota
	called
	cancelled
)

// A DelayedCall is a function scheduled by CallLater. Its methods must be
// called on the reactor goroutine.
type DelayedCall struct {
	r     *Reactor
	f     func()
	when  int64  // nanoseconds since r.epoch
	seq   uint64 // scheduling order: breaks ties and fences a pass
	index int    // position in r.timers; -1 when not in the heap
	state callState
}

// CallLater schedules f to run on the reactor goroutine once d has passed
// on the reactor's clock; d <= 0 means on the next pass. Calls due at the
// same time run in the order they were scheduled. A call scheduled, reset
// or delayed while timers are running never runs in that same pass, so a
// function that reschedules itself with d <= 0 cannot starve the loop.
// On a closed reactor, the call returned is already cancelled. CallLater
// must be called on the reactor goroutine.
func (r *Reactor) CallLater(d time.Duration, f func()) *DelayedCall {
	r.loopOnly("CallLater")
	c := &DelayedCall{r: r, f: f, when: addSat(r.nanos(), max(d, 0)), index: -1}
	if r.closed.Load() {
		c.state, c.f = cancelled, nil
		return c
	}
	r.seq++
	c.seq = r.seq
	r.timers.push(c)
	if c.index == 0 {
		r.nudge() // the earliest deadline moved: a sleeping loop must know
	}
	return c
}

// Cancel stops the call from running. It returns ErrAlreadyCalled if the
// call has run or is running, ErrAlreadyCancelled if it was cancelled.
func (c *DelayedCall) Cancel() error {
	if err := c.check(); err != nil {
		return err
	}
	c.state = cancelled
	c.r.timers.remove(c)
	c.f = nil
	return nil
}

// Reset reschedules the call to run d from now.
func (c *DelayedCall) Reset(d time.Duration) error {
	if err := c.check(); err != nil {
		return err
	}
	c.move(addSat(c.r.nanos(), max(d, 0)))
	return nil
}

// Delay postpones the call by d (a negative d brings it forward).
func (c *DelayedCall) Delay(d time.Duration) error {
	if err := c.check(); err != nil {
		return err
	}
	c.move(addSat(c.when, d))
	return nil
}

// Active reports whether the call is still waiting to run.
func (c *DelayedCall) Active() bool { return c.state == pending }

// When returns the time the call is scheduled for, on the reactor's clock.
func (c *DelayedCall) When() time.Time { return c.r.epoch.Add(time.Duration(c.when)) }

// addSat adds d to t, saturating instead of wrapping: a delay of
// math.MaxInt64 ("never") must not become a time in the past.
func addSat(t int64, d time.Duration) int64 {
	switch {
	case d > 0 && t > math.MaxInt64-int64(d):
		return math.MaxInt64
	case d < 0 && t < math.MinInt64-int64(d):
		return math.MinInt64
	}
	return t + int64(d)
}

func (c *DelayedCall) check() error {
	switch c.state {
	case called:
		return ErrAlreadyCalled
	case cancelled:
		return ErrAlreadyCancelled
	}
	return nil
}

func (c *DelayedCall) move(when int64) {
	c.when = when
	c.r.seq++
	c.seq = c.r.seq
	c.r.timers.fix(c)
	if c.index == 0 {
		c.r.nudge()
	}
}

// DelayedCalls returns the calls still waiting to run, soonest first.
// It must be called on the reactor goroutine.
func (r *Reactor) DelayedCalls() []*DelayedCall {
	out := make([]*DelayedCall, len(r.timers))
	copy(out, r.timers)
	sortCalls(out)
	return out
}

// runTimers runs every call due now that was scheduled before this pass
// began. Calls scheduled, reset or delayed during it are set aside and put
// back afterwards, for the next pass.
func (r *Reactor) runTimers() (ran bool) {
	if len(r.timers) == 0 {
		return false
	}
	now, fence := r.nanos(), r.seq
	// The buffer is this pass's own while it runs: a callback may run a
	// nested pass (a modal loop), which then makes its own.
	aside := r.aside[:0]
	r.aside = nil
	for len(r.timers) > 0 {
		c := r.timers[0]
		if c.when > now {
			break
		}
		r.timers.remove(c)
		if c.seq > fence {
			aside = append(aside, c)
			continue
		}
		c.state = called
		f := c.f
		c.f = nil
		r.stats.lag.add(now - c.when)
		r.call(f, kindTimer, -1)
		ran = true
	}
	for i, c := range aside {
		if c.state == pending && c.index < 0 {
			r.timers.push(c)
		}
		aside[i] = nil
	}
	if cap(aside) > cap(r.aside) {
		r.aside = aside[:0]
	}
	return ran
}

// timerHeap is a binary min-heap on (when, seq) that keeps each call's
// index, so Cancel and Reset are O(log n) with no search.
type timerHeap []*DelayedCall

func (h timerHeap) less(i, j int) bool {
	a, b := h[i], h[j]
	return a.when < b.when || (a.when == b.when && a.seq < b.seq)
}

func (h timerHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *timerHeap) push(c *DelayedCall) {
	c.index = len(*h)
	*h = append(*h, c)
	h.up(c.index)
}

func (h *timerHeap) remove(c *DelayedCall) {
	i := c.index
	if i < 0 || i >= len(*h) || (*h)[i] != c {
		return
	}
	last := len(*h) - 1
	if i != last {
		h.swap(i, last)
	}
	(*h)[last] = nil
	*h = (*h)[:last]
	c.index = -1
	if i != last {
		if !h.down(i) {
			h.up(i)
		}
	}
}

func (h *timerHeap) fix(c *DelayedCall) {
	if c.index < 0 || c.index >= len(*h) || (*h)[c.index] != c {
		return
	}
	if !h.down(c.index) {
		h.up(c.index)
	}
}

func (h timerHeap) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !h.less(j, i) {
			return
		}
		h.swap(i, j)
		j = i
	}
}

func (h timerHeap) down(i0 int) bool {
	i, n := i0, len(h)
	for {
		j := 2*i + 1
		if j >= n {
			break
		}
		if k := j + 1; k < n && h.less(k, j) {
			j = k
		}
		if !h.less(j, i) {
			break
		}
		h.swap(i, j)
		i = j
	}
	return i > i0
}

func sortCalls(cs []*DelayedCall) {
	slices.SortFunc(cs, func(a, b *DelayedCall) int {
		if c := cmp.Compare(a.when, b.when); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
}
