package core

import (
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// unixDgram wraps a new unix datagram socket (owned), bound to path unless
// path is "". The bind goes through the raw syscall, so that a path such
// as "@x" names a file (x/sys/unix would make it abstract).
func unixDgram(t testing.TB, l *Loop, path string) *Socket {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if path != "" {
		var a unixAddr
		if err := a.set(path); err != nil {
			t.Fatal(err)
		}
		_, _, errno := unix.Syscall(unix.SYS_BIND, uintptr(fd), uintptr(unsafe.Pointer(&a.raw)), uintptr(a.len))
		if errno != 0 {
			t.Fatal("bind", path, errno)
		}
	}
	s, err := l.Wrap(fd, true)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestUnixDgramSendTo exchanges datagrams between unix datagram sockets by
// path: the sender's path (or "" unbound), port 0, LuaSocket's addressing
// ("@x" is a file, not the abstract namespace) and its errors.
func TestUnixDgramSendTo(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	l, _ := newTestLoop(t)
	pa, pb := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	a, b, c := unixDgram(t, l, pa), unixDgram(t, l, pb), unixDgram(t, l, "")
	at := unixDgram(t, l, "@x") // a file named "@x" in dir

	sendTo(t, b, "hello", pa, 0)
	sendTo(t, c, "anon", pa, 0)
	sendTo(t, b, "again", pa, 99) // the port is ignored
	if res, from, port, err := a.ReceiveFrom(100, 1); err != nil || string(res) != "hello" || from != pb || port != 0 {
		t.Fatalf("from b: %q %q %d %v", res, from, port, err)
	}
	if res, from, _, err := a.ReceiveFrom(2, 1); err != nil || string(res) != "an" || from != "" {
		t.Fatalf("from unbound c, truncated: %q %q %v", res, from, err)
	}
	if res, err := a.Receive(PatCount, 100, 1); err != nil || string(res) != "again" {
		t.Fatalf("receive: %q %v", res, err)
	}
	sendTo(t, b, "at", "@x", 0)
	if res, from, _, err := at.ReceiveFrom(100, 1); err != nil || string(res) != "at" || from != pb {
		t.Fatalf(`to the file "@x": %q %q %v`, res, from, err)
	}
	if _, err := b.SendTo([]byte("x"), filepath.Join(dir, "none"), 0, 1); !isErrno(err, unix.ENOENT) {
		t.Fatalf("no such path: %v", err)
	}
	if _, err := b.SendTo([]byte("x"), "/"+strings.Repeat("p", 107), 0, 1); err != ErrInvalid {
		t.Fatalf("108-byte path: %v", err)
	}
	if _, err := b.SendTo([]byte("x"), "a\x00b", 0, 1); err != ErrInvalid {
		t.Fatalf("path with NUL: %v", err)
	}
	sendTo(t, b, "after errors", pa, 0) // the cache is not left broken
	if res, err := a.Receive(PatCount, 100, 1); err != nil || string(res) != "after errors" {
		t.Fatalf("after errors: %q %v", res, err)
	}
}

// TestUnixDgramFullReceiver sends to a receiver whose queue is full: the
// kernel never signals the unconnected sender writable again, so SendTo
// parks on a retry timer (dgramRetry), and the retry after the receiver
// read one datagram goes through.
func TestUnixDgramFullReceiver(t *testing.T) {
	dir := t.TempDir()
	l, clk := newTestLoop(t)
	pa := filepath.Join(dir, "a")
	a, b := unixDgram(t, l, pa), unixDgram(t, l, "")
	sent := 0
	for ; sent < 100000; sent++ {
		if _, err := b.SendTo([]byte("fill"), pa, 0, 0); err == ErrTimeout {
			break
		} else if err != nil {
			t.Fatal("fill:", err)
		}
	}
	if sent == 0 || sent == 100000 {
		t.Fatalf("filled with %d datagrams", sent)
	}
	const tok = 7
	if _, err := b.SendTo([]byte("last"), pa, 0, tok); err != ErrWait {
		t.Fatalf("full receiver: %v", err)
	}
	if got := selectTokens(t, l, 0); len(got) != 0 {
		t.Fatalf("delivered before the retry time: %v", got)
	}
	if res, err := a.Receive(PatCount, 100, 0); err != nil || string(res) != "fill" {
		t.Fatalf("drain one: %q %v", res, err)
	}
	clk.t += dgramRetry
	if got := selectTokens(t, l, 0); len(got) != 1 || got[0] != tok {
		t.Fatalf("retry: %v", got)
	}
	if n, err := b.SendTo([]byte("last"), pa, 0, tok); err != nil || n != 4 {
		t.Fatalf("retried send: %d %v", n, err)
	}
	for i := 1; i < sent; i++ {
		if res, err := a.Receive(PatCount, 100, 0); err != nil || string(res) != "fill" {
			t.Fatalf("datagram %d: %q %v", i, res, err)
		}
	}
	if res, err := a.Receive(PatCount, 100, 0); err != nil || string(res) != "last" {
		t.Fatalf("last: %q %v", res, err)
	}
}

// TestUnixDgramUnboundAfterInet checks the sender of a datagram from an
// unbound unix socket right after an inet datagram on another socket of
// the same loop: the kernel gives an address of length 0 and leaves the
// loop's address buffer as the inet receive left it, which must not be
// read as the sender ("" and port 0, not "127.0.0.1" and its port).
func TestUnixDgramUnboundAfterInet(t *testing.T) {
	dir := t.TempDir()
	l, _ := newTestLoop(t)
	u, ip, uport := udpBound(t, l, 4)
	v, _, _ := udpBound(t, l, 4)
	pa := filepath.Join(dir, "a")
	a, c := unixDgram(t, l, pa), unixDgram(t, l, "")
	for i := 0; i < 2; i++ { // the second time through the address cache
		sendTo(t, v, "inet", ip, uport)
		if res, from, port, err := u.ReceiveFrom(100, 1); err != nil || string(res) != "inet" || from != ip || port == 0 {
			t.Fatalf("inet: %q %q %d %v", res, from, port, err)
		}
		sendTo(t, c, "anon", pa, 0)
		if res, from, port, err := a.ReceiveFrom(100, 1); err != nil || string(res) != "anon" || from != "" || port != 0 {
			t.Fatalf("round %d: from unbound: %q %q %d %v, want \"\" 0", i, res, from, port, err)
		}
	}
}
