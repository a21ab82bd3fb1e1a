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

// bufBase returns the address of p's first byte, or of a dummy byte when
// p is empty (the kernel reads no byte of a zero-length buffer).
func bufBase(p []byte) uintptr {
	if len(p) == 0 {
		var zero byte
		return uintptr(unsafe.Pointer(&zero))
	}
	return uintptr(unsafe.Pointer(&p[0]))
}

// recv reads into p from socket fd: recvfrom(fd, p, len(p), 0, NULL, NULL).
func recv(fd int, p []byte) (int, error) {
	n, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), bufBase(p), uintptr(len(p)), 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// send writes p to socket fd: sendto(fd, p, len(p), flags, NULL, 0).
func send(fd int, p []byte, flags int) (int, error) {
	n, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), bufBase(p), uintptr(len(p)), uintptr(flags), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
