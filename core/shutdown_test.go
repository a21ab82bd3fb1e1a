package core

import (
	"bytes"
	"slices"
	"testing"
)

// TestShutdownWakesSend: a send waiting on a full unix stream socket (and
// an ASOK_WRITE wait behind it) learns of a local shutdown of sending at
// the next Select: the kernel gives no event for it (it used to wait until
// the peer read). The retry fails with EPIPE, with what it had sent.
func TestShutdownWakesSend(t *testing.T) {
	for _, how := range []int{1, 2} {
		l, _ := newTestLoop(t)
		s, _, data := smallSendBuf(t, l)
		n, err := s.Send(data, 1)
		if err != ErrWait || n == 0 {
			t.Fatalf("how %d: first send: %d %v", how, n, err)
		}
		if err := s.Wait(DirWrite, 2); err != ErrWait {
			t.Fatalf("how %d: wait: %v", how, err)
		}
		if got := selectTokens(t, l, 0); len(got) != 0 {
			t.Fatalf("how %d: woken before the shutdown: %v", how, got)
		}
		if err := s.Shutdown(how); err != nil {
			t.Fatalf("how %d: shutdown: %v", how, err)
		}
		if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{1}) {
			t.Fatalf("how %d: after the shutdown: %v, want [1]", how, got)
		}
		if m, err := s.Send(data, 1); m != n || err != ErrClosed {
			t.Fatalf("how %d: retry: %d %v, want %d closed", how, m, err, n)
		}
		if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{2}) {
			t.Fatalf("how %d: the wait behind it: %v, want [2]", how, got)
		}
	}
}

// TestShutdownWakesThrottledSend: a send parked on its throttle timer (1
// B/s: its next grant a second away) ends at the next Select after a local
// shutdown of sending, not at that grant (no clock step here); shutting
// down receiving leaves it alone.
func TestShutdownWakesThrottledSend(t *testing.T) {
	l, _ := newTestLoop(t)
	s, _ := socketPair(t, l)
	s.Throttle(DirWrite, 1)
	data := bytes.Repeat([]byte("z"), 10)
	if n, err := s.Send(data, 1); n != 0 || err != ErrWait {
		t.Fatalf("send: %d %v", n, err)
	}
	if err := s.Shutdown(0); err != nil {
		t.Fatal(err)
	}
	if got := selectTokens(t, l, 0); len(got) != 0 {
		t.Fatalf("woken by shutdown(0): %v", got)
	}
	if err := s.Shutdown(1); err != nil {
		t.Fatal(err)
	}
	if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{1}) {
		t.Fatalf("after shutdown(1): %v, want [1]", got)
	}
	if n, err := s.Send(data, 1); n != 0 || err != ErrClosed {
		t.Fatalf("retry: %d %v, want 0 closed", n, err)
	}
}
