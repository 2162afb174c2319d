package transport

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"golang.org/x/sys/unix"
)

// udpQueueProto records what a socket's send queue tells its protocol.
type udpQueueProto struct {
	t                 DatagramTransport
	errs              []error
	pauses, resumes   int
	stops             int
	stopErr           error
	errsInsideWriteTo int
	inWrite           bool
}

func (p *udpQueueProto) StartProtocol(t DatagramTransport)       { p.t = t }
func (p *udpQueueProto) DatagramReceived([]byte, netip.AddrPort) {}
func (p *udpQueueProto) PauseWriting()                           { p.pauses++ }
func (p *udpQueueProto) ResumeWriting()                          { p.resumes++ }
func (p *udpQueueProto) StopProtocol(err error)                  { p.stops++; p.stopErr = err }

// writeTo is WriteTo, noting that ErrorReceived must not be called now.
func (p *udpQueueProto) writeTo(b []byte, to netip.AddrPort) error {
	p.inWrite = true
	defer func() { p.inWrite = false }()
	return p.t.WriteTo(b, to)
}

func (p *udpQueueProto) ErrorReceived(err error) {
	if p.inWrite {
		p.errsInsideWriteTo++
	}
	p.errs = append(p.errs, err)
}

// udpFakeSend makes sendDatagram fail with the errors in fail, one per
// call, then send for real; it counts the calls.
type udpFakeSend struct {
	fail  []error
	block bool // fail every call with EAGAIN
	calls int
}

func (f *udpFakeSend) install(t *testing.T) {
	t.Cleanup(func() { sendDatagram = unix.Sendto })
	sendDatagram = func(fd int, p []byte, flags int, to unix.Sockaddr) error {
		f.calls++
		if f.block {
			return unix.EAGAIN
		}
		if len(f.fail) > 0 {
			err := f.fail[0]
			f.fail = f.fail[1:]
			return err
		}
		return unix.Sendto(fd, p, flags, to)
	}
}

func udpQueueRunUntil(t *testing.T, r *reactor.Reactor, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within 10s", what)
		}
		r.RunOnce(10 * time.Millisecond)
	}
}

func udpQueueSetup(t *testing.T, opts ...Option) (*reactor.Reactor, *udpConn, *udpQueueProto, *net.UDPConn, netip.AddrPort, *udpFakeSend) {
	t.Helper()
	reactortest.CheckLeaks(t)
	r, err := reactor.New(reactor.WithoutSignalHandlers())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	p := &udpQueueProto{}
	tr, err := ListenUDP(r, "127.0.0.1:0", p, opts...)
	if err != nil {
		t.Fatal(err)
	}
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	peer.SetReadDeadline(time.Now().Add(10 * time.Second))
	f := &udpFakeSend{}
	f.install(t)
	return r, tr.(*udpConn), p, peer, peer.LocalAddr().(*net.UDPAddr).AddrPort(), f
}

func udpReadPeer(t *testing.T, peer *net.UDPConn, n int) [][]byte {
	t.Helper()
	buf := make([]byte, MaxUDPPayload)
	var out [][]byte
	for range n {
		m, err := peer.Read(buf)
		if err != nil {
			t.Fatalf("peer read %d of %d: %v", len(out), n, err)
		}
		out = append(out, bytes.Clone(buf[:m]))
	}
	return out
}

// TestUDPQueue: sends the kernel does not take (EAGAIN) are queued within
// the write limits, in order, told to the protocol with PauseWriting and
// ResumeWriting, refused with ErrBufferFull past the cap, and flushed
// when the socket is writable again.
func TestUDPQueue(t *testing.T) {
	r, u, p, peer, to, f := udpQueueSetup(t, WithWriteLimits(300, 100, 1000))
	f.block = true
	for i := range 10 {
		if err := p.writeTo(bytes.Repeat([]byte{byte(i)}, 100), to); err != nil {
			t.Fatalf("WriteTo %d while the kernel takes nothing: %v", i, err)
		}
		if want := 0; i < 3 && p.pauses != want {
			t.Errorf("paused at %d bytes, below the high mark", u.Buffered())
		}
	}
	if u.Buffered() != 1000 || p.pauses != 1 || u.State()&WritePaused == 0 {
		t.Errorf("Buffered %d, %d pauses, state %v; want 1000, 1, write-paused", u.Buffered(), p.pauses, u.State())
	}
	err := p.writeTo([]byte("x"), to)
	if !errors.Is(err, ErrBufferFull) || u.Buffered() != 1000 {
		t.Errorf("WriteTo past the cap = %v, Buffered %d; want ErrBufferFull, 1000", err, u.Buffered())
	}
	f.block = false
	udpQueueRunUntil(t, r, "the flush", func() bool { return u.Buffered() == 0 })
	got := udpReadPeer(t, peer, 10)
	for i, b := range got {
		if !bytes.Equal(b, bytes.Repeat([]byte{byte(i)}, 100)) {
			t.Errorf("datagram %d arrived as %d bytes of %d: out of order or cut", i, len(b), b[0])
		}
	}
	if p.resumes != 1 || u.State()&WritePaused != 0 || u.writing {
		t.Errorf("%d resumes, state %v, writer registered %v after the flush", p.resumes, u.State(), u.writing)
	}
	// Sending goes straight to the kernel again.
	calls := f.calls
	if err := p.writeTo([]byte("direct"), to); err != nil || u.Buffered() != 0 || f.calls != calls+1 {
		t.Errorf("WriteTo after the flush: %v, Buffered %d", err, u.Buffered())
	}
	if b := udpReadPeer(t, peer, 1); string(b[0]) != "direct" {
		t.Errorf("got %q", b[0])
	}
	if len(p.errs) != 0 {
		t.Errorf("errors: %v", p.errs)
	}
	u.Close()
	udpQueueRunUntil(t, r, "StopProtocol", func() bool { return p.stops == 1 })
	if p.stopErr != nil {
		t.Errorf("StopProtocol(%v) with nothing queued", p.stopErr)
	}
}

// TestUDPQueueCount: empty datagrams, which add no bytes, are bounded by
// MaxQueuedDatagrams.
func TestUDPQueueCount(t *testing.T) {
	r, u, p, peer, to, f := udpQueueSetup(t)
	f.block = true
	for i := range MaxQueuedDatagrams {
		if err := p.writeTo(nil, to); err != nil {
			t.Fatalf("empty datagram %d: %v", i, err)
		}
	}
	if err := p.writeTo(nil, to); !errors.Is(err, ErrBufferFull) {
		t.Errorf("datagram %d: %v, want ErrBufferFull", MaxQueuedDatagrams+1, err)
	}
	peer.SetReadBuffer(1 << 20)
	f.block = false
	udpQueueRunUntil(t, r, "the flush", func() bool { return len(u.q)-u.qhead == 0 })
	if got := udpReadPeer(t, peer, 3); len(got[0])+len(got[1])+len(got[2]) != 0 {
		t.Errorf("empty datagrams arrived with bytes")
	}
	u.Close()
	udpQueueRunUntil(t, r, "StopProtocol", func() bool { return p.stops == 1 })
}

// TestUDPQueueENOBUFS: after ENOBUFS, which writability does not announce
// the end of, the queue is tried again on a timer.
func TestUDPQueueENOBUFS(t *testing.T) {
	r, u, p, peer, to, f := udpQueueSetup(t)
	f.fail = []error{unix.ENOBUFS, unix.ENOBUFS, unix.ENOBUFS}
	if err := p.writeTo([]byte("one"), to); err != nil {
		t.Fatal(err)
	}
	if err := p.writeTo([]byte("two"), to); err != nil {
		t.Fatal(err)
	}
	if u.Buffered() != 6 || u.writing || u.retry == nil {
		t.Errorf("after ENOBUFS: Buffered %d, writer %v, retry timer %v", u.Buffered(), u.writing, u.retry != nil)
	}
	udpQueueRunUntil(t, r, "the flush", func() bool { return u.Buffered() == 0 })
	got := udpReadPeer(t, peer, 2)
	if string(got[0]) != "one" || string(got[1]) != "two" {
		t.Errorf("got %q", got)
	}
	if f.calls != 5 {
		t.Errorf("%d sends, want 3 that failed and 2", f.calls)
	}
	u.Close()
	udpQueueRunUntil(t, r, "StopProtocol", func() bool { return p.stops == 1 })
}

// TestUDPQueueErrors: a queued datagram that fails when it is finally
// sent is reported with its size; an ECONNREFUSED from a send, which is
// about an earlier datagram, is reported on a later pass and the send is
// made again; Close drops what is queued and says how much.
func TestUDPQueueErrors(t *testing.T) {
	r, u, p, peer, to, f := udpQueueSetup(t)
	f.block = true
	p.writeTo([]byte("denied"), to)
	p.writeTo([]byte("fine"), to)
	f.block = false
	f.fail = []error{unix.EACCES}
	udpQueueRunUntil(t, r, "the flush", func() bool { return u.Buffered() == 0 })
	var oe *OpError
	if len(p.errs) != 1 || !errors.As(p.errs[0], &oe) || oe.Unsent != len("denied") || !errors.Is(oe, syscall.EACCES) {
		t.Fatalf("errors %v, want one EACCES with 6 unsent", p.errs)
	}
	if got := udpReadPeer(t, peer, 1); string(got[0]) != "fine" {
		t.Errorf("got %q", got[0])
	}

	p.errs = nil
	f.fail = []error{unix.ECONNREFUSED}
	if err := p.writeTo([]byte("again"), to); err != nil {
		t.Fatalf("WriteTo after a pending refusal: %v", err)
	}
	if len(p.errs) != 0 {
		t.Errorf("ErrorReceived ran inside WriteTo")
	}
	udpQueueRunUntil(t, r, "the refusal", func() bool { return len(p.errs) == 1 })
	if !errors.Is(p.errs[0], ErrRefused) || p.errsInsideWriteTo != 0 {
		t.Errorf("ErrorReceived(%v), %d times inside WriteTo", p.errs[0], p.errsInsideWriteTo)
	}
	if got := udpReadPeer(t, peer, 1); string(got[0]) != "again" {
		t.Errorf("got %q", got[0])
	}

	f.block = true
	p.writeTo([]byte("dropped"), to)
	p.writeTo([]byte("also"), to)
	u.Close()
	if p.stops != 0 {
		t.Errorf("StopProtocol ran inside Close")
	}
	udpQueueRunUntil(t, r, "StopProtocol", func() bool { return p.stops == 1 })
	if !errors.As(p.stopErr, &oe) || !errors.Is(p.stopErr, ErrAborted) || oe.Unsent != len("droppedalso") {
		t.Errorf("StopProtocol(%v), want ErrAborted with %d unsent", p.stopErr, len("droppedalso"))
	}
	if err := p.writeTo([]byte("x"), to); !errors.Is(err, ErrClosed) {
		t.Errorf("WriteTo after Close = %v", err)
	}
}
