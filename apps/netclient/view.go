package netclient

import "strconv"

// View is what a front end shows, as of one Version: texts in words,
// ready to put in labels, and what each control may do. It is a copy:
// the core's state goes on changing after it is made. The lines of the
// exchange are not in it (there may be thousands): a view reads them with
// LineCount and Line, or by Seq from FirstSeq.
type View struct {
	Version   uint64         `json:"version"`
	Console   ConsoleView    `json:"console"`
	Transfers []TransferView `json:"transfers"`
	// Selected is the id of the transfer whose details are shown (0:
	// none), and Details those details: status line, headers, file.
	Selected  int      `json:"selected"`
	Details   []string `json:"details"`
	Running   int      `json:"running"`
	URL       string   `json:"url"`
	URLs      []string `json:"urls"`
	Downloads string   `json:"downloads"`
}

// ConsoleView is the line console's part of the View.
type ConsoleView struct {
	Addr  string `json:"addr"`
	TLS   bool   `json:"tls"`
	State string `json:"state"` // ConnState's name
	// Status says the state in words: "connected to 127.0.0.1:7000
	// over TLS 1.3", "could not connect: refused: nothing is listening
	// there".
	Status        string `json:"status"`
	CanConnect    bool   `json:"can_connect"`
	CanDisconnect bool   `json:"can_disconnect"`
	CanReconnect  bool   `json:"can_reconnect"`
	CanSend       bool   `json:"can_send"`
	Sent          int    `json:"sent"`
	Received      int    `json:"received"`
	Lines         int    `json:"lines"`
	// Counts is Sent and Received in words.
	Counts string `json:"counts"`
}

// TransferView is one row of the transfer list.
type TransferView struct {
	ID    int    `json:"id"`
	URL   string `json:"url"`
	Name  string `json:"name"`
	State string `json:"state"` // TransferState's name
	// Known is whether the size is known: a determinate bar at Fraction
	// if so, a pulsing one otherwise.
	Known    bool    `json:"known"`
	Fraction float64 `json:"fraction"`
	Done     int64   `json:"done"`
	Total    int64   `json:"total"`
	// Progress, Rate and Left are the bytes, the speed and the time
	// left in words; Summary is the row's line (those three while it
	// runs, the outcome once it has ended).
	Progress  string `json:"progress"`
	Rate      string `json:"rate"`
	Left      string `json:"left"`
	Summary   string `json:"summary"`
	Status    string `json:"status"` // "200 OK"
	Error     string `json:"error"`
	Path      string `json:"path"`
	Active    bool   `json:"active"`
	CanCancel bool   `json:"can_cancel"`
}

// View returns what the view shows now. Reactor goroutine.
func (a *App) View() View {
	c := &a.console
	v := View{
		Version: a.version,
		Console: ConsoleView{
			Addr: c.addr, TLS: c.tls, State: c.state.String(), Status: c.status(),
			CanConnect:    true,
			CanDisconnect: c.state == Connecting || c.state == Connected,
			CanReconnect:  c.addr != "" && c.state != Connecting && c.state != Connected,
			CanSend:       c.state == Connected,
			Sent:          c.sentN, Received: c.receivedN, Lines: c.n,
			Counts: plural(c.sentN, "line", "lines") + " sent · " + plural(c.receivedN, "line", "lines") + " received",
		},
		Selected:  a.fetches.selected,
		URL:       a.cfg.URL,
		URLs:      a.cfg.URLs,
		Downloads: a.fetches.downloads,
	}
	for _, t := range a.fetches.list {
		tv := t.view(a)
		if tv.Active {
			v.Running++
		}
		v.Transfers = append(v.Transfers, tv)
		if t.id == v.Selected {
			v.Details = t.details(a)
		}
	}
	return v
}

func (c *console) status() string {
	switch c.state {
	case Connecting:
		return "connecting to " + c.where() + "…"
	case Connected:
		s := "connected to " + c.addr
		if c.tlsVersion != "" {
			s += " over " + c.tlsVersion
		}
		return s
	case Closed:
		return "closed by the server"
	case Failed:
		return Describe(c.err)
	}
	return "not connected"
}

func (t *transfer) view(a *App) TransferView {
	v := TransferView{
		ID: t.id, URL: t.url, Name: t.name, State: t.state.String(),
		Known: t.total >= 0, Done: t.done, Total: t.total,
		Status: t.status, Path: t.path, Active: t.state.Active(), CanCancel: t.state.Active(),
		Error: Describe(t.err),
	}
	if v.Known {
		v.Fraction = 1
		if t.total > 0 {
			v.Fraction = min(float64(t.done)/float64(t.total), 1)
		}
		v.Progress = Bytes(t.done) + " of " + Bytes(t.total)
	} else {
		v.Progress = Bytes(t.done)
	}
	if t.state == Receiving {
		v.Rate = Rate(t.rate)
		if v.Known {
			v.Left = Left(t.total-t.done, t.rate)
		}
	}
	switch t.state {
	case Requesting:
		v.Summary = "waiting for the response…"
	case Receiving:
		v.Summary = join(v.Progress, v.Rate, v.Left)
	case Done:
		took := t.ended.Sub(t.started)
		v.Summary = join(t.status, Bytes(t.done)+" in "+Duration(took))
		if t.save {
			v.Summary += " · saved"
		}
	case TransferFailed:
		v.Summary = join(t.status, "failed: "+v.Error)
	case Cancelled:
		if t.done > 0 {
			v.Summary = "cancelled after " + v.Progress
		} else {
			v.Summary = "cancelled"
		}
	}
	return v
}

func (t *transfer) details(a *App) []string {
	d := []string{t.url}
	if t.status != "" {
		d = append(d, t.proto+" "+t.status)
	} else if t.state.Active() {
		d = append(d, "waiting for the response…")
	}
	d = append(d, t.headers...)
	switch {
	case t.path != "" && t.state == Done:
		d = append(d, "saved to "+t.path)
	case t.path != "" && t.state.Active():
		d = append(d, "saving to "+t.path)
	case !t.save && t.state == Done:
		d = append(d, "read and discarded (not saved)")
	}
	if t.err != nil {
		d = append(d, "error: "+t.err.Error())
	}
	return d
}

func join(parts ...string) string {
	s := ""
	for _, p := range parts {
		if p == "" {
			continue
		}
		if s != "" {
			s += " · "
		}
		s += p
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
