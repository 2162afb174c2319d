package netclient

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/loomkit/loom/apps/netclient/servers"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/task"
)

// Options are the command-line settings the front ends share.
type Options struct {
	Connect   string
	TLS       bool
	Insecure  bool
	URL       string
	Downloads string
	StateFile string
	QuitAfter time.Duration
}

// Register defines the options' flags on fs.
func (o *Options) Register(fs *flag.FlagSet) {
	fs.StringVar(&o.Connect, "connect", "", "line server to offer in the console, host:port (default: a local server started for the purpose)")
	fs.BoolVar(&o.TLS, "tls", false, "connect to it over TLS")
	fs.BoolVar(&o.Insecure, "insecure", false, "accept any TLS certificate")
	fs.StringVar(&o.URL, "url", "", "URL to offer to fetch (default: a file of a local HTTP server started for the purpose)")
	fs.StringVar(&o.Downloads, "downloads", "", "folder to save fetched files in (default: netclient-downloads in the temporary folder)")
	fs.StringVar(&o.StateFile, "state-file", "", "write what the window shows, as JSON, to this file as it changes")
	fs.DurationVar(&o.QuitAfter, "quit-after", 0, "quit after this long (0: when the window is closed)")
}

// Session is a core with the local servers it started, if any.
type Session struct {
	*App
	Local *servers.Local
	opts  Options
	state *task.LoopingCall
}

// Start makes the core the options describe: with no -connect or no
// -url it starts the local servers and offers them. Reactor goroutine.
func Start(r *reactor.Reactor, o Options) (*Session, error) {
	s := &Session{opts: o}
	cfg := Config{Addr: o.Connect, TLS: o.TLS, URL: o.URL, Downloads: o.Downloads}
	if o.Connect == "" || o.URL == "" {
		l, err := servers.Start(r)
		if err != nil {
			return nil, fmt.Errorf("starting the local servers: %w", err)
		}
		s.Local = l
		cfg.TLSConfig = l.ClientConfig()
		cfg.URLs = l.URLs()
		if cfg.Addr == "" {
			cfg.Addr = l.Line.Addr()
			if o.TLS {
				cfg.Addr = l.LineTLS.Addr()
			}
		}
		if cfg.URL == "" {
			cfg.URL = cfg.URLs[0]
		}
	}
	if o.Insecure {
		if cfg.TLSConfig == nil {
			cfg.TLSConfig = &tls.Config{}
		}
		cfg.TLSConfig.InsecureSkipVerify = true
	}
	if cfg.Downloads == "" {
		cfg.Downloads = filepath.Join(os.TempDir(), "netclient-downloads")
	}
	if err := os.MkdirAll(cfg.Downloads, 0o755); err != nil {
		s.closeLocal()
		return nil, err
	}
	s.App = New(r, cfg)
	if l := s.Local; l != nil {
		s.console.add(Note, fmt.Sprintf("local line server on %s, over TLS on %s; HTTP on %s and %s",
			l.Line.Addr(), l.LineTLS.Addr(), l.HTTP.URL, l.HTTP.TLSURL))
	}
	if o.QuitAfter > 0 {
		r.CallLater(o.QuitAfter, r.Stop)
	}
	return s, nil
}

// Close closes the core and the local servers. Reactor goroutine.
func (s *Session) Close() {
	if s.state != nil && s.state.Running() {
		s.state.Stop()
	}
	s.App.Close()
	s.closeLocal()
}

func (s *Session) closeLocal() {
	if s.Local != nil {
		s.Local.Close()
	}
}

// Rect is a widget's place in its window, in the window's pixels.
type Rect struct{ X, Y, W, H int }

// Center is the middle of r.
func (r Rect) Center() (x, y int) { return r.X + r.W/2, r.Y + r.H/2 }

// Layout names the places of a front end's widgets: what a script that
// drives the window clicks and what it looks for in a screenshot.
type Layout map[string]Rect

// State is what the state file holds: the View, the last lines of the
// exchange, where the widgets are, and the colours a front end paints
// them with ("bar", "done", "stopped", "sent", "received",
// "badge.connected", ... as "#rrggbb").
type State struct {
	Toolkit string `json:"toolkit"`
	Window  string `json:"window"`
	View
	Lines  []StateLine       `json:"lines"`
	Layout Layout            `json:"layout"`
	Colors map[string]string `json:"colors"`
}

// StateLine is a line of the exchange in the state file.
type StateLine struct {
	Seq  uint64 `json:"seq"`
	Dir  string `json:"dir"`
	Text string `json:"text"`
}

// StateLines is how many of the last lines the state file holds.
const StateLines = 100

// State returns the state the state file holds, with layout and colors
// as the front end gives them.
func (a *App) State(toolkit, window string, layout Layout, colors map[string]string) State {
	st := State{Toolkit: toolkit, Window: window, View: a.View(), Layout: layout, Colors: colors}
	for i := max(0, a.LineCount()-StateLines); i < a.LineCount(); i++ {
		l := a.Line(i)
		st.Lines = append(st.Lines, StateLine{Seq: l.Seq, Dir: l.Dir.String(), Text: l.Text})
	}
	return st
}

// WatchState writes the state to the -state-file, if one was given,
// every 100 ms when it has changed, so that a script can wait for what
// the window shows. state is called on the reactor goroutine. Reactor
// goroutine.
func (s *Session) WatchState(state func() State) {
	if s.opts.StateFile == "" {
		return
	}
	var last []byte
	s.state = task.NewLoopingCall(s.r, func() any {
		b, err := json.MarshalIndent(state(), "", "  ")
		if err != nil || bytes.Equal(b, last) {
			return nil
		}
		if err := WriteFileAtomic(s.opts.StateFile, b); err != nil {
			fmt.Fprintln(os.Stderr, "netclient: state file:", err)
			return nil
		}
		last = b
		return nil
	})
	// The loop ends with the reactor: that is no error to report.
	s.state.Start(100*time.Millisecond, true).AddErrback(func(error) any { return nil })
}

// WriteFileAtomic writes b to path through a temporary file renamed over
// it, so that a reader never sees half of it.
func WriteFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
