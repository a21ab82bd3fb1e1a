package core

import (
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Looks (look.go): the waits of selects, woken all at once, ahead of the
// socket's queue, holding back no one.

// look parks a look of dir on s under tok, which must wait.
func look(t *testing.T, s *Socket, dir int, tok Token) {
	t.Helper()
	if err := s.Wait(dir|WaitLook, tok); err != ErrWait {
		t.Fatalf("look %d: %v, want ErrWait", tok, err)
	}
}

// TestLooksAllWoken checks that two looks and a receive on one socket
// are all delivered by the one Select that sees the data, the looks
// first (a select woken after the receive took the data would find
// none), whichever came first; the looks' retries find the socket ready
// and the receive reads its line.
func TestLooksAllWoken(t *testing.T) {
	for _, recvFirst := range []bool{false, true} {
		l, _ := newTestLoop(t)
		s, peer := socketPair(t, l)
		if recvFirst {
			parkReceive(t, s, PatLine, 0, 3)
		}
		look(t, s, DirRead, 1)
		look(t, s, DirRead, 2)
		if !recvFirst {
			parkReceive(t, s, PatLine, 0, 3)
		}
		if got := selectTokens(t, l, 0); len(got) != 0 {
			t.Fatalf("nothing arrived: %v", got)
		}
		peerWrite(t, peer, "x\n")
		if got := selectTokens(t, l, time.Second); !slices.Equal(got, []Token{1, 2, 3}) {
			t.Fatalf("receive first %v: one Select delivered %v, want [1 2 3]", recvFirst, got)
		}
		for _, tok := range []Token{1, 2} {
			if err := s.Wait(DirRead|WaitLook, tok); err != nil {
				t.Fatalf("look %d's retry: %v", tok, err)
			}
		}
		if res, err := s.Receive(PatLine, 0, 3); err != nil || string(res) != "x" {
			t.Fatalf("receive's retry: %q %v", res, err)
		}
		if n := l.byTok.len(); n != 0 {
			t.Fatalf("%d tokens still parked", n)
		}
	}
}

// TestLookHoldsNoOne checks that a look held by no readiness keeps no
// one waiting: a receive made after it reads at once, a plain Wait (a
// turn) finds the socket ready at once, and an accept made after a look
// on a listener takes its connection at once; readiness then wakes the
// look and the operation's head together.
func TestLookHoldsNoOne(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer := socketPair(t, l)
	look(t, s, DirRead, 1)
	look(t, s, DirRead, 2)
	peerWrite(t, peer, "ab\n")
	if res, err := s.Receive(PatLine, 0, 3); err != nil || string(res) != "ab" {
		t.Fatalf("receive after the looks: %q %v, want the line at once", res, err)
	}
	peerWrite(t, peer, "c")
	if err := s.Wait(DirRead, 4); err != nil {
		t.Fatalf("a turn after the looks: %v, want ready", err)
	}
	parkReceive(t, s, PatLine, 0, 3) // ("c" buffered, no LF)
	peerWrite(t, peer, "d\n")
	if got := selectTokens(t, l, time.Second); !slices.Equal(got, []Token{1, 2, 3}) {
		t.Fatalf("got %v, want [1 2 3]", got)
	}
	if res, err := s.Receive(PatLine, 0, 3); err != nil || string(res) != "cd" {
		t.Fatalf("receive: %q %v", res, err)
	}
	// the looks' retries: nothing left to read, they wait again
	look(t, s, DirRead, 1)
	look(t, s, DirRead, 2)

	ln, port := listenTCP(t, l)
	look(t, ln, DirRead, 11)
	c := dialTCP(t, port)
	waitReadable(t, ln.Fd())
	conn, err := ln.Accept(12)
	if err != nil {
		t.Fatalf("accept after a look: %v, want the connection at once", err)
	}
	conn.Close()
	unix.Close(c)
	// (taken before any Select: epoll reports no edge for it, the look
	// still waits)
	parkAccept(t, ln, 12)
	c = dialTCP(t, port)
	defer unix.Close(c)
	if got := selectTokens(t, l, time.Second); !slices.Equal(got, []Token{11, 12}) {
		t.Fatalf("listener: got %v, want [11 12]", got)
	}
	if err := ln.Wait(DirRead|WaitLook, 11); err != nil {
		t.Fatalf("look's retry: %v", err)
	}
	if conn, err = ln.Accept(12); err != nil {
		t.Fatalf("accept's retry: %v", err)
	}
	conn.Close()
}

// dialTCP connects a raw blocking socket to 127.0.0.1:port.
func dialTCP(t *testing.T, port int) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Connect(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	return fd
}

// waitReadable blocks until fd polls readable (at most 5 s).
func waitReadable(t *testing.T, fd int) {
	t.Helper()
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	if n, err := unix.Poll(fds, 5000); n != 1 || err != nil {
		t.Fatalf("fd %d not readable: %d %v", fd, n, err)
	}
}

// parkAccept parks an accept of ln under tok, which must wait.
func parkAccept(t *testing.T, ln *Socket, tok Token) {
	t.Helper()
	if c, err := ln.Accept(tok); err != ErrWait {
		if c != nil {
			c.Close()
		}
		t.Fatalf("accept: %v, want ErrWait", err)
	}
}

// TestLooksWrite checks the looks of writability: with the send buffer
// full, two looks and a parked send are delivered together once the peer
// reads; a local shutdown of sending wakes a look as it wakes the send.
func TestLooksWrite(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer, data := smallSendBuf(t, l)
	n, err := s.Send(data, 3)
	if err != ErrWait {
		t.Fatalf("send: %d %v", n, err)
	}
	look(t, s, DirWrite, 1)
	look(t, s, DirWrite, 2)
	buf := make([]byte, 1<<16)
	for { // the peer takes all there is: room again
		if _, _, err := unix.Recvfrom(peer, buf, unix.MSG_DONTWAIT); err != nil {
			break
		}
	}
	if got := selectTokens(t, l, time.Second); !slices.Equal(got, []Token{1, 2, 3}) {
		t.Fatalf("got %v, want [1 2 3]", got)
	}
	l.Cancel(3)
	s2, _, data := smallSendBuf(t, l)
	for {
		if _, err := s2.Send(data, 0); err != nil {
			break // full
		}
	}
	look(t, s2, DirWrite, 4)
	if err := s2.Shutdown(1); err != nil {
		t.Fatal(err)
	}
	if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{4}) {
		t.Fatalf("shutdown: got %v, want the look", got)
	}
}

// TestLooksClose checks that a close wakes every look (both directions,
// with a queued receive): each retry says ErrClosed, and the tokens are
// free afterwards.
func TestLooksClose(t *testing.T) {
	l, _ := newTestLoop(t)
	s, _, data := smallSendBuf(t, l)
	for {
		if _, err := s.Send(data, 0); err != nil {
			break // full: writability waits too
		}
	}
	look(t, s, DirRead, 1)
	parkReceive(t, s, PatLine, 0, 2)
	look(t, s, DirRead, 3)
	look(t, s, DirWrite, 4)
	s.Close()
	got := selectTokens(t, l, 0)
	slices.Sort(got)
	if !slices.Equal(got, []Token{1, 2, 3, 4}) {
		t.Fatalf("close delivered %v, want [1 2 3 4]", got)
	}
	for _, tok := range []Token{1, 3} {
		if err := s.Wait(DirRead|WaitLook, tok); err != ErrClosed {
			t.Fatalf("look %d's retry: %v", tok, err)
		}
	}
	if err := s.Wait(DirWrite|WaitLook, 4); err != ErrClosed {
		t.Fatalf("look 4's retry: %v", err)
	}
	for tok := Token(1); tok <= 4; tok++ {
		if tok == 2 {
			continue
		}
		if err := l.Sleep(0, tok); err != nil {
			t.Fatalf("token %d after its retry: %v", tok, err)
		}
	}
}

// TestLooksCancel checks that a cancelled look is not delivered and wakes
// no one (neither another look nor the queue's head), and that a look
// cancelled after its delivery, before it was handed out, does not come.
func TestLooksCancel(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer := socketPair(t, l)
	look(t, s, DirRead, 1)
	look(t, s, DirRead, 2)
	if err := s.Wait(DirRead, 3); err != ErrWait { // a turn: the queue's head
		t.Fatal(err)
	}
	look(t, s, DirRead, 4)
	l.Cancel(1)
	l.Cancel(4)
	if got := selectTokens(t, l, 0); len(got) != 0 {
		t.Fatalf("cancels woke %v", got)
	}
	peerWrite(t, peer, "x")
	out := make([]Token, 1) // the look's token only: the head's stays ready
	if n, err := l.Select(time.Second, out); n != 1 || err != nil || out[0] != 2 {
		t.Fatalf("first: %d %v %v", n, out, err)
	}
	l.Cancel(3) // delivered, not handed out yet
	if got := selectTokens(t, l, 0); len(got) != 0 {
		t.Fatalf("after cancel: got %v", got)
	}
	if err := s.Wait(DirRead|WaitLook, 2); err != nil {
		t.Fatalf("look 2's retry: %v", err)
	}
	if n := l.byTok.len(); n != 0 {
		t.Fatalf("%d tokens parked", n)
	}
}

// TestLookTokens checks a look's token rules: parked once (a look's token
// is busy for any other call, and the reverse), delivered once per park
// however many events come before its retry, parked again by a retry
// that finds nothing; token 0 polls; bad directions; a closed socket.
func TestLookTokens(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer := socketPair(t, l)
	s2, _ := socketPair(t, l)
	look(t, s, DirRead, 1)
	busy := map[string]error{
		"write look":  s.Wait(DirWrite|WaitLook, 1),
		"other sock":  s2.Wait(DirRead|WaitLook, 1),
		"plain wait":  s.Wait(DirRead, 1),
		"untimed":     s.Wait(DirRead|WaitUntimed, 1),
		"sleep":       l.Sleep(time.Second, 1),
		"receive":     func() error { _, err := s.Receive(PatLine, 0, 1); return err }(),
		"send":        func() error { _, err := s.Send([]byte("x"), 1); return err }(),
		"look on rcv": func() error { parkReceive(t, s2, PatLine, 0, 5); return s2.Wait(DirRead|WaitLook, 5) }(),
	}
	for what, err := range busy {
		if err != ErrBusy {
			t.Errorf("%s: %v, want ErrBusy", what, err)
		}
	}
	if err := s.Wait(DirRead|WaitLook|WaitUntimed, 1); err != ErrWait {
		t.Fatalf("retry with WaitUntimed too: %v", err)
	}
	for _, d := range []int{0, DirRead | DirWrite, 16 | DirRead, -1} {
		if err := s.Wait(d|WaitLook, 6); err != ErrInvalid {
			t.Errorf("dir %d: %v, want ErrInvalid", d, err)
		}
	}
	if err := s.Wait(DirRead|WaitLook, 0); err != ErrTimeout {
		t.Fatalf("token 0, not ready: %v", err)
	}
	if err := s.Wait(DirWrite|WaitLook, 0); err != nil {
		t.Fatalf("token 0, ready: %v", err)
	}
	peerWrite(t, peer, "a")
	if got := selectTokens(t, l, time.Second); !slices.Equal(got, []Token{1}) {
		t.Fatalf("got %v", got)
	}
	peerWrite(t, peer, "b") // a second event before the retry
	if got := selectTokens(t, l, 50*time.Millisecond); len(got) != 0 {
		t.Fatalf("delivered again before its retry: %v", got)
	}
	if res, err := s.Receive(PatCount, 2, 7); err != nil || string(res) != "ab" {
		t.Fatalf("receive: %q %v", res, err)
	}
	look(t, s, DirRead, 1) // taken by the receive: it looks again
	peerWrite(t, peer, "c")
	if got := selectTokens(t, l, time.Second); !slices.Equal(got, []Token{1}) {
		t.Fatalf("next arrival: got %v", got)
	}
	if err := s.Wait(DirRead|WaitLook, 1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := s.Wait(DirRead|WaitLook, 1); err != ErrClosed {
		t.Fatalf("closed: %v", err)
	}
	if err := s.Wait(DirRead|WaitLook, 0); err != ErrClosed {
		t.Fatalf("closed, token 0: %v", err)
	}
}

// TestLookUntimed checks that a look has no deadline: a zero timeout does
// not stop it parking, and no timeout set later times it out.
func TestLookUntimed(t *testing.T) {
	l, clk := newTestLoop(t)
	s, peer := socketPair(t, l)
	s.SetTimeout(0, 0)
	look(t, s, DirRead, 1)
	s.SetTimeout(time.Millisecond, time.Millisecond)
	clk.t += time.Hour
	if d := l.Timeout(); d != -1 {
		t.Fatalf("Timeout %v: a look armed a timer", d)
	}
	if got := selectTokens(t, l, 0); len(got) != 0 {
		t.Fatalf("a look timed out: %v", got)
	}
	peerWrite(t, peer, "x")
	if got := selectTokens(t, l, time.Second); !slices.Equal(got, []Token{1}) {
		t.Fatalf("got %v", got)
	}
	if err := s.Wait(DirRead|WaitLook, 1); err != nil {
		t.Fatal(err)
	}
}

// TestWaitSetLooks checks a WaitSet of looks, two selects' worth on one
// socket and one on another: one poll, all parked; data on the first
// socket delivers both of its looks in one Select; a batch retry finds
// them ready.
func TestWaitSetLooks(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer := socketPair(t, l)
	o, _ := socketPair(t, l)
	ws := []SetWait{
		{Sock: s, Dir: DirRead | WaitLook, Tok: 1},
		{Sock: o, Dir: DirRead | WaitLook, Tok: 2},
		{Sock: s, Dir: DirRead | WaitLook, Tok: 3},
		{Sock: s, Dir: DirWrite | WaitLook, Tok: 4},
	}
	before := pollsOf(l)
	l.WaitSet(ws)
	if got := pollsOf(l) - before; got != 1 {
		t.Fatalf("%d polls, want 1", got)
	}
	for i, w := range ws {
		want := ErrWait
		if i == 3 {
			want = nil // writable
		}
		if w.Err != want {
			t.Fatalf("wait %d: %v, want %v", i, w.Err, want)
		}
	}
	peerWrite(t, peer, "x")
	if got := selectTokens(t, l, time.Second); !slices.Equal(got, []Token{1, 3}) {
		t.Fatalf("got %v, want [1 3]", got)
	}
	l.WaitSet(ws[:3])
	for i, want := range []error{nil, ErrWait, nil} {
		if ws[i].Err != want {
			t.Fatalf("retry %d: %v, want %v", i, ws[i].Err, want)
		}
	}
	l.Cancel(2)
	if n := l.byTok.len(); n != 0 {
		t.Fatalf("%d tokens parked", n)
	}
}

// BenchmarkWaitSetLooks is BenchmarkWaitSet with looks, as asok.select
// makes them (0 allocs/op).
func BenchmarkWaitSetLooks(b *testing.B) {
	l, _ := newTestLoop(b)
	ws := make([]SetWait, 100)
	for i := range ws {
		s, _ := socketPair(b, l)
		ws[i] = SetWait{Sock: s, Dir: DirRead | WaitLook, Tok: Token(1 + i)}
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
