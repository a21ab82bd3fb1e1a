package core

import (
	"net"
	"net/netip"
	"strconv"

	"golang.org/x/sys/unix"
)

// sockaddrFamily returns the address family of sa.
func sockaddrFamily(sa unix.Sockaddr) int {
	switch sa.(type) {
	case *unix.SockaddrInet4:
		return unix.AF_INET
	case *unix.SockaddrInet6:
		return unix.AF_INET6
	case *unix.SockaddrUnix:
		return unix.AF_UNIX
	}
	return unix.AF_UNSPEC
}

// sockaddr builds the address of numeric ip ("*" = any) and port for s's
// family; IPv4 addresses become v4-mapped on IPv6 sockets, and a scoped
// IPv6 address keeps its zone (interface).
func (s *Socket) sockaddr(ip string, port int) (unix.Sockaddr, error) {
	if port < 0 || port > 65535 {
		return nil, ErrInvalid
	}
	var a netip.Addr
	if ip == "*" {
		a = netip.IPv4Unspecified()
		if s.family == unix.AF_INET6 {
			a = netip.IPv6Unspecified()
		}
	} else {
		var err error
		if a, err = netip.ParseAddr(ip); err != nil {
			return nil, ErrInvalid
		}
	}
	var zone uint32
	if z := a.Zone(); z != "" { // a scoped IPv6 address: "fe80::1%eth0" or "%2"
		id, ok := zoneIndex(z)
		if !ok || s.family != unix.AF_INET6 {
			return nil, ErrInvalid
		}
		zone, a = id, a.WithZone("")
	}
	switch s.family {
	case unix.AF_INET:
		a = a.Unmap()
		if !a.Is4() {
			return nil, ErrInvalid
		}
		return &unix.SockaddrInet4{Port: port, Addr: a.As4()}, nil
	case unix.AF_INET6:
		return &unix.SockaddrInet6{Port: port, Addr: a.As16(), ZoneId: zone}, nil
	}
	return nil, ErrInvalid
}

// zoneIndex returns the interface index an IPv6 zone names: a number, or
// an interface name (as getaddrinfo reads "%eth0").
func zoneIndex(z string) (uint32, bool) {
	if n, err := strconv.ParseUint(z, 10, 32); err == nil {
		return uint32(n), true
	}
	ifi, err := net.InterfaceByName(z)
	if err != nil {
		return 0, false
	}
	return uint32(ifi.Index), true
}

// Bind binds s to numeric ip ("*" = any) and port, with SO_REUSEADDR set
// as LuaSocket's bind does.
func (s *Socket) Bind(ip string, port int) error {
	if s.closed {
		return ErrClosed
	}
	sa, err := s.sockaddr(ip, port)
	if err != nil {
		return err
	}
	if err := unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return sysErr("setsockopt", err)
	}
	return sysErr("bind", unix.Bind(s.fd, sa))
}

// Listen starts listening; backlog <= 0 means 32 (LuaSocket's default).
// A socket holding bytes Unread put back is ErrInvalid (see Unread).
func (s *Socket) Listen(backlog int) error {
	if s.closed {
		return ErrClosed
	}
	if s.Held() > 0 { // (not Buffered: a waiting receive may hold them)
		return ErrInvalid // bytes Unread put back: a listener never reads them
	}
	if backlog <= 0 {
		backlog = 32
	}
	if err := unix.Listen(s.fd, backlog); err != nil {
		return sysErr("listen", err)
	}
	s.listening = true
	return nil
}

// LocalAddr returns the local ip and port of s.
func (s *Socket) LocalAddr() (ip string, port int, err error) {
	if s.closed {
		return "", 0, ErrClosed
	}
	sa, err := unix.Getsockname(s.fd)
	if err != nil {
		return "", 0, sysErr("getsockname", err)
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrFrom4(sa.Addr).String(), sa.Port, nil
	case *unix.SockaddrInet6:
		return netip.AddrFrom16(sa.Addr).String(), sa.Port, nil
	}
	return "", 0, ErrInvalid
}

// Connect connects s to numeric ip and port without blocking: EINPROGRESS
// parks tok on the write queue; the retry after delivery reads SO_ERROR
// (0: nil, else that errno). Token 0 returns ErrTimeout while in progress;
// a later Connect checks the same connection attempt.
func (s *Socket) Connect(ip string, port int, tok Token) error {
	sa, err := s.sockaddr(ip, port)
	if err != nil && !s.closed {
		return err
	}
	w, start, err := s.begin(&s.wq, tok, false)
	if err != nil {
		if w != nil { // expired head; the kernel connect goes on
			s.done(&s.wq, w)
		}
		return err
	}
	if !s.connecting {
		switch e := unix.Connect(s.fd, sa); e {
		case nil:
			s.done(&s.wq, w)
			return nil
		case unix.EINPROGRESS, unix.EINTR, unix.EALREADY:
			s.connecting = true
		default:
			s.done(&s.wq, w)
			return sysErr("connect", e)
		}
	} else if s.pollReady(DirWrite) {
		s.connecting = false
		soerr, e := unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_ERROR)
		s.done(&s.wq, w)
		if e != nil {
			return sysErr("getsockopt", e)
		}
		if soerr != 0 {
			return sysErr("connect", unix.Errno(soerr))
		}
		return nil
	}
	if w, err = s.block(&s.wq, w, tok, start); err == ErrWait {
		return ErrWait
	}
	s.done(&s.wq, w)
	return err
}

// Accept accepts one connection; the new socket is owned, non-blocking,
// close-on-exec and registered on s's loop. ECONNABORTED and EINTR are
// retried at once (parking needs EAGAIN); EMFILE etc. are returned.
func (s *Socket) Accept(tok Token) (*Socket, error) {
	w, start, err := s.begin(&s.rq, tok, false)
	if err != nil {
		if w != nil { // expired head
			s.done(&s.rq, w)
		}
		return nil, err
	}
	for {
		nfd, _, e := unix.Accept4(s.fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		switch {
		case e == nil:
			c, err := s.l.Wrap(nfd, true)
			if err != nil {
				unix.Close(nfd)
			}
			s.done(&s.rq, w)
			return c, err
		case e == unix.EINTR || e == unix.ECONNABORTED:
			continue
		case isAgain(e):
			if w, err = s.block(&s.rq, w, tok, start); err == ErrWait {
				return nil, ErrWait
			}
			s.done(&s.rq, w)
			return nil, err
		default:
			s.done(&s.rq, w)
			return nil, sysErr("accept4", e)
		}
	}
}
