package netclient_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loomkit/loom/apps/netclient"
	"github.com/loomkit/loom/apps/netclient/servers"
	"github.com/loomkit/loom/reactor/reactortest"
)

// With no address, Start starts the local servers and offers them; the
// console talks to the line server over plaintext and TLS, a fetch gets
// the HTTPS server's file, and the state file follows what is shown.
func TestStartWithTheLocalServers(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := loop(t)
	dir := t.TempDir()
	stateFile := filepath.Join(dir, "state.json")
	var s *netclient.Session
	var err error
	reactortest.OnLoop(t, r, func() {
		s, err = netclient.Start(r, netclient.Options{Downloads: filepath.Join(dir, "dl"), StateFile: stateFile})
		if err == nil {
			s.WatchState(func() netclient.State {
				return s.State("test", "netclient", netclient.Layout{"connect": {X: 1, Y: 2, W: 3, H: 4}}, map[string]string{"bar": "#3584e4"})
			})
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reactortest.OnLoop(t, r, s.Close) })
	a := s.App
	v := view(t, a)
	if v.Console.Addr != s.Local.Line.Addr() || v.URL != s.Local.HTTP.URL+"/big.bin" || len(v.URLs) != len(servers.Paths)+1 ||
		v.Downloads != filepath.Join(dir, "dl") {
		t.Errorf("offered: %+v", v)
	}
	if ls := lines(t, a); len(ls) != 1 || !strings.HasPrefix(ls[0].Text, "local line server on "+s.Local.Line.Addr()) {
		t.Errorf("first note: %+v", ls)
	}
	reactortest.OnLoop(t, r, func() { a.Connect(s.Local.LineTLS.Addr(), true) })
	waitState(t, a, netclient.Connected)
	reactortest.OnLoop(t, r, func() { a.Send("UPPER over tls") })
	waitLine(t, a, netclient.Received, "OVER TLS")
	var id int
	reactortest.OnLoop(t, r, func() { id = a.Fetch(v.URLs[len(v.URLs)-1]+"?size=64k&rate=0", true) })
	done := waitTransfer(t, a, id, "done over https", func(tv netclient.TransferView) bool { return !tv.Active })
	if done.State != "done" || done.Done != 64<<10 {
		t.Errorf("https: %+v", done)
	}

	var st netclient.State
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		b, err := os.ReadFile(stateFile)
		if err == nil && json.Unmarshal(b, &st) == nil && len(st.Transfers) == 1 && st.Transfers[0].State == "done" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the state file does not show the transfer done: %s (%v)", b, err)
		}
	}
	if st.Toolkit != "test" || st.Console.State != "connected" || st.Layout["connect"] != (netclient.Rect{X: 1, Y: 2, W: 3, H: 4}) || st.Colors["bar"] != "#3584e4" ||
		len(st.Lines) == 0 || st.Lines[len(st.Lines)-1].Text != "OVER TLS" || st.Lines[len(st.Lines)-1].Dir != "received" {
		t.Errorf("state file: %+v", st)
	}
}
