package deferred_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
)

// Coroutines and Waits on a real reactor when it is closed. The reactor
// imports deferred, so these tests are in the external test package.

func newReactor(t *testing.T) *reactor.Reactor {
	t.Helper()
	r, err := reactor.New(reactor.WithoutSignalHandlers())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func runPasses(t *testing.T, r *reactor.Reactor, n int) {
	t.Helper()
	for range n {
		if err := r.RunOnce(0); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReactorCloseEndsCoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	r := newReactor(t)
	cleanedUp := false
	suspended := deferred.Async(r, func(co *deferred.Co) (string, error) {
		_, err := deferred.Await(co, deferred.New())
		// Cleanup after the loop closed: a result already there is
		// still delivered, nothing waits.
		v, _ := deferred.Await(co, deferred.Succeed("saved"))
		_, err2 := deferred.Await(co, deferred.New())
		cleanedUp = v == "saved" && errors.Is(err2, deferred.ErrLoopClosed)
		return "", err
	})
	errStopped := errors.New("stopped")
	outer := deferred.Async(r, func(co *deferred.Co) (int, error) {
		inner := deferred.Async(r, func(co *deferred.Co) (int, error) {
			if _, err := deferred.Await(co, deferred.New()); err != nil {
				return 0, errStopped
			}
			return 1, nil
		})
		return deferred.Await(co, inner)
	})
	runPasses(t, r, 3)
	late := deferred.Async(r, func(co *deferred.Co) (int, error) {
		_, err := deferred.Await(co, deferred.New())
		return 0, err
	})
	if suspended.Settled() || outer.Settled() {
		t.Fatal("the coroutines did not suspend")
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	check := func(what string, settled bool, err error, want ...error) {
		t.Helper()
		if !settled {
			t.Fatalf("%s: promise still pending after Close", what)
		}
		for _, w := range want {
			if errors.Is(err, w) {
				return
			}
		}
		t.Fatalf("%s: got %v, want one of %v", what, err, want)
	}
	var errs []error
	for _, p := range []interface {
		OnError(func(error))
		Settled() bool
	}{suspended, outer, late} {
		var got error
		p.OnError(func(err error) { got = err })
		errs = append(errs, got)
	}
	check("suspended", suspended.Settled(), errs[0], deferred.ErrLoopClosed)
	check("outer", outer.Settled(), errs[1], errStopped, deferred.ErrLoopClosed)
	check("late", late.Settled(), errs[2], deferred.ErrLoopClosed)
	if !cleanedUp {
		t.Fatal("the suspended body's cleanup did not run as it should")
	}
}

// reactorSpy tells when the first call from a goroutine (Wait's
// subscription) has run; the reactor's other methods show through.
type reactorSpy struct {
	*reactor.Reactor
	ran chan struct{}
}

func (s reactorSpy) CallFromGoroutine(f func()) {
	s.Reactor.CallFromGoroutine(func() {
		f()
		select {
		case <-s.ran:
		default:
			close(s.ran)
		}
	})
}

func TestWaitWhileTheReactorCloses(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	r := newReactor(t)
	d := deferred.New()
	spy := reactorSpy{r, make(chan struct{})}
	errs := make(chan error, 1)
	go func() {
		_, err := deferred.Wait(context.Background(), spy, d)
		errs <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for subscribed := false; !subscribed; {
		select {
		case <-spy.ran:
			subscribed = true
		default:
			if time.Now().After(deadline) {
				t.Fatal("Wait's call never ran")
			}
			if err := r.RunOnce(10 * time.Millisecond); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		if !errors.Is(err, deferred.ErrLoopClosed) {
			t.Fatalf("got %v, want ErrLoopClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Wait still blocked after Close")
	}
}

func TestWaitOnAClosedReactor(t *testing.T) {
	r := newReactor(t)
	r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := deferred.Wait(ctx, r, deferred.New()); !errors.Is(err, deferred.ErrLoopClosed) {
		t.Fatalf("got %v, want ErrLoopClosed", err)
	}
}

// Close while Wait's subscription is still queued: the reactor drops it,
// and Wait learns of the Close from Closed.
func TestWaitWhoseSubscriptionTheReactorDropped(t *testing.T) {
	r := newReactor(t)
	spy := &reactorQueueSpy{Reactor: r, queued: make(chan struct{})}
	errs := make(chan error, 1)
	go func() {
		_, err := deferred.Wait(context.Background(), spy, deferred.New())
		errs <- err
	}()
	<-spy.queued
	r.Close()
	select {
	case err := <-errs:
		if !errors.Is(err, deferred.ErrLoopClosed) {
			t.Fatalf("got %v, want ErrLoopClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Wait still blocked after Close")
	}
}

// reactorQueueSpy closes queued once a call from a goroutine is queued.
type reactorQueueSpy struct {
	*reactor.Reactor
	queued chan struct{}
	once   sync.Once
}

func (s *reactorQueueSpy) CallFromGoroutine(f func()) {
	s.Reactor.CallFromGoroutine(f)
	s.once.Do(func() { close(s.queued) })
}
