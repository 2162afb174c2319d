package transport

import (
	"log/slog"
	"time"
)

// Option configures a listener, a dial or the connections they make.
type Option func(*config)

type config struct {
	high, low, cap int
	noDelay        bool
	timeout        time.Duration
	fallback       time.Duration
	backlog        int
	logger         *slog.Logger
	closeNotify    time.Duration
	linger         time.Duration
}

// Defaults for the options.
const (
	DefaultDialTimeout   = 30 * time.Second
	DefaultFallbackDelay = 250 * time.Millisecond
	DefaultBacklog       = 511
	DefaultLingerTimeout = 2 * time.Second
)

func newConfig(opts []Option) config {
	c := config{
		high: DefaultHighWater, low: DefaultLowWater, cap: DefaultWriteCap,
		noDelay: true, timeout: DefaultDialTimeout, fallback: DefaultFallbackDelay,
		backlog: DefaultBacklog, closeNotify: CloseNotifyTimeout,
		linger: DefaultLingerTimeout,
	}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	c.high, c.low, c.cap, _ = limits(c.high, c.low, c.cap, DefaultHighWater, DefaultLowWater, DefaultWriteCap)
	if c.logger == nil {
		c.logger = slog.Default()
	}
	return c
}

// WithWriteLimits sets the write buffer's high and low water marks and its
// hard cap for each connection (see the package doc); 0 keeps a default.
// Limits that are not low <= high <= cap are replaced by the defaults.
func WithWriteLimits(high, low, cap int) Option {
	return func(c *config) { c.high, c.low, c.cap = high, low, cap }
}

// WithNoDelay sets TCP_NODELAY on TCP connections (on by default, as in
// package net).
func WithNoDelay(on bool) Option { return func(c *config) { c.noDelay = on } }

// WithTimeout bounds how long a dial may take, resolving the name
// included (default 30 s); 0 or less means no limit.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithFallbackDelay sets how long a dial waits on one address before also
// trying the next (Happy Eyeballs, RFC 8305; default 250 ms).
func WithFallbackDelay(d time.Duration) Option {
	return func(c *config) { c.fallback = d }
}

// WithBacklog sets a listener's accept queue length (default 511, capped
// by the kernel's somaxconn).
func WithBacklog(n int) Option { return func(c *config) { c.backlog = n } }

// WithLogger sets where a listener reports the connections it had to
// refuse (out of descriptors); the default is slog.Default.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// limits fills zero limits from the defaults given and checks the result.
func limits(high, low, cap, dh, dl, dc int) (int, int, int, bool) {
	if high <= 0 {
		high = dh
	}
	if low <= 0 {
		low = min(dl, high)
	}
	if cap <= 0 {
		cap = max(dc, high)
	}
	if low > high || high > cap {
		return DefaultHighWater, DefaultLowWater, DefaultWriteCap, false
	}
	return high, low, cap, true
}

// WithCloseNotifyTimeout sets how long LoseConnection on a TLS transport
// waits for the peer's close_notify before it closes anyway (default
// CloseNotifyTimeout).
func WithCloseNotifyTimeout(d time.Duration) Option {
	return func(c *config) { c.closeNotify = d }
}

// WithLingerTimeout sets how long a connection closed by LoseConnection
// waits, once its bytes are flushed and its end of file sent, for the
// peer's end of file before it closes anyway (default 2 s; 0 or less: no
// limit). Waiting keeps close from resetting a connection whose last
// bytes are still in flight; a peer that never closes its side is
// closed on, and may then see a reset.
func WithLingerTimeout(d time.Duration) Option { return func(c *config) { c.linger = d } }
