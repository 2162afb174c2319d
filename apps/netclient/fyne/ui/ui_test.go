package ui_test

import (
	"flag"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/loomkit/loom/apps/netclient"
	"github.com/loomkit/loom/apps/netclient/fyne/ui"
	"github.com/loomkit/loom/apps/netclient/servers"
	fyneloop "github.com/loomkit/loom/guiloop/fyne"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
)

var update = flag.Bool("update", false, "write the markup goldens in testdata from what renders")

// fixture is the view under Fyne's test driver, on a reactor whose clock
// is fake (the exchange's times and the transfers' durations are the
// same at every run, and a redraw happens when the test moves the clock
// a frame on), driven by a fyneloop pump (under the test driver it runs
// each pass on a goroutine of its own, the reactor goroutine, where
// everything below that touches the view runs).
type fixture struct {
	t    *testing.T
	r    *reactor.Reactor
	clk  *reactortest.Clock
	a    *netclient.App
	u    *ui.UI
	w    fyne.Window
	line string // the line server
	web  string // the HTTP server
	dl   string // the downloads folder
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, clk: reactortest.NewClock(time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC))}
	app := test.NewTempApp(t)
	app.Settings().SetTheme(ui.Light{Theme: theme.DefaultTheme()})
	var err error
	f.r, err = reactor.New(reactor.WithClock(f.clk), reactor.WithoutSignalHandlers())
	if err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(servers.Handler())
	t.Cleanup(web.Close)
	f.web = web.URL
	ls, err := servers.ListenLine(f.r, "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	f.line = ls.Addr()
	// A folder whose name has the same length at every run: the
	// markup holds the width of the label that names it.
	f.dl = filepath.Join(os.TempDir(), fmt.Sprintf("netclient-ui-%07d-%s", os.Getpid(), t.Name()))
	if err := os.MkdirAll(f.dl, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(f.dl) })
	f.a = netclient.New(f.r, netclient.Config{
		Addr: f.line, URL: f.web + "/big.bin", URLs: []string{f.web + "/big.bin", f.web + "/stream.txt"},
		Downloads: f.dl,
	})
	f.u = ui.New(f.a)
	f.w = test.NewTempWindow(t, f.u.Content)
	f.w.Resize(fyne.NewSize(980, 760))
	p, err := fyneloop.Start(app, f.r, fyneloop.OnStop(nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		reactortest.OnLoop(t, f.r, func() { f.a.Close(); ls.Close() })
		p.Stop()
		f.r.Close()
	})
	return f
}

// on runs fn on the reactor goroutine.
func (f *fixture) on(fn func()) { reactortest.OnLoop(f.t, f.r, fn) }

// until waits for cond on the reactor goroutine.
func (f *fixture) until(what string, cond func() bool) {
	f.t.Helper()
	reactortest.Eventually(f.t, f.r, 20*time.Second, what, cond)
}

// frame moves the clock on by a frame: the redraw asked for runs.
func (f *fixture) frame() {
	f.clk.Advance(ui.Frame)
	f.on(func() {})
}

// assertMarkup compares the window's markup, with what changes from run
// to run (ports, the downloads folder, Date headers) written the same
// way, with testdata/name.xml; -update writes the file instead.
func (f *fixture) assertMarkup(name string) {
	f.t.Helper()
	var got string
	f.on(func() { got = test.RenderToMarkup(f.w.Canvas()) })
	got = regexp.MustCompile(`127\.0\.0\.1:\d+`).ReplaceAllString(got, "127.0.0.1:PORT")
	got = strings.ReplaceAll(got, f.dl, "DOWNLOADS")
	got = regexp.MustCompile(`Date: [^\n<]* GMT`).ReplaceAllString(got, "Date: DATE")
	path := filepath.Join("testdata", name)
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			f.t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		f.t.Fatalf("%v (go test -update writes it)", err)
	}
	if got != string(want) {
		failed := filepath.Join("testdata", "failed", name)
		os.MkdirAll(filepath.Dir(failed), 0o755)
		os.WriteFile(failed, []byte(got), 0o644)
		f.t.Errorf("the window's markup differs from %s at line %d; it is in %s", path, firstDiff(got, string(want)), failed)
	}
}

func firstDiff(a, b string) int {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return i + 1
		}
	}
	return min(len(al), len(bl)) + 1
}

// The window before anything is done, connected with a line each way,
// and after a refused connection.
func TestConsoleMarkup(t *testing.T) {
	f := newFixture(t)
	f.assertMarkup("start.xml")

	f.on(func() { test.Tap(f.u.Connect) })
	f.until("the greeting", func() bool { n := f.a.LineCount(); return n > 0 && f.a.Line(n-1).Text == servers.Greeting })
	f.on(func() {
		test.Type(f.u.Line, "UPPER hello loom")
		f.u.Line.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	})
	f.until("the answer", func() bool { n := f.a.LineCount(); return n > 0 && f.a.Line(n-1).Text == "HELLO LOOM" })
	f.frame()
	f.on(func() {
		if f.u.Line.Text != "" {
			t.Errorf("the line entry holds %q after Return", f.u.Line.Text)
		}
	})
	f.assertMarkup("connected.xml")

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	f.on(func() {
		f.u.Addr.SetText(closed)
		test.Tap(f.u.Connect)
	})
	f.until("refused", func() bool { return f.a.View().Console.State == "failed" })
	f.frame()
	f.assertMarkup("refused.xml")
}

// Transfers that have ended, each its own way: a file saved, a 404, a
// cancelled request and a refused one.
func TestTransfersMarkup(t *testing.T) {
	f := newFixture(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	silent := "http://" + l.Addr().String() + "/silent"
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	refused, _ := net.Listen("tcp", "127.0.0.1:0")
	refusedURL := "http://" + refused.Addr().String() + "/"
	refused.Close()

	fetch := func(url string) int {
		var id int
		f.on(func() {
			f.u.URL.SetText(url)
			test.Tap(f.u.Fetch)
			id = f.a.View().Transfers[len(f.a.View().Transfers)-1].ID
		})
		return id
	}
	ended := func(id int) func() bool {
		return func() bool {
			for _, tv := range f.a.View().Transfers {
				if tv.ID == id {
					return !tv.Active
				}
			}
			return false
		}
	}
	f.until("saved", ended(fetch(f.web+"/big.bin?size=64k&rate=0")))
	f.until("404", ended(fetch(f.web+"/status/404")))
	waiting := fetch(silent)
	f.until("refused", ended(fetch(refusedURL)))
	f.frame()
	f.on(func() {
		// The third row's Cancel, as a person would press it.
		if v := f.a.View(); v.Transfers[2].ID != waiting || v.Transfers[2].State != "requesting" {
			t.Errorf("third transfer %+v", v.Transfers[2])
		}
		f.a.Cancel(waiting)
		f.a.Select(1)
	})
	f.frame()
	f.assertMarkup("transfers.xml")
}

// However many changes come between two frames, the view is drawn once.
func TestOneRedrawAFrame(t *testing.T) {
	f := newFixture(t)
	f.on(func() { test.Tap(f.u.Connect) })
	f.until("connected", func() bool { return f.a.View().Console.State == "connected" })
	f.frame()
	var renders int
	var version uint64
	f.on(func() {
		renders, version = f.u.Renders(), f.a.Version()
		f.a.Send("COUNT 2000")
	})
	f.until("2000 lines", func() bool { return f.a.LineCount() > 0 && f.a.Line(f.a.LineCount()-1).Text == "2000" })
	f.on(func() {
		if n := f.u.Renders(); n != renders {
			t.Errorf("%d redraws before the frame", n-renders)
		}
		if d := f.a.Version() - version; d < 2000 {
			t.Errorf("only %d changes", d)
		}
	})
	f.frame()
	f.on(func() {
		if n := f.u.Renders(); n != renders+1 {
			t.Errorf("%d redraws in a frame", n-renders)
		}
		if n := f.u.Exchange.Length(); n != f.a.LineCount() {
			t.Errorf("the list has %d rows, the core %d lines", n, f.a.LineCount())
		}
		if c := f.u.Counts.Text; c != "1 line sent · 2001 lines received" {
			t.Errorf("counts %q", c)
		}
	})
}

// Disconnect, Reconnect and Send follow the connection's state.
func TestButtonsFollowTheState(t *testing.T) {
	f := newFixture(t)
	check := func(when string, disconnect, reconnect, send bool) {
		t.Helper()
		f.on(func() {
			got := fmt.Sprint(!f.u.Disconnect.Disabled(), !f.u.Recon.Disabled(), !f.u.Send.Disabled())
			if want := fmt.Sprint(disconnect, reconnect, send); got != want {
				t.Errorf("%s: Disconnect, Reconnect, Send enabled %s, want %s", when, got, want)
			}
		})
	}
	check("at the start", false, true, false)
	f.on(func() { test.Tap(f.u.Connect) })
	f.until("connected", func() bool { return f.a.View().Console.State == "connected" })
	f.frame()
	check("connected", true, false, true)
	f.on(func() { test.Tap(f.u.Disconnect) })
	f.until("disconnected", func() bool { return f.a.View().Console.State == "disconnected" })
	f.frame()
	check("disconnected", false, true, false)
	f.on(func() { test.Tap(f.u.Recon) })
	f.until("connected again", func() bool { return f.a.View().Console.State == "connected" })
	f.frame()
	check("reconnected", true, false, true)
	f.on(func() {
		if f.u.Status.Text != "connected to "+f.line {
			t.Errorf("status %q", f.u.Status.Text)
		}
	})
}
