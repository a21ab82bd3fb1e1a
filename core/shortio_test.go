package core

import (
	"slices"
	"testing"
	"time"
)

// TestShortReadParksWithoutRead checks that a receive after a short read
// parks without reading (rdrained) and that data arriving right after the
// short read still wakes it.
func TestShortReadParksWithoutRead(t *testing.T) {
	l, _ := newTestLoop(t)
	c, srv := tcpPair(t, l)
	if _, err := c.Receive(PatLine, 0, 7); err != ErrWait {
		t.Fatal(err)
	}
	peerWrite(t, srv.Fd(), "one\n")
	waitFor(t, l, 7)
	if res, err := c.Receive(PatLine, 0, 7); err != nil || string(res) != "one" {
		t.Fatalf("first line: %q %v", res, err)
	}
	if !c.rdrained {
		t.Fatal("short read did not mark the socket drained")
	}
	if _, err := c.Receive(PatLine, 0, 7); err != ErrWait {
		t.Fatalf("after a short read: %v, want ErrWait", err)
	}
	peerWrite(t, srv.Fd(), "two\n") // arrives after the short read: an edge
	waitFor(t, l, 7)
	if res, err := c.Receive(PatLine, 0, 7); err != nil || string(res) != "two" {
		t.Fatalf("second line: %q %v", res, err)
	}
}

// TestShortReadPartialLine checks a line split across two arrivals: the
// first part's short read parks the receive, the rest wakes it.
func TestShortReadPartialLine(t *testing.T) {
	l, _ := newTestLoop(t)
	c, srv := tcpPair(t, l)
	if _, err := c.Receive(PatLine, 0, 3); err != ErrWait {
		t.Fatal(err)
	}
	peerWrite(t, srv.Fd(), "ab")
	waitFor(t, l, 3)
	if _, err := c.Receive(PatLine, 0, 3); err != ErrWait {
		t.Fatalf("half a line: %v", err)
	}
	peerWrite(t, srv.Fd(), "c\n")
	waitFor(t, l, 3)
	if res, err := c.Receive(PatLine, 0, 3); err != nil || string(res) != "abc" {
		t.Fatalf("line: %q %v", res, err)
	}
}

// TestShortReadThenEOF checks that data and the peer's FIN seen in one
// event do not leave the EOF behind a short read: the receive after the
// data reports it without another Select.
func TestShortReadThenEOF(t *testing.T) {
	l, _ := newTestLoop(t)
	c, srv := tcpPair(t, l)
	if _, err := c.Receive(PatLine, 0, 4); err != ErrWait {
		t.Fatal(err)
	}
	peerWrite(t, srv.Fd(), "x\ny")
	srv.Close()
	waitFor(t, l, 4)
	if res, err := c.Receive(PatLine, 0, 4); err != nil || string(res) != "x" {
		t.Fatalf("line: %q %v", res, err)
	}
	if res, err := c.Receive(PatLine, 0, 4); err != ErrClosed || string(res) != "y" {
		t.Fatalf("tail: %q %v, want \"y\" closed", res, err)
	}
}

// TestShortReadTokenZeroReads checks that token 0 (no waiting, so no
// Select before the next call) always reads, even after a short read.
func TestShortReadTokenZeroReads(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer := socketPair(t, l)
	peerWrite(t, peer, "a\n")
	if res, err := s.Receive(PatLine, 0, 0); err != nil || string(res) != "a" {
		t.Fatalf("first: %q %v", res, err)
	}
	peerWrite(t, peer, "b\n")
	if res, err := s.Receive(PatLine, 0, 0); err != nil || string(res) != "b" {
		t.Fatalf("token 0 after a short read: %q %v", res, err)
	}
}

// TestShortSendParksWithoutSend fills the send buffer: the short send
// marks it full, the next send parks without trying, and the peer draining
// it wakes the sender, which then finishes with every byte in order.
func TestShortSendParksWithoutSend(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer, data := smallSendBuf(t, l)
	sent, err := s.Send(data, 5)
	if err != ErrWait || sent == 0 || sent >= len(data) {
		t.Fatalf("first send: %d %v", sent, err)
	}
	if !s.wfull {
		t.Fatal("short send did not mark the buffer full")
	}
	got := make([]byte, 0, len(data))
	buf := make([]byte, 64<<10)
	for len(got) < len(data) {
		for len(got) < sent {
			got = append(got, buf[:readFd(t, peer, buf)]...)
		}
		if sent < len(data) {
			waitFor(t, l, 5)
			sent, err = s.Send(data, 5)
			if err != nil && err != ErrWait {
				t.Fatal(err)
			}
		}
	}
	if string(got) != string(data) {
		t.Fatal("data corrupted")
	}
}

// TestShortReadZeroTimeoutReads checks that a receive with a zero timeout
// (a poll: it cannot park, so no Select runs before the next call) reads
// even after a short read, as LuaSocket's does (testclnt.lua's
// test_nonblocking loops on such receives without yielding).
func TestShortReadZeroTimeoutReads(t *testing.T) {
	for _, tm := range [][2]time.Duration{{0, -1}, {-1, 0}, {0, 0}} {
		l, _ := newTestLoop(t)
		s, peer := socketPair(t, l)
		s.SetTimeout(tm[0], tm[1])
		peerWrite(t, peer, "a\n")
		if res, err := s.Receive(PatLine, 0, 3); err != nil || string(res) != "a" {
			t.Fatalf("%v: first: %q %v", tm, res, err)
		}
		if res, err := s.Receive(PatLine, 0, 3); err != ErrTimeout || len(res) != 0 {
			t.Fatalf("%v: nothing there: %q %v, want timeout", tm, res, err)
		}
		peerWrite(t, peer, "b\n")
		if res, err := s.Receive(PatLine, 0, 3); err != nil || string(res) != "b" {
			t.Fatalf("%v: zero timeout after a short read: %q %v", tm, res, err)
		}
	}
}

// TestShortSendZeroTimeoutSends checks the same for a send with a zero
// timeout after a short send: once the peer drained the buffer, the next
// one sends without a Select in between.
func TestShortSendZeroTimeoutSends(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer, data := smallSendBuf(t, l)
	s.SetTimeout(0, -1)
	sent, err := s.Send(data, 5)
	if err != ErrTimeout || sent == 0 || sent >= len(data) {
		t.Fatalf("first send: %d %v", sent, err)
	}
	buf := make([]byte, 64<<10)
	for got := 0; got < sent; {
		got += readFd(t, peer, buf)
	}
	more, err := s.Send(data[sent:], 5)
	if err != ErrTimeout || more == 0 {
		t.Fatalf("zero timeout after a short send: %d %v, want progress", more, err)
	}
}

// TestShortSendThenTimeoutNewSendTries checks that wfull speaks only for
// the operation whose send came back short: after that one timed out, the
// next send (same token or another) asks the kernel at once. The kernel
// raises EPOLLOUT only once half its buffer is free, so room made by a
// slow reader may come with no edge at all (here: no Select runs between
// the reader's drain and the new send); LuaSocket's next send writes
// into that room, and so must asok's.
func TestShortSendThenTimeoutNewSendTries(t *testing.T) {
	for _, tok2 := range []Token{5, 6} {
		l, clk := newTestLoop(t)
		s, peer, data := smallSendBuf(t, l)
		s.SetTimeout(time.Second, -1)
		sent, err := s.Send(data, 5)
		if err != ErrWait || sent == 0 || !s.wfull {
			t.Fatalf("first send: %d %v (wfull %v)", sent, err, s.wfull)
		}
		clk.t += time.Second
		if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{5}) {
			t.Fatalf("timeout delivery: %v", got)
		}
		if n, err := s.Send(data, 5); err != ErrTimeout || n != sent {
			t.Fatalf("timed-out retry: %d %v, want %d timeout", n, err, sent)
		}
		buf := make([]byte, 64<<10)
		for got := 0; got < sent; {
			got += readFd(t, peer, buf)
		}
		more, err := s.Send(data, tok2)
		if more == 0 {
			t.Fatalf("token %d: new send after a timed-out short one: %d %v, want progress", tok2, more, err)
		}
	}
}
