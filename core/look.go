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
// fd: nil if ready (the look ends), else it parks again. Nothing else
// touches the lists: a socket's operations never see its looks.

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
	if s.pollReady(dir) {
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
