package core

import (
	"bytes"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestBucketArithmetic checks the token bucket on exact clock values.
func TestBucketArithmetic(t *testing.T) {
	const ms = time.Millisecond
	b := newBucket(1000, 0)
	if b.rate != 1000 || b.quantum != 20 || b.burst != 250 {
		t.Fatalf("bucket %+v", *b)
	}
	// starts empty: a stream op waits for a quantum (20 bytes = 20 ms)
	if got := b.allow(0, 20); got != 0 || !b.pending || b.wake != 20*ms {
		t.Fatalf("empty: %d %v %v", got, b.pending, b.wake)
	}
	if got := b.allow(19*ms, 20); got != 0 || b.wake != 20*ms {
		t.Fatalf("19 ms: %d, wake %v", got, b.wake)
	}
	if got := b.allow(20*ms, 20); got != 20 || b.pending {
		t.Fatalf("20 ms: %d %v", got, b.pending)
	}
	b.take(15)
	if got := b.allow(20*ms, 1); got != 5 {
		t.Fatalf("after take: %d", got)
	}
	// a fraction of a byte is kept, not rounded away: 1.5 ms = 1.5 bytes
	b.take(5)
	if got := b.allow(21500*time.Microsecond, 1); got != 1 {
		t.Fatalf("1.5 ms: %d", got)
	}
	b.take(1)
	if got := b.allow(22*ms, 1); got != 1 {
		t.Fatalf("2 ms: %d (the half byte carried over)", got)
	}
	// the credit is capped at the burst (a quarter second), even after hours
	if got := b.allow(5*time.Hour, 1); got != 250 {
		t.Fatalf("burst: %d", got)
	}
	// datagrams: allowed out of debt, the whole size charged
	b.take(250)
	if got := b.allow(5*time.Hour, 0); b.pending {
		t.Fatalf("zero credit is not debt: %d", got)
	}
	b.take(500)
	if b.allow(5*time.Hour, 0); !b.pending || b.wake != 5*time.Hour+500*ms {
		t.Fatalf("debt of 500 bytes: %v %v", b.pending, b.wake)
	}
	if b.allow(5*time.Hour+500*ms, 0); b.pending {
		t.Fatal("debt paid after 500 ms")
	}
	// bounds: tiny and huge rates
	if s := newBucket(7, 0); s.quantum != 1 || s.burst != 1 {
		t.Fatalf("rate 7: %+v", *s)
	}
	if h := newBucket(1<<62, 0); h.rate != maxRate || h.quantum != scratchSize {
		t.Fatalf("huge rate: %+v", *h)
	}
	h := newBucket(1<<62, 0)
	if got := h.allow(time.Duration(1<<62), 1); got != maxRate/4 {
		t.Fatalf("huge rate after a long time: %d", got)
	}
}

// stepClock advances the fake clock by d and returns the tokens Select
// delivers then (poll, no real wait).
func stepClock(t *testing.T, l *Loop, clk *fakeClock, d time.Duration) []Token {
	t.Helper()
	clk.t += d
	return selectTokens(t, l, 0)
}

// TestThrottleReceive reads 100 bytes at 1000 B/s: five 20-byte grants,
// 20 ms apart on the injected clock, each read capped at the grant, the
// waiter parked on its timer (not woken by new data meanwhile).
func TestThrottleReceive(t *testing.T) {
	l, clk := newTestLoop(t)
	s, peer := socketPair(t, l)
	peerWrite(t, peer, string(bytes.Repeat([]byte("x"), 1000)))
	if err := s.Throttle(DirRead, 1000); err != nil {
		t.Fatal(err)
	}
	if s.Throttled(DirRead) != 1000 || s.Throttled(DirWrite) != 0 {
		t.Fatal("Throttled")
	}
	if _, err := s.Receive(PatCount, 100, 1); err != ErrWait {
		t.Fatalf("first call: %v", err)
	}
	for i := 1; i <= 5; i++ {
		if got := l.Timeout(); got != 20*time.Millisecond {
			t.Fatalf("grant %d: Timeout = %v, want 20ms", i, got)
		}
		peerWrite(t, peer, "more") // fd readiness must not wake it
		if got := stepClock(t, l, clk, 19*time.Millisecond); len(got) != 0 {
			t.Fatalf("grant %d: woken early: %v", i, got)
		}
		if got := stepClock(t, l, clk, time.Millisecond); len(got) != 1 || got[0] != 1 {
			t.Fatalf("grant %d: got %v", i, got)
		}
		res, err := s.Receive(PatCount, 100, 1)
		if i < 5 {
			if err != ErrWait || s.Held() != 20*i || s.Buffered() != 0 { // its partial
				t.Fatalf("grant %d: %v, held %d, buffered %d", i, err, s.Held(), s.Buffered())
			}
			continue
		}
		if err != nil || len(res) != 100 || s.Buffered() != 0 {
			t.Fatalf("last grant: %d bytes %v, buffered %d", len(res), err, s.Buffered())
		}
	}
	// lifting the limit wakes a parked waiter; then everything is readable
	if _, err := s.Receive(PatCount, 920, 2); err != ErrWait {
		t.Fatal(err)
	}
	if err := s.Throttle(DirRead, 0); err != nil {
		t.Fatal(err)
	}
	if got := selectTokens(t, l, 0); len(got) != 1 || got[0] != 2 {
		t.Fatalf("lift: got %v", got)
	}
	if res, err := s.Receive(PatCount, 920, 2); err != nil || len(res) != 920 {
		t.Fatalf("unthrottled: %d %v", len(res), err)
	}
}

// TestThrottleSend sends at 1000 B/s with a 50 ms block timeout: two
// 20-byte grants fit before the deadline, which then ends the send with
// its progress. Token 0 without budget times out at once.
func TestThrottleSend(t *testing.T) {
	l, clk := newTestLoop(t)
	s, peer := socketPair(t, l)
	s.Throttle(DirWrite, 1000)
	s.SetTimeout(50*time.Millisecond, -1)
	data := bytes.Repeat([]byte("y"), 100)
	if n, err := s.Send(data, 1); n != 0 || err != ErrWait {
		t.Fatalf("first: %d %v", n, err)
	}
	for i := 1; i <= 2; i++ {
		if got := stepClock(t, l, clk, 20*time.Millisecond); len(got) != 1 {
			t.Fatalf("grant %d: %v", i, got)
		}
		if n, err := s.Send(data, 1); n != 20*i || err != ErrWait {
			t.Fatalf("grant %d: %d %v", i, n, err)
		}
	}
	if got := l.Timeout(); got != 10*time.Millisecond {
		t.Fatalf("deadline before the next grant: Timeout = %v", got)
	}
	if got := stepClock(t, l, clk, 10*time.Millisecond); len(got) != 1 {
		t.Fatalf("deadline: %v", got)
	}
	if n, err := s.Send(data, 1); n != 40 || err != ErrTimeout {
		t.Fatalf("deadline: %d %v", n, err)
	}
	buf := make([]byte, 200)
	if n := readFd(t, peer, buf); n != 40 {
		t.Fatalf("peer got %d bytes", n)
	}
	clk.t += 5 * time.Millisecond // 15 bytes of credit: less than a quantum
	if n, err := s.Send(data, 0); n != 0 || err != ErrTimeout {
		t.Fatalf("token 0: %d %v", n, err)
	}
	clk.t += 5 * time.Millisecond // 20 bytes: token 0 sends them, then times out
	if n, err := s.Send(data, 0); n != 20 || err != ErrTimeout {
		t.Fatalf("token 0 with a quantum: %d %v", n, err)
	}
}

// TestThrottleSendPeerGone: a send parked on its throttle timer (1 B/s: the
// next grant a second away) and the two queued behind it learn of the
// peer's close at the next Selects, not at a grant (no clock step): the
// hang-up wakes the head, one byte tries and fails, and so for each next.
func TestThrottleSendPeerGone(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer := socketPair(t, l)
	s.Throttle(DirWrite, 1)
	data := bytes.Repeat([]byte("z"), 10)
	for tok := Token(1); tok <= 3; tok++ {
		if n, err := s.Send(data, tok); n != 0 || err != ErrWait {
			t.Fatalf("send %d: %d %v", tok, n, err)
		}
	}
	if got := selectTokens(t, l, 0); len(got) != 0 {
		t.Fatalf("woken before the close: %v", got)
	}
	unix.Close(peer)
	if got := selectTokens(t, l, 0); len(got) != 1 || got[0] != 1 {
		t.Fatalf("after the peer's close: %v", got)
	}
	if n, err := s.Send(data, 1); n != 0 || err != ErrClosed {
		t.Fatalf("retry: %d %v", n, err)
	}
	ended := map[Token]bool{1: true}
	for round := 0; round < 5 && len(ended) < 3; round++ {
		for _, tok := range selectTokens(t, l, 0) {
			if n, err := s.Send(data, tok); err == ErrClosed && n == 0 {
				ended[tok] = true
			} else if err != ErrWait {
				t.Fatalf("send %d: %d %v", tok, n, err)
			}
		}
	}
	if len(ended) != 3 {
		t.Fatalf("ended with 'closed' without a clock step: %v", ended)
	}
}

// TestThrottleDatagram throttles UDP sends: a datagram goes whole when
// the bucket is out of debt, the next waits until the debt is paid.
func TestThrottleDatagram(t *testing.T) {
	l, clk := newTestLoop(t)
	a, ip, port := udpBound(t, l, 4)
	b, _, _ := udpBound(t, l, 4)
	b.Throttle(DirWrite, 1000)
	a.Throttle(DirRead, 1000)
	msg := bytes.Repeat([]byte("z"), 500)
	if n, err := b.SendTo(msg, ip, port, 1); n != 500 || err != nil {
		t.Fatalf("first datagram: %d %v", n, err)
	}
	if n, err := b.SendTo(msg, ip, port, 1); n != 0 || err != ErrWait {
		t.Fatalf("in debt: %d %v", n, err)
	}
	if got := l.Timeout(); got != 500*time.Millisecond {
		t.Fatalf("Timeout = %v, want the 500 ms debt", got)
	}
	if got := stepClock(t, l, clk, 500*time.Millisecond); len(got) != 1 {
		t.Fatalf("debt paid: %v", got)
	}
	if n, err := b.SendTo(msg, ip, port, 1); n != 500 || err != nil {
		t.Fatalf("second datagram: %d %v", n, err)
	}
	// the receiver: the first datagram at once, the second after 500 ms
	if res, err := a.Receive(PatCount, 8192, 2); err != nil || len(res) != 500 {
		t.Fatalf("receive: %d %v", len(res), err)
	}
	if _, err := a.Receive(PatCount, 8192, 2); err != ErrWait {
		t.Fatalf("receive in debt: %v", err)
	}
	if got := stepClock(t, l, clk, 500*time.Millisecond); len(got) != 1 {
		t.Fatalf("receive debt paid: %v", got)
	}
	if res, err := a.Receive(PatCount, 8192, 2); err != nil || len(res) != 500 {
		t.Fatalf("second receive: %d %v", len(res), err)
	}
	if err := a.Throttle(3, 1); err != ErrInvalid {
		t.Fatalf("bad direction: %v", err)
	}
	a.Close()
	if err := a.Throttle(DirRead, 1); err != ErrClosed {
		t.Fatalf("closed: %v", err)
	}
}

// TestUnthrottledNoAllocs checks that the throttle hooks cost no
// allocation on an unthrottled stream receive and send.
func TestUnthrottledNoAllocs(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer := socketPair(t, l)
	msg := []byte("hello\n")
	buf := make([]byte, 64)
	var out [4]Token
	allocs := testing.AllocsPerRun(200, func() {
		if n, err := s.Send(msg, 1); n != len(msg) || err != nil {
			t.Fatal(n, err)
		}
		unix.Read(peer, buf)
		unix.Write(peer, msg)
		_, err := s.Receive(PatLine, 0, 2)
		if err == ErrWait { // the last read was short: parked until Select
			if n, _ := l.Select(time.Second, out[:]); n != 1 || out[0] != 2 {
				t.Fatal("not delivered", n)
			}
			_, err = s.Receive(PatLine, 0, 2)
		}
		if err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per send+receive", allocs)
	}
}
