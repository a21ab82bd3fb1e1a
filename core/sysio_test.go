package core

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestRecvSend(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, b := fds[0], fds[1]
	defer unix.Close(a)
	if n, err := send(a, []byte("abc"), unix.MSG_NOSIGNAL); n != 3 || err != nil {
		t.Fatalf("send = %d, %v; want 3, nil", n, err)
	}
	if n, err := send(a, nil, unix.MSG_NOSIGNAL); n != 0 || err != nil {
		t.Fatalf("send of nothing = %d, %v; want 0, nil", n, err)
	}
	buf := make([]byte, 16)
	if n, err := recv(b, buf); n != 3 || err != nil || string(buf[:n]) != "abc" {
		t.Fatalf("recv = %d, %v, %q; want 3, nil, \"abc\"", n, err, buf[:n])
	}
	if n, err := recv(b, buf); n != 0 || !isAgain(err) {
		t.Fatalf("recv on an empty socket = %d, %v; want 0, EAGAIN", n, err)
	}
	unix.Close(b)
	if n, err := recv(a, buf); n != 0 || err != nil {
		t.Fatalf("recv after the peer closed = %d, %v; want 0, nil (EOF)", n, err)
	}
	if n, err := send(a, []byte("x"), unix.MSG_NOSIGNAL); n != 0 || err != unix.EPIPE {
		t.Fatalf("send after the peer closed = %d, %v; want 0, EPIPE (no SIGPIPE)", n, err)
	}
	if _, err := recv(-1, buf); err != unix.EBADF {
		t.Fatalf("recv on fd -1: %v, want EBADF", err)
	}
}
