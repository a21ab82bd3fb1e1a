package core

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestReceiveLimit checks the receive limit, one row per rule: lines and
// "*a" past the limit fail with their first limit bytes, the rest stays
// buffered; lines within it, counts and limit 0 are untouched.
func TestReceiveLimit(t *testing.T) {
	long := strings.Repeat("x", 10000)
	tests := []struct {
		name        string
		chunks      []string
		p           Pattern
		n, limit    int
		want        string
		wantErr     error
		wantNext    string // the next line-receive's result
		wantNextErr error
	}{
		{"line within", []string{"abcd\nrest\n"}, PatLine, 0, 4, "abcd", nil, "rest", nil},
		{"line just over", []string{"abcde\nrest\n"}, PatLine, 0, 4, "abcd", ErrLimit, "e", nil},
		{"long line in pieces", []string{long[:3000], long[3000:], "\n"}, PatLine, 0, 100, long[:100], ErrLimit, long[100:], nil},
		{"CRs count, are dropped", []string{"\r\r\r\rab\n"}, PatLine, 0, 4, "", ErrLimit, "ab", nil},
		{"no limit", []string{long, "\n"}, PatLine, 0, 0, long, nil, "", ErrClosed},
		{"all over", []string{long}, PatAll, 0, 10, long[:10], ErrLimit, long[10:], ErrClosed},
		{"all within", []string{"0123456789"}, PatAll, 0, 10, "0123456789", nil, "", ErrClosed},
		{"count not limited", []string{long}, PatCount, 5000, 10, long[:5000], nil, long[5000:], ErrClosed},
		{"line at EOF within", []string{"abc"}, PatLine, 0, 10, "abc", ErrClosed, "", ErrClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newRxEngine()
			var b rxbuf
			rd := &chunkReader{chunks: append([]string(nil), tc.chunks...)}
			got, err := e.receiveLimit(rd, &b, tc.p, tc.n, tc.limit)
			if string(got) != tc.want || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("got %q %v, want %q %v", trunc(got), err, trunc([]byte(tc.want)), tc.wantErr)
			}
			got, err = e.receiveLimit(rd, &b, PatLine, 0, 0)
			if string(got) != tc.wantNext || err != tc.wantNextErr {
				t.Fatalf("next: got %q %v, want %q %v", trunc(got), err, trunc([]byte(tc.wantNext)), tc.wantNextErr)
			}
		})
	}
}

// TestSocketLimit: a peer sending an endless line is cut at the limit
// (memory stays bounded) and the socket keeps working.
func TestSocketLimit(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer := socketPair(t, l)
	if s.Limit() != 0 {
		t.Fatalf("default limit %d", s.Limit())
	}
	s.SetLimit(1000)
	peerWrite(t, peer, strings.Repeat("y", 5000))
	got, err := s.Receive(PatLine, 0, 1)
	if err != ErrLimit || string(got) != strings.Repeat("y", 1000) {
		t.Fatalf("got %d bytes, %v", len(got), err)
	}
	if s.Buffered() > 5000 {
		t.Fatalf("buffered %d", s.Buffered())
	}
	s.SetLimit(-5)
	if s.Limit() != 0 {
		t.Fatalf("negative limit kept: %d", s.Limit())
	}
	peerWrite(t, peer, "\n")
	for {
		got, err = s.Receive(PatLine, 0, 2)
		if err != ErrWait {
			break
		}
		waitFor(t, l, 2)
	}
	if err != nil || len(got) != 4000 {
		t.Fatalf("after the limit: %d bytes, %v", len(got), err)
	}
}

// TestSetLimitWakesParked: a limit lowered below the data a parked line or
// "*a" receive has buffered ends that receive at once with ErrLimit and
// the first limit bytes, as a receive made then would (not at its
// deadline, nor at the next byte); a count receive, a limit still above
// the data, or a raised one leave the receive waiting.
func TestSetLimitWakesParked(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer := socketPair(t, l)
	s.SetTimeout(time.Hour, -1)
	for _, p := range []Pattern{PatLine, PatAll} {
		parkReceive(t, s, p, 0, 1)
		peerWrite(t, peer, strings.Repeat("e", 1000))
		waitFor(t, l, 1)
		parkReceive(t, s, p, 0, 1)
		if s.Held() != 1000 || s.Buffered() != 0 { // the parked receive's partial
			t.Fatalf("held %d, buffered %d", s.Held(), s.Buffered())
		}
		s.SetLimit(2000) // above the data
		s.SetLimit(1000)
		if got := selectTokens(t, l, 0); len(got) != 0 {
			t.Fatalf("limit not passed: %v", got)
		}
		s.SetLimit(100)
		if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{1}) {
			t.Fatalf("lowered limit: got %v, want the parked receive", got)
		}
		got, err := s.Receive(p, 0, 1)
		if err != ErrLimit || string(got) != strings.Repeat("e", 100) || s.Buffered() != 900 {
			t.Fatalf("retry: %q %v, buffered %d", trunc(got), err, s.Buffered())
		}
		s.SetLimit(0)
		peerWrite(t, peer, "\n")
		want, next, cnt := 900, PatLine, 0 // the rest of the line
		if p == PatAll {
			want, next, cnt = 901, PatCount, 901
		}
		var res []byte
		err = drive(t, l, 2, func() (err error) {
			res, err = s.Receive(next, cnt, 2)
			return err
		})
		if err != nil || len(res) != want {
			t.Fatalf("the rest: %d bytes %v", len(res), err)
		}
	}

	// a count receive is not limited; a raised limit wakes nothing
	s.SetLimit(500)
	parkReceive(t, s, PatCount, 2000, 3)
	peerWrite(t, peer, strings.Repeat("c", 1000))
	waitFor(t, l, 3)
	parkReceive(t, s, PatCount, 2000, 3)
	s.SetLimit(100)
	s.SetLimit(5000)
	if got := selectTokens(t, l, 0); len(got) != 0 {
		t.Fatalf("count receive woken: %v", got)
	}
	peerWrite(t, peer, strings.Repeat("c", 1000))
	waitFor(t, l, 3)
	if res, err := s.Receive(PatCount, 2000, 3); err != nil || len(res) != 2000 {
		t.Fatalf("count: %d bytes %v", len(res), err)
	}
}

// TestSetLimitWakesLooks: a read look's answer depends on the limit
// (unclaimed: the head receive's claim is cut at the limit, the rest is a
// new receive's), so a lowered limit that leaves bytes to a new receive
// wakes the read looks at once, whatever the head receive's state: parked
// (SetLimit delivers it too), delivered and not retried yet (by Unread,
// by its deadline, by its throttle's wake-up). They were woken only at
// the head's retry (R10's finding, FuzzLookWake 9157c415dfa14ef2). No
// head receive, or a limit the data stays within, wakes no look.
func TestSetLimitWakesLooks(t *testing.T) {
	for _, c := range []struct {
		name    string
		deliver func(t *testing.T, l *Loop, clk *fakeClock, s *Socket) // the head's token out
	}{
		{"parked", nil},
		{"unread", func(t *testing.T, l *Loop, clk *fakeClock, s *Socket) {
			if err := s.Unread([]byte("x")); err != nil {
				t.Fatal(err)
			}
		}},
		{"expired", func(t *testing.T, l *Loop, clk *fakeClock, s *Socket) {
			s.SetTimeout(time.Second, -1)
			clk.t += 2 * time.Second
		}},
		{"throttled", func(t *testing.T, l *Loop, clk *fakeClock, s *Socket) {
			s.Throttle(DirRead, 1000) // the bucket starts empty: parked on its timer
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, clk := newTestLoop(t)
			s, peer := socketPair(t, l)
			parkWithPartial(t, l, s, peer, PatLine, 0, 1, "abcdef")
			if c.deliver != nil {
				c.deliver(t, l, clk, s)
				if c.name == "throttled" { // a retry parks it on the empty bucket
					parkReceive(t, s, PatLine, 0, 1)
					clk.t += time.Second
				}
				if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{1}) {
					t.Fatalf("the head's delivery: %v, want [1]", got)
				}
			}
			held := s.Held()
			look(t, s, DirRead, 2) // the head holds every byte: nothing for a new receive
			s.SetLimit(held + 1)   // still within: no change
			if got := selectTokens(t, l, 0); len(got) != 0 {
				t.Fatalf("a limit above the data: %v", got)
			}
			s.SetLimit(4)
			if s.Buffered() != held-4 {
				t.Fatalf("buffered %d, want %d", s.Buffered(), held-4)
			}
			want := []Token{2}
			if c.deliver == nil {
				want = []Token{2, 1} // the parked head too, after the looks
			}
			if got := selectTokens(t, l, 0); !slices.Equal(got, want) {
				t.Fatalf("lowered limit: got %v, want %v (the look at once)", got, want)
			}
			if err := s.Wait(DirRead|WaitLook, 2); err != nil {
				t.Fatalf("the look's retry: %v, want ready", err)
			}
			res, err := s.Receive(PatLine, 0, 1)
			if err != ErrLimit || len(res) != 4 {
				t.Fatalf("the head's retry: %q %v, want 4 bytes ErrLimit", res, err)
			}
		})
	}
	// no head receive: the limit changes nothing a look sees
	l, _ := newTestLoop(t)
	s, _ := socketPair(t, l)
	look(t, s, DirRead, 2)
	s.SetLimit(1)
	if got := selectTokens(t, l, 0); len(got) != 0 {
		t.Fatalf("no receive: %v", got)
	}
}

// TestSetLimitNoSpin checks that the looks SetLimit wakes (item 46: at
// once, whatever the head receive's state) are woken only when their
// retry finds the socket readable: over a run of limits raised and
// lowered around what the head receive holds (parked, delivered by
// Unread, by its deadline, by its throttle, and left so), every look
// delivered finds it readable at its retry (none parks again: no spin),
// and it is delivered exactly at the limits that leave a new receive
// bytes while it was parked.
func TestSetLimitNoSpin(t *testing.T) {
	for _, state := range []string{"parked", "unread", "expired", "throttled"} {
		t.Run(state, func(t *testing.T) {
			l, clk := newTestLoop(t)
			s, peer := socketPair(t, l)
			parkWithPartial(t, l, s, peer, PatLine, 0, 1, "abcdef")
			switch state {
			case "unread":
				if err := s.Unread([]byte("x")); err != nil {
					t.Fatal(err)
				}
			case "expired":
				s.SetTimeout(time.Second, -1)
				clk.t += 2 * time.Second
			case "throttled":
				s.Throttle(DirRead, 1000)
				parkReceive(t, s, PatLine, 0, 1)
				clk.t += time.Second
			}
			if state != "parked" {
				if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{1}) {
					t.Fatalf("the head's delivery: %v, want [1]", got)
				}
			}
			held := s.Held()
			parked, wakes, want := false, 0, 0
			for step, limit := range []int{held + 1, 4, 0, 2, 10, 3, 3, 0, 1, held, held - 1, 0} {
				if !parked {
					switch err := s.Wait(DirRead|WaitLook, 2); err {
					case ErrWait:
						parked = true
					case nil: // readable: not parked
					default:
						t.Fatalf("step %d: look: %v", step, err)
					}
				}
				s.SetLimit(limit)
				if parked && s.unclaimed() > 0 {
					want++
				}
				for _, tok := range selectTokens(t, l, 0) {
					if tok != 2 {
						continue // the head, delivered by a cut: left due
					}
					wakes++
					if err := s.Wait(DirRead|WaitLook, 2); err != nil {
						t.Fatalf("step %d (limit %d): the look woken, its retry %v: a spin", step, limit, err)
					}
					parked = false
				}
			}
			if wakes != want || want < 3 {
				t.Fatalf("looks woken %d times, want %d (at least 3)", wakes, want)
			}
		})
	}
}
