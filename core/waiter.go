package core

import "time"

// waiter is one parked token: on a socket queue or look list (sock != nil)
// or sleeping.
// Waiters are recycled through the loop's free list, so parking does not
// allocate in steady state; gen changes at every park and release, which
// invalidates ready-list entries of an earlier park.
type waiter struct {
	tok        Token
	sock       *Socket // nil for a sleeper
	q          *queue  // the socket queue holding it, nil for a sleeper
	prev, next *waiter // queue links
	start      time.Duration
	// since is when this park began (start: the operation's first park);
	// with both a block and a total timeout, block counts from since
	since      time.Duration
	deadline   time.Duration
	seq        uint64
	tidx       int // index in the timer heap, -1 if no timer
	gen        uint32
	notified   bool          // delivered since its last park
	expired    bool          // its deadline passed
	progress   int           // Send: bytes of the caller's data sent so far
	connecting bool          // Connect: the kernel connect is in progress
	throttled  bool          // its timer is a throttle wake-up, not its deadline
	wake       time.Duration // a head held by its throttle: when it may go on (0: not held)
	receiving  bool          // a parked Receive: its deadline gets a last look (expire.go)
	recvq      bool          // a Receive queued behind the head: pat and cnt are its (shares.go)
	offered    bool          // Select armed its retry (offer.go)
	rpos       int           // position of its ready entry, while notified (deliver)
	untimed    bool          // a Wait with WaitUntimed: no deadline, SetTimeout leaves it
	look       bool          // a Wait with WaitLook: on a look list, not a queue (look.go)
	pat        Pattern
	cnt        int // a parked Receive's pattern and count (offer.go)
}

// queue is a FIFO of waiters (intrusive doubly linked list).
type queue struct {
	head, tail *waiter
}

// push appends w at the tail.
func (q *queue) push(w *waiter) {
	w.q = q
	w.prev = q.tail
	w.next = nil
	if q.tail != nil {
		q.tail.next = w
	} else {
		q.head = w
	}
	q.tail = w
}

// remove unlinks w from q.
func (q *queue) remove(w *waiter) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		q.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		q.tail = w.prev
	}
	w.prev, w.next, w.q = nil, nil, nil
}

// readyEntry is one delivered token. w == nil marks a token whose waiter
// was already released (socket closed): it is always valid, and sock is
// the socket whose close released it.
type readyEntry struct {
	w    *waiter
	gen  uint32
	tok  Token
	dead bool    // cancelled after delivery
	sock *Socket // a released waiter's socket
}

// valid reports whether the entry still belongs to its waiter's park.
func (e readyEntry) valid() bool {
	return !e.dead && (e.w == nil || e.w.gen == e.gen)
}

// newWaiter takes a waiter from the free list and registers it for tok.
func (l *Loop) newWaiter(tok Token, s *Socket, start time.Duration) *waiter {
	var w *waiter
	if n := len(l.free); n > 0 {
		w = l.free[n-1]
		l.free[n-1] = nil
		l.free = l.free[:n-1]
	} else {
		w = &waiter{tidx: -1}
	}
	w.tok, w.sock, w.start = tok, s, start
	w.gen++
	l.byTok.set(tok, w)
	return w
}

// parked returns the waiter parked under tok, or nil.
// An offered waiter is settled first (offer.go): if its retry took its
// result, tok's waiter is then the receive that parked after it, if any.
func (l *Loop) parked(tok Token) *waiter {
	w := l.byTok.get(tok)
	if w != nil && w.offered && l.settle(w.sock) {
		return l.byTok.get(tok)
	}
	return w
}

// release unregisters w, stops its timer, unlinks it and recycles it.
func (l *Loop) release(w *waiter) {
	l.timers.stop(w)
	if w.q != nil {
		w.q.remove(w)
	}
	l.byTok.del(w.tok)
	gen := w.gen + 1
	*w = waiter{tidx: -1, gen: gen}
	l.free = append(l.free, w)
}

// repark starts a new park of w: it may be delivered once again.
// Receive marks w receiving again after its block: a token that moves from
// Receive to Wait on the same queue must not get a receive's offer or last
// look (a read would take the data Wait waits to see).
func (l *Loop) repark(w *waiter) {
	w.notified = false
	w.receiving, w.recvq = false, false
	w.gen++
}

// deliver appends w's token to the ready list, at most once per park.
func (l *Loop) deliver(w *waiter) {
	if w == nil || w.notified {
		return
	}
	w.notified = true
	w.rpos = l.rbase + len(l.ready)
	l.ready = append(l.ready, readyEntry{w: w, gen: w.gen, tok: w.tok})
}

// deliverReleased makes tok ready after its waiter on s was released.
func (l *Loop) deliverReleased(tok Token, s *Socket) {
	l.ready = append(l.ready, readyEntry{tok: tok, sock: s})
	l.noteOwed(tok, l.rbase+len(l.ready)-1)
}

// noteOwed records the released entry of tok at position pos. Deliveries
// owed after a close are indexed by token, so that the calls every woken
// owner then makes (owes, dropReleased) cost O(1), not a scan of the
// ready list: a mass close would make those quadratic.
func (l *Loop) noteOwed(tok Token, pos int) {
	if l.owedAt == nil {
		l.owedAt = make(map[Token][]int)
	}
	l.owedAt[tok] = append(l.owedAt[tok], pos)
	l.owed++
}

// forgetOwed removes position pos from tok's released entries.
func (l *Loop) forgetOwed(tok Token, pos int) {
	ps := l.owedAt[tok]
	for i, p := range ps {
		if p == pos {
			ps[i] = ps[len(ps)-1]
			ps = ps[:len(ps)-1]
			break
		}
	}
	if len(ps) == 0 {
		delete(l.owedAt, tok)
	} else {
		l.owedAt[tok] = ps
	}
	l.owed--
}

// owes reports whether a delivery for a released waiter of tok is still
// to be handed out: tok is in use until then (a new park of it would be
// delivered twice). O(1).
func (l *Loop) owes(tok Token) bool {
	return l.owed != 0 && len(l.owedAt[tok]) > 0
}

// hasReady reports whether a valid token is ready, dropping stale entries
// from the front of the list.
func (l *Loop) hasReady() bool {
	for l.rhead < len(l.ready) && !l.ready[l.rhead].valid() {
		l.rhead++
	}
	if l.rhead == len(l.ready) {
		l.rbase += len(l.ready)
		l.ready = l.ready[:0]
		l.rhead = 0
		return false
	}
	return true
}

// drain copies up to len(out) ready tokens to out, in delivery order.
// Sleepers are released as they are handed out; stale entries are skipped.
func (l *Loop) drain(out []Token) int {
	n := 0
	for n < len(out) && l.rhead < len(l.ready) {
		e := l.ready[l.rhead]
		l.ready[l.rhead] = readyEntry{}
		l.rhead++
		if !e.valid() {
			continue
		}
		out[n] = e.tok
		n++
		if w := e.w; w != nil {
			if w.sock == nil {
				l.release(w)
			} else if w.receiving && l.of.pick != nil {
				l.tryOffer(w)
			}
		} else {
			l.forgetOwed(e.tok, l.rbase+l.rhead-1)
		}
	}
	if l.hasReady() && l.rhead >= len(l.ready)/2 {
		k := copy(l.ready, l.ready[l.rhead:])
		clear(l.ready[k:])
		l.ready = l.ready[:k]
		l.rbase += l.rhead
		l.rhead = 0
	}
	return n
}

// dropReleased removes ready entries of released waiters for tok: those
// of socket s, or of every socket if s is nil (Cancel). A call with tok
// on another closed socket must not drop what a close owes it.
func (l *Loop) dropReleased(tok Token, s *Socket) {
	ps := l.owedAt[tok]
	for i := 0; i < len(ps); {
		if e := &l.ready[ps[i]-l.rbase]; s == nil || e.sock == s {
			e.dead = true
			l.forgetOwed(tok, ps[i])
			ps = l.owedAt[tok] // (forgetOwed moved the last one here)
			continue
		}
		i++
	}
}

// orphan turns a pending ready entry of w's current park into a released
// one, so it stays valid after w is released. A notified waiter whose entry
// was already drained has none: its owner will retry anyway.
func (l *Loop) orphan(w *waiter) {
	if !w.notified {
		return
	}
	if i := w.rpos - l.rbase; i >= l.rhead && i < len(l.ready) {
		if e := &l.ready[i]; e.w == w && e.gen == w.gen {
			e.w, e.sock = nil, w.sock
			l.noteOwed(e.tok, w.rpos)
		}
	}
}
