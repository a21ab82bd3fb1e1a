package core

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The stream I/O syscalls. recvfrom(2) and sendto(2) without an address
// are recv(2) and send(2): on a socket they do what read(2) and
// sendmsg(2) do, by a shorter path through the kernel (no VFS layer for
// the read, no msghdr and iovec to copy in for the send). The sockets are
// non-blocking, so the calls never block: they go in as raw syscalls,
// without the scheduler's entersyscall/exitsyscall around them (Go's rule
// for RawSyscall). Errors come back as unix.Errno (EAGAIN included,
// compared by isAgain).

// bufPtr returns a pointer to p's first byte, nil when p is empty (the
// kernel touches no byte of a zero-length buffer). Callers convert it to
// uintptr in the syscall's argument list, so that the buffer stays alive
// and in place until the call returns (package unsafe, rule 4).
func bufPtr(p []byte) unsafe.Pointer {
	if len(p) == 0 {
		return nil
	}
	return unsafe.Pointer(&p[0])
}

// recv reads into p from socket fd: recvfrom(fd, p, len(p), 0, NULL, NULL).
func recv(fd int, p []byte) (int, error) {
	return recvWith(fd, p, 0)
}

// recvWith is recv with flags (MSG_PEEK, MSG_TRUNC).
func recvWith(fd int, p []byte, flags int) (int, error) {
	n, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(bufPtr(p)), uintptr(len(p)), uintptr(flags), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// send writes p to socket fd: sendto(fd, p, len(p), flags, NULL, 0).
func send(fd int, p []byte, flags int) (int, error) {
	n, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(bufPtr(p)), uintptr(len(p)), uintptr(flags), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// peerClosed reports whether the peer of stream socket fd has closed or
// shut down its sending side (a FIN, or a reset, has arrived).
func peerClosed(fd int) bool {
	return pollNow(fd, unix.POLLRDHUP)&(unix.POLLRDHUP|unix.POLLHUP|unix.POLLERR) != 0
}

// readyNow reports whether fd is ready for events (POLLIN or POLLOUT) now,
// an error or a hangup counting as ready (poll(2)'s answer to LuaSocket's
// socket_waitfd).
func readyNow(fd int, events int16) bool {
	return pollNow(fd, events)&(events|unix.POLLHUP|unix.POLLERR) != 0
}

// pollNow returns fd's poll(2) revents for events now: one ppoll(2) with a
// zero timeout (ppoll, not poll: arm64 has no poll syscall), as a raw
// syscall on a stack pollfd; 0 if it failed.
func pollNow(fd int, events int16) int16 {
	p := unix.PollFd{Fd: int32(fd), Events: events}
	var zero unix.Timespec
	n, _, errno := unix.RawSyscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&p)), 1, uintptr(unsafe.Pointer(&zero)), 0, 0, 0)
	if errno != 0 || n != 1 {
		return 0
	}
	return p.Revents
}
