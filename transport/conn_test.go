package transport_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/transport"
	"github.com/loomkit/loom/transport/transporttest"
	"golang.org/x/sys/unix"
)

// funcs is a protocol made of functions; nil ones do nothing.
type funcs struct {
	t    transport.Transport
	made func(transport.Transport)
	data func([]byte)
	lost func(error)
}

func (f *funcs) ConnectionMade(t transport.Transport) {
	f.t = t
	if f.made != nil {
		f.made(t)
	}
}
func (f *funcs) DataReceived(b []byte) {
	if f.data != nil {
		f.data(b)
	}
}
func (f *funcs) ConnectionLost(err error) {
	if f.lost != nil {
		f.lost(err)
	}
}

func run(t *testing.T, r *reactor.Reactor) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("the loop was still running after 20s")
	}
}

func echoFactory(net.Addr) transport.Protocol { return &echo{} }

func TestDialByName(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	l, err := transport.ListenTCP(r, "127.0.0.1:0", echoFactory)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	var got bytes.Buffer
	c := &funcs{}
	c.made = func(tr transport.Transport) { tr.Write([]byte("by name")) }
	c.data = func(b []byte) {
		got.Write(b)
		if got.Len() == 7 {
			c.t.LoseConnection()
		}
	}
	c.lost = func(error) { r.Stop() }
	transport.DialTCP(r, net.JoinHostPort("localhost", strconvItoa(port)), c).OnError(func(err error) { t.Error(err); r.Stop() })
	run(t, r)
	if got.String() != "by name" {
		t.Errorf("echoed %q", got.String())
	}
}

func TestDialErrors(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	cases := []struct {
		network, addr string
		check         func(error) bool
	}{
		{"tcp", "no-port", func(err error) bool { return strings.Contains(err.Error(), "missing port") }},
		{"tcp", "nosuch.invalid:80", func(err error) bool { var de *net.DNSError; return errors.As(err, &de) }},
		{"sctp", "127.0.0.1:80", func(err error) bool { var ue net.UnknownNetworkError; return errors.As(err, &ue) }},
		{"unix", filepath.Join(t.TempDir(), "nobody"), func(err error) bool { return errors.Is(err, os.ErrNotExist) }},
		{"tcp6", "127.0.0.1:80", func(err error) bool { return strings.Contains(err.Error(), "no tcp6 address") }},
	}
	left := len(cases)
	for _, c := range cases {
		transport.Dial(r, c.network, c.addr, &funcs{made: func(transport.Transport) { t.Errorf("%s %s connected", c.network, c.addr) }}).
			OnError(func(err error) {
				var oe *transport.OpError
				if !c.check(err) || !errors.As(err, &oe) || oe.Op != "dial" {
					t.Errorf("dial %s %s: %v (%#v)", c.network, c.addr, err, err)
				}
				if left--; left == 0 {
					r.Stop()
				}
			})
	}
	run(t, r)
}

func TestReactorCloseEndsEverything(t *testing.T) {
	reactortest.CheckLeaks(t)
	r, err := reactor.New(reactor.WithoutSignalHandlers())
	if err != nil {
		t.Fatal(err)
	}
	var lost []error
	l, err := transport.ListenTCP(r, "127.0.0.1:0", func(net.Addr) transport.Protocol {
		return &funcs{lost: func(err error) { lost = append(lost, err) }}
	})
	if err != nil {
		t.Fatal(err)
	}
	c := &funcs{made: func(transport.Transport) { r.Stop() }, lost: func(err error) { lost = append(lost, err) }}
	transport.DialTCP(r, l.Addr().String(), c)
	run(t, r)
	// A dial still connecting when the reactor closes.
	var dialErr error
	transport.DialTCP(r, transporttest.FullListener(t), &funcs{}).OnError(func(err error) { dialErr = err })
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if len(lost) != 2 {
		t.Fatalf("ConnectionLost calls: %v, want two", lost)
	}
	for _, err := range lost {
		if !errors.Is(err, transport.ErrClosed) {
			t.Errorf("ConnectionLost(%v) on reactor Close, want ErrClosed", err)
		}
	}
	if !errors.Is(dialErr, transport.ErrClosed) {
		t.Errorf("pending dial on reactor Close: %v, want ErrClosed", dialErr)
	}
	if err := l.Close(); err != nil {
		t.Errorf("Close of a listener the reactor closed: %v", err)
	}
	if _, err := transport.ListenTCP(r, "127.0.0.1:0", echoFactory); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("ListenTCP on a closed reactor: %v", err)
	}
	var after error
	transport.DialTCP(r, "127.0.0.1:1", &funcs{}).OnError(func(err error) { after = err })
	if !errors.Is(after, transport.ErrClosed) {
		t.Errorf("DialTCP on a closed reactor: %v", after)
	}
}

func TestListenerCloseReleases(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	l, err := transport.ListenTCP(r, "127.0.0.1:0", echoFactory)
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	l2, err := transport.ListenTCP(r, addr, echoFactory)
	if err != nil {
		t.Fatalf("listening again on %s after Close: %v", addr, err)
	}
	l2.Close()
	if _, err := transport.ListenTCP(r, addr, echoFactory, transport.WithBacklog(1)); err != nil {
		t.Fatal(err)
	} else {
		// In use: a second listener on the same port is an error.
		if _, err := transport.ListenTCP(r, addr, echoFactory); err == nil || !errors.Is(err, unix.EADDRINUSE) {
			t.Errorf("listening twice on %s: %v, want EADDRINUSE", addr, err)
		}
	}
	path := filepath.Join(t.TempDir(), "sock")
	lu, err := transport.ListenUnix(r, path, echoFactory)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	lu.Close()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("socket file after Close: %v", err)
	}
}

func TestListenEveryAddress(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	accepted := 0
	l, err := transport.ListenTCP(r, ":0", func(net.Addr) transport.Protocol {
		accepted++
		return &funcs{made: func(tr transport.Transport) { tr.LoseConnection() }}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	addrs := []string{net.JoinHostPort("127.0.0.1", strconvItoa(port))}
	if ln, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		ln.Close()
		addrs = append(addrs, net.JoinHostPort("::1", strconvItoa(port)))
	}
	left := len(addrs)
	for _, a := range addrs {
		transport.DialTCP(r, a, &funcs{lost: func(err error) {
			if err != nil {
				t.Errorf("%s: %v", a, err)
			}
			if left--; left == 0 {
				r.Stop()
			}
		}}).OnError(func(err error) { t.Errorf("%s: %v", a, err); r.Stop() })
	}
	run(t, r)
	if accepted != len(addrs) {
		t.Errorf("accepted %d of %v", accepted, addrs)
	}
}

// A protocol whose DataReceived panics does not stop the loop, nor its
// connection: the next bytes are delivered.
func TestPanickingProtocol(t *testing.T) {
	reactortest.CheckLeaks(t)
	var logs bytes.Buffer
	r, err := reactor.New(reactor.WithoutSignalHandlers(), reactor.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	l, err := transport.ListenTCP(r, "127.0.0.1:0", echoFactory)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var got []string
	c := &funcs{}
	c.made = func(tr transport.Transport) { tr.Write([]byte("one")) }
	c.data = func(b []byte) {
		got = append(got, string(b))
		if len(got) == 1 {
			c.t.Write([]byte("two"))
			panic("a bug in the protocol")
		}
		c.t.LoseConnection()
	}
	c.lost = func(error) { r.Stop() }
	transport.DialTCP(r, l.Addr().String(), c)
	run(t, r)
	if strings.Join(got, ",") != "one,two" {
		t.Errorf("read %q, want one then two", got)
	}
	if !strings.Contains(logs.String(), "a bug in the protocol") {
		t.Errorf("the panic was not logged: %q", logs.String())
	}
}

func TestTransportMisuse(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	l, err := transport.ListenTCP(r, "127.0.0.1:0", echoFactory)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c := &funcs{}
	c.made = func(tr transport.Transport) {
		if err := tr.SetWriteLimits(100, 200, 300); err == nil {
			t.Error("SetWriteLimits(100, 200, 300) accepted low > high")
		}
		if h, lo, cp := tr.WriteLimits(); h != transport.DefaultHighWater || lo != transport.DefaultLowWater || cp != transport.DefaultWriteCap {
			t.Errorf("limits after a refused change: %d %d %d", h, lo, cp)
		}
		if err := tr.SetWriteLimits(1<<20, 0, 0); err != nil {
			t.Error(err)
		}
		if h, lo, _ := tr.WriteLimits(); h != 1<<20 || lo != transport.DefaultLowWater {
			t.Errorf("limits after SetWriteLimits(1 MiB, 0, 0): high %d, low %d", h, lo)
		}
		if err := tr.Write(make([]byte, transport.DefaultWriteCap+1)); !errors.Is(err, transport.ErrBufferFull) {
			t.Errorf("a write larger than the cap: %v", err)
		}
		tr.LoseConnection()
		if err := tr.Write([]byte("late")); !errors.Is(err, transport.ErrClosed) {
			t.Errorf("Write after LoseConnection: %v", err)
		}
		if err := tr.LoseWriteConnection(); !errors.Is(err, transport.ErrClosed) {
			t.Errorf("LoseWriteConnection after LoseConnection: %v", err)
		}
		tr.PauseReading()
		tr.ResumeReading()
		if tr.State()&transport.Closing == 0 {
			t.Errorf("State after LoseConnection = %v, want closing (waiting for the peer's end of file)", tr.State())
		}
		tr.Abort() // ends the wait: a reset
		tr.LoseConnection()
	}
	var lost error = errors.New("not called")
	calls := 0
	c.lost = func(err error) { lost = err; calls++; r.CallLater(20*time.Millisecond, r.Stop) }
	transport.DialTCP(r, l.Addr().String(), c)
	run(t, r)
	var oe *transport.OpError
	if calls != 1 || !errors.Is(lost, transport.ErrAborted) || !errors.As(lost, &oe) || oe.Unsent != 0 {
		t.Errorf("ConnectionLost called %d times, last with %v; want once with ErrAborted, nothing unsent", calls, lost)
	}
	if got := (transport.Open | transport.ReadPaused).String(); got != "open|read-paused" {
		t.Errorf("State.String = %q", got)
	}
}

func strconvItoa(n int) string { return strconv.Itoa(n) }
