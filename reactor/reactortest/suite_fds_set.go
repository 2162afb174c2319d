package reactortest

import (
	"testing"

	"golang.org/x/sys/unix"
)

// Cases on how the watched set grows and shrinks between passes.
func init() {
	// Readers remove themselves by the thousand as their work ends: a
	// backend that keeps a position in its set from one wait to the next
	// (poll's round-robin start) must not use it past the set's new end.
	add("fds/shrink-then-ready", func(t *testing.T, newLoop NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		const n = 10
		// Each reader in turn is the last one served before the set
		// shrinks to two others, which then become ready together.
		for hot := range n {
			rd := make([]int, n)
			wr := make([]int, n)
			for i := range n {
				rd[i], wr[i] = Pipe(t)
			}
			var keep []int
			for i := range n {
				if i != hot && len(keep) < 2 {
					keep = append(keep, i)
				}
			}
			removed := make([]bool, n)
			calls := make([]int, n)
			stale := 0
			shrink := func() {
				for i := range n {
					if i != keep[0] && i != keep[1] {
						r.RemoveReader(rd[i])
						removed[i] = true
					}
				}
				write(t, wr[keep[0]], "x")
				write(t, wr[keep[1]], "x")
			}
			for i := range n {
				must(t, r.AddReader(rd[i], func() {
					var buf [16]byte
					unix.Read(rd[i], buf[:])
					if removed[i] {
						stale++
						return
					}
					calls[i]++
					switch {
					case i == hot && calls[i] == 1:
						r.CallSoon(shrink)
					case removed[hot] && calls[keep[0]] > 0 && calls[keep[1]] > 0:
						r.RemoveReader(rd[keep[0]])
						r.RemoveReader(rd[keep[1]])
						r.Stop()
					}
				}))
			}
			write(t, wr[hot], "x")
			RunFor(t, l, limit)
			if stale != 0 {
				t.Errorf("hot %d: removed readers called %d times", hot, stale)
			}
			if calls[keep[0]] == 0 || calls[keep[1]] == 0 {
				t.Errorf("hot %d: readers left after the shrink called %d and %d times, want both called",
					hot, calls[keep[0]], calls[keep[1]])
			}
			if r.Watched() != 0 {
				t.Errorf("hot %d: %d still watched", hot, r.Watched())
				r.RemoveAll()
			}
		}
	})
}
