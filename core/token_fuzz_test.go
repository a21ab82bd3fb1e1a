package core

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// The token/timer bookkeeping fuzzed against a simple model: random
// sequences of Sleep, Cancel, park (Receive on an idle socket), Close,
// clock advances and Select (and looks, FuzzTokensLooks), each result
// checked against what the model
// allows (asok.h: a token is parked in one place and delivered at most once
// per park; cancelled tokens never come back; closed and expired waiters
// always do).

// Token states of the model.
const (
	tokFree = iota
	tokSleep
	tokSock
	tokLook // a look (Wait with WaitLook): no deadline, woken by a close only
)

// modelTok is the model of one token.
type modelTok struct {
	kind     int
	deadline time.Duration // noDeadline for a socket waiter without timeout
	sock     *Socket
	stale    int       // deliveries owed after its socket closed (token busy until then)
	staleBy  []*Socket // the closed sockets that owe them, in close order
	// the closed sockets where its receive had timed out (a Select saw
	// its deadline pass) before the close: its next receive there says
	// so, once (shares.go: resultAtClose), not 'closed'
	timedOut []*Socket
}

// tokenModel drives a loop and checks it against the model.
type tokenModel struct {
	t     *testing.T
	l     *Loop
	c     *fakeClock
	socks [3]*Socket
	block [3]time.Duration
	toks  [9]modelTok // tokens 1..8
	looks bool        // a seventh operation: a look (FuzzTokensLooks)
	// the clock at the last Select: the waiters whose deadline was at or
	// before it are expired in the loop (expire), delivered or not
	lastSel time.Duration
}

// fuzzTokens is the number of distinct tokens used (1..fuzzTokens).
const fuzzTokens = 8

// FuzzTokens runs the op sequence ops against the model.
func FuzzTokens(f *testing.F) {
	f.Add([]byte{0, 1, 5, 2, 2, 3, 4, 200, 5, 8})
	f.Add([]byte{2, 1, 0, 2, 2, 0, 2, 3, 0, 3, 0, 5, 8, 1, 2, 5, 8})
	f.Add([]byte{0, 1, 0, 0, 1, 9, 1, 1, 5, 1, 4, 10, 5, 8, 0, 2, 255, 2, 2, 1, 4, 255, 5, 2})
	f.Add([]byte{2, 1, 1, 2, 2, 1, 1, 1, 5, 8, 3, 1, 5, 1, 5, 8})
	f.Fuzz(func(t *testing.T, ops []byte) {
		m := newTokenModel(t)
		defer m.l.Close()
		for len(ops) >= 3 {
			m.step(ops[0], ops[1], ops[2])
			m.checkWakes()
			ops = ops[3:]
		}
		m.c.t += time.Hour
		m.drainAll()
	})
}

// FuzzTokensLooks is FuzzTokens with looks among the operations: a look
// parks whatever the socket's timeout, has no deadline, holds its token
// against every other call, and is delivered by its socket's close only
// (the sockets stay idle).
func FuzzTokensLooks(f *testing.F) {
	f.Add([]byte{6, 1, 0, 6, 2, 0, 2, 3, 0, 3, 0, 0, 5, 8, 0})
	f.Add([]byte{6, 1, 1, 2, 1, 1, 6, 1, 2, 0, 1, 5, 1, 1, 0, 6, 1, 1, 5, 8, 1})
	f.Add([]byte{6, 1, 2, 6, 2, 2, 1, 1, 0, 3, 0, 2, 6, 2, 2, 5, 1, 0, 6, 2, 0, 5, 8, 0})
	f.Add([]byte{6, 3, 0, 3, 0, 0, 6, 3, 0, 2, 3, 0, 0, 3, 1, 5, 8, 0, 6, 3, 1, 4, 200, 0, 5, 8, 1})
	f.Fuzz(func(t *testing.T, ops []byte) {
		m := newTokenModel(t)
		m.looks = true
		defer m.l.Close()
		for len(ops) >= 3 {
			m.step(ops[0], ops[1], ops[2])
			m.checkWakes()
			ops = ops[3:]
		}
		m.c.t += time.Hour
		m.drainAll()
	})
}

// newTokenModel makes a loop on a fake clock with three idle socket pairs
// with different block timeouts (none, 0, 20 ms).
func newTokenModel(t *testing.T) *tokenModel {
	l, c := newTestLoop(t)
	m := &tokenModel{t: t, l: l, c: c}
	m.block = [3]time.Duration{-1, 0, 20 * time.Millisecond}
	for i := range m.socks {
		m.reopen(i)
	}
	return m
}

// reopen puts a fresh idle socket in slot i.
func (m *tokenModel) reopen(i int) {
	s, _ := socketPair(m.t, m.l)
	s.SetTimeout(m.block[i], -1)
	m.socks[i] = s
}

// step runs one operation chosen by op with arguments a and b.
func (m *tokenModel) step(op, a, b byte) {
	tok := Token(a%fuzzTokens) + 1
	mt := &m.toks[tok]
	nops := byte(6)
	if m.looks {
		nops = 7
	}
	switch op % nops {
	case 0: // Sleep
		d := time.Duration(b) * time.Millisecond
		err := m.l.Sleep(d, tok)
		if mt.kind != tokFree || mt.stale > 0 {
			m.expect(err, ErrBusy, "sleep on a parked token, or one owed a delivery")
			return
		}
		m.expect(err, nil, "sleep")
		mt.kind, mt.deadline, mt.sock = tokSleep, m.c.t+d, nil
	case 1: // Cancel
		m.l.Cancel(tok)
		*mt = modelTok{}
	case 2: // park a Receive on an idle socket
		m.park(tok, int(b)%len(m.socks))
	case 3: // Close a socket: every waiter is owed a delivery
		i := int(b) % len(m.socks)
		s := m.socks[i]
		if s.closed {
			m.reopen(i)
			return
		}
		s.Close()
		for k := range m.toks {
			if mt := m.toks[k]; (mt.kind == tokSock || mt.kind == tokLook) && mt.sock == s {
				nt := modelTok{stale: mt.stale + 1, staleBy: append(mt.staleBy, s), timedOut: mt.timedOut}
				if mt.kind == tokSock && mt.deadline != noDeadline && mt.deadline <= m.lastSel {
					nt.timedOut = append(nt.timedOut, s)
				}
				m.toks[k] = nt
			}
		}
	case 4: // advance the clock
		m.c.t += time.Duration(b) * time.Millisecond / 4
	case 5: // Select with a small output array
		m.selectOnce(int(b)%fuzzTokens + 1)
		if b%2 == 0 {
			m.drainAll()
		}
	case 6: // a look on an idle socket
		m.look(tok, int(b)%len(m.socks))
	}
}

// checkWakes checks that no look or receive on the open sockets missed
// its wake-up (lookwake_fuzz_test.go).
func (m *tokenModel) checkWakes() {
	for _, s := range m.socks {
		checkWakes(m.t, s, "tokens")
	}
}

// look calls Wait with WaitLook and tok on socket slot i and checks the
// result.
func (m *tokenModel) look(tok Token, i int) {
	s := m.socks[i]
	mt := &m.toks[tok]
	err := s.Wait(DirRead|WaitLook, tok)
	switch {
	case s.closed:
		m.expect(err, ErrClosed, "look on a closed socket")
		m.closedCall(tok, s)
	case mt.kind == tokLook && mt.sock == s: // re-call: parked again
		m.expect(err, ErrWait, "look re-call")
	case mt.kind != tokFree:
		m.expect(err, ErrBusy, "look with a token parked elsewhere")
	case mt.stale > 0:
		m.expect(err, ErrBusy, "look with a token owed a delivery")
	default: // whatever the socket's timeout
		m.expect(err, ErrWait, "look")
		mt.kind, mt.sock, mt.deadline = tokLook, s, noDeadline
	}
}

// closedCall updates the model after a call with tok on closed socket s:
// only what this socket's close owes tok is dropped (dropReleased).
func (m *tokenModel) closedCall(tok Token, s *Socket) {
	mt := &m.toks[tok]
	if (mt.kind == tokSock || mt.kind == tokLook) && mt.sock == s {
		m.t.Fatalf("token %d parked on a closed socket", tok)
	}
	kept := mt.staleBy[:0]
	for _, o := range mt.staleBy {
		if o != s {
			kept = append(kept, o)
		}
	}
	mt.staleBy, mt.stale = kept, len(kept)
}

// park calls Receive with tok on socket slot i and checks the result.
func (m *tokenModel) park(tok Token, i int) {
	s := m.socks[i]
	mt := &m.toks[tok]
	_, err := s.Receive(PatLine, 0, tok)
	switch {
	case s.closed && slices.Contains(mt.timedOut, s):
		m.expect(err, ErrTimeout, "receive on a socket closed after it timed out")
		mt.timedOut = slices.DeleteFunc(mt.timedOut, func(o *Socket) bool { return o == s })
		m.closedCall(tok, s)
	case s.closed:
		m.expect(err, ErrClosed, "receive on a closed socket")
		m.closedCall(tok, s)
	case mt.kind == tokSleep || mt.kind == tokLook || (mt.kind == tokSock && mt.sock != s):
		m.expect(err, ErrBusy, "receive with a token parked elsewhere")
	case mt.kind == tokSock: // re-call: a new park, or its deadline passed
		if err == ErrTimeout && mt.deadline != noDeadline && mt.deadline <= m.c.t {
			*mt = modelTok{stale: mt.stale, staleBy: mt.staleBy, timedOut: mt.timedOut}
			return
		}
		m.expect(err, ErrWait, "receive re-call")
	case mt.stale > 0:
		m.expect(err, ErrBusy, "receive with a token owed a delivery")
	case m.block[i] == 0:
		m.expect(err, ErrTimeout, "receive with a zero timeout")
	default:
		m.expect(err, ErrWait, "receive park")
		mt.kind, mt.sock, mt.deadline = tokSock, s, noDeadline
		if m.block[i] > 0 {
			mt.deadline = m.c.t + m.block[i]
		}
	}
}

// selectOnce runs Select(0) with room for n tokens and checks each one.
func (m *tokenModel) selectOnce(n int) int {
	out := make([]Token, n)
	m.lastSel = m.c.t
	got, err := m.l.Select(0, out)
	m.expect(err, nil, "select")
	for _, tok := range out[:got] {
		m.delivered(tok)
	}
	return got
}

// delivered checks that tok may be delivered now and plays its owner:
// a sleeper is done; a socket waiter retries its Receive.
func (m *tokenModel) delivered(tok Token) {
	if tok < 1 || tok > fuzzTokens {
		m.t.Fatalf("unknown token %d delivered", tok)
	}
	mt := &m.toks[tok]
	switch {
	case mt.stale > 0:
		mt.stale--
		mt.staleBy = mt.staleBy[1:] // handed out in close order
	case mt.kind == tokSleep:
		if mt.deadline > m.c.t {
			m.t.Fatalf("token %d delivered %v before its deadline", tok, mt.deadline-m.c.t)
		}
		mt.kind = tokFree
	case mt.kind == tokSock:
		_, err := mt.sock.Receive(PatLine, 0, tok)
		if mt.deadline != noDeadline && mt.deadline <= m.c.t {
			m.expect(err, ErrTimeout, "retry after the deadline")
			mt.kind = tokFree
		} else {
			m.expect(err, ErrWait, "retry before the deadline")
		}
	case mt.kind == tokLook:
		m.t.Fatalf("look %d delivered, its socket idle and open", tok)
	default:
		m.t.Fatalf("token %d delivered but not parked (cancelled or never parked)", tok)
	}
}

// drainAll selects until nothing is ready, then checks that every owed
// delivery happened and that the timer heap matches the model.
func (m *tokenModel) drainAll() {
	for m.selectOnce(fuzzTokens) > 0 {
	}
	parked, next := 0, noDeadline
	for tok := Token(1); tok <= fuzzTokens; tok++ {
		mt := m.toks[tok]
		if mt.stale > 0 {
			m.t.Fatalf("token %d: delivery after close never came", tok)
		}
		if mt.kind == tokFree {
			continue
		}
		parked++
		if mt.deadline != noDeadline {
			if mt.deadline <= m.c.t {
				m.t.Fatalf("token %d: deadline passed %v ago, not delivered", tok, m.c.t-mt.deadline)
			}
			if next == noDeadline || mt.deadline < next {
				next = mt.deadline
			}
		}
	}
	if m.l.byTok.len() != parked {
		m.t.Fatalf("loop holds %d parked tokens, model %d", m.l.byTok.len(), parked)
	}
	want := time.Duration(-1)
	if next != noDeadline {
		want = next - m.c.t
	}
	if got := m.l.Timeout(); got != want {
		m.t.Fatalf("Timeout() = %v, model %v", got, want)
	}
}

// expect fails unless err is want.
func (m *tokenModel) expect(err, want error, what string) {
	m.t.Helper()
	if !errors.Is(err, want) || (want == nil && err != nil) {
		m.t.Fatalf("%s: got %v, want %v", what, err, want)
	}
}
