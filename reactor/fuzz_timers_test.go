package reactor_test

import (
	"cmp"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
)

// FuzzTimers plays random sequences of CallLater, Cancel, Reset, Delay,
// clock moves and passes (some nested inside a timer's own callback)
// against a model of the timer rules:
//
//   - a call runs at most once, never before it is due, never after
//     Cancel;
//   - a pass runs the calls due when it starts that were scheduled before
//     it, soonest first, ties in scheduling order; calls scheduled or moved
//     during a pass wait for a later one;
//   - Active, When, DelayedCalls and NextTimeout agree with the model.
func FuzzTimers(f *testing.F) {
	f.Add([]byte{0, 10, 0, 20, 4, 30, 5, 1, 0, 2, 1, 5, 5})
	f.Add([]byte{0, 0, 0, 0, 6, 0, 0, 5, 3, 0, 200, 5, 4, 255, 5})
	f.Add([]byte{0, 255, 3, 0, 254, 5, 0, 1, 2, 1, 3, 4, 100, 5, 6, 1, 5, 5})
	f.Add([]byte{0, 5, 7, 0, 9, 0, 5, 0, 4, 9, 5, 5, 1, 1, 5})
	// A nested pass in a timer while both passes set calls aside.
	f.Add([]byte{6, 100, 5, 0, 0, 200, 4, 50, 8, 100, 7, 100, 6, 100, 5, 0, 5, 0})
	f.Fuzz(func(t *testing.T, prog []byte) {
		if len(prog) > 400 {
			prog = prog[:400]
		}
		watchdog := time.AfterFunc(10*time.Second, func() { panic("FuzzTimers: an input hangs") })
		defer watchdog.Stop()
		m := newTimerModel(t)
		defer m.r.Close()
		for i := 0; i+1 < len(prog); i += 2 {
			m.step(prog[i]%10, prog[i+1])
		}
		// In the end, far in the future, everything still pending runs.
		m.advance(time.Duration(math.MaxInt64 / 4))
		for range 8 { // calls moved or spawned by the last ones wait a pass
			m.pass()
		}
		for _, c := range m.calls {
			if c.state == mPending && c.when <= m.now {
				t.Fatalf("call %d due at %d still pending at %d", c.id, c.when, m.now)
			}
		}
	})
}

type mState int

const (
	mPending mState = iota
	mRan
	mCancelled
)

type mCall struct {
	id    int
	dc    *reactor.DelayedCall
	when  int64
	seq   uint64
	state mState
	// what its callback does when it runs
	spawn  bool // schedules a call due at once
	nested bool // runs a nested pass
	pull   bool // moves the newest other pending call an hour earlier
}

type timerModel struct {
	t      *testing.T
	r      *reactor.Reactor
	clk    *reactortest.Clock
	epoch  time.Time
	now    int64
	seq    uint64
	calls  []*mCall
	ran    []*mCall // in the order they ran, this top-level pass
	depth  int
	nested bool   // the pass in hand nested another, or moved a call
	fence  uint64 // m.seq when the pass in hand began
}

func newTimerModel(t *testing.T) *timerModel {
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := reactortest.NewClock(epoch)
	r, err := reactor.New(reactor.WithClock(clk), reactor.WithoutSignalHandlers())
	if err != nil {
		t.Fatal(err)
	}
	return &timerModel{t: t, r: r, clk: clk, epoch: epoch}
}

func satAdd(t int64, d int64) int64 {
	switch {
	case d > 0 && t > math.MaxInt64-d:
		return math.MaxInt64
	case d < 0 && t < math.MinInt64-d:
		return math.MinInt64
	}
	return t + d
}

// duration decodes a byte: mostly small steps of milliseconds, with the
// extremes at both ends.
func duration(b byte) time.Duration {
	switch b {
	case 255:
		return math.MaxInt64
	case 254:
		return math.MinInt64
	}
	return time.Duration(int(b)-100) * time.Millisecond
}

func (m *timerModel) schedule(d time.Duration, spawn, nested bool) *mCall {
	if len(m.calls) >= 300 {
		return m.calls[len(m.calls)-1]
	}
	c := &mCall{id: len(m.calls), spawn: spawn, nested: nested}
	c.when = satAdd(m.now, int64(max(d, 0)))
	m.seq++
	c.seq = m.seq
	m.calls = append(m.calls, c)
	c.dc = m.r.CallLater(d, func() { m.fire(c) })
	return c
}

func (m *timerModel) fire(c *mCall) {
	t := m.t
	if c.state != mPending {
		t.Fatalf("call %d ran in state %d", c.id, c.state)
	}
	if c.when > m.now {
		t.Fatalf("call %d due at %d ran at %d", c.id, c.when, m.now)
	}
	if err := c.dc.Cancel(); !errors.Is(err, reactor.ErrAlreadyCalled) {
		t.Fatalf("Cancel inside its own call: %v", err)
	}
	c.state = mRan
	m.ran = append(m.ran, c)
	if c.spawn {
		m.schedule(0, false, false)
	}
	if c.pull {
		for i := len(m.calls) - 1; i >= 0; i-- {
			o := m.calls[i]
			if o != c && o.state == mPending {
				if err := o.dc.Delay(-time.Hour); err != nil {
					t.Fatalf("Delay of pending call %d: %v", o.id, err)
				}
				o.when = satAdd(o.when, int64(-time.Hour))
				m.seq++
				o.seq = m.seq
				m.nested = true
				break
			}
		}
	}
	if c.nested && m.depth < 3 {
		m.nested = true
		m.depth++
		if err := m.r.RunOnce(0); err != nil {
			t.Fatal(err)
		}
		m.depth--
	}
}

func (m *timerModel) pick(b byte) *mCall {
	if len(m.calls) == 0 {
		return nil
	}
	return m.calls[int(b)%len(m.calls)]
}

func (m *timerModel) step(op, arg byte) {
	t := m.t
	switch op {
	case 0, 6, 7:
		m.schedule(duration(arg), op == 6, op == 7)
	case 8, 9:
		c := m.schedule(duration(arg), false, op == 9)
		c.pull = true
	case 1:
		c := m.pick(arg)
		if c == nil {
			return
		}
		err := c.dc.Cancel()
		m.checkErr("Cancel", c, err)
		if c.state == mPending {
			c.state = mCancelled
		}
	case 2, 3:
		c := m.pick(arg)
		if c == nil {
			return
		}
		d := duration(arg / 2)
		var err error
		if op == 2 {
			err = c.dc.Reset(d)
		} else {
			err = c.dc.Delay(d)
		}
		m.checkErr("Reset/Delay", c, err)
		if c.state == mPending {
			if op == 2 {
				c.when = satAdd(m.now, int64(max(d, 0)))
			} else {
				c.when = satAdd(c.when, int64(d))
			}
			m.seq++
			c.seq = m.seq
		}
	case 4:
		m.advance(time.Duration(arg) * time.Millisecond)
	case 5:
		m.pass()
	}
	m.check()
	_ = t
}

func (m *timerModel) checkErr(what string, c *mCall, err error) {
	var want error
	switch c.state {
	case mRan:
		want = reactor.ErrAlreadyCalled
	case mCancelled:
		want = reactor.ErrAlreadyCancelled
	}
	if !errors.Is(err, want) {
		m.t.Fatalf("%s of call %d in state %d: %v, want %v", what, c.id, c.state, err, want)
	}
}

func (m *timerModel) advance(d time.Duration) {
	m.clk.Advance(d)
	m.now = int64(m.clk.Now().Sub(m.epoch))
}

// pass runs one top-level pass and checks what ran against the model.
func (m *timerModel) pass() {
	t := m.t
	var due []*mCall
	for _, c := range m.calls {
		if c.state == mPending && c.when <= m.now {
			due = append(due, c)
		}
	}
	slices.SortFunc(due, func(a, b *mCall) int {
		if c := cmp.Compare(a.when, b.when); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	m.ran, m.nested, m.fence = nil, false, m.seq
	if err := m.r.RunOnce(0); err != nil {
		t.Fatal(err)
	}
	if m.nested {
		// A nested pass runs calls the outer one would have run next,
		// and its own, and a call moved during the pass waits for the
		// next: only the set of the others is promised.
		for _, c := range due {
			if c.state == mPending && c.seq <= m.fence {
				t.Fatalf("call %d was due and still pending after a pass", c.id)
			}
		}
		return
	}
	if len(m.ran) != len(due) {
		t.Fatalf("pass ran %d calls, want the %d due", len(m.ran), len(due))
	}
	for i := range due {
		if m.ran[i] != due[i] {
			t.Fatalf("pass ran call %d at position %d, want call %d", m.ran[i].id, i, due[i].id)
		}
	}
}

func (m *timerModel) check() {
	t := m.t
	var pending []*mCall
	for _, c := range m.calls {
		if c.dc.Active() != (c.state == mPending) {
			t.Fatalf("call %d: Active %v in state %d", c.id, c.dc.Active(), c.state)
		}
		if c.state == mPending {
			pending = append(pending, c)
			if got := int64(c.dc.When().Sub(m.epoch)); got != c.when {
				t.Fatalf("call %d: When %d, want %d", c.id, got, c.when)
			}
		}
	}
	listed := m.r.DelayedCalls()
	if len(listed) != len(pending) {
		t.Fatalf("DelayedCalls lists %d calls, want %d", len(listed), len(pending))
	}
	for i := 1; i < len(listed); i++ {
		if listed[i].When().Before(listed[i-1].When()) {
			t.Fatal("DelayedCalls not soonest first")
		}
	}
	nt := m.r.NextTimeout()
	if len(pending) == 0 {
		return // the clock's wakeup may make it 0 as well as -1
	}
	soonest := pending[0].when
	for _, c := range pending {
		soonest = min(soonest, c.when)
	}
	if nt < 0 {
		t.Fatalf("NextTimeout %v with %d calls pending", nt, len(pending))
	}
	if nt > 0 && time.Duration(satAdd(soonest, -m.now)) < nt && soonest > m.now {
		t.Fatalf("NextTimeout %v later than the soonest call (due in %v)", nt, time.Duration(soonest-m.now))
	}
	if soonest <= m.now && nt != 0 {
		t.Fatalf("NextTimeout %v with a call overdue", nt)
	}
}
