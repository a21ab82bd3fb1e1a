package core

import (
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakeClock is an injected loop clock advanced by hand.
type fakeClock struct{ t time.Duration }

// now reads the clock.
func (c *fakeClock) now() time.Duration { return c.t }

// newTestLoop makes a loop on a fake clock, closed at test end.
func newTestLoop(t testing.TB) (*Loop, *fakeClock) {
	t.Helper()
	c := &fakeClock{t: time.Hour}
	l, err := NewLoopClock(c.now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, c
}

// socketPair wraps one end of an AF_UNIX stream pair (owned) and returns
// the other end as a raw blocking fd for the peer, closed at test end.
func socketPair(t testing.TB, l *Loop) (*Socket, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	s, err := l.Wrap(fds[0], true)
	if err != nil {
		t.Fatal(err)
	}
	peer := fds[1]
	t.Cleanup(func() { unix.Close(peer) })
	return s, peer
}

// smallSendBuf returns a socket pair whose asok end has a 4 KiB send
// buffer, and 256 KiB of data, more than that buffer holds.
func smallSendBuf(t testing.TB, l *Loop) (*Socket, int, []byte) {
	t.Helper()
	s, peer := socketPair(t, l)
	if err := unix.SetsockoptInt(s.Fd(), unix.SOL_SOCKET, unix.SO_SNDBUF, 4096); err != nil {
		t.Fatal(err)
	}
	return s, peer, []byte(strings.Repeat("0123456789abcdef", 1<<14))
}

// peerWrite writes all of p to the raw fd.
func peerWrite(t testing.TB, fd int, p string) {
	t.Helper()
	for len(p) > 0 {
		n, err := unix.Write(fd, []byte(p))
		if err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
}

// selectTokens runs one Select (real timeout) and returns the tokens.
func selectTokens(t testing.TB, l *Loop, timeout time.Duration) []Token {
	t.Helper()
	out := make([]Token, 64)
	n, err := l.Select(timeout, out)
	if err != nil {
		t.Fatal(err)
	}
	return out[:n]
}

// waitFor selects until tok is delivered (at most 5 s of real time) and
// returns the other tokens delivered with it.
func waitFor(t testing.TB, l *Loop, tok Token) []Token {
	t.Helper()
	var others []Token
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, got := range selectTokens(t, l, 100*time.Millisecond) {
			if got == tok {
				return others
			}
			others = append(others, got)
		}
	}
	t.Fatalf("token %d never delivered (others %v)", tok, others)
	return nil
}

// drive repeats op while it returns ErrWait, waiting for tok in between.
func drive(t testing.TB, l *Loop, tok Token, op func() error) error {
	t.Helper()
	for i := 0; i < 10000; i++ {
		err := op()
		if err != ErrWait {
			return err
		}
		waitFor(t, l, tok)
	}
	t.Fatal("operation never finished")
	return nil
}

// listenTCP makes a listening loopback socket and returns it with its port.
func listenTCP(t testing.TB, l *Loop) (*Socket, int) {
	t.Helper()
	ln, err := l.NewTCP(4)
	if err != nil {
		t.Fatal(err)
	}
	if err := ln.Bind("127.0.0.1", 0); err != nil {
		t.Fatal(err)
	}
	if err := ln.Listen(0); err != nil {
		t.Fatal(err)
	}
	_, port, err := ln.LocalAddr()
	if err != nil || port == 0 {
		t.Fatalf("LocalAddr: %d %v", port, err)
	}
	return ln, port
}

// tcpPair connects a client to a new listener and returns both ends.
func tcpPair(t testing.TB, l *Loop) (client, server *Socket) {
	t.Helper()
	ln, port := listenTCP(t, l)
	return acceptPair(t, l, ln, 4, "127.0.0.1", port)
}

// acceptPair connects a new TCP socket of family (4 or 6) to listener
// ln at host:port, accepts it, closes ln and returns both ends.
func acceptPair(t testing.TB, l *Loop, ln *Socket, family int, host string, port int) (client, server *Socket) {
	t.Helper()
	c, err := l.NewTCP(family)
	if err != nil {
		t.Fatal(err)
	}
	if err := drive(t, l, 901, func() error { return c.Connect(host, port, 901) }); err != nil {
		t.Fatalf("connect: %v", err)
	}
	err = drive(t, l, 902, func() (e error) { server, e = ln.Accept(902); return e })
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	ln.Close()
	return c, server
}

// isErrno reports whether err carries errno e.
func isErrno(err error, e unix.Errno) bool {
	var got unix.Errno
	return errors.As(err, &got) && got == e
}

// readFd reads once from a raw fd.
func readFd(t testing.TB, fd int, buf []byte) int {
	t.Helper()
	n, err := unix.Read(fd, buf)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
