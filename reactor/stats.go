package reactor

import (
	"math/bits"
	"time"

	"github.com/loomkit/loom/internal/slow"
)

// Stats are the reactor's counters and histograms, for a developer and
// for tests: how busy the loop is and how late it runs. Counting costs an
// increment per pass and per callback, and the lag histogram uses the
// time the timers read anyway, so they are always on. Pass durations cost
// two clock reads per pass that ran a callback, so they are recorded
// while timing is on: with slow-callback detection (WithSlowCallbacks,
// LOOM_SLOW), WithTiming, LOOM_STATS=1, or an inspector window open.
type Stats struct {
	Passes    uint64 // passes run (RunOnce, nested passes included)
	Callbacks uint64 // callbacks run, of every kind
	// By kind: timers, descriptors' readers and writers, calls queued
	// with CallSoon or CallSoonUnnested (counted as their pass takes
	// them, a batch at once), calls from other goroutines.
	Timers, Readers, Writers, Calls, GoroutineCalls uint64
	// Signal handlers (a signal reaches the loop as a call from a
	// goroutine, counted there too) and OnClose hooks.
	Signals, CloseHooks uint64
	Panics              uint64 // callbacks that panicked (logged; the loop went on)
	Slow                uint64 // slow callbacks detected, those the rate limit kept from the log included

	Watched int // descriptors with a reader or a writer
	Pending int // timers waiting to run
	Queued  int // calls waiting for a pass: CallSoon's, CallSoonUnnested's and other goroutines'

	// PassTime is the time each pass that ran a callback spent running
	// callbacks (recorded while timing is on; Timing says whether it is).
	PassTime Histogram
	// Lag is how late each timer ran after it was due, on the reactor's
	// clock.
	Lag    Histogram
	Timing bool
}

// HistogramBuckets is the number of a Histogram's buckets.
const HistogramBuckets = 22

// A Histogram counts durations in buckets that double: bucket 0 holds
// durations under 1 µs, bucket i those from 2^(i-1) µs up to 2^i µs, and
// the last one everything from about a second (2^20 µs) up.
type Histogram struct {
	Count   uint64
	Sum     time.Duration
	Max     time.Duration
	Buckets [HistogramBuckets]uint64
}

// BucketBound is the upper bound of bucket i (exclusive); the last
// bucket's is the largest Duration.
func BucketBound(i int) time.Duration {
	if i >= HistogramBuckets-1 {
		return time.Duration(1<<63 - 1)
	}
	return time.Duration(1<<i) * time.Microsecond
}

func (h *Histogram) add(d int64) {
	if d < 0 {
		d = 0
	}
	i := bits.Len64(uint64(d) / 1000)
	if i >= HistogramBuckets {
		i = HistogramBuckets - 1
	}
	h.Buckets[i]++
	h.Count++
	h.Sum += time.Duration(d)
	if time.Duration(d) > h.Max {
		h.Max = time.Duration(d)
	}
}

// Mean is the histogram's mean duration, 0 when it is empty.
func (h *Histogram) Mean() time.Duration {
	if h.Count == 0 {
		return 0
	}
	return h.Sum / time.Duration(h.Count)
}

// Quantile is an upper bound of the q quantile (0 < q ≤ 1): the bound of
// the bucket it falls in, or Max if that is lower.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.Count == 0 {
		return 0
	}
	want := uint64(q*float64(h.Count) + 0.5)
	if want < 1 {
		want = 1
	}
	var seen uint64
	for i, n := range h.Buckets {
		seen += n
		if seen >= want {
			return min(BucketBound(i), h.Max)
		}
	}
	return h.Max
}

// cbKind is the kind of a callback, for the log and the counters.
type cbKind uint8

const (
	kindTimer cbKind = iota
	kindReader
	kindWriter
	kindCall
	kindUnnested
	kindGoroutine
	kindCloseHook
	kindSignal
	nKinds
)

var kindNames = [nKinds]string{
	kindTimer:     "timer",
	kindReader:    "reader",
	kindWriter:    "writer",
	kindCall:      "call",
	kindUnnested:  "unnested call",
	kindGoroutine: "call from goroutine",
	kindCloseHook: "close hook",
	kindSignal:    "signal",
}

func (k cbKind) String() string { return kindNames[k] }

// counters are the always-on part of Stats.
type counters struct {
	passes   uint64
	kinds    [nKinds]uint64
	panics   uint64
	passTime Histogram
	lag      Histogram
}

// Stats returns the reactor's counters. It must be called on the reactor
// goroutine.
func (r *Reactor) Stats() Stats {
	c := &r.stats
	s := Stats{
		Passes:         c.passes,
		Timers:         c.kinds[kindTimer],
		Readers:        c.kinds[kindReader],
		Writers:        c.kinds[kindWriter],
		Calls:          c.kinds[kindCall] + c.kinds[kindUnnested],
		GoroutineCalls: c.kinds[kindGoroutine],
		Signals:        c.kinds[kindSignal],
		CloseHooks:     c.kinds[kindCloseHook],
		Panics:         c.panics,
		Watched:        r.nfds,
		Pending:        len(r.timers),
		Queued:         len(r.soon) + r.unnestedLive,
		PassTime:       c.passTime,
		Lag:            c.lag,
		Timing:         r.timing(),
	}
	r.slowLog.mu.Lock()
	s.Slow = r.slowLog.count
	r.slowLog.mu.Unlock()
	for _, n := range c.kinds {
		s.Callbacks += n
	}
	r.gmu.Lock()
	for _, f := range r.gq {
		if f != nil {
			s.Queued++
		}
	}
	r.gmu.Unlock()
	return s
}

// Descriptor is one descriptor the reactor watches.
type Descriptor struct {
	FD int
	// Reader and Writer name the functions watching it (see
	// SlowCallback's Func), "" for none.
	Reader, Writer string
}

// Descriptors lists the watched descriptors, lowest first. It must be
// called on the reactor goroutine.
func (r *Reactor) Descriptors() []Descriptor {
	var out []Descriptor
	for _, st := range r.fds {
		if st == nil || (st.reader == nil && st.writer == nil) {
			continue
		}
		d := Descriptor{FD: st.fd}
		if st.reader != nil {
			d.Reader, _ = slow.Site(slow.FuncPC(st.reader))
		}
		if st.writer != nil {
			d.Writer, _ = slow.Site(slow.FuncPC(st.writer))
		}
		out = append(out, d)
	}
	return out
}
