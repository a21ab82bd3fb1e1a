package core

import (
	"testing"

	"golang.org/x/sys/unix"
)

// A select's look answers as select(2) does (look.go: selectReady): a
// hang-up makes a socket readable, not writable. A unix stream socket shut
// down both ways (POLLHUP) whose send buffer its peer leaves full polls
// POLLIN|POLLHUP and no POLLOUT: socket.select lists it readable only. A
// plain Wait (an operation's turn) still counts the hang-up, as
// LuaSocket's own wait does (its operation then meets the error).

// fullHungUp returns a unix stream socket whose send buffer is full (the
// peer does not read) and which is shut down both ways.
func fullHungUp(t *testing.T, l *Loop) *Socket {
	t.Helper()
	s, _ := socketPair(t, l)
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
	return s
}

// TestLookHangUpNotWritable checks a write look on such a socket parks (a
// select waits) where a read look is ready, alone and within a WaitSet,
// and that a plain write Wait counts the hang-up as ready.
func TestLookHangUpNotWritable(t *testing.T) {
	l, _ := newTestLoop(t)
	s := fullHungUp(t, l)
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
