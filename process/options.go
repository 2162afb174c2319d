package process

import (
	"syscall"
	"time"
)

// DefaultGracePeriod is how long ProcessEnded waits, after the exit, for
// pipes that the child's own children still hold open, unless
// WithGracePeriod says otherwise.
const DefaultGracePeriod = 2 * time.Second

// closeWait bounds how long a Close waits for a child it killed with
// SIGKILL to exit (one stuck in the kernel, say on a dead network file
// system, takes longer: a goroutine then reaps it).
const closeWait = time.Second

// Option configures Spawn and Run.
type Option func(*config)

type config struct {
	grace       time.Duration
	group       bool
	killOnStop  bool
	stopSignal  syscall.Signal
	outputLimit int // Run: bytes kept of each stream, < 0 for all
	input       []byte
	hasInput    bool
	noStdin     bool // leave a nil cmd.Stdin to os/exec (/dev/null)
	waitGo      bool // watch the exit with a goroutine in Wait only
}

func newConfig(opts []Option) config {
	c := config{grace: DefaultGracePeriod, outputLimit: -1}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.grace <= 0 {
		c.grace = DefaultGracePeriod
	}
	return c
}

// WithGracePeriod sets how long, after the child's exit, ProcessEnded
// waits for pipes still held open by the child's own children before it
// closes them (see the package doc, Exit and end); d <= 0 restores
// DefaultGracePeriod.
func WithGracePeriod(d time.Duration) Option { return func(c *config) { c.grace = d } }

// WithProcessGroup starts the child in a process group of its own
// (SysProcAttr.Setpgid), which it leads, so that KillGroup reaches it and
// every process it starts that stays in the group. A SysProcAttr that
// already asks for Setsid or for Setpgid with Pgid 0 has the same effect.
func WithProcessGroup() Option { return func(c *config) { c.group = true } }

// WithKillOnStop ties the child's life to the reactor's. When the reactor
// stops (its Shutdown event, Before phase), a child that has not exited
// gets sig, its process group too if it leads one, and the stop is held
// until the child has ended (for at most the reactor's shutdown timeout).
// When the reactor is closed, a child that is still running gets
// SIGKILL, and Close waits a moment for it to exit and reaps it, so that
// ProcessExited reports the kill before ProcessEnded.
func WithKillOnStop(sig syscall.Signal) Option {
	return func(c *config) { c.killOnStop, c.stopSignal = true, sig }
}

// WithOutputLimit bounds how much of each of stdout and stderr Run keeps
// in its Result: the first n bytes of each; the rest is dropped (and
// Result.Truncated set), though its lines are still emitted. n < 0, the
// default, keeps everything; 0 keeps nothing, for a caller that only
// listens to the lines. Spawn ignores it.
func WithOutputLimit(n int) Option { return func(c *config) { c.outputLimit = n } }

// WithInput gives Run the bytes to write to the command's stdin, which is
// closed once they are written (under flow control, so a large input is
// never buffered whole). Run keeps b until then: do not change it
// meanwhile. Without it, and with a nil cmd.Stdin, the command reads
// /dev/null. Spawn ignores it.
func WithInput(b []byte) Option { return func(c *config) { c.input, c.hasInput = b, true } }

// withoutStdinPipe leaves a nil cmd.Stdin to os/exec, which opens
// /dev/null.
func withoutStdinPipe() Option { return func(c *config) { c.noStdin = true } }

// withGoroutineWait watches the exit with a goroutine in cmd.Wait, the
// fallback, even where the OS offers better.
func withGoroutineWait() Option { return func(c *config) { c.waitGo = true } }
