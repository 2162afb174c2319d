package transport_test

import (
	"fmt"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/transport"
	"golang.org/x/sys/unix"
)

// slowProtocolSite is where slowProtocol's DataReceived begins.
var slowProtocolSite = func() string {
	_, file, line, _ := runtime.Caller(0)
	return fmt.Sprintf("%s:%d", file, line+8)
}()

type slowProtocol struct{}

func (slowProtocol) ConnectionMade(transport.Transport) {}
func (slowProtocol) ConnectionLost(error)               {}
func (slowProtocol) DataReceived([]byte) {
	time.Sleep(40 * time.Millisecond)
}

// A protocol's slow DataReceived is reported as itself, with its
// connection's descriptor, not as the transport's reader that called it.
func TestSlowProtocolIsNamed(t *testing.T) {
	reactortest.CheckLeaks(t)
	logs := &reactortest.Records{}
	r, err := reactor.New(reactor.WithoutSignalHandlers(), reactor.WithSlowCallbacks(20*time.Millisecond), reactor.WithLogger(slog.New(logs)))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[1])
	tr, err := transport.Adopt(r, fds[0], slowProtocol{})
	if err != nil {
		t.Fatal(err)
	}
	unix.Write(fds[1], []byte("x"))
	for end := time.Now().Add(5 * time.Second); len(logs.SlowReports()) == 0 && time.Now().Before(end); {
		if err := r.RunOnce(10 * time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	tr.Abort()
	reports := logs.SlowReports()
	if len(reports) != 1 {
		t.Fatalf("%d reports, want 1: %v", len(reports), reports)
	}
	m := reports[0]
	if m["kind"] != "protocol" || m["func"] != "github.com/loomkit/loom/transport_test.slowProtocol.DataReceived" ||
		m["site"] != slowProtocolSite || m["fd"] != fmt.Sprint(fds[0]) {
		t.Errorf("reported %v, want the protocol's DataReceived at %s, fd %d", m, slowProtocolSite, fds[0])
	}
}
