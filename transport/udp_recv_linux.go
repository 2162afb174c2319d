//go:build linux && !386 && !s390x

package transport

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// recvState is what recvmsg is given, kept with the socket so that a
// receive allocates nothing (unix.Recvmsg returns the sender as a new
// unix.Sockaddr each time).
type recvState struct {
	msg unix.Msghdr
	iov unix.Iovec
	rsa unix.RawSockaddrAny
}

// release drops the reference to the read buffer once a wakeup is done.
func (s *recvState) release() { s.iov.Base = nil }

// recv receives one datagram into buf and returns its length and sender.
// With MSG_TRUNC Linux returns the datagram's whole length, even when it
// is longer than buf, so the length is exact and atLeast false.
func (u *udpConn) recv(buf []byte) (n int, from netip.AddrPort, atLeast bool, err error) {
	s := &u.rx
	s.iov.Base = &buf[0]
	s.iov.SetLen(len(buf))
	s.msg.Name = (*byte)(unsafe.Pointer(&s.rsa))
	s.msg.Namelen = unix.SizeofSockaddrAny
	s.msg.Iov = &s.iov
	s.msg.SetIovlen(1)
	s.msg.Control = nil
	s.msg.SetControllen(0)
	s.msg.Flags = 0
	r, _, e := unix.Syscall(unix.SYS_RECVMSG, uintptr(u.fd), uintptr(unsafe.Pointer(&s.msg)), unix.MSG_TRUNC)
	if e != 0 {
		return 0, netip.AddrPort{}, false, e
	}
	n = int(r)
	atLeast = s.msg.Flags&unix.MSG_TRUNC != 0 && n <= len(buf)
	if s.msg.Namelen == 0 {
		return n, netip.AddrPort{}, atLeast, nil
	}
	switch s.rsa.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&s.rsa))
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		from = fromSockaddr4(sa.Addr, int(p[0])<<8|int(p[1]))
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&s.rsa))
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		from = u.fromSockaddr6(sa.Addr, int(p[0])<<8|int(p[1]), sa.Scope_id)
	}
	return n, from, atLeast, nil
}
