package core

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The last look at a deadline the loop meets late (expire.go): what the
// peer did meanwhile counts, as when LuaSocket's poll(2) scans once more
// after its timeout. In each case the clock passes the deadline first and
// the peer acts before the loop runs, so that the expiry, not an event,
// ends the wait (Select runs the timers before it polls).

// TestLastLookDataThenEOF: data and the EOF behind it, both after the
// park: the retry ends with the EOF (LuaSocket's result), not a timeout.
func TestLastLookDataThenEOF(t *testing.T) {
	for _, c := range []struct {
		p    Pattern
		n    int
		want string
		err  error
	}{{PatLine, 0, "hello", ErrClosed}, {PatAll, 0, "hello", nil}, {PatCount, 10, "hello", ErrClosed},
		{PatCount, 3, "hel", nil}} {
		l, clk := newTestLoop(t)
		s, peer := socketPair(t, l)
		s.SetTimeout(time.Second, -1)
		parkReceive(t, s, c.p, c.n, 1)
		clk.t += time.Second
		peerWrite(t, peer, "hello")
		if err := unix.Shutdown(peer, unix.SHUT_WR); err != nil {
			t.Fatal(err)
		}
		waitFor(t, l, 1)
		receiveIs(t, s, c.p, c.n, 1, c.want, c.err)
	}
}

// TestLastLookReadsAll: more than one read's worth (64 KiB) arrived after
// the park: the whole count is there, as socket_recv reads until the
// kernel has no more.
func TestLastLookReadsAll(t *testing.T) {
	l, clk := newTestLoop(t)
	s, peer := socketPair(t, l)
	if err := unix.SetsockoptInt(peer, unix.SOL_SOCKET, unix.SO_SNDBUF, 1<<20); err != nil {
		t.Fatal(err)
	}
	s.SetTimeout(time.Second, -1)
	const n = 100000
	parkReceive(t, s, PatCount, n, 1)
	clk.t += time.Second
	data := strings.Repeat("0123456789", n/10)
	peerWrite(t, peer, data)
	waitFor(t, l, 1)
	receiveIs(t, s, PatCount, n, 1, data, nil)
}

// TestLastLookLimit: a line past the receive limit arrived after the park:
// the limit's error with its first bytes, not everything with a timeout.
func TestLastLookLimit(t *testing.T) {
	l, clk := newTestLoop(t)
	s, peer := socketPair(t, l)
	s.SetTimeout(time.Second, -1)
	s.SetLimit(10)
	parkReceive(t, s, PatLine, 0, 1)
	clk.t += time.Second
	peerWrite(t, peer, strings.Repeat("q", 100))
	waitFor(t, l, 1)
	receiveIs(t, s, PatLine, 0, 1, strings.Repeat("q", 10), ErrLimit)
}

// TestLastLookAccept: a connection queued after the accept parked is
// accepted, not timed out.
func TestLastLookAccept(t *testing.T) {
	l, clk := newTestLoop(t)
	ln, port := listenTCP(t, l)
	ln.SetTimeout(time.Second, -1)
	if _, err := ln.Accept(1); err != ErrWait {
		t.Fatalf("accept: %v", err)
	}
	clk.t += time.Second
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Connect(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, l, 1)
	c, err := ln.Accept(1)
	if err != nil || c == nil {
		t.Fatalf("accept after the deadline: %v", err)
	}
	c.Close()
	// nothing queued at the deadline: a timeout
	if _, err := ln.Accept(2); err != ErrWait {
		t.Fatalf("accept: %v", err)
	}
	clk.t += time.Second
	waitFor(t, l, 2)
	if _, err := ln.Accept(2); err != ErrTimeout {
		t.Fatalf("accept, nothing queued: %v, want ErrTimeout", err)
	}
}

// TestLastLookDatagram: a datagram that came after the receive parked is
// received, not timed out.
func TestLastLookDatagram(t *testing.T) {
	l, clk := newTestLoop(t)
	a, ip, aport := udpBound(t, l, 4)
	b, _, _ := udpBound(t, l, 4)
	a.SetTimeout(time.Second, -1)
	if _, _, _, err := a.ReceiveFrom(100, 1); err != ErrWait {
		t.Fatalf("receivefrom: %v", err)
	}
	clk.t += time.Second
	sendTo(t, b, "late", ip, aport)
	waitFor(t, l, 1)
	if res, _, _, err := a.ReceiveFrom(100, 1); err != nil || string(res) != "late" {
		t.Fatalf("receivefrom after the deadline: %q %v", res, err)
	}
	if res, err := a.Receive(PatCount, 100, 2); err != ErrWait {
		t.Fatalf("receive: %q %v", res, err)
	}
	clk.t += time.Second
	sendTo(t, b, "later", ip, aport)
	waitFor(t, l, 2)
	if res, err := a.Receive(PatCount, 100, 2); err != nil || string(res) != "later" {
		t.Fatalf("receive after the deadline: %q %v", res, err)
	}
}

// TestLastLookSendReset: a send waiting on a full buffer whose peer reset
// the connection before the loop met the deadline ends 'closed' with its
// count, as socket_send's poll and send find, not with a timeout.
func TestLastLookSendReset(t *testing.T) {
	l, clk := newTestLoop(t)
	c, srv := tcpPair(t, l)
	c.SetTimeout(time.Second, -1)
	big := []byte(strings.Repeat("z", 32<<20))
	n1, err := c.Send(big, 1)
	if err != ErrWait || n1 == 0 {
		t.Fatalf("send: %d %v", n1, err)
	}
	clk.t += time.Second
	if err := unix.SetsockoptLinger(srv.Fd(), unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1}); err != nil {
		t.Fatal(err)
	}
	srv.Close() // unread data: a reset
	if !readyNow(c.Fd(), unix.POLLOUT) {
		time.Sleep(50 * time.Millisecond) // the reset crosses loopback at once; allow for it
	}
	waitFor(t, l, 1)
	// the kernel's ECONNRESET (the binding's 'closed', as LuaSocket's)
	if n2, err := c.Send(big, 1); !(err == ErrClosed || isErrno(err, unix.ECONNRESET)) || n2 < n1 {
		t.Fatalf("send after the reset: %d %v, want the reset and >= %d", n2, err, n1)
	}
}

// TestLastLookBothWaitsAgain: with both a block and a total timeout, a
// late deadline whose last look reads part of a line does not end the
// receive while the total has time left: LuaSocket's next wait is
// min(block, total left) from then, and the line completes. Past the
// total, it times out with the part.
func TestLastLookBothWaitsAgain(t *testing.T) {
	l, clk := newTestLoop(t)
	s, peer := socketPair(t, l)
	s.SetTimeout(time.Second, 10*time.Second)
	parkReceive(t, s, PatLine, 0, 1)
	clk.t += time.Second
	peerWrite(t, peer, "a")
	waitFor(t, l, 1)
	parkReceive(t, s, PatLine, 0, 1) // it waits again
	peerWrite(t, peer, "b\n")
	waitFor(t, l, 1)
	receiveIs(t, s, PatLine, 0, 1, "ab", nil)

	parkReceive(t, s, PatLine, 0, 2)
	clk.t += 11 * time.Second // past the total too
	peerWrite(t, peer, "c")
	waitFor(t, l, 2)
	receiveIs(t, s, PatLine, 0, 2, "c", ErrTimeout)
}
