package core

// The waiter-token protocol shared by every socket operation. Each socket
// has a read queue (Receive, Accept, Wait(DirRead)) and a write queue
// (Send, Connect, Wait(DirWrite)); only a queue's head does I/O, and it
// parks only after the kernel said "would block" (edge-triggered epoll:
// the next arrival then fires an edge).

import "time"

// startLater is the start time begin returns when the operation has not
// parked yet: block reads the clock only if it parks (most calls finish
// without it). The start of an operation is thus the time of its first
// park, microseconds after its first call.
const startLater = time.Duration(-1)

// begin starts or resumes an operation of tok on queue q. It returns the
// waiter of tok (nil if tok has none), the operation's start time (or
// startLater), and a non-nil error when the call must return now without
// doing I/O: ErrClosed, ErrBusy, ErrTimeout (token 0 behind others, or an
// expired waiter) or ErrWait (parked behind the head). ErrTimeout with a
// non-nil waiter is an expired head: the caller returns its partial result
// and calls done. recv says the call is a stream Receive: a share of s's
// data kept for tok at s's close is its own (shares.go); any other call
// that takes tok up gives such a share back (leaveShare).
func (s *Socket) begin(q *queue, tok Token, recv bool) (*waiter, time.Duration, error) {
	l := s.l
	if s.closed {
		// the owner of tok learns of the close now: a delivery still owed
		// for it (its waiter released by the close) is not handed out too
		if l.owed > 0 {
			l.dropReleased(tok, s)
		}
		if len(l.shares) > 0 {
			keep := s // a Receive's retry: resultAtClose
			if !recv {
				keep = nil
			}
			l.leaveShare(tok, keep)
		}
		return nil, startLater, ErrClosed
	}
	if s.offer != 0 {
		if q == &s.rq {
			l.settle(s)
		} else {
			s.noSend()
		}
	}
	if tok == 0 {
		if q.head != nil {
			return nil, startLater, ErrTimeout
		}
		return nil, startLater, nil
	}
	w := q.head // the usual retry: tok is the head (no map lookup)
	if w == nil || w.tok != tok {
		w = l.parked(tok)
	}
	if w != nil {
		switch {
		case w.q != q:
			return nil, startLater, ErrBusy
		case q.head == w && w.expired:
			return w, w.start, ErrTimeout
		case q.head == w:
			return w, w.start, nil
		case w.expired:
			l.release(w)
			return nil, startLater, ErrTimeout
		}
		l.repark(w)
		return nil, startLater, ErrWait
	}
	if l.owes(tok) { // delivered after a close, not handed out yet
		return nil, startLater, ErrBusy
	}
	if len(l.shares) > 0 { // a new operation of tok (s is open: not its share's)
		l.leaveShare(tok, nil)
	}
	if q.head == nil {
		return nil, startLater, nil
	}
	now := l.batchNow()
	dl, ok := s.deadline(now, now, now)
	if !ok {
		return nil, now, ErrTimeout
	}
	w = l.newWaiter(tok, s, now)
	w.since = now
	q.push(w)
	if dl != noDeadline {
		l.timers.set(w, dl)
	}
	return nil, now, ErrWait
}

// block handles "would block" for the head operation of tok on q: it
// parks tok as the queue head with a fresh deadline and returns ErrWait,
// or returns ErrTimeout (token 0, expired waiter, deadline passed); the
// caller then consumes its partial result and calls done. If the would-
// block was the throttle's (throttle.go), or a unix SendTo's full receiver
// (udp.go), the timer is set for the retry when that comes before the
// deadline.
func (s *Socket) block(q *queue, w *waiter, tok Token, start time.Duration) (*waiter, error) {
	l := s.l
	wake, throttled := s.throttleWake(q)
	if s.retryAt != 0 && q == &s.wq { // a unix SendTo polls (udp.go dgramRetry)
		if !throttled || s.retryAt < wake {
			wake, throttled = s.retryAt, true
		}
		s.retryAt = 0
	}
	if tok == 0 || (w != nil && w.expired) {
		return w, ErrTimeout
	}
	now := l.batchNow()
	if start == startLater {
		start = now
	}
	// this wait begins now; an operation's first park began at its start
	// (parkLater's park, made in C at start, is noted here later)
	since := now
	if w == nil {
		since = start
	}
	dl, ok := s.deadline(start, since, now)
	if !ok {
		return w, ErrTimeout
	}
	if w == nil {
		w = l.newWaiter(tok, s, start)
		q.push(w)
	}
	l.repark(w)
	w.since = since
	w.wake = 0
	if throttled {
		w.wake = wake // kept for rearm and a lifted limit (timeout.go, throttle.go)
	}
	w.throttled = throttled && (dl == noDeadline || wake < dl)
	switch {
	case w.throttled:
		l.timers.set(w, wake)
	case dl == noDeadline:
		l.timers.stop(w)
	default:
		l.timers.set(w, dl)
	}
	return w, ErrWait
}

// done ends the operation of w (nil: it never parked): pops it and, if
// the queue is still non-empty, delivers the new head so it retries. On
// the read queue it first delivers the read looks if what is buffered is
// a new receive's now (lookBuffered): w's read may have left data and
// taken the edge, and w may have held a partial (a receive's; its token
// may end in another call: an expired one in Wait or Accept), which
// unclaimed counted as its own until now (look.go).
func (s *Socket) done(q *queue, w *waiter) {
	if w != nil {
		s.l.release(w)
	}
	if q == &s.rq {
		s.lookBuffered()
	}
	s.l.deliver(q.head)
}

// queueFor returns the queue of direction dir, nil if dir is invalid.
func (s *Socket) queueFor(dir int) *queue {
	switch dir {
	case DirRead:
		return &s.rq
	case DirWrite:
		return &s.wq
	}
	return nil
}
