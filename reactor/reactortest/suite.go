package reactortest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/loomkit/loom/reactor"
)

// Run is the conformance suite every way of driving a reactor must pass:
// the reactor's own Run under each backend, and each GUI loop. Each case
// is a subtest that also fails if it leaves a descriptor open or a
// goroutine running.
func Run(t *testing.T, newLoop NewLoop) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			CheckLeaks(t)
			c.f(t, newLoop)
		})
	}
}

type testCase struct {
	name string
	f    func(t *testing.T, newLoop NewLoop)
}

// cases is filled by the init functions of the suite_*.go files, one per
// area.
var cases []testCase

func add(name string, f func(t *testing.T, newLoop NewLoop)) {
	cases = append(cases, testCase{name, f})
}

// limit bounds how long any single loop run in the suite may take.
const limit = 10 * time.Second

func equal[T comparable](t *testing.T, what string, got, want []T) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}

func is(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got error %v, want %v", what, err, want)
	}
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fakeLoop makes a loop on a fake clock.
func fakeLoop(t *testing.T, newLoop NewLoop, opts ...reactor.Option) (Loop, *reactor.Reactor, *Clock) {
	clk := NewClock(epoch)
	l := newLoop(t, append([]reactor.Option{reactor.WithClock(clk)}, opts...)...)
	return l, l.Reactor(), clk
}
