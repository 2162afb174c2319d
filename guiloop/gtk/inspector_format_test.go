package gtkloop

import (
	"slices"
	"testing"
	"time"

	"github.com/loomkit/loom/reactor"
)

func TestInspectorFormats(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                         "0",
		-time.Second:              "0",
		850:                       "850ns",
		time.Microsecond:          "1.00µs",
		12345:                     "12.3µs",
		999_999:                   "1000µs",
		4_561 * time.Microsecond:  "4.56ms",
		50_200 * time.Microsecond: "50.2ms",
		1234 * time.Millisecond:   "1.23s",
		90 * time.Second:          "90.0s",
	} {
		if got := duration(d); got != want {
			t.Errorf("duration(%d) = %q, want %q", d, got, want)
		}
		if got, err := time.ParseDuration(duration(d)); err != nil || (d > 0 && (got-d > d/100 || d-got > d/100)) {
			t.Errorf("duration(%d) = %q reads back as %v, %v", d, duration(d), got, err)
		}
	}
	if got := rate(5, 2*time.Second); got != "2.5/s" {
		t.Errorf("rate(5, 2s) = %q", got)
	}
	if got := rate(4000, 250*time.Millisecond); got != "16000/s" {
		t.Errorf("rate(4000, 250ms) = %q", got)
	}
}

func TestInspectorSlowRowsSlowestFirst(t *testing.T) {
	cbs := []reactor.SlowCallback{
		{Kind: "timer", Func: "x/a.f", Site: "/x/a/f.go:1", Duration: 20 * time.Millisecond},
		{Kind: "reader", Func: "x/a.g", Site: "/x/a/g.go:2", Duration: 50 * time.Millisecond, FD: 7},
		{Kind: "coroutine", Func: "x/a.h", Site: "/x/a/h.go:3", Until: "/x/a/h.go:9", Duration: 20 * time.Millisecond},
	}
	want := [][]string{
		{"50.0ms", "reader", "a.g", "a/g.go:2", ""},
		{"20.0ms", "coroutine", "a.h", "a/h.go:3", "a/h.go:9"}, // the latest first among equals
		{"20.0ms", "timer", "a.f", "a/f.go:1", ""},
	}
	if got := slowRows(cbs); !slices.EqualFunc(got, want, slices.Equal[[]string]) {
		t.Errorf("slowRows:\n got %q\nwant %q", got, want)
	}
	if cbs[0].Kind != "timer" {
		t.Error("slowRows reordered its argument")
	}
}
