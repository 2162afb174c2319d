package protocol_test

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/protocol"
	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/transport"
)

// ReadFrame on a stream reads a frame; refuses a prefix over the maximum,
// leaving what follows it to the next read; reports a frame the end of the
// stream cuts short as the stream's ReadFull does; and, cancelled while
// it waits, is rejected with ErrCancelled.
func TestReadFrameOnStream(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	wire := "\x00\x00\x00\x03abc" + "\x00\x20\x00\x00" + "tail" + "\x00\x00\x00\x0aabc"
	send := make(map[int]func())
	conns := 0
	addr := listen(t, r, func(net.Addr) transport.Protocol {
		conns++
		n := conns
		return &handler{made: func(h *handler) {
			send[n] = func() { h.t.Write([]byte(wire)); h.t.LoseConnection() }
			if n == 1 {
				send[n]()
			}
		}}
	})
	var steps []string
	client := deferred.Async(r, func(co *deferred.Co) (struct{}, error) {
		s, err := deferred.Await(co, transport.DialStream(r, "tcp", addr))
		if err != nil {
			return struct{}{}, err
		}
		defer s.Close()
		f, err := deferred.Await(co, protocol.ReadFrame(s))
		if string(f) != "abc" || err != nil {
			t.Errorf("first frame %q, %v", f, err)
		}
		_, err = deferred.Await(co, protocol.ReadFrame(s))
		if !errors.Is(err, protocol.ErrFrameTooLong) {
			t.Errorf("a prefix of 2 MiB: %v, want ErrFrameTooLong", err)
		}
		steps = append(steps, err.Error())
		tail, err := deferred.Await(co, s.ReadFull(4))
		if string(tail) != "tail" || err != nil {
			t.Errorf("after the refused prefix: %q, %v", tail, err)
		}
		_, err = deferred.Await(co, protocol.ReadFrame(s))
		var short *transport.IncompleteReadError
		if !errors.Is(err, io.ErrUnexpectedEOF) || !errors.As(err, &short) {
			t.Errorf("a frame cut short: %v", err)
		}
		steps = append(steps, err.Error())

		// A read that waits, cancelled.
		s2, err := deferred.Await(co, transport.DialStream(r, "tcp", addr))
		if err != nil {
			return struct{}{}, err
		}
		defer s2.Close()
		p := protocol.ReadFrame(s2)
		r.CallLater(10*time.Millisecond, p.Cancel)
		if _, err := deferred.Await(co, p); !errors.Is(err, deferred.ErrCancelled) {
			t.Errorf("cancelled: %v", err)
		}
		send[2]() // what comes after the cancel is there for the next read
		f, err = deferred.Await(co, protocol.ReadFrame(s2))
		if string(f) != "abc" || err != nil {
			t.Errorf("after the cancel: %q, %v", f, err)
		}
		return struct{}{}, nil
	})
	client.OnValue(func(struct{}) { r.Stop() })
	client.OnError(func(err error) { t.Error(err); r.Stop() })
	runLoop(t, r, 10*time.Second)
	for _, s := range steps {
		t.Log(s)
	}
}
