package poller

import (
	"math"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestMillisRoundsUpAndSaturates(t *testing.T) {
	for _, c := range []struct {
		in   time.Duration
		want int
	}{
		{-1, -1}, {0, 0}, {time.Nanosecond, 1}, {300 * time.Microsecond, 1},
		{time.Millisecond, 1}, {time.Millisecond + 1, 2},
		{time.Duration(math.MaxInt64), 1<<31 - 1},
		{time.Duration(math.MaxInt64 - 1), 1<<31 - 1},
	} {
		if got := millis(c.in); got != c.want {
			t.Errorf("millis(%v) = %d, want %d", c.in, got, c.want)
		}
	}
}

// Close must end the poll backend's embedding goroutine however a stop
// races with a change of the set (each change also writes to the control
// pipe the goroutine drains).
func TestPollEmbedStopsWhileTheSetChanges(t *testing.T) {
	for i := range 300 {
		p, err := openPoll()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.FD(); err != nil {
			t.Fatal(err)
		}
		var fds [2]int
		if err := unix.Pipe(fds[:]); err != nil {
			t.Fatal(err)
		}
		p.Add(fds[0], Readable)
		p.Delete(fds[0])
		done := make(chan error, 1)
		go func() { done <- p.Close() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: Close hung on the embedding goroutine", i)
		}
		unix.Close(fds[0])
		unix.Close(fds[1])
	}
}
