package reactortest

import (
	"sync"
	"time"

	"github.com/loomkit/loom/reactor"
)

// Clock is a fake reactor.Clock whose time moves only when Advance says
// so. Give it to reactor.New with reactor.WithClock. It is safe for use
// from any goroutine.
type Clock struct {
	mu       sync.Mutex
	now      time.Time
	reactors map[*reactor.Reactor]struct{}
}

// NewClock returns a clock that reads start until it is advanced.
func NewClock(start time.Time) *Clock {
	return &Clock{now: start, reactors: make(map[*reactor.Reactor]struct{})}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d and wakes every reactor using it.
// A running reactor then fires the calls that became due on its next
// pass; a test that drives the reactor itself calls RunOnce(0).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	rs := make([]*reactor.Reactor, 0, len(c.reactors))
	for r := range c.reactors {
		rs = append(rs, r)
	}
	c.mu.Unlock()
	for _, r := range rs {
		r.CallFromGoroutine(func() {})
	}
}

// Pending returns the calls waiting to run on the reactors that use this
// clock, soonest first (Twisted's getDelayedCalls). Call it from the
// goroutine that runs those reactors, or while they are not running.
func (c *Clock) Pending() []*reactor.DelayedCall {
	c.mu.Lock()
	rs := make([]*reactor.Reactor, 0, len(c.reactors))
	for r := range c.reactors {
		rs = append(rs, r)
	}
	c.mu.Unlock()
	var out []*reactor.DelayedCall
	for _, r := range rs {
		out = append(out, r.DelayedCalls()...)
	}
	if len(rs) > 1 {
		sortByWhen(out)
	}
	return out
}

// Watch is called by reactor.New; it lets Advance wake r.
func (c *Clock) Watch(r *reactor.Reactor) (unwatch func()) {
	c.mu.Lock()
	c.reactors[r] = struct{}{}
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		delete(c.reactors, r)
		c.mu.Unlock()
	}
}

func sortByWhen(cs []*reactor.DelayedCall) {
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].When().Before(cs[j-1].When()); j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}
