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
		want int
	}{
		{-1, -1},
		{0, 0},
		{time.Nanosecond, 1}, // a due-in-1ns timer sleeps 1ms, never 0: no busy loop
		{300 * time.Microsecond, 1},
		{time.Millisecond, 1},
		{time.Millisecond + time.Nanosecond, 2},
		{time.Hour, 3600000},
		{math.MaxInt64, math.MaxInt32},
	} {
		if got := gtkloop.TimeoutMillis(c.d); got != c.want {
			t.Errorf("timeout %v: GLib gets %dms, want %d", c.d, got, c.want)
		}
	}
}
