// Package transporttest is the conformance suite of loom's transports:
// Run(t, newLoop) runs every case over real sockets on 127.0.0.1 with a
// loop made by newLoop, the same reactortest.NewLoop the reactor's own
// suite takes, so the reactor under each backend and each GUI loop run it
// alike.
package transporttest

import (
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loomkit/loom/internal/stack"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/transport"
)

// Run runs the suite. Each case is a subtest that also fails if it leaves
// a descriptor open or a goroutine running, or if any protocol callback
// runs on another goroutine than the loop's.
func Run(t *testing.T, newLoop reactortest.NewLoop) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reactortest.CheckLeaks(t)
			c.f(t, newLoop)
		})
	}
}

type testCase struct {
	name string
	f    func(t *testing.T, newLoop reactortest.NewLoop)
}

var cases []testCase

func add(name string, f func(t *testing.T, newLoop reactortest.NewLoop)) {
	cases = append(cases, testCase{name, f})
}

// limit bounds one loop run of a case.
const limit = 60 * time.Second

// loopGuard checks that callbacks run on the loop goroutine.
type loopGuard struct {
	t    testing.TB
	g    atomic.Uint64
	bad  atomic.Int64
	what atomic.Value
}

// guard starts a loop guard for r: the loop goroutine is the one that runs
// r's first queued call.
func guard(t testing.TB, r *reactor.Reactor) *loopGuard {
	lg := &loopGuard{t: t}
	r.CallSoon(func() { lg.g.Store(stack.Goid()) })
	t.Cleanup(func() {
		if n := lg.bad.Load(); n > 0 {
			t.Errorf("%d protocol callbacks ran off the loop goroutine, the first: %v", n, lg.what.Load())
		}
	})
	return lg
}

func (lg *loopGuard) check(what string) {
	want := lg.g.Load()
	if want == 0 {
		return // before the loop's first pass: set-up on the test goroutine
	}
	if g := stack.Goid(); g != want {
		if lg.bad.Add(1) == 1 {
			lg.what.Store(fmt.Sprintf("%s on goroutine %d, loop on %d", what, g, want))
		}
	}
}

// proto is a protocol made of functions, every callback checked by its
// guard. Nil functions do nothing.
type proto struct {
	lg        *loopGuard
	t         transport.Transport
	made      func(t transport.Transport)
	data      func(b []byte)
	lost      func(err error)
	readEOF   func() bool // nil: not a half-closer's answer, close
	pause     func()
	resume    func()
	lostCalls int
}

func (p *proto) ConnectionMade(t transport.Transport) {
	p.lg.check("ConnectionMade")
	p.t = t
	if p.made != nil {
		p.made(t)
	}
}

func (p *proto) DataReceived(b []byte) {
	p.lg.check("DataReceived")
	if p.data != nil {
		p.data(b)
	}
}

func (p *proto) ConnectionLost(err error) {
	p.lg.check("ConnectionLost")
	p.lostCalls++
	if p.lostCalls > 1 {
		p.lg.t.Errorf("ConnectionLost called %d times (last with %v)", p.lostCalls, err)
	}
	if p.lost != nil {
		p.lost(err)
	}
}

func (p *proto) ReadConnectionLost() bool {
	p.lg.check("ReadConnectionLost")
	if p.readEOF != nil {
		return p.readEOF()
	}
	return false
}

func (p *proto) PauseWriting() {
	p.lg.check("PauseWriting")
	if p.pause != nil {
		p.pause()
	}
}

func (p *proto) ResumeWriting() {
	p.lg.check("ResumeWriting")
	if p.resume != nil {
		p.resume()
	}
}

// echo returns a factory of echo protocols that push back: when their
// writes are paused they pause reading (a proxy's back-pressure).
func echo(lg *loopGuard) transport.Factory {
	return func(net.Addr) transport.Protocol {
		p := &proto{lg: lg}
		p.data = func(b []byte) {
			if err := p.t.Write(b); err != nil {
				lg.t.Errorf("echo Write: %v", err)
			}
		}
		p.pause = func() { p.t.PauseReading() }
		p.resume = func() { p.t.ResumeReading() }
		return p
	}
}
