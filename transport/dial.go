package transport

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
	"golang.org/x/sys/unix"
)

// DialTCP connects to the TCP address addr ("host:port") and, once
// connected, starts p on the connection: ConnectionMade, then reads. The
// promise resolves with the transport after ConnectionMade, or is
// rejected with an *OpError (refused, unreachable, timed out; a name
// that does not resolve is a *net.DNSError inside it).
//
// A host name is resolved on a goroutine, never on the loop. The
// addresses are tried in turn, IPv6 and IPv4 interleaved, the next one
// starting when the last fails or has not connected within the fallback
// delay (Happy Eyeballs, RFC 8305); the first to connect wins and the
// others are closed. The whole dial is bounded by WithTimeout (30 s by
// default). Cancelling the promise closes every socket still connecting
// and rejects it with ErrCancelled; p hears nothing. Closing the reactor
// does the same with ErrClosed.
func DialTCP(r *reactor.Reactor, addr string, p Protocol, opts ...Option) *deferred.Promise[Transport] {
	return Dial(r, "tcp", addr, p, opts...)
}

// DialUnix connects to the Unix stream socket at path (a name starting
// with '@' is in Linux's abstract namespace), as DialTCP.
func DialUnix(r *reactor.Reactor, path string, p Protocol, opts ...Option) *deferred.Promise[Transport] {
	return Dial(r, "unix", path, p, opts...)
}

// Dial connects on network ("tcp", "tcp4", "tcp6" or "unix") to address,
// as DialTCP.
func Dial(r *reactor.Reactor, network, address string, p Protocol, opts ...Option) *deferred.Promise[Transport] {
	opErr := func(err error) error { return &OpError{Op: "dial", Net: network, Err: err} }
	switch {
	case r == nil || p == nil:
		return deferred.Rejected[Transport](opErr(fmt.Errorf("nil reactor or protocol: %w", deferred.ErrNil)))
	case r.Closed():
		return deferred.Rejected[Transport](opErr(ErrClosed))
	}
	promise, res := deferred.NewPromise[Transport]()
	d := &dial{r: r, netw: network, addr: address, p: p, cfg: newConfig(opts), res: res}
	res.OnCancel(func() { d.finish(nil, nil, opErr(ErrCancelled)) })
	d.unhook = r.OnClose(func() { d.finish(nil, nil, opErr(ErrClosed)) })
	if d.cfg.timeout > 0 {
		d.timer = r.CallLater(d.cfg.timeout, d.timedOut)
	}
	switch network {
	case "unix":
		ua := &net.UnixAddr{Name: address, Net: "unix"}
		sa, err := unixSockaddr(address)
		if err != nil {
			d.finish(nil, nil, d.opErr(ua, err))
			break
		}
		d.targets = []target{{sa: sa, family: unix.AF_UNIX, addr: ua}}
		d.next()
	case "tcp", "tcp4", "tcp6":
		d.resolve()
	default:
		d.finish(nil, nil, opErr(net.UnknownNetworkError(network)))
	}
	return promise
}

type target struct {
	sa     unix.Sockaddr
	family int
	addr   net.Addr
}

// attempt is one socket connecting.
type attempt struct {
	fd     int
	t      target
	onDone func()
}

type dial struct {
	r        *reactor.Reactor
	netw     string
	addr     string
	p        Protocol
	cfg      config
	res      deferred.Resolver[Transport]
	done     bool
	unhook   func()
	timer    *reactor.DelayedCall
	fallback *reactor.DelayedCall
	lookup   *deferred.Promise[[]netip.AddrPort]
	targets  []target
	tried    int
	pending  []*attempt
	firstErr error
}

func (d *dial) opErr(addr net.Addr, err error) error {
	return &OpError{Op: "dial", Net: d.netw, Addr: addr, Err: err}
}

func (d *dial) resolve() {
	host, portStr, err := net.SplitHostPort(d.addr)
	if err != nil {
		d.finish(nil, nil, d.opErr(nil, err))
		return
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if port, err := strconv.ParseUint(portStr, 10, 16); err == nil {
			d.setTargets([]netip.AddrPort{netip.AddrPortFrom(ip, uint16(port))})
			return
		}
	}
	network := d.netw
	d.lookup = reactor.Go(d.r, func(ctx context.Context) ([]netip.AddrPort, error) {
		port, err := net.DefaultResolver.LookupPort(ctx, network, portStr)
		if err != nil {
			return nil, err
		}
		ipNet := "ip"
		switch network {
		case "tcp4":
			ipNet = "ip4"
		case "tcp6":
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
			d.setTargets(aps)
		}
	})
	d.lookup.OnError(func(err error) {
		d.lookup = nil
		if !d.done {
			d.finish(nil, nil, d.opErr(nil, err))
		}
	})
}

// setTargets orders the addresses as RFC 8305 does, families
// interleaved starting with the first, and starts the first attempt.
func (d *dial) setTargets(aps []netip.AddrPort) {
	var first, other []target
	for _, ap := range aps {
		a := ap.Addr()
		if (d.netw == "tcp4" && !a.Unmap().Is4()) || (d.netw == "tcp6" && a.Unmap().Is4()) {
			continue
		}
		sa, family := addrPortSockaddr(ap)
		t := target{sa: sa, family: family, addr: net.TCPAddrFromAddrPort(ap)}
		if len(first) == 0 || family == first[0].family {
			first = append(first, t)
		} else {
			other = append(other, t)
		}
	}
	for i := 0; i < max(len(first), len(other)); i++ {
		if i < len(first) {
			d.targets = append(d.targets, first[i])
		}
		if i < len(other) {
			d.targets = append(d.targets, other[i])
		}
	}
	if len(d.targets) == 0 {
		d.finish(nil, nil, d.opErr(nil, fmt.Errorf("no %s address for %q", d.netw, d.addr)))
		return
	}
	d.next()
}

// next starts the next attempt, if any is left, and the fallback timer.
func (d *dial) next() {
	if d.fallback != nil {
		d.fallback.Cancel()
		d.fallback = nil
	}
	for !d.done && d.tried < len(d.targets) {
		t := d.targets[d.tried]
		d.tried++
		if d.start(t) {
			break
		}
	}
	if d.done {
		return
	}
	if len(d.pending) == 0 {
		d.finish(nil, nil, d.firstErr)
		return
	}
	if d.tried < len(d.targets) && d.cfg.fallback > 0 {
		d.fallback = d.r.CallLater(d.cfg.fallback, func() { d.fallback = nil; d.next() })
	}
}

// start opens a socket and connects it to t; it reports whether the
// attempt is pending (or has already won).
func (d *dial) start(t target) bool {
	fd, err := socket(t.family, unix.SOCK_STREAM)
	if err != nil {
		d.failed(d.opErr(t.addr, classify(err)))
		return false
	}
	for {
		err = unix.Connect(fd, t.sa)
		if err != unix.EINTR {
			break
		}
	}
	a := &attempt{fd: fd, t: t}
	switch err {
	case nil:
		d.connected(a)
		return true
	case unix.EINPROGRESS, unix.EALREADY:
	default:
		unix.Close(fd)
		d.failed(d.opErr(t.addr, classify(err)))
		return false
	}
	a.onDone = func() { d.completed(a) }
	if err := d.r.AddWriter(fd, a.onDone); err != nil {
		unix.Close(fd)
		d.failed(d.opErr(t.addr, err))
		return false
	}
	d.pending = append(d.pending, a)
	return true
}

func (d *dial) failed(err error) {
	if d.firstErr == nil {
		d.firstErr = err
	}
}

func (d *dial) drop(a *attempt) {
	for i, x := range d.pending {
		if x == a {
			d.pending = append(d.pending[:i], d.pending[i+1:]...)
			break
		}
	}
	d.r.RemoveWriter(a.fd)
}

// completed runs when a's socket is writable: connected, or failed.
func (d *dial) completed(a *attempt) {
	d.drop(a)
	errno, err := unix.GetsockoptInt(a.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err == nil && errno != 0 {
		err = unix.Errno(errno)
	}
	if err != nil {
		unix.Close(a.fd)
		d.failed(d.opErr(a.t.addr, classify(err)))
		d.next()
		return
	}
	d.connected(a)
}

func (d *dial) connected(a *attempt) {
	if d.netw != "unix" && d.cfg.noDelay {
		unix.SetsockoptInt(a.fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	}
	netw := d.netw
	if netw != "unix" {
		netw = "tcp"
	}
	var laddr net.Addr
	if sa, err := unix.Getsockname(a.fd); err == nil {
		laddr = sockaddrToAddr(netw, sa)
	}
	d.finish(a, laddr, nil)
}

func (d *dial) timedOut() {
	d.timer = nil
	d.finish(nil, nil, d.opErr(nil, &classified{ErrTimeout, unix.ETIMEDOUT}))
}

// finish ends the dial: with a connected attempt the protocol starts and
// the promise resolves; otherwise every socket still connecting is
// closed and the promise rejected with err.
func (d *dial) finish(won *attempt, laddr net.Addr, err error) {
	if d.done {
		return
	}
	d.done = true
	d.unhook()
	if d.timer != nil {
		d.timer.Cancel()
	}
	if d.fallback != nil {
		d.fallback.Cancel()
	}
	if d.lookup != nil {
		d.lookup.Cancel()
	}
	for _, a := range d.pending {
		d.r.RemoveWriter(a.fd)
		unix.Close(a.fd)
	}
	d.pending = nil
	if won == nil {
		if err == nil {
			err = d.opErr(nil, fmt.Errorf("no address to try"))
		}
		d.res.Reject(err)
		return
	}
	settled := false
	defer func() {
		if !settled { // ConnectionMade panicked; newConn closed the connection
			d.res.Reject(d.opErr(won.t.addr, errMadePanicked))
		}
	}()
	c, cerr := newConn(d.r, won.fd, d.netw, laddr, won.t.addr, d.p, &d.cfg)
	settled = true
	if cerr != nil {
		d.res.Reject(d.opErr(won.t.addr, cerr))
		return
	}
	d.res.Resolve(c)
}
