package transporttest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/transport"
)

// listen listens on network at a fresh local address and closes the
// listener when t ends.
func listen(t testing.TB, r *reactor.Reactor, network string, f transport.Factory, opts ...transport.Option) *transport.Listener {
	t.Helper()
	l, err := transport.Listen(r, listenNet(network), localAddr(t, network), f, opts...)
	if err != nil {
		t.Fatalf("Listen %s: %v", network, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

var abstractSeq atomic.Int64

// localAddr returns an address to listen on: port 0 on loopback, or a
// Unix socket path in t's temporary folder ("unix-abstract": a name in
// Linux's abstract namespace).
func localAddr(t testing.TB, network string) string {
	switch network {
	case "tcp", "tcp4":
		return "127.0.0.1:0"
	case "tcp6":
		return "[::1]:0"
	case "unix":
		return filepath.Join(t.TempDir(), "s")
	case "unix-abstract":
		return fmt.Sprintf("@loom-transporttest-%d-%d", os.Getpid(), abstractSeq.Add(1))
	}
	t.Fatalf("no local address for %s", network)
	return ""
}

// dialAddr is the address a client dials to reach l.
func dialAddr(l *transport.Listener) string {
	if ua, ok := l.Addr().(*net.UnixAddr); ok {
		return ua.Name
	}
	return l.Addr().String()
}

// dialNet is the dial network for a listener's network.
func dialNet(network string) string {
	if network == "unix-abstract" {
		return "unix"
	}
	return network
}

// listenNet is what Listen takes for network.
func listenNet(network string) string { return dialNet(network) }

// dial dials and fails t (stopping r) if the dial fails.
func dial(t testing.TB, r *reactor.Reactor, network, addr string, p transport.Protocol, opts ...transport.Option) *deferred.Promise[transport.Transport] {
	pr := transport.Dial(r, dialNet(network), addr, p, opts...)
	pr.OnError(func(err error) {
		t.Errorf("dial %s %s: %v", network, addr, err)
		r.Stop()
	})
	return pr
}

// networks are the stream networks the suite runs its basic cases on;
// those the machine lacks are skipped.
func networks() []string {
	n := []string{"tcp4", "tcp6", "unix"}
	if runtime.GOOS == "linux" {
		n = append(n, "unix-abstract")
	}
	return n
}

func skipUnless(t *testing.T, network string) {
	if network == "tcp6" {
		ln, err := net.Listen("tcp6", "[::1]:0")
		if err != nil {
			t.Skipf("no IPv6 loopback here: %v", err)
		}
		ln.Close()
	}
}

func isErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got %v, want an error matching %v", what, err, want)
	}
}
