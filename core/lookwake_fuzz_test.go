package core

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// FuzzLookWake drives read looks next to receives that wait with partial
// results (a line, a count, "*a"), on sockets that get data, Unread
// bytes, limits, throttles, cancels, closes, the peer's end, a receive's
// token moved to Wait or Accept (or, once its socket closed, to a receive
// on another socket or a Sleep), and (with a pickup) armed retries, and
// checks after every step what P1 (a waiting receive's partial is its
// own: unclaimed, look.go) must keep (checkWakes):
//   - no lost wake-up: a read look not delivered while its socket is
//     readable (a new receive would get bytes or an end without reading
//     the fd), or while its fd has bytes no pending epoll edge announces;
//     the same for a receive at the head of the read queue (neither
//     throttled nor held by its throttle) whose result is buffered whole;
//   - no spin: a look whose retry parks again is not delivered again, in
//     the next Selects, unless something else than a Select happened;
//   - every receive result is the next bytes of its stream (peer writes,
//     Unread bytes in front), and, once the peers end their streams and
//     the clock runs, every token comes back (nobody waits for ever);
//   - a waiting receive may be retried with another pattern or count
//     (the same call, item 47), and a closed socket's results are checked
//     against the model of its close's shares (sharemodel_test.go: one
//     run of the stream each, no byte twice, stream order, every byte);
//     every share is found by its token, a token has at most one and is
//     parked nowhere, and none is left at the end (checkShares: a token
//     taken up by another operation gave its share back, item 55).
//
// The model plays each token's owner: a delivered token retries its call.
func FuzzLookWake(f *testing.F) {
	// a line receive waits with "ab", a look on it, the rest, Select
	f.Add([]byte{0, 1, 0, 0, 0, 0, 0, 3, 0, 0, 2, 1, 0, 0, 1, 0, 3, 0, 0, 3, 0, 0})
	// the same with a Cancel of the receive, then an Unread
	f.Add([]byte{0, 1, 0, 0, 0, 0, 0, 3, 0, 0, 2, 1, 0, 5, 0, 0, 3, 0, 0, 7, 3, 0, 3, 0, 0})
	// a count receive, a limit, a throttle, more data, the clock
	f.Add([]byte{0, 1, 12, 3, 0, 0, 0, 3, 0, 0, 2, 1, 0, 6, 1, 0, 8, 1, 0, 0, 5, 0, 3, 0, 0, 4, 0, 200, 3, 0, 0})
	// a receive's token, its deadline passed, moved to Wait; another
	// one's, delivered expired and left due, to Accept
	f.Add([]byte{0, 1, 0, 1, 0, 0, 1, 3, 0, 0, 2, 2, 1, 4, 0, 255, 9, 0, 0,
		1, 0, 1, 0, 0, 1, 3, 0, 0, 2, 2, 1, 4, 0, 255, 3, 1, 0, 9, 0, 1, 3, 0, 0})
	// "*a" with two queued receives, a look, the peer's end, a close
	f.Add([]byte{0, 1, 0, 6, 1, 1, 6, 2, 2, 0, 0, 0, 0, 3, 0, 0, 11, 0, 0, 3, 0, 0, 10, 0, 0, 3, 0, 0})
	// with a pickup: lines taken by armed retries, one parked after
	f.Add([]byte{1, 1, 0, 0, 2, 1, 0, 3, 0, 0, 0, 1, 0, 3, 0, 0, 0, 6, 0, 3, 0, 0, 0, 1, 0, 3, 0, 0})
	// three line receives, "l\nm\nn" unread, the close; the second's
	// retry, then the first's as "*a" (its share worked out again: not
	// the second's bytes too, nor the third's after them)
	f.Add([]byte{0, 1, 0, 0, 1, 1, 0, 1, 2, 0, 7, 6, 0, 10, 0, 0, 1, 1, 0, 1, 0, 6})
	// the same with the first cancelled instead (its bytes are not the
	// third's, ahead of the second's)
	f.Add([]byte{0, 1, 0, 0, 1, 1, 0, 1, 2, 0, 7, 6, 0, 10, 0, 0, 1, 1, 0, 5, 0, 0})
	// two line receives, "l\nm\nn" unread, the close, the first's token
	// handed out and moved to Wait (its share goes back: the second's
	// is "l"), the rest
	f.Add([]byte{0, 1, 0, 0, 1, 1, 0, 7, 6, 0, 10, 0, 0, 3, 1, 0, 9, 0, 0, 3, 0, 5})
	// the same moved to a Sleep
	f.Add([]byte{0, 1, 0, 0, 1, 1, 0, 7, 6, 0, 10, 0, 0, 3, 1, 0, 9, 0, 129, 3, 0, 5})
	// a line receive's token, handed out after the close, moved to a
	// receive on another socket, which closes with a share for it too;
	// then cancelled (one share per token: the first went back at the move)
	f.Add([]byte{0, 1, 0, 0, 7, 6, 0, 10, 0, 0, 3, 1, 0, 9, 0, 130, 7, 0, 1, 10, 0, 1, 5, 0, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) == 0 {
			return
		}
		m := newWakeModel(t, ops[0]&1 != 0)
		defer m.l.Close()
		ops = ops[1:]
		for len(ops) >= 3 {
			m.step(ops[0], ops[1], ops[2])
			m.checkWakes(fmt.Sprintf("after op %d %d %d", ops[0], ops[1], ops[2]))
			ops = ops[3:]
		}
		m.finish()
	})
}

// Token kinds of the wake model.
const (
	wkFree = iota
	wkRecv
	wkLook
	wkWait   // a receive's token moved to Wait(DirRead)
	wkAccept // a receive's token moved to Accept
	wkSleep  // a closed socket's receive's token moved to a Sleep
)

// wakeTok is the model of one token: its call, retried at delivery.
type wakeTok struct {
	kind  int
	ws    *wakeSock
	pat   Pattern
	n     int
	spins int  // a look's deliveries since the last non-Select op whose retry parked again
	due   bool // delivered, its retry not made yet (a receive's: op 9 may move it)
}

// wakeSock is one socket of the model and its stream.
type wakeSock struct {
	s      *Socket
	peer   int
	stream []byte       // bytes not received yet, in order (buffered, then the kernel's)
	eof    bool         // the peer shut its side down
	cl     *closedModel // once closed: its stream's shares (sharemodel_test.go)
}

// wakeModel drives a loop and checks wake-ups.
type wakeModel struct {
	t      *testing.T
	l      *Loop
	c      *fakeClock
	pk     *fakePick
	socks  [3]*wakeSock
	toks   [7]wakeTok  // tokens 1..6
	closed []*wakeSock // every socket closed so far
	fresh  byte        // the last byte value unique handed out
}

// wakeData are the peer's writes and Unread's bytes (no CR: a line's CRs
// are dropped, which the stream check does not model), as templates:
// unique makes each byte but the line ends a new value.
var wakeData = []string{"ab", "c\n", "defg", "\n", "hi\njk", "0123456789", "l\nm\nn", "x"}

// newWakeModel makes a loop on a fake clock with three socket pairs whose
// receives have no timeout, a 20 ms block, and a 30 ms block with a 50 ms
// total; with a fake pickup if pick.
func newWakeModel(t *testing.T, pick bool) *wakeModel {
	l, c := newTestLoop(t)
	m := &wakeModel{t: t, l: l, c: c}
	if pick {
		m.pk = newFakePick(t, l)
	}
	for i := range m.socks {
		m.reopen(i)
	}
	return m
}

// unique returns template d with each byte but the line ends replaced by
// the next of 253 values (no CR, no line end), so that a closed socket's
// results can be placed in its stream (closedModel).
func (m *wakeModel) unique(d string) string {
	b := []byte(d)
	for i := range b {
		if b[i] == '\n' {
			continue
		}
		for m.fresh++; m.fresh == 0 || m.fresh == '\n' || m.fresh == '\r'; m.fresh++ {
		}
		b[i] = m.fresh
	}
	return string(b)
}

// reopen puts a fresh socket pair in slot i.
func (m *wakeModel) reopen(i int) {
	s, peer := socketPair(m.t, m.l)
	switch i {
	case 1:
		s.SetTimeout(20*time.Millisecond, -1)
	case 2:
		s.SetTimeout(30*time.Millisecond, 50*time.Millisecond)
	}
	if err := unix.SetNonblock(peer, true); err != nil {
		m.t.Fatal(err)
	}
	m.socks[i] = &wakeSock{s: s, peer: peer}
}

// peerWrite writes what it can of d to ws's peer end (a full socket takes
// nothing: each small write costs the socket's buffer far more than its
// bytes) and adds it to ws's stream.
func (m *wakeModel) peerWrite(ws *wakeSock, d string) {
	n, err := unix.Write(ws.peer, []byte(d))
	if err != nil && err != unix.EAGAIN {
		m.t.Fatalf("peer write: %v", err)
	}
	ws.stream = append(ws.stream, d[:max(n, 0)]...)
}

// step runs one operation chosen by op with arguments a and b.
func (m *wakeModel) step(op, a, b byte) {
	tok := Token(a%6) + 1
	mt := &m.toks[tok]
	ws := m.socks[int(b)%len(m.socks)]
	s := ws.s
	if op%13 != 3 {
		for i := range m.toks {
			m.toks[i].spins = 0
		}
	}
	switch op % 13 {
	case 0: // the peer writes (what the socket takes: its fd does not block)
		if !ws.eof && !s.closed {
			m.peerWrite(ws, m.unique(wakeData[int(a)%len(wakeData)]))
		}
	case 1: // a receive with a free token: "*l", a count or "*a"; a
		// waiting one's retry with that pattern (another one: the same
		// call, item 47), before its delivery or after
		pat, n := PatLine, 0
		switch b / 3 % 3 {
		case 1:
			pat, n = PatCount, int(a/6%8)+1
		case 2:
			pat = PatAll
		}
		if mt.kind == wkRecv {
			mt.pat, mt.n, mt.due = pat, n, false
			m.receive(tok)
			return
		}
		if mt.due {
			m.retry(tok)
			return
		}
		if mt.kind != wkFree {
			return
		}
		*mt = wakeTok{kind: wkRecv, ws: ws, pat: pat, n: n}
		m.receive(tok)
	case 2: // a look with a free token
		if mt.kind != wkFree {
			return
		}
		*mt = wakeTok{kind: wkLook, ws: ws}
		m.retry(tok)
	case 3: // Select; with a odd, the receives delivered are left due
		m.selectOnce(int(b)%6+1, a%2 == 1)
	case 4: // the clock
		m.c.t += time.Duration(b) * time.Millisecond / 4
	case 5: // Cancel
		m.l.Cancel(tok)
		*mt = wakeTok{}
		for _, cs := range m.closed {
			cs.cl.gone(tok)
		}
	case 6: // a receive limit
		if !s.closed {
			s.SetLimit([]int{0, 3, 5, 16}[a%4])
		}
	case 7: // Unread
		if !s.closed {
			d := m.unique(wakeData[int(a)%len(wakeData)])
			if err := s.Unread([]byte(d)); err != nil {
				m.t.Fatalf("Unread: %v", err)
			}
			ws.stream = append([]byte(d), ws.stream...)
		}
	case 8: // a read throttle, or none
		if !s.closed {
			s.Throttle(DirRead, []int64{0, 1000, 200}[a%3])
		}
	case 9: // a receive's token moved to Wait or Accept (its partial let
		// go; its share of a close given back: another operation,
		// shares.go); with b >= 128, once its socket closed, to a receive
		// on another socket or a Sleep (move)
		if mt.kind != wkRecv {
			return
		}
		if b >= 128 {
			m.move(tok, ws, a)
			return
		}
		mt.kind = wkWait
		if b%2 == 1 {
			mt.kind = wkAccept
		}
		if cl := mt.ws.cl; cl != nil {
			cl.gone(tok)
		}
		m.retry(tok)
	case 10: // Close (or a fresh pair if closed)
		i := int(b) % len(m.socks)
		if s.closed {
			m.reopen(i)
			return
		}
		ws.cl = newClosedModel(s)
		m.closed = append(m.closed, ws)
		s.Close()
	case 11: // the peer's end of stream
		if !ws.eof && !s.closed {
			ws.eof = true
			unix.Shutdown(ws.peer, unix.SHUT_WR)
		}
	case 12: // the receives left due retry
		m.retryDue()
	}
}

// move takes tok, whose receive its socket's close cut short, up for
// another operation: a receive (a line) on ws, or a Sleep of a/4 ms if ws
// is its own socket. Once the close's delivery was handed out (due), the
// receive is abandoned: its share goes back (gone). Before, tok is still
// that receive's: the call is refused (ErrBusy) on an open socket and,
// on another closed one, answered as a call after that close, the share
// left be.
func (m *wakeModel) move(tok Token, ws *wakeSock, a byte) {
	mt := &m.toks[tok]
	x := mt.ws
	if !x.s.closed {
		return
	}
	if !mt.due {
		if ws == x {
			return
		}
		res, err := ws.s.Receive(PatLine, 0, tok)
		if !ws.s.closed {
			if err != ErrBusy {
				m.t.Fatalf("move: token %d, owed its close's delivery: %q %v, want ErrBusy", tok, res, err)
			}
			return
		}
		ws.cl.result(m.t, tok, PatLine, 0, res, err)
		return
	}
	x.cl.gone(tok)
	if ws == x {
		if err := m.l.Sleep(time.Duration(a)*time.Millisecond/4, tok); err != nil {
			m.t.Fatalf("move: sleep of token %d: %v", tok, err)
		}
		*mt = wakeTok{kind: wkSleep}
		return
	}
	*mt = wakeTok{kind: wkRecv, ws: ws, pat: PatLine}
	m.receive(tok)
}

// retryDue retries the tokens delivered and left due.
func (m *wakeModel) retryDue() {
	for tok := Token(1); tok <= 6; tok++ {
		if m.toks[tok].due {
			m.retry(tok)
		}
	}
}

// selectOnce runs Select(0) with room for n tokens and retries each one
// (a receive's left due if leave); it returns how many came.
func (m *wakeModel) selectOnce(n int, leave bool) int {
	out := make([]Token, n)
	got, err := m.l.Select(0, out)
	if err != nil {
		m.t.Fatalf("select: %v", err)
	}
	for _, tok := range out[:got] {
		if tok < 1 || tok > 6 || m.toks[tok].kind == wkFree || m.toks[tok].due {
			m.t.Fatalf("token %d delivered, not parked", tok)
		}
		if leave && m.toks[tok].kind == wkRecv {
			m.toks[tok].due = true
			continue
		}
		m.retry(tok)
	}
	return got
}

// retry makes tok's call again (its first call for a look, Wait, Accept).
func (m *wakeModel) retry(tok Token) {
	mt := &m.toks[tok]
	mt.due = false
	if mt.kind == wkSleep { // (delivered: done)
		*mt = wakeTok{}
		return
	}
	s := mt.ws.s
	var err error
	switch mt.kind {
	case wkRecv:
		m.receive(tok)
		return
	case wkLook:
		err = s.Wait(DirRead|WaitLook, tok)
		if err == ErrWait {
			mt.spins++
			if mt.spins > 3 {
				m.t.Fatalf("look %d delivered %d times with nothing to see (a spin)", tok, mt.spins)
			}
			return
		}
	case wkWait:
		err = s.Wait(DirRead, tok)
	case wkAccept:
		var c *Socket
		c, err = s.Accept(tok)
		if c != nil {
			c.Close()
		}
	}
	if err != ErrWait {
		*mt = wakeTok{}
	}
}

// receive makes tok's receive (first call or retry), through the armed
// retry first when there is one (the C half's), and checks its result
// against the stream.
func (m *wakeModel) receive(tok Token) {
	mt := &m.toks[tok]
	ws := mt.ws
	if m.pk != nil {
		if res, ok := m.pk.take(ws.s, tok, mt.pat, mt.n); ok {
			m.taken(ws, tok, mt.pat, mt.n, []byte(res), nil)
			if m.pk.park(ws.s, tok, mt.pat, mt.n) {
				return // parked as the C half parks it: core's at the settle
			}
			*mt = wakeTok{}
			return
		}
	}
	res, err := ws.s.Receive(mt.pat, mt.n, tok)
	if err == ErrWait {
		return
	}
	m.taken(ws, tok, mt.pat, mt.n, res, err)
	*mt = wakeTok{}
}

// taken checks a receive's result (tok's) against ws's stream and
// consumes it; a closed socket's against the model of its close's shares.
func (m *wakeModel) taken(ws *wakeSock, tok Token, p Pattern, n int, res []byte, err error) {
	if err == ErrBusy || err == ErrInvalid {
		m.t.Fatalf("receive: %v", err)
	}
	if ws.s.closed {
		ws.cl.result(m.t, tok, p, n, res, err)
		return
	}
	want := res
	if p == PatLine && err == nil {
		want = append(append([]byte(nil), res...), '\n')
	}
	if !bytes.HasPrefix(ws.stream, want) {
		m.t.Fatalf("receive %v %d: %q %v, the stream has %q", p, n, res, err, ws.stream)
	}
	if p == PatCount && err == nil && len(res) != n {
		m.t.Fatalf("receive of %d: %q", n, res)
	}
	ws.stream = ws.stream[len(want):]
}

// checkWakes fails on a lost wake-up: a read look, or the head receive,
// not delivered while what it waits for is there (see FuzzLookWake).
func (m *wakeModel) checkWakes(when string) {
	for i, ws := range m.socks {
		checkWakes(m.t, ws.s, fmt.Sprintf("%s: socket %d", when, i))
	}
	m.checkShares(when)
}

// checkShares fails unless every share of a closed socket's data is
// found by its token (l.shares) and each token has at most one, parked
// nowhere: a token taken up by another operation gave its share back
// (shares.go leaveShare).
func (m *wakeModel) checkShares(when string) {
	n := 0
	for _, ws := range m.closed {
		for _, c := range ws.s.closedRecv {
			n++
			if m.l.shares[c.tok] != ws.s {
				m.t.Fatalf("%s: token %d's share not found by its token (%v)", when, c.tok, m.l.shares[c.tok])
			}
			if w := m.l.byTok.get(c.tok); w != nil {
				m.t.Fatalf("%s: token %d has a share and is parked (%+v)", when, c.tok, m.toks[c.tok])
			}
		}
	}
	if n != len(m.l.shares) {
		m.t.Fatalf("%s: %d shares, %d tokens with one (a token with two, or one left)", when, n, len(m.l.shares))
	}
}

// checkWakes fails on a lost wake-up on open socket s (see FuzzLookWake):
// a read look parked, not delivered, while s is readable (unclaimed
// bytes, an end or an error read ahead) or its fd has bytes that no
// pending epoll event announces; the head of its read queue (not held by
// its throttle) parked, not delivered, while its fd has such bytes or,
// a receive, while its result is buffered whole.
func checkWakes(t *testing.T, s *Socket, when string) {
	t.Helper()
	if s.closed || s.offer != 0 { // (an armed retry's read is C's until settled)
		return
	}
	fdNews := fdReadable(s.fd) && !fdReadable(s.l.p.epfd)
	// (a receive at the head, delivered, whose retry is to come, is held
	// to it too: what it leaves a new receive changes only where the
	// looks are delivered: an Unread, a SetLimit, its retry, its token's
	// Cancel or move, the close)
	h := s.rq.head
	if h != nil && h.receiving { // (unclaimed's line scan against a fresh one)
		data, claim := s.rb.data(), len(s.rb.data())
		if overLimit(h.pat, data, s.limit) {
			claim = s.limit
		} else if end, skip, ok, _ := matchEnd(h.pat, h.cnt, data, 0); ok {
			claim = end + skip
		}
		if got := s.unclaimed(); got != len(data)-claim {
			t.Fatalf("%s: unclaimed %d, want %d (%q, head %v %d)", when, got, len(data)-claim, data, h.pat, h.cnt)
		}
	}
	for w := s.rl.head; w != nil; w = w.next {
		if w.notified {
			continue
		}
		if s.unclaimed() > 0 || s.rerr != nil {
			t.Fatalf("%s: look %d parked with %d bytes unclaimed (held %d), rerr %v: a lost wake-up",
				when, w.tok, s.unclaimed(), len(s.rb.data()), s.rerr)
		}
		if fdNews {
			t.Fatalf("%s: look %d parked, its fd readable with no event pending: a lost wake-up", when, w.tok)
		}
	}
	if h == nil || h.notified || h.throttled || h.wake != 0 {
		return
	}
	if fdNews {
		t.Fatalf("%s: head %d parked, its fd readable with no event pending: a lost wake-up", when, h.tok)
	}
	if h.receiving {
		data := s.rb.data()
		_, _, ok, _ := matchEnd(h.pat, h.cnt, data, 0)
		if ok || overLimit(h.pat, data, s.limit) {
			t.Fatalf("%s: receive %d parked with its result buffered (%q): a lost wake-up", when, h.tok, data)
		}
	}
}

// fdReadable polls fd for input without waiting.
func fdReadable(fd int) bool {
	fds := [1]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds[:], 0)
		if err == unix.EINTR {
			continue
		}
		return err == nil && n > 0 && fds[0].Revents != 0
	}
}

// finish ends every stream (a line end, the peer's end), lifts the
// throttles, runs the clock and the loop, and checks that every token
// came back: nobody waits for ever.
func (m *wakeModel) finish() {
	for _, ws := range m.socks {
		if ws.s.closed {
			continue
		}
		if !ws.eof {
			m.peerWrite(ws, "\n")
			ws.eof = true
			unix.Shutdown(ws.peer, unix.SHUT_WR)
		}
		ws.s.Throttle(DirRead, 0)
	}
	for round := 0; ; round++ {
		m.c.t += time.Second
		for i := range m.toks {
			m.toks[i].spins = 0
		}
		m.retryDue()
		for k := 0; m.selectOnce(6, false) > 0; k++ {
			m.checkWakes("finishing")
			if k > 1000 {
				m.t.Fatal("finishing: Select never runs dry")
			}
		}
		m.checkWakes("finished")
		left := 0
		for tok := range m.toks {
			if m.toks[tok].kind != wkFree {
				left++
			}
		}
		if left == 0 {
			break
		}
		if round > 100 {
			m.t.Fatalf("finishing: %d tokens never came back: %+v", left, m.toks)
		}
	}
	if len(m.l.shares) != 0 { // (every token retried, cancelled or moved)
		m.t.Fatalf("finished: shares left for tokens %v", m.l.shares)
	}
	// the closed sockets' rest, read by calls after their close
	for _, ws := range m.closed {
		for k := 0; ; k++ {
			res, err := ws.s.Receive(PatAll, 0, 0)
			ws.cl.result(m.t, 0, PatAll, 0, res, err)
			if err != nil || len(res) == 0 {
				break
			}
			if k > 100 {
				m.t.Fatal("finishing: a closed socket's rest never ends")
			}
		}
		ws.cl.finish(m.t)
	}
}
