package core

// Looks: the waits of a select (asok.select with sets, a C host's select
// over asok_waitset). A select asks whether a socket is ready; it does no
// I/O, so it must not take a turn in the socket's queue: a turn held
// there kept every later waiter behind it (another select did not see
// the socket readable, a receive or an accept made meanwhile did not read
// until the select had retried), and readiness woke one waiter at a time,
// where socket.select shows the socket to every caller.
//
// A look (Wait with WaitLook) parks its token on the socket's look list of
// its direction (rl, wl) instead: readiness in that direction (an epoll
// event, dispatch) delivers every look of the list at once, before the
// queue's head, and so does a close (teardown: released, as queued
// waiters are); Cancel drops one without waking anyone. A look has no
// deadline (the select keeps its own) and its retry, as Wait's, polls the
// fd: nil if ready (the look ends), else it parks again. A socket's
// operations never see its looks.
//
// A read look also counts what asok holds for the socket's next receive
// (readable, below: data buffered, or an end of stream or an error read
// ahead), as socket.select counts LuaSocket's buffer (check_dirty): a
// receive would not wait. No event announces such data, and the read
// that put it there may have taken the edge of its arrival with it
// (epoll reports an edge only if the fd still polls ready): a receive
// made while a look waits, which left data buffered; the read of a
// receive's retry armed by Select (offer.go), made before the look's
// retry; a receive's last look at its deadline (expire.go), made before
// the epoll_wait that would have seen the edge; Unread. Each delivers the
// read looks then (lookBuffered), and their retries see it.

// look is Wait's work for a look of direction dir (flags removed).
func (s *Socket) look(dir int, tok Token) error {
	lq := s.looksFor(dir)
	if lq == nil {
		return ErrInvalid
	}
	l := s.l
	if s.closed {
		// as begin: the owner learns of the close now, and a delivery
		// still owed for tok by the close is not handed out too
		if l.owed > 0 {
			l.dropReleased(tok, s)
		}
		return ErrClosed
	}
	var w *waiter
	if tok != 0 {
		// a token is parked in one place: a retry is a look of this list
		w = l.parked(tok)
		if w != nil && w.q != lq {
			return ErrBusy
		}
		if w == nil && l.owes(tok) { // delivered after a close, not handed out yet
			return ErrBusy
		}
	}
	// (the fd first: an offer armed on s is settled only when the fd is
	// empty, and its retry, which has not read yet, keeps its way in C)
	if s.pollReady(dir) || (dir == DirRead && s.readable()) {
		if w != nil {
			l.release(w)
		}
		return nil
	}
	if tok == 0 { // (as Wait's token 0: never parks)
		return ErrTimeout
	}
	if w == nil {
		w = l.newWaiter(tok, s, 0) // (no deadline: the start is not read)
		w.look = true
		lq.push(w)
	}
	l.repark(w)
	return ErrWait
}

// looksFor returns the look list of direction dir, nil if dir is invalid.
func (s *Socket) looksFor(dir int) *queue {
	switch dir {
	case DirRead:
		return &s.rl
	case DirWrite:
		return &s.wl
	}
	return nil
}

// deliverLooks delivers every look of list q (each once per park).
func (l *Loop) deliverLooks(q *queue) {
	for w := q.head; w != nil; w = w.next {
		l.deliver(w)
	}
}

// readable reports whether a receive on s would find something without
// reading its fd: data buffered, or an end of stream or an error that a
// read ahead kept (offer.go, expire.go). A pending offer is settled
// first: the retry it armed may have read the fd and kept the rest.
func (s *Socket) readable() bool {
	s.settled()
	return len(s.rb.data()) > 0 || s.rerr != nil
}

// lookBuffered delivers the read looks of s when it holds something for
// its next receive (readable): for the reads and the Unread that put it
// there, which no event announces (see the top of this file).
func (s *Socket) lookBuffered() {
	if s.rl.head != nil && (len(s.rb.data()) > 0 || s.rerr != nil) {
		s.l.deliverLooks(&s.rl)
	}
}
