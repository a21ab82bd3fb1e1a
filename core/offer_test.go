package core

import (
	"bytes"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakePick is a Pickup in Go: offers by token, taken by hand (take), the
// way capi's C table is taken by asok_receive.
type fakePick struct {
	t      testing.TB
	offers map[Token]*fakeOffer
	refuse bool
	made   int
}

type fakeOffer struct {
	s     *Socket
	p     Pattern
	n     int
	res   []byte
	taken bool
}

func newFakePick(t testing.TB, l *Loop) *fakePick {
	pk := &fakePick{t: t, offers: map[Token]*fakeOffer{}}
	l.SetPickup(pk)
	return pk
}

func (f *fakePick) Offer(s *Socket, tok Token, p Pattern, n int, res []byte) bool {
	if f.refuse {
		return false
	}
	if f.offers[tok] != nil {
		f.t.Errorf("token %d offered twice", tok)
	}
	f.offers[tok] = &fakeOffer{s: s, p: p, n: n, res: res}
	f.made++
	return true
}

func (f *fakePick) Withdraw(tok Token) bool {
	o := f.offers[tok]
	if o == nil {
		f.t.Fatalf("token %d withdrawn without an offer", tok)
	}
	delete(f.offers, tok)
	return o.taken
}

// take is the retry answered without core: the result if tok has an
// untaken offer on s for pattern p, n (read now, as C reads it then).
func (f *fakePick) take(s *Socket, tok Token, p Pattern, n int) (string, bool) {
	o := f.offers[tok]
	if o == nil || o.taken || o.s != s || o.p != p || (p == PatCount && o.n != n) {
		return "", false
	}
	o.taken = true
	return string(o.res), true
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
	if len(pk.offers) != 0 {
		t.Fatalf("offers left: %v", pk.offers)
	}
	got, err := s.Receive(PatLine, 0, 5) // the token again, a new receive
	if err != nil || string(got) != "world" {
		t.Fatalf("next line: %q %v", got, err)
	}
}

func TestOfferNotTaken(t *testing.T) {
	l, pk, s, _ := offered(t, PatLine, 0, 7, "abc\n")
	if pk.offers[7] == nil {
		t.Fatal("no offer")
	}
	selectTokens(t, l, 0) // the next Select settles: the line goes back
	if len(pk.offers) != 0 || s.Buffered() != 4 {
		t.Fatalf("after Select: offers %d, buffered %d", len(pk.offers), s.Buffered())
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
	if o := pk.offers[9]; o == nil || string(o.res) != "abc" {
		t.Fatalf("offer %+v", o)
	}
	got, err := s.Receive(PatCount, 3, 9) // not taken: core answers
	if err != nil || string(got) != "abc" {
		t.Fatalf("retry: %q %v", got, err)
	}
	if len(pk.offers) != 0 {
		t.Fatal("offer not withdrawn")
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
		offered := pk.offers[3] != nil
		if offered != (tc.in == "\r\n") {
			t.Errorf("%q: offered %v", tc.in, offered)
		}
		if offered {
			if res, _ := pk.take(s, 3, PatLine, 0); res != tc.want {
				t.Errorf("%q: took %q", tc.in, res)
			}
			continue
		}
		got, err := s.Receive(PatLine, 0, 3)
		if err != nil || string(got) != tc.want {
			t.Errorf("%q: %q %v, want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestOfferPartialLineBuffered(t *testing.T) {
	l, pk, s, peer := offered(t, PatLine, 0, 4, "par")
	if len(pk.offers) != 0 || s.Buffered() != 3 {
		t.Fatalf("offers %d, buffered %d", len(pk.offers), s.Buffered())
	}
	parkReceive(t, s, PatLine, 0, 4)
	peerWrite(t, peer, "tial\n")
	waitFor(t, l, 4) // the buffer is not empty: no offer, core completes it
	if len(pk.offers) != 0 {
		t.Fatal("offered over buffered data")
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
	// 2 calls before 1 took its line: the offer is withdrawn, 1 stays the
	// head, and its retry (through core) gets its line
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
	if pk.offers[3] == nil {
		t.Fatal("no offer")
	}
	s.Close()
	if len(pk.offers) != 0 {
		t.Fatal("offer outlives its socket")
	}
	if res, err := s.Receive(PatLine, 0, 3); err != ErrClosed {
		t.Fatalf("after close: %q %v", res, err)
	}
}

func TestOfferLoopClose(t *testing.T) {
	l, pk, _, _ := offered(t, PatLine, 0, 3, "bye\n")
	l.Close()
	if len(pk.offers) != 0 {
		t.Fatal("offer outlives its loop")
	}
}

func TestOfferReadSeesEOF(t *testing.T) {
	l, _ := newTestLoop(t)
	newFakePick(t, l)
	s, peer := socketPair(t, l)
	parkReceive(t, s, PatLine, 0, 3)
	unix.Shutdown(peer, unix.SHUT_WR)
	waitFor(t, l, 3)
	if res, err := s.Receive(PatLine, 0, 3); err != ErrClosed || len(res) != 0 {
		t.Fatalf("%q %v, want closed", res, err)
	}
}

func TestOfferReadSeesReset(t *testing.T) {
	l, _ := newTestLoop(t)
	newFakePick(t, l)
	c, sv := tcpPair(t, l)
	parkReceive(t, sv, PatLine, 0, 3)
	if err := unix.SetsockoptLinger(c.Fd(), unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1}); err != nil {
		t.Fatal(err)
	}
	c.Close() // RST
	waitFor(t, l, 3)
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
	if len(pk.offers) != 0 {
		t.Fatal("offered with a limit")
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
		t.Fatalf("'*a': %q %v (offers made %d)", got, err, pk.made)
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
	if pk.offers[3] == nil {
		t.Fatal("no offer")
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
	const socks, rounds = 6, 400
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
	}
	rs := make([]*reader, socks)
	byTok := map[Token]*reader{}
	for i := range rs {
		s, peer := socketPair(t, l)
		rs[i] = &reader{s: s, peer: peer}
	}
	nextTok := Token(1)
	var due []*reader // delivered, their retry still to come
	check := func(r *reader, got []byte, err error) {
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
				if rng.Intn(2) == 0 { // tokens recycled, as the binding does
					r.tok = Token(1 + rng.Intn(socks*2))
					if byTok[r.tok] != nil {
						r.tok = 1000 + nextTok
					}
				} else {
					r.tok = 1000 + nextTok
				}
				nextTok++
				got, err := r.s.Receive(r.p, r.n, r.tok)
				if err == ErrWait {
					r.parked = true
					byTok[r.tok] = r
					break
				}
				check(r, got, err)
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
			if rng.Intn(4) == 0 { // a piece: the rest comes later
				b = b[:rng.Intn(len(b)+1)]
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
			if res, ok := pk.take(r.s, tok, r.p, r.n); ok && rng.Intn(4) != 0 {
				check(r, []byte(res), nil)
				continue
			} else if ok {
				pk.offers[tok].taken = false // a retry that missed the table
			}
			got, err := r.s.Receive(r.p, r.n, tok)
			if err == ErrWait {
				continue
			}
			check(r, got, err)
		}
		due = later
	}
	total := 0
	for _, r := range rs {
		total += r.results
	}
	if pk.made < rounds/4 || total < rounds {
		t.Fatalf("only %d offers, %d results: the test does not exercise offers", pk.made, total)
	}
	t.Logf("%d results, %d offers", total, pk.made)
}

// onePick is a Pickup of one offer that does not allocate (benchmarks).
type onePick struct {
	tok   Token
	res   []byte
	taken bool
}

func (o *onePick) Offer(_ *Socket, tok Token, _ Pattern, _ int, res []byte) bool {
	o.tok, o.res, o.taken = tok, res, false
	return true
}

func (o *onePick) Withdraw(Token) bool { return o.taken }

// BenchmarkOfferedReceive is a receive that waits and is answered by the
// pickup: the park, the peer's line, Select's read and offer, the take.
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
		if n, _ := l.Select(time.Second, out); n != 1 {
			b.Fatal("no token")
		}
		if pk.tok != 1 || len(pk.res) != len(line)-1 || pk.taken {
			b.Fatal(fmt.Sprint("no offer ", i))
		}
		pk.taken = true
	}
}
