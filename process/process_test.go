package process_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/internal/stack"
	"github.com/loomkit/loom/process"
	"github.com/loomkit/loom/process/processtest"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/transport"
)

// modes are the two ways of watching the exit: the OS's (a pidfd here)
// and the fallback, a goroutine in cmd.Wait.
var modes = []struct {
	name string
	opts []process.Option
}{
	{"native", nil},
	{"goroutine", []process.Option{process.WithGoroutineWait()}},
}

// TestConformance runs the suite under each backend, with each way of
// watching the exit.
func TestConformance(t *testing.T) {
	for _, backend := range reactor.Backends() {
		for _, m := range modes {
			t.Run(backend+"/"+m.name, func(t *testing.T) {
				processtest.Run(t, reactortest.Plain(backend), m.opts...)
			})
		}
	}
}

func newReactor(t *testing.T, opts ...reactor.Option) *reactor.Reactor {
	t.Helper()
	r, err := reactor.New(append([]reactor.Option{reactor.WithoutSignalHandlers()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func run(t *testing.T, r *reactor.Reactor) {
	t.Helper()
	late := time.AfterFunc(60*time.Second, func() { r.CallFromGoroutine(r.Stop) })
	defer late.Stop()
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func noZombies(t *testing.T) {
	t.Helper()
	z, err := processtest.Zombies()
	for wait := time.Millisecond; err == nil && len(z) > 0 && wait < 2*time.Second; wait *= 2 {
		time.Sleep(wait)
		z, err = processtest.Zombies()
	}
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	if len(z) > 0 {
		t.Errorf("zombie children: %v", z)
	}
}

// funcs is a protocol of functions; nil ones do nothing. Every call is
// checked to run on the loop goroutine, whose id the first queued call
// records.
type funcs struct {
	t       *testing.T
	loop    *uint64
	started func(p *process.Process)
	data    func(s process.Stream, b []byte)
	closed  func(s process.Stream, err error)
	exited  func(err error)
	ended   func(err error)
}

func (f *funcs) onLoop(what string) {
	if g := stack.Goid(); f.loop != nil && *f.loop != 0 && g != *f.loop {
		f.t.Errorf("%s on goroutine %d, the loop's is %d", what, g, *f.loop)
	}
}

func (f *funcs) ProcessStarted(p *process.Process) {
	f.onLoop("ProcessStarted")
	if f.started != nil {
		f.started(p)
	}
}

func (f *funcs) DataReceived(s process.Stream, b []byte) {
	f.onLoop("DataReceived")
	if f.data != nil {
		f.data(s, b)
	}
}

func (f *funcs) StreamClosed(s process.Stream, err error) {
	f.onLoop("StreamClosed")
	if f.closed != nil {
		f.closed(s, err)
	}
}

func (f *funcs) ProcessExited(err error) {
	f.onLoop("ProcessExited")
	if f.exited != nil {
		f.exited(err)
	}
}

func (f *funcs) ProcessEnded(err error) {
	f.onLoop("ProcessEnded")
	if f.ended != nil {
		f.ended(err)
	}
}

func signalOf(err error) syscall.Signal {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return ws.Signal()
		}
	}
	return 0
}

// Test500Spawns starts 500 children, 16 at a time, and finds no zombie,
// and the same descriptors and goroutines, afterwards.
func Test500Spawns(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			reactortest.CheckLeaks(t)
			fdsBefore, gBefore := reactortest.OpenFDs(t), runtime.NumGoroutine()
			func() {
				r := newReactor(t)
				var loop uint64
				r.CallSoon(func() { loop = stack.Goid() })
				const n, width = 500, 16
				started, ended := 0, 0
				var next func()
				next = func() {
					if started == n {
						return
					}
					started++
					f := &funcs{t: t, loop: &loop}
					f.started = func(p *process.Process) {
						if native := p.WatchesNatively(); native == (m.name == "goroutine") || p.WaitsInGoroutine() != (m.name == "goroutine") {
							t.Errorf("%s mode: watched natively %v, by a goroutine %v", m.name, native, p.WaitsInGoroutine())
						}
					}
					f.ended = func(err error) {
						if err != nil {
							t.Errorf("true: %v", err)
						}
						if ended++; ended == n {
							r.Stop()
						}
						next()
					}
					if _, err := process.Spawn(r, exec.Command("true"), f, m.opts...); err != nil {
						t.Fatalf("Spawn %d: %v", started, err)
					}
				}
				r.CallSoon(func() {
					for range width {
						next()
					}
				})
				run(t, r)
				if ended != n {
					t.Errorf("%d of %d ended", ended, n)
				}
				r.Close()
			}()
			noZombies(t)
			if fds := reactortest.OpenFDs(t); fds != fdsBefore {
				t.Errorf("%d descriptors open before, %d after", fdsBefore, fds)
			}
			g := runtime.NumGoroutine()
			for wait := time.Millisecond; g > gBefore && wait < time.Second; wait *= 2 {
				time.Sleep(wait)
				g = runtime.NumGoroutine()
			}
			if g > gBefore { // goleak (CheckLeaks) names them
				t.Errorf("%d goroutines before, %d after", gBefore, g)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	f := &funcs{t: t}
	for _, c := range []struct {
		name string
		r    *reactor.Reactor
		cmd  *exec.Cmd
		p    process.Protocol
	}{
		{"nil reactor", nil, exec.Command("true"), f},
		{"nil command", r, nil, f},
		{"nil protocol", r, exec.Command("true"), nil},
	} {
		if _, err := process.Spawn(c.r, c.cmd, c.p); !errors.Is(err, deferred.ErrNil) {
			t.Errorf("%s: %v, want ErrNil", c.name, err)
		}
	}
	for _, p := range []*deferred.Promise[process.Result]{process.Run(nil, exec.Command("true")), process.Run(r, nil)} {
		var err error
		p.OnError(func(e error) { err = e })
		if !errors.Is(err, deferred.ErrNil) {
			t.Errorf("Run with nil: %v, want ErrNil", err)
		}
	}

	for _, set := range []func(c *exec.Cmd){
		func(c *exec.Cmd) { c.Stdin = bytes.NewReader(nil) },
		func(c *exec.Cmd) { c.Stdout = new(bytes.Buffer) },
		func(c *exec.Cmd) { c.Stderr = new(bytes.Buffer) },
	} {
		cmd := exec.Command("true")
		set(cmd)
		if _, err := process.Spawn(r, cmd, f); err == nil {
			t.Errorf("Spawn with stdio %T %T %T: no error", cmd.Stdin, cmd.Stdout, cmd.Stderr)
		}
	}
	cmd := exec.Command("cat")
	cmd.Stdin = os.Stdin
	var runErr error
	process.Run(r, cmd, process.WithInput([]byte("x"))).OnError(func(err error) { runErr = err })
	if runErr == nil {
		t.Error("Run with both WithInput and cmd.Stdin: no error")
	}

	cmd = exec.Command("true")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pgid: 1}
	if _, err := process.Spawn(r, cmd, f, process.WithProcessGroup()); err == nil {
		t.Error("Spawn WithProcessGroup into another group: no error")
	}
	if _, err := process.Spawn(r, &exec.Cmd{}, f); err == nil {
		t.Error("Spawn of an empty Cmd: no error")
	}
	var zero process.Result
	if zero.ExitCode() != -1 || zero.Signal() != 0 || zero.Err() == nil {
		t.Errorf("zero Result: %d, %v, %v", zero.ExitCode(), zero.Signal(), zero.Err())
	}

	started := exec.Command("true")
	if err := started.Run(); err != nil {
		t.Fatal(err)
	}
	if _, err := process.Spawn(r, started, f); err == nil {
		t.Error("Spawn of a command already run: no error")
	}

	// A process without a group of its own, and one whose stdin is not
	// a pipe.
	cmd = exec.Command("true")
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	cmd.Stdin = devnull
	f.started = func(p *process.Process) {
		if err := p.KillGroup(syscall.SIGKILL); !errors.Is(err, process.ErrNoGroup) {
			t.Errorf("KillGroup without a group: %v, want ErrNoGroup", err)
		}
		if err := p.Write([]byte("x")); !errors.Is(err, process.ErrNoPipe) {
			t.Errorf("Write with stdin a file: %v, want ErrNoPipe", err)
		}
		p.CloseStdin() // nothing to close: no panic
		if p.Pipe(process.Stream(-1)) != nil || p.Pipe(process.Stream(99)) != nil {
			t.Error("Pipe of a stream that is not there")
		}
		if err := p.Kill(nil); err == nil {
			t.Error("Kill(nil): no error")
		}
	}
	f.ended = func(error) { r.Stop() }
	if _, err := process.Spawn(r, cmd, f); err != nil {
		t.Fatal(err)
	}
	run(t, r)

	r.Close()
	if _, err := process.Spawn(r, exec.Command("true"), f); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Spawn on a closed reactor: %v, want ErrClosed", err)
	}
}

// TestCloseKills: with WithKillOnStop, a Close (with no stop before it:
// the reactor never ran) kills the child, reaps it and reports the kill.
func TestCloseKills(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			reactortest.CheckLeaks(t)
			r := newReactor(t)
			var exited, ended error = errors.New("not called"), errors.New("not called")
			var order []string
			f := &funcs{t: t,
				closed: func(s process.Stream, err error) {
					order = append(order, "close")
					if !errors.Is(err, transport.ErrClosed) {
						t.Errorf("StreamClosed(%v, %v): want ErrClosed", s, err)
					}
				},
				exited: func(err error) { exited = err; order = append(order, "exit") },
				ended:  func(err error) { ended = err; order = append(order, "end") },
			}
			p, err := process.Spawn(r, exec.Command("sleep", "30"), f,
				append(m.opts, process.WithKillOnStop(syscall.SIGTERM))...)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			if signalOf(exited) != syscall.SIGKILL || ended != exited || !p.Ended() {
				t.Errorf("ProcessExited(%v), ProcessEnded(%v): want killed by SIGKILL, both", exited, ended)
			}
			if len(order) != 5 || order[4] != "end" {
				t.Errorf("heard %v: want three closes, the exit and the end", order)
			}
			noZombies(t)
		})
	}
}

// TestCloseLeavesTheChild: without WithKillOnStop, a Close leaves the
// child running and ends its process with ErrClosed; the child is reaped
// when it exits, after the reactor is gone.
func TestCloseLeavesTheChild(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			reactortest.CheckLeaks(t)
			r := newReactor(t)
			ended := errors.New("not called")
			exits := 0
			f := &funcs{t: t, exited: func(error) { exits++ }, ended: func(err error) { ended = err }}
			p, err := process.Spawn(r, exec.Command("sleep", "1"), f, m.opts...)
			if err != nil {
				t.Fatal(err)
			}
			r.CallLater(20*time.Millisecond, r.Stop)
			run(t, r)
			r.Close()
			if !errors.Is(ended, transport.ErrClosed) || exits != 0 {
				t.Errorf("ProcessEnded(%v) after %d exits: want ErrClosed, no exit", ended, exits)
			}
			if err := syscall.Kill(p.Pid(), 0); err != nil {
				t.Errorf("the child is gone at Close: %v", err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for syscall.Kill(p.Pid(), 0) == nil && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if err := syscall.Kill(p.Pid(), 0); err != syscall.ESRCH {
				t.Errorf("the child was not reaped after its exit: kill(pid, 0) = %v", err)
			}
			noZombies(t)
		})
	}
}

// TestStopHeldByGrandchild: a stop with WithKillOnStop and no group
// signals sh only; the sleep it started holds the pipes, so the stop
// waits out the grace period, then goes on, and the sleep is left.
func TestStopHeldByGrandchild(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	var sleeper []byte
	var closed [3]error
	f := &funcs{t: t,
		data:   func(s process.Stream, b []byte) { sleeper = append(sleeper, b...) },
		closed: func(s process.Stream, err error) { closed[s] = err },
	}
	f.started = func(p *process.Process) {
		// Stop once the sleep's pid is out, so that it is started.
		f.data = func(s process.Stream, b []byte) { sleeper = append(sleeper, b...); r.Stop() }
	}
	_, err := process.Spawn(r, exec.Command("sh", "-c", "sleep 30 & echo $!; wait"), f,
		process.WithKillOnStop(syscall.SIGTERM), process.WithGracePeriod(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	run(t, r)
	if !errors.Is(closed[process.Stdout], process.ErrHeldOpen) {
		t.Errorf("StreamClosed(stdout, %v): want ErrHeldOpen", closed[process.Stdout])
	}
	var pid int
	if _, err := fmt.Sscan(string(sleeper), &pid); err != nil || pid <= 0 {
		t.Fatalf("stdout %q", sleeper)
	}
	syscall.Kill(pid, syscall.SIGKILL)
}

// TestGroupAndSysProcAttr: the caller's SysProcAttr is left as it was,
// WithProcessGroup works with a Setsid of the caller's, and KillGroup
// reaches the child's children.
func TestGroupAndSysProcAttr(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	attr := &syscall.SysProcAttr{Setsid: true}
	cmd := exec.Command("sh", "-c", "sleep 30 & sleep 30; echo not reached")
	cmd.SysProcAttr = attr
	var exited error
	var closed [3]error
	f := &funcs{t: t,
		started: func(p *process.Process) {
			r.CallLater(50*time.Millisecond, func() {
				if err := p.KillGroup(syscall.SIGTERM); err != nil {
					t.Errorf("KillGroup: %v", err)
				}
			})
		},
		closed: func(s process.Stream, err error) { closed[s] = err },
		exited: func(err error) { exited = err },
		ended:  func(error) { r.Stop() },
	}
	p, err := process.Spawn(r, cmd, f, process.WithProcessGroup())
	if err != nil {
		t.Fatal(err)
	}
	if cmd.SysProcAttr != attr || !attr.Setsid || attr.Setpgid {
		t.Errorf("SysProcAttr changed: %+v", cmd.SysProcAttr)
	}
	run(t, r)
	if signalOf(exited) != syscall.SIGTERM || closed[process.Stdout] != nil {
		t.Errorf("ProcessExited(%v), StreamClosed(stdout, %v): want SIGTERM, and both sleeps gone", exited, closed[process.Stdout])
	}
	// The sleeps, now children of init, are gone once it has reaped them.
	err = p.KillGroup(0)
	for deadline := time.Now().Add(10 * time.Second); err == nil && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
		err = p.KillGroup(0)
	}
	if !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("KillGroup of an empty group: %v, want os.ErrProcessDone", err)
	}

	// Setpgid asked for, on the caller's attributes, which stay as they
	// were.
	attr = &syscall.SysProcAttr{}
	cmd = exec.Command("true")
	cmd.SysProcAttr = attr
	f = &funcs{t: t, started: func(p *process.Process) {
		if pgid, err := syscall.Getpgid(p.Pid()); err != nil || pgid != p.Pid() {
			t.Errorf("the child's group is %d (%v), want its own, %d", pgid, err, p.Pid())
		}
	}, ended: func(error) { r.Stop() }}
	if _, err := process.Spawn(r, cmd, f, process.WithProcessGroup()); err != nil {
		t.Fatal(err)
	}
	if cmd.SysProcAttr != attr || attr.Setpgid {
		t.Errorf("SysProcAttr changed: %+v", cmd.SysProcAttr)
	}
	run(t, r)
}

// TestCommandContext: exec.CommandContext keeps working: cancelling the
// context kills the child, and the end is reported.
func TestCommandContext(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var exited error
	f := &funcs{t: t,
		started: func(*process.Process) { r.CallLater(20*time.Millisecond, cancel) },
		exited:  func(err error) { exited = err },
		ended:   func(error) { r.Stop() },
	}
	if _, err := process.Spawn(r, exec.CommandContext(ctx, "sleep", "30"), f); err != nil {
		t.Fatal(err)
	}
	run(t, r)
	if signalOf(exited) != syscall.SIGKILL && !errors.Is(exited, context.Canceled) {
		t.Errorf("ProcessExited(%v): want killed through the context", exited)
	}
}

// TestPanickingProtocol: a protocol that panics in its callbacks (the
// reactor logs each panic) still hears ProcessEnded, and nothing is left.
func TestPanickingProtocol(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t, reactor.WithLogger(slog.New(slog.DiscardHandler)))
	ended := 0
	f := &funcs{t: t,
		data:   func(process.Stream, []byte) { panic("in DataReceived") },
		closed: func(process.Stream, error) { panic("in StreamClosed") },
		exited: func(error) { panic("in ProcessExited") },
		ended:  func(error) { ended++; r.Stop() },
	}
	if _, err := process.Spawn(r, exec.Command("sh", "-c", "echo out; echo err >&2"), f); err != nil {
		t.Fatal(err)
	}
	run(t, r)
	if ended != 1 {
		t.Errorf("ProcessEnded called %d times, want once", ended)
	}
	noZombies(t)
}

// TestStdinAfterExit: what is still buffered for stdin when the child
// exits is flushed and then stdin is closed: a child that never read
// gives an error wrapping transport.ErrReset (EPIPE); a grandchild that
// holds stdin without reading holds the flush until the grace period
// closes it (ErrHeldOpen).
func TestStdinAfterExit(t *testing.T) {
	reactortest.CheckLeaks(t)
	big := make([]byte, 1<<20) // more than a pipe holds
	for _, c := range []struct {
		name string
		args []string
		want error
	}{
		{"nobody reads", []string{"true"}, transport.ErrReset},
		{"a grandchild holds it", []string{"sh", "-c", "exec 3<&0; sleep 30 <&3 3<&- >/dev/null 2>&1 &"}, process.ErrHeldOpen},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newReactor(t)
			var closed [3]error
			var proc *process.Process
			f := &funcs{t: t,
				started: func(p *process.Process) {
					proc = p
					// true may be gone already: the write fails at once.
					if err := p.Write(big); err != nil && !errors.Is(err, c.want) {
						t.Errorf("Write: %v", err)
					}
				},
				closed: func(s process.Stream, err error) { closed[s] = err },
				ended:  func(error) { r.Stop() },
			}
			if _, err := process.Spawn(r, exec.Command(c.args[0], c.args[1:]...), f,
				process.WithGracePeriod(200*time.Millisecond), process.WithProcessGroup()); err != nil {
				t.Fatal(err)
			}
			run(t, r)
			if !errors.Is(closed[process.Stdin], c.want) || closed[process.Stdout] != nil {
				t.Errorf("StreamClosed stdin %v, stdout %v: want %v, nil", closed[process.Stdin], closed[process.Stdout], c.want)
			}
			proc.KillGroup(syscall.SIGKILL) // the sleep, if any
		})
	}
}
