package gtkloop_test

import (
	"math"
	"testing"
	"time"

	gtkloop "github.com/loomkit/loom/guiloop/gtk"
)

func TestTimeoutIsRoundedUp(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want int64
	}{
		{-1, -1},
		{0, 0},
		{time.Nanosecond, 1}, // a due-in-1ns timer is not due now: no busy loop (source.c rounds up to 1ms)
		{300 * time.Microsecond, 300},
		{time.Millisecond + time.Nanosecond, 1001},
		{time.Hour, 3600000000},
		{math.MaxInt64, math.MaxInt64/1000 + 1},
	} {
		if got := gtkloop.Micros(c.d); got != c.want {
			t.Errorf("timeout %v: source.c gets %dµs, want %d", c.d, got, c.want)
		}
	}
}
