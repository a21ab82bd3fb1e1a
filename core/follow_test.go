package core

import (
	"bytes"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// What follows a taken retry without core (offer.go, Follow): sends with
// its token, and one receive with its token that parks. The fake pickup
// does what capi/pickup.c does.

// takenLine makes a loop with a fake pickup and a socket pair whose
// receive of tok was answered by the pickup with line (the peer wrote
// line + "\n").
func takenLine(t *testing.T, tok Token, line string) (*Loop, *fakeClock, *fakePick, *Socket, int) {
	t.Helper()
	return takenLineTimeout(t, tok, line, -1)
}

// takenLineTimeout is takenLine on a socket with a block timeout.
func takenLineTimeout(t *testing.T, tok Token, line string, block time.Duration) (*Loop, *fakeClock, *fakePick, *Socket, int) {
	t.Helper()
	l, clock := newTestLoop(t)
	pk := newFakePick(t, l)
	s, peer := socketPair(t, l)
	s.SetTimeout(block, -1)
	parkReceive(t, s, PatLine, 0, tok)
	peerWrite(t, peer, line+"\n")
	waitFor(t, l, tok)
	if res, ok := pk.take(s, tok, PatLine, 0); !ok || res != line {
		t.Fatalf("take: %q %v", res, ok)
	}
	return l, clock, pk, s, peer
}

// peerRead reads exactly n bytes from the raw fd.
func peerRead(t *testing.T, fd, n int) string {
	t.Helper()
	buf := make([]byte, n)
	for got := 0; got < n; {
		k, err := unix.Read(fd, buf[got:])
		if err != nil || k == 0 {
			t.Fatalf("peer read: %d %v", k, err)
		}
		got += k
	}
	return string(buf)
}

func TestFollowSendAndPark(t *testing.T) {
	l, _, pk, s, peer := takenLine(t, 5, "ping")
	if a := pk.arms[5]; a.f != FollowSend|FollowPark {
		t.Fatalf("follow %v", a.f)
	}
	if done, _, _ := pk.send(s, 5, []byte("pong\n")); !done {
		t.Fatal("send not made whole")
	}
	if done, _, _ := pk.send(s, 5, []byte("again\n")); !done {
		t.Fatal("second send not made whole")
	}
	if got := peerRead(t, peer, 11); got != "pong\nagain\n" {
		t.Fatalf("peer got %q", got)
	}
	if !pk.park(s, 5, PatLine, 0) {
		t.Fatal("not parked")
	}
	if _, ok := pk.take(s, 5, PatLine, 0); ok || pk.park(s, 5, PatLine, 0) {
		t.Fatal("taken or parked twice")
	}
	if done, pre, _ := pk.send(s, 5, []byte("x")); done || pre != -1 {
		t.Fatal("a send with a parked token was made")
	}
	peerWrite(t, peer, "next\n")
	waitFor(t, l, 5) // Select settles: the receive is parked in core, the line wakes it
	if res, ok := pk.take(s, 5, PatLine, 0); !ok || res != "next" {
		t.Fatalf("next take: %q %v", res, ok)
	}
	if got := s.Received(); got != 10 {
		t.Fatalf("Received %d, want 10", got)
	}
}

func TestFollowParkThenCoreCalls(t *testing.T) {
	for _, tc := range []struct {
		name string
		call func(t *testing.T, l *Loop, s *Socket)
		want error // what the parked receive's retry gets
		line string
	}{
		{"Received", func(t *testing.T, l *Loop, s *Socket) {
			if s.Received() != 5 {
				t.Fatal("Received")
			}
		}, nil, "next"},
		{"retry before Select", func(t *testing.T, l *Loop, s *Socket) {
			if res, err := s.Receive(PatLine, 0, 5); err != ErrWait {
				t.Fatalf("retry: %q %v", res, err)
			}
		}, nil, "next"},
		{"Sleep on its token", func(t *testing.T, l *Loop, s *Socket) {
			if err := l.Sleep(0, 5); err != ErrBusy {
				t.Fatalf("Sleep: %v, want ErrBusy", err)
			}
		}, nil, "next"},
		{"Close", func(t *testing.T, l *Loop, s *Socket) {
			s.Close()
		}, ErrClosed, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, _, pk, s, peer := takenLine(t, 5, "ping")
			if !pk.park(s, 5, PatLine, 0) {
				t.Fatal("not parked")
			}
			tc.call(t, l, s)
			if len(pk.arms) != 0 {
				t.Fatal("not settled")
			}
			if tc.want == nil {
				peerWrite(t, peer, "next\n")
			}
			waitFor(t, l, 5)
			res, err := s.Receive(PatLine, 0, 5)
			if err != tc.want || string(res) != tc.line {
				t.Fatalf("retry: %q %v, want %q %v", res, err, tc.line, tc.want)
			}
		})
	}
}

func TestFollowParkCancel(t *testing.T) {
	l, _, pk, s, peer := takenLine(t, 5, "ping")
	if !pk.park(s, 5, PatLine, 0) {
		t.Fatal("not parked")
	}
	l.Cancel(5)
	peerWrite(t, peer, "next\n")
	if toks := selectTokens(t, l, 20*time.Millisecond); len(toks) != 0 {
		t.Fatalf("delivered after Cancel: %v", toks)
	}
	if res, err := s.Receive(PatLine, 0, 6); err != nil || string(res) != "next" {
		t.Fatalf("next receive: %q %v", res, err)
	}
}

func TestFollowParkTimeouts(t *testing.T) {
	l, clock, pk, s, peer := takenLineTimeout(t, 5, "ping", time.Second)
	if !pk.park(s, 5, PatLine, 0) {
		t.Fatal("not parked")
	}
	// SetTimeout settles the park first (its receive parks with the old
	// timeout), then gives that waiting receive the new one: none
	s.SetTimeout(-1, -1)
	if len(pk.arms) != 0 {
		t.Fatal("SetTimeout did not settle")
	}
	clock.t += 2 * time.Second
	if toks := selectTokens(t, l, 20*time.Millisecond); len(toks) != 0 {
		t.Fatalf("timed out under no timeout: %v", toks)
	}
	peerWrite(t, peer, "pong\n")
	waitFor(t, l, 5)
	if res, err := s.Receive(PatLine, 0, 5); err != nil || string(res) != "pong" {
		t.Fatalf("retry: %q %v, want pong", res, err)
	}
	// and a timeout set while it waits again fires from its start
	if _, err := s.Receive(PatLine, 0, 5); err != ErrWait {
		t.Fatal(err)
	}
	s.SetTimeout(time.Second, -1)
	clock.t += time.Second
	waitFor(t, l, 5)
	if res, err := s.Receive(PatLine, 0, 5); err != ErrTimeout || len(res) != 0 {
		t.Fatalf("retry: %q %v, want timeout", res, err)
	}
}

// A park's timeout counts from the park, not from the Select that
// settles it: a loop kept busy past the deadline times it out at once.
func TestFollowParkTimeoutFromThePark(t *testing.T) {
	l, clock, pk, s, peer := takenLineTimeout(t, 5, "ping", time.Second)
	if a := pk.arms[5]; a.f != FollowSend|FollowPark|FollowClock {
		t.Fatalf("follow %v", a.f)
	}
	if !pk.park(s, 5, PatLine, 0) {
		t.Fatal("not parked")
	}
	clock.t += 2 * time.Second // the host busy for 2 s before the next Select
	waitFor(t, l, 5)
	if res, err := s.Receive(PatLine, 0, 5); err != ErrTimeout || len(res) != 0 {
		t.Fatalf("retry: %q %v, want timeout", res, err)
	}
	// without a timeout, the park notes no time
	s.SetTimeout(-1, -1)
	parkReceive(t, s, PatLine, 0, 6)
	peerWrite(t, peer, "pong\n")
	waitFor(t, l, 6)
	if a := pk.arms[6]; a.f != FollowSend|FollowPark {
		t.Fatalf("follow %v", a.f)
	}
}

func TestFollowNotAllowed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, l *Loop, s *Socket, peer int)
		want  Follow
	}{
		// a zero timeout set while the receive waits applies to it: it
		// expires at once (no offer), its retry times out with what it
		// had then, nothing: the line written later is not read (want 0:
		// no arm)
		{"zero timeout", func(t *testing.T, l *Loop, s *Socket, peer int) {
			s.SetTimeout(0, -1)
		}, 0},
		{"zero total timeout", func(t *testing.T, l *Loop, s *Socket, peer int) {
			s.SetTimeout(-1, 0)
		}, 0},
		{"another receiver queued", func(t *testing.T, l *Loop, s *Socket, peer int) {
			parkReceive(t, s, PatLine, 0, 9)
		}, FollowSend},
		{"send throttled", func(t *testing.T, l *Loop, s *Socket, peer int) {
			s.Throttle(DirWrite, 1<<20)
		}, FollowPark},
		{"sender queued", func(t *testing.T, l *Loop, s *Socket, peer int) {
			big := bytes.Repeat([]byte("z"), 4<<20)
			if _, err := s.Send(big, 9); err != ErrWait {
				t.Fatalf("big send: %v", err)
			}
		}, FollowPark},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, _ := newTestLoop(t)
			pk := newFakePick(t, l)
			s, peer := socketPair(t, l)
			parkReceive(t, s, PatLine, 0, 5)
			tc.setup(t, l, s, peer)
			peerWrite(t, peer, "ping\n")
			waitFor(t, l, 5)
			a := pk.arms[5]
			if tc.want == 0 {
				if a != nil {
					t.Fatalf("armed %+v, want none (expired)", a)
				}
				if res, err := s.Receive(PatLine, 0, 5); err != ErrTimeout || len(res) != 0 {
					t.Fatalf("expired retry: %q %v", res, err)
				}
				if res, err := s.Receive(PatLine, 0, 6); err != nil || string(res) != "ping" {
					t.Fatalf("the next receive: %q %v", res, err)
				}
				return
			}
			if a == nil || a.f != tc.want {
				t.Fatalf("armed %+v, want follow %v", a, tc.want)
			}
			if res, ok := pk.take(s, 5, PatLine, 0); !ok || res != "ping" {
				t.Fatalf("take: %q %v", res, ok)
			}
			if pk.park(s, 5, PatLine, 0) != (tc.want&FollowPark != 0) {
				t.Fatal("park allowed against its follow bits")
			}
		})
	}
}

func TestFollowParkOnlyWhenDrained(t *testing.T) {
	_, _, pk, s, _ := takenLine(t, 5, "ping")
	if pk.park(s, 5, PatCount, 0) {
		t.Fatal("a count of 0 parked")
	}
	l, pk, s, _ := offered(t, PatLine, 0, 5, "one\ntwo\n")
	if res, ok := pk.take(s, 5, PatLine, 0); !ok || res != "one" {
		t.Fatalf("take: %q %v", res, ok)
	}
	if pk.park(s, 5, PatLine, 0) {
		t.Fatal("parked with a line left")
	}
	if res, err := s.Receive(PatLine, 0, 5); err != nil || string(res) != "two" {
		t.Fatalf("second line: %q %v", res, err)
	}
	_ = l
}

// A send on the write queue (another token) ends the sends in C: they
// would overtake it.
func TestFollowNoSendAfterCoreSend(t *testing.T) {
	l, pk, s, peer := offered(t, PatLine, 0, 5, "ping\n")
	big := bytes.Repeat([]byte("z"), 4<<20)
	if _, err := s.Send(big, 9); err != ErrWait {
		t.Fatalf("big send: %v", err)
	}
	if a := pk.arms[5]; a.f&FollowSend != 0 {
		t.Fatal("FollowSend kept after a send on the queue")
	}
	if res, ok := pk.take(s, 5, PatLine, 0); !ok || res != "ping" {
		t.Fatalf("take: %q %v", res, ok)
	}
	if done, pre, _ := pk.send(s, 5, []byte("pong\n")); done || pre != -1 {
		t.Fatal("sent in C behind a queued send")
	}
	// through core, in order: the big send first, then pong
	got := make(chan []byte)
	go func() {
		var all []byte
		buf := make([]byte, 1<<16)
		for len(all) < len(big)+5 {
			k, err := unix.Read(peer, buf)
			if err != nil || k == 0 {
				break
			}
			all = append(all, buf[:k]...)
		}
		got <- all
	}()
	if err := drive(t, l, 9, func() error { _, err := s.Send(big, 9); return err }); err != nil {
		t.Fatal(err)
	}
	k := 0
	if err := drive(t, l, 5, func() error { var err error; k, err = s.Send([]byte("pong\n"), 5); return err }); err != nil || k != 5 {
		t.Fatalf("pong: %d %v", k, err)
	}
	// (joined before the test ends: a reader left behind would read the
	// next test's socket, which reuses the fd)
	if all := <-got; !bytes.Equal(all, append(big, "pong\n"...)) {
		t.Fatalf("peer got %d bytes, not the big send then pong", len(all))
	}
}

// A send in C that the kernel takes in part goes on in core from there.
func TestFollowSendPartial(t *testing.T) {
	l, _, pk, s, peer := takenLine(t, 5, "ping")
	big := make([]byte, 4<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	done, pre, errno := pk.send(s, 5, big)
	if done || pre <= 0 || pre >= len(big) || errno != 0 {
		t.Fatalf("C send: done %v pre %d errno %v", done, pre, errno)
	}
	got := make(chan []byte)
	go func() {
		var all []byte
		buf := make([]byte, 1<<16)
		for len(all) < len(big) {
			k, err := unix.Read(peer, buf)
			if err != nil || k == 0 {
				break
			}
			all = append(all, buf[:k]...)
		}
		got <- all
	}()
	k, err := s.SendAfter(big, 5, pre, 0)
	if err != ErrWait || k != pre {
		t.Fatalf("SendAfter: %d %v, want %d ErrWait", k, err, pre)
	}
	if err := drive(t, l, 5, func() error { k, err = s.Send(big, 5); return err }); err != nil || k != len(big) {
		t.Fatalf("send: %d %v", k, err)
	}
	if all := <-got; !bytes.Equal(all, big) {
		t.Fatalf("peer got %d bytes, not the data", len(all))
	}
}

func TestFollowSendErrors(t *testing.T) {
	for _, tc := range []struct {
		errno unix.Errno
		check func(error) bool
	}{
		{unix.EPIPE, func(err error) bool { return err == ErrClosed }},
		{unix.ECONNRESET, func(err error) bool { return isErrno(err, unix.ECONNRESET) }},
		{unix.EAGAIN, func(err error) bool { return err == ErrWait }},
	} {
		_, _, _, s, _ := takenLine(t, 5, "ping")
		k, err := s.SendAfter([]byte("pong\n"), 5, -1, tc.errno)
		if k != 0 || !tc.check(err) {
			t.Errorf("%v: %d %v", tc.errno, k, err)
		}
	}
	// the C half's own EPIPE, the peer gone
	_, _, pk, s, peer := takenLine(t, 5, "ping")
	unix.Close(peer)
	done, pre, errno := pk.send(s, 5, []byte("pong\n"))
	if done || pre != -1 || errno != unix.EPIPE {
		t.Fatalf("C send to a closed peer: %v %d %v", done, pre, errno)
	}
	if k, err := s.SendAfter([]byte("pong\n"), 5, pre, errno); k != 0 || err != ErrClosed {
		t.Fatalf("SendAfter: %d %v", k, err)
	}
	if _, err := s.SendAfter([]byte("ab"), 7, 3, 0); err != ErrInvalid {
		t.Fatalf("more sent than data: %v", err)
	}
}

// Sends with other tokens, or before the take, are core's.
func TestFollowSendOnlyAfterTake(t *testing.T) {
	_, pk, s, _ := offered(t, PatLine, 0, 5, "ping\n")
	if done, pre, _ := pk.send(s, 5, []byte("x\n")); done || pre != -1 {
		t.Fatal("sent before the take")
	}
	if _, ok := pk.take(s, 5, PatLine, 0); !ok {
		t.Fatal("take")
	}
	if done, pre, _ := pk.send(s, 6, []byte("x\n")); done || pre != -1 {
		t.Fatal("sent with another token")
	}
}
