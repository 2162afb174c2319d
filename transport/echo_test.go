package transport_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/transport"
)

type echo struct{ t transport.Transport }

func (e *echo) ConnectionMade(t transport.Transport) { e.t = t }
func (e *echo) DataReceived(b []byte)                { e.t.Write(b) }
func (e *echo) ConnectionLost(error)                 {}

type collect struct {
	t    transport.Transport
	got  bytes.Buffer
	want int
	lost chan error
	made func(transport.Transport)
}

func (c *collect) ConnectionMade(t transport.Transport) {
	c.t = t
	if c.made != nil {
		c.made(t)
	}
}
func (c *collect) DataReceived(b []byte) {
	c.got.Write(b)
	if c.got.Len() >= c.want {
		c.t.LoseConnection()
	}
}
func (c *collect) ConnectionLost(err error) { c.lost <- err }

func newReactor(t *testing.T) *reactor.Reactor {
	t.Helper()
	r, err := reactor.New(reactor.WithoutSignalHandlers())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestEchoSmoke(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	l, err := transport.ListenTCP(r, "127.0.0.1:0", func(net.Addr) transport.Protocol { return &echo{} })
	if err != nil {
		t.Fatal(err)
	}
	msg := bytes.Repeat([]byte("loom "), 100000)
	c := &collect{want: len(msg), lost: make(chan error, 1)}
	c.made = func(tr transport.Transport) {
		if err := tr.Write(msg); err != nil {
			t.Error(err)
		}
	}
	p := transport.DialTCP(r, l.Addr().String(), c)
	p.OnError(func(err error) { t.Error(err); r.Stop() })
	var lost error
	r.CallLater(0, func() {})
	go func() {}()
	done := make(chan struct{})
	go func() {
		lost = <-c.lost
		r.CallFromGoroutine(func() { l.Close(); r.Stop() })
		close(done)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r.Run(ctx)
	<-done
	if lost != nil {
		t.Errorf("ConnectionLost: %v", lost)
	}
	if !bytes.Equal(c.got.Bytes(), msg) {
		t.Errorf("got %d bytes, want %d", c.got.Len(), len(msg))
	}
}

func TestDialRefused(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	var got error
	transport.DialTCP(r, addr, &echo{}).OnError(func(err error) { got = err; r.Stop() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r.Run(ctx)
	if !errors.Is(got, transport.ErrRefused) {
		t.Fatalf("got %v, want ErrRefused", got)
	}
	t.Log(got)
}
