package core

import (
	"math/rand"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// pollsOf returns l's poll(2) count.
func pollsOf(l *Loop) uint64 {
	p, _ := l.Polls()
	return p
}

// TestWaitSetOnePoll checks that WaitSet polls once for all its sockets,
// whatever their number, and gives each wait Wait's result: ready ones
// nil, the others parked until their socket is ready.
func TestWaitSetOnePoll(t *testing.T) {
	l, _ := newTestLoop(t)
	const n = 50
	socks := make([]*Socket, n)
	peers := make([]int, n)
	for i := range socks {
		socks[i], peers[i] = socketPair(t, l)
	}
	peerWrite(t, peers[7], "x")
	peerWrite(t, peers[31], "y")
	ws := make([]SetWait, 0, n+1)
	for i, s := range socks {
		ws = append(ws, SetWait{Sock: s, Dir: DirRead | WaitUntimed, Tok: Token(100 + i)})
	}
	ws = append(ws, SetWait{Sock: socks[3], Dir: DirWrite | WaitUntimed, Tok: 99})
	before := pollsOf(l)
	l.WaitSet(ws)
	if got := pollsOf(l) - before; got != 1 {
		t.Fatalf("%d polls for %d waits, want 1", got, len(ws))
	}
	for i, w := range ws {
		want := ErrWait
		if i == 7 || i == 31 || i == n {
			want = nil
		}
		if w.Err != want {
			t.Fatalf("wait %d: %v, want %v", i, w.Err, want)
		}
	}
	if _, ep := l.Polls(); ep != 0 {
		t.Fatalf("WaitSet made %d epoll_waits", ep)
	}
	// an idle one becomes readable: its token comes, and the retry of the
	// whole set (delivered one and still parked ones) polls once again
	peerWrite(t, peers[12], "z")
	waitFor(t, l, 112)
	for i := range ws {
		ws[i].Err = nil
	}
	before = pollsOf(l)
	l.WaitSet(ws)
	if got := pollsOf(l) - before; got != 1 {
		t.Fatalf("retry: %d polls, want 1", got)
	}
	for i, w := range ws {
		want := ErrWait
		if i == 7 || i == 12 || i == 31 || i == n {
			want = nil
		}
		if w.Err != want {
			t.Fatalf("retry %d: %v, want %v", i, w.Err, want)
		}
	}
	for _, w := range ws {
		l.Cancel(w.Tok)
	}
	if s := socks[0]; s.pslot != 0 || l.pb.active {
		t.Fatal("the batch was not ended")
	}
}

// TestWaitSetArrivalAfterPoll checks the race WaitSet must respect: data
// that arrives after its poll, before the wait parks, wakes the wait.
func TestWaitSetArrivalAfterPoll(t *testing.T) {
	l, _ := newTestLoop(t)
	a, pa := socketPair(t, l)
	b, pb := socketPair(t, l)
	afterBatchPoll = func() { peerWrite(t, pa, "x"); peerWrite(t, pb, "y") }
	defer func() { afterBatchPoll = nil }()
	ws := []SetWait{{Sock: a, Dir: DirRead | WaitUntimed, Tok: 1}, {Sock: b, Dir: DirRead | WaitUntimed, Tok: 2}}
	l.WaitSet(ws)
	afterBatchPoll = nil
	if ws[0].Err != ErrWait || ws[1].Err != ErrWait {
		t.Fatalf("waits %v %v: the poll saw the data", ws[0].Err, ws[1].Err)
	}
	got := selectTokens(t, l, time.Second)
	slices.Sort(got)
	if !slices.Equal(got, []Token{1, 2}) {
		t.Fatalf("delivered %v, want [1 2]", got)
	}
	l.WaitSet(ws)
	if ws[0].Err != nil || ws[1].Err != nil {
		t.Fatalf("retries %v %v, want ready", ws[0].Err, ws[1].Err)
	}
}

// TestWaitSetAsWait checks WaitSet against the same waits made one by one
// with Wait on a twin loop, over random sets: readable, writable and full
// sockets, closed ones, one socket under several waits (the same
// direction: queued behind the first), bad directions and sockets, timed
// waits on sockets with a zero timeout, and the retries after a delivery.
func TestWaitSetAsWait(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	dist := map[error]int{} // the outcomes met: every one must be
	defer func() {
		for _, e := range []error{nil, ErrWait, ErrClosed, ErrTimeout, ErrInvalid} {
			if dist[e] == 0 {
				t.Errorf("no wait ended with %v: %v", e, dist)
			}
		}
	}()
	for round := 0; round < 40; round++ {
		type sockState struct {
			readable, full, closed, zero bool
		}
		nsock := 1 + rng.Intn(8)
		states := make([]sockState, nsock)
		for i := range states {
			states[i] = sockState{rng.Intn(3) == 0, rng.Intn(4) == 0, rng.Intn(6) == 0, rng.Intn(4) == 0}
		}
		type entry struct {
			sock int // -1: nil
			dir  int
		}
		nent := 1 + rng.Intn(12)
		ents := make([]entry, nent)
		for i := range ents {
			e := entry{sock: rng.Intn(nsock), dir: DirRead}
			if rng.Intn(2) == 0 {
				e.dir = DirWrite
			}
			if rng.Intn(3) != 0 {
				e.dir |= WaitUntimed
			}
			switch rng.Intn(20) {
			case 0:
				e.sock = -1
			case 1:
				e.dir = 3
			}
			ents[i] = e
		}
		// make builds the sockets and their peers on a new loop
		make1 := func() (*Loop, []*Socket, []int) {
			l, _ := newTestLoop(t)
			socks := make([]*Socket, nsock)
			peers := make([]int, nsock)
			for i, st := range states {
				var data []byte
				if st.full {
					socks[i], peers[i], data = smallSendBuf(t, l)
					for {
						if _, err := unix.Write(socks[i].Fd(), data); err != nil {
							break
						}
					}
				} else {
					socks[i], peers[i] = socketPair(t, l)
				}
				if st.readable {
					peerWrite(t, peers[i], "data")
				}
				if st.zero {
					socks[i].SetTimeout(0, -1)
				}
				if st.closed {
					socks[i].Close()
				}
			}
			return l, socks, peers
		}
		l1, s1, p1 := make1()
		l2, s2, p2 := make1()
		ws := make([]SetWait, nent)
		for i, e := range ents {
			ws[i] = SetWait{Dir: e.dir, Tok: Token(10 + i)}
			if e.sock >= 0 {
				ws[i].Sock = s1[e.sock]
			}
		}
		check := func(what string) {
			l1.WaitSet(ws)
			for i, e := range ents {
				var want error
				if e.sock < 0 {
					want = ErrInvalid
				} else {
					want = s2[e.sock].Wait(e.dir, Token(10+i))
				}
				dist[want]++
				if ws[i].Err != want {
					t.Fatalf("round %d %s: wait %d (%+v of %+v): %v, want %v", round, what, i, e, states, ws[i].Err, want)
				}
			}
		}
		check("first")
		// every socket becomes readable; the peers drain the full ones
		for i := range states {
			if states[i].closed {
				continue
			}
			peerWrite(t, p1[i], "more")
			peerWrite(t, p2[i], "more")
			if states[i].full {
				buf := make([]byte, 1<<20)
				unix.SetNonblock(p1[i], true)
				unix.SetNonblock(p2[i], true)
				for {
					if _, err := unix.Read(p1[i], buf); err != nil {
						break
					}
				}
				for {
					if _, err := unix.Read(p2[i], buf); err != nil {
						break
					}
				}
			}
		}
		got1 := selectTokens(t, l1, 100*time.Millisecond)
		got2 := selectTokens(t, l2, 100*time.Millisecond)
		slices.Sort(got1)
		slices.Sort(got2)
		if !slices.Equal(got1, got2) {
			t.Fatalf("round %d: delivered %v, one by one %v", round, got1, got2)
		}
		check("retry")
		for i := range ents {
			l1.Cancel(Token(10 + i))
			l2.Cancel(Token(10 + i))
		}
	}
}

// TestWaitSetOtherLoop checks that a socket of another loop is refused
// and left alone.
func TestWaitSetOtherLoop(t *testing.T) {
	l, _ := newTestLoop(t)
	l2, _ := newTestLoop(t)
	s, _ := socketPair(t, l)
	o, _ := socketPair(t, l2)
	ws := []SetWait{{Sock: o, Dir: DirRead, Tok: 1}, {Sock: s, Dir: DirWrite, Tok: 2}, {Dir: DirRead, Tok: 3}}
	l.WaitSet(ws)
	if ws[0].Err != ErrInvalid || ws[1].Err != nil || ws[2].Err != ErrInvalid {
		t.Fatalf("got %v %v %v", ws[0].Err, ws[1].Err, ws[2].Err)
	}
	if o.pslot != 0 || l2.byTok.get(1) != nil {
		t.Fatal("the other loop's socket was touched")
	}
	l.WaitSet(nil) // nothing: no poll
	if p := pollsOf(l); p != 1 {
		t.Fatalf("%d polls, want 1", p)
	}
}

// TestWaitSetPollFails checks the way back when the batch's poll fails
// (more fds than RLIMIT_NOFILE: EINVAL): each wait polls its fd alone,
// with the same results.
func TestWaitSetPollFails(t *testing.T) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Skip(err)
	}
	l, _ := newTestLoop(t)
	const n = 40
	ws := make([]SetWait, n)
	for i := range ws {
		s, peer := socketPair(t, l)
		if i%3 == 0 {
			peerWrite(t, peer, "x")
		}
		ws[i] = SetWait{Sock: s, Dir: DirRead | WaitUntimed, Tok: Token(1 + i)}
	}
	low := lim
	low.Cur = n / 2
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &low); err != nil {
		t.Skip(err)
	}
	before := pollsOf(l)
	l.WaitSet(ws)
	unix.Setrlimit(unix.RLIMIT_NOFILE, &lim)
	if got := pollsOf(l) - before; got != n+1 {
		t.Fatalf("%d polls, want %d (the batch's, then one each)", got, n+1)
	}
	for i, w := range ws {
		want := ErrWait
		if i%3 == 0 {
			want = nil
		}
		if w.Err != want {
			t.Fatalf("wait %d: %v, want %v", i, w.Err, want)
		}
	}
}

// BenchmarkWaitSet parks 100 idle sockets' waits and cancels them
// (0 allocs/op: the batch's pollfds and the waiters are reused).
func BenchmarkWaitSet(b *testing.B) {
	l, _ := newTestLoop(b)
	ws := make([]SetWait, 100)
	for i := range ws {
		s, _ := socketPair(b, l)
		ws[i] = SetWait{Sock: s, Dir: DirRead | WaitUntimed, Tok: Token(1 + i)}
	}
	b.ReportAllocs()
	for b.Loop() {
		l.WaitSet(ws)
		for i := range ws {
			if ws[i].Err != ErrWait {
				b.Fatal(ws[i].Err)
			}
			l.Cancel(ws[i].Tok)
		}
	}
}

// TestWaitSetReadsClockOnce checks that the waits of a batch that park
// read the loop's clock once between them (they begin together).
func TestWaitSetReadsClockOnce(t *testing.T) {
	reads := 0
	l, err := NewLoopClock(func() time.Duration { reads++; return time.Hour })
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ws := make([]SetWait, 20)
	for i := range ws {
		s, _ := socketPair(t, l)
		ws[i] = SetWait{Sock: s, Dir: DirRead, Tok: Token(1 + i)}
	}
	before := reads
	l.WaitSet(ws)
	for _, w := range ws {
		if w.Err != ErrWait {
			t.Fatal(w.Err)
		}
	}
	if got := reads - before; got != 1 {
		t.Fatalf("%d clock reads for %d parks, want 1", got, len(ws))
	}
	s, _ := socketPair(t, l)
	before = reads
	s.Wait(DirRead, 99) // outside a batch: its own read
	if got := reads - before; got != 1 {
		t.Fatalf("Wait: %d clock reads, want 1", got)
	}
}
