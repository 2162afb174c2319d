// Package netclient is the toolkit-free core of loom's network console:
// a line console that connects to a TCP server (plaintext or TLS), sends
// lines and shows the exchange with the two directions told apart, and
// an HTTP client that fetches URLs, several at once, each with its
// progress, rate, time left, Cancel, status and headers, saved to a file.
//
// The core holds the state and the commands; a front end (netclient/gtk,
// netclient/fyne) draws what View and Line return and calls the commands
// from its widgets. Every method is for the reactor goroutine, which is
// the GUI thread under gtkloop and fyneloop: callbacks of sockets and
// transfers change the state directly, with no lock.
//
// The front ends draw at most once per frame: each change bumps Version
// and calls the function given to OnChange, which schedules one redraw
// for the next frame; the redraw reads View once, however many changes
// came in between.
package netclient

import (
	"crypto/tls"
	"net/http"
	"time"

	"github.com/loomkit/loom/protocol"
	"github.com/loomkit/loom/reactor"
)

// Config is what a core starts with.
type Config struct {
	// Addr is the line server the console offers to connect to, and TLS
	// whether to use TLS there.
	Addr string
	TLS  bool
	// TLSConfig configures TLS connections of the console and of the
	// HTTP client (the roots it trusts); nil is the system's defaults.
	TLSConfig *tls.Config
	// URL is the URL offered to fetch; URLs, other suggestions.
	URL  string
	URLs []string
	// Downloads is the folder transfers are saved in.
	Downloads string
	// DialTimeout bounds a connection attempt, TLS handshake included;
	// 0 is 10 seconds.
	DialTimeout time.Duration
	// MaxLines is the most lines of the exchange kept; the oldest go
	// first. 0 is DefaultMaxLines.
	MaxLines int
	// MaxTransfers is the most transfers listed; the oldest finished
	// ones go first. 0 is DefaultMaxTransfers.
	MaxTransfers int
	// HTTP makes the requests; nil is a client with TLSConfig.
	HTTP *http.Client
}

// Defaults of Config.
const (
	DefaultMaxLines     = 10000
	DefaultMaxTransfers = 50
	DefaultDialTimeout  = 10 * time.Second
)

// App is the core's state: the console and the transfers.
type App struct {
	r        *reactor.Reactor
	cfg      Config
	version  uint64
	onChange func()
	closed   bool
	idle     func() // closes the idle connections of the client New made

	console
	fetches
}

// New makes a core on r. Reactor goroutine.
func New(r *reactor.Reactor, cfg Config) *App {
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.MaxLines <= 0 {
		cfg.MaxLines = DefaultMaxLines
	}
	if cfg.MaxTransfers <= 0 {
		cfg.MaxTransfers = DefaultMaxTransfers
	}
	a := &App{r: r, cfg: cfg}
	a.console.init(a)
	hc := cfg.HTTP
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = cfg.TLSConfig
		hc = &http.Client{Transport: tr}
		a.idle = tr.CloseIdleConnections
	}
	a.fetches.init(a, &protocol.Client{HTTP: hc, MaxBodySize: -1})
	return a
}

// Reactor is the reactor the core runs on.
func (a *App) Reactor() *reactor.Reactor { return a.r }

// Version counts the changes to what the view shows: a front end whose
// last drawing was of this version has nothing to draw.
func (a *App) Version() uint64 { return a.version }

// OnChange sets f to be called after each change (f may be called many
// times between two frames: it should only schedule a redraw). Reactor
// goroutine.
func (a *App) OnChange(f func()) { a.onChange = f }

func (a *App) changed() {
	a.version++
	if a.onChange != nil && !a.closed {
		a.onChange()
	}
}

// Close ends the connection and cancels the transfers still running.
// Reactor goroutine.
func (a *App) Close() {
	if a.closed {
		return
	}
	a.closed = true
	a.console.close()
	a.fetches.close()
	if a.idle != nil {
		a.idle()
	}
}
