package transporttest

import (
	"bytes"
	"hash/crc32"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/transport"
)

func init() {
	for _, network := range networks() {
		add("echo/"+network, func(t *testing.T, newLoop reactortest.NewLoop) {
			skipUnless(t, network)
			l := newLoop(t)
			r := l.Reactor()
			lg := guard(t, r)
			ends := &countdown{n: 2, f: r.Stop}
			var serverLost []error
			ln := listen(t, r, network, func(a net.Addr) transport.Protocol {
				p := echo(lg)(a).(*proto)
				p.lost = func(err error) { serverLost = append(serverLost, err); ends.done() }
				return p
			})
			want := "hello, loom: one write, then a writev of three"
			var got bytes.Buffer
			var clientLost error = errNotYet
			var tr transport.Transport
			c := &proto{lg: lg}
			c.made = func(t2 transport.Transport) {
				if err := t2.Write([]byte("hello, loom: ")); err != nil {
					t.Error(err)
				}
				if err := t2.Writev([][]byte{[]byte("one write, "), []byte("then a writev "), []byte("of three")}); err != nil {
					t.Error(err)
				}
			}
			c.data = func(b []byte) {
				got.Write(b)
				if got.Len() >= len(want) {
					c.t.LoseConnection()
				}
			}
			c.lost = func(err error) { clientLost = err; ends.done() }
			dial(t, r, network, dialAddr(ln), c).OnValue(func(t2 transport.Transport) {
				tr = t2
				if t2.State()&transport.Open == 0 {
					t.Errorf("State after dial = %v, want open", t2.State())
				}
				if t2.RemoteAddr() == nil || t2.LocalAddr() == nil {
					t.Errorf("addresses: local %v, remote %v", t2.LocalAddr(), t2.RemoteAddr())
				}
			})
			reactortest.RunFor(t, l, limit)
			if got.String() != want {
				t.Errorf("echoed %q, want %q", got.String(), want)
			}
			if clientLost != nil {
				t.Errorf("client ConnectionLost(%v), want nil", clientLost)
			}
			if len(serverLost) != 1 || serverLost[0] != nil {
				t.Errorf("server ConnectionLost calls: %v, want one with nil", serverLost)
			}
			if tr != nil && tr.State()&transport.Closed == 0 {
				t.Errorf("State after close = %v", tr.State())
			}
		})
	}

	add("flow/big-transfer-through-a-pausing-reader", func(t *testing.T, newLoop reactortest.NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		lg := guard(t, r)
		total := bigTransfer()
		// The server echoes, pausing its reads while its writes are
		// paused: its buffer may pass the high mark by one read at most.
		serverPeak := 0
		ln := listen(t, r, "tcp4", func(net.Addr) transport.Protocol {
			p := &proto{lg: lg}
			p.data = func(b []byte) {
				if err := p.t.Write(b); err != nil {
					t.Errorf("server Write: %v", err)
					p.t.Abort()
				}
				serverPeak = max(serverPeak, p.t.Buffered())
			}
			p.pause = func() { p.t.PauseReading() }
			p.resume = func() { p.t.ResumeReading() }
			return p
		})
		block := make([]byte, 1<<20)
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range block {
			block[i] = byte(rng.Uint32())
		}
		const chunk = 32 << 10
		var sent, received int64
		var sentSum, gotSum uint32
		paused, done := false, false
		clientPeak, pauses := 0, 0
		var lost error = errNotYet
		c := &proto{lg: lg}
		fill := func() {
			for !paused && sent < total {
				off := int(sent % (int64(len(block)) - chunk))
				n := int(min(chunk, total-sent))
				b := block[off : off+n]
				if err := c.t.Write(b); err != nil {
					t.Errorf("client Write: %v", err)
					c.t.Abort()
					return
				}
				sentSum = crc32.Update(sentSum, crc32.IEEETable, b)
				sent += int64(n)
				clientPeak = max(clientPeak, c.t.Buffered())
			}
			if sent == total && !done {
				done = true
				if err := c.t.LoseWriteConnection(); err != nil {
					t.Error(err)
				}
			}
		}
		c.made = func(transport.Transport) { fill() }
		c.pause = func() { paused = true }
		c.resume = func() { paused = false; fill() }
		nextPause := int64(64 << 20)
		c.data = func(b []byte) {
			gotSum = crc32.Update(gotSum, crc32.IEEETable, b)
			received += int64(len(b))
			if received >= nextPause {
				nextPause += 64 << 20
				pauses++
				c.t.PauseReading()
				r.CallLater(2*time.Millisecond, c.t.ResumeReading)
			}
		}
		c.lost = func(err error) { lost = err; r.Stop() }
		dial(t, r, "tcp4", dialAddr(ln), c)
		reactortest.RunFor(t, l, limit)
		if lost != nil {
			t.Errorf("client ConnectionLost(%v), want nil", lost)
		}
		if received != total || gotSum != sentSum {
			t.Errorf("received %d bytes (crc %08x), sent %d (crc %08x)", received, gotSum, total, sentSum)
		}
		if max := transport.DefaultHighWater + transport.ReadSize; serverPeak > max {
			t.Errorf("server's write buffer peaked at %d bytes, want at most the high mark plus one read, %d", serverPeak, max)
		}
		if max := transport.DefaultHighWater + chunk; clientPeak > max {
			t.Errorf("client's write buffer peaked at %d bytes, want at most the high mark plus one write, %d", clientPeak, max)
		}
		t.Logf("%d MiB each way, %d read pauses; peak buffered: server %d, client %d", total>>20, pauses, serverPeak, clientPeak)
	})
}
