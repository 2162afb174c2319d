// Package processtest is the conformance suite of package process:
// Run(t, newLoop) runs every case with real child processes (sh, true,
// false, cat, sleep) on a loop made by newLoop, the same
// reactortest.NewLoop the reactor's own suite takes, so the reactor under
// each backend and each GUI loop run it alike.
package processtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/loomkit/loom/internal/stack"
	"github.com/loomkit/loom/process"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/transport"
)

// Run runs the suite, each case with opts added to its Spawn and Run
// options. Each case is a subtest that also fails if it leaves a
// descriptor open, a goroutine running or a zombie child, or if any
// callback runs on another goroutine than the loop's.
func Run(t *testing.T, newLoop reactortest.NewLoop, opts ...process.Option) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reactortest.CheckLeaks(t)
			t.Cleanup(func() { checkZombies(t) })
			c.f(t, newLoop, opts)
		})
	}
}

type testCase struct {
	name string
	f    func(t *testing.T, newLoop reactortest.NewLoop, opts []process.Option)
}

var cases []testCase

func add(name string, f func(t *testing.T, newLoop reactortest.NewLoop, opts []process.Option)) {
	cases = append(cases, testCase{name, f})
}

// limit bounds one loop run of a case.
const limit = 60 * time.Second

// Zombies returns the ids of this process's children that have exited
// and not been reaped (state Z in /proc/<pid>/stat). It fails where
// there is no /proc.
func Zombies() ([]int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	me := os.Getpid()
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid == me && f[0] == "Z" {
			out = append(out, pid)
		}
	}
	return out, nil
}

// checkZombies fails t if a child of this process is a zombie.
func checkZombies(t testing.TB) {
	t.Helper()
	z, err := Zombies()
	if err != nil {
		return // no /proc to look in
	}
	// A child left to a reaping goroutine (a Close without
	// WithKillOnStop) gets a moment, as goleak gives goroutines.
	for wait := time.Millisecond; len(z) > 0 && wait < 2*time.Second; wait *= 2 {
		time.Sleep(wait)
		z, _ = Zombies()
	}
	if len(z) > 0 {
		t.Errorf("zombie children left: %v", z)
	}
}

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
			t.Errorf("%d callbacks ran off the loop goroutine, the first: %v", n, lg.what.Load())
		}
	})
	return lg
}

func (lg *loopGuard) check(what string) {
	want := lg.g.Load()
	if want == 0 {
		lg.bad.Add(1)
		lg.what.CompareAndSwap(nil, what+" before the loop's first pass")
		return
	}
	if g := stack.Goid(); g != want {
		if lg.bad.Add(1) == 1 {
			lg.what.Store(fmt.Sprintf("%s on goroutine %d, loop on %d", what, g, want))
		}
	}
}

// errNotYet marks an event that has not happened.
var errNotYet = errors.New("processtest: not called")

// recorder is a process.Protocol (a StreamCloser and a WriteFlow too) that
// records what it hears, checks the order of the calls and that they run
// on the loop, and calls the optional functions.
type recorder struct {
	t  testing.TB
	lg *loopGuard
	p  *process.Process

	out       [3]bytes.Buffer
	closed    [3]error
	closes    [3]int
	exitErr   error
	endErr    error
	starts    int
	exits     int
	ends      int
	exitStamp time.Time
	endStamp  time.Time
	order     []string // "exit", "close stdout", ... in the order heard

	start  func(p *process.Process)
	data   func(s process.Stream, b []byte)
	close  func(s process.Stream, err error)
	exit   func(err error)
	end    func(err error)
	pause  func()
	resume func()
}

func newRecorder(t testing.TB, lg *loopGuard) *recorder {
	return &recorder{t: t, lg: lg, exitErr: errNotYet, endErr: errNotYet,
		closed: [3]error{errNotYet, errNotYet, errNotYet}}
}

func (c *recorder) after(what string) {
	c.lg.check(what)
	if c.starts == 0 && what != "ProcessStarted" {
		c.t.Errorf("%s before ProcessStarted", what)
	}
	if c.ends > 0 {
		c.t.Errorf("%s after ProcessEnded", what)
	}
}

func (c *recorder) ProcessStarted(p *process.Process) {
	c.after("ProcessStarted")
	c.starts++
	if c.starts > 1 {
		c.t.Errorf("ProcessStarted called %d times", c.starts)
	}
	c.p = p
	if c.start != nil {
		c.start(p)
	}
}

func (c *recorder) DataReceived(s process.Stream, b []byte) {
	c.after("DataReceived")
	if s != process.Stdout && s != process.Stderr {
		c.t.Errorf("DataReceived from %v", s)
		return
	}
	if c.closes[s] > 0 {
		c.t.Errorf("DataReceived from %v after its StreamClosed", s)
	}
	c.out[s].Write(b)
	if c.data != nil {
		c.data(s, b)
	}
}

func (c *recorder) StreamClosed(s process.Stream, err error) {
	c.after("StreamClosed")
	if s < process.Stdin || s > process.Stderr {
		c.t.Errorf("StreamClosed(%v)", s)
		return
	}
	c.closes[s]++
	if c.closes[s] > 1 {
		c.t.Errorf("StreamClosed(%v) called %d times", s, c.closes[s])
	}
	c.closed[s] = err
	c.order = append(c.order, "close "+s.String())
	if c.close != nil {
		c.close(s, err)
	}
}

func (c *recorder) ProcessExited(err error) {
	c.after("ProcessExited")
	c.exits++
	if c.exits > 1 {
		c.t.Errorf("ProcessExited called %d times", c.exits)
	}
	if !c.p.Exited() || c.p.State() == nil && err == nil {
		c.t.Errorf("ProcessExited: Exited() %v, State() %v", c.p.Exited(), c.p.State())
	}
	c.exitErr, c.exitStamp = err, time.Now()
	c.order = append(c.order, "exit")
	if c.exit != nil {
		c.exit(err)
	}
}

func (c *recorder) ProcessEnded(err error) {
	c.after("ProcessEnded")
	c.ends++
	if c.exits == 0 && !errors.Is(err, transport.ErrClosed) {
		// Only a Close before the exit ends a process that did not exit.
		c.t.Errorf("ProcessEnded(%v) before ProcessExited", err)
	}
	if !c.p.Ended() {
		c.t.Error("ProcessEnded: Ended() is false")
	}
	c.endErr, c.endStamp = err, time.Now()
	c.order = append(c.order, "end")
	if c.end != nil {
		c.end(err)
	}
}

func (c *recorder) PauseWriting() {
	c.lg.check("PauseWriting")
	if c.pause != nil {
		c.pause()
	}
}

func (c *recorder) ResumeWriting() {
	c.lg.check("ResumeWriting")
	if c.resume != nil {
		c.resume()
	}
}

// status reads an exit error: the code, or -1 and the signal.
func status(err error) (code int, sig syscall.Signal, ok bool) {
	if err == nil {
		return 0, 0, true
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return 0, 0, false
	}
	ws, wok := ee.Sys().(syscall.WaitStatus)
	if !wok {
		return 0, 0, false
	}
	if ws.Signaled() {
		return -1, ws.Signal(), true
	}
	return ws.ExitStatus(), 0, true
}

// countdown calls f when done has been called n times. Loop goroutine.
type countdown struct {
	n int
	f func()
}

func (c *countdown) done() {
	if c.n--; c.n == 0 {
		c.f()
	}
}

// spawn starts cmd on the loop (from a queued call, so that
// ProcessStarted runs there too), failing t if it cannot.
func spawn(t testing.TB, r *reactor.Reactor, cmd *exec.Cmd, c *recorder, opts []process.Option, more ...process.Option) {
	r.CallSoon(func() {
		if _, err := process.Spawn(r, cmd, c, append(append([]process.Option(nil), opts...), more...)...); err != nil {
			t.Errorf("Spawn %v: %v", cmd.Args, err)
			r.Stop()
		}
	})
}
