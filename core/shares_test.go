package core

import (
	"slices"
	"testing"
)

// receiveIs checks one Receive: its result and error.
func receiveIs(t *testing.T, s *Socket, p Pattern, n int, tok Token, want string, wantErr error) {
	t.Helper()
	res, err := s.Receive(p, n, tok)
	if err != wantErr || string(res) != want {
		t.Fatalf("token %d: %q %v, want %q %v", tok, res, err, want, wantErr)
	}
}

// TestSharesQueuedWaiters checks that the receives queued behind the head
// at a close get their shares too, in call order, whatever order they
// retry in (only the head had one).
func TestSharesQueuedWaiters(t *testing.T) {
	l, _ := newTestLoop(t)
	s, _ := socketPair(t, l)
	for tok := Token(1); tok <= 3; tok++ {
		if _, err := s.Receive(PatLine, 0, tok); err != ErrWait {
			t.Fatalf("token %d: %v", tok, err)
		}
	}
	if err := s.Unread([]byte("x\ny\nz\n")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	receiveIs(t, s, PatLine, 0, 3, "z", nil)
	receiveIs(t, s, PatLine, 0, 4, "", ErrClosed) // a call after the close
	receiveIs(t, s, PatLine, 0, 2, "y", nil)
	receiveIs(t, s, PatLine, 0, 1, "x", nil)
}

// TestSharesCancelled checks that a cancelled token's share goes back to
// the waiters after it and to later calls, and that the token, used again,
// does not get it.
func TestSharesCancelled(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer := socketPair(t, l)
	peerWrite(t, peer, "ab\ncd\n")
	parkReceive(t, s, PatCount, 9, 1)
	parkReceive(t, s, PatLine, 0, 2)
	s.Close()
	l.Cancel(1) // its share (all of it) goes back: the next waiter's now
	receiveIs(t, s, PatLine, 0, 2, "ab", nil)
	receiveIs(t, s, PatCount, 9, 1, "cd\n", ErrClosed) // used again: a new call, not its old share
	receiveIs(t, s, PatLine, 0, 5, "", ErrClosed)

	s2, peer2 := socketPair(t, l)
	peerWrite(t, peer2, "hello")
	parkReceive(t, s2, PatAll, 0, 6)
	s2.Close()
	l.Cancel(6)
	receiveIs(t, s2, PatLine, 0, 7, "hello", ErrClosed)
	receiveIs(t, s2, PatLine, 0, 6, "", ErrClosed)
}

// TestSharesExpired checks that a receive whose deadline passed before
// the close gets its timeout with what it had, not 'closed'.
func TestSharesExpired(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer := socketPair(t, l)
	peerWrite(t, peer, "ab")
	parkReceive(t, s, PatLine, 0, 1)
	s.SetTimeout(0, -1)
	s.Close()
	receiveIs(t, s, PatLine, 0, 1, "ab", ErrTimeout)
}

// TestSetTimeoutZeroDelivered checks a zero timeout set and lifted again
// while the head's token was delivered but not retried: it ends that
// receive too, with what had arrived (it read on and waited).
func TestSetTimeoutZeroDelivered(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer := socketPair(t, l)
	parkReceive(t, s, PatLine, 0, 1)
	peerWrite(t, peer, "ab")
	if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{1}) {
		t.Fatalf("delivered: %v", got)
	}
	s.SetTimeout(0, -1)
	s.SetTimeout(-1, -1)
	receiveIs(t, s, PatLine, 0, 1, "ab", ErrTimeout)
}

// TestSharesOtherPattern checks that a call of a waiter's token with
// another pattern or count (C API) does not get the share worked out for
// the first: its share is worked out again under them (reshare;
// TestSharesRetryOtherPattern has the waiters after it).
func TestSharesOtherPattern(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer := socketPair(t, l)
	peerWrite(t, peer, "ab")
	parkReceive(t, s, PatCount, 5, 1)
	s.Close()
	receiveIs(t, s, PatCount, 1, 1, "a", nil) // not "ab" closed: its share was for 5 bytes
	receiveIs(t, s, PatCount, 5, 1, "b", ErrClosed)
}

// TestSharesCancelAfterRest checks that a share cancelled after a call
// made after the close read what the shares left is not given back: that
// would hand its bytes out after later ones (the stream out of order).
func TestSharesCancelAfterRest(t *testing.T) {
	l, _ := newTestLoop(t)
	s, _ := socketPair(t, l)
	parkReceive(t, s, PatLine, 0, 1)
	parkReceive(t, s, PatLine, 0, 2)
	if err := s.Unread([]byte("A\nB\nC\n")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	receiveIs(t, s, PatLine, 0, 3, "C", nil) // what the shares left
	l.Cancel(1)
	receiveIs(t, s, PatLine, 0, 2, "B", nil) // its own share, not "A"
	receiveIs(t, s, PatLine, 0, 4, "", ErrClosed)
}

// TestSharesRetryOtherPattern checks that a waiter's retry after the
// close with another pattern or count is the same call, as on an open
// socket (its pattern and count from then on): its share is worked out
// again in its place, the waiters after it too, so it reads its own
// bytes first, and none is lost, also once a call after the close read
// what the shares left. Before, the share was given back (another
// operation): the waiter after it got those bytes first, and once the
// rest was read they were dropped (tok 1 got "" closed, "A\n" lost).
func TestSharesRetryOtherPattern(t *testing.T) {
	for _, restRead := range []bool{false, true} {
		l, _ := newTestLoop(t)
		s, _ := socketPair(t, l)
		parkReceive(t, s, PatLine, 0, 1)
		parkReceive(t, s, PatLine, 0, 2)
		if err := s.Unread([]byte("A\nB\nC\n")); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if restRead {
			receiveIs(t, s, PatLine, 0, 3, "C", nil) // what the shares left
		}
		receiveIs(t, s, PatCount, 2, 1, "A\n", nil) // its own bytes, as a count
		receiveIs(t, s, PatLine, 0, 2, "B", nil)
		if !restRead {
			receiveIs(t, s, PatLine, 0, 3, "C", nil)
		}
		receiveIs(t, s, PatLine, 0, 4, "", ErrClosed)
	}

	// a count smaller than the share: the rest of its bytes is the next
	// reader's, in stream order while nothing after them was read
	l, _ := newTestLoop(t)
	s, _ := socketPair(t, l)
	parkReceive(t, s, PatLine, 0, 1)
	parkReceive(t, s, PatLine, 0, 2)
	if err := s.Unread([]byte("AA\nB\n")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	receiveIs(t, s, PatCount, 1, 1, "A", nil)
	receiveIs(t, s, PatLine, 0, 2, "A", nil) // the line's rest: its share worked out again
	receiveIs(t, s, PatCount, 2, 3, "B\n", nil)
	receiveIs(t, s, PatLine, 0, 4, "", ErrClosed)

	// the same once the rest was read: the shares' bytes are re-cut among
	// them; what the last leaves is read next (the only bytes that come
	// after ones read before them: dropping them would lose them)
	l, _ = newTestLoop(t)
	s, _ = socketPair(t, l)
	parkReceive(t, s, PatLine, 0, 1)
	parkReceive(t, s, PatLine, 0, 2)
	if err := s.Unread([]byte("A\nB\nC\n")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	receiveIs(t, s, PatLine, 0, 3, "C", nil)
	receiveIs(t, s, PatCount, 1, 1, "A", nil)
	receiveIs(t, s, PatLine, 0, 2, "", nil) // "\n": tok 2's share is now A's line end
	receiveIs(t, s, PatAll, 0, 4, "B\n", nil)
	receiveIs(t, s, PatLine, 0, 5, "", ErrClosed)
}

// TestSharesRetryAfterTaken checks that a waiter's share worked out again
// (a retry with another pattern) or given back (a cancel) after a share
// behind it was taken moves no byte across that share: the retry re-cuts
// its own bytes (and those of the untaken shares between, none here),
// what it leaves is read next (item 47's case), and a cancelled share
// goes with its operation. Before, the three shares were one run: tok 1
// as "*a" got "A\nC\n" (B, tok 2's, cut out of its middle) and tok 3 got
// nothing; as a 1-byte count, tok 3 got "" (tok 1's line end) and "C\n"
// went to a later call; cancelled, tok 3 got "A", before tok 2's "B".
func TestSharesRetryAfterTaken(t *testing.T) {
	closed3 := func() *Socket {
		l, _ := newTestLoop(t)
		s, _ := socketPair(t, l)
		for tok := Token(1); tok <= 3; tok++ {
			parkReceive(t, s, PatLine, 0, tok)
		}
		if err := s.Unread([]byte("A\nB\nC\n")); err != nil {
			t.Fatal(err)
		}
		s.Close()
		receiveIs(t, s, PatLine, 0, 2, "B", nil) // the middle share taken first
		return s
	}
	s := closed3()
	receiveIs(t, s, PatAll, 0, 1, "A\n", nil) // its own bytes only
	receiveIs(t, s, PatLine, 0, 3, "C", nil)
	receiveIs(t, s, PatAll, 0, 4, "", ErrClosed)

	s = closed3()
	receiveIs(t, s, PatCount, 1, 1, "A", nil)
	receiveIs(t, s, PatLine, 0, 3, "C", nil) // its share kept
	receiveIs(t, s, PatAll, 0, 4, "\n", nil) // tok 1's rest: read next
	receiveIs(t, s, PatAll, 0, 5, "", ErrClosed)

	s = closed3()
	s.l.Cancel(1)
	receiveIs(t, s, PatLine, 0, 3, "C", nil) // not "A", ahead of "B"
	receiveIs(t, s, PatAll, 0, 4, "", ErrClosed)

	// the last share taken: the buffer's front no longer follows the
	// first two, which are still one run between themselves
	l, _ := newTestLoop(t)
	s, _ = socketPair(t, l)
	for tok := Token(1); tok <= 3; tok++ {
		parkReceive(t, s, PatLine, 0, tok)
	}
	if err := s.Unread([]byte("A\nB\nC\nD")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	receiveIs(t, s, PatLine, 0, 3, "C", nil)
	receiveIs(t, s, PatCount, 3, 1, "A\nB", nil) // tok 2's B with it
	receiveIs(t, s, PatLine, 0, 2, "", nil)      // what is left of the run: "\n"
	receiveIs(t, s, PatAll, 0, 4, "D", nil)
	receiveIs(t, s, PatAll, 0, 5, "", ErrClosed)
}
