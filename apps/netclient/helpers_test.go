package netclient_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/loomkit/loom/apps/netclient"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
)

// loop runs a reactor on a goroutine of its own until the test ends; the
// test reaches it with reactortest.OnLoop and Eventually.
func loop(t *testing.T) *reactor.Reactor {
	t.Helper()
	r, err := reactor.New(reactor.WithoutSignalHandlers(), reactor.WithDebug())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Run(context.Background()) }()
	t.Cleanup(func() {
		r.CallFromGoroutine(r.Stop)
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

// newApp makes a core on r with cfg, closed when the test ends.
func newApp(t *testing.T, r *reactor.Reactor, cfg netclient.Config) *netclient.App {
	t.Helper()
	if cfg.Downloads == "" {
		cfg.Downloads = t.TempDir()
	}
	var a *netclient.App
	reactortest.OnLoop(t, r, func() { a = netclient.New(r, cfg) })
	t.Cleanup(func() { reactortest.OnLoop(t, r, a.Close) })
	return a
}

// view reads the app's View on the loop.
func view(t *testing.T, a *netclient.App) netclient.View {
	t.Helper()
	var v netclient.View
	reactortest.OnLoop(t, a.Reactor(), func() { v = a.View() })
	return v
}

// lines reads the lines of the exchange on the loop.
func lines(t *testing.T, a *netclient.App) []netclient.Line {
	t.Helper()
	var ls []netclient.Line
	reactortest.OnLoop(t, a.Reactor(), func() {
		for i := range a.LineCount() {
			ls = append(ls, a.Line(i))
		}
	})
	return ls
}

// waitState waits for the console's state.
func waitState(t *testing.T, a *netclient.App, state netclient.ConnState) {
	t.Helper()
	reactortest.Eventually(t, a.Reactor(), 10*time.Second, "console "+state.String(), func() bool {
		return a.View().Console.State == state.String()
	})
}

// waitLine waits for a line with dir and text in the exchange.
func waitLine(t *testing.T, a *netclient.App, dir netclient.Dir, text string) {
	t.Helper()
	reactortest.Eventually(t, a.Reactor(), 10*time.Second, dir.String()+" line "+strconv.Quote(text), func() bool {
		for i := range a.LineCount() {
			if l := a.Line(i); l.Dir == dir && l.Text == text {
				return true
			}
		}
		return false
	})
}

// transfer finds transfer id in v.
func transfer(v netclient.View, id int) netclient.TransferView {
	for _, tv := range v.Transfers {
		if tv.ID == id {
			return tv
		}
	}
	return netclient.TransferView{}
}

// waitTransfer waits for transfer id to satisfy cond and returns it.
func waitTransfer(t *testing.T, a *netclient.App, id int, what string, cond func(netclient.TransferView) bool) netclient.TransferView {
	t.Helper()
	var tv netclient.TransferView
	reactortest.Eventually(t, a.Reactor(), 30*time.Second, what, func() bool {
		tv = transfer(a.View(), id)
		return cond(tv)
	})
	return tv
}
