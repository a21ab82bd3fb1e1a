package core

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// udpBound makes a UDP socket of family bound to the loopback address and
// returns it with its port (skips the test if the family is unavailable).
func udpBound(t testing.TB, l *Loop, family int) (*Socket, string, int) {
	t.Helper()
	ip := "127.0.0.1"
	if family == 6 {
		ip = "::1"
	}
	s, err := l.NewUDP(family)
	if err != nil {
		t.Skip("no UDP socket of family", family, "on this machine:", err)
	}
	if err := s.Bind(ip, 0); err != nil {
		t.Skip("no loopback address", ip, "on this machine:", err)
	}
	got, port, err := s.LocalAddr()
	if err != nil || got != ip || port == 0 {
		t.Fatalf("LocalAddr: %q %d %v", got, port, err)
	}
	return s, ip, port
}

// sendTo sends one datagram with SendTo and token 0, failing on error.
func sendTo(t testing.TB, s *Socket, data, ip string, port int) {
	t.Helper()
	if n, err := s.SendTo([]byte(data), ip, port, 0); err != nil || n != len(data) {
		t.Fatalf("SendTo: %d %v", n, err)
	}
}

// TestUDPReceiveFrom exchanges datagrams over IPv4 and IPv6: sender
// address, truncation, empty datagrams, receive(0), datagram boundaries.
func TestUDPReceiveFrom(t *testing.T) {
	for _, family := range []int{4, 6} {
		l, _ := newTestLoop(t)
		a, ip, aport := udpBound(t, l, family)
		b, _, bport := udpBound(t, l, family)
		for _, d := range []string{"hello", "0123456789abcdef", "", "gone", "tail"} {
			sendTo(t, b, d, ip, aport)
		}
		res, from, port, err := a.ReceiveFrom(8192, 1)
		if err != nil || string(res) != "hello" || from != ip || port != bport {
			t.Fatalf("v%d: %q %q %d %v", family, res, from, port, err)
		}
		if res, err := a.Receive(PatCount, 10, 1); err != nil || string(res) != "0123456789" {
			t.Fatalf("v%d truncate: %q %v", family, res, err)
		}
		if res, from, _, err := a.ReceiveFrom(100, 1); err != nil || len(res) != 0 || from != ip {
			t.Fatalf("v%d empty: %q %q %v", family, res, from, err)
		}
		if res, err := a.Receive(PatCount, 0, 1); err != nil || len(res) != 0 {
			t.Fatalf("v%d receive(0): %q %v", family, res, err)
		}
		if res, err := a.Receive(PatCount, 100, 1); err != nil || string(res) != "tail" {
			t.Fatalf("v%d receive(0) must consume a datagram: %q %v", family, res, err)
		}
		if _, err := a.Receive(PatCount, 100, 0); err != ErrTimeout {
			t.Fatalf("v%d empty queue, token 0: %v", family, err)
		}
	}
}

// TestUDPBig reads datagrams larger than the scratch buffer (a unix
// datagram pair carries more than 64 KiB) and a 60,000-byte UDP one.
func TestUDPBig(t *testing.T) {
	l, _ := newTestLoop(t)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[1])
	unix.SetsockoptInt(fds[1], unix.SOL_SOCKET, unix.SO_SNDBUF, 1<<20)
	s, err := l.Wrap(fds[0], true)
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 100000/16)
	for _, n := range []int{200000, 70000, 100} {
		if _, err := unix.Write(fds[1], big); err != nil {
			t.Skip("cannot send a 100,000-byte unix datagram:", err)
		}
		res, err := s.Receive(PatCount, n, 1)
		if want := big[:min(n, len(big))]; err != nil || !bytes.Equal(res, want) {
			t.Fatalf("n=%d: got %d bytes, %v", n, len(res), err)
		}
	}
	a, ip, port := udpBound(t, l, 4)
	b, _, _ := udpBound(t, l, 4)
	sendTo(t, b, string(big[:60000]), ip, port)
	if res, err := a.Receive(PatCount, 65535, 1); err != nil || !bytes.Equal(res, big[:60000]) {
		t.Fatalf("60000: got %d bytes, %v", len(res), err)
	}
}

// TestUDPConnected sends and receives on a connected socket; a closed
// peer port gives ECONNREFUSED (LuaSocket: "connection refused").
func TestUDPConnected(t *testing.T) {
	l, _ := newTestLoop(t)
	srv, ip, port := udpBound(t, l, 4)
	c, _ := l.NewUDP(4)
	if err := c.Connect(ip, port, 1); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Send([]byte("ping"), 1); n != 4 || err != nil {
		t.Fatalf("send: %d %v", n, err)
	}
	if n, err := c.Send(nil, 1); n != 0 || err != nil {
		t.Fatalf("empty send: %d %v", n, err)
	}
	res, from, cport, err := srv.ReceiveFrom(100, 2)
	if err != nil || string(res) != "ping" || from != ip {
		t.Fatalf("server got %q %q %v", res, from, err)
	}
	if res, err := srv.Receive(PatCount, 100, 2); err != nil || len(res) != 0 {
		t.Fatalf("empty datagram: %q %v", res, err)
	}
	sendTo(t, srv, "pong", from, cport)
	if res, err := c.Receive(PatCount, 100, 3); err != nil || string(res) != "pong" {
		t.Fatalf("client got %q %v", res, err)
	}
	// refused: the peer goes away; the ICMP error wakes the parked reader
	srv.Close()
	if _, err := c.Send([]byte("x"), 4); err != nil {
		t.Fatal(err)
	}
	err = drive(t, l, 5, func() error { _, e := c.Receive(PatCount, 100, 5); return e })
	if !isErrno(err, unix.ECONNREFUSED) {
		t.Fatalf("got %v, want ECONNREFUSED", err)
	}
}

// TestUDPInvalid checks the argument errors of datagram operations.
func TestUDPInvalid(t *testing.T) {
	l, _ := newTestLoop(t)
	u, ip, port := udpBound(t, l, 4)
	for _, p := range []Pattern{PatLine, PatAll} {
		if _, err := u.Receive(p, 0, 1); err != ErrInvalid {
			t.Fatalf("pattern %d: %v", p, err)
		}
	}
	if _, _, _, err := u.ReceiveFrom(-1, 1); err != ErrInvalid {
		t.Fatalf("negative size: %v", err)
	}
	for _, bad := range []string{"*", "localhost", "::1", ""} {
		if _, err := u.SendTo([]byte("x"), bad, port, 1); err != ErrInvalid {
			t.Fatalf("SendTo %q: %v", bad, err)
		}
	}
	if _, err := u.SendTo([]byte("x"), ip, 70000, 1); err != ErrInvalid {
		t.Fatalf("port 70000: %v", err)
	}
	if err := u.Unread([]byte("x")); err != ErrInvalid {
		t.Fatalf("unread: %v", err)
	}
	tcp, _ := l.NewTCP(4)
	if _, _, _, err := tcp.ReceiveFrom(10, 1); err != ErrInvalid {
		t.Fatalf("ReceiveFrom on TCP: %v", err)
	}
	if _, err := tcp.SendTo([]byte("x"), ip, port, 1); err != ErrInvalid {
		t.Fatalf("SendTo on TCP: %v", err)
	}
	if _, err := l.NewUDP(5); err != ErrInvalid {
		t.Fatalf("family 5: %v", err)
	}
	u.Close()
	if _, _, _, err := u.ReceiveFrom(10, 1); err != ErrClosed {
		t.Fatalf("after close: %v", err)
	}
	if _, err := u.SendTo([]byte("x"), ip, port, 1); err != ErrClosed {
		t.Fatalf("after close: %v", err)
	}
}

// TestUDPFIFOAndTimeout parks three readers (the third with a deadline on
// the injected clock): datagrams go to them in order, the third times out.
func TestUDPFIFOAndTimeout(t *testing.T) {
	l, clk := newTestLoop(t)
	a, ip, port := udpBound(t, l, 4)
	b, _, _ := udpBound(t, l, 4)
	a.SetTimeout(time.Second, -1)
	for tok := Token(1); tok <= 3; tok++ {
		if _, _, _, err := a.ReceiveFrom(100, tok); err != ErrWait {
			t.Fatal(err)
		}
	}
	sendTo(t, b, "one", ip, port)
	sendTo(t, b, "two", ip, port)
	for i, want := range []string{"one", "two"} {
		tok := Token(i + 1)
		waitFor(t, l, tok)
		if res, _, _, err := a.ReceiveFrom(100, tok); err != nil || string(res) != want {
			t.Fatalf("token %d: %q %v", tok, res, err)
		}
	}
	clk.t += time.Second // deadlines: start + 1 s
	if got := selectTokens(t, l, 0); !slices.Contains(got, 3) {
		t.Fatalf("token 3 not delivered at its deadline: %v", got)
	}
	if _, _, _, err := a.ReceiveFrom(100, 3); err != ErrTimeout {
		t.Fatalf("token 3: %v", err)
	}
	if l.byTok.len() != 0 {
		t.Fatal("waiters left parked")
	}
}

// TestUDPCloseWakes closes a socket under two parked readers and a
// parked sender.
func TestUDPCloseWakes(t *testing.T) {
	l, _ := newTestLoop(t)
	u, _, _ := udpBound(t, l, 4)
	u.Receive(PatCount, 10, 1)
	u.ReceiveFrom(10, 2)
	u.Close()
	got := selectTokens(t, l, 0)
	if !slices.Equal(got, []Token{1, 2}) {
		t.Fatalf("got %v", got)
	}
	if _, err := u.Receive(PatCount, 10, 1); err != ErrClosed {
		t.Fatal(err)
	}
	if _, _, _, err := u.ReceiveFrom(10, 2); err != ErrClosed {
		t.Fatal(err)
	}
}

// TestDgramSendWait fills a unix datagram pair so that Send parks, then
// drains the queue: the parked sender is delivered and completes.
func TestDgramSendWait(t *testing.T) {
	l, _ := newTestLoop(t)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[1])
	s, _ := l.Wrap(fds[0], true)
	msg := bytes.Repeat([]byte("x"), 1000)
	sent := 0
	for ; sent < 100000; sent++ {
		if _, err := s.Send(msg, 0); err == ErrTimeout {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.Send([]byte("last"), 7); n != 0 || err != ErrWait {
		t.Fatalf("full queue: %d %v", n, err)
	}
	buf := make([]byte, 2000)
	for i := 0; i < sent; i++ { // unix datagrams: writable again at 1/4 of SO_SNDBUF
		readFd(t, fds[1], buf)
	}
	waitFor(t, l, 7)
	if n, err := s.Send([]byte("last"), 7); n != 4 || err != nil {
		t.Fatalf("retry: %d %v", n, err)
	}
	if n := readFd(t, fds[1], buf); string(buf[:n]) != "last" {
		t.Fatalf("last datagram %q", buf[:n])
	}
}

// TestUDPNoAllocs checks that a steady SendTo / ReceiveFrom exchange with
// one peer allocates nothing.
func TestUDPNoAllocs(t *testing.T) {
	l, _ := newTestLoop(t)
	a, ip, port := udpBound(t, l, 4)
	b, _, _ := udpBound(t, l, 4)
	msg := []byte("ping")
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := b.SendTo(msg, ip, port, 1); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := a.ReceiveFrom(100, 2); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per exchange", allocs)
	}
}
