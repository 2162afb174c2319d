package poller

import (
	"math"
	"testing"
	"time"
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
