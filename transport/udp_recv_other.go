//go:build !linux || 386 || s390x

package transport

import (
	"net/netip"

	"golang.org/x/sys/unix"
)

// recvState is empty here: unix.Recvmsg does the work, at the cost of a
// few small allocations per datagram (the sender's address as a
// unix.Sockaddr, and the buffer it is decoded from).
type recvState struct{}

func (s *recvState) release() {}

// recv receives one datagram into buf and returns its length and sender.
// A datagram longer than buf is cut by the system, which sets MSG_TRUNC:
// the length returned is then only a lower bound (atLeast).
func (u *udpConn) recv(buf []byte) (n int, from netip.AddrPort, atLeast bool, err error) {
	n, _, flags, sa, err := unix.Recvmsg(u.fd, buf, nil, 0)
	if err != nil {
		return 0, netip.AddrPort{}, false, err
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		from = fromSockaddr4(sa.Addr, sa.Port)
	case *unix.SockaddrInet6:
		from = u.fromSockaddr6(sa.Addr, sa.Port, sa.ZoneId)
	}
	return n, from, flags&unix.MSG_TRUNC != 0, nil
}
