package netclient_test

import (
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loomkit/loom/apps/netclient"
	"github.com/loomkit/loom/apps/netclient/servers"
	"github.com/loomkit/loom/internal/socktest"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
)

// lineServer starts the local line server on r, over TLS if cert is not
// nil, and returns its address.
func lineServer(t *testing.T, r *reactor.Reactor, cert *servers.Certificate) string {
	t.Helper()
	var s *servers.LineServer
	var err error
	reactortest.OnLoop(t, r, func() {
		if cert != nil {
			s, err = servers.ListenLine(r, "127.0.0.1:0", cert.ServerConfig())
		} else {
			s, err = servers.ListenLine(r, "127.0.0.1:0", nil)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reactortest.OnLoop(t, r, func() { s.Close() }) })
	return s.Addr()
}

// The console against the local line server: connect, the greeting,
// lines both ways told apart, QUIT (the server closes), Reconnect, and
// Disconnect, with the state in words at each step.
func TestConsoleExchangeWithTheLocalServer(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := loop(t)
	addr := lineServer(t, r, nil)
	a := newApp(t, r, netclient.Config{Addr: addr})

	v := view(t, a)
	if v.Console.State != "disconnected" || v.Console.Status != "not connected" || v.Console.CanSend || !v.Console.CanReconnect {
		t.Errorf("before connecting: %+v", v.Console)
	}
	reactortest.OnLoop(t, r, func() { a.Connect(addr, false) })
	waitState(t, a, netclient.Connected)
	waitLine(t, a, netclient.Received, servers.Greeting)
	v = view(t, a)
	if v.Console.Status != "connected to "+addr || !v.Console.CanSend || !v.Console.CanDisconnect || v.Console.CanReconnect {
		t.Errorf("connected: %+v", v.Console)
	}

	reactortest.OnLoop(t, r, func() {
		if err := a.Send("UPPER hello loom"); err != nil {
			t.Error(err)
		}
		a.Send("REVERSE abc")
	})
	waitLine(t, a, netclient.Received, "HELLO LOOM")
	waitLine(t, a, netclient.Received, "cba")
	var got []string
	for _, l := range lines(t, a) {
		got = append(got, l.Dir.Arrow()+" "+l.Text)
	}
	want := []string{
		"· connecting to " + addr + "…",
		"· connected to " + addr,
		"← " + servers.Greeting,
		"→ UPPER hello loom",
		"→ REVERSE abc",
		"← HELLO LOOM",
		"← cba",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("exchange:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if v := view(t, a); v.Console.Sent != 2 || v.Console.Received != 3 || v.Console.Counts != "2 lines sent · 3 lines received" {
		t.Errorf("counts: %+v", v.Console)
	}

	reactortest.OnLoop(t, r, func() { a.Send("QUIT") })
	waitState(t, a, netclient.Closed)
	waitLine(t, a, netclient.Received, "BYE")
	if v := view(t, a); v.Console.Status != "closed by the server" || v.Console.CanSend || !v.Console.CanReconnect {
		t.Errorf("after QUIT: %+v", v.Console)
	}
	var err error
	reactortest.OnLoop(t, r, func() { err = a.Send("ECHO nobody") })
	if err != netclient.ErrNotConnected {
		t.Errorf("Send when closed: %v", err)
	}
	waitLine(t, a, netclient.Note, "not sent: not connected")

	reactortest.OnLoop(t, r, a.Reconnect)
	waitState(t, a, netclient.Connected)
	reactortest.OnLoop(t, r, func() { a.Send("ECHO again") })
	waitLine(t, a, netclient.Received, "again")
	reactortest.OnLoop(t, r, a.Disconnect)
	waitState(t, a, netclient.Disconnected)
	waitLine(t, a, netclient.Note, "disconnected")
}

// Over TLS to the local server, whose certificate the client trusts; and
// the same server with a client that does not trust it.
func TestConsoleTLS(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := loop(t)
	cert, err := servers.NewCertificate()
	if err != nil {
		t.Fatal(err)
	}
	addr := lineServer(t, r, cert)
	a := newApp(t, r, netclient.Config{TLSConfig: cert.ClientConfig()})
	reactortest.OnLoop(t, r, func() { a.Connect(addr, true) })
	waitState(t, a, netclient.Connected)
	if s := view(t, a).Console.Status; s != "connected to "+addr+" over TLS 1.3" {
		t.Errorf("status %q", s)
	}
	reactortest.OnLoop(t, r, func() { a.Send("ECHO secret") })
	waitLine(t, a, netclient.Received, "secret")

	untrusting := newApp(t, r, netclient.Config{})
	reactortest.OnLoop(t, r, func() { untrusting.Connect(addr, true) })
	waitState(t, untrusting, netclient.Failed)
	if s := view(t, untrusting).Console.Status; s != "the certificate is not trusted: signed by an unknown authority" {
		t.Errorf("status %q", s)
	}
	// TLS to a plaintext server.
	plain := lineServer(t, r, nil)
	reactortest.OnLoop(t, r, func() { untrusting.Connect(plain, true) })
	waitState(t, untrusting, netclient.Failed)
	if s := view(t, untrusting).Console.Status; s != "the server does not speak TLS" {
		t.Errorf("TLS to a plaintext server: status %q", s)
	}
}

// The local server's RESET command aborts the connection (a TCP RST).
func TestConsoleResetByTheLocalServer(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := loop(t)
	addr := lineServer(t, r, nil)
	a := newApp(t, r, netclient.Config{})
	reactortest.OnLoop(t, r, func() { a.Connect(addr, false) })
	waitState(t, a, netclient.Connected)
	reactortest.OnLoop(t, r, func() { a.Send("RESET") })
	waitState(t, a, netclient.Failed)
	v := view(t, a)
	if v.Console.Status != "reset by the peer" || !v.Console.CanReconnect {
		t.Errorf("after RESET: %+v", v.Console)
	}
	waitLine(t, a, netclient.Note, "connection lost: reset by the peer")
	reactortest.OnLoop(t, r, a.Reconnect)
	waitState(t, a, netclient.Connected)
}

// Redis, a line-based peer nobody here wrote: PING and its answer, then a
// line longer than its inline limit, which it answers with an error and
// a close (a reset when the rest of the line is still unread).
func TestConsoleAgainstRedis(t *testing.T) {
	reactortest.CheckLeaks(t)
	addr := socktest.StartRedis(t)
	r := loop(t)
	a := newApp(t, r, netclient.Config{})
	reactortest.OnLoop(t, r, func() { a.Connect(addr, false) })
	waitState(t, a, netclient.Connected)
	reactortest.OnLoop(t, r, func() { a.Send("PING"); a.Send("ECHO loom") })
	waitLine(t, a, netclient.Received, "+PONG")
	waitLine(t, a, netclient.Received, "$4")
	waitLine(t, a, netclient.Received, "loom")

	long := strings.Repeat("x", 1<<20)
	reactortest.OnLoop(t, r, func() {
		if err := a.Send(long); err != nil {
			t.Error(err)
		}
	})
	reactortest.Eventually(t, a.Reactor(), 10*time.Second, "the connection's end", func() bool {
		st := a.View().Console.State
		return st == netclient.Failed.String() || st == netclient.Closed.String()
	})
	// Redis closes with the rest of the line unread, a reset, or, when
	// it had read all of it by then, cleanly: either is the peer's to
	// choose, and either must be told in words.
	v := view(t, a)
	if v.Console.Status != "reset by the peer" && v.Console.Status != "closed by the server" {
		t.Errorf("after the long line: %+v", v.Console)
	}
	var sent string
	for _, l := range lines(t, a) {
		if l.Dir == netclient.Sent && strings.HasPrefix(l.Text, "xxx") {
			sent = l.Text
		}
	}
	if !strings.HasSuffix(sent, "… (1.0 MiB in all)") || len(sent) > netclient.MaxShownLine+50 {
		t.Errorf("the long line shows as %d bytes ending %q", len(sent), sent[max(0, len(sent)-30):])
	}
}

func TestConsoleRefused(t *testing.T) {
	reactortest.CheckLeaks(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	r := loop(t)
	a := newApp(t, r, netclient.Config{})
	reactortest.OnLoop(t, r, func() { a.Connect(addr, false) })
	waitState(t, a, netclient.Failed)
	if s := view(t, a).Console.Status; s != "refused: nothing is listening there" {
		t.Errorf("status %q", s)
	}
	waitLine(t, a, netclient.Note, "could not connect: refused: nothing is listening there")
}

// A server whose accept queue is full never answers the handshake: the
// dial times out after DialTimeout.
func TestConsoleTimeout(t *testing.T) {
	reactortest.CheckLeaks(t)
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	// Fill the queue: connections the kernel completes but nobody
	// accepts, until one no longer completes.
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			break
		}
		defer c.Close()
		if i == 10 {
			t.Skip("the kernel keeps accepting connections into a full queue")
		}
	}
	r := loop(t)
	a := newApp(t, r, netclient.Config{DialTimeout: 300 * time.Millisecond})
	reactortest.OnLoop(t, r, func() { a.Connect(addr, false) })
	waitState(t, a, netclient.Failed)
	if s := view(t, a).Console.Status; s != "timed out" {
		t.Errorf("status %q", s)
	}
}

// Disconnect during the attempt cancels it.
func TestConsoleDisconnectWhileConnecting(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := loop(t)
	cert, _ := servers.NewCertificate()
	// A TCP server that accepts and never says a word: the TLS handshake
	// waits.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	a := newApp(t, r, netclient.Config{TLSConfig: cert.ClientConfig()})
	reactortest.OnLoop(t, r, func() { a.Connect(l.Addr().String(), true) })
	c := <-accepted
	defer c.Close()
	if s := view(t, a).Console.State; s != "connecting" {
		t.Fatalf("state %q during the handshake", s)
	}
	reactortest.OnLoop(t, r, a.Disconnect)
	waitState(t, a, netclient.Disconnected)
	waitLine(t, a, netclient.Note, "connection attempt cancelled")
}

// The exchange keeps the last MaxLines lines, numbered on.
func TestExchangeKeepsTheLastLines(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := loop(t)
	addr := lineServer(t, r, nil)
	a := newApp(t, r, netclient.Config{MaxLines: 100})
	reactortest.OnLoop(t, r, func() { a.Connect(addr, false) })
	waitState(t, a, netclient.Connected)
	reactortest.OnLoop(t, r, func() { a.Send("COUNT 5000") })
	waitLine(t, a, netclient.Received, "5000")
	ls := lines(t, a)
	if len(ls) != 100 {
		t.Fatalf("%d lines kept", len(ls))
	}
	for i := 1; i < len(ls); i++ {
		if ls[i].Seq != ls[i-1].Seq+1 {
			t.Fatalf("lines %d and %d: seq %d then %d", i-1, i, ls[i-1].Seq, ls[i].Seq)
		}
	}
	if ls[0].Text != "4901" {
		t.Errorf("oldest kept %q, want 4901", ls[0].Text)
	}
	var first uint64
	reactortest.OnLoop(t, r, func() { first = a.FirstSeq() })
	if first != ls[0].Seq {
		t.Errorf("FirstSeq %d, line 0 has %d", first, ls[0].Seq)
	}
	if v := view(t, a); v.Console.Received != 5001 || v.Console.Lines != 100 {
		t.Errorf("received %d, kept %d", v.Console.Received, v.Console.Lines)
	}
	reactortest.OnLoop(t, r, func() { a.ClearExchange() })
	reactortest.OnLoop(t, r, func() {
		if a.LineCount() != 0 || a.FirstSeq() != ls[len(ls)-1].Seq+1 {
			t.Errorf("after clear: %d lines, first seq %d", a.LineCount(), a.FirstSeq())
		}
	})
	reactortest.OnLoop(t, r, func() { a.Send("ECHO after") })
	waitLine(t, a, netclient.Received, "after")
}

// Each change bumps Version and calls OnChange.
func TestChangesBumpTheVersion(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := loop(t)
	addr := lineServer(t, r, nil)
	a := newApp(t, r, netclient.Config{})
	calls := 0
	var v0 uint64
	reactortest.OnLoop(t, r, func() {
		a.OnChange(func() { calls++ })
		v0 = a.Version()
		a.Connect(addr, false)
	})
	waitLine(t, a, netclient.Received, servers.Greeting)
	reactortest.OnLoop(t, r, func() {
		if a.Version() <= v0 || calls != int(a.Version()-v0) {
			t.Errorf("version %d → %d, %d calls of OnChange", v0, a.Version(), calls)
		}
		if a.View().Version != a.Version() {
			t.Errorf("View's version %d, Version %d", a.View().Version, a.Version())
		}
	})
}
