package transporttest

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/transport"
	"golang.org/x/sys/unix"
)

func init() {
	add("dial/refused", func(t *testing.T, newLoop reactortest.NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		lg := guard(t, r)
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		var got error
		c := &proto{lg: lg}
		c.made = func(transport.Transport) { t.Error("ConnectionMade on a refused dial") }
		transport.DialTCP(r, addr, c).OnError(func(err error) { got = err; r.Stop() })
		reactortest.RunFor(t, l, limit)
		isErr(t, "dial to a closed port", got, transport.ErrRefused)
		var oe *transport.OpError
		if !errors.As(got, &oe) || oe.Op != "dial" || oe.Addr == nil {
			t.Errorf("dial error %#v: want an *OpError for dial naming the address", got)
		}
	})

	add("dial/timeout-when-the-accept-queue-is-full", func(t *testing.T, newLoop reactortest.NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		lg := guard(t, r)
		addr := FullListener(t)
		var got error
		start := time.Now()
		transport.DialTCP(r, addr, &proto{lg: lg}, transport.WithTimeout(300*time.Millisecond)).
			OnError(func(err error) { got = err; r.Stop() })
		reactortest.RunFor(t, l, limit)
		isErr(t, "dial to a full accept queue", got, transport.ErrTimeout)
		if d := time.Since(start); d < 300*time.Millisecond {
			t.Errorf("timed out after %v, before the 300ms timeout", d)
		}
		var ne net.Error
		if !errors.As(got, &ne) || !ne.Timeout() {
			t.Errorf("dial error %v: want a net.Error whose Timeout is true", got)
		}
	})

	add("dial/cancel-frees-the-socket", func(t *testing.T, newLoop reactortest.NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		lg := guard(t, r)
		addr := FullListener(t)
		var got error
		var before, during, after int
		// Twice, counting the second time: a backend may open
		// descriptors of its own on its first watch (poll's prober).
		var try func(round int)
		try = func(round int) {
			before = reactortest.OpenFDs(t)
			p := transport.DialTCP(r, addr, &proto{lg: lg})
			p.OnError(func(err error) {
				got = err
				after = reactortest.OpenFDs(t)
				if round == 1 {
					try(2)
				} else {
					r.Stop()
				}
			})
			r.CallLater(100*time.Millisecond, func() {
				during = reactortest.OpenFDs(t)
				p.Cancel()
			})
		}
		try(1)
		reactortest.RunFor(t, l, limit)
		isErr(t, "a cancelled dial", got, transport.ErrCancelled)
		if during <= before {
			t.Errorf("descriptors: %d before the dial, %d while connecting: want one more", before, during)
		}
		if after != before {
			t.Errorf("descriptors: %d before the dial, %d after Cancel", before, after)
		}
	})

	add("accept/out-of-descriptors-refuses-and-recovers", func(t *testing.T, newLoop reactortest.NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		lg := guard(t, r)
		accepted := 0
		ln := listen(t, r, "tcp4", func(net.Addr) transport.Protocol {
			accepted++
			p := &proto{lg: lg}
			p.made = func(tr transport.Transport) { tr.Write([]byte("welcome")); tr.LoseConnection() }
			return p
		})
		// Connect three clients while there are descriptors, then use
		// up the rest, so the listener's accepts fail with EMFILE.
		var clients []int
		for range 3 {
			clients = append(clients, rawConnect(t, ln.Addr().(*net.TCPAddr).Port))
		}
		defer func() {
			for _, fd := range clients {
				unix.Close(fd)
			}
		}()
		// Used up on the loop, once it runs: a GUI loop may open
		// descriptors of its own as it starts.
		restore := func() {}
		timerRan := false
		r.CallSoon(func() { restore = exhaustDescriptors(t) })
		r.CallLater(200*time.Millisecond, func() {
			timerRan = true
			if ln.Refused() == 0 {
				t.Errorf("out of descriptors: Refused = %d, Accepted = %d", ln.Refused(), ln.Accepted())
			}
			restore()
			// Descriptors again: the listener still accepts.
			c := &proto{lg: lg}
			c.data = func(b []byte) {
				if string(b) != "welcome" {
					t.Errorf("read %q", b)
				}
			}
			c.lost = func(err error) {
				if err != nil {
					t.Errorf("ConnectionLost(%v)", err)
				}
				r.Stop()
			}
			dial(t, r, "tcp4", ln.Addr().String(), c)
		})
		reactortest.RunFor(t, l, limit)
		restore()
		if !timerRan {
			t.Error("the timer did not run while the listener was out of descriptors")
		}
		if accepted != 1 {
			t.Errorf("factory called %d times, want 1 (after descriptors came back)", accepted)
		}
		// The refused clients were closed by the listener: their reads
		// see the end (or a reset), not a connection waiting forever.
		for _, fd := range clients {
			unix.SetNonblock(fd, false)
			tv := unix.NsecToTimeval(int64(5 * time.Second))
			unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
			n, err := unix.Read(fd, make([]byte, 16))
			if n > 0 || err == unix.EAGAIN {
				t.Errorf("a client refused for lack of descriptors read %d bytes, %v: want EOF or a reset", n, err)
			}
		}
	})

	add("cycles/ten-thousand-connections", func(t *testing.T, newLoop reactortest.NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		lg := guard(t, r)
		total := 10000
		if testing.Short() {
			total = 1000
		}
		const batch = 50
		serverLost, clientLost, started := 0, 0, 0
		ln := listen(t, r, "tcp4", func(net.Addr) transport.Protocol {
			p := &proto{lg: lg}
			p.data = func(b []byte) { p.t.Write(b) }
			p.lost = func(err error) {
				serverLost++
				if err != nil && !errors.Is(err, transport.ErrReset) {
					t.Errorf("server ConnectionLost(%v)", err)
				}
				if clientLost == total && serverLost == total {
					r.Stop()
				}
			}
			return p
		})
		var next func()
		next = func() {
			if started == total {
				return
			}
			started++
			i := started
			c := &proto{lg: lg}
			c.made = func(tr transport.Transport) { tr.Write([]byte("x")) }
			c.data = func([]byte) {
				if i%2 == 0 {
					c.t.LoseConnection()
				} else {
					c.t.Abort() // no TIME_WAIT for half of them
				}
			}
			c.lost = func(err error) {
				clientLost++
				if i%2 == 0 && err != nil {
					t.Errorf("client ConnectionLost(%v)", err)
				}
				if clientLost == total && serverLost == total {
					r.Stop()
				}
				next()
			}
			dial(t, r, "tcp4", ln.Addr().String(), c)
		}
		for range batch {
			next()
		}
		reactortest.RunFor(t, l, 5*limit)
		if clientLost != total || serverLost != total {
			t.Errorf("%d of %d connections ended on the client side, %d on the server side", clientLost, total, serverLost)
		}
		if ln.Accepted() != uint64(total) {
			t.Errorf("Accepted = %d, want %d", ln.Accepted(), total)
		}
	})
}
