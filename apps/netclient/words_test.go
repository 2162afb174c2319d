package netclient

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/protocol"
	"github.com/loomkit/loom/transport"
)

func TestDescribe(t *testing.T) {
	op := func(err error) error { return &transport.OpError{Op: "dial", Net: "tcp", Err: err} }
	for _, c := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{op(transport.ErrRefused), "refused: nothing is listening there"},
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, "refused: nothing is listening there"},
		{op(transport.ErrReset), "reset by the peer"},
		{op(transport.ErrTimeout), "timed out"},
		{op(transport.ErrUnreachable), "unreachable: no route to the host"},
		{fmt.Errorf("fetch: %w", deferred.ErrCancelled), "cancelled"},
		{op(&net.DNSError{Name: "nowhere.invalid", Err: "no such host", IsNotFound: true}), "no such host: nowhere.invalid"},
		{&protocol.BodyError{Received: 3 << 20, Total: 8 << 20, Err: syscall.ECONNRESET}, "broke off after 3.0 MiB of 8.0 MiB: reset by the peer"},
		{&protocol.BodyError{Received: 100, Total: -1, Err: errors.New("unexpected EOF")}, "broke off after 100 B: unexpected EOF"},
		{errors.New("read tcp: something odd"), "something odd"},
	} {
		if got := Describe(c.err); got != c.want {
			t.Errorf("Describe(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

func TestWords(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{Bytes(0), "0 B"},
		{Bytes(1023), "1023 B"},
		{Bytes(1536), "1.5 KiB"},
		{Bytes(48 << 20), "48.0 MiB"},
		{Bytes(3 << 30), "3.00 GiB"},
		{Rate(0), "—"},
		{Rate(6 << 20), "6.0 MiB/s"},
		{Duration(850 * time.Millisecond), "850 ms"},
		{Duration(4200 * time.Millisecond), "4.2 s"},
		{Duration(42 * time.Second), "42 s"},
		{Duration(200 * time.Second), "3 min 20 s"},
		{Duration(65 * time.Minute), "1 h 05 min"},
		{Left(6<<20, 0), ""},
		{Left(1<<20, 4<<20), "less than a second left"},
		{Left(24<<20, 4<<20), "6 s left"},
		{Left(600<<20, 4<<20), "2 min 30 s left"},
		{fileName("http://h/a/big.bin?x=1"), "big.bin"},
		{fileName("http://h/"), "index.html"},
		{fileName("http://h"), "index.html"},
		{fileName("http://h/status/404"), "status-404.txt"},
		{fileName("http://h/.hidden"), "_.hidden"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
