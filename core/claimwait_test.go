package core

import (
	"slices"
	"testing"
	"time"
)

// TestPartialWaitTimedOut checks a receive's token that moves to Wait
// (asok_wait) once its receive's time is up: the Wait ends with
// ErrTimeout and lets go of the receive's partial, which is a new
// receive's then (Buffered), so the read looks are woken as by Cancel.
// They were not (Wait's done, unlike Receive's): a select on the socket
// waited for an event that no byte would bring, with 3 bytes unclaimed.
// Two ways: the receive expired (its timer fired, it was delivered), or
// its deadline passed before any Select (Wait's block finds it gone).
// The same for the expired token moved to Accept (asok_accept on the
// connected socket: ErrTimeout, as any expired head of the read queue).
func TestPartialWaitTimedOut(t *testing.T) {
	for _, c := range []struct {
		expired bool
		op      func(s *Socket) error
	}{
		{true, func(s *Socket) error { return s.Wait(DirRead, 1) }},
		{false, func(s *Socket) error { return s.Wait(DirRead, 1) }},
		{true, func(s *Socket) error { _, err := s.Accept(1); return err }},
	} {
		expired := c.expired
		l, clk := newTestLoop(t)
		s, peer := socketPair(t, l)
		s.SetTimeout(time.Second, -1)
		parkWithPartial(t, l, s, peer, PatLine, 0, 1, "abc")
		look(t, s, DirRead, 3)
		clk.t += 2 * time.Second
		if expired {
			if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{1}) {
				t.Fatalf("expiry: got %v, want [1]", got)
			}
		}
		if err := c.op(s); err != ErrTimeout {
			t.Fatalf("expired %v: Wait: %v, want ErrTimeout", expired, err)
		}
		if s.Held() != 3 || s.Buffered() != 3 {
			t.Fatalf("expired %v: held %d, buffered %d, want 3, 3", expired, s.Held(), s.Buffered())
		}
		if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{3}) {
			t.Fatalf("expired %v: got %v, want [3] (the look)", expired, got)
		}
		if err := s.Wait(DirRead|WaitLook, 3); err != nil {
			t.Fatalf("expired %v: the look's retry: %v, want ready", expired, err)
		}
		if res, err := s.Receive(PatLine, 0, 4); err != ErrWait || s.Buffered() != 0 {
			t.Fatalf("expired %v: a new receive: %q %v, buffered %d, want ErrWait with the partial", expired, res, err, s.Buffered())
		}
	}
}

// TestListenHeldPartial checks that Listen refuses a socket holding bytes
// Unread put back when a waiting receive holds them as its partial (a
// throttled receive on a socket not connected yet: its empty bucket parks
// it before any read): Held counts them, Buffered (unclaimed) does not,
// and Listen asked Buffered, so the socket listened with "ab" kept and
// the receive still queued at the head of the listener's read queue.
func TestListenHeldPartial(t *testing.T) {
	l, _ := newTestLoop(t)
	s, err := l.NewTCP(4)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Unread([]byte("ab")); err != nil {
		t.Fatal(err)
	}
	if err := s.Throttle(DirRead, 1000); err != nil {
		t.Fatal(err)
	}
	parkReceive(t, s, PatLine, 0, 1)
	if s.Held() != 2 || s.Buffered() != 0 {
		t.Fatalf("held %d, buffered %d, want 2, 0", s.Held(), s.Buffered())
	}
	if err := s.Listen(0); err != ErrInvalid {
		t.Fatalf("Listen with a receive holding unread bytes: %v, want ErrInvalid", err)
	}
}
