package gtkloop

import "time"

// Defaults of the options, chosen by measurement (see the package doc's
// implementation notes).
const (
	// DefaultPriority is the GSource priority: one after
	// GDK_PRIORITY_REDRAW (120), the priority GTK paints at. Input (G_PRIORITY_DEFAULT, 0) and
	// layout (GTK_PRIORITY_RESIZE, 110) come first; a reactor that is
	// always ready shares the loop with painting instead of starving it.
	DefaultPriority = 121
	// DefaultPasses is how many reactor passes one dispatch may run.
	DefaultPasses = 64
	// DefaultBudget is how long one dispatch may run passes for.
	DefaultBudget = time.Millisecond
)

// An Option configures Attach and Run.
type Option func(*config)

type config struct {
	priority int
	passes   int
	budget   time.Duration
	onStop   func()

	handleSignals bool // Attach: SIGINT/SIGTERM stop the reactor
	keepSignals   bool // Run: leave the reactor's setting alone
}

func newConfig(opts []Option) config {
	c := config{priority: DefaultPriority, passes: DefaultPasses, budget: DefaultBudget}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithPriority sets the GSource's priority (GLib's: lower is more urgent;
// G_PRIORITY_DEFAULT is 0, GDK_PRIORITY_REDRAW 120, G_PRIORITY_DEFAULT_IDLE
// 200). A priority more urgent than 120 lets a saturated reactor starve
// GTK's painting: the window stops redrawing until the flood ends.
func WithPriority(p int) Option {
	return func(c *config) { c.priority = p }
}

// WithBudget bounds one dispatch of the source: at most passes reactor
// passes (RunOnce(0)), and no new pass once d has gone. Values below 1
// (passes) or 0 (d) are raised to them: one pass per dispatch.
func WithBudget(passes int, d time.Duration) Option {
	return func(c *config) {
		c.passes = max(passes, 1)
		c.budget = max(d, 0)
	}
}

// OnStop sets how a program whose loop is not gtk.Main is ended when the
// reactor stops: f is called once, on the GTK thread, when the reactor
// has stopped and no gtk.Main is left to quit (Attach quits every
// gtk.Main it runs in first, innermost first). Without it, Attach quits
// the process's default GApplication, if there is one: a program that
// runs g_application_run (gtk.Application's Run) needs nothing more. The
// default is the first GApplication created, or the one made default
// with SetDefault; a program with several passes OnStop(app.Quit). Run
// ignores OnStop: it quits its own gtk.Main.
func OnStop(f func()) Option {
	return func(c *config) { c.onStop = f }
}

// HandleSignals makes SIGINT and SIGTERM stop an attached reactor, which
// ends the program's loops as r.Stop does (see Attach), instead of
// leaving them to the host program. Run has it always, unless the
// reactor was made reactor.WithoutSignalHandlers.
func HandleSignals() Option {
	return func(c *config) { c.handleSignals = true }
}
