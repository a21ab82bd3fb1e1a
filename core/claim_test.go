package core

import (
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The partial result of a receive that waits is that receive's, as
// LuaSocket keeps it in the receive call's own buffer (luaL_Buffer):
// Buffered (dirty()) and a read look do not count it (unclaimed, look.go).
// They did: every look on the socket was ready at once for as long as the
// receive waited, a select looping on it got it once per step.

// parkWithPartial parks a receive of p, n under tok on s and has the peer
// send data, which the receive's retry reads and keeps as its partial.
func parkWithPartial(t *testing.T, l *Loop, s *Socket, peer int, p Pattern, n int, tok Token, data string) {
	t.Helper()
	parkReceive(t, s, p, n, tok)
	peerWrite(t, peer, data)
	waitFor(t, l, tok)
	parkReceive(t, s, p, n, tok)
	if s.Held() != len(data) || s.Buffered() != 0 {
		t.Fatalf("partial %q: held %d, buffered %d, want %d, 0", data, s.Held(), s.Buffered(), len(data))
	}
}

// TestLookIgnoresPartial checks, for a line, a count and "*a", that a
// look waits while a receive holds its partial (100 Selects deliver
// nothing), and that the rest arriving completes the receive and wakes
// the look, whose retry then finds nothing buffered and waits again.
func TestLookIgnoresPartial(t *testing.T) {
	for _, c := range []struct {
		p          Pattern
		n          int
		rest, want string
	}{
		{PatLine, 0, "def\n", "abcdef"},
		{PatCount, 10, "defghij", "abcdefghij"},
		{PatAll, 0, "", "abc"}, // the rest: the end of the stream
	} {
		l, _ := newTestLoop(t)
		s, peer := socketPair(t, l)
		parkWithPartial(t, l, s, peer, c.p, c.n, 1, "abc")
		look(t, s, DirRead, 2)
		if err := s.Wait(DirRead|WaitLook, 0); err != ErrTimeout {
			t.Fatalf("%v: a polling look: %v, want ErrTimeout", c.p, err)
		}
		woken := 0
		for range 100 {
			woken += len(selectTokens(t, l, 0))
		}
		if woken != 0 {
			t.Fatalf("%v: %d tokens in 100 Selects, want 0", c.p, woken)
		}
		if c.p == PatAll {
			unix.Shutdown(peer, unix.SHUT_WR) // the end of the stream
		} else {
			peerWrite(t, peer, c.rest)
		}
		if got := selectTokens(t, l, time.Second); !slices.Equal(got, []Token{2, 1}) {
			t.Fatalf("%v: the rest: got %v, want [2 1]", c.p, got)
		}
		res, err := s.Receive(c.p, c.n, 1)
		if string(res) != c.want || err != nil {
			t.Fatalf("%v: %q %v, want %q", c.p, res, err, c.want)
		}
		if s.Held() != 0 || s.Buffered() != 0 {
			t.Fatalf("%v: held %d, buffered %d after", c.p, s.Held(), s.Buffered())
		}
		err = s.Wait(DirRead|WaitLook, 2)
		if c.p == PatAll {
			if err != nil {
				t.Fatalf("%v: the look after the end: %v, want ready", c.p, err)
			}
		} else if err != ErrWait {
			t.Fatalf("%v: the look after: %v, want ErrWait (nothing left)", c.p, err)
		}
	}
}

// TestPartialQueued checks two receives queued: the head's partial is its
// own; once it ends, the rest is the second one's as it waits with it.
func TestPartialQueued(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer := socketPair(t, l)
	parkWithPartial(t, l, s, peer, PatLine, 0, 1, "abc")
	parkReceive(t, s, PatLine, 0, 2) // queued behind
	look(t, s, DirRead, 3)
	if s.Buffered() != 0 {
		t.Fatalf("buffered %d, want 0", s.Buffered())
	}
	peerWrite(t, peer, "def\nxy")
	if got := selectTokens(t, l, time.Second); !slices.Equal(got, []Token{3, 1}) {
		t.Fatalf("got %v, want [3 1]", got)
	}
	if res, err := s.Receive(PatLine, 0, 1); err != nil || string(res) != "abcdef" {
		t.Fatalf("the head: %q %v", res, err)
	}
	// "xy" is left for the next receive, which has not retried yet
	if s.Held() != 2 || s.Buffered() != 2 {
		t.Fatalf("between: held %d, buffered %d, want 2, 2", s.Held(), s.Buffered())
	}
	if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{2}) {
		t.Fatalf("got %v, want [2]", got)
	}
	parkReceive(t, s, PatLine, 0, 2)
	if s.Held() != 2 || s.Buffered() != 0 {
		t.Fatalf("the second's partial: held %d, buffered %d, want 2, 0", s.Held(), s.Buffered())
	}
	look(t, s, DirRead, 3)
}

// TestPartialLetGo checks that a receive that lets go of its partial
// makes it a new receive's, and wakes the looks (no event would): its
// Cancel, its token waiting on the fd instead (Wait), a limit that cuts
// it (the rest past the cut), an Unread line it takes first (the rest).
func TestPartialLetGo(t *testing.T) {
	cases := []struct {
		name string
		do   func(s *Socket)
		want []Token // delivered
		left int     // Buffered after
	}{
		{"Cancel", func(s *Socket) { s.l.Cancel(1) }, []Token{3}, 3},
		{"Wait", func(s *Socket) {
			if err := s.Wait(DirRead, 1); err != ErrWait {
				t.Fatalf("Wait: %v", err)
			}
		}, []Token{3}, 3},
		{"SetLimit", func(s *Socket) { s.SetLimit(2) }, []Token{3, 1}, 1},
		{"Unread", func(s *Socket) {
			if err := s.Unread([]byte("x\n")); err != nil {
				t.Fatal(err)
			}
		}, []Token{1, 3}, 3},
	}
	for _, c := range cases {
		l, _ := newTestLoop(t)
		s, peer := socketPair(t, l)
		parkWithPartial(t, l, s, peer, PatLine, 0, 1, "abc")
		look(t, s, DirRead, 3)
		c.do(s)
		if got := selectTokens(t, l, 0); !slices.Equal(got, c.want) {
			t.Fatalf("%s: got %v, want %v", c.name, got, c.want)
		}
		if s.Buffered() != c.left {
			t.Fatalf("%s: buffered %d, want %d", c.name, s.Buffered(), c.left)
		}
		if err := s.Wait(DirRead|WaitLook, 3); err != nil {
			t.Fatalf("%s: the look's retry: %v, want ready", c.name, err)
		}
	}
}

// TestPartialTimeout checks that a receive that times out returns its
// partial and leaves nothing (LuaSocket's nil, 'timeout', partial).
func TestPartialTimeout(t *testing.T) {
	l, clk := newTestLoop(t)
	s, peer := socketPair(t, l)
	s.SetTimeout(time.Second, -1)
	parkWithPartial(t, l, s, peer, PatLine, 0, 1, "abc")
	clk.t += 2 * time.Second
	if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{1}) {
		t.Fatalf("got %v, want [1]", got)
	}
	if res, err := s.Receive(PatLine, 0, 1); err != ErrTimeout || string(res) != "abc" {
		t.Fatalf("%q %v, want the partial and ErrTimeout", res, err)
	}
	if s.Held() != 0 || s.Buffered() != 0 {
		t.Fatalf("held %d, buffered %d after", s.Held(), s.Buffered())
	}
}
