package transport_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/internal/stack"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/transport"
)

// udpProto is a DatagramProtocol that records what it hears and checks
// that every call is on the goroutine that runs the reactor (the test's).
type udpProto struct {
	tb      testing.TB
	goid    uint64
	t       transport.DatagramTransport
	got     [][]byte
	from    []netip.AddrPort
	errs    []error
	stops   int
	stopErr error
	onStart func(transport.DatagramTransport)
	onData  func(b []byte, from netip.AddrPort)
}

func newUDPProto(tb testing.TB) *udpProto { return &udpProto{tb: tb, goid: stack.Goid()} }

func (d *udpProto) check(what string) {
	if g := stack.Goid(); g != d.goid {
		d.tb.Errorf("%s on goroutine %d, not the reactor's %d", what, g, d.goid)
	}
}

func (d *udpProto) StartProtocol(t transport.DatagramTransport) {
	d.check("StartProtocol")
	d.t = t
	if d.onStart != nil {
		d.onStart(t)
	}
}

func (d *udpProto) DatagramReceived(b []byte, from netip.AddrPort) {
	d.check("DatagramReceived")
	if d.stops > 0 {
		d.tb.Errorf("DatagramReceived after StopProtocol")
	}
	d.got = append(d.got, bytes.Clone(b))
	d.from = append(d.from, from)
	if d.onData != nil {
		d.onData(b, from)
	}
}

func (d *udpProto) ErrorReceived(err error) {
	d.check("ErrorReceived")
	if d.stops > 0 {
		d.tb.Errorf("ErrorReceived after StopProtocol: %v", err)
	}
	d.errs = append(d.errs, err)
}

func (d *udpProto) StopProtocol(err error) {
	d.check("StopProtocol")
	d.stops++
	d.stopErr = err
	if d.stops > 1 {
		d.tb.Errorf("StopProtocol called %d times", d.stops)
	}
}

func newUDPReactor(t *testing.T) *reactor.Reactor {
	t.Helper()
	r, err := reactor.New(reactor.WithoutSignalHandlers())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// udpRunUntil runs r on the calling goroutine until cond holds, failing t
// after 10 s.
func udpRunUntil(t *testing.T, r *reactor.Reactor, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within 10s", what)
		}
		if err := r.RunOnce(10 * time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
}

// udpFamily is an address family the tests run over.
type udpFamily struct {
	name, loopback, goNet string
}

var udpFamilies = []udpFamily{{"IPv4", "127.0.0.1", "udp4"}, {"IPv6", "::1", "udp6"}}

func (f udpFamily) addr(port int) string { return net.JoinHostPort(f.loopback, fmt.Sprint(port)) }

// skipNo skips t if the family's loopback address cannot be bound.
func (f udpFamily) skipNo(t *testing.T) {
	t.Helper()
	c, err := net.ListenUDP(f.goNet, &net.UDPAddr{IP: net.ParseIP(f.loopback)})
	if err != nil {
		t.Skipf("no %s loopback here: %v", f.name, err)
	}
	c.Close()
}

func forUDPFamilies(t *testing.T, test func(t *testing.T, f udpFamily)) {
	for _, f := range udpFamilies {
		t.Run(f.name, func(t *testing.T) {
			f.skipNo(t)
			test(t, f)
		})
	}
}

func udpListen(t *testing.T, r *reactor.Reactor, addr string, p transport.DatagramProtocol, opts ...transport.Option) transport.DatagramTransport {
	t.Helper()
	tr, err := transport.ListenUDP(r, addr, p, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func udpAddrPort(t *testing.T, a net.Addr) netip.AddrPort {
	t.Helper()
	ua, ok := a.(*net.UDPAddr)
	if !ok {
		t.Fatalf("address %v is a %T, not a *net.UDPAddr", a, a)
	}
	ap := ua.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// udpDialWait dials addr and runs r until the dial settles.
func udpDialWait(t *testing.T, r *reactor.Reactor, addr string, p transport.DatagramProtocol) transport.DatagramTransport {
	t.Helper()
	var tr transport.DatagramTransport
	var derr error
	pr := transport.DialUDP(r, addr, p)
	pr.OnValue(func(v transport.DatagramTransport) { tr = v })
	pr.OnError(func(err error) { derr = err })
	udpRunUntil(t, r, "the dial", pr.Settled)
	if derr != nil {
		t.Fatal(derr)
	}
	return tr
}

func udpGoPeer(t *testing.T, f udpFamily) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP(f.goNet, &net.UDPAddr{IP: net.ParseIP(f.loopback)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// udpPattern returns n bytes that differ with seed and position, so a
// datagram cut or mixed with another does not compare equal.
func udpPattern(n, seed int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + seed*13 + i>>8)
	}
	return b
}

// TestUDPEcho: two loom endpoints, a bound one that echoes with WriteTo to
// each sender and a connected one that writes, exchange datagrams of
// several sizes, the empty one included, each arriving whole and from the
// right address.
func TestUDPEcho(t *testing.T) {
	forUDPFamilies(t, func(t *testing.T, f udpFamily) {
		reactortest.CheckLeaks(t)
		r := newUDPReactor(t)
		srv := newUDPProto(t)
		srv.onData = func(b []byte, from netip.AddrPort) {
			if err := srv.t.WriteTo(b, from); err != nil {
				t.Errorf("echo WriteTo %v: %v", from, err)
			}
		}
		st := udpListen(t, r, f.addr(0), srv)
		cli := newUDPProto(t)
		ct := udpDialWait(t, r, st.LocalAddr().String(), cli)
		if st.RemoteAddr() != nil {
			t.Errorf("bound socket's RemoteAddr = %v, want nil", st.RemoteAddr())
		}
		if got, want := udpAddrPort(t, ct.RemoteAddr()), udpAddrPort(t, st.LocalAddr()); got != want {
			t.Errorf("RemoteAddr %v, want %v", got, want)
		}
		sizes := []int{0, 1, 100, 1500, 9000, 60000}
		for i, n := range sizes {
			if err := ct.Write(udpPattern(n, i)); err != nil {
				t.Fatalf("Write %d bytes: %v", n, err)
			}
		}
		udpRunUntil(t, r, "the echoes", func() bool { return len(cli.got) == len(sizes) })
		for i, n := range sizes {
			if !containsDatagram(cli.got, udpPattern(n, i)) {
				t.Errorf("echo of %d bytes (seed %d) missing or cut", n, i)
			}
			if cli.from[i] != udpAddrPort(t, st.LocalAddr()) {
				t.Errorf("echo from %v, want %v", cli.from[i], st.LocalAddr())
			}
			if srv.from[i] != udpAddrPort(t, ct.LocalAddr()) {
				t.Errorf("server heard %v, want the client's %v", srv.from[i], ct.LocalAddr())
			}
		}
		if len(cli.errs)+len(srv.errs) > 0 {
			t.Errorf("errors: client %v, server %v", cli.errs, srv.errs)
		}
		ct.Close()
		st.Close()
		udpRunUntil(t, r, "StopProtocol", func() bool { return cli.stops == 1 && srv.stops == 1 })
		if cli.stopErr != nil || srv.stopErr != nil {
			t.Errorf("StopProtocol errors: %v, %v", cli.stopErr, srv.stopErr)
		}
	})
}

func containsDatagram(got [][]byte, want []byte) bool {
	for _, g := range got {
		if bytes.Equal(g, want) {
			return true
		}
	}
	return false
}

// TestUDPInterop: loom's bound socket answers a client made with Go's net
// package, and loom's connected socket talks to a Go net echo server.
func TestUDPInterop(t *testing.T) {
	forUDPFamilies(t, func(t *testing.T, f udpFamily) {
		reactortest.CheckLeaks(t)
		r := newUDPReactor(t)

		// A Go server, loom client.
		gsrv := udpGoPeer(t, f)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 2048)
			for {
				n, from, err := gsrv.ReadFromUDPAddrPort(buf)
				if err != nil {
					return
				}
				gsrv.WriteToUDPAddrPort(append([]byte("go:"), buf[:n]...), from)
			}
		}()
		cli := newUDPProto(t)
		ct := udpDialWait(t, r, gsrv.LocalAddr().String(), cli)
		if err := ct.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		udpRunUntil(t, r, "the Go server's answer", func() bool { return len(cli.got) == 1 })
		if string(cli.got[0]) != "go:ping" {
			t.Errorf("got %q, want %q", cli.got[0], "go:ping")
		}
		if cli.from[0] != udpAddrPort(t, gsrv.LocalAddr()) {
			t.Errorf("answer from %v, want %v", cli.from[0], gsrv.LocalAddr())
		}
		gsrv.Close()
		wg.Wait()

		// A loom server, Go client.
		srv := newUDPProto(t)
		srv.onData = func(b []byte, from netip.AddrPort) {
			srv.t.WriteTo(append([]byte("loom:"), b...), from)
		}
		st := udpListen(t, r, f.addr(0), srv)
		gcli, err := net.DialUDP(f.goNet, nil, st.LocalAddr().(*net.UDPAddr))
		if err != nil {
			t.Fatal(err)
		}
		defer gcli.Close()
		answer := make(chan string, 1)
		go func() {
			gcli.Write([]byte("hello"))
			gcli.SetReadDeadline(time.Now().Add(10 * time.Second))
			buf := make([]byte, 2048)
			n, err := gcli.Read(buf)
			if err != nil {
				answer <- err.Error()
				return
			}
			answer <- string(buf[:n])
		}()
		var got string
		udpRunUntil(t, r, "the Go client's answer", func() bool {
			select {
			case got = <-answer:
				return true
			default:
				return false
			}
		})
		if got != "loom:hello" {
			t.Errorf("Go client got %q, want %q", got, "loom:hello")
		}
		if len(srv.from) != 1 || srv.from[0] != udpAddrPort(t, gcli.LocalAddr()) {
			t.Errorf("loom server heard %v, want %v", srv.from, gcli.LocalAddr())
		}
		ct.Close()
		st.Close()
		udpRunUntil(t, r, "StopProtocol", func() bool { return cli.stops == 1 && srv.stops == 1 })
	})
}

// TestUDPDualStack: a socket bound to every address (":0") hears an IPv4
// sender as an IPv4 address, and WriteTo that address reaches it.
func TestUDPDualStack(t *testing.T) {
	udpFamilies[1].skipNo(t)
	reactortest.CheckLeaks(t)
	r := newUDPReactor(t)
	srv := newUDPProto(t)
	srv.onData = func(b []byte, from netip.AddrPort) {
		if err := srv.t.WriteTo(b, from); err != nil {
			t.Errorf("WriteTo %v: %v", from, err)
		}
	}
	st := udpListen(t, r, ":0", srv)
	port := st.LocalAddr().(*net.UDPAddr).Port
	peer := udpGoPeer(t, udpFamilies[0])
	if _, err := peer.WriteToUDPAddrPort([]byte("v4"), netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))); err != nil {
		t.Fatal(err)
	}
	udpRunUntil(t, r, "the datagram", func() bool { return len(srv.got) == 1 })
	if !srv.from[0].Addr().Is4() || srv.from[0] != udpAddrPort(t, peer.LocalAddr()) {
		t.Errorf("sender %v, want the IPv4 %v", srv.from[0], peer.LocalAddr())
	}
	peer.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 16)
	n, err := peer.Read(buf)
	if err != nil || string(buf[:n]) != "v4" {
		t.Errorf("echo: %q, %v", buf[:n], err)
	}
	st.Close()
	udpRunUntil(t, r, "StopProtocol", func() bool { return srv.stops == 1 })
}

// TestUDPLargeDatagrams: datagrams of 1500 bytes and of the largest size
// the family carries (65507 for IPv4, 65527 for IPv6) arrive whole, each
// way between loom and a Go peer.
func TestUDPLargeDatagrams(t *testing.T) {
	forUDPFamilies(t, func(t *testing.T, f udpFamily) {
		reactortest.CheckLeaks(t)
		r := newUDPReactor(t)
		biggest := 65507
		if f.name == "IPv6" {
			biggest = 65527
		}
		sizes := []int{1500, biggest}
		peer := udpGoPeer(t, f)
		peer.SetReadBuffer(1 << 20)
		peer.SetWriteBuffer(1 << 20)
		d := newUDPProto(t)
		lt := udpListen(t, r, f.addr(0), d)
		if err := lt.SetReadBuffer(1 << 20); err != nil {
			t.Fatal(err)
		}
		if err := lt.SetWriteBuffer(1 << 20); err != nil {
			t.Fatal(err)
		}
		to := udpAddrPort(t, lt.LocalAddr())
		for i, n := range sizes {
			if _, err := peer.WriteToUDPAddrPort(udpPattern(n, i), to); err != nil {
				t.Fatalf("Go peer sending %d bytes: %v", n, err)
			}
		}
		udpRunUntil(t, r, "the datagrams", func() bool { return len(d.got) == len(sizes) })
		for i, n := range sizes {
			if !containsDatagram(d.got, udpPattern(n, i)) {
				t.Errorf("%d-byte datagram missing or cut", n)
			}
		}
		if len(d.errs) > 0 {
			t.Errorf("errors: %v", d.errs)
		}
		// And loom to Go.
		for i, n := range sizes {
			if err := lt.WriteTo(udpPattern(n, i+10), udpAddrPort(t, peer.LocalAddr())); err != nil {
				t.Fatalf("WriteTo %d bytes: %v", n, err)
			}
		}
		peer.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 70000)
		var got [][]byte
		for range sizes {
			n, err := peer.Read(buf)
			if err != nil {
				t.Fatalf("Go peer: %v", err)
			}
			got = append(got, bytes.Clone(buf[:n]))
		}
		for i, n := range sizes {
			if !containsDatagram(got, udpPattern(n, i+10)) {
				t.Errorf("Go peer: %d-byte datagram missing or cut", n)
			}
		}
		// One byte more than IPv4 carries is refused at once.
		if f.name == "IPv4" {
			err := lt.WriteTo(make([]byte, biggest+1), udpAddrPort(t, peer.LocalAddr()))
			if !errors.Is(err, syscall.EMSGSIZE) {
				t.Errorf("WriteTo %d bytes over IPv4: %v, want EMSGSIZE", biggest+1, err)
			}
		}
		lt.Close()
		udpRunUntil(t, r, "StopProtocol", func() bool { return d.stops == 1 })
	})
}

// TestUDPTruncated: a datagram larger than MaxDatagramSize is reported to
// ErrorReceived with its size and never delivered cut; one of exactly the
// maximum is delivered whole, and the socket goes on.
func TestUDPTruncated(t *testing.T) {
	forUDPFamilies(t, func(t *testing.T, f udpFamily) {
		reactortest.CheckLeaks(t)
		r := newUDPReactor(t)
		d := newUDPProto(t)
		d.onStart = func(tr transport.DatagramTransport) {
			if err := tr.SetMaxDatagramSize(100); err != nil {
				t.Error(err)
			}
		}
		lt := udpListen(t, r, f.addr(0), d)
		if lt.MaxDatagramSize() != 100 {
			t.Fatalf("MaxDatagramSize = %d after setting 100", lt.MaxDatagramSize())
		}
		peer := udpGoPeer(t, f)
		to := udpAddrPort(t, lt.LocalAddr())
		sizes := []int{101, 100, 4000, 65507, 7}
		for i, n := range sizes {
			if _, err := peer.WriteToUDPAddrPort(udpPattern(n, i), to); err != nil {
				t.Fatal(err)
			}
		}
		udpRunUntil(t, r, "every datagram heard", func() bool { return len(d.got)+len(d.errs) == len(sizes) })
		if len(d.got) != 2 || !bytes.Equal(d.got[0], udpPattern(100, 1)) || !bytes.Equal(d.got[1], udpPattern(7, 4)) {
			t.Errorf("delivered %d datagrams (%v), want the 100- and 7-byte ones whole", len(d.got), udpLens(d.got))
		}
		wantSizes := []int{101, 4000, 65507}
		if len(d.errs) != len(wantSizes) {
			t.Fatalf("errors %v, want %d truncations", d.errs, len(wantSizes))
		}
		for i, err := range d.errs {
			var te *transport.TruncatedError
			if !errors.Is(err, transport.ErrTruncated) || !errors.As(err, &te) {
				t.Errorf("error %v is not ErrTruncated", err)
				continue
			}
			if te.Max != 100 || te.Size != wantSizes[i] && !(te.AtLeast && te.Size < wantSizes[i]) {
				t.Errorf("%v: Size %d (at least: %v), Max %d; want %d, 100", err, te.Size, te.AtLeast, te.Max, wantSizes[i])
			}
			var oe *transport.OpError
			if !errors.As(err, &oe) || udpAddrPort(t, oe.Addr) != udpAddrPort(t, peer.LocalAddr()) {
				t.Errorf("%v does not name the sender %v", err, peer.LocalAddr())
			}
		}
		for _, n := range []int{-1, transport.MaxUDPPayload + 1} {
			if err := lt.SetMaxDatagramSize(n); err == nil {
				t.Errorf("SetMaxDatagramSize(%d) accepted", n)
			}
		}
		lt.Close()
		udpRunUntil(t, r, "StopProtocol", func() bool { return d.stops == 1 })
	})
}

func udpLens(bs [][]byte) []int {
	out := make([]int, len(bs))
	for i, b := range bs {
		out[i] = len(b)
	}
	return out
}

// TestUDPRefused: a connected socket that writes to a port nobody listens
// on hears ErrRefused (and ECONNREFUSED) through ErrorReceived, from the
// ICMP port unreachable, and stays open.
func TestUDPRefused(t *testing.T) {
	forUDPFamilies(t, func(t *testing.T, f udpFamily) {
		reactortest.CheckLeaks(t)
		r := newUDPReactor(t)
		gone := udpGoPeer(t, f)
		addr := gone.LocalAddr().String()
		gone.Close()
		d := newUDPProto(t)
		ct := udpDialWait(t, r, addr, d)
		writes := 0
		var tick func()
		tick = func() {
			if len(d.errs) > 0 || d.stops > 0 {
				return
			}
			if err := ct.Write([]byte("anyone?")); err != nil {
				t.Errorf("Write: %v", err)
				return
			}
			if writes++; writes < 100 {
				r.CallLater(20*time.Millisecond, tick)
			}
		}
		tick()
		udpRunUntil(t, r, "the refusal", func() bool { return len(d.errs) > 0 || writes >= 100 })
		if len(d.errs) == 0 {
			t.Fatalf("no refusal after %d writes", writes)
		}
		err := d.errs[0]
		if !errors.Is(err, transport.ErrRefused) || !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("ErrorReceived(%v), want ErrRefused", err)
		}
		var oe *transport.OpError
		if !errors.As(err, &oe) {
			t.Errorf("%v is not an *OpError", err)
		}
		t.Logf("after %d writes: %v", writes, err)
		if ct.State()&transport.Open == 0 || d.stops != 0 {
			t.Errorf("socket state %v after the refusal, StopProtocol called %d times", ct.State(), d.stops)
		}
		ct.Close()
		udpRunUntil(t, r, "StopProtocol", func() bool { return d.stops == 1 })
	})
}

// TestUDPFloodDoesNotStarveTimer: a peer that sends as fast as it can,
// from another goroutine, into a socket whose kernel buffer is already
// full, does not keep a timer on the same reactor from running: between
// two runs of a timer that reschedules itself the socket reads at most
// MaxDatagramsPerWakeup datagrams, and reaches that bound (the flood was
// real).
func TestUDPFloodDoesNotStarveTimer(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newUDPReactor(t)
	f := udpFamilies[0]
	d := newUDPProto(t)
	received := 0
	d.onData = func([]byte, netip.AddrPort) {
		received++
		d.got, d.from = d.got[:0], d.from[:0] // keep no copies
	}
	lt := udpListen(t, r, f.addr(0), d)
	lt.SetReadBuffer(4 << 20)
	to := udpAddrPort(t, lt.LocalAddr())
	peer := udpGoPeer(t, f)
	msg := []byte("flood!")
	for range 1000 { // fill the socket's buffer before the loop runs
		peer.WriteToUDPAddrPort(msg, to)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var once sync.Once
	end := func() { once.Do(func() { close(stop) }); wg.Wait() }
	t.Cleanup(end)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				peer.WriteToUDPAddrPort(msg, to)
			}
		}
	}()
	const ticks = 200
	var deltas []int
	last := 0
	var tick func()
	tick = func() {
		deltas = append(deltas, received-last)
		last = received
		if len(deltas) < ticks {
			r.CallLater(0, tick)
		}
	}
	r.CallLater(0, tick)
	udpRunUntil(t, r, fmt.Sprintf("%d timer runs", ticks), func() bool { return len(deltas) == ticks })
	end()
	most := 0
	for _, n := range deltas {
		most = max(most, n)
	}
	if most > transport.MaxDatagramsPerWakeup {
		t.Errorf("%d datagrams read between two timer runs, more than MaxDatagramsPerWakeup (%d)", most, transport.MaxDatagramsPerWakeup)
	}
	if most < transport.MaxDatagramsPerWakeup {
		t.Errorf("at most %d datagrams between two timer runs: the flood never filled a wakeup (%d)", most, transport.MaxDatagramsPerWakeup)
	}
	t.Logf("%d datagrams in %d timer runs, at most %d between two", received, ticks, most)
	lt.Close()
	udpRunUntil(t, r, "StopProtocol", func() bool { return d.stops == 1 })
}

// TestUDPBadInput: bad addresses, networks and sizes are clear errors,
// never a panic, and leave the socket usable.
func TestUDPBadInput(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newUDPReactor(t)
	d := newUDPProto(t)
	lt := udpListen(t, r, "127.0.0.1:0", d)
	peer := udpGoPeer(t, udpFamilies[0])
	peerAddr := udpAddrPort(t, peer.LocalAddr())
	cases := []struct {
		name string
		b    []byte
		to   netip.AddrPort
		want string
		is   error
	}{
		{"zero address", []byte("x"), netip.AddrPort{}, "invalid address", nil},
		{"port 0", []byte("x"), netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), 0), "port 0", nil},
		{"IPv6 from IPv4", []byte("x"), netip.MustParseAddrPort("[::1]:9"), "IPv6 address", nil},
		{"too long", make([]byte, transport.MaxUDPPayload+1), peerAddr, "longer than", syscall.EMSGSIZE},
	}
	for _, c := range cases {
		err := lt.WriteTo(c.b, c.to)
		var oe *transport.OpError
		if err == nil || !errors.As(err, &oe) || oe.Op != "write" || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: WriteTo = %v, want an *OpError saying %q", c.name, err, c.want)
		}
		if c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("%s: %v is not %v", c.name, err, c.is)
		}
	}
	if err := lt.Write([]byte("x")); err == nil || !strings.Contains(err.Error(), "not connected") {
		t.Errorf("Write on a bound socket = %v, want not connected", err)
	}
	// IPv4-mapped IPv6 is IPv4.
	if err := lt.WriteTo([]byte("mapped"), netip.AddrPortFrom(netip.AddrFrom16(peerAddr.Addr().As16()), peerAddr.Port())); err != nil {
		t.Errorf("WriteTo an IPv4-mapped address: %v", err)
	}
	if err := lt.WriteTo([]byte("still fine"), peerAddr); err != nil {
		t.Errorf("WriteTo after the bad ones: %v", err)
	}
	peer.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64)
	for _, want := range []string{"mapped", "still fine"} {
		n, err := peer.Read(buf)
		if err != nil || string(buf[:n]) != want {
			t.Errorf("Go peer read %q, %v; want %q", buf[:n], err, want)
		}
	}

	// A connected socket writes to its peer only.
	ct := udpDialWait(t, r, peer.LocalAddr().String(), newUDPProto(t))
	other := netip.AddrPortFrom(peerAddr.Addr(), peerAddr.Port()+1)
	if err := ct.WriteTo([]byte("x"), other); err == nil || !strings.Contains(err.Error(), "connected") {
		t.Errorf("WriteTo another address on a connected socket = %v", err)
	}
	if err := ct.WriteTo([]byte("to the peer"), peerAddr); err != nil {
		t.Errorf("WriteTo the peer on a connected socket: %v", err)
	}
	if n, err := peer.Read(buf); err != nil || string(buf[:n]) != "to the peer" {
		t.Errorf("Go peer read %q, %v", buf[:n], err)
	}
	ct.Close()

	// Bad listens are errors, not panics.
	for _, c := range []struct{ network, addr string }{
		{"udp", "no-port"}, {"udp", "127.0.0.1:99999"}, {"tcp", "127.0.0.1:0"}, {"udp6", "127.0.0.1:0"},
	} {
		if tr, err := transport.ListenDatagram(r, c.network, c.addr, newUDPProto(t)); err == nil {
			t.Errorf("ListenDatagram(%q, %q) succeeded", c.network, c.addr)
			tr.Close()
		}
	}
	if _, err := transport.ListenUDP(r, "127.0.0.1:0", nil); !errors.Is(err, deferred.ErrNil) {
		t.Errorf("ListenUDP with a nil protocol: %v", err)
	}
	if _, err := transport.ListenUDP(nil, "127.0.0.1:0", newUDPProto(t)); err == nil {
		t.Errorf("ListenUDP with a nil reactor succeeded")
	}
	// Bad dials are rejected promises.
	for _, c := range []struct{ network, addr string }{
		{"udp", "no-port"}, {"udp", "127.0.0.1:99999"}, {"udp", "127.0.0.1:0"}, {"tcp", "127.0.0.1:9"}, {"udp6", "127.0.0.1:9"}, {"udp4", "[::1]:9"},
	} {
		p := newUDPProto(t)
		var derr error
		pr := transport.DialDatagram(r, c.network, c.addr, p)
		pr.OnError(func(err error) { derr = err })
		udpRunUntil(t, r, "the dial", pr.Settled)
		var oe *transport.OpError
		if derr == nil {
			t.Errorf("DialDatagram(%q, %q) succeeded", c.network, c.addr)
		} else if !errors.As(derr, &oe) {
			t.Errorf("DialDatagram(%q, %q): %v is not an *OpError", c.network, c.addr, derr)
		}
		if p.t != nil {
			t.Errorf("DialDatagram(%q, %q) started the protocol", c.network, c.addr)
		}
	}
	lt.Close()
	if err := lt.WriteTo([]byte("x"), peerAddr); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("WriteTo after Close = %v, want ErrClosed", err)
	}
	if err := lt.SetReadBuffer(1024); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("SetReadBuffer after Close = %v, want ErrClosed", err)
	}
	if err := lt.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	udpRunUntil(t, r, "StopProtocol", func() bool { return d.stops == 1 })
}

// TestUDPClose: StopProtocol follows Close on a later pass, never inside
// it; a Close from DatagramReceived stops the datagrams at once, though
// more are waiting; closing the reactor stops a socket with ErrClosed and
// releases it.
func TestUDPClose(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newUDPReactor(t)
	d := newUDPProto(t)
	d.onData = func([]byte, netip.AddrPort) { d.t.Close() }
	lt := udpListen(t, r, "127.0.0.1:0", d)
	peer := udpGoPeer(t, udpFamilies[0])
	for range 10 {
		peer.WriteToUDPAddrPort([]byte("x"), udpAddrPort(t, lt.LocalAddr()))
	}
	udpRunUntil(t, r, "a datagram", func() bool { return len(d.got) > 0 })
	if d.stops != 0 {
		t.Errorf("StopProtocol ran inside Close")
	}
	if lt.State()&transport.Closed == 0 {
		t.Errorf("state %v after Close", lt.State())
	}
	udpRunUntil(t, r, "StopProtocol", func() bool { return d.stops == 1 })
	for range 5 {
		r.RunOnce(0)
	}
	if len(d.got) != 1 || d.stopErr != nil {
		t.Errorf("%d datagrams after a Close in the first; StopProtocol(%v)", len(d.got), d.stopErr)
	}

	// The reactor closes.
	r2, err := reactor.New(reactor.WithoutSignalHandlers())
	if err != nil {
		t.Fatal(err)
	}
	d2 := newUDPProto(t)
	udpListen(t, r2, "127.0.0.1:0", d2)
	d3 := newUDPProto(t)
	udpDialWait(t, r2, peer.LocalAddr().String(), d3)
	r2.Close()
	for _, d := range []*udpProto{d2, d3} {
		if d.stops != 1 || !errors.Is(d.stopErr, transport.ErrClosed) {
			t.Errorf("after the reactor closed: StopProtocol called %d times, with %v; want once with ErrClosed", d.stops, d.stopErr)
		}
	}
	if _, err := transport.ListenUDP(r2, "127.0.0.1:0", newUDPProto(t)); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("ListenUDP on a closed reactor: %v", err)
	}
	var derr error
	transport.DialUDP(r2, "127.0.0.1:9", newUDPProto(t)).OnError(func(err error) { derr = err })
	if !errors.Is(derr, transport.ErrClosed) {
		t.Errorf("DialUDP on a closed reactor: %v", derr)
	}
}

// TestUDPDialName: a host name is resolved off the loop and connected to;
// a dial cancelled, or whose reactor closes, while the name is being
// resolved is rejected and its protocol hears nothing.
func TestUDPDialName(t *testing.T) {
	if _, err := net.LookupHost("localhost"); err != nil {
		t.Skipf("localhost does not resolve here: %v", err)
	}
	reactortest.CheckLeaks(t)
	r := newUDPReactor(t)
	peer := udpGoPeer(t, udpFamilies[0])
	port := peer.LocalAddr().(*net.UDPAddr).Port
	d := newUDPProto(t)
	var ct transport.DatagramTransport
	pr0 := transport.DialDatagram(r, "udp4", fmt.Sprintf("localhost:%d", port), d)
	pr0.OnValue(func(v transport.DatagramTransport) { ct = v })
	pr0.OnError(func(err error) { t.Fatal(err) })
	udpRunUntil(t, r, "the dial", pr0.Settled)
	if d.t != ct {
		t.Errorf("StartProtocol did not get the transport the dial resolved with")
	}
	if err := ct.Write([]byte("by name")); err != nil {
		t.Fatal(err)
	}
	peer.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64)
	n, from, err := peer.ReadFromUDPAddrPort(buf)
	if err != nil || string(buf[:n]) != "by name" || from != udpAddrPort(t, ct.LocalAddr()) {
		t.Errorf("Go peer read %q from %v, %v; want %q from %v", buf[:n], from, err, "by name", ct.LocalAddr())
	}
	ct.Close()

	cancelled := newUDPProto(t)
	var cerr error
	pr := transport.DialDatagram(r, "udp4", fmt.Sprintf("localhost:%d", port), cancelled)
	pr.OnError(func(err error) { cerr = err })
	pr.Cancel()
	if !errors.Is(cerr, transport.ErrCancelled) {
		t.Errorf("cancelled dial: %v, want ErrCancelled", cerr)
	}

	r2, err := reactor.New(reactor.WithoutSignalHandlers())
	if err != nil {
		t.Fatal(err)
	}
	closed := newUDPProto(t)
	var rerr error
	transport.DialUDP(r2, fmt.Sprintf("localhost:%d", port), closed).OnError(func(err error) { rerr = err })
	r2.Close()
	if !errors.Is(rerr, transport.ErrClosed) {
		t.Errorf("dial on a reactor that closed: %v, want ErrClosed", rerr)
	}
	// Let a lookup that was under way finish: it must not start anything.
	for range 10 {
		r.RunOnce(5 * time.Millisecond)
	}
	if cancelled.t != nil || closed.t != nil || cancelled.stops+closed.stops != 0 {
		t.Errorf("a dial that did not complete reached its protocol")
	}
	udpRunUntil(t, r, "StopProtocol", func() bool { return d.stops == 1 })
}

// TestUDPPauseReading: nothing is delivered while reading is paused; what
// waited arrives after ResumeReading.
func TestUDPPauseReading(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newUDPReactor(t)
	d := newUDPProto(t)
	lt := udpListen(t, r, "127.0.0.1:0", d)
	lt.PauseReading()
	if lt.State()&transport.ReadPaused == 0 {
		t.Errorf("state %v after PauseReading", lt.State())
	}
	peer := udpGoPeer(t, udpFamilies[0])
	for i := range 3 {
		peer.WriteToUDPAddrPort([]byte{byte(i)}, udpAddrPort(t, lt.LocalAddr()))
	}
	for range 20 {
		r.RunOnce(time.Millisecond)
	}
	if len(d.got) != 0 {
		t.Fatalf("%d datagrams delivered while paused", len(d.got))
	}
	lt.ResumeReading()
	udpRunUntil(t, r, "the datagrams", func() bool { return len(d.got) == 3 })
	lt.Close()
	udpRunUntil(t, r, "StopProtocol", func() bool { return d.stops == 1 })
}
