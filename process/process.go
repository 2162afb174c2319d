package process

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/transport"
	"golang.org/x/sys/unix"
)

// Stream names one of the child's standard streams by its descriptor
// number in the child, as Twisted's childFD does.
type Stream int

// The standard streams.
const (
	Stdin  Stream = 0
	Stdout Stream = 1
	Stderr Stream = 2
)

// String returns "stdin", "stdout" or "stderr".
func (s Stream) String() string {
	switch s {
	case Stdin:
		return "stdin"
	case Stdout:
		return "stdout"
	case Stderr:
		return "stderr"
	}
	return fmt.Sprintf("stream %d", int(s))
}

// Errors that errors.Is finds in what this package returns and reports.
var (
	// ErrHeldOpen: a pipe was still open at the end of the grace period
	// after the child's exit (a process the child started holds it), and
	// was closed. StreamClosed's error wraps it.
	ErrHeldOpen = errors.New("pipe held open after the exit, closed at the end of the grace period")
	// ErrNoGroup: KillGroup on a child that does not lead a process group
	// of its own (see WithProcessGroup).
	ErrNoGroup = errors.New("process does not lead a process group of its own")
	// ErrNoPipe: the stream is not a pipe on the reactor (the Cmd gave it a
	// file of its own).
	ErrNoPipe = errors.New("stream is not a pipe on the reactor")
)

// Protocol is the application's side of one child process. Its methods
// run on the reactor goroutine, in this order: ProcessStarted first,
// ProcessEnded last, each once; DataReceived and StreamClosed between
// them; ProcessExited once, also between them, before or after the last
// bytes and closes of the pipes (the exit and the pipes are independent:
// a child's last output may be read after its exit is seen), or not at
// all if the reactor is closed while the child still runs.
type Protocol interface {
	// ProcessStarted is called once, when the child is running, with its
	// handle, before Spawn returns. Writing to the child from it is fine.
	ProcessStarted(p *Process)
	// DataReceived is called with bytes the child wrote to s, Stdout or
	// Stderr. b is valid only during the call: copy what must be kept.
	DataReceived(s Stream, b []byte)
	// ProcessExited is called once, when the child has exited and been
	// reaped, with cmd.Wait's error: nil for exit status 0, otherwise an
	// *exec.ExitError (see the package doc, Status). Its pipes may still
	// be open.
	ProcessExited(err error)
	// ProcessEnded is called once, last: the child has exited and each of
	// its pipes is closed (within the grace period). err is ProcessExited's,
	// or, if the reactor was closed before the child exited, an error
	// wrapping transport.ErrClosed.
	ProcessEnded(err error)
}

// StreamCloser is implemented by a protocol that wants to hear each pipe
// close.
type StreamCloser interface {
	// StreamClosed is called once for each of the child's streams that is
	// a pipe on the reactor, when it closes: stdout or stderr at the end of
	// file (err nil); stdin when it was closed (CloseStdin, or the exit),
	// with nil once every byte written was delivered, and otherwise the
	// transport's error (a reader that went away: transport.ErrReset). A
	// pipe still open at the end of the grace period after the exit gets
	// an error wrapping ErrHeldOpen; the reactor's Close gives one
	// wrapping transport.ErrClosed.
	StreamClosed(s Stream, err error)
}

// Process is the handle of one child process started by Spawn.
type Process struct {
	r      *reactor.Reactor
	cmd    *exec.Cmd
	proto  Protocol
	closer StreamCloser
	flow   transport.WriteFlow
	cfg    config
	pid    int
	group  bool // the child leads its own process group

	pipes [3]*pipeEnd // nil for a stream that is not a pipe on the reactor
	open  int         // pipes not closed yet

	exited  bool
	ended   bool
	closing bool // the reactor's Close is under way
	exitErr error
	state   *os.ProcessState
	grace   *reactor.DelayedCall

	unhook    func() // removes the OnClose hook
	untrigger func() // removes the Shutdown trigger
	stopping  *deferred.Deferred

	native   nativeWatch
	waitDone chan struct{} // closed by the goroutine in Wait, if there is one
	waitErr  error
}

// pipeEnd is the transport.Protocol of one pipe's parent end.
type pipeEnd struct {
	p    *Process
	s    Stream
	t    transport.Transport
	open bool
	held bool  // closed at the end of the grace period
	err  error // set up failed: the error StreamClosed reports
}

func (e *pipeEnd) ConnectionMade(t transport.Transport) { e.t = t }
func (e *pipeEnd) DataReceived(b []byte)                { e.p.proto.DataReceived(e.s, b) }
func (e *pipeEnd) ConnectionLost(err error)             { e.p.pipeClosed(e, err) }

func (e *pipeEnd) PauseWriting() {
	if e.p.flow != nil {
		e.p.flow.PauseWriting()
	}
}

func (e *pipeEnd) ResumeWriting() {
	if e.p.flow != nil {
		e.p.flow.ResumeWriting()
	}
}

// Spawn starts cmd with p as its protocol and returns its handle, after
// p.ProcessStarted. Each of cmd.Stdin, cmd.Stdout and cmd.Stderr that is
// nil becomes a pipe on the reactor; one that is an *os.File is given to
// the child as it is (os.Stderr to share the parent's, a file, /dev/null);
// any other reader or writer is an error, since os/exec would copy it on
// a goroutine of its own and its Wait would block the loop. Spawn leaves
// those three fields, and SysProcAttr, as they were. The Cmd's Wait
// belongs to the Process from now on: it is called once the child has
// exited, and sets cmd.ProcessState; do not call it.
//
// A cmd that cannot start gives Start's error (a missing binary: one
// wrapping exec.ErrNotFound or fs.ErrNotExist), with no descriptor left
// open. A closed reactor gives an error wrapping transport.ErrClosed.
func Spawn(r *reactor.Reactor, cmd *exec.Cmd, p Protocol, opts ...Option) (*Process, error) {
	switch {
	case r == nil:
		return nil, fmt.Errorf("process: Spawn: nil reactor: %w", deferred.ErrNil)
	case cmd == nil:
		return nil, fmt.Errorf("process: Spawn: nil command: %w", deferred.ErrNil)
	case p == nil:
		return nil, fmt.Errorf("process: Spawn: nil protocol: %w", deferred.ErrNil)
	case r.Closed():
		return nil, fmt.Errorf("process: Spawn %s: %w", cmd.Path, transport.ErrClosed)
	case cmd.Process != nil:
		return nil, fmt.Errorf("process: Spawn %s: exec: already started", cmd.Path)
	}
	if err := checkStdio(cmd); err != nil {
		return nil, err
	}
	pr := &Process{r: r, cmd: cmd, proto: p, cfg: newConfig(opts)}
	if a := cmd.SysProcAttr; pr.cfg.group && a != nil && a.Setpgid && a.Pgid != 0 {
		return nil, fmt.Errorf("process: Spawn %s: WithProcessGroup, and SysProcAttr joins group %d", cmd.Path, a.Pgid)
	}
	pr.closer, _ = p.(StreamCloser)
	pr.flow, _ = p.(transport.WriteFlow)
	if err := pr.start(); err != nil {
		return nil, err
	}
	p.ProcessStarted(pr)
	return pr, nil
}

// checkStdio refuses standard streams os/exec would copy on goroutines.
func checkStdio(cmd *exec.Cmd) error {
	bad := func(s Stream, v any) error {
		return fmt.Errorf("process: Spawn %s: cmd.%s is a %T: want nil (a pipe on the reactor) or an *os.File",
			cmd.Path, map[Stream]string{Stdin: "Stdin", Stdout: "Stdout", Stderr: "Stderr"}[s], v)
	}
	if _, ok := cmd.Stdin.(*os.File); cmd.Stdin != nil && !ok {
		return bad(Stdin, cmd.Stdin)
	}
	if _, ok := cmd.Stdout.(*os.File); cmd.Stdout != nil && !ok {
		return bad(Stdout, cmd.Stdout)
	}
	if _, ok := cmd.Stderr.(*os.File); cmd.Stderr != nil && !ok {
		return bad(Stderr, cmd.Stderr)
	}
	return nil
}

// start makes the pipes, starts the child and puts the pipes and the
// exit watch on the reactor.
func (p *Process) start() error {
	cmd := p.cmd
	want := [3]bool{
		cmd.Stdin == nil && !p.cfg.noStdin,
		cmd.Stdout == nil,
		cmd.Stderr == nil,
	}
	parent := [3]int{-1, -1, -1}
	var child [3]*os.File
	closeAll := func() {
		for s := range 3 {
			if parent[s] >= 0 {
				unix.Close(parent[s])
			}
			if child[s] != nil {
				child[s].Close()
			}
		}
	}
	for s := range 3 {
		if !want[s] {
			continue
		}
		rd, wr, err := newPipe()
		if err != nil {
			closeAll()
			return fmt.Errorf("process: Spawn %s: pipe for %v: %w", cmd.Path, Stream(s), err)
		}
		if Stream(s) == Stdin {
			parent[s], child[s] = wr, os.NewFile(uintptr(rd), "|0")
		} else {
			parent[s], child[s] = rd, os.NewFile(uintptr(wr), fmt.Sprintf("|%d", s))
		}
	}
	if want[Stdin] {
		cmd.Stdin = child[Stdin]
	}
	if want[Stdout] {
		cmd.Stdout = child[Stdout]
	}
	if want[Stderr] {
		cmd.Stderr = child[Stderr]
	}
	restore := p.prepareAttr()
	err := cmd.Start()
	restore()
	if want[Stdin] {
		cmd.Stdin = nil
	}
	if want[Stdout] {
		cmd.Stdout = nil
	}
	if want[Stderr] {
		cmd.Stderr = nil
	}
	for s := range child {
		if child[s] != nil {
			child[s].Close()
			child[s] = nil
		}
	}
	if err != nil {
		closeAll()
		return err
	}
	p.pid = cmd.Process.Pid

	// The hook goes in before the pipes' own: Close runs hooks newest
	// first, so the pipes report their close before ProcessEnded.
	p.unhook = p.r.OnClose(p.reactorClosed)
	var failed []*pipeEnd
	for s := range 3 {
		if parent[s] < 0 {
			continue
		}
		e := &pipeEnd{p: p, s: Stream(s), open: true}
		p.pipes[s] = e
		p.open++
		if _, err := transport.Pipe(p.r, parent[s], Stream(s) == Stdin, e); err != nil {
			unix.Close(parent[s])
			e.err = err
			failed = append(failed, e)
		}
		parent[s] = -1
	}
	if len(failed) > 0 {
		p.r.CallSoon(func() {
			for _, e := range failed {
				p.pipeClosed(e, e.err)
			}
		})
	}
	if p.cfg.killOnStop {
		p.untrigger = p.r.AddSystemEventTrigger(reactor.Before, reactor.Shutdown, p.shutdown)
	}
	p.watchExit()
	return nil
}

// prepareAttr puts the child in a group of its own if asked, on a copy of
// the caller's SysProcAttr; restore gives the caller's back.
func (p *Process) prepareAttr() (restore func()) {
	orig := p.cmd.SysProcAttr
	attr := orig
	if p.cfg.group && (orig == nil || !orig.Setsid && !(orig.Setpgid && orig.Pgid == 0)) {
		attr = new(syscall.SysProcAttr)
		if orig != nil {
			*attr = *orig
		}
		attr.Setpgid, attr.Pgid = true, 0
	}
	p.group = attr != nil && (attr.Setsid || attr.Setpgid && attr.Pgid == 0)
	p.cmd.SysProcAttr = attr
	return func() { p.cmd.SysProcAttr = orig }
}

// Pid returns the child's process id.
func (p *Process) Pid() int { return p.pid }

// Cmd returns the command the process runs.
func (p *Process) Cmd() *exec.Cmd { return p.cmd }

// Reactor returns the reactor the process runs on.
func (p *Process) Reactor() *reactor.Reactor { return p.r }

// Pipe returns the transport of stream s, nil if s is not a pipe on the
// reactor. Through it a protocol can pause reading stdout
// (PauseReading), see how much is buffered for stdin (Buffered) or set its
// write limits; after the pipe has closed it reports itself closed.
func (p *Process) Pipe(s Stream) transport.Transport {
	if s < Stdin || s > Stderr || p.pipes[s] == nil {
		return nil
	}
	return p.pipes[s].t
}

// Write writes b to the child's stdin, as transport.Transport's Write: it
// never blocks and does not keep b. It returns an error wrapping ErrNoPipe
// if stdin is not a pipe on the reactor, and one wrapping
// transport.ErrClosed once stdin is closed.
func (p *Process) Write(b []byte) error {
	t := p.Pipe(Stdin)
	if t == nil {
		if p.pipes[Stdin] != nil {
			return fmt.Errorf("process %d: write: %w", p.pid, transport.ErrClosed)
		}
		return fmt.Errorf("process %d: write: stdin: %w", p.pid, ErrNoPipe)
	}
	return t.Write(b)
}

// CloseStdin closes the child's stdin once what was written to it is
// flushed, so that the child reads its end of file. It does nothing if
// stdin is not a pipe on the reactor or is already closed.
func (p *Process) CloseStdin() {
	if t := p.Pipe(Stdin); t != nil {
		t.LoseConnection()
	}
}

// Kill sends sig to the child, as os.Process.Signal does (through the
// pidfd on Linux, so never to another process that reused the id). Once
// the child has been reaped it returns os.ErrProcessDone.
func (p *Process) Kill(sig os.Signal) error {
	if p.exited {
		return os.ErrProcessDone
	}
	return p.cmd.Process.Signal(sig)
}

// KillGroup sends sig to the child's process group: the child and every
// process it started that stayed in the group, grandchildren holding its
// pipes included. The child must lead a group of its own
// (WithProcessGroup); otherwise KillGroup returns an error wrapping
// ErrNoGroup and sends nothing. The group outlives the child while any of
// its members lives; once none is left, KillGroup returns
// os.ErrProcessDone. (Once the child has been reaped and its group is
// empty, the kernel may give the number to a new process, as for any
// process id.)
func (p *Process) KillGroup(sig syscall.Signal) error {
	if !p.group {
		return fmt.Errorf("process %d: kill group: %w", p.pid, ErrNoGroup)
	}
	err := unix.Kill(-p.pid, sig)
	if err == unix.ESRCH {
		return os.ErrProcessDone
	}
	if err != nil {
		return fmt.Errorf("process %d: kill group: %w", p.pid, err)
	}
	return nil
}

// killAll sends sig to the group if the child leads one, else to the
// child.
func (p *Process) killAll(sig syscall.Signal) {
	if p.group {
		p.KillGroup(sig)
	} else {
		p.Kill(sig)
	}
}

// Exited reports whether the child has exited and been reaped.
func (p *Process) Exited() bool { return p.exited }

// Ended reports whether ProcessEnded has been called.
func (p *Process) Ended() bool { return p.ended }

// State returns the child's exit state (cmd.ProcessState), nil until it
// has been reaped.
func (p *Process) State() *os.ProcessState { return p.state }

// reaped runs once the child has been reaped, with cmd.Wait's error.
func (p *Process) reaped(err error) {
	if p.exited {
		return
	}
	p.exited = true
	p.exitErr = err
	p.state = p.cmd.ProcessState
	if in := p.pipes[Stdin]; in != nil && in.open && in.t != nil {
		in.t.LoseConnection()
	}
	if p.open > 0 && !p.closing {
		p.grace = p.r.CallLater(p.cfg.grace, p.graceOver)
	}
	defer p.checkEnded() // also if ProcessExited panics
	p.proto.ProcessExited(err)
}

// graceOver closes the pipes still open at the end of the grace period.
func (p *Process) graceOver() {
	p.grace = nil
	for _, e := range p.pipes {
		if e != nil && e.open && e.t != nil {
			e.held = true
			e.t.Abort()
		}
	}
}

func (p *Process) pipeClosed(e *pipeEnd, err error) {
	if !e.open {
		return
	}
	e.open = false
	p.open--
	if e.held {
		err = fmt.Errorf("process %d: %v: %w", p.pid, e.s, ErrHeldOpen)
	}
	defer p.checkEnded() // also if StreamClosed panics
	if p.closer != nil {
		p.closer.StreamClosed(e.s, err)
	}
}

func (p *Process) checkEnded() {
	if p.exited && p.open == 0 && !p.closing {
		p.finish(p.exitErr)
	}
}

// finish ends the process's life on the reactor: ProcessEnded.
func (p *Process) finish(err error) {
	if p.ended {
		return
	}
	p.ended = true
	if p.grace != nil {
		p.grace.Cancel()
		p.grace = nil
	}
	p.native.stop(p.r)
	p.unhook()
	if p.untrigger != nil {
		p.untrigger()
	}
	if p.stopping != nil {
		p.stopping.Callback(nil)
	}
	p.proto.ProcessEnded(err)
}

// shutdown is the Shutdown trigger of WithKillOnStop: it signals the
// child and holds the stop until it has ended.
func (p *Process) shutdown() *deferred.Deferred {
	if p.ended {
		return nil
	}
	if !p.exited || p.group {
		p.killAll(p.cfg.stopSignal)
	}
	if p.stopping == nil {
		p.stopping = deferred.New()
	}
	return p.stopping
}

// reactorClosed is the OnClose hook. The pipes' own hooks have run (they
// were added later) and reported their close; the child, if it has not
// exited, is killed and reaped (WithKillOnStop) or left to a goroutine
// that reaps it when it exits.
func (p *Process) reactorClosed() {
	if p.ended {
		return
	}
	p.closing = true
	defer func() { // also if a callback panics
		p.closing = false
		err := p.exitErr
		if !p.exited {
			err = fmt.Errorf("process %d: the reactor was closed before it exited: %w", p.pid, transport.ErrClosed)
		}
		p.finish(err)
	}()
	if p.cfg.killOnStop {
		p.killAll(syscall.SIGKILL)
	}
	if !p.exited {
		if p.cfg.killOnStop && p.waitExit(closeWait) {
			p.reapNow()
		} else {
			p.detach()
		}
	}
	closed := fmt.Errorf("process %d: %w", p.pid, transport.ErrClosed)
	for _, e := range p.pipes {
		if e != nil && e.open {
			p.pipeClosed(e, closed)
		}
	}
}
