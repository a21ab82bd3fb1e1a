package core

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestRetryDeadline checks LuaSocket timeout.c getretry, per mode.
func TestRetryDeadline(t *testing.T) {
	const s = time.Second
	cases := []struct {
		name                            string
		block, total, start, since, now time.Duration
		want                            time.Duration
		ok                              bool
	}{
		{"none", -1, -1, 10 * s, 50 * s, 50 * s, noDeadline, true},
		{"block", 2 * s, -1, 10 * s, 11 * s, 11 * s, 12 * s, true},
		{"block passed", 2 * s, -1, 10 * s, 12 * s, 12 * s, 12 * s, false},
		{"block zero", 0, -1, 10 * s, 10 * s, 10 * s, 10 * s, false},
		{"total", -1, 5 * s, 10 * s, 11 * s, 11 * s, 15 * s, true},
		{"total passed", -1, 5 * s, 10 * s, 16 * s, 16 * s, 15 * s, false},
		{"both block first", 1 * s, 5 * s, 10 * s, 11 * s, 11 * s, 12 * s, true},
		{"both total first", 3 * s, 5 * s, 10 * s, 14 * s, 14 * s, 15 * s, true},
		{"both total gone", 3 * s, 5 * s, 10 * s, 16 * s, 16 * s, 16 * s, false},
		{"huge", maxTime, -1, 10 * s, 11 * s, 11 * s, maxTime, true},
		// a timeout set while the wait that began at since goes on
		{"both, set later: block from the wait", 2 * s, 10 * s, 10 * s, 11 * s, 12 * s, 13 * s, true},
		{"both, set later: total first", 5 * s, 3 * s, 10 * s, 11 * s, 12 * s, 13 * s, true},
		{"both, set later: passed", 1 * s, 10 * s, 10 * s, 11 * s, 12 * s, 12 * s, false},
		{"both, set later: total gone", 5 * s, 1 * s, 10 * s, 12 * s, 13 * s, 12 * s, false},
		{"block, set later: from the start", 2 * s, -1, 10 * s, 11 * s, 11*s + s/2, 12 * s, true},
	}
	for _, c := range cases {
		got, ok := retryDeadline(c.block, c.total, c.start, c.since, c.now)
		if got != c.want || ok != c.ok {
			t.Errorf("%s: got %v %v, want %v %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

// TestSocketTimeoutBlock checks a block timeout on the injected clock:
// the token is delivered at the deadline and its retry gets ErrTimeout
// with the partial line, consumed.
func TestSocketTimeoutBlock(t *testing.T) {
	l, clk := newTestLoop(t)
	s, peer := socketPair(t, l)
	s.SetTimeout(time.Second, -1)
	peerWrite(t, peer, "pa\rr")
	parkReceive(t, s, PatLine, 0, 1)
	if got := l.Timeout(); got != time.Second {
		t.Fatalf("Timeout = %v", got)
	}
	firesAt(t, l, clk, time.Second, 1)
	res, err := s.Receive(PatLine, 0, 1)
	if err != ErrTimeout || string(res) != "par" || s.Buffered() != 0 {
		t.Fatalf("got %q %v, buffered %d", res, err, s.Buffered())
	}
	s.SetTimeout(0, -1) // LuaSocket settimeout(0) with a token: no park
	if res, err := s.Receive(PatCount, 4, 2); err != ErrTimeout || len(res) != 0 || l.byTok.len() != 0 {
		t.Fatalf("timeout 0: %q %v, %d parked", res, err, l.byTok.len())
	}
}

// firesAt advances clk by d less 1 ms and checks that no token comes, then
// by 1 ms and checks that exactly tok comes.
func firesAt(t *testing.T, l *Loop, clk *fakeClock, d time.Duration, tok Token) {
	t.Helper()
	clk.t += d - time.Millisecond
	if got := selectTokens(t, l, 0); len(got) != 0 {
		t.Fatalf("early: %v", got)
	}
	clk.t += time.Millisecond
	if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{tok}) {
		t.Fatalf("at its time: got %v, want %d", got, tok)
	}
}

// TestSocketTimeoutTotal checks that total is measured from the first call
// across re-parks, and the both-mode formula at each re-park.
func TestSocketTimeoutTotal(t *testing.T) {
	l, clk := newTestLoop(t)
	s, peer := socketPair(t, l)
	s.SetTimeout(-1, 2*time.Second)
	parkReceive(t, s, PatLine, 0, 1)
	clk.t += time.Second
	peerWrite(t, peer, "x")
	waitFor(t, l, 1)
	parkReceive(t, s, PatLine, 0, 1)
	if got := l.Timeout(); got != time.Second {
		t.Fatalf("Timeout after re-park = %v, want 1s", got)
	}
	clk.t += time.Second
	if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{1}) {
		t.Fatalf("got %v", got)
	}
	if res, err := s.Receive(PatLine, 0, 1); err != ErrTimeout || string(res) != "x" {
		t.Fatalf("got %q %v", res, err)
	}

	s.SetTimeout(time.Second, 1500*time.Millisecond)
	parkReceive(t, s, PatLine, 0, 2)
	if got := l.Timeout(); got != time.Second {
		t.Fatalf("both: Timeout = %v, want 1s", got)
	}
	clk.t += 800 * time.Millisecond
	peerWrite(t, peer, "y")
	waitFor(t, l, 2)
	parkReceive(t, s, PatLine, 0, 2)
	if got := l.Timeout(); got != 700*time.Millisecond {
		t.Fatalf("both after re-park: Timeout = %v, want 700ms", got)
	}
}

// TestTimeoutQueuedWaiter checks that a waiter parked behind the head
// times out on its own deadline, counted from its own start, and that the
// head, given the timeout while it waited, times out from its start too;
// the socket serves the next receive.
func TestTimeoutQueuedWaiter(t *testing.T) {
	l, clk := newTestLoop(t)
	s, peer := socketPair(t, l)
	s.Receive(PatLine, 0, 1)
	clk.t += 500 * time.Millisecond
	s.SetTimeout(time.Second, -1)
	parkReceive(t, s, PatLine, 0, 2)
	clk.t += 500 * time.Millisecond
	if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{1}) {
		t.Fatalf("head: got %v", got)
	}
	if res, err := s.Receive(PatLine, 0, 1); err != ErrTimeout || len(res) != 0 {
		t.Fatalf("head: %q %v", res, err)
	}
	clk.t += 500 * time.Millisecond
	if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{2}) {
		t.Fatalf("queued: got %v", got)
	}
	if res, err := s.Receive(PatLine, 0, 2); err != ErrTimeout || len(res) != 0 {
		t.Fatalf("queued waiter: %q %v", res, err)
	}
	s.SetTimeout(-1, -1)
	parkReceive(t, s, PatLine, 0, 1)
	peerWrite(t, peer, "head\n")
	waitFor(t, l, 1)
	if line, err := s.Receive(PatLine, 0, 1); err != nil || string(line) != "head" {
		t.Fatalf("head: %q %v", line, err)
	}
}

// TestToken0 checks that token 0 never parks: would-block is ErrTimeout
// with the partial result consumed, for Receive and Send.
func TestToken0(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer := socketPair(t, l)
	peerWrite(t, peer, "par")
	if res, err := s.Receive(PatLine, 0, 0); err != ErrTimeout || string(res) != "par" || s.Buffered() != 0 {
		t.Fatalf("receive: %q %v", res, err)
	}
	if res, err := s.Receive(PatCount, 0, 0); err != ErrTimeout || len(res) != 0 {
		t.Fatalf("receive(0): %q %v", res, err)
	}
	big := bytes.Repeat([]byte("z"), 8<<20)
	n, err := s.Send(big, 0)
	if err != ErrTimeout || n <= 0 || n >= len(big) {
		t.Fatalf("send: %d %v", n, err)
	}
	if n2, err := s.Send(big, 7); err != ErrWait || n2 != 0 {
		t.Fatalf("send with token: %d %v", n2, err)
	}
	if n3, err := s.Send([]byte("x"), 0); err != ErrTimeout || n3 != 0 {
		t.Fatalf("token 0 behind a parked sender: %d %v", n3, err)
	}
	if l.byTok.len() != 1 {
		t.Fatalf("%d parked, want 1", l.byTok.len())
	}
}

// TestBusy checks that a token parked in one place cannot park elsewhere.
func TestBusy(t *testing.T) {
	l, _ := newTestLoop(t)
	s1, _ := socketPair(t, l)
	s2, _ := socketPair(t, l)
	l.Sleep(time.Second, 1)
	if _, err := s1.Receive(PatLine, 0, 1); err != ErrBusy {
		t.Fatalf("sleeping token: %v", err)
	}
	if _, err := s1.Receive(PatLine, 0, 2); err != ErrWait {
		t.Fatal(err)
	}
	if _, err := s2.Receive(PatLine, 0, 2); err != ErrBusy {
		t.Fatalf("other socket: %v", err)
	}
	if err := s1.Wait(DirWrite, 2); err != ErrBusy {
		t.Fatalf("other queue: %v", err)
	}
	if err := l.Sleep(0, 2); err != ErrBusy {
		t.Fatalf("sleep: %v", err)
	}
	if _, err := s1.Receive(PatLine, 0, 2); err != ErrWait {
		t.Fatalf("same op again: %v", err)
	}
	if _, err := s1.Receive(9, 0, 3); err != ErrInvalid {
		t.Fatalf("bad pattern: %v", err)
	}
}

// TestUnreadBuffered checks that Unread puts bytes first.
func TestUnreadBuffered(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer := socketPair(t, l)
	s.Unread([]byte("abc\n"))
	if s.Buffered() != 4 {
		t.Fatalf("Buffered = %d", s.Buffered())
	}
	peerWrite(t, peer, "def\n")
	s.Unread([]byte("x"))
	for _, want := range []string{"xabc", "def"} {
		if line, err := s.Receive(PatLine, 0, 1); err != nil || string(line) != want {
			t.Fatalf("got %q %v, want %q", line, err, want)
		}
	}
	if s.Buffered() != 0 {
		t.Fatalf("Buffered = %d", s.Buffered())
	}
}

// TestReceiveZeroWaits checks receive(0) on an empty buffer: it parks,
// then returns "" without consuming once data arrives; EOF gives closed.
func TestReceiveZeroWaits(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer := socketPair(t, l)
	parkReceive(t, s, PatCount, 0, 1)
	peerWrite(t, peer, "abc")
	waitFor(t, l, 1)
	if res, err := s.Receive(PatCount, 0, 1); err != nil || len(res) != 0 || s.Buffered() != 3 {
		t.Fatalf("got %q %v, buffered %d", res, err, s.Buffered())
	}
	if res, err := s.Receive(PatCount, 3, 1); err != nil || string(res) != "abc" {
		t.Fatalf("got %q %v", res, err)
	}
	s.Shutdown(0)
	if res, err := s.Receive(PatCount, 0, 1); err != ErrClosed || len(res) != 0 {
		t.Fatalf("EOF: %q %v", res, err)
	}
}

// TestWait checks readiness waits in both directions.
func TestWait(t *testing.T) {
	l, clk := newTestLoop(t)
	s, peer := socketPair(t, l)
	if err := s.Wait(DirWrite, 1); err != nil {
		t.Fatalf("writable: %v", err)
	}
	if err := s.Wait(DirRead, 1); err != ErrWait {
		t.Fatalf("read wait: %v", err)
	}
	peerWrite(t, peer, "x")
	waitFor(t, l, 1)
	if err := s.Wait(DirRead, 1); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if s.Buffered() != 0 {
		t.Fatal("Wait consumed data")
	}
	if err := s.Wait(3, 1); err != ErrInvalid {
		t.Fatalf("bad dir: %v", err)
	}
	s2, _ := socketPair(t, l)
	s2.SetTimeout(time.Second, -1)
	if err := s2.Wait(DirRead, 2); err != ErrWait {
		t.Fatal(err)
	}
	clk.t += time.Second
	waitFor(t, l, 2)
	if err := s2.Wait(DirRead, 2); err != ErrTimeout {
		t.Fatalf("expired: %v", err)
	}
}

// TestCancelHeadPassesTurn checks that cancelling the parked head delivers
// the next waiter, which then reads.
func TestCancelHeadPassesTurn(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer := socketPair(t, l)
	s.Receive(PatLine, 0, 1)
	s.Receive(PatLine, 0, 2)
	peerWrite(t, peer, "x\n")
	if got := selectTokens(t, l, 1e9); !slices.Equal(got, []Token{1}) {
		t.Fatalf("got %v", got)
	}
	l.Cancel(1)
	if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{2}) {
		t.Fatalf("got %v, want [2]", got)
	}
	if line, err := s.Receive(PatLine, 0, 2); err != nil || string(line) != "x" {
		t.Fatalf("got %q %v", line, err)
	}
}

// TestExpiredHeadNoMoreIO checks both sides of a deadline that passed
// while the loop was busy. Data there when the loop processes the deadline
// counts, as with poll(2), which scans once more after its timeout
// (LuaSocket returns data that is there by then). Once the expiry has been
// handed back, the retry returns ErrTimeout with what it had, without
// reading or sending more: data that arrived meanwhile stays for the next
// call.
func TestExpiredHeadNoMoreIO(t *testing.T) {
	l, clk := newTestLoop(t)
	s, peer := socketPair(t, l)
	s.SetTimeout(time.Second, -1)

	// the deadline passed and data came before the loop ran: data counts
	peerWrite(t, peer, "ab")
	parkReceive(t, s, PatCount, 4, 1)
	clk.t += time.Second
	peerWrite(t, peer, "cd")
	waitFor(t, l, 1)
	if res, err := s.Receive(PatCount, 4, 1); err != nil || string(res) != "abcd" {
		t.Fatalf("data before the loop saw the deadline: %q %v", res, err)
	}
	// ... and a partial one is the partial result
	peerWrite(t, peer, "e")
	parkReceive(t, s, PatCount, 4, 1)
	clk.t += time.Second
	peerWrite(t, peer, "f")
	waitFor(t, l, 1)
	if res, err := s.Receive(PatCount, 4, 1); err != ErrTimeout || string(res) != "ef" {
		t.Fatalf("partial: %q %v", res, err)
	}

	// the loop handed the expiry back first: no more reads
	peerWrite(t, peer, "ef")
	parkReceive(t, s, PatCount, 4, 1)
	clk.t += time.Second
	waitFor(t, l, 1)
	peerWrite(t, peer, "gh")
	if res, err := s.Receive(PatCount, 4, 1); err != ErrTimeout || string(res) != "ef" {
		t.Fatalf("expired: %q %v", res, err)
	}
	if res, err := s.Receive(PatCount, 2, 0); err != nil || string(res) != "gh" {
		t.Fatalf("next call: %q %v", res, err)
	}

	big := bytes.Repeat([]byte("z"), 8<<20)
	n1, err := s.Send(big, 2)
	if err != ErrWait || n1 == 0 {
		t.Fatalf("send: %d %v", n1, err)
	}
	clk.t += time.Second
	waitFor(t, l, 2)
	buf := make([]byte, 1<<16)
	readFd(t, peer, buf) // room again, but the op has expired
	if n2, err := s.Send(big, 2); err != ErrTimeout || n2 != n1 {
		t.Fatalf("expired send: %d %v, want %d", n2, err, n1)
	}
	if l.byTok.len() != 0 {
		t.Fatal("waiters left")
	}
}

// TestLastLookEOF checks a deadline that passed while the peer closed: the
// retry ends as LuaSocket's does, with the EOF (its partial, or '*a”s
// data), not with a timeout.
func TestLastLookEOF(t *testing.T) {
	for _, c := range []struct {
		p    Pattern
		want string
		err  error
	}{{PatLine, "ij", ErrClosed}, {PatAll, "ij", nil}, {PatCount, "ij", ErrClosed}} {
		l, clk := newTestLoop(t)
		s, peer := socketPair(t, l)
		s.SetTimeout(time.Second, -1)
		peerWrite(t, peer, "ij")
		if _, err := s.Receive(c.p, 4, 1); err != ErrWait {
			t.Fatal(err)
		}
		clk.t += time.Second
		if err := unix.Shutdown(peer, unix.SHUT_WR); err != nil {
			t.Fatal(err)
		}
		waitFor(t, l, 1)
		if res, err := s.Receive(c.p, 4, 1); err != c.err || string(res) != c.want {
			t.Errorf("pattern %d: %q %v, want %q %v", c.p, res, err, c.want, c.err)
		}
	}
}

// TestUnreadWakesParkedReceive checks that Unread delivers the receive
// parked at the head of the queue: no event would bring it the data, and
// its retry reads the unread bytes.
func TestUnreadWakesParkedReceive(t *testing.T) {
	l, _ := newTestLoop(t)
	s, _ := socketPair(t, l)
	parkReceive(t, s, PatLine, 0, 7)
	if got := selectTokens(t, l, 0); len(got) != 0 {
		t.Fatalf("early: %v", got)
	}
	if err := s.Unread([]byte("pushed\n")); err != nil {
		t.Fatal(err)
	}
	if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{7}) {
		t.Fatalf("after unread: %v, want [7]", got)
	}
	if res, err := s.Receive(PatLine, 0, 7); err != nil || string(res) != "pushed" {
		t.Fatalf("retry: %q %v", res, err)
	}
}

// TestSetTimeoutRearmsParked checks that a new timeout applies to an
// operation already waiting, counted from its start: one already passed
// fires at the next Select, a later one at its time, none stops the timer.
func TestSetTimeoutRearmsParked(t *testing.T) {
	l, clk := newTestLoop(t)
	s, peer := socketPair(t, l)
	peerWrite(t, peer, "pa")
	parkReceive(t, s, PatLine, 0, 1)
	clk.t += 500 * time.Millisecond
	if got := selectTokens(t, l, 0); len(got) != 0 {
		t.Fatalf("no timeout yet: %v", got)
	}
	s.SetTimeout(200*time.Millisecond, -1) // passed 300 ms ago
	if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{1}) {
		t.Fatalf("passed deadline: got %v", got)
	}
	if res, err := s.Receive(PatLine, 0, 1); err != ErrTimeout || string(res) != "pa" {
		t.Fatalf("got %q %v", res, err)
	}

	s.SetTimeout(-1, -1)
	parkReceive(t, s, PatLine, 0, 2)
	clk.t += 500 * time.Millisecond
	s.SetTimeout(-1, 2*time.Second) // total: 1.5 s left
	firesAt(t, l, clk, 1500*time.Millisecond, 2)
	if _, err := s.Receive(PatLine, 0, 2); err != ErrTimeout {
		t.Fatal(err)
	}

	s.SetTimeout(time.Second, -1)
	parkReceive(t, s, PatLine, 0, 3)
	s.SetTimeout(-1, -1) // lifted: no deadline at all
	clk.t += 10 * time.Second
	if got := selectTokens(t, l, 0); len(got) != 0 {
		t.Fatalf("lifted: %v", got)
	}
	peerWrite(t, peer, "\n")
	if res, err := drainLine(t, l, s, 3); err != nil || string(res) != "" {
		t.Fatalf("got %q %v", res, err)
	}
}

// TestSetTimeoutBothFromWaitStart checks a timeout change while
// operations wait, with both block and total set (LuaSocket getretry:
// each wait lasts min(block, total left), block counted from the start of
// that wait): the new deadline counts from the wait's start, not from the
// SetTimeout call, so setting a timeout again (the same one, or the other
// mode) does not postpone a waiter, at the head or queued behind it.
func TestSetTimeoutBothFromWaitStart(t *testing.T) {
	const ms = time.Millisecond
	l, clk := newTestLoop(t)
	s, peer := socketPair(t, l)

	// block set first, total added 100 ms into the wait: ends at 200 ms
	s.SetTimeout(200*ms, -1)
	peerWrite(t, peer, "pa")
	parkReceive(t, s, PatLine, 0, 1)
	clk.t += 100 * ms
	s.SetTimeout(200*ms, time.Second)
	firesAt(t, l, clk, 100*ms, 1)
	if res, err := s.Receive(PatLine, 0, 1); err != ErrTimeout || string(res) != "pa" {
		t.Fatalf("b then t: got %q %v", res, err)
	}

	// total set first, block added 100 ms into the wait: ends at 300 ms
	s.SetTimeout(-1, time.Second)
	parkReceive(t, s, PatLine, 0, 2)
	clk.t += 100 * ms
	s.SetTimeout(300*ms, time.Second)
	firesAt(t, l, clk, 200*ms, 2)
	if _, err := s.Receive(PatLine, 0, 2); err != ErrTimeout {
		t.Fatalf("t then b: %v", err)
	}

	// the same timeouts set again every 100 ms: the wait still ends at
	// 200 ms; a waiter queued 50 ms later ends 50 ms later
	s.SetTimeout(200*ms, 100*time.Second)
	parkReceive(t, s, PatLine, 0, 3)
	clk.t += 50 * ms
	parkReceive(t, s, PatLine, 0, 4)
	clk.t += 50 * ms
	s.SetTimeout(200*ms, 100*time.Second)
	if got := stepClock(t, l, clk, 0); len(got) != 0 {
		t.Fatalf("at 100 ms: %v", got)
	}
	clk.t += 99 * ms
	s.SetTimeout(200*ms, 100*time.Second)
	if got := stepClock(t, l, clk, 0); len(got) != 0 {
		t.Fatalf("at 199 ms: %v", got)
	}
	if got := stepClock(t, l, clk, ms); !slices.Equal(got, []Token{3}) {
		t.Fatalf("at 200 ms: got %v, want the head", got)
	}
	if got := stepClock(t, l, clk, 50*ms); !slices.Equal(got, []Token{4}) {
		t.Fatalf("at 250 ms: got %v, want the queued receive", got)
	}
	for _, tok := range []Token{3, 4} {
		if res, err := s.Receive(PatLine, 0, tok); err != ErrTimeout || len(res) != 0 {
			t.Fatalf("token %d: %q %v", tok, res, err)
		}
	}

	// a wait begun after a re-park counts block from the re-park
	s.SetTimeout(200*ms, 100*time.Second)
	parkReceive(t, s, PatLine, 0, 5)
	clk.t += 150 * ms
	peerWrite(t, peer, "x")
	waitFor(t, l, 5)
	parkReceive(t, s, PatLine, 0, 5) // re-park at 150 ms: ends at 350 ms
	clk.t += 100 * ms
	s.SetTimeout(200*ms, 100*time.Second)
	firesAt(t, l, clk, 100*ms, 5)
	if res, err := s.Receive(PatLine, 0, 5); err != ErrTimeout || string(res) != "x" {
		t.Fatalf("re-parked: got %q %v", res, err)
	}
}

// drainLine waits for tok and retries its line receive on s.
func drainLine(t *testing.T, l *Loop, s *Socket, tok Token) ([]byte, error) {
	t.Helper()
	waitFor(t, l, tok)
	return s.Receive(PatLine, 0, tok)
}

// TestWaitUntimed checks that a Wait with WaitUntimed parks whatever the
// socket's timeout (zero included) and that SetTimeout leaves it alone.
func TestWaitUntimed(t *testing.T) {
	l, clk := newTestLoop(t)
	s, peer := socketPair(t, l)
	s.SetTimeout(0, -1)
	if err := s.Wait(DirRead, 4); err != ErrTimeout {
		t.Fatalf("timed wait at timeout 0: %v", err)
	}
	if err := s.Wait(DirRead|WaitUntimed, 5); err != ErrWait {
		t.Fatalf("untimed wait: %v", err)
	}
	s.SetTimeout(0, 0)
	clk.t += 5 * time.Second
	if got := selectTokens(t, l, 0); len(got) != 0 {
		t.Fatalf("untimed wait fired: %v", got)
	}
	peerWrite(t, peer, "x")
	waitFor(t, l, 5)
	if err := s.Wait(DirRead|WaitUntimed, 5); err != nil {
		t.Fatalf("ready: %v", err)
	}
	if err := s.Wait(DirRead|DirWrite|WaitUntimed, 6); err != ErrInvalid {
		t.Fatalf("bad direction: %v", err)
	}
}

// TestSetTimeoutThrottled checks a timeout set while a receive waits on
// its throttle timer: a deadline before the throttle's wake-up replaces
// it (the retry times out with what was granted), a later one leaves the
// wake-up alone.
func TestSetTimeoutThrottled(t *testing.T) {
	l, clk := newTestLoop(t)
	s, peer := socketPair(t, l)
	peerWrite(t, peer, string(bytes.Repeat([]byte("x"), 100)))
	if err := s.Throttle(DirRead, 10); err != nil { // 10 B/s: a grant per 100 ms
		t.Fatal(err)
	}
	parkReceive(t, s, PatCount, 50, 1)
	wake := l.Timeout()
	s.SetTimeout(10*wake, -1) // later than the wake-up: unchanged
	if got := l.Timeout(); got != wake {
		t.Fatalf("later deadline moved the wake-up: %v, want %v", got, wake)
	}
	s.SetTimeout(wake/4, -1) // before it: the deadline fires first
	if got := l.Timeout(); got != wake/4 {
		t.Fatalf("Timeout = %v, want %v", got, wake/4)
	}
	clk.t += wake / 4
	if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{1}) {
		t.Fatalf("got %v", got)
	}
	if res, err := s.Receive(PatCount, 50, 1); err != ErrTimeout || len(res) >= 50 {
		t.Fatalf("retry: %d bytes %v, want a timeout", len(res), err)
	}
}

// TestSetTimeoutThrottleHeld checks a receive held by its throttle whose
// timer is its deadline (it came first): lifting the timeout gives it the
// throttle's wake-up back (its timer was dropped: it waited for ever), a
// later timeout too.
func TestSetTimeoutThrottleHeld(t *testing.T) {
	l, clk := newTestLoop(t)
	s, peer := socketPair(t, l)
	peerWrite(t, peer, string(bytes.Repeat([]byte("x"), 100)))
	if err := s.Throttle(DirRead, 10); err != nil {
		t.Fatal(err)
	}
	parkReceive(t, s, PatCount, 50, 1)
	wake := l.Timeout() // the throttle's wake-up
	s.SetTimeout(wake/4, -1)
	if got := l.Timeout(); got != wake/4 {
		t.Fatalf("deadline first: Timeout = %v, want %v", got, wake/4)
	}
	s.SetTimeout(-1, -1)
	if got := l.Timeout(); got != wake {
		t.Fatalf("lifted: Timeout = %v, want the wake-up %v", got, wake)
	}
	s.SetTimeout(3*wake, -1)
	if got := l.Timeout(); got != wake {
		t.Fatalf("later: Timeout = %v, want the wake-up %v", got, wake)
	}
	clk.t += wake
	if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{1}) {
		t.Fatalf("at the wake-up: got %v", got)
	}
	if _, err := s.Receive(PatCount, 50, 1); err != ErrWait || s.Held() == 0 || s.Buffered() != 0 {
		t.Fatalf("retry: %v, held %d, buffered %d: want a grant and a new wait", err, s.Held(), s.Buffered())
	}
}

// TestSetTimeoutDelivered checks that a token delivered by data, not
// retried yet, gets the new timeout: its old deadline must not time its
// retry out.
func TestSetTimeoutDelivered(t *testing.T) {
	l, clk := newTestLoop(t)
	s, peer := socketPair(t, l)
	s.SetTimeout(200*time.Millisecond, -1)
	parkReceive(t, s, PatLine, 0, 1)
	peerWrite(t, peer, "ab")
	waitFor(t, l, 1)
	s.SetTimeout(-1, -1)
	clk.t += 300 * time.Millisecond
	if got := selectTokens(t, l, 0); len(got) != 0 {
		t.Fatalf("old deadline fired: %v", got)
	}
	if res, err := s.Receive(PatLine, 0, 1); err != ErrWait || len(res) != 0 {
		t.Fatalf("retry: %q %v, want a new wait", res, err)
	}
}

// TestThrottleLiftHeldByDeadline checks that lifting a limit wakes a head
// held by it even when its timer is its deadline (it came first).
func TestThrottleLiftHeldByDeadline(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer := socketPair(t, l)
	peerWrite(t, peer, string(bytes.Repeat([]byte("x"), 100)))
	if err := s.Throttle(DirRead, 10); err != nil {
		t.Fatal(err)
	}
	s.SetTimeout(time.Millisecond, -1)
	parkReceive(t, s, PatCount, 50, 1)
	if err := s.Throttle(DirRead, 0); err != nil {
		t.Fatal(err)
	}
	if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{1}) {
		t.Fatalf("lifted: got %v", got)
	}
	if res, err := s.Receive(PatCount, 50, 1); err != nil || len(res) != 50 {
		t.Fatalf("retry: %d bytes %v", len(res), err)
	}
}

// TestWaitUntimedThenTimed checks that a token waiting untimed, retried as
// a timed wait, is timed again (a new timeout reaches it).
func TestWaitUntimedThenTimed(t *testing.T) {
	l, clk := newTestLoop(t)
	s, _ := socketPair(t, l)
	if err := s.Wait(DirRead|WaitUntimed, 5); err != ErrWait {
		t.Fatal(err)
	}
	if err := s.Wait(DirRead, 5); err != ErrWait {
		t.Fatal(err)
	}
	s.SetTimeout(100*time.Millisecond, -1)
	clk.t += 100 * time.Millisecond
	if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{5}) {
		t.Fatalf("got %v", got)
	}
	if err := s.Wait(DirRead, 5); err != ErrTimeout {
		t.Fatalf("retry: %v", err)
	}
}

// TestSetTimeoutZeroThenLifted checks that a zero timeout ends the waits
// at once: lifted again before the next Select (copas' poll-then-restore
// habit), it does not bring them back; the retry times out with what it
// had buffered.
func TestSetTimeoutZeroThenLifted(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer := socketPair(t, l)
	peerWrite(t, peer, "ab")
	parkReceive(t, s, PatLine, 0, 1)
	s.SetTimeout(0, -1)
	s.SetTimeout(-1, -1)
	if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{1}) {
		t.Fatalf("after settimeout(0) then a lift: got %v, want [1]", got)
	}
	if res, err := s.Receive(PatLine, 0, 1); err != ErrTimeout || string(res) != "ab" {
		t.Fatalf("retry: %q %v", res, err)
	}
}
