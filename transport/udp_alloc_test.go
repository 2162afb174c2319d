//go:build linux && !race

// The race detector changes what escapes: allocation counts are only
// meaningful without it.

package transport_test

import (
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/loomkit/loom/transport"
)

type udpEcho struct{ t transport.DatagramTransport }

func (e *udpEcho) StartProtocol(t transport.DatagramTransport) { e.t = t }
func (e *udpEcho) DatagramReceived(b []byte, from netip.AddrPort) {
	e.t.WriteTo(b, from)
}
func (e *udpEcho) ErrorReceived(error) {}
func (e *udpEcho) StopProtocol(error)  {}

// TestUDPEchoAllocatesNothing: in steady state a datagram received by a
// bound socket and sent back with WriteTo to its sender allocates nothing,
// over IPv4 and IPv6.
func TestUDPEchoAllocatesNothing(t *testing.T) {
	if os.Getenv("LOOM_DEBUG") == "1" {
		t.Skip("debug mode reads goroutine ids on every loop-only call")
	}
	forUDPFamilies(t, func(t *testing.T, f udpFamily) {
		r := newUDPReactor(t)
		e := &udpEcho{}
		lt := udpListen(t, r, f.addr(0), e)
		defer lt.Close()
		peer := udpGoPeer(t, f)
		peer.SetReadDeadline(time.Now().Add(time.Minute))
		to := udpAddrPort(t, lt.LocalAddr())
		msg := []byte("ping")
		buf := make([]byte, 64)
		round := func() {
			if _, err := peer.WriteToUDPAddrPort(msg, to); err != nil {
				t.Fatal(err)
			}
			r.RunOnce(time.Second)
			if n, _, err := peer.ReadFromUDPAddrPort(buf); err != nil || n != len(msg) {
				t.Fatalf("echo: %d bytes, %v", n, err)
			}
		}
		round()
		if a := testing.AllocsPerRun(1000, round); a != 0 {
			t.Errorf("%v allocations per echoed datagram", a)
		}
	})
}
