package transport

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/loomkit/loom/reactor"
	"golang.org/x/sys/unix"
)

// Listener accepts stream connections (TCP or Unix) on the reactor and
// starts a protocol for each, made by its Factory.
type Listener struct {
	r       *reactor.Reactor
	fd      int
	netw    string
	addr    net.Addr
	factory Factory
	cfg     config
	unlink  string // the Unix socket file to remove on Close
	spare   int    // a descriptor kept to be freed when accept hits EMFILE
	closed  bool
	paused  *reactor.DelayedCall
	accept  func()
	unhook  func()

	accepted, refused uint64
	lastLog           time.Time
}

// ListenTCP listens on the TCP address addr ("host:port"; an empty host
// is every local address, IPv6 and IPv4; port 0 picks a free port, see
// Addr) and starts a protocol made by factory for each connection. A host
// name is resolved before ListenTCP returns: give an IP address for no
// lookup. It must be called on the reactor goroutine.
func ListenTCP(r *reactor.Reactor, addr string, factory Factory, opts ...Option) (*Listener, error) {
	return Listen(r, "tcp", addr, factory, opts...)
}

// ListenUnix listens on the Unix stream socket at path (a name starting
// with '@' is in Linux's abstract namespace); Close removes the file.
func ListenUnix(r *reactor.Reactor, path string, factory Factory, opts ...Option) (*Listener, error) {
	return Listen(r, "unix", path, factory, opts...)
}

// Listen listens on network ("tcp", "tcp4", "tcp6" or "unix") at address,
// as ListenTCP and ListenUnix.
func Listen(r *reactor.Reactor, network, address string, factory Factory, opts ...Option) (*Listener, error) {
	if r == nil || factory == nil {
		return nil, &OpError{Op: "listen", Net: network, Err: fmt.Errorf("nil reactor or factory")}
	}
	if r.Closed() {
		return nil, &OpError{Op: "listen", Net: network, Err: ErrClosed}
	}
	l := &Listener{r: r, netw: network, factory: factory, cfg: newConfig(opts), spare: -1}
	var sa unix.Sockaddr
	family := unix.AF_UNIX
	switch network {
	case "tcp", "tcp4", "tcp6":
		ta, err := net.ResolveTCPAddr(network, address)
		if err != nil {
			return nil, &OpError{Op: "listen", Net: network, Err: err}
		}
		sa, family = ipSockaddr(ta.IP, ta.Port, ta.Zone, network == "tcp4")
	case "unix":
		usa, err := unixSockaddr(address)
		if err != nil {
			return nil, &OpError{Op: "listen", Net: network, Addr: &net.UnixAddr{Name: address, Net: network}, Err: err}
		}
		sa = usa
		if address != "" && address[0] != '@' {
			l.unlink = address
		}
	default:
		return nil, &OpError{Op: "listen", Net: network, Err: net.UnknownNetworkError(network)}
	}
	fd, err := l.open(family, sa, network == "tcp6")
	if err != nil && family == unix.AF_INET6 && network == "tcp" && isUnspecified(sa) {
		// No IPv6 here: every IPv4 address will do.
		fd, err = l.open(unix.AF_INET, &unix.SockaddrInet4{Port: sa.(*unix.SockaddrInet6).Port}, false)
	}
	if err != nil {
		return nil, &OpError{Op: "listen", Net: network, Addr: sockaddrToAddr(network, sa), Err: classify(err)}
	}
	l.fd = fd
	if lsa, err := unix.Getsockname(fd); err == nil {
		l.addr = sockaddrToAddr(network, lsa)
	}
	l.spare = openSpare()
	l.accept = l.onAcceptable
	if err := r.AddReader(fd, l.accept); err != nil {
		l.release()
		return nil, &OpError{Op: "listen", Net: network, Addr: l.addr, Err: err}
	}
	l.unhook = r.OnClose(func() { l.Close() })
	return l, nil
}

func isUnspecified(sa unix.Sockaddr) bool {
	s6, ok := sa.(*unix.SockaddrInet6)
	return ok && s6.Addr == [16]byte{}
}

func (l *Listener) open(family int, sa unix.Sockaddr, v6only bool) (int, error) {
	fd, err := socket(family, unix.SOCK_STREAM)
	if err != nil {
		return -1, err
	}
	if family != unix.AF_UNIX {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	}
	if family == unix.AF_INET6 {
		v := 0
		if v6only {
			v = 1
		}
		unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v)
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if err := unix.Listen(fd, l.cfg.backlog); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func openSpare() int {
	fd, err := unix.Open(os.DevNull, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	return fd
}

// Addr returns the address the listener is bound to, with the port the
// kernel picked for port 0.
func (l *Listener) Addr() net.Addr { return l.addr }

// Accepted returns how many connections the listener has started a
// protocol for, and Refused how many it had to close at once: the factory
// returned nil, or the process was out of descriptors.
func (l *Listener) Accepted() uint64 { return l.accepted }
func (l *Listener) Refused() uint64  { return l.refused }

// Close stops accepting and releases the listening descriptor (and, for a
// Unix socket, removes its file). Connections already accepted stay open.
// Closing twice is not an error.
func (l *Listener) Close() error {
	if l.closed {
		return nil
	}
	l.closed = true
	if l.paused != nil {
		l.paused.Cancel()
		l.paused = nil
	} else {
		l.r.RemoveReader(l.fd)
	}
	l.unhook()
	return l.release()
}

func (l *Listener) release() error {
	err := unix.Close(l.fd)
	if l.spare >= 0 {
		unix.Close(l.spare)
		l.spare = -1
	}
	if l.unlink != "" {
		os.Remove(l.unlink)
	}
	if err != nil {
		return &OpError{Op: "close", Net: l.netw, Addr: l.addr, Err: err}
	}
	return nil
}

func (l *Listener) onAcceptable() {
	for i := 0; i < MaxAcceptsPerWakeup && !l.closed; i++ {
		fd, sa, err := accept(l.fd)
		switch err {
		case nil:
		case unix.EINTR, unix.ECONNABORTED:
			continue
		case unix.EAGAIN:
			return
		case unix.EMFILE, unix.ENFILE:
			if !l.refuseOne(err) {
				return
			}
			continue
		default:
			// ENOBUFS, ENOMEM and the like: back off rather than spin.
			l.logRefusal(err)
			l.pause(100 * time.Millisecond)
			return
		}
		l.start(fd, sa)
	}
}

// refuseOne handles accept's EMFILE: it frees the spare descriptor,
// accepts the waiting connection and closes it at once, so the peer
// hears a refusal instead of waiting in the queue and the listener does
// not spin on a connection it cannot take (libev, Twisted). Without a
// spare it stops accepting for a moment. It reports whether a connection
// was taken.
func (l *Listener) refuseOne(cause error) bool {
	l.logRefusal(cause)
	if l.spare < 0 {
		if l.spare = openSpare(); l.spare < 0 {
			l.pause(100 * time.Millisecond)
			return false
		}
	}
	unix.Close(l.spare)
	l.spare = -1
	fd, _, err := accept(l.fd)
	if err == nil {
		unix.Close(fd)
		l.refused++
	}
	l.spare = openSpare()
	if err == unix.EAGAIN {
		return false
	}
	return err == nil || err == unix.ECONNABORTED || err == unix.EINTR
}

func (l *Listener) logRefusal(err error) {
	if now := time.Now(); now.Sub(l.lastLog) >= time.Second {
		l.lastLog = now
		l.cfg.logger.Warn("transport: refusing connections", slog.String("listener", l.addr.String()), slog.Any("error", err))
	}
}

func (l *Listener) pause(d time.Duration) {
	if l.paused != nil || l.closed {
		return
	}
	l.r.RemoveReader(l.fd)
	l.paused = l.r.CallLater(d, func() {
		l.paused = nil
		if !l.closed {
			if err := l.r.AddReader(l.fd, l.accept); err != nil {
				l.logRefusal(err)
			}
		}
	})
}

func (l *Listener) start(fd int, sa unix.Sockaddr) {
	raddr := sockaddrToAddr(l.netw, sa)
	laddr := l.addr
	if lsa, err := unix.Getsockname(fd); err == nil && l.netw != "unix" {
		laddr = sockaddrToAddr(l.netw, lsa)
	}
	if raddr == nil {
		raddr = &net.UnixAddr{Net: l.netw} // an unnamed Unix socket
	}
	made := false
	defer func() {
		if !made { // the factory panicked
			unix.Close(fd)
			l.refused++
		}
	}()
	p := l.factory(raddr)
	made = true
	if p == nil {
		unix.Close(fd)
		l.refused++
		return
	}
	if l.netw != "unix" && l.cfg.noDelay {
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	}
	if _, err := newConn(l.r, fd, l.netw, laddr, raddr, p, &l.cfg); err != nil {
		l.refused++
		l.logRefusal(err)
		return
	}
	l.accepted++
}
