package core

// Datagram sockets (UDP, and any SOCK_DGRAM fd given to Wrap): one
// operation moves one datagram, with LuaSocket 3.1.0 src/udp.c semantics:
// a receive of n bytes returns one datagram truncated to n (the rest of it
// is discarded by the kernel), an empty datagram is a valid "" result, and
// receive(0) consumes a datagram and returns "". The waiter-token, FIFO and
// timeout rules are those of op.go; datagrams have no partial results.

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// dgramLoop is the per-loop state of datagram receives: the sender address
// of the last recvfrom (kept in the loop so that the syscall does not
// allocate) and a buffer for datagrams larger than the scratch buffer.
type dgramLoop struct {
	from    unix.RawSockaddrAny
	fromLen uint32
	big     []byte
}

// dgramState is a datagram socket's address caches (allocated on first
// use): the last sender seen by ReceiveFrom and the last SendTo target, so
// that a steady exchange with one peer does not allocate.
type dgramState struct {
	fromRaw  [unix.SizeofSockaddrInet6]byte
	fromLen  uint32
	fromIP   string
	fromPort int
	toIP     string
	toPort   int
	toSA     unix.Sockaddr
	toUnix   unixAddr // the last SendTo target of a unix datagram socket
}

// unixAddr is a unix socket address as LuaSocket's unixdgram.c builds it:
// the path copied into sun_path, the length sizeof(sun_family) + len(path),
// no abstract-namespace translation ("@x" is a file named "@x").
type unixAddr struct {
	raw  unix.RawSockaddrUnix
	len  uint32
	path string
}

// set makes a the address of path; ErrInvalid if path has a NUL or does
// not fit sun_path with its terminator (LuaSocket's "path too long").
func (a *unixAddr) set(path string) error {
	if len(path) >= len(a.raw.Path) || strings.IndexByte(path, 0) >= 0 {
		return ErrInvalid
	}
	a.raw = unix.RawSockaddrUnix{Family: unix.AF_UNIX}
	for i := 0; i < len(path); i++ {
		a.raw.Path[i] = int8(path[i])
	}
	a.len = uint32(unsafe.Offsetof(a.raw.Path) + uintptr(len(path)))
	a.path = strings.Clone(path)
	return nil
}

// dgramRetry is how often a unix datagram SendTo that found the receiver's
// queue full tries again: the sender's epoll never signals that queue
// draining (only a connected sender's does), so it polls, as LuaSocket's
// blocking sendto does in its wait loop.
const dgramRetry = time.Millisecond

// NewUDP creates a non-blocking, close-on-exec UDP socket owned by the
// loop; family is 4 or 6 (IPv6 sockets are IPV6_V6ONLY, as LuaSocket's
// inet_trycreate makes them).
func (l *Loop) NewUDP(family int) (*Socket, error) {
	return l.newOwned(family, unix.SOCK_DGRAM)
}

// newOwned creates an owned, non-blocking, close-on-exec socket of type
// typ for family 4 or 6 and wraps it.
func (l *Loop) newOwned(family, typ int) (*Socket, error) {
	var af int
	switch family {
	case 4:
		af = unix.AF_INET
	case 6:
		af = unix.AF_INET6
	default:
		return nil, ErrInvalid
	}
	if l.closed {
		return nil, ErrClosed
	}
	fd, err := unix.Socket(af, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, sysErr("socket", err)
	}
	if af == unix.AF_INET6 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1); err != nil {
			unix.Close(fd)
			return nil, sysErr("setsockopt", err)
		}
	}
	s, err := l.Wrap(fd, true)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return s, nil
}

// isDgram reports whether s moves datagrams.
func (s *Socket) isDgram() bool {
	return s.typ == unix.SOCK_DGRAM
}

// dgram returns s's address caches, allocating them on first use.
func (s *Socket) dgram() *dgramState {
	if s.dg == nil {
		s.dg = &dgramState{}
	}
	return s.dg
}

// ReceiveFrom receives one datagram truncated to n bytes on a datagram
// socket and returns it with the sender's numeric ip (IPv6 link-local
// addresses carry their "%zone"; for a unix datagram socket: the sender's
// path, "" if unbound) and port (0 for unix sockets). The result is valid
// until the next call on the loop. Errors: ErrInvalid (not a datagram
// socket, n < 0), ErrWait, ErrTimeout, ErrClosed, unix.Errno (e.g.
// ECONNREFUSED on a connected socket after an ICMP port unreachable).
func (s *Socket) ReceiveFrom(n int, tok Token) ([]byte, string, int, error) {
	if !s.isDgram() || n < 0 {
		return nil, "", 0, ErrInvalid
	}
	res, err := s.receiveDgram(n, tok, true)
	if err != nil {
		return nil, "", 0, err
	}
	ip, port := s.sender()
	return res, ip, port, nil
}

// receiveDgram is Receive(PatCount, n) and ReceiveFrom on a datagram
// socket: one datagram truncated to n, through the read queue. If from is
// set, the sender is left in the loop's dgramLoop.
func (s *Socket) receiveDgram(n int, tok Token, from bool) ([]byte, error) {
	w, start, err := s.begin(&s.rq, tok, false)
	if err != nil {
		if w != nil { // expired head
			s.done(&s.rq, w)
		}
		return nil, err
	}
	var res []byte
	b := s.thr[0]
	if b != nil {
		b.allow(s.l.now(), 0)
	}
	if b != nil && b.pending {
		err = errAgain // in debt: block parks on the throttle timer
	} else if res, err = s.recvDgram(n, from); err == nil && b != nil {
		b.take(len(res))
	}
	if err == errAgain {
		if w, err = s.block(&s.rq, w, tok, start); err == ErrWait {
			return nil, ErrWait
		}
		res = nil
	}
	s.done(&s.rq, w)
	return res, err
}

// recvDgram reads one datagram truncated to n bytes: into the scratch
// buffer when it fits, else (n larger than the scratch buffer) the
// datagram's real size is peeked first and a loop buffer grown to
// min(size, n) (from the loop's allocator, see alloc.go). Returns errAgain when no datagram is pending.
func (s *Socket) recvDgram(n int, from bool) ([]byte, error) {
	e := &s.l.rx
	buf := e.begin()
	if n <= len(buf) {
		buf = buf[:n]
	} else {
		size, err := s.recvfrom(buf[:0], unix.MSG_PEEK|unix.MSG_TRUNC, false)
		if err != nil {
			return nil, err
		}
		need := min(size, n)
		if need > len(buf) {
			d := &s.l.dg
			if cap(d.big) < need {
				e.retire(d.big) // may hold the last result
				d.big = e.allocBuf(need)
			}
			buf = d.big[:need]
		} else {
			buf = buf[:need]
		}
	}
	k, err := s.recvfrom(buf, 0, from)
	if err != nil {
		return nil, err
	}
	return buf[:min(k, len(buf))], nil
}

// recvfrom is recvfrom(2) on s's fd without allocating: the sender (if
// from is set) goes to the loop's dgramLoop. EINTR is retried; EAGAIN is
// errAgain; other errors are wrapped.
func (s *Socket) recvfrom(p []byte, flags int, from bool) (int, error) {
	var zero byte
	base := unsafe.Pointer(&zero)
	if len(p) > 0 {
		base = unsafe.Pointer(&p[0])
	}
	d := &s.l.dg
	var sa, salen uintptr
	for {
		if from {
			d.fromLen = unix.SizeofSockaddrAny
			sa, salen = uintptr(unsafe.Pointer(&d.from)), uintptr(unsafe.Pointer(&d.fromLen))
		}
		r, _, errno := unix.Syscall6(unix.SYS_RECVFROM, uintptr(s.fd), uintptr(base),
			uintptr(len(p)), uintptr(flags|unix.MSG_DONTWAIT), sa, salen)
		switch {
		case errno == 0:
			return int(r), nil
		case errno == unix.EINTR:
			continue
		case isAgain(errno):
			return 0, errAgain
		}
		return 0, sysErr("recvfrom", errno)
	}
}

// sender converts the loop's last recvfrom address to (ip, port), through
// s's one-entry cache so that a steady peer costs no allocation.
func (s *Socket) sender() (string, int) {
	d, g := &s.l.dg, s.dgram()
	n := min(int(d.fromLen), len(g.fromRaw))
	raw := unsafe.Slice((*byte)(unsafe.Pointer(&d.from)), n)
	if g.fromLen == d.fromLen && int(d.fromLen) <= len(g.fromRaw) &&
		string(g.fromRaw[:n]) == string(raw) && g.fromIP != "" {
		return g.fromIP, g.fromPort
	}
	ip, port := rawAddr(&d.from, d.fromLen)
	g.fromLen = d.fromLen
	copy(g.fromRaw[:], raw)
	g.fromIP, g.fromPort = ip, port
	if int(d.fromLen) > len(g.fromRaw) {
		g.fromIP = "" // too long to cache (a unix path): never matches
	}
	return ip, port
}

// rawAddr decodes a kernel socket address of length n, "" and 0 for none
// (getnameinfo NI_NUMERICHOST style: IPv4-mapped IPv6 stays
// "::ffff:a.b.c.d", a scoped IPv6 address gets "%<interface name>").
func rawAddr(sa *unix.RawSockaddrAny, n uint32) (string, int) {
	if n < uint32(unsafe.Sizeof(sa.Addr.Family)) {
		// no address (an unbound unix sender): the kernel left sa as a
		// previous receive of the loop filled it
		return "", 0
	}
	switch sa.Addr.Family {
	case unix.AF_INET:
		a := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrFrom4(a.Addr).String(), int(ntohs(a.Port))
	case unix.AF_INET6:
		a := (*unix.RawSockaddrInet6)(unsafe.Pointer(sa))
		ip := netip.AddrFrom16(a.Addr)
		if a.Scope_id != 0 {
			zone := strconv.FormatUint(uint64(a.Scope_id), 10)
			if ifi, err := net.InterfaceByIndex(int(a.Scope_id)); err == nil {
				zone = ifi.Name
			}
			ip = ip.WithZone(zone)
		}
		return ip.String(), int(ntohs(a.Port))
	case unix.AF_UNIX:
		u := (*unix.RawSockaddrUnix)(unsafe.Pointer(sa))
		size := int(n) - int(unsafe.Offsetof(u.Path))
		path := make([]byte, 0, len(u.Path))
		for i := 0; i < size && i < len(u.Path) && u.Path[i] != 0; i++ {
			path = append(path, byte(u.Path[i]))
		}
		return string(path), 0
	}
	return "", 0
}

// ntohs converts a port in network byte order as stored by the kernel.
func ntohs(p uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&p))
	return uint16(b[0])<<8 | uint16(b[1])
}

// SendTo sends data as one datagram to numeric ip ("*" is not allowed)
// and port: an IPv4 address on an IPv6 socket is sent v4-mapped. On a unix
// datagram socket ip is the receiver's path and port is ignored. It returns
// len(data) or 0 with the error: ErrInvalid (not a datagram socket, bad
// address, a path of 108 bytes or more), ErrWait (send buffer full, or a
// unix receiver's queue full: call again with the same data and token),
// ErrTimeout, ErrClosed (EPIPE or closed), unix.Errno (EMSGSIZE,
// ECONNREFUSED, ENOENT...).
func (s *Socket) SendTo(data []byte, ip string, port int, tok Token) (int, error) {
	if s.closed {
		return 0, ErrClosed
	}
	if !s.isDgram() {
		return 0, ErrInvalid
	}
	g := s.dgram()
	if s.family == unix.AF_UNIX {
		if g.toUnix.len == 0 || g.toUnix.path != ip {
			if err := g.toUnix.set(ip); err != nil {
				g.toUnix.len = 0
				return 0, err
			}
		}
		return s.sendDgram(data, nil, &g.toUnix, tok)
	}
	if ip == "*" {
		return 0, ErrInvalid
	}
	if g.toSA == nil || g.toPort != port || g.toIP != ip {
		sa, err := s.sockaddr(ip, port)
		if err != nil {
			return 0, err
		}
		g.toIP, g.toPort, g.toSA = strings.Clone(ip), port, sa
	}
	return s.sendDgram(data, g.toSA, nil, tok)
}

// sendtoUnix is sendto(2) of data to ua on s's fd, without allocating.
func (s *Socket) sendtoUnix(data []byte, ua *unixAddr) (int, error) {
	var zero byte
	base := unsafe.Pointer(&zero)
	if len(data) > 0 {
		base = unsafe.Pointer(&data[0])
	}
	r, _, errno := unix.Syscall6(unix.SYS_SENDTO, uintptr(s.fd), uintptr(base), uintptr(len(data)),
		uintptr(unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT), uintptr(unsafe.Pointer(&ua.raw)), uintptr(ua.len))
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}

// sendDgram sends data as one datagram (to and ua nil: to the connected
// peer; ua: to a unix path) through the write queue: all of it or nothing.
func (s *Socket) sendDgram(data []byte, to unix.Sockaddr, ua *unixAddr, tok Token) (int, error) {
	w, start, err := s.begin(&s.wq, tok, false)
	if err != nil {
		if w != nil { // expired head
			s.done(&s.wq, w)
		}
		return 0, err
	}
	b := s.thr[1]
	for {
		if b != nil {
			b.allow(s.l.now(), 0)
		}
		k, e := 0, error(unix.EAGAIN) // in debt: block parks on the throttle timer
		switch {
		case b != nil && b.pending:
		case ua != nil:
			if k, e = s.sendtoUnix(data, ua); isAgain(e) {
				s.retryAt = s.l.now() + dgramRetry // see dgramRetry
			}
		default:
			k, e = unix.SendmsgN(s.fd, data, nil, to, unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT)
		}
		switch {
		case e == nil:
			if b != nil {
				b.take(k)
			}
			s.done(&s.wq, w)
			return k, nil
		case e == unix.EINTR:
			continue
		case isAgain(e):
			if w, err = s.block(&s.wq, w, tok, start); err == ErrWait {
				return 0, ErrWait
			}
		case e == unix.EPIPE:
			err = ErrClosed
		default:
			err = sysErr("sendmsg", e)
		}
		s.done(&s.wq, w)
		return 0, err
	}
}
