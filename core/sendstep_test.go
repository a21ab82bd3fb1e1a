package core

import (
	"bytes"
	"testing"
	"time"
)

// untilPeerClosed waits (up to a second) for the FIN of s's peer to arrive.
func untilPeerClosed(t *testing.T, s *Socket) {
	t.Helper()
	for i := 0; !peerClosed(s.fd); i++ {
		if i == 1000 {
			t.Fatal("the peer's FIN never arrived")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSendToClosedPeerStopsAfterStep checks LuaSocket's result for a send
// longer than its step to a peer that has closed: the first step goes,
// the peer's reset fails the next, and the caller gets 'closed' with
// stepSize bytes sent (buffer.c's sendraw over loopback).
func TestSendToClosedPeerStopsAfterStep(t *testing.T) {
	for _, size := range []int{stepSize + 1, 600000} {
		l, _ := newTestLoop(t)
		c, srv := tcpPair(t, l)
		srv.Close()
		untilPeerClosed(t, c)
		n, err := c.Send(bytes.Repeat([]byte("u"), size), 5)
		if n != stepSize || err != ErrClosed {
			t.Fatalf("send %d to a closed peer: %d %v, want %d closed", size, n, err, stepSize)
		}
	}
}

// TestSendStepToClosedPeerGoesWhole checks that a send of one step or less
// to a closed peer is one syscall, as LuaSocket's: it succeeds whole (the
// reset comes after it).
func TestSendStepToClosedPeerGoesWhole(t *testing.T) {
	l, _ := newTestLoop(t)
	c, srv := tcpPair(t, l)
	srv.Close()
	untilPeerClosed(t, c)
	if n, err := c.Send(bytes.Repeat([]byte("u"), stepSize), 5); n != stepSize || err != nil {
		t.Fatalf("one step: %d %v", n, err)
	}
	if n, err := c.Send([]byte("x"), 5); n != 0 || err != ErrClosed {
		t.Fatalf("after the reset: %d %v, want 0 closed", n, err)
	}
}

// TestSendToHalfClosedPeerGoesWhole checks that a peer that only shut down
// its sending side still gets all of a long send, in order.
func TestSendToHalfClosedPeerGoesWhole(t *testing.T) {
	l, _ := newTestLoop(t)
	c, srv := tcpPair(t, l)
	if err := srv.Shutdown(1); err != nil {
		t.Fatal(err)
	}
	untilPeerClosed(t, c)
	data := make([]byte, 3*stepSize+17)
	for i := range data {
		data[i] = byte(i * 7)
	}
	var n int
	if err := drive(t, l, 5, func() (e error) { n, e = c.Send(data, 5); return e }); err != nil || n != len(data) {
		t.Fatalf("send to a half-closed peer: %d %v", n, err)
	}
	var got []byte
	if err := drive(t, l, 6, func() (e error) { got, e = srv.Receive(PatCount, len(data), 6); return e }); err != nil {
		t.Fatalf("peer's receive: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("the peer got other bytes")
	}
}
