package core

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Waits on many sockets at once (asok.select with socket sets): one
// poll(2) over all their fds, where a Wait each would make one per socket.

// SetWait is one wait of WaitSet: Wait(Dir, Tok) on Sock; Err is its
// result.
type SetWait struct {
	Sock *Socket
	Dir  int   // DirRead or DirWrite, WaitUntimed or WaitLook or'ed in
	Tok  Token // as Wait's
	Err  error // out: what Wait returned (ErrInvalid: Sock nil or another loop's)
}

// pollBatch is the poll(2) a WaitSet shares among its waits: its fds
// (each once, with the events of every wait on it), whether it was made
// and what it answered.
type pollBatch struct {
	fds    []unix.PollFd // kept between batches (grown, never shrunk)
	active bool          // a WaitSet runs: pollReady asks the batch
	made   bool          // the poll was made (at the first wait that needed it)
	ok     bool          // ... and succeeded: fds' Revents hold its answer
	now    time.Duration // the batch's time, once read (hasNow): batchNow
	hasNow bool
}

// WaitSet makes the waits of ws in order, each as Wait would make it,
// except that the readiness of their sockets comes from one poll(2) over
// all of them, made when the first wait needs to know, instead of one
// per wait. A socket's readiness is thus that of the moment of that poll
// rather than of its own wait, which changes nothing: no epoll_wait runs
// between the poll and the last park of the batch (the loop's thread is
// here), so an arrival after the poll raises an edge that the next Select
// reads and delivers to the token parked for it, as an arrival between
// Wait's own poll and its park does. If the poll fails (more fds than
// RLIMIT_NOFILE allows, no memory), each wait polls its fd alone.
// No allocation once the batch's pollfd array has grown to size.
func (l *Loop) WaitSet(ws []SetWait) {
	b := &l.pb
	fds := b.fds[:0]
	for i := range ws {
		s := ws[i].Sock
		if s == nil || s.l != l || s.closed {
			continue
		}
		ev := pollEvents(ws[i].Dir &^ (WaitUntimed | WaitLook))
		if ev == 0 {
			continue
		}
		if s.pslot == 0 {
			fds = append(fds, unix.PollFd{Fd: int32(s.fd), Events: ev})
			s.pslot = int32(len(fds))
		} else {
			fds[s.pslot-1].Events |= ev
		}
	}
	b.fds = fds
	b.active, b.made, b.ok, b.hasNow = true, false, false, false
	defer l.endBatch(ws)
	for i := range ws {
		w := &ws[i]
		if w.Sock == nil || w.Sock.l != l {
			w.Err = ErrInvalid
			continue
		}
		w.Err = w.Sock.Wait(w.Dir, w.Tok)
	}
}

// endBatch ends WaitSet's batch: its sockets forget their pollfd slots
// (a panic in a wait ends it too: a slot left would answer a later Wait).
func (l *Loop) endBatch(ws []SetWait) {
	for i := range ws {
		if s := ws[i].Sock; s != nil && s.l == l {
			s.pslot = 0
		}
	}
	l.pb.active = false
}

// afterBatchPoll, if set (tests), runs right after a WaitSet's poll:
// where an arrival the poll did not see must still wake its wait.
var afterBatchPoll func()

// batchNow returns the loop's time for an operation that parks: within a
// WaitSet, read once for the whole batch (its waits begin together, as
// their readiness is the one poll's), else now.
func (l *Loop) batchNow() time.Duration {
	b := &l.pb
	if !b.active {
		return l.now()
	}
	if !b.hasNow {
		b.now, b.hasNow = l.now(), true
	}
	return b.now
}

// pollEvents returns the poll(2) events of direction dir, 0 if invalid.
func pollEvents(dir int) int16 {
	switch dir {
	case DirRead:
		return unix.POLLIN
	case DirWrite:
		return unix.POLLOUT
	}
	return 0
}

// batchRevents answers pollRevents for s from the running WaitSet's
// poll: made now if it was not yet. ok is false if s is not in the batch
// or the poll failed (the caller then polls s alone).
func (l *Loop) batchRevents(s *Socket) (revents int16, ok bool) {
	b := &l.pb
	if !b.active || s.pslot == 0 {
		return 0, false
	}
	if !b.made {
		b.made = true
		b.ok = l.pollMany(b.fds)
		if afterBatchPoll != nil {
			afterBatchPoll()
		}
	}
	if !b.ok {
		return 0, false
	}
	return b.fds[s.pslot-1].Revents, true
}

// pollMany polls fds once without waiting (ppoll(2), as pollNow: arm64 has
// no poll), retrying on EINTR (a signal pending, Go's preemption one
// included, even with no wait); false if it failed. Not a raw syscall: a
// poll over thousands of fds takes a millisecond or more, which the
// runtime (a collection's stop) must not wait for.
func (l *Loop) pollMany(fds []unix.PollFd) bool {
	var zero unix.Timespec
	for i := range fds {
		fds[i].Revents = 0
	}
	l.polls++
	for {
		_, _, errno := unix.Syscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(unsafe.SliceData(fds))),
			uintptr(len(fds)), uintptr(unsafe.Pointer(&zero)), 0, 0, 0)
		if errno == unix.EINTR {
			continue
		}
		return errno == 0
	}
}

// Polls returns how many polls the loop made to learn whether its sockets
// were ready (Wait, WaitSet, a connect in progress: a poll(2), again if a
// signal interrupted it, counted once) and how many epoll_wait(2) calls
// Select made: for tests that count the syscalls of an operation.
func (l *Loop) Polls() (polls, epollWaits uint64) {
	return l.polls, l.p.waits
}

// Reads returns how many recv(2) calls the loop's stream receives made
// (each call counts, one made again after a signal too): for tests that
// count the syscalls of a receive.
func (l *Loop) Reads() uint64 {
	return l.reads
}
