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
// (readable, below: data buffered that no waiting receive holds, or an
// end of stream or an error read ahead), as socket.select counts
// LuaSocket's buffer (check_dirty): a receive would not wait. No event
// announces such data, and the read that put it there may have taken the
// edge of its arrival with it (epoll reports an edge only if the fd
// still polls ready): a receive
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
		if len(l.shares) > 0 { // another operation than a receive (shares.go)
			l.leaveShare(tok, nil)
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
		if w == nil && len(l.shares) > 0 { // a new operation of tok (shares.go)
			l.leaveShare(tok, nil)
		}
	}
	// (the fd first: an offer armed on s is settled only when the fd is
	// empty, and its retry, which has not read yet, keeps its way in C)
	if s.selectReady(dir) || (dir == DirRead && s.readable()) {
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

// readable reports whether a new receive on s would find something
// without reading its fd: data buffered that no waiting receive holds
// (unclaimed), or an end of stream or an error that a read ahead kept
// (offer.go, expire.go). A pending offer is settled first: the retry it
// armed may have read the fd and kept the rest.
func (s *Socket) readable() bool {
	s.settled()
	return s.unclaimed() > 0 || s.rerr != nil
}

// lookBuffered delivers the read looks of s when it holds something for
// its next receive (readable): for the reads and the Unread that put it
// there, which no event announces (see the top of this file), and for a
// waiting receive that let go of its partial (Cancel).
func (s *Socket) lookBuffered() {
	if s.rl.head != nil && (s.rerr != nil || s.unclaimed() > 0) {
		s.l.deliverLooks(&s.rl)
	}
}

// unclaimed returns how many of s's buffered bytes no waiting receive
// holds: what a new receive would get at once. The receive parked at the
// head of the read queue holds what its retry will take: its partial
// result (a line not ended, a count not reached, "*a" before the end),
// or, when bytes came since it parked (an offer's read, its last look,
// Unread, a lowered limit), its result and the rest is unclaimed. A
// LuaSocket receive keeps its partial in the call's own buffer
// (luaL_Buffer), so socket.select and dirty() do not see it: a select
// that counted it answered "readable" at once for as long as that
// receive waited (a busy loop). A receive queued behind the head holds
// nothing yet, as a LuaSocket call not made yet.
func (s *Socket) unclaimed() int {
	data := s.rb.data()
	h := s.rq.head
	if len(data) == 0 || h == nil || !h.receiving {
		return len(data)
	}
	return len(data) - s.claim(h, data)
}

// claim returns how many bytes of data, s's buffer, the retry of the head
// receive h would take: as Receive's retry, the limit's cut first, then a
// complete result (with its line end), else everything (its partial).
func (s *Socket) claim(h *waiter, data []byte) int {
	if overLimit(h.pat, data, s.limit) {
		return s.limit
	}
	if end, skip, ok, _ := matchEnd(h.pat, h.cnt, data, s.rb.scan); ok {
		return end + skip
	}
	return len(data)
}
