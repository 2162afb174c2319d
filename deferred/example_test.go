package deferred_test

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/loomkit/loom/deferred"
)

// exampleLoop stands in for a reactor: the example runs it by hand.
type exampleLoop struct {
	mu    sync.Mutex
	queue []func()
}

func (l *exampleLoop) CallSoon(f func()) { l.CallFromGoroutine(f) }

func (l *exampleLoop) CallFromGoroutine(f func()) {
	l.mu.Lock()
	l.queue = append(l.queue, f)
	l.mu.Unlock()
}

// run runs queued functions until none are left.
func (l *exampleLoop) run() {
	for {
		l.mu.Lock()
		batch := l.queue
		l.queue = nil
		l.mu.Unlock()
		if len(batch) == 0 {
			return
		}
		for _, f := range batch {
			f()
		}
	}
}

// exampleClock stands in for a reactor's CallLater.
type exampleClock struct {
	now    time.Duration
	timers []*exampleTimer
}

type exampleTimer struct {
	at        time.Duration
	f         func()
	cancelled bool
}

func (t *exampleTimer) Cancel() error { t.cancelled = true; return nil }

func (c *exampleClock) CallLater(d time.Duration, f func()) *exampleTimer {
	t := &exampleTimer{at: c.now + d, f: f}
	c.timers = append(c.timers, t)
	return t
}

func (c *exampleClock) advance(d time.Duration) {
	c.now += d
	for _, t := range c.timers {
		if !t.cancelled && t.at <= c.now {
			t.cancelled = true
			t.f()
		}
	}
}

func ExampleDeferred_AddCallback() {
	d := deferred.New()
	d.AddCallback(func(r any) any {
		return r.(string) + ", world" // feeds the next callback
	})
	d.AddCallback(func(r any) any {
		fmt.Println(r)
		return errors.New("no more greetings") // switches to the errback path
	})
	d.AddCallback(func(r any) any {
		fmt.Println("skipped")
		return r
	})
	d.AddErrback(func(err error) any {
		fmt.Println("errback:", err)
		return "recovered" // back on the callback path
	})
	d.AddCallback(func(r any) any {
		fmt.Println(r)
		return nil
	})
	d.Callback("hello")
	// Output:
	// hello, world
	// errback: no more greetings
	// recovered
}

// A callback that returns an unfired Deferred pauses the chain until it
// fires.
func ExampleDeferred_AddCallback_nested() {
	lookup := deferred.New()
	d := deferred.Succeed("user 7")
	d.AddCallback(func(r any) any {
		fmt.Println("looking up", r)
		return lookup
	})
	d.AddCallback(func(r any) any {
		fmt.Println("found", r)
		return nil
	})
	fmt.Println("waiting")
	lookup.Callback("Ada")
	// Output:
	// looking up user 7
	// waiting
	// found Ada
}

func ExampleDeferred_Cancel() {
	d := deferred.NewWithCanceller(func(d *deferred.Deferred) {
		fmt.Println("stopping the work")
	})
	d.AddErrback(func(err error) any {
		fmt.Println(errors.Is(err, deferred.ErrCancelled))
		return nil
	})
	d.Cancel()
	// Output:
	// stopping the work
	// true
}

func ExampleDeferredList() {
	a, b := deferred.New(), deferred.New()
	deferred.DeferredList([]*deferred.Deferred{a, b}, deferred.ConsumeErrors).
		AddCallback(func(r any) any {
			for i, o := range r.([]deferred.Outcome) {
				fmt.Println(i, o.OK, o.Value, o.Err)
			}
			return nil
		})
	b.Errback(errors.New("refused"))
	a.Callback("ok")
	// Output:
	// 0 true ok <nil>
	// 1 false <nil> refused
}

func ExampleAddTimeout() {
	clock := &exampleClock{}
	d := deferred.New()
	deferred.AddTimeout(d, clock.CallLater, 5*time.Second)
	d.AddErrback(func(err error) any {
		fmt.Println(err)
		return nil
	})
	clock.advance(5 * time.Second)
	// Output:
	// deferred: timed out after 5s
}

// AddTimeoutFunc chooses what a timeout gives: here a cached value instead
// of an error. A canceller's own result never reaches onTimeout unless the
// deadline passed.
func ExampleAddTimeoutFunc() {
	clock := &exampleClock{}
	fetch := deferred.New()
	deferred.AddTimeoutFunc(fetch, clock.CallLater, 2*time.Second, func(result any, timeout time.Duration) any {
		fmt.Println("no answer within", timeout)
		return "cached page"
	})
	fetch.AddCallback(func(page any) any {
		fmt.Println("showing", page)
		return nil
	})
	clock.advance(2 * time.Second)
	// Output:
	// no answer within 2s
	// showing cached page
}

// Seed 004's simple promise: every observer gets the same value, and
// chaining is explicit.
func ExamplePromise() {
	loop := &exampleLoop{}
	backgroundJob := func() *deferred.Promise[int] {
		p, r := deferred.NewPromise[int]()
		go loop.CallFromGoroutine(func() { r.Resolve(3) })
		return p
	}
	log := func(n int) { fmt.Println(n) }
	add4 := func(n int) (int, error) { return n + 4, nil }

	promise := backgroundJob()
	promise.OnValue(log)
	promise.OnValue(log)
	promise2 := deferred.Then(promise, add4)
	promise2.OnValue(log)

	for !promise2.Settled() {
		loop.run()
	}
	// Output:
	// 3
	// 3
	// 7
}

func ExamplePromise_On() {
	download, r := deferred.NewPromise[string]()
	download.On("progress", func(v any) { fmt.Printf("%.0f%%\n", v.(float64)*100) })
	download.OnValue(func(body string) { fmt.Println("got", body) })
	r.Emit("progress", 0.5)
	r.Emit("progress", 1.0)
	r.Resolve("the page")
	r.Emit("progress", 1.0) // dropped: the promise has settled
	// Output:
	// 50%
	// 100%
	// got the page
}

// Seed 004's coroutine: it awaits the background job and returns value + 4,
// while the caller observes the background job directly.
func ExampleAsync() {
	loop := &exampleLoop{}
	background, r := deferred.NewPromise[int]()
	log := func(n int) { fmt.Println(n) }

	final := deferred.Async(loop, func(co *deferred.Co) (int, error) {
		value, err := deferred.Await(co, background)
		if err != nil {
			return 0, err
		}
		return value + 4, nil
	})
	background.OnValue(log)
	final.OnValue(log)

	loop.run() // the coroutine starts and waits
	r.Resolve(3)
	loop.run()
	// Output:
	// 3
	// 7
}

func ExampleAsync_cancel() {
	loop := &exampleLoop{}
	slow := deferred.NewWithCanceller(func(*deferred.Deferred) { fmt.Println("slow work stopped") })
	p := deferred.Async(loop, func(co *deferred.Co) (string, error) {
		if _, err := deferred.Await(co, slow); errors.Is(err, deferred.ErrCancelled) {
			return "gave up", nil
		}
		return "finished", nil
	})
	p.OnValue(func(s string) { fmt.Println(s) })
	loop.run()
	p.Cancel()
	loop.run()
	// Output:
	// slow work stopped
	// gave up
}
