package core

import (
	"slices"
	"testing"
	"time"
)

// A receive's share of a closed socket's data is that receive's (shares.go):
// its token taken up by another operation (on another socket, or another
// kind of call on the closed one) abandons it, and the share goes back as
// Cancel gives it back. Before, the share stayed on the closed socket for
// the token's next receive there: the waiters after it and later calls
// skipped its bytes, and one token's shares on two closed sockets were
// found by the last one only (l.shares), so Cancel left the first.

// closedLines parks line receives of toks on a new socket of l, unreads
// data in front, closes the socket and, if handOut, hands the close's
// deliveries out (toks, in order).
func closedLines(t *testing.T, l *Loop, data string, handOut bool, toks ...Token) *Socket {
	t.Helper()
	s, _ := socketPair(t, l)
	for _, tok := range toks {
		parkReceive(t, s, PatLine, 0, tok)
	}
	if err := s.Unread([]byte(data)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if handOut {
		if got := selectTokens(t, l, 0); !slices.Equal(got, toks) {
			t.Fatalf("the close delivered %v, want %v", got, toks)
		}
	}
	return s
}

// TestSharesTokenElsewhere checks that a token whose receive a close cut
// short gives its share back when it is taken up on another socket (a
// receive, a send, a wait, a look, a sleep), and keeps it while a call
// elsewhere is refused (its delivery not handed out yet).
func TestSharesTokenElsewhere(t *testing.T) {
	// the case found: tok 1's share on X ("A"), then one on Y, cancelled
	l, _ := newTestLoop(t)
	x := closedLines(t, l, "A\n", true, 1)
	y, _ := socketPair(t, l)
	parkReceive(t, y, PatLine, 0, 1)
	if err := y.Unread([]byte("Y\n")); err != nil {
		t.Fatal(err)
	}
	y.Close()
	if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{1}) {
		t.Fatalf("Y's close delivered %v", got)
	}
	l.Cancel(1)
	receiveIs(t, x, PatLine, 0, 3, "A", nil) // was "" closed: tok 1's share kept
	receiveIs(t, x, PatLine, 0, 1, "", ErrClosed)
	receiveIs(t, y, PatLine, 0, 3, "Y", nil)
	if len(l.shares) != 0 {
		t.Fatalf("shares left: %v", l.shares)
	}

	// each other operation elsewhere, once the delivery is out: the share
	// goes to the waiter after it (tok 2), as Cancel's does
	others := map[string]func(l *Loop, y *Socket) error{
		"receive": func(l *Loop, y *Socket) error { _, err := y.Receive(PatLine, 0, 1); return err },
		"send":    func(l *Loop, y *Socket) error { _, err := y.Send([]byte("s"), 1); return err },
		"wait":    func(l *Loop, y *Socket) error { return y.Wait(DirWrite, 1) },
		"look":    func(l *Loop, y *Socket) error { return y.Wait(DirRead|WaitLook, 1) },
		"sleep":   func(l *Loop, y *Socket) error { return l.Sleep(time.Hour, 1) },
		"closed": func(l *Loop, y *Socket) error { // a receive on another closed socket
			y.Close()
			_, err := y.Receive(PatLine, 0, 1)
			return err
		},
	}
	for name, op := range others {
		l, _ := newTestLoop(t)
		x := closedLines(t, l, "A\nB\n", true, 1, 2)
		y, _ := socketPair(t, l)
		if err := op(l, y); err == ErrBusy || err == ErrInvalid {
			t.Fatalf("%s: %v", name, err)
		}
		receiveIs(t, x, PatLine, 0, 2, "A", nil) // was "B": tok 1's share skipped
		receiveIs(t, x, PatLine, 0, 3, "B", nil)
		receiveIs(t, x, PatLine, 0, 1, "", ErrClosed) // a new call: no share left
		l.Cancel(1)
		if len(l.shares) != 0 {
			t.Fatalf("%s: shares left: %v", name, l.shares)
		}
	}

	// refused: the delivery not handed out yet, tok 1 is still in use
	// (ErrBusy on an open socket; on another closed one, answered as a
	// call after that close): its share stays
	l, _ = newTestLoop(t)
	x = closedLines(t, l, "A\nB\n", false, 1, 2)
	y, _ = socketPair(t, l)
	if _, err := y.Receive(PatLine, 0, 1); err != ErrBusy {
		t.Fatalf("receive elsewhere before the delivery: %v", err)
	}
	z := closedLines(t, l, "", false)
	receiveIs(t, z, PatLine, 0, 1, "", ErrClosed)
	if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{1, 2}) {
		t.Fatalf("the close delivered %v", got)
	}
	receiveIs(t, x, PatLine, 0, 2, "B", nil)
	receiveIs(t, x, PatLine, 0, 1, "A", nil)
}

// TestSharesTokenOtherOp checks that a token whose receive a close cut
// short, called on the closed socket with another operation (Wait, a
// look, Accept, Send, a SOCKS handshake), gives its share back: the receive is abandoned,
// and the token's next receive there is a new call. Before, the share
// stayed for that next receive, and the waiter after it got its own.
func TestSharesTokenOtherOp(t *testing.T) {
	ops := map[string]func(x *Socket) error{
		"wait":   func(x *Socket) error { return x.Wait(DirRead, 1) },
		"write":  func(x *Socket) error { return x.Wait(DirWrite|WaitUntimed, 1) },
		"look":   func(x *Socket) error { return x.Wait(DirRead|WaitLook, 1) },
		"accept": func(x *Socket) error { _, err := x.Accept(1); return err },
		"send":   func(x *Socket) error { _, err := x.Send([]byte("s"), 1); return err },
		"socks":  func(x *Socket) error { return x.Socks5Connect("h", 1, "", "", 1) },
	}
	for name, op := range ops {
		for _, handOut := range []bool{false, true} {
			l, _ := newTestLoop(t)
			x := closedLines(t, l, "A\nB\n", handOut, 1, 2)
			if err := op(x); err != ErrClosed {
				t.Fatalf("%s: %v", name, err)
			}
			receiveIs(t, x, PatLine, 0, 2, "A", nil) // was "B"
			receiveIs(t, x, PatLine, 0, 3, "B", nil)
			receiveIs(t, x, PatLine, 0, 1, "", ErrClosed) // was "A"
			if len(l.shares) != 0 {
				t.Fatalf("%s: shares left: %v", name, l.shares)
			}
			if got := selectTokens(t, l, 0); len(got) != 0 { // (each call learned of the close)
				t.Fatalf("%s: delivered %v", name, got)
			}
		}
	}
}
