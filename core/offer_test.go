package core

import (
	"bytes"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakePick is a Pickup in Go: armed retries by token, and take, which
// does what asok_receive's C half does (capi/pickup.c): one read of the
// socket into the pickup's memory, the result if the read holds it whole.
type fakePick struct {
	t      testing.TB
	l      *Loop
	arms   map[Token]*fakeArm
	refuse bool
	made   int
	buf    []byte
	off    int
}

type fakeArm struct {
	s     *Socket
	fd    int
	p     Pattern
	n     int
	f     Follow
	read  Read
	tried bool
}

func newFakePick(t testing.TB, l *Loop) *fakePick {
	pk := &fakePick{t: t, l: l, arms: map[Token]*fakeArm{}, buf: make([]byte, 128<<10)}
	l.SetPickup(pk)
	return pk
}

func (f *fakePick) Arm(s *Socket, tok Token, fd int, p Pattern, n int, fl Follow) bool {
	if f.refuse {
		return false
	}
	if f.arms[tok] != nil {
		f.t.Errorf("token %d armed twice", tok)
	}
	f.arms[tok] = &fakeArm{s: s, fd: fd, p: p, n: n, f: fl}
	f.made++
	return true
}

func (f *fakePick) Disarm(tok Token) Read {
	a := f.arms[tok]
	if a == nil {
		f.t.Fatalf("token %d disarmed, not armed", tok)
	}
	delete(f.arms, tok)
	return a.read
}

func (f *fakePick) NoSend(tok Token) {
	if a := f.arms[tok]; a != nil {
		a.f &^= FollowSend
	}
}

func (f *fakePick) Reset() { f.off = 0 }

// take is the retry of tok on s (pattern p, count n) answered without
// core: the result, true if its read held it whole.
func (f *fakePick) take(s *Socket, tok Token, p Pattern, n int) (string, bool) {
	a := f.arms[tok]
	if a == nil || a.tried || a.s != s || a.p != p || (p == PatCount && a.n != n) {
		return "", false
	}
	room := len(f.buf) - f.off
	if room < 4<<10 {
		return "", false
	}
	a.tried = true
	size := min(room, 64<<10)
	buf := f.buf[f.off : f.off+size]
	k, err := unix.Read(a.fd, buf)
	for err == unix.EINTR {
		k, err = unix.Read(a.fd, buf)
	}
	a.read = Read{Done: true, Size: size}
	if err != nil {
		a.read.Errno = err.(unix.Errno)
		return "", false
	}
	a.read.Data = buf[:k]
	end, skip, ok, _ := matchEnd(p, n, buf[:k], 0)
	if !ok || k == 0 {
		return "", false
	}
	res := buf[:end]
	if p == PatLine {
		switch i := bytes.IndexByte(res, '\r'); {
		case i < 0:
		case i == len(res)-1:
			res = res[:i]
		default:
			return "", false // a CR inside: C leaves it to core
		}
	}
	a.read.Taken, a.read.Used = true, end+skip
	if end+skip < k {
		f.off += k // the rest stays until core settles it
	}
	return string(res), true
}

// park is a receive of tok on s (pattern p, count n) after a taken retry,
// answered as asok_receive's C half does (capi/pickup.c): "wait" when the
// taken read drained the socket and left nothing (FollowPark).
func (f *fakePick) park(s *Socket, tok Token, p Pattern, n int) bool {
	a := f.arms[tok]
	if a == nil || a.s != s || !a.read.Taken || a.read.Parked || a.f&FollowPark == 0 ||
		a.read.Errno != 0 || len(a.read.Data) >= a.read.Size || a.read.Used != len(a.read.Data) ||
		!(p == PatLine || (p == PatCount && n > 0)) {
		return false
	}
	a.read.Parked, a.read.Park, a.read.Cnt, a.read.ParkAt = true, p, n, -1
	if a.f&FollowClock != 0 {
		a.read.ParkAt = f.l.Now()
	}
	return true
}

// send is a send of data with tok on s after a taken retry, made as
// asok_send's C half does (FollowSend): done if the kernel took it all,
// else what core's SendAfter gets (pre -1: no syscall made).
func (f *fakePick) send(s *Socket, tok Token, data []byte) (done bool, pre int, errno unix.Errno) {
	a := f.arms[tok]
	if a == nil || a.s != s || !a.read.Taken || a.read.Parked || a.f&FollowSend == 0 || len(data) == 0 {
		return false, -1, 0
	}
	k, err := unix.SendmsgN(a.fd, data, nil, nil, unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT)
	for err == unix.EINTR {
		k, err = unix.SendmsgN(a.fd, data, nil, nil, unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT)
	}
	if err == nil && k == len(data) {
		return true, 0, 0
	}
	a.f &^= FollowSend
	if err != nil {
		return false, -1, err.(unix.Errno)
	}
	return false, k, 0
}

// parkReceive starts a receive of p, n under tok and wants it parked.
func parkReceive(t *testing.T, s *Socket, p Pattern, n int, tok Token) {
	t.Helper()
	if res, err := s.Receive(p, n, tok); err != ErrWait {
		t.Fatalf("receive: %q %v, want ErrWait", res, err)
	}
}

// offered makes a loop with a fake pickup and a socket pair, parks a
// receive of p, n under tok, has the peer write data, and waits until
// Select hands tok out.
func offered(t *testing.T, p Pattern, n int, tok Token, data string) (*Loop, *fakePick, *Socket, int) {
	t.Helper()
	l, _ := newTestLoop(t)
	pk := newFakePick(t, l)
	s, peer := socketPair(t, l)
	parkReceive(t, s, p, n, tok)
	peerWrite(t, peer, data)
	waitFor(t, l, tok)
	return l, pk, s, peer
}

func TestOfferLineTaken(t *testing.T) {
	_, pk, s, _ := offered(t, PatLine, 0, 5, "hello\r\nworld\n")
	res, ok := pk.take(s, 5, PatLine, 0)
	if !ok || res != "hello" {
		t.Fatalf("take: %q %v, want hello", res, ok)
	}
	if got := s.Received(); got != 7 { // settles: "hello\r\n" consumed
		t.Fatalf("Received %d, want 7", got)
	}
	if got := s.Buffered(); got != 6 {
		t.Fatalf("Buffered %d, want 6", got)
	}
	if len(pk.arms) != 0 {
		t.Fatalf("armed retries left: %v", pk.arms)
	}
	got, err := s.Receive(PatLine, 0, 5) // the token again, a new receive
	if err != nil || string(got) != "world" {
		t.Fatalf("next line: %q %v", got, err)
	}
}

func TestOfferNotTaken(t *testing.T) {
	l, pk, s, _ := offered(t, PatLine, 0, 7, "abc\n")
	if pk.arms[7] == nil {
		t.Fatal("not armed")
	}
	selectTokens(t, l, 0) // the next Select settles: nothing was read
	if len(pk.arms) != 0 || s.Buffered() != 0 || s.Received() != 0 {
		t.Fatalf("after Select: armed %d, buffered %d", len(pk.arms), s.Buffered())
	}
	got, err := s.Receive(PatLine, 0, 7)
	if err != nil || string(got) != "abc" {
		t.Fatalf("retry: %q %v", got, err)
	}
	if s.Received() != 4 {
		t.Fatalf("Received %d", s.Received())
	}
}

func TestOfferRetryThroughCore(t *testing.T) {
	_, pk, s, _ := offered(t, PatCount, 3, 9, "abcdefg")
	if a := pk.arms[9]; a == nil || a.p != PatCount || a.n != 3 || a.fd != s.Fd() {
		t.Fatalf("armed %+v", a)
	}
	got, err := s.Receive(PatCount, 3, 9) // the retry missed the table: core answers
	if err != nil || string(got) != "abc" {
		t.Fatalf("retry: %q %v", got, err)
	}
	if len(pk.arms) != 0 {
		t.Fatal("not disarmed")
	}
	got, err = s.Receive(PatCount, 4, 9)
	if err != nil || string(got) != "defg" {
		t.Fatalf("rest: %q %v", got, err)
	}
}

func TestOfferCountTaken(t *testing.T) {
	_, pk, s, _ := offered(t, PatCount, 3, 11, "abcdef")
	if res, ok := pk.take(s, 11, PatCount, 4); ok {
		t.Fatalf("taken with another count: %q", res)
	}
	if res, ok := pk.take(s, 11, PatCount, 3); !ok || res != "abc" {
		t.Fatalf("take: %q %v", res, ok)
	}
	got, err := s.Receive(PatCount, 3, 11)
	if err != nil || string(got) != "def" {
		t.Fatalf("rest: %q %v", got, err)
	}
}

func TestOfferOnlyContiguousLines(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a\rb\n", "ab"}, {"x\r\r\n", "x"}, {"\r\n", ""},
	} {
		_, pk, s, _ := offered(t, PatLine, 0, 3, tc.in)
		res, taken := pk.take(s, 3, PatLine, 0)
		if taken != (tc.in == "\r\n") {
			t.Errorf("%q: taken %v", tc.in, taken)
		}
		if taken {
			if res != tc.want {
				t.Errorf("%q: took %q", tc.in, res)
			}
			continue
		}
		got, err := s.Receive(PatLine, 0, 3) // what the C half does next
		if err != nil || string(got) != tc.want {
			t.Errorf("%q: %q %v, want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestOfferPartialLineBuffered(t *testing.T) {
	l, pk, s, peer := offered(t, PatLine, 0, 4, "par")
	if res, ok := pk.take(s, 4, PatLine, 0); ok {
		t.Fatalf("took %q", res)
	}
	parkReceive(t, s, PatLine, 0, 4) // the C half goes on in core: parks again
	// the parked receive's partial: held, not a new receive's
	if s.Held() != 3 || s.Buffered() != 0 || s.Received() != 0 {
		t.Fatalf("held %d, buffered %d, received %d", s.Held(), s.Buffered(), s.Received())
	}
	peerWrite(t, peer, "tial\n")
	waitFor(t, l, 4) // the buffer is not empty: not armed, core completes it
	if len(pk.arms) != 0 || pk.made != 1 {
		t.Fatal("armed over buffered data")
	}
	got, err := s.Receive(PatLine, 0, 4)
	if err != nil || string(got) != "partial" {
		t.Fatalf("%q %v", got, err)
	}
}

func TestOfferTokenReusedAfterTake(t *testing.T) {
	l, _ := newTestLoop(t)
	pk := newFakePick(t, l)
	s, peer := socketPair(t, l)
	s2, _ := socketPair(t, l)
	parkReceive(t, s, PatLine, 0, 6)
	peerWrite(t, peer, "x\n")
	waitFor(t, l, 6)
	if _, ok := pk.take(s, 6, PatLine, 0); !ok {
		t.Fatal("no offer")
	}
	// the binding recycles the token at once: core must not see it busy
	if k, err := s2.Send([]byte("ping"), 6); err != nil || k != 4 {
		t.Fatalf("send with the token: %d %v", k, err)
	}
	parkReceive(t, s, PatLine, 0, 8)
	peerWrite(t, peer, "y\n")
	waitFor(t, l, 8)
	if _, ok := pk.take(s, 8, PatLine, 0); !ok {
		t.Fatal("no second offer")
	}
	if err := l.Sleep(0, 8); err != nil {
		t.Fatalf("sleep with the token: %v", err)
	}
	l.Cancel(8)
	if s.Received() != 4 {
		t.Fatalf("Received %d", s.Received())
	}
}

func TestOfferQueueOrder(t *testing.T) {
	l, _ := newTestLoop(t)
	pk := newFakePick(t, l)
	s, peer := socketPair(t, l)
	parkReceive(t, s, PatLine, 0, 1)
	parkReceive(t, s, PatLine, 0, 2) // behind 1
	peerWrite(t, peer, "one\ntwo\n")
	waitFor(t, l, 1)
	if res, ok := pk.take(s, 1, PatLine, 0); !ok || res != "one" {
		t.Fatalf("take: %q %v", res, ok)
	}
	waitFor(t, l, 2) // the settle makes 2 the head and delivers it
	got, err := s.Receive(PatLine, 0, 2)
	if err != nil || string(got) != "two" {
		t.Fatalf("second: %q %v", got, err)
	}
}

func TestOfferQueueOrderOtherFirst(t *testing.T) {
	l, _ := newTestLoop(t)
	pk := newFakePick(t, l)
	s, peer := socketPair(t, l)
	parkReceive(t, s, PatLine, 0, 1)
	parkReceive(t, s, PatLine, 0, 2) // behind 1
	peerWrite(t, peer, "one\ntwo\n")
	waitFor(t, l, 1)
	// 2 calls before 1's retry: the offer is settled (nothing read), 1
	// stays the head, and its retry (through core) gets its line
	if res, err := s.Receive(PatLine, 0, 2); err != ErrWait {
		t.Fatalf("second receiver: %q %v, want ErrWait", res, err)
	}
	if res, ok := pk.take(s, 1, PatLine, 0); ok {
		t.Fatalf("taken after the withdrawal: %q", res)
	}
	for _, c := range []struct {
		tok  Token
		want string
	}{{1, "one"}, {2, "two"}} {
		if c.tok == 2 {
			waitFor(t, l, 2)
		}
		got, err := s.Receive(PatLine, 0, c.tok)
		if err != nil || string(got) != c.want {
			t.Fatalf("token %d: %q %v, want %q", c.tok, got, err, c.want)
		}
	}
}

func TestOfferTakenThenOtherReceiver(t *testing.T) {
	_, pk, s, _ := offered(t, PatLine, 0, 1, "one\ntwo\n")
	if res, ok := pk.take(s, 1, PatLine, 0); !ok || res != "one" {
		t.Fatalf("take: %q %v", res, ok)
	}
	got, err := s.Receive(PatLine, 0, 2) // a new receiver, before any Select
	if err != nil || string(got) != "two" {
		t.Fatalf("other receiver: %q %v", got, err)
	}
}

func TestOfferClose(t *testing.T) {
	_, pk, s, _ := offered(t, PatLine, 0, 3, "bye\n")
	if pk.arms[3] == nil {
		t.Fatal("not armed")
	}
	s.Close()
	if len(pk.arms) != 0 {
		t.Fatal("armed retry outlives its socket")
	}
	if res, err := s.Receive(PatLine, 0, 3); err != ErrClosed {
		t.Fatalf("after close: %q %v", res, err)
	}
}

func TestOfferLoopClose(t *testing.T) {
	l, pk, _, _ := offered(t, PatLine, 0, 3, "bye\n")
	l.Close()
	if len(pk.arms) != 0 {
		t.Fatal("armed retry outlives its loop")
	}
}

func TestOfferTakenThenClose(t *testing.T) {
	_, pk, s, _ := offered(t, PatLine, 0, 3, "one\ntwo\n")
	if res, ok := pk.take(s, 3, PatLine, 0); !ok || res != "one" {
		t.Fatalf("take: %q %v", res, ok)
	}
	s.Close() // "two\n" read but not received: dropped, not counted
	if s.Received() != 4 {
		t.Fatalf("Received %d, want 4", s.Received())
	}
}

func TestOfferReadSeesEOF(t *testing.T) {
	l, _ := newTestLoop(t)
	pk := newFakePick(t, l)
	s, peer := socketPair(t, l)
	parkReceive(t, s, PatLine, 0, 3)
	unix.Shutdown(peer, unix.SHUT_WR)
	waitFor(t, l, 3)
	if res, ok := pk.take(s, 3, PatLine, 0); ok {
		t.Fatalf("took %q at EOF", res)
	}
	if res, err := s.Receive(PatLine, 0, 3); err != ErrClosed || len(res) != 0 {
		t.Fatalf("%q %v, want closed", res, err)
	}
}

func TestOfferReadSeesReset(t *testing.T) {
	l, _ := newTestLoop(t)
	pk := newFakePick(t, l)
	c, sv := tcpPair(t, l)
	parkReceive(t, sv, PatLine, 0, 3)
	if err := unix.SetsockoptLinger(c.Fd(), unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1}); err != nil {
		t.Fatal(err)
	}
	c.Close() // RST
	waitFor(t, l, 3)
	if res, ok := pk.take(sv, 3, PatLine, 0); ok {
		t.Fatalf("took %q after a reset", res)
	}
	if res, err := sv.Receive(PatLine, 0, 3); !isErrno(err, unix.ECONNRESET) || len(res) != 0 {
		t.Fatalf("%q %v, want ECONNRESET", res, err)
	}
}

func TestOfferRefusedOrSkipped(t *testing.T) {
	l, _ := newTestLoop(t)
	pk := newFakePick(t, l)
	pk.refuse = true
	s, peer := socketPair(t, l)
	parkReceive(t, s, PatLine, 0, 3)
	peerWrite(t, peer, "no\n")
	waitFor(t, l, 3)
	if got, err := s.Receive(PatLine, 0, 3); err != nil || string(got) != "no" {
		t.Fatalf("refused offer: %q %v", got, err)
	}
	pk.refuse = false
	s.SetLimit(100) // a limit: no offer
	parkReceive(t, s, PatLine, 0, 3)
	peerWrite(t, peer, "lim\n")
	waitFor(t, l, 3)
	if len(pk.arms) != 0 {
		t.Fatal("armed with a limit")
	}
	if got, err := s.Receive(PatLine, 0, 3); err != nil || string(got) != "lim" {
		t.Fatalf("limit: %q %v", got, err)
	}
	s.SetLimit(0)
	parkReceive(t, s, PatAll, 0, 3) // '*a' completes at EOF only: no offer
	peerWrite(t, peer, "all")
	unix.Shutdown(peer, unix.SHUT_WR)
	got, err := drivenReceive(t, l, pk, s, PatAll, 0, 3)
	if err != nil || got != "all" || pk.made != 0 {
		t.Fatalf("'*a': %q %v (armed %d)", got, err, pk.made)
	}
}

func TestOfferNotForWaitOnTheSameToken(t *testing.T) {
	l, _ := newTestLoop(t)
	pk := newFakePick(t, l)
	s, peer := socketPair(t, l)
	parkReceive(t, s, PatLine, 0, 3)
	if err := s.Wait(DirRead, 3); err != ErrWait { // the same token, now a Wait
		t.Fatalf("wait: %v", err)
	}
	peerWrite(t, peer, "x\n")
	waitFor(t, l, 3)
	if pk.made != 0 {
		t.Fatal("a Wait got a receive's offer")
	}
	if err := s.Wait(DirRead, 3); err != nil {
		t.Fatalf("wait retry: %v (the data was read away?)", err)
	}
}

func TestOfferUnread(t *testing.T) {
	_, pk, s, _ := offered(t, PatLine, 0, 3, "b\n")
	if pk.arms[3] == nil {
		t.Fatal("not armed")
	}
	if err := s.Unread([]byte("a\n")); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"a", "b"} {
		if got, err := s.Receive(PatLine, 0, 3); err != nil || string(got) != want {
			t.Fatalf("%q %v, want %q", got, err, want)
		}
	}
}

// drivenReceive is the binding's retry loop: the receive, and while it
// waits, Select and the pickup or core for the retry.
func drivenReceive(t *testing.T, l *Loop, pk *fakePick, s *Socket, p Pattern, n int, tok Token) (string, error) {
	t.Helper()
	res, err := s.Receive(p, n, tok)
	for err == ErrWait {
		waitFor(t, l, tok)
		if r, ok := pk.take(s, tok, p, n); ok {
			return r, nil
		}
		res, err = s.Receive(p, n, tok)
	}
	return string(res), err
}

// model is what a reader of one socket must get: LuaSocket's patterns
// applied to everything the peer wrote.
type model struct {
	sent     []byte
	consumed int
}

// next returns what pattern p, n yields now, if the sent bytes hold it.
func (m *model) next(p Pattern, n int) (string, bool) {
	rest := m.sent[m.consumed:]
	if p == PatCount {
		if len(rest) < n {
			return "", false
		}
		m.consumed += n
		return string(rest[:n]), true
	}
	i := bytes.IndexByte(rest, '\n')
	if i < 0 {
		return "", false
	}
	m.consumed += i + 1
	return string(bytes.ReplaceAll(rest[:i], []byte("\r"), nil)), true
}

// TestOfferRandomOrders runs several sockets whose retries come in random
// orders and ways (taken from the pickup, through core, after another
// Select, after Buffered/Received/Unread-free calls), against the model.
func TestOfferRandomOrders(t *testing.T) {
	const socks, rounds = 6, 1000
	rng := rand.New(rand.NewSource(5))
	l, _ := newTestLoop(t)
	pk := newFakePick(t, l)
	type reader struct {
		s       *Socket
		peer    int
		m       model
		tok     Token
		p       Pattern
		n       int
		parked  bool
		results int
		took    bool // its last result was taken from the pickup
	}
	rs := make([]*reader, socks)
	byTok := map[Token]*reader{}
	for i := range rs {
		s, peer := socketPair(t, l)
		rs[i] = &reader{s: s, peer: peer}
	}
	nextTok := Token(1)
	var due []*reader // delivered, their retry still to come
	taken, parks := 0, 0
	check := func(r *reader, got []byte, err error, tookIt bool) {
		t.Helper()
		if err != nil {
			t.Fatalf("receive: %q %v", got, err)
		}
		want, ok := r.m.next(r.p, r.n)
		if !ok || want != string(got) {
			t.Fatalf("got %q, want %q (%v)", got, want, ok)
		}
		r.parked = false
		r.results++
		delete(byTok, r.tok)
		if tookIt && rng.Intn(2) == 0 {
			return // Received would settle: leave the offer to what follows a take
		}
		if r.s.Received() != uint64(r.m.consumed) {
			t.Fatalf("Received %d, want %d", r.s.Received(), r.m.consumed)
		}
	}
	for round := 0; round < rounds; round++ {
		for _, r := range rs { // each reader receives until it waits
			for !r.parked {
				r.p, r.n = PatLine, 0
				if rng.Intn(3) == 0 {
					r.p, r.n = PatCount, 1+rng.Intn(20)
				}
				switch {
				case r.took && byTok[r.tok] == nil && rng.Intn(4) != 0: // the taken one's token again, as the binding does
				case rng.Intn(2) == 0: // tokens recycled
					r.tok = Token(1 + rng.Intn(socks*2))
					if byTok[r.tok] != nil {
						r.tok = 1000 + nextTok
					}
				default:
					r.tok = 1000 + nextTok
				}
				nextTok++
				r.took = false
				if pk.park(r.s, r.tok, r.p, r.n) { // asok_receive's C half first, as in capi
					parks++
					r.parked = true
					byTok[r.tok] = r
					break
				}
				got, err := r.s.Receive(r.p, r.n, r.tok)
				if err == ErrWait {
					r.parked = true
					byTok[r.tok] = r
					break
				}
				check(r, got, err, false)
			}
		}
		for _, r := range rs { // the peers write a few lines and pieces
			if rng.Intn(2) == 0 {
				continue
			}
			var b []byte
			for k := rng.Intn(4); k >= 0; k-- {
				line := bytes.Repeat([]byte{byte('a' + rng.Intn(26))}, rng.Intn(12))
				switch rng.Intn(4) {
				case 0:
					line = append(line, '\r', '\n')
				case 1:
					line = append(line, '\r', 'x', '\n')
				default:
					line = append(line, '\n')
				}
				b = append(b, line...)
			}
			switch rng.Intn(4) {
			case 0: // a piece: the rest comes later
				b = b[:rng.Intn(len(b)+1)]
			case 1: // one line, as in request-reply (the take drains the socket)
				b = b[:bytes.IndexByte(b, '\n')+1]
			}
			r.m.sent = append(r.m.sent, b...)
			peerWrite(t, r.peer, string(b))
		}
		out := make([]Token, 64)
		n, err := l.Select(10*time.Millisecond, out)
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range out[:n] {
			r := byTok[tok]
			if r == nil {
				t.Fatalf("token %d delivered, nobody parked", tok)
			}
			due = append(due, r)
		}
		rng.Shuffle(len(due), func(i, j int) { due[i], due[j] = due[j], due[i] })
		later := due[:0:0]
		for _, r := range due {
			switch rng.Intn(4) {
			case 0: // resumed later: after the next Select
				later = append(later, r)
				continue
			case 1: // something else looks at the socket first
				if r.s.Buffered() < 0 {
					t.Fatal("Buffered")
				}
			}
			tok := r.tok
			if rng.Intn(4) != 0 { // else a retry that missed the table
				if res, ok := pk.take(r.s, tok, r.p, r.n); ok {
					taken++
					check(r, []byte(res), nil, true)
					r.took = true
					continue
				}
			}
			got, err := r.s.Receive(r.p, r.n, tok)
			if err == ErrWait {
				continue
			}
			check(r, got, err, false)
		}
		due = later
	}
	total := 0
	for _, r := range rs {
		total += r.results
	}
	if pk.made < rounds/4 || total < rounds || taken < rounds/8 || parks < rounds/50 {
		t.Fatalf("only %d armed, %d taken, %d parked after a take, %d results: the test does not exercise offers",
			pk.made, taken, parks, total)
	}
	t.Logf("%d results, %d armed, %d taken, %d parked after a take", total, pk.made, taken, parks)
}

// onePick is a Pickup of one armed retry that does not allocate
// (benchmarks); the benchmark does the retry's read itself.
type onePick struct {
	tok  Token
	fd   int
	read Read
	buf  [4096]byte
}

func (o *onePick) Arm(_ *Socket, tok Token, fd int, _ Pattern, _ int, _ Follow) bool {
	o.tok, o.fd, o.read = tok, fd, Read{}
	return true
}

func (o *onePick) Disarm(Token) Read { return o.read }

func (o *onePick) NoSend(Token) {}

func (o *onePick) Reset() {}

// BenchmarkOfferedReceive is a receive that waits and is answered by its
// armed retry: the park, the peer's line, Select (arming), the retry's
// read, and core settling it at the next receive.
func BenchmarkOfferedReceive(b *testing.B) {
	l, _ := newTestLoop(b)
	pk := &onePick{}
	l.SetPickup(pk)
	s, peer := socketPair(b, l)
	line := []byte("0123456789012345678901234567890123456789012345678901234567890\n")
	out := make([]Token, 8)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := s.Receive(PatLine, 0, 1); err != ErrWait {
			b.Fatal(err)
		}
		unix.Write(peer, line)
		if n, _ := l.Select(time.Second, out); n != 1 || pk.tok != 1 {
			b.Fatal(fmt.Sprint("not armed ", i))
		}
		k, err := unix.Read(pk.fd, pk.buf[:])
		if err != nil || k != len(line) {
			b.Fatal("read", k, err)
		}
		pk.read = Read{Done: true, Data: pk.buf[:k], Size: len(pk.buf), Taken: true, Used: k}
	}
}
