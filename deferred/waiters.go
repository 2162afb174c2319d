package deferred

// waiters is the first-in, first-out list of Deferreds waiting on a Lock,
// Semaphore or Queue. Adding a waiter and handing a value to the oldest
// cost O(1) amortised: the list keeps a head index instead of shifting its
// elements, and moves them down only once the spent front is at least half
// of it. A cancelled waiter is marked withdrawn in O(1) and skipped when its
// turn comes; when withdrawn waiters make up most of the list, one pass
// drops them all, so cancelling costs O(1) amortised as well and the list
// never holds more than about twice its live waiters.
type waiters struct {
	ds   []*Deferred // ds[head:] are the waiters, oldest first, withdrawn ones included
	head int
	live int // waiters in ds[head:] not withdrawn
}

// minCompact is the least number of spent or withdrawn slots worth a pass.
const minCompact = 16

// len returns the number of waiters not withdrawn.
func (w *waiters) len() int { return w.live }

// push adds d as the newest waiter.
func (w *waiters) push(d *Deferred) {
	w.ds = append(w.ds, d)
	w.live++
}

// pop removes and returns the oldest waiter that is still unfired, or nil.
func (w *waiters) pop() *Deferred {
	for w.head < len(w.ds) {
		d := w.ds[w.head]
		w.ds[w.head] = nil
		w.head++
		if d.withdrawn {
			continue
		}
		w.live--
		if d.called {
			continue // fired by someone else: it no longer waits
		}
		w.shrink()
		return d
	}
	w.shrink()
	return nil
}

// withdraw marks d, a waiter that is being cancelled, so that it is
// skipped.
func (w *waiters) withdraw(d *Deferred) {
	if d.withdrawn {
		return
	}
	d.withdrawn = true
	w.live--
	if dead := len(w.ds) - w.head - w.live; dead >= minCompact && dead > w.live {
		w.compact()
	}
}

// shrink moves the waiters down to the start of ds once the spent front
// is at least half of it.
func (w *waiters) shrink() {
	switch {
	case w.head == len(w.ds):
		w.ds, w.head = w.ds[:0], 0
	case w.head >= minCompact && 2*w.head >= len(w.ds):
		n := copy(w.ds, w.ds[w.head:])
		clear(w.ds[n:])
		w.ds, w.head = w.ds[:n], 0
	}
}

// compact drops the withdrawn waiters, keeping the order of the others.
func (w *waiters) compact() {
	kept := w.ds[:0]
	for _, d := range w.ds[w.head:] {
		if !d.withdrawn {
			kept = append(kept, d)
		}
	}
	clear(w.ds[len(kept):])
	w.ds, w.head = kept, 0
}
