package protocol_test

import (
	"fmt"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/loomkit/loom/protocol"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/transport"
	"golang.org/x/sys/unix"
)

// slowHandlerSite is where slowHandler's FrameReceived begins.
var slowHandlerSite = func() string {
	_, file, line, _ := runtime.Caller(0)
	return fmt.Sprintf("%s:%d", file, line+8)
}()

type slowHandler struct{}

func (*slowHandler) ConnectionMade(transport.Transport) {}
func (*slowHandler) ConnectionLost(error)               {}
func (*slowHandler) FrameReceived([]byte) {
	time.Sleep(40 * time.Millisecond)
}

// A Handler's slow FrameReceived is reported as itself, not as the
// Receiver's DataReceived or the transport's reader around it.
func TestSlowFrameHandlerIsNamed(t *testing.T) {
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
	tr, err := transport.Adopt(r, fds[0], protocol.NewLineReceiver(protocol.LineConfig{}, &slowHandler{}))
	if err != nil {
		t.Fatal(err)
	}
	unix.Write(fds[1], []byte("one line\n"))
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
	if m := reports[0]; m["kind"] != "frame handler" || m["func"] != "github.com/loomkit/loom/protocol_test.(*slowHandler).FrameReceived" || m["site"] != slowHandlerSite {
		t.Errorf("reported %v, want the handler's FrameReceived at %s", m, slowHandlerSite)
	}
}
