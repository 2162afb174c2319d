package transport

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/internal/socktest"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
)

type nop struct{ made, lost int }

func (n *nop) ConnectionMade(Transport) { n.made++ }
func (n *nop) DataReceived([]byte)      {}
func (n *nop) ConnectionLost(error)     { n.lost++ }

func TestTargetOrder(t *testing.T) {
	aps := []string{"[2001:db8::1]:1", "[2001:db8::2]:1", "[2001:db8::3]:1", "192.0.2.1:1", "192.0.2.2:1"}
	var in []netip.AddrPort
	for _, s := range aps {
		in = append(in, netip.MustParseAddrPort(s))
	}
	d := &dial{netw: "tcp", tried: 99} // tried past the end: next starts nothing
	d.done = true
	d.setTargets(in)
	var got []string
	for _, tg := range d.targets {
		got = append(got, tg.addr.String())
	}
	want := "[[2001:db8::1]:1 192.0.2.1:1 [2001:db8::2]:1 192.0.2.2:1 [2001:db8::3]:1]"
	if fmt.Sprint(got) != want {
		t.Errorf("order %v, want %v (RFC 8305: families interleaved, first family first)", got, want)
	}
	d4 := &dial{netw: "tcp4", tried: 99, done: true}
	d4.setTargets(in)
	if len(d4.targets) != 2 {
		t.Errorf("tcp4 kept %d targets, want the 2 IPv4 ones", len(d4.targets))
	}
}

// An address that neither connects nor fails is given the fallback
// delay, then the next one is tried as well; the first to connect wins
// and the one still connecting is closed.
func TestFallbackDelay(t *testing.T) {
	reactortest.CheckLeaks(t)
	r, err := reactor.New(reactor.WithoutSignalHandlers())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	hang := netip.MustParseAddrPort(socktest.FullListener(t))
	l, err := ListenTCP(r, "127.0.0.1:0", func(net.Addr) Protocol { return &nop{} })
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	good := l.Addr().(*net.TCPAddr).AddrPort()

	p := &nop{}
	promise, res := deferred.NewPromise[Transport]()
	cfg := newConfig([]Option{WithFallbackDelay(100 * time.Millisecond)})
	d := &dial{r: r, netw: "tcp", addr: "test", p: p, cfg: cfg, res: res}
	d.unhook = func() {}
	start := time.Now()
	var elapsed time.Duration
	promise.OnValue(func(tr Transport) {
		elapsed = time.Since(start)
		if tr.RemoteAddr().String() != good.String() {
			t.Errorf("connected to %v, want %v", tr.RemoteAddr(), good)
		}
		tr.Abort()
		r.Stop()
	})
	promise.OnError(func(err error) { t.Error(err); r.Stop() })
	r.CallSoon(func() {
		d.setTargets([]netip.AddrPort{hang, good})
		if d.tried != 1 || len(d.pending) != 1 {
			t.Errorf("at first: %d tried, %d pending; want the first address alone", d.tried, len(d.pending))
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r.Run(ctx)
	if elapsed < 100*time.Millisecond {
		t.Errorf("the second address won after %v, before the fallback delay", elapsed)
	}
	if len(d.pending) != 0 {
		t.Errorf("%d attempts still pending after the win", len(d.pending))
	}
	if p.made != 1 {
		t.Errorf("ConnectionMade called %d times", p.made)
	}
}
