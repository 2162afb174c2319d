package netclient

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/protocol"
	"github.com/loomkit/loom/transport"
)

// TransferState is where a transfer is.
type TransferState uint8

const (
	// Requesting: the request is sent, the headers have not come.
	Requesting TransferState = iota
	// Receiving: the body is arriving.
	Receiving
	// Done: the whole body arrived (whatever the status).
	Done
	// TransferFailed: no response came, or the body broke off.
	TransferFailed
	// Cancelled: the user cancelled it.
	Cancelled
)

var transferStates = [...]string{"requesting", "receiving", "done", "failed", "cancelled"}

func (s TransferState) String() string { return transferStates[s] }

// Active reports whether the transfer is still under way.
func (s TransferState) Active() bool { return s == Requesting || s == Receiving }

type transfer struct {
	id      int
	url     string
	name    string
	save    bool
	state   TransferState
	started time.Time
	ended   time.Time
	status  string
	proto   string
	headers []string
	done    int64
	total   int64
	rate    float64
	elapsed time.Duration
	path    string
	err     error
	cancel  func()
}

type fetches struct {
	a         *App
	client    *protocol.Client
	list      []*transfer
	nextID    int
	selected  int
	downloads string
}

func (f *fetches) init(a *App, client *protocol.Client) {
	f.a, f.client, f.nextID = a, client, 1
	f.downloads = a.cfg.Downloads
	if f.downloads == "" {
		f.downloads = os.TempDir()
	}
}

// Fetch starts fetching rawURL and returns the transfer's id. The body
// is saved in the downloads folder if save is true, and otherwise read
// and counted (as curl -o /dev/null does, to see what a server sends and
// how fast). Reactor goroutine.
func (a *App) Fetch(rawURL string, save bool) int {
	f := &a.fetches
	rawURL = strings.TrimSpace(rawURL)
	if rawURL != "" && !strings.Contains(rawURL, "://") {
		rawURL = "http://" + rawURL
	}
	t := &transfer{id: f.nextID, url: rawURL, name: fileName(rawURL), save: save,
		started: a.r.Now(), total: -1}
	f.nextID++
	f.list = append(f.list, t)
	f.selected = t.id
	f.trim()
	p := f.client.Get(a.r, rawURL)
	t.cancel = p.Cancel
	p.OnValue(func(resp *protocol.Response) {
		if t.state != Requesting { // cancelled meanwhile
			resp.Discard()
			return
		}
		t.state = Receiving
		t.status, t.proto = resp.Status, resp.Proto
		t.headers = headerLines(resp.Header)
		t.total = resp.ContentLength
		var body *deferred.Promise[int64]
		if save {
			t.path = f.pathFor(t.name)
			body = resp.SaveTo(t.path)
		} else {
			body = resp.Stream(&discard{})
		}
		t.cancel = body.Cancel
		deferred.On(body, protocol.Download, func(tr protocol.Transfer) {
			t.done, t.total, t.rate, t.elapsed = tr.Done, tr.Total, tr.Rate, tr.Elapsed
			a.changed()
		})
		body.OnValue(func(n int64) {
			t.state, t.done, t.ended = Done, n, a.r.Now()
			if t.total < 0 {
				t.total = n
			}
			a.changed()
		})
		body.OnError(func(err error) { f.ended(t, err) })
		a.changed()
	})
	p.OnError(func(err error) { f.ended(t, err) })
	a.changed()
	return t.id
}

func (f *fetches) ended(t *transfer, err error) {
	if !t.state.Active() {
		return
	}
	t.ended, t.err = f.a.r.Now(), err
	if errors.Is(err, deferred.ErrCancelled) {
		t.state = Cancelled
	} else {
		t.state = TransferFailed
	}
	if t.save && t.state != Done {
		t.path = "" // SaveTo removed what it had written
	}
	f.a.changed()
}

// Cancel stops the transfer id if it is under way. Reactor goroutine.
func (a *App) Cancel(id int) {
	if t := a.fetches.find(id); t != nil && t.state.Active() {
		t.cancel()
		// A promise whose canceller already ran leaves it rejected: this
		// only matters for one that settled in between.
		if t.state.Active() {
			a.fetches.ended(t, deferred.ErrCancelled)
		}
	}
}

// Select makes transfer id the one whose details the view shows.
func (a *App) Select(id int) {
	if a.fetches.find(id) != nil && a.fetches.selected != id {
		a.fetches.selected = id
		a.changed()
	}
}

// ClearFinished forgets the transfers that have ended. Reactor goroutine.
func (a *App) ClearFinished() {
	f := &a.fetches
	f.list = slices.DeleteFunc(f.list, func(t *transfer) bool { return !t.state.Active() })
	if f.find(f.selected) == nil {
		f.selected = 0
		if len(f.list) > 0 {
			f.selected = f.list[len(f.list)-1].id
		}
	}
	a.changed()
}

// Downloads is the folder saved transfers go to.
func (a *App) Downloads() string { return a.fetches.downloads }

func (f *fetches) find(id int) *transfer {
	for _, t := range f.list {
		if t.id == id {
			return t
		}
	}
	return nil
}

// trim keeps at most MaxTransfers, dropping the oldest that have ended.
func (f *fetches) trim() {
	for len(f.list) > f.a.cfg.MaxTransfers {
		i := slices.IndexFunc(f.list, func(t *transfer) bool { return !t.state.Active() })
		if i < 0 {
			return
		}
		f.list = slices.Delete(f.list, i, i+1)
	}
}

func (f *fetches) close() {
	for _, t := range f.list {
		if t.state.Active() {
			t.cancel()
		}
	}
}

// pathFor is a path in the downloads folder for name that neither an
// existing file nor a transfer under way has: "name", "name (2)", ...
func (f *fetches) pathFor(name string) string {
	ext := path.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for i := 1; ; i++ {
		n := name
		if i > 1 {
			n = fmt.Sprintf("%s (%d)%s", stem, i, ext)
		}
		p := filepath.Join(f.downloads, n)
		if _, err := os.Lstat(p); err == nil {
			continue
		}
		if slices.ContainsFunc(f.list, func(t *transfer) bool { return t.path == p }) {
			continue
		}
		return p
	}
}

// fileName is the last element of the URL's path, or index.html.
func fileName(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "download"
	}
	name := path.Base(u.Path)
	if name == "/" || name == "." || name == "" {
		name = "index.html"
	}
	if u.Path != "" && strings.HasPrefix(u.Path, "/status/") {
		name = "status-" + name + ".txt"
	}
	name = strings.Map(func(r rune) rune {
		if r == '/' || r == 0 {
			return '_'
		}
		return r
	}, name)
	if strings.HasPrefix(name, ".") {
		name = "_" + name
	}
	return name
}

func headerLines(h http.Header) []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var lines []string
	for _, k := range keys {
		for _, v := range h[k] {
			lines = append(lines, k+": "+v)
		}
	}
	return lines
}

// discard is the protocol a body is streamed to when it is not saved: it
// takes the bytes and forgets them.
type discard struct{}

func (discard) ConnectionMade(transport.Transport) {}
func (discard) DataReceived([]byte)                {}
func (discard) ConnectionLost(error)               {}
