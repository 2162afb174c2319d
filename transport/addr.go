package transport

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"golang.org/x/sys/unix"
)

// sockaddrToAddr converts what the kernel reports into the net.Addr of
// the network: *net.TCPAddr, *net.UDPAddr or *net.UnixAddr.
func sockaddrToAddr(network string, sa unix.Sockaddr) net.Addr {
	var ip net.IP
	var port int
	var zone string
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		ip, port = net.IP(append([]byte(nil), sa.Addr[:]...)), sa.Port
	case *unix.SockaddrInet6:
		ip, port = net.IP(append([]byte(nil), sa.Addr[:]...)), sa.Port
		if sa.ZoneId != 0 {
			zone = zoneName(int(sa.ZoneId))
		}
	case *unix.SockaddrUnix:
		return &net.UnixAddr{Name: sa.Name, Net: network}
	default:
		return nil
	}
	if network == "udp" || network == "udp4" || network == "udp6" {
		return &net.UDPAddr{IP: ip, Port: port, Zone: zone}
	}
	return &net.TCPAddr{IP: ip, Port: port, Zone: zone}
}

func zoneName(index int) string {
	if ifi, err := net.InterfaceByIndex(index); err == nil {
		return ifi.Name
	}
	return strconv.Itoa(index)
}

func zoneIndex(zone string) uint32 {
	if zone == "" {
		return 0
	}
	if ifi, err := net.InterfaceByName(zone); err == nil {
		return uint32(ifi.Index)
	}
	n, _ := strconv.Atoi(zone)
	return uint32(n)
}

// ipSockaddr returns the socket address and family for ip and port.
// family4 forces AF_INET for an unspecified ip.
func ipSockaddr(ip net.IP, port int, zone string, family4 bool) (unix.Sockaddr, int) {
	if ip == nil || ip.IsUnspecified() {
		if family4 || (ip != nil && ip.To4() != nil && len(ip) == net.IPv4len) {
			return &unix.SockaddrInet4{Port: port}, unix.AF_INET
		}
		return &unix.SockaddrInet6{Port: port}, unix.AF_INET6
	}
	if ip4 := ip.To4(); ip4 != nil {
		sa := &unix.SockaddrInet4{Port: port}
		copy(sa.Addr[:], ip4)
		return sa, unix.AF_INET
	}
	sa := &unix.SockaddrInet6{Port: port, ZoneId: zoneIndex(zone)}
	copy(sa.Addr[:], ip.To16())
	return sa, unix.AF_INET6
}

// addrPortSockaddr is ipSockaddr for a netip.AddrPort.
func addrPortSockaddr(ap netip.AddrPort) (unix.Sockaddr, int) {
	a := ap.Addr()
	if a.Is4() || a.Is4In6() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: a.Unmap().As4()}, unix.AF_INET
	}
	return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16(), ZoneId: zoneIndex(a.Zone())}, unix.AF_INET6
}

// unixSockaddr returns the socket address for a Unix socket path; a name
// starting with '@' is in Linux's abstract namespace, as in package net.
// A name too long for the kernel's sockaddr_un is an error that says so.
func unixSockaddr(name string) (*unix.SockaddrUnix, error) {
	if most := len(unix.RawSockaddrUnix{}.Path) - 1; len(name) > most {
		return nil, fmt.Errorf("unix socket path too long: %d bytes, at most %d: %w", len(name), most, unix.EINVAL)
	}
	return &unix.SockaddrUnix{Name: name}, nil
}
