package deferred

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
)

// FuzzDeferred plays random sequences of operations on a few Deferreds:
// Callback, Errback, callbacks that return values, errors, panics, other
// Deferreds (so that Deferreds wait on each other, in rings too) or do
// operations of their own, Chain, Pause, Unpause, Cancel. It checks that
// nothing crashes and that Twisted's rules hold:
//
//   - a Deferred fires at most once: Callback or Errback on a fired one
//     returns ErrAlreadyCalled (once without, after a Cancel of a Deferred
//     without a canceller);
//   - no callback runs twice, none runs while its Deferred is paused, and
//     once every Deferred is unpaused and cancelled (which sets rings of
//     waits free) every callback added has run exactly once;
//   - results flow: a callback gets what the one before it on the same
//     Deferred returned (a value on the callback path, an error or panic
//     on the errback path), or what its Deferred was fired with.
func FuzzDeferred(f *testing.F) {
	for _, seed := range fuzzSeeds {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		limitFuzzStack()
		m := &fuzzModel{t: t, data: data}
		for i := range m.slots {
			m.slots[i] = m.newDeferred(0)
		}
		for m.pos < len(m.data) {
			m.op(0)
		}
		m.finish()
	})
}

var fuzzSeeds = [][]byte{
	{},
	{2, 0, 0, 0, 0, 0, 1},                // a callback, fired
	{2, 0, 3, 1, 2, 1, 3, 0, 0, 0, 1, 2}, // a and b wait on each other
	{2, 0, 3, 0, 0, 0},                   // a callback returns its own Deferred
	{5, 0, 2, 0, 0, 0, 0, 6, 0},          // pause, callback, fire, unpause
	{2, 0, 3, 1, 0, 0, 6, 0, 0, 0},       // unpause of a waiting Deferred
	{4, 0, 1, 2, 1, 0, 0, 0},             // chain
	{8, 0, 1, 2, 0, 1, 7, 0},             // canceller, callback, cancel
	{2, 0, 5, 2, 1, 0, 0, 0, 1, 0},       // a callback that adds one
	{2, 0, 3, 1, 2, 1, 3, 2, 2, 2, 3, 0, 0, 0, 1, 0, 0, 2, 7, 1}, // a ring of three, cancelled
	{2, 0, 4, 0, 0, 0, 7, 0},                                     // waits on a fresh Deferred
	{10, 0, 1, 0, 1, 1, 0},                                       // Callback with a Deferred; fired twice
}

var fuzzStackOnce sync.Once

// limitFuzzStack makes a runaway recursion fail fast.
func limitFuzzStack() {
	fuzzStackOnce.Do(func() { debug.SetMaxStack(64 << 20) })
}

// outcome is what a callback returned, or what a Deferred was fired with,
// as far as the model knows it.
type outcome struct {
	kind outcomeKind
	tok  int
}

type outcomeKind uint8

const (
	unknownOutcome outcomeKind = iota
	valueOutcome               // tok, or nil if tok < 0
	errorOutcome               // a fuzzError with tok
	panicOutcome
)

type fuzzError struct{ tok int }

func (e fuzzError) Error() string { return fmt.Sprintf("fuzz error %d", e.tok) }

type fuzzDeferred struct {
	d         *Deferred
	canceller bool
	pauses    int // Pause calls not matched by an Unpause
	swallowed int // late results swallowed after a Cancel
	epoch     int // counts links that others may have put in the chain
	last      *fuzzLink
	lastEpoch int
	fire      outcome // what our Callback or Errback fired it with
	links     []*fuzzLink
}

type fuzzLink struct {
	owner    *fuzzDeferred
	pred     *fuzzLink // the link before it, if nothing came between
	predFire bool      // the first link: it gets the firing result
	ran      int
	out      outcome
	behavior byte
	arg      byte
	name     string
}

type fuzzModel struct {
	t      *testing.T
	data   []byte
	pos    int
	slots  [4]*fuzzDeferred
	all    []*fuzzDeferred
	tok    int
	depth  int // callbacks on the stack
	steps  []string
	failed bool
}

func (m *fuzzModel) next() byte {
	if m.pos >= len(m.data) {
		return 0
	}
	b := m.data[m.pos]
	m.pos++
	return b
}

func (m *fuzzModel) slot() *fuzzDeferred { return m.slots[int(m.next())%len(m.slots)] }

func (m *fuzzModel) token() int { m.tok++; return m.tok }

func (m *fuzzModel) errorf(format string, args ...any) {
	m.t.Helper()
	m.t.Errorf("after %s: %s", strings.Join(m.steps, "; "), fmt.Sprintf(format, args...))
	m.failed = true
}

func (m *fuzzModel) index(fd *fuzzDeferred) int {
	for i, x := range m.all {
		if x == fd {
			return i
		}
	}
	return -1
}

func (m *fuzzModel) newDeferred(kind byte) *fuzzDeferred {
	fd := &fuzzDeferred{}
	switch kind % 4 {
	case 0:
		fd.d = New()
	case 1:
		tok := m.token()
		fd.d = NewWithCanceller(func(d *Deferred) { d.Callback(tok) })
		fd.canceller = true
	case 2:
		tok := m.token()
		fd.d = NewWithCanceller(func(d *Deferred) { d.Errback(fuzzError{tok}) })
		fd.canceller = true
	case 3:
		fd.d = NewWithCanceller(func(*Deferred) {})
		fd.canceller = true
	}
	m.all = append(m.all, fd)
	return fd
}

// op decodes and plays one operation. depth > 0 inside a callback, where
// Pause and Unpause are not played (a Pause made by a callback does not
// stop the callbacks after it in the same run, in Twisted as here).
func (m *fuzzModel) op(depth int) {
	code := m.next() % 11
	switch code {
	case 0, 1: // Callback, Errback
		fd := m.slot()
		tok := m.token()
		m.steps = append(m.steps, fmt.Sprintf("%s#%d(%d)", map[byte]string{0: "Callback", 1: "Errback"}[code], m.index(fd), tok))
		was := fd.d.Called()
		if !was {
			if code == 0 {
				fd.fire = outcome{valueOutcome, tok}
			} else {
				fd.fire = outcome{errorOutcome, tok}
			}
		}
		var err error
		if code == 0 {
			err = fd.d.Callback(tok)
		} else {
			err = fd.d.Errback(fuzzError{tok})
		}
		m.checkFire(fd, was, err)
	case 2, 3: // AddCallbacks, AddBoth
		fd := m.slot()
		l := &fuzzLink{owner: fd, behavior: m.next(), arg: m.next()}
		l.name = fmt.Sprintf("link %d.%d", m.index(fd), len(fd.links))
		if fd.last != nil && fd.lastEpoch == fd.epoch {
			l.pred = fd.last
		} else if fd.last == nil && fd.epoch == 0 {
			l.predFire = true
		}
		fd.links = append(fd.links, l)
		fd.last, fd.lastEpoch = l, fd.epoch
		m.steps = append(m.steps, fmt.Sprintf("add %s (%d, %d)", l.name, l.behavior%8, l.arg))
		if code == 2 {
			fd.d.AddCallbacks(func(v any) any { return m.run(l, v, nil) }, func(err error) any { return m.run(l, nil, err) })
		} else {
			fd.d.AddBoth(func(r any) any {
				if f, ok := r.(*Failure); ok {
					return m.run(l, nil, f)
				}
				return m.run(l, r, nil)
			})
		}
	case 4: // Chain
		a, b := m.slot(), m.slot()
		m.steps = append(m.steps, fmt.Sprintf("Chain#%d(#%d)", m.index(a), m.index(b)))
		a.epoch++
		a.d.Chain(b.d)
	case 5, 6: // Pause, Unpause
		fd := m.slot()
		if depth > 0 {
			return
		}
		if code == 5 {
			m.steps = append(m.steps, fmt.Sprintf("Pause#%d", m.index(fd)))
			fd.pauses++
			fd.d.Pause()
		} else {
			m.steps = append(m.steps, fmt.Sprintf("Unpause#%d", m.index(fd)))
			if fd.pauses > 0 {
				fd.pauses--
			}
			fd.d.Unpause()
		}
	case 7: // Cancel
		fd := m.slot()
		m.steps = append(m.steps, fmt.Sprintf("Cancel#%d", m.index(fd)))
		fd.d.Cancel()
	case 8: // a new Deferred in a slot
		i := int(m.next()) % len(m.slots)
		m.slots[i] = m.newDeferred(m.next())
		m.steps = append(m.steps, fmt.Sprintf("New#%d", len(m.all)-1))
	case 9: // Cancel twice
		fd := m.slot()
		m.steps = append(m.steps, fmt.Sprintf("Cancel twice#%d", m.index(fd)))
		fd.d.Cancel()
		fd.d.Cancel()
	case 10: // Callback with a Deferred: refused
		fd, other := m.slot(), m.slot()
		m.steps = append(m.steps, fmt.Sprintf("Callback#%d(Deferred)", m.index(fd)))
		was := fd.d.Called()
		if err := fd.d.Callback(other.d); err == nil || was != fd.d.Called() {
			m.errorf("Callback with a *Deferred: error %v, fired %v", err, fd.d.Called())
		}
	}
}

// checkFire checks the error of a Callback or Errback on fd, which had
// fired before if was.
func (m *fuzzModel) checkFire(fd *fuzzDeferred, was bool, err error) {
	switch {
	case !was && err != nil:
		m.errorf("first Callback/Errback returned %v", err)
	case !was && !fd.d.Called():
		m.errorf("Callback/Errback did not fire it")
	case was && err == nil:
		fd.swallowed++
		if fd.canceller || fd.swallowed > 1 {
			m.errorf("a second Callback/Errback was accepted (canceller %v, swallowed %d)", fd.canceller, fd.swallowed)
		}
	case was && !errors.Is(err, ErrAlreadyCalled):
		m.errorf("a second Callback/Errback returned %v, want ErrAlreadyCalled", err)
	}
}

// run is the body of every callback and errback the model adds.
func (m *fuzzModel) run(l *fuzzLink, v any, err error) any {
	l.ran++
	if l.ran > 1 {
		m.errorf("%s ran %d times", l.name, l.ran)
	}
	if l.owner.pauses > 0 {
		m.errorf("%s ran while its Deferred is paused", l.name)
	}
	var want outcome
	switch {
	case l.pred != nil && l.pred.ran == 1:
		want = l.pred.out
	case l.predFire:
		want = l.owner.fire
	}
	switch want.kind {
	case valueOutcome:
		if err != nil {
			m.errorf("%s got error %v, want value %d", l.name, err, want.tok)
		} else if want.tok < 0 && v != nil || want.tok >= 0 && v != want.tok {
			m.errorf("%s got %v, want %d", l.name, v, want.tok)
		}
	case errorOutcome:
		if !errors.Is(err, fuzzError{want.tok}) {
			m.errorf("%s got %v, %v, want fuzz error %d", l.name, v, err, want.tok)
		}
	case panicOutcome:
		var pe *PanicError
		if !errors.As(err, &pe) {
			m.errorf("%s got %v, %v, want a panic", l.name, v, err)
		}
	}
	m.depth++
	defer func() { m.depth-- }()
	switch l.behavior % 8 {
	case 0:
		tok := m.token()
		l.out = outcome{valueOutcome, tok}
		return tok
	case 1:
		tok := m.token()
		l.out = outcome{errorOutcome, tok}
		return fuzzError{tok}
	case 2:
		l.out = outcome{kind: panicOutcome}
		panic("fuzz panic")
	case 3: // another Deferred of the slots, maybe its own
		fd := m.slots[int(l.arg)%len(m.slots)]
		fd.epoch++
		return fd.d
	case 4: // a fresh Deferred, left for later operations
		fd := m.newDeferred(l.arg)
		fd.epoch++
		m.slots[int(l.arg/4)%len(m.slots)] = fd
		return fd.d
	case 5: // an operation of its own
		if m.depth <= 3 {
			m.op(m.depth)
		}
		tok := m.token()
		l.out = outcome{valueOutcome, tok}
		return tok
	case 6:
		l.out = outcome{valueOutcome, -1}
		return nil
	default: // pass the result on
		l.out = want
		if err != nil {
			return err
		}
		return v
	}
}

// finish unpauses every Deferred and cancels them, in rounds, until none
// waits, and checks that every callback then ran exactly once.
func (m *fuzzModel) finish() {
	if m.failed {
		return
	}
	m.pos = len(m.data) // callbacks play no more operations
	m.steps = append(m.steps, "unpause and cancel all")
	for _, fd := range m.all {
		for fd.pauses > 0 {
			fd.pauses--
			fd.d.Unpause()
		}
	}
	for round := 0; ; round++ {
		busy := false
		for _, fd := range slicesClone(m.all) {
			if !fd.d.Called() || isDeferred(fd.d.result) {
				busy = true
				fd.d.Cancel()
			}
		}
		if !busy {
			break
		}
		if round > len(m.all)+100 {
			for i, fd := range m.all {
				if !fd.d.Called() || isDeferred(fd.d.result) {
					m.errorf("Deferred #%d still waits after %d rounds of Cancel: %v", i, round, fd.d)
				}
			}
			return
		}
	}
	for i, fd := range m.all {
		if fd.d.paused != 0 || fd.d.running || int(fd.d.next) < len(fd.d.cbs) {
			m.errorf("Deferred #%d: paused %d, running %v, %d links left", i, fd.d.paused, fd.d.running, len(fd.d.cbs)-int(fd.d.next))
		}
		for _, l := range fd.links {
			if l.ran != 1 {
				m.errorf("%s ran %d times, want once", l.name, l.ran)
			}
		}
	}
}

func slicesClone[T any](s []T) []T { return append([]T(nil), s...) }
