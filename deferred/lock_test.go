package deferred

import (
	"errors"
	"reflect"
	"testing"
)

// These tests follow Twisted's OtherPrimitivesTests.

func TestLock(t *testing.T) {
	counter := 0
	incr := func(v any) any { counter++; return v }
	var lock Lock

	lock.Acquire().AddCallback(incr)
	if !lock.Locked() || counter != 1 {
		t.Fatalf("locked %v counter %d", lock.Locked(), counter)
	}
	lock.Acquire().AddCallback(incr)
	if !lock.Locked() || counter != 1 {
		t.Fatalf("locked %v counter %d", lock.Locked(), counter)
	}
	lock.Release()
	if !lock.Locked() || counter != 2 {
		t.Fatalf("locked %v counter %d", lock.Locked(), counter)
	}
	lock.Release()
	if lock.Locked() || counter != 2 {
		t.Fatalf("locked %v counter %d", lock.Locked(), counter)
	}

	firstUnique, secondUnique := new(int), new(int)
	control := New()
	var result any
	resultD := lock.Run(func() any { result = firstUnique; return control })
	if !lock.Locked() || result != firstUnique {
		t.Fatalf("locked %v result %v", lock.Locked(), result)
	}
	resultD.AddCallback(func(v any) any { result = v; return nil })
	lock.Acquire().AddCallback(incr)
	if !lock.Locked() || counter != 2 {
		t.Fatalf("locked %v counter %d", lock.Locked(), counter)
	}
	control.Callback(secondUnique)
	if result != secondUnique || !lock.Locked() || counter != 3 {
		t.Fatalf("result %v locked %v counter %d", result, lock.Locked(), counter)
	}

	d := lock.Acquire().AddBoth(func(v any) any { result = v; return nil })
	d.Cancel()
	if f, ok := result.(*Failure); !ok || !errors.Is(f, ErrCancelled) {
		t.Fatalf("cancelled Acquire got %v", result)
	}
	lock.Release()
	if lock.Locked() {
		t.Fatal("lock still held: the cancelled waiter got it")
	}
	if err := lock.Release(); !errors.Is(err, ErrNotAcquired) {
		t.Fatalf("Release of a free lock: %v", err)
	}
}

func TestCancelLockAfterAcquired(t *testing.T) {
	var lock Lock
	d := lock.Acquire()
	d.AddErrback(func(error) any { t.Error("unexpected errback"); return nil })
	d.Cancel()
}

func TestCancelLockBeforeAcquired(t *testing.T) {
	var lock Lock
	lock.Acquire()
	d := lock.Acquire()
	third := lock.Acquire()
	d.Cancel()
	if f := failureOf(t, d); !errors.Is(f, ErrCancelled) {
		t.Fatalf("got %v", f)
	}
	if lock.waiting.len() != 1 {
		t.Fatalf("%d waiters, want 1", lock.waiting.len())
	}
	lock.Release()
	if got := resultOf(t, third); got != &lock {
		t.Fatalf("next waiter got %v", got)
	}
}

func TestLockRunReleasesOnPanic(t *testing.T) {
	var lock Lock
	d := lock.Run(func() any { panic("boom") })
	failureOf(t, d)
	if lock.Locked() {
		t.Fatal("lock held after the function panicked")
	}
}

func TestSemaphore(t *testing.T) {
	const n = 13
	sem, _ := NewSemaphore(n)
	control := New()
	var helperArg any
	unique := new(int)
	var results []any
	counter := 0
	incr := func(v any) any { counter++; return v }

	resultD := sem.Run(func() any { helperArg = unique; return control })
	resultD.AddCallback(func(v any) any { results = append(results, v); return v }).AddCallback(incr)
	if results != nil || helperArg != unique {
		t.Fatalf("results %v arg %v", results, helperArg)
	}
	control.Callback(nil)
	if !reflect.DeepEqual(results, []any{nil}) || counter != 1 {
		t.Fatalf("results %v counter %d", results, counter)
	}

	counter = 0
	for i := 1; i <= n; i++ {
		sem.Acquire().AddCallback(incr)
		if counter != i {
			t.Fatalf("counter %d, want %d", counter, i)
		}
	}
	var success []bool
	d := sem.Acquire().AddCallbacks(func(any) any { success = append(success, false); return nil },
		func(error) any { success = append(success, true); return nil })
	d.Cancel()
	if !reflect.DeepEqual(success, []bool{true}) {
		t.Fatalf("success %v", success)
	}
	sem.Acquire().AddCallback(incr)
	if counter != n {
		t.Fatalf("counter %d", counter)
	}
	sem.Release()
	if counter != n+1 {
		t.Fatalf("counter %d", counter)
	}
	for range n {
		sem.Release()
		if counter != n+1 {
			t.Fatalf("counter %d", counter)
		}
	}
	if sem.Tokens() != n || sem.Limit() != n {
		t.Fatalf("tokens %d limit %d", sem.Tokens(), sem.Limit())
	}
	if err := sem.Release(); !errors.Is(err, ErrNotAcquired) {
		t.Fatalf("extra Release: %v", err)
	}
}

func TestSemaphoreInvalidTokens(t *testing.T) {
	for _, n := range []int{0, -1} {
		if s, err := NewSemaphore(n); err == nil || s != nil {
			t.Errorf("NewSemaphore(%d) = %v, %v; want an error", n, s, err)
		}
	}
}

func TestCancelSemaphoreAfterAcquired(t *testing.T) {
	sem, _ := NewSemaphore(1)
	d := sem.Acquire()
	d.AddErrback(func(error) any { t.Error("unexpected errback"); return nil })
	d.Cancel()
}

func TestCancelSemaphoreBeforeAcquired(t *testing.T) {
	sem, _ := NewSemaphore(1)
	sem.Acquire()
	d := sem.Acquire()
	d.Cancel()
	if f := failureOf(t, d); !errors.Is(f, ErrCancelled) {
		t.Fatalf("got %v", f)
	}
	if sem.waiting.len() != 0 {
		t.Fatal("cancelled waiter still queued")
	}
	sem.Release()
	if sem.Tokens() != 1 {
		t.Fatalf("tokens %d", sem.Tokens())
	}
}

func TestQueue(t *testing.T) {
	const n, m = 2, 2
	q := NewQueue(n, m)
	var gotten []any
	appendGot := func(v any) any { gotten = append(gotten, v); return nil }
	for range m {
		q.Get().AddCallback(appendGot)
	}
	if f := failureOf(t, q.Get()); !errors.Is(f, ErrQueueUnderflow) {
		t.Fatalf("Get over backlog: %v", f)
	}
	for i := range m {
		q.Put(i)
		if len(gotten) != i+1 {
			t.Fatalf("gotten %v", gotten)
		}
	}
	for i := range n {
		q.Put(n + i)
		if len(gotten) != m {
			t.Fatalf("gotten %v", gotten)
		}
	}
	if err := q.Put(nil); !errors.Is(err, ErrQueueOverflow) {
		t.Fatalf("Put over size: %v", err)
	}
	if !reflect.DeepEqual(gotten, []any{0, 1}) {
		t.Fatalf("gotten %v", gotten)
	}
	gotten = nil
	for i := range n {
		q.Get().AddCallback(appendGot)
		if len(gotten) != i+1 || gotten[i] != n+i {
			t.Fatalf("gotten %v", gotten)
		}
	}

	var unlimited Queue
	gotten = nil
	for range n {
		unlimited.Get().AddCallback(appendGot)
	}
	for i := range n {
		unlimited.Put(i)
	}
	if !reflect.DeepEqual(gotten, []any{0, 1}) {
		t.Fatalf("gotten %v", gotten)
	}
	if err := NewQueue(0, -1).Put(nil); !errors.Is(err, ErrQueueOverflow) {
		t.Fatalf("size 0: %v", err)
	}
	if f := failureOf(t, NewQueue(-1, 0).Get()); !errors.Is(f, ErrQueueUnderflow) {
		t.Fatalf("backlog 0: %v", f)
	}
}

func TestQueueIsFIFO(t *testing.T) {
	var q Queue
	for i := range 100 {
		q.Put(i)
	}
	if q.Len() != 100 {
		t.Fatalf("Len %d", q.Len())
	}
	for i := range 100 {
		if got := resultOf(t, q.Get()); got != i {
			t.Fatalf("got %v, want %d", got, i)
		}
	}
}

func TestCancelQueueAfterSynchronousGet(t *testing.T) {
	var q Queue
	d := q.Get()
	d.AddErrback(func(error) any { t.Error("unexpected errback"); return nil })
	q.Put(nil)
	d.Cancel()
}

func TestCancelQueueAfterGet(t *testing.T) {
	var q Queue
	d := q.Get()
	d.Cancel()
	if f := failureOf(t, d); !errors.Is(f, ErrCancelled) {
		t.Fatalf("got %v", f)
	}
	if q.Waiting() != 0 {
		t.Fatalf("cancelled Get still waiting")
	}
	var done []any
	d.AddCallback(func(any) any {
		q.Put(nil)
		return q.Get().AddCallback(func(v any) any {
			if v != nil {
				t.Errorf("got %v", v)
			}
			return v
		})
	}).AddCallback(func(v any) any { done = append(done, v); return nil })
	if len(done) != 1 {
		t.Fatalf("done %v", done)
	}
}

func TestCancelledGetLetsTheNextGetterHaveTheValue(t *testing.T) {
	var q Queue
	first, second := q.Get(), q.Get()
	first.Cancel()
	q.Put("v")
	if got := resultOf(t, second); got != "v" {
		t.Fatalf("second got %v", got)
	}
	failureOf(t, first)
	if q.Len() != 0 || q.Waiting() != 0 {
		t.Fatalf("Len %d Waiting %d", q.Len(), q.Waiting())
	}
}
