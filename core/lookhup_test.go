package core

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A select's look answers as select(2) does (look.go: selectReady): a
// hang-up makes a socket readable, not writable. A unix stream socket shut
// down both ways (POLLHUP) whose send buffer its peer leaves full polls
// POLLIN|POLLHUP and no POLLOUT: socket.select lists it readable only. A
// plain Wait (an operation's turn) still counts the hang-up, as
// LuaSocket's own wait does (its operation then meets the error).

// fullHungUp returns a unix stream socket whose send buffer is full (the
// peer does not read) and which is shut down both ways, and its peer's fd.
func fullHungUp(t *testing.T, l *Loop) (*Socket, int) {
	t.Helper()
	s, peer := socketPair(t, l)
	if err := unix.SetsockoptInt(s.Fd(), unix.SOL_SOCKET, unix.SO_SNDBUF, 4096); err != nil {
		t.Fatal(err)
	}
	if err := unix.SetNonblock(s.Fd(), true); err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := unix.Write(s.Fd(), chunk); err != nil {
			if err != unix.EAGAIN {
				t.Fatal(err)
			}
			break
		}
	}
	if err := unix.Shutdown(s.Fd(), unix.SHUT_RDWR); err != nil {
		t.Fatal(err)
	}
	fds := []unix.PollFd{{Fd: int32(s.Fd()), Events: unix.POLLIN | unix.POLLOUT}}
	if _, err := unix.Poll(fds, 0); err != nil {
		t.Fatal(err)
	}
	if got := fds[0].Revents; got&unix.POLLHUP == 0 || got&unix.POLLOUT != 0 {
		t.Fatalf("set-up: revents %#x, want POLLHUP without POLLOUT", got)
	}
	return s, peer
}

// TestLookHangUpNotWritable checks a write look on such a socket parks (a
// select waits) where a read look is ready, alone and within a WaitSet,
// and that a plain write Wait counts the hang-up as ready.
func TestLookHangUpNotWritable(t *testing.T) {
	l, _ := newTestLoop(t)
	s, _ := fullHungUp(t, l)
	if err := s.Wait(DirWrite|WaitLook, 1); err != ErrWait {
		t.Fatalf("write look: %v, want ErrWait (select(2): not writable)", err)
	}
	if err := s.Wait(DirRead|WaitLook, 2); err != nil {
		t.Fatalf("read look: %v, want ready (POLLHUP: readable)", err)
	}
	l.Cancel(1)
	ws := []SetWait{{Sock: s, Dir: DirRead | WaitLook, Tok: 3}, {Sock: s, Dir: DirWrite | WaitLook, Tok: 4}}
	l.WaitSet(ws)
	if ws[0].Err != nil || ws[1].Err != ErrWait {
		t.Fatalf("WaitSet: read look %v, write look %v; want ready, ErrWait", ws[0].Err, ws[1].Err)
	}
	l.Cancel(4)
	if err := s.Wait(DirWrite, 5); err != nil {
		t.Fatalf("write Wait: %v, want ready (a send meets the hang-up)", err)
	}
}

// TestLookHangUpNoWake checks a write look parked on such a socket is not
// delivered by the hang-up's events (the first epoll_wait after the
// socket's registration reports the hang-up: a delivery then was a wake
// whose retry parked again), and is delivered once the peer reads and
// the send buffer frees.
func TestLookHangUpNoWake(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer := fullHungUp(t, l)
	if err := s.Wait(DirWrite|WaitLook, 1); err != ErrWait {
		t.Fatalf("write look: %v, want ErrWait", err)
	}
	out := make([]Token, 4)
	for i := 0; i < 3; i++ {
		if n, err := l.Select(10*time.Millisecond, out); n != 0 || err != nil {
			t.Fatalf("step %d: %d tokens (%v), err %v; want none (nothing changed)", i, n, out[:n], err)
		}
	}
	if err := s.Wait(DirWrite|WaitLook, 1); err != ErrWait {
		t.Fatalf("write look's retry: %v, want ErrWait", err)
	}
	// the peer reads everything: the send buffer frees
	if err := unix.SetNonblock(peer, true); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65536)
	for {
		if n, err := unix.Read(peer, buf); n <= 0 || err != nil {
			break
		}
	}
	if n, err := l.Select(10*time.Second, out); n != 1 || err != nil || out[0] != 1 {
		t.Fatalf("after the peer read: %d tokens (%v), err %v; want the look's", n, out[:n], err)
	}
	if err := s.Wait(DirWrite|WaitLook, 1); err != nil {
		t.Fatalf("write look's retry: %v, want ready", err)
	}
}
