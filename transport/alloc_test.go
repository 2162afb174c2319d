//go:build linux

package transport_test

import (
	"net"
	"runtime"
	"testing"

	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/transport"
	"golang.org/x/sys/unix"
)

// An echoed message costs no allocation: not the read (a pooled buffer),
// not the write (straight to the kernel), not the reactor's dispatch.
func TestEchoAllocatesNothing(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	l, err := transport.ListenTCP(r, "127.0.0.1:0", echoFactory)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	port := l.Addr().(*net.TCPAddr).Port
	if err := unix.Connect(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port}); err != nil {
		t.Fatal(err)
	}
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	unix.SetNonblock(fd, true)
	msg, buf := make([]byte, 64), make([]byte, 64)
	roundTrip := func() {
		if _, err := unix.Write(fd, msg); err != nil {
			t.Fatal(err)
		}
		for got := 0; got < len(msg); {
			if err := r.RunOnce(-1); err != nil {
				t.Fatal(err)
			}
			n, err := unix.Read(fd, buf)
			if err == nil {
				got += n
			}
		}
	}
	for range 100 { // accept, ConnectionMade, warm pools
		roundTrip()
	}
	if a := testing.AllocsPerRun(1000, roundTrip); a != 0 {
		t.Errorf("%.2f allocations per echoed message, want 0", a)
	}
	// A program that allocates elsewhere (any GUI) collects garbage all
	// the time: the read buffer must survive collections.
	if a := testing.AllocsPerRun(100, func() { runtime.GC(); runtime.GC(); roundTrip() }); a != 0 {
		t.Errorf("%.2f allocations per echoed message with collections in between, want 0", a)
	}
}
