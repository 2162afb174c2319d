package poller

import "sync"

// A waker is a descriptor that another goroutine can make readable.
// wake may be called from any goroutine; drain and close only from the
// reactor's. Both implementations are nonblocking and close-on-exec.
type waker interface {
	fd() int
	wake() error
	drain()
	close() error
}

// guard makes Wake safe against a concurrent Close: without it a wakeup
// racing with Close could write to a descriptor number the OS has already
// handed to someone else.
type guard struct {
	mu     sync.RWMutex
	closed bool
}

// do runs f unless the poller is closed.
func (g *guard) do(f func() error) error {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return nil
	}
	return f()
}

// close marks the poller closed; it reports false if it already was.
func (g *guard) close() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	was := g.closed
	g.closed = true
	return !was
}
