//go:build cgo

package nesttest

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
)

func newReactor(t *testing.T, logger *slog.Logger) *reactor.Reactor {
	t.Helper()
	opts := []reactor.Option{reactor.WithoutSignalHandlers()}
	if logger != nil {
		opts = append(opts, reactor.WithLogger(logger))
	}
	r, err := reactor.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// startSuspended runs a pass one callback deep, as a GUI main loop's, in
// which a coroutine starts and suspends.
func startSuspended(t *testing.T, r *reactor.Reactor) (p *deferred.Promise[string], ended *bool) {
	t.Helper()
	ended = new(bool)
	Nest(func() {
		p = deferred.Async(r, func(co *deferred.Co) (string, error) {
			_, err := deferred.Await(co, deferred.New())
			*ended = true
			return "", err
		})
		for range 3 {
			if err := r.RunOnce(0); err != nil {
				t.Error(err)
			}
		}
	})
	if p.Settled() {
		t.Fatal("the coroutine did not suspend")
	}
	return p, ended
}

func rejection(p *deferred.Promise[string]) error {
	var got error
	p.OnError(func(err error) { got = err })
	return got
}

// A Close at the depth the coroutine was made at ends it there.
func TestCloseAtTheCoroutinesDepthEndsIt(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r := newReactor(t, nil)
	p, ended := startSuspended(t, r)
	Nest(func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	})
	if err := rejection(p); !*ended || !errors.Is(err, deferred.ErrLoopClosed) {
		t.Fatalf("body ended %v, promise rejected with %v", *ended, err)
	}
}

// A GUI program closes its reactor after the main loop returned, one cgo
// callback shallower than the passes the coroutine was made in. Resuming
// it there would abort the test binary ("coro: OS thread locking must
// match locking at coroutine creation"). With SetNest the reactor gets
// back to the coroutine's depth and ends it there; without, the coroutine
// is left parked and the reactor says so.
func TestCloseAfterTheMainLoopReturned(t *testing.T) {
	for _, withNest := range []bool{true, false} {
		func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			logs := &capture{}
			r := newReactor(t, slog.New(logs))
			if withNest {
				r.SetNest(Nest)
			}
			p, ended := startSuspended(t, r)
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			if withNest {
				if err := rejection(p); !*ended || !errors.Is(err, deferred.ErrLoopClosed) {
					t.Fatalf("with SetNest: body ended %v, promise rejected with %v", *ended, err)
				}
				return
			}
			if *ended || p.Settled() {
				t.Fatalf("without SetNest: body ended %v, promise settled %v: resumed at the wrong depth", *ended, p.Settled())
			}
			if !logs.has("stay parked") {
				t.Fatalf("without SetNest: nothing logged: %q", logs.msgs)
			}
		}()
	}
}

type capture struct {
	mu   sync.Mutex
	msgs []string
}

func (c *capture) Enabled(context.Context, slog.Level) bool { return true }
func (c *capture) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *capture) WithGroup(string) slog.Handler            { return c }
func (c *capture) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	c.msgs = append(c.msgs, r.Message)
	c.mu.Unlock()
	return nil
}

func (c *capture) has(s string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.msgs {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}
