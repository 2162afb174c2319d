package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
	"golang.org/x/sys/unix"
)

// DatagramProtocol is the application's side of a UDP socket. Its methods
// run on the reactor goroutine.
type DatagramProtocol interface {
	// StartProtocol is called once, when the socket is bound (ListenUDP)
	// or connected (DialUDP), with the transport to send on, before any
	// datagram is delivered: a SetMaxDatagramSize made from it applies
	// to the first one.
	StartProtocol(t DatagramTransport)
	// DatagramReceived is called with one datagram and its sender. b is
	// valid only during the call: copy what must be kept. from is a
	// value, not a net.Addr, so receiving allocates nothing; an IPv4
	// sender on a dual-stack socket is given as an IPv4 address, and
	// from can be passed back to WriteTo as it is.
	DatagramReceived(b []byte, from netip.AddrPort)
	// ErrorReceived is called when the socket reports an error that does
	// not close it: a datagram sent earlier was refused (ErrRefused, the
	// ICMP port unreachable a connected socket hears) or could not be
	// routed (ErrUnreachable); a datagram larger than MaxDatagramSize
	// arrived and was dropped (ErrTruncated, a *TruncatedError); a
	// queued datagram failed when it was finally sent (an *OpError with
	// Unsent set). It is never called from inside a DatagramTransport
	// method.
	ErrorReceived(err error)
	// StopProtocol is called once, when the socket is closed and its
	// descriptor released: err is nil after Close with nothing queued,
	// and otherwise says why (an *OpError wrapping ErrAborted with
	// Unsent bytes that Close dropped, ErrClosed when the reactor
	// closed, or the error that closed the socket). It is never called
	// from inside a DatagramTransport method.
	StopProtocol(err error)
}

// DatagramTransport is loom's side of a UDP socket. Its methods are for
// the reactor goroutine.
//
// A send the kernel does not take at once (EAGAIN, or ENOBUFS when an
// interface queue is full) is copied into a bounded queue and sent, in
// order, when the socket is writable again (after ENOBUFS, which
// writability does not announce, on a short timer). The queue's bytes
// count against the limits WithWriteLimits sets: past the high water mark
// a protocol that implements WriteFlow is told to PauseWriting, at the low
// water mark to ResumeWriting, and past the hard cap, or past
// MaxQueuedDatagrams datagrams, a send returns ErrBufferFull and takes
// nothing.
type DatagramTransport interface {
	// Write sends b to the peer of a connected socket (DialUDP). It does
	// not keep b. On a socket that is not connected it is an error.
	Write(b []byte) error
	// WriteTo sends b to addr; it does not keep b. An invalid address, a
	// port of 0 or an address of the wrong family is an error, as is an
	// address other than the peer's on a connected socket.
	WriteTo(b []byte, addr netip.AddrPort) error
	// Close releases the descriptor at once, dropping what is queued;
	// StopProtocol follows on a later pass. Closing twice is not an
	// error.
	Close() error
	// PauseReading stops DatagramReceived until ResumeReading; the
	// kernel's buffer then fills and further datagrams are dropped by it.
	PauseReading()
	// ResumeReading undoes PauseReading.
	ResumeReading()
	// LocalAddr returns the bound address (a *net.UDPAddr), with the
	// port the kernel picked for port 0.
	LocalAddr() net.Addr
	// RemoteAddr returns the peer of a connected socket (a
	// *net.UDPAddr), or nil.
	RemoteAddr() net.Addr
	// State reports Open, ReadPaused, WritePaused and Closed.
	State() State
	// Buffered returns the bytes of the datagrams queued and not yet
	// sent.
	Buffered() int
	// MaxDatagramSize returns the largest datagram DatagramReceived is
	// given; a larger one is dropped and reported to ErrorReceived.
	MaxDatagramSize() int
	// SetMaxDatagramSize sets it, from 0 to MaxUDPPayload (the default).
	SetMaxDatagramSize(n int) error
	// SetReadBuffer and SetWriteBuffer set the kernel's receive and send
	// buffer sizes (SO_RCVBUF, SO_SNDBUF), as in package net.
	SetReadBuffer(bytes int) error
	SetWriteBuffer(bytes int) error
	// Reactor returns the reactor the socket runs on.
	Reactor() *reactor.Reactor
}

// ErrTruncated is what errors.Is finds in the error ErrorReceived is given
// for a datagram larger than MaxDatagramSize: it was dropped, never
// delivered cut.
var ErrTruncated = errors.New("datagram larger than the maximum")

// TruncatedError describes a datagram dropped for its size.
type TruncatedError struct {
	// Size is the datagram's length; when AtLeast is set it is only a
	// lower bound (the system did not tell the whole length).
	Size    int
	AtLeast bool
	// Max is the MaxDatagramSize in effect.
	Max int
}

func (e *TruncatedError) Error() string {
	more := ""
	if e.AtLeast {
		more = "at least "
	}
	return fmt.Sprintf("datagram of %s%d bytes dropped: larger than the maximum of %d", more, e.Size, e.Max)
}

// Is reports whether target is ErrTruncated.
func (e *TruncatedError) Is(target error) bool { return target == ErrTruncated }

const (
	// MaxUDPPayload is the largest datagram UDP carries, over IPv6
	// (IPv4's limit is 65507 bytes, and a longer send there fails with
	// EMSGSIZE).
	MaxUDPPayload = 65527
	// MaxDatagramsPerWakeup bounds the datagrams a socket reads each
	// time it is readable, so that one flooding peer cannot starve the
	// other descriptors, the timers or the UI.
	MaxDatagramsPerWakeup = 64
	// MaxQueuedDatagrams bounds the number of datagrams a socket queues
	// for sending, whatever their size.
	MaxQueuedDatagrams = 1024
)

// enobufsRetry is how long a queue waits after ENOBUFS before it tries
// again: writability does not tell when an interface queue has room.
const enobufsRetry = 5 * time.Millisecond

// sendDatagram sends one datagram; to is nil on a connected socket.
var sendDatagram = unix.Sendto

var (
	errNotConnected     = errors.New("socket is not connected: use WriteTo")
	errWriteToConnected = errors.New("socket is connected: use Write, or WriteTo its peer")
	errInvalidAddr      = errors.New("invalid address")
	errPortZero         = errors.New("port 0 is not a destination")
	errWrongFamily4     = errors.New("an IPv6 address cannot be reached from an IPv4 socket")
	errWrongFamily6     = errors.New("an IPv4 address cannot be reached from an IPv6-only socket")
	errTooLong          = fmt.Errorf("datagram longer than %d bytes: %w", MaxUDPPayload, unix.EMSGSIZE)
)

// queued is a datagram waiting in the send queue; its bytes are in qbuf.
type queued struct {
	to netip.AddrPort // invalid for Write on a connected socket
	n  int
}

// udpConn is a UDP socket on the reactor.
type udpConn struct {
	r      *reactor.Reactor
	fd     int
	netw   string
	family int
	v6only bool
	laddr  net.Addr
	raddr  net.Addr
	peer   netip.AddrPort // valid when connected
	proto  DatagramProtocol
	flow   WriteFlow

	state   State
	reading bool
	writing bool
	lost    bool
	lostErr error
	max     int

	// The send queue: datagrams q[qhead:], their bytes qbuf[qoff:].
	q        []queued
	qhead    int
	qbuf     []byte
	qoff     int
	buffered int
	retry    *reactor.DelayedCall

	high, low, cap int

	// Socket addresses reused for every send, so WriteTo allocates
	// nothing.
	sa4 *unix.SockaddrInet4
	sa6 *unix.SockaddrInet6
	// The last zone seen each way, so scoped addresses do not cost an
	// interface lookup per datagram.
	rzoneIndex uint32
	rzone      string
	wzone      string
	wzoneIndex uint32

	rx recvState // the system's receive state (udp_recv_*.go)

	readable, writable, retryFlush func()
	unhook                         func()
}

// ListenUDP opens a UDP socket bound to addr ("host:port"; an empty host,
// or an unspecified address, is every local address, IPv6 and IPv4; port 0
// picks a free port, see LocalAddr) and starts p on it. A host name is
// resolved before ListenUDP returns: give an IP address for no lookup. It
// must be called on the reactor goroutine.
func ListenUDP(r *reactor.Reactor, addr string, p DatagramProtocol, opts ...Option) (DatagramTransport, error) {
	return ListenDatagram(r, "udp", addr, p, opts...)
}

// ListenDatagram is ListenUDP on network "udp", "udp4" or "udp6".
func ListenDatagram(r *reactor.Reactor, network, address string, p DatagramProtocol, opts ...Option) (DatagramTransport, error) {
	opErr := func(addr net.Addr, err error) error {
		return &OpError{Op: "listen", Net: network, Addr: addr, Err: err}
	}
	switch {
	case r == nil || p == nil:
		return nil, opErr(nil, fmt.Errorf("nil reactor or protocol: %w", deferred.ErrNil))
	case r.Closed():
		return nil, opErr(nil, ErrClosed)
	case network != "udp" && network != "udp4" && network != "udp6":
		return nil, opErr(nil, net.UnknownNetworkError(network))
	}
	cfg := newConfig(opts)
	ua, err := net.ResolveUDPAddr(network, address)
	if err != nil {
		return nil, opErr(nil, err)
	}
	sa, family := ipSockaddr(ua.IP, ua.Port, ua.Zone, network == "udp4")
	v6only := network == "udp6"
	fd, err := openUDP(family, sa, v6only)
	if err != nil && family == unix.AF_INET6 && network == "udp" && isUnspecified(sa) {
		// No IPv6 here: every IPv4 address will do.
		family = unix.AF_INET
		fd, err = openUDP(family, &unix.SockaddrInet4{Port: ua.Port}, false)
	}
	if err != nil {
		return nil, opErr(ua, classify(err))
	}
	var laddr net.Addr = ua
	if lsa, err := unix.Getsockname(fd); err == nil {
		laddr = sockaddrToAddr("udp", lsa)
	}
	return newUDP(r, fd, network, family, v6only, laddr, nil, netip.AddrPort{}, p, &cfg)
}

func openUDP(family int, sa unix.Sockaddr, v6only bool) (int, error) {
	fd, err := socket(family, unix.SOCK_DGRAM)
	if err != nil {
		return -1, err
	}
	if family == unix.AF_INET6 {
		v := 0
		if v6only {
			v = 1
		}
		unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v)
	}
	if sa != nil {
		if err := unix.Bind(fd, sa); err != nil {
			unix.Close(fd)
			return -1, err
		}
	}
	return fd, nil
}

// DialUDP opens a UDP socket connected to addr ("host:port") and starts p
// on it: Write sends to the peer, only the peer's datagrams are received,
// and an ICMP port unreachable the peer's host sends back reaches
// ErrorReceived as ErrRefused. The promise resolves with the transport
// after StartProtocol, or is rejected with an *OpError.
//
// A host name is resolved on a goroutine, never on the loop, within
// WithTimeout (30 s by default); with an IP address the promise is
// settled before DialUDP returns. The addresses are tried in the order
// the resolver gives them until one can be connected to (a UDP connect
// only checks that there is a route: it sends nothing). Cancelling the
// promise while the name is being resolved rejects it with ErrCancelled;
// p hears nothing. Closing the reactor does the same with ErrClosed.
func DialUDP(r *reactor.Reactor, addr string, p DatagramProtocol, opts ...Option) *deferred.Promise[DatagramTransport] {
	return DialDatagram(r, "udp", addr, p, opts...)
}

// DialDatagram is DialUDP on network "udp", "udp4" or "udp6".
func DialDatagram(r *reactor.Reactor, network, address string, p DatagramProtocol, opts ...Option) *deferred.Promise[DatagramTransport] {
	opErr := func(err error) error { return &OpError{Op: "dial", Net: network, Err: err} }
	switch {
	case r == nil || p == nil:
		return deferred.Rejected[DatagramTransport](opErr(fmt.Errorf("nil reactor or protocol: %w", deferred.ErrNil)))
	case r.Closed():
		return deferred.Rejected[DatagramTransport](opErr(ErrClosed))
	case network != "udp" && network != "udp4" && network != "udp6":
		return deferred.Rejected[DatagramTransport](opErr(net.UnknownNetworkError(network)))
	}
	promise, res := deferred.NewPromise[DatagramTransport]()
	d := &udpDial{r: r, netw: network, addr: address, p: p, cfg: newConfig(opts), res: res}
	res.OnCancel(func() { d.finish(opErr(ErrCancelled)) })
	d.unhook = r.OnClose(func() { d.finish(opErr(ErrClosed)) })
	d.resolve()
	return promise
}

type udpDial struct {
	r      *reactor.Reactor
	netw   string
	addr   string
	p      DatagramProtocol
	cfg    config
	res    deferred.Resolver[DatagramTransport]
	done   bool
	unhook func()
	timer  *reactor.DelayedCall
	lookup *deferred.Promise[[]netip.AddrPort]
}

func (d *udpDial) opErr(addr net.Addr, err error) error {
	return &OpError{Op: "dial", Net: d.netw, Addr: addr, Err: err}
}

func (d *udpDial) resolve() {
	host, portStr, err := net.SplitHostPort(d.addr)
	if err != nil {
		d.finish(d.opErr(nil, err))
		return
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if port, err := strconv.ParseUint(portStr, 10, 16); err == nil {
			d.connect([]netip.AddrPort{netip.AddrPortFrom(ip, uint16(port))})
			return
		}
	}
	if d.cfg.timeout > 0 {
		d.timer = d.r.CallLater(d.cfg.timeout, func() {
			d.timer = nil
			d.finish(d.opErr(nil, &classified{ErrTimeout, unix.ETIMEDOUT}))
		})
	}
	network := d.netw
	d.lookup = reactor.Go(d.r, func(ctx context.Context) ([]netip.AddrPort, error) {
		port, err := net.DefaultResolver.LookupPort(ctx, network, portStr)
		if err != nil {
			return nil, err
		}
		ipNet := "ip"
		switch network {
		case "udp4":
			ipNet = "ip4"
		case "udp6":
			ipNet = "ip6"
		}
		ips, err := net.DefaultResolver.LookupNetIP(ctx, ipNet, host)
		if err != nil {
			return nil, err
		}
		out := make([]netip.AddrPort, len(ips))
		for i, ip := range ips {
			out[i] = netip.AddrPortFrom(ip, uint16(port))
		}
		return out, nil
	})
	d.lookup.OnValue(func(aps []netip.AddrPort) {
		d.lookup = nil
		if !d.done {
			d.connect(aps)
		}
	})
	d.lookup.OnError(func(err error) {
		d.lookup = nil
		if !d.done {
			d.finish(d.opErr(nil, err))
		}
	})
}

// connect connects a socket to the first address that takes it and
// starts the protocol there.
func (d *udpDial) connect(aps []netip.AddrPort) {
	var firstErr error
	for _, ap := range aps {
		ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		is4 := ap.Addr().Is4()
		if (d.netw == "udp4" && !is4) || (d.netw == "udp6" && is4) {
			continue
		}
		raddr := net.UDPAddrFromAddrPort(ap)
		if ap.Port() == 0 {
			if firstErr == nil {
				firstErr = d.opErr(raddr, errPortZero)
			}
			continue
		}
		sa, family := addrPortSockaddr(ap)
		fd, err := openUDP(family, nil, false)
		for err == nil {
			if err = unix.Connect(fd, sa); err != unix.EINTR {
				break
			}
		}
		if err != nil {
			if fd >= 0 {
				unix.Close(fd)
			}
			if firstErr == nil {
				firstErr = d.opErr(raddr, classify(err))
			}
			continue
		}
		var laddr net.Addr
		if lsa, err := unix.Getsockname(fd); err == nil {
			laddr = sockaddrToAddr("udp", lsa)
		}
		// The protocol starts: a cancel from StartProtocol comes too
		// late.
		d.done = true
		d.stop()
		u, err := newUDP(d.r, fd, d.netw, family, false, laddr, raddr, ap, d.p, &d.cfg)
		if err != nil {
			d.res.Reject(d.opErr(raddr, err))
			return
		}
		d.res.Resolve(u)
		return
	}
	if firstErr == nil {
		firstErr = d.opErr(nil, fmt.Errorf("no %s address for %q", d.netw, d.addr))
	}
	d.finish(firstErr)
}

func (d *udpDial) stop() {
	d.unhook()
	if d.timer != nil {
		d.timer.Cancel()
		d.timer = nil
	}
	if d.lookup != nil {
		d.lookup.Cancel()
		d.lookup = nil
	}
}

// finish rejects the dial with err, unless it is over already.
func (d *udpDial) finish(err error) {
	if d.done {
		return
	}
	d.done = true
	d.stop()
	d.res.Reject(err)
}

// newUDP takes fd, a bound or connected nonblocking UDP socket, and starts
// p on it: StartProtocol, then reads. On error fd is closed.
func newUDP(r *reactor.Reactor, fd int, netw string, family int, v6only bool, laddr, raddr net.Addr, peer netip.AddrPort, p DatagramProtocol, cfg *config) (*udpConn, error) {
	u := &udpConn{
		r: r, fd: fd, netw: netw, family: family, v6only: v6only, laddr: laddr, raddr: raddr,
		peer: peer, proto: p, state: Open, max: MaxUDPPayload,
		high: cfg.high, low: cfg.low, cap: cfg.cap,
	}
	if family == unix.AF_INET {
		u.sa4 = new(unix.SockaddrInet4)
	} else {
		u.sa6 = new(unix.SockaddrInet6)
	}
	u.flow, _ = p.(WriteFlow)
	u.readable, u.writable, u.retryFlush = u.onReadable, u.onWritable, u.onRetry
	if err := r.AddReader(fd, u.readable); err != nil {
		unix.Close(fd)
		return nil, err
	}
	u.reading = true
	u.unhook = r.OnClose(u.reactorClosed)
	p.StartProtocol(u)
	return u, nil
}

func (u *udpConn) Reactor() *reactor.Reactor { return u.r }
func (u *udpConn) LocalAddr() net.Addr       { return u.laddr }
func (u *udpConn) State() State              { return u.state }
func (u *udpConn) Buffered() int             { return u.buffered }
func (u *udpConn) MaxDatagramSize() int      { return u.max }

func (u *udpConn) RemoteAddr() net.Addr { return u.raddr }

func (u *udpConn) String() string {
	if u.raddr != nil {
		return fmt.Sprintf("%s socket %v -> %v (%v)", u.netw, u.laddr, u.raddr, u.state)
	}
	return fmt.Sprintf("%s socket %v (%v)", u.netw, u.laddr, u.state)
}

func (u *udpConn) SetMaxDatagramSize(n int) error {
	if n < 0 || n > MaxUDPPayload {
		return fmt.Errorf("transport: maximum datagram size %d not in [0, %d]", n, MaxUDPPayload)
	}
	u.max = n
	return nil
}

func (u *udpConn) SetReadBuffer(bytes int) error  { return u.setBuffer(unix.SO_RCVBUF, bytes) }
func (u *udpConn) SetWriteBuffer(bytes int) error { return u.setBuffer(unix.SO_SNDBUF, bytes) }

func (u *udpConn) setBuffer(opt, bytes int) error {
	if u.state&Closed != 0 {
		return u.closedErr("set")
	}
	if err := unix.SetsockoptInt(u.fd, unix.SOL_SOCKET, opt, bytes); err != nil {
		return &OpError{Op: "set", Net: u.netw, Addr: u.laddr, Err: err}
	}
	return nil
}

func (u *udpConn) closedErr(op string) error {
	return &OpError{Op: op, Net: u.netw, Addr: u.RemoteAddr(), Err: ErrClosed}
}

func (u *udpConn) Write(b []byte) error {
	if u.state&Closed != 0 {
		return u.closedErr("write")
	}
	if !u.peer.IsValid() {
		return &OpError{Op: "write", Net: u.netw, Addr: u.laddr, Err: errNotConnected}
	}
	return u.send(b, netip.AddrPort{}, nil)
}

func (u *udpConn) WriteTo(b []byte, addr netip.AddrPort) error {
	if u.state&Closed != 0 {
		return u.closedErr("write")
	}
	if u.peer.IsValid() {
		if addr.Port() != u.peer.Port() || addr.Addr().Unmap() != u.peer.Addr() {
			return &OpError{Op: "write", Net: u.netw, Addr: udpAddrOrNil(addr), Err: errWriteToConnected}
		}
		return u.send(b, netip.AddrPort{}, nil)
	}
	sa, err := u.sockaddr(addr)
	if err != nil {
		return &OpError{Op: "write", Net: u.netw, Addr: udpAddrOrNil(addr), Err: err}
	}
	return u.send(b, addr, sa)
}

func udpAddrOrNil(ap netip.AddrPort) net.Addr {
	if !ap.Addr().IsValid() {
		return nil
	}
	return net.UDPAddrFromAddrPort(ap)
}

// sockaddr fills the socket's reusable address with ap.
func (u *udpConn) sockaddr(ap netip.AddrPort) (unix.Sockaddr, error) {
	a := ap.Addr()
	switch {
	case !a.IsValid():
		return nil, errInvalidAddr
	case ap.Port() == 0:
		return nil, errPortZero
	}
	if u.family == unix.AF_INET {
		if a = a.Unmap(); !a.Is4() {
			return nil, errWrongFamily4
		}
		u.sa4.Addr, u.sa4.Port = a.As4(), int(ap.Port())
		return u.sa4, nil
	}
	if u.v6only && a.Unmap().Is4() {
		return nil, errWrongFamily6
	}
	// As16 gives an IPv4 address in its IPv4-mapped form, which a
	// dual-stack socket sends as IPv4.
	u.sa6.Addr, u.sa6.Port, u.sa6.ZoneId = a.As16(), int(ap.Port()), 0
	if z := a.Zone(); z != "" {
		if z != u.wzone {
			u.wzone, u.wzoneIndex = z, zoneIndex(z)
		}
		u.sa6.ZoneId = u.wzoneIndex
	}
	return u.sa6, nil
}

// send sends b to sa (nil on a connected socket), or queues it behind the
// datagrams already queued, or when the kernel does not take it now.
func (u *udpConn) send(b []byte, to netip.AddrPort, sa unix.Sockaddr) error {
	if len(b) > MaxUDPPayload {
		return &OpError{Op: "write", Net: u.netw, Addr: u.dest(to), Err: errTooLong}
	}
	if u.qhead < len(u.q) {
		return u.enqueue(b, to, nil)
	}
	switch err := u.trySend(b, sa); err {
	case nil:
		return nil
	case unix.EAGAIN, unix.ENOBUFS:
		return u.enqueue(b, to, err)
	default:
		return &OpError{Op: "write", Net: u.netw, Addr: u.dest(to), Err: classify(err)}
	}
}

// dest is the destination of a datagram to to, for an error.
func (u *udpConn) dest(to netip.AddrPort) net.Addr {
	if !to.IsValid() {
		return u.RemoteAddr()
	}
	return net.UDPAddrFromAddrPort(to)
}

// trySend makes one send. ECONNREFUSED is about a datagram sent before (the
// pending error of an ICMP port unreachable): it goes to ErrorReceived and
// the send is tried again.
func (u *udpConn) trySend(b []byte, sa unix.Sockaddr) error {
	refused := false
	for {
		err := sendDatagram(u.fd, b, 0, sa)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.ECONNREFUSED && !refused:
			refused = true
			u.reportLater(&OpError{Op: "write", Net: u.netw, Addr: u.RemoteAddr(), Err: classify(err)})
			continue
		}
		return err
	}
}

// reportLater calls ErrorReceived(err) on a later pass, unless the socket
// has stopped by then.
func (u *udpConn) reportLater(err error) {
	u.r.CallSoon(func() {
		if !u.lost && u.state&Closed == 0 {
			u.proto.ErrorReceived(err)
		}
	})
}

// enqueue copies b into the send queue and arranges for it to be sent:
// when the socket is writable, or after ENOBUFS on a timer (wait is the
// error of the send that did not go, nil for a send queued behind others).
func (u *udpConn) enqueue(b []byte, to netip.AddrPort, wait error) error {
	if u.buffered+len(b) > u.cap || len(u.q)-u.qhead >= MaxQueuedDatagrams {
		return &OpError{Op: "write", Net: u.netw, Addr: u.dest(to), Err: ErrBufferFull}
	}
	if u.qhead > 0 && u.qhead >= len(u.q)/2 {
		n := copy(u.q, u.q[u.qhead:])
		u.q, u.qhead = u.q[:n], 0
		m := copy(u.qbuf, u.qbuf[u.qoff:])
		u.qbuf, u.qoff = u.qbuf[:m], 0
	}
	u.q = append(u.q, queued{to: to, n: len(b)})
	u.qbuf = append(u.qbuf, b...)
	u.buffered += len(b)
	if wait != nil {
		u.arm(wait)
	}
	if u.state&WritePaused == 0 && u.buffered > u.high {
		u.state |= WritePaused
		if u.flow != nil {
			u.flow.PauseWriting()
		}
	}
	return nil
}

// arm waits to flush the queue: for writability after EAGAIN, on a timer
// after ENOBUFS.
func (u *udpConn) arm(wait error) {
	if wait == unix.ENOBUFS {
		if u.writing {
			u.r.RemoveWriter(u.fd)
			u.writing = false
		}
		if u.retry == nil {
			u.retry = u.r.CallLater(enobufsRetry, u.retryFlush)
		}
		return
	}
	if u.retry != nil {
		u.retry.Cancel()
		u.retry = nil
	}
	if !u.writing {
		if err := u.r.AddWriter(u.fd, u.writable); err != nil {
			u.fail("write", err)
			return
		}
		u.writing = true
	}
}

func (u *udpConn) onRetry() {
	u.retry = nil
	u.flush()
}

func (u *udpConn) onWritable() { u.flush() }

// flush sends what is queued, in order, until the kernel stops taking it.
func (u *udpConn) flush() {
	for u.qhead < len(u.q) && u.state&Closed == 0 {
		e := u.q[u.qhead]
		var sa unix.Sockaddr
		if e.to.IsValid() {
			sa, _ = u.sockaddr(e.to) // checked when it was queued
		}
		err := u.trySend(u.qbuf[u.qoff:u.qoff+e.n], sa)
		if err == unix.EAGAIN || err == unix.ENOBUFS {
			u.arm(err)
			return
		}
		u.q[u.qhead] = queued{}
		u.qhead++
		u.qoff += e.n
		u.buffered -= e.n
		if err != nil {
			u.proto.ErrorReceived(&OpError{Op: "write", Net: u.netw, Addr: u.dest(e.to), Unsent: e.n, Err: classify(err)})
		}
		if u.state&WritePaused != 0 && u.buffered <= u.low {
			u.state &^= WritePaused
			if u.flow != nil && u.state&Closed == 0 {
				u.flow.ResumeWriting()
			}
		}
	}
	if u.state&Closed != 0 {
		return
	}
	if cap(u.qbuf) > 4*ReadSize {
		u.qbuf = nil // an idle socket keeps no big buffer
	}
	if cap(u.q) > MaxQueuedDatagrams/4 {
		u.q = nil
	}
	u.q, u.qhead, u.qbuf, u.qoff = u.q[:0], 0, u.qbuf[:0], 0
	if u.writing {
		u.r.RemoveWriter(u.fd)
		u.writing = false
	}
}

func (u *udpConn) onReadable() {
	bp := readBufs.Get()
	defer readBufs.Put(bp)
	buf := *bp
	defer u.rx.release()
	for i := 0; i < MaxDatagramsPerWakeup && u.reading; i++ {
		n, from, atLeast, err := u.recv(buf)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return
		case err != nil:
			if !transientRecvError(err) {
				u.fail("read", err)
				return
			}
			u.proto.ErrorReceived(&OpError{Op: "read", Net: u.netw, Addr: u.RemoteAddr(), Err: classify(err)})
			continue
		}
		if !from.IsValid() {
			from = u.peer
		}
		if atLeast || n > u.max || n > len(buf) {
			te := &TruncatedError{Size: n, AtLeast: atLeast, Max: u.max}
			u.proto.ErrorReceived(&OpError{Op: "read", Net: u.netw, Addr: udpAddrOrNil(from), Err: te})
			continue
		}
		u.proto.DatagramReceived(buf[:n], from)
	}
}

// transientRecvError reports whether a receive error leaves the socket
// usable: an ICMP error about an earlier send, or a shortage of memory.
func transientRecvError(err error) bool {
	switch err {
	case unix.ECONNREFUSED, unix.EHOSTUNREACH, unix.ENETUNREACH, unix.EHOSTDOWN, unix.ENETDOWN,
		unix.ECONNRESET, unix.EMSGSIZE, unix.ETIMEDOUT, unix.EPROTO, unix.ENOBUFS, unix.ENOMEM:
		return true
	}
	return false
}

// fromSockaddr4 and fromSockaddr6 turn a sender's address into a
// netip.AddrPort; an IPv4-mapped address becomes IPv4.
func fromSockaddr4(addr [4]byte, port int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4(addr), uint16(port))
}

func (u *udpConn) fromSockaddr6(addr [16]byte, port int, zone uint32) netip.AddrPort {
	a := netip.AddrFrom16(addr).Unmap()
	if zone != 0 && a.Is6() {
		if zone != u.rzoneIndex {
			u.rzoneIndex, u.rzone = zone, zoneName(int(zone))
		}
		a = a.WithZone(u.rzone)
	}
	return netip.AddrPortFrom(a, uint16(port))
}

func (u *udpConn) PauseReading() {
	if u.state&(ReadPaused|Closed) != 0 {
		return
	}
	u.state |= ReadPaused
	u.stopReading()
}

func (u *udpConn) ResumeReading() {
	if u.state&ReadPaused == 0 {
		return
	}
	u.state &^= ReadPaused
	if u.state&Closed != 0 || u.reading {
		return
	}
	if err := u.r.AddReader(u.fd, u.readable); err != nil {
		u.fail("read", err)
		return
	}
	u.reading = true
}

func (u *udpConn) stopReading() {
	if u.reading {
		u.r.RemoveReader(u.fd)
		u.reading = false
	}
}

func (u *udpConn) Close() error {
	if u.state&Closed != 0 {
		return nil
	}
	var err error
	if u.buffered > 0 {
		err = &OpError{Op: "close", Net: u.netw, Addr: u.RemoteAddr(), Unsent: u.buffered, Err: ErrAborted}
	}
	cerr := u.release()
	u.lostErr = err
	u.r.CallSoon(u.stopProtocol)
	if cerr != nil {
		return &OpError{Op: "close", Net: u.netw, Addr: u.laddr, Err: cerr}
	}
	return nil
}

// fail closes the socket after a system call failed.
func (u *udpConn) fail(op string, err error) {
	if u.state&Closed != 0 {
		return
	}
	lost := &OpError{Op: op, Net: u.netw, Addr: u.RemoteAddr(), Unsent: u.buffered, Err: classify(err)}
	u.release()
	u.lostErr = lost
	u.r.CallSoon(u.stopProtocol)
}

// release stops watching the descriptor, drops the queue and closes the
// descriptor.
func (u *udpConn) release() error {
	u.state = u.state&^WritePaused | Closed
	u.stopReading()
	if u.writing {
		u.r.RemoveWriter(u.fd)
		u.writing = false
	}
	if u.retry != nil {
		u.retry.Cancel()
		u.retry = nil
	}
	u.q, u.qhead, u.qbuf, u.qoff, u.buffered = nil, 0, nil, 0, 0
	err := unix.Close(u.fd)
	u.fd = -1
	return err
}

func (u *udpConn) stopProtocol() {
	if u.lost {
		return
	}
	u.lost = true
	u.unhook()
	u.proto.StopProtocol(u.lostErr)
}

// reactorClosed runs when the reactor closes: the socket ends with
// ErrClosed, and StopProtocol runs now, while it still can.
func (u *udpConn) reactorClosed() {
	if u.state&Closed == 0 {
		u.lostErr = &OpError{Op: "close", Net: u.netw, Addr: u.RemoteAddr(), Unsent: u.buffered, Err: ErrClosed}
		u.release()
	}
	if !u.lost {
		u.lost = true
		u.proto.StopProtocol(u.lostErr)
	}
}
