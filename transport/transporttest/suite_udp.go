package transporttest

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/transport"
)

// dgram is a datagram protocol made of functions, checked by its guard.
type dgram struct {
	lg      *loopGuard
	t       transport.DatagramTransport
	start   func(transport.DatagramTransport)
	data    func(b []byte, from netip.AddrPort)
	errs    func(error)
	stopped func(error)
}

func (d *dgram) StartProtocol(t transport.DatagramTransport) {
	d.lg.check("StartProtocol")
	d.t = t
	if d.start != nil {
		d.start(t)
	}
}

func (d *dgram) DatagramReceived(b []byte, from netip.AddrPort) {
	d.lg.check("DatagramReceived")
	if d.data != nil {
		d.data(b, from)
	}
}

func (d *dgram) ErrorReceived(err error) {
	d.lg.check("ErrorReceived")
	if d.errs != nil {
		d.errs(err)
	}
}

func (d *dgram) StopProtocol(err error) {
	d.lg.check("StopProtocol")
	if d.stopped != nil {
		d.stopped(err)
	}
}

func init() {
	add("udp/echo", func(t *testing.T, newLoop reactortest.NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		lg := guard(t, r)
		server := &dgram{lg: lg}
		server.data = func(b []byte, from netip.AddrPort) {
			if err := server.t.WriteTo(b, from); err != nil {
				t.Errorf("WriteTo: %v", err)
			}
		}
		st, err := transport.ListenUDP(r, "127.0.0.1:0", server)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		sizes := []int{1, 512, 1500, 60000}
		var got []int
		stops := 0
		client := &dgram{lg: lg}
		client.start = func(ct transport.DatagramTransport) {
			for _, n := range sizes {
				if err := ct.Write(make([]byte, n)); err != nil {
					t.Errorf("Write(%d bytes): %v", n, err)
				}
			}
		}
		client.data = func(b []byte, from netip.AddrPort) {
			if from.String() != st.LocalAddr().String() {
				t.Errorf("datagram from %v, want the server %v", from, st.LocalAddr())
			}
			if got = append(got, len(b)); len(got) == len(sizes) {
				client.t.Close()
			}
		}
		client.stopped = func(err error) {
			stops++
			if err != nil {
				t.Errorf("StopProtocol(%v)", err)
			}
			r.Stop()
		}
		transport.DialUDP(r, st.LocalAddr().String(), client).OnError(func(err error) { t.Error(err); r.Stop() })
		reactortest.RunFor(t, l, limit)
		slices.Sort(got) // UDP keeps no order
		equalInts(t, "echoed datagram sizes", got, sizes)
		if stops != 1 {
			t.Errorf("StopProtocol called %d times", stops)
		}
	})

	add("udp/refused", func(t *testing.T, newLoop reactortest.NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		lg := guard(t, r)
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := pc.LocalAddr().String()
		pc.Close()
		var refused error
		c := &dgram{lg: lg}
		c.start = func(ct transport.DatagramTransport) { ct.Write([]byte("anyone?")) }
		c.errs = func(err error) {
			if refused == nil {
				refused = err
				c.t.Close()
			}
		}
		c.stopped = func(error) { r.Stop() }
		transport.DialUDP(r, addr, c).OnError(func(err error) { t.Error(err); r.Stop() })
		reactortest.RunFor(t, l, limit)
		if !errors.Is(refused, transport.ErrRefused) {
			t.Errorf("ErrorReceived(%v), want ErrRefused", refused)
		}
	})
}

func equalInts(t testing.TB, what string, got, want []int) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
		return
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("%s: got %v, want %v", what, got, want)
			return
		}
	}
}
