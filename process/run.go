package process

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
)

// LineLimit is the longest line a Lines event carries: a longer line
// comes in pieces of LineLimit bytes, each but the last marked Partial.
const LineLimit = 64 << 10

// Line is one line of a command's output, the value of the Lines event.
type Line struct {
	// Stream is Stdout or Stderr.
	Stream Stream
	// Text is the line without its "\n" or "\r\n".
	Text string
	// Partial is set when Text is not followed by a newline: a piece of a
	// line longer than LineLimit, or the last bytes of a stream that did
	// not end with one.
	Partial bool
}

// Lines is the event of Run's promise that carries each line of the
// command's output, stdout's and stderr's, as it arrives; its name is
// "line".
//
//	p := process.Run(r, exec.Command("make"))
//	deferred.On(p, process.Lines, func(l process.Line) { log.Append(l.Text) })
var Lines = deferred.NewEvent[Line]("line")

// Result is what Run's promise resolves with.
type Result struct {
	// Stdout and Stderr are the command's output (their first bytes if
	// WithOutputLimit bounds them).
	Stdout, Stderr []byte
	// State is the command's exit state, never nil.
	State *os.ProcessState
	// Truncated reports that output went past WithOutputLimit and was
	// dropped from Stdout or Stderr.
	Truncated bool
	// HeldOpen reports that stdout or stderr was still held open at the
	// end of the grace period after the exit (by a process the command
	// started) and was closed: what that process wrote afterwards is not
	// here.
	HeldOpen bool
}

// ExitCode returns the command's exit code, or -1 if a signal killed it
// (or there is no State).
func (r Result) ExitCode() int { return r.State.ExitCode() }

// Signal returns the signal that killed the command, or 0 if it exited.
func (r Result) Signal() syscall.Signal {
	if r.State == nil {
		return 0
	}
	if ws, ok := r.State.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ws.Signal()
	}
	return 0
}

// Err returns what exec.Cmd.Output would have: nil for exit status 0,
// otherwise an *exec.ExitError holding the state and Stderr. A Result
// without a State (not one of Run's) gives an error saying so.
func (r Result) Err() error {
	switch {
	case r.State == nil:
		return errors.New("process: Result has no exit state")
	case r.State.Success():
		return nil
	}
	return &exec.ExitError{ProcessState: r.State, Stderr: r.Stderr}
}

// Run starts cmd, as Spawn does, and returns a promise of its output and
// exit state. The promise resolves once the command has ended, whatever
// its exit status (see Result.Err); it is rejected with Spawn's error if
// the command cannot start, and with an error wrapping
// transport.ErrClosed if the reactor is closed before the command exits.
// Each line of output is emitted, as it arrives, under the Lines event.
// Cancelling the promise kills the command (its process group, if it
// leads one) with SIGKILL and rejects the promise with
// deferred.ErrCancelled.
//
// Stdin is /dev/null unless cmd.Stdin is an *os.File or WithInput gives
// the bytes to write; stdout and stderr are collected unless cmd gives
// them files of its own. WithOutputLimit bounds what is kept.
func Run(r *reactor.Reactor, cmd *exec.Cmd, opts ...Option) *deferred.Promise[Result] {
	cfg := newConfig(opts)
	rp := &runProto{limit: cfg.outputLimit, input: cfg.input}
	if cfg.hasInput {
		if cmd != nil && cmd.Stdin != nil {
			return deferred.Rejected[Result](fmt.Errorf("process: Run %s: WithInput and cmd.Stdin both set", cmd.Path))
		}
		rp.feeding = true
	} else {
		opts = append(opts[:len(opts):len(opts)], withoutStdinPipe())
	}
	pr, res := deferred.NewPromise[Result]()
	rp.res = res
	if _, err := Spawn(r, cmd, rp, opts...); err != nil {
		return deferred.Rejected[Result](err)
	}
	res.OnCancel(func() { rp.p.killAll(syscall.SIGKILL) })
	return pr
}

// runProto is Run's protocol.
type runProto struct {
	p        *Process
	res      deferred.Resolver[Result]
	limit    int
	out      [3][]byte // by stream
	lines    [3]lineSplitter
	trunc    bool
	held     bool
	input    []byte
	feeding  bool // input left to write
	inPaused bool
}

func (rp *runProto) ProcessStarted(p *Process) {
	rp.p = p
	rp.feed()
}

// feed writes the input while stdin takes it, then closes stdin.
func (rp *runProto) feed() {
	if !rp.feeding {
		return
	}
	for len(rp.input) > 0 && !rp.inPaused {
		n := min(len(rp.input), 64<<10)
		if err := rp.p.Write(rp.input[:n]); err != nil {
			rp.input = nil // stdin is closed: the child did not want the rest
			break
		}
		rp.input = rp.input[n:]
	}
	if len(rp.input) == 0 {
		rp.feeding = false
		rp.p.CloseStdin()
	}
}

func (rp *runProto) PauseWriting() { rp.inPaused = true }

func (rp *runProto) ResumeWriting() {
	rp.inPaused = false
	rp.feed()
}

func (rp *runProto) DataReceived(s Stream, b []byte) {
	if rp.limit < 0 {
		rp.out[s] = append(rp.out[s], b...)
	} else {
		keep := min(len(b), rp.limit-len(rp.out[s]))
		rp.out[s] = append(rp.out[s], b[:keep]...)
		if keep < len(b) {
			rp.trunc = true
		}
	}
	rp.lines[s].feed(b, func(text []byte, partial bool) {
		deferred.Emit(rp.res, Lines, Line{Stream: s, Text: string(text), Partial: partial})
	})
}

func (rp *runProto) StreamClosed(s Stream, err error) {
	if s == Stdin {
		rp.feeding, rp.input = false, nil
		return
	}
	rp.held = rp.held || isHeld(err)
	if text := rp.lines[s].rest(); text != nil {
		deferred.Emit(rp.res, Lines, Line{Stream: s, Text: string(text), Partial: true})
	}
}

func (rp *runProto) ProcessExited(error) {}

func (rp *runProto) ProcessEnded(err error) {
	st := rp.p.State()
	if st == nil {
		rp.res.Reject(err) // the reactor was closed first, or someone else reaped the child
		return
	}
	rp.res.Resolve(Result{
		Stdout: rp.out[Stdout], Stderr: rp.out[Stderr], State: st,
		Truncated: rp.trunc, HeldOpen: rp.held,
	})
}

// lineSplitter cuts a stream into lines of at most LineLimit bytes.
type lineSplitter struct {
	buf []byte // the start of a line whose end has not arrived
}

// feed calls emit with each line b completes, and keeps the start of the
// next one. emit's text is valid only during the call.
func (ls *lineSplitter) feed(b []byte, emit func(text []byte, partial bool)) {
	for len(b) > 0 {
		if len(ls.buf) == LineLimit {
			// A full piece: the line ends here or goes on.
			if b[0] == '\n' {
				emit(trimCR(ls.buf), false)
				b = b[1:]
			} else {
				emit(ls.buf, true)
			}
			ls.buf = ls.buf[:0]
			continue
		}
		seg := b[:min(len(b), LineLimit-len(ls.buf))]
		i := bytes.IndexByte(seg, '\n')
		if i < 0 {
			ls.buf = append(ls.buf, seg...)
			b = b[len(seg):]
			continue
		}
		line := seg[:i]
		if len(ls.buf) > 0 {
			ls.buf = append(ls.buf, line...)
			line = ls.buf
		}
		emit(trimCR(line), false)
		ls.buf = ls.buf[:0]
		b = b[i+1:]
	}
	if cap(ls.buf) > 4<<10 && len(ls.buf) == 0 {
		ls.buf = nil // a long line's buffer is not kept
	}
}

// rest returns the last, unterminated line, if any, and forgets it.
func (ls *lineSplitter) rest() []byte {
	if len(ls.buf) == 0 {
		return nil
	}
	b := ls.buf
	ls.buf = nil
	return b
}

func trimCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[:n-1]
	}
	return b
}

func isHeld(err error) bool { return errors.Is(err, ErrHeldOpen) }
