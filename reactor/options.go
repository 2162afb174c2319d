package reactor

import (
	"log/slog"
	"time"
)

// An Option configures New.
type Option func(*options)

type options struct {
	backend string
	clock   Clock
	logger  *slog.Logger
	signals bool
	workers int
	grace   time.Duration
	debug   bool
	slow    time.Duration
	slowSet bool
	timing  bool
}

// WithBackend picks the readiness backend by name: one of Backends().
// The default is the best the OS has: epoll on Linux, kqueue on macOS and
// the BSDs; "poll" is the portable fallback. Without WithBackend, the
// environment variable LOOM_BACKEND names the default, so a whole program
// or test run can be moved to another backend.
func WithBackend(name string) Option { return func(o *options) { o.backend = name } }

// WithClock reads time from c instead of the system clock (tests pass a
// reactortest.Clock).
func WithClock(c Clock) Option { return func(o *options) { o.clock = c } }

// WithLogger sets where the reactor reports what it cannot return as an
// error, such as a panic recovered from a callback. The default is
// slog.Default().
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithoutSignalHandlers leaves SIGINT and SIGTERM alone. By default the
// reactor's first pass arranges for them to Stop it cleanly.
func WithoutSignalHandlers() Option { return func(o *options) { o.signals = false } }

// WithWorkers bounds how many goroutines DeferToGoroutine runs at once
// (n < 1 means 1). The default is DefaultWorkers.
func WithWorkers(n int) Option { return func(o *options) { o.workers = max(n, 1) } }

// DefaultShutdownTimeout bounds how long the Shutdown triggers may hold a
// stop unless WithShutdownTimeout says otherwise.
const DefaultShutdownTimeout = 5 * time.Second

// WithShutdownTimeout bounds how long the Before triggers of the Shutdown
// event may hold a stop (see Stop): after d on the reactor's clock, the
// reactor logs the triggers' failure to finish and stops anyway. d <= 0
// waits for them however long they take. The default is
// DefaultShutdownTimeout.
func WithShutdownTimeout(d time.Duration) Option { return func(o *options) { o.grace = d } }
