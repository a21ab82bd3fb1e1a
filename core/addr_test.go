package core

import (
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSockaddrZone checks that a scoped IPv6 address keeps its zone, by
// number or interface name, as getaddrinfo reads it for LuaSocket; an
// unknown interface, or a zone on an IPv4 socket, is invalid.
func TestSockaddrZone(t *testing.T) {
	s6 := &Socket{family: unix.AF_INET6}
	s4 := &Socket{family: unix.AF_INET}
	zone := func(ip string) uint32 {
		t.Helper()
		sa, err := s6.sockaddr(ip, 53)
		if err != nil {
			t.Fatalf("%s: %v", ip, err)
		}
		a := sa.(*unix.SockaddrInet6)
		if a.Port != 53 {
			t.Fatalf("%s: %+v", ip, a)
		}
		return a.ZoneId
	}
	if z := zone("fe80::1%2"); z != 2 {
		t.Fatalf("numeric zone: %d", z)
	}
	if z := zone("::1"); z != 0 {
		t.Fatalf("no zone: %d", z)
	}
	if lo, err := net.InterfaceByName("lo"); err == nil {
		if z := zone("fe80::1%lo"); z != uint32(lo.Index) {
			t.Fatalf("zone lo: %d, want %d", z, lo.Index)
		}
	}
	for _, bad := range []struct {
		s  *Socket
		ip string
	}{{s6, "fe80::1%nosuchif0"}, {s4, "fe80::1%2"}, {s6, "fe80::1%"}} {
		if _, err := bad.s.sockaddr(bad.ip, 53); err != ErrInvalid {
			t.Fatalf("%q on family %d: %v, want ErrInvalid", bad.ip, bad.s.family, err)
		}
	}
}
