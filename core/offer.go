package core

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"
)

// errEOF is an end of stream seen by a retry's read, kept for the
// socket's next read (readRaw reports it as a read of 0 bytes).
var errEOF = errors.New("end of stream")

// Offers: the retry of a receive that waited may read the socket itself,
// without calling into core (capi does it in C: one cgo call per receive
// that waits, instead of two).
//
// When Select hands out the token of a parked line or count receive whose
// socket has nothing buffered, it arms the Pickup for that token: the
// retry with the same socket, pattern and count may make the one read the
// receive would make now, and return the result when that read holds it
// whole. The waiter stays the head of the socket's read queue (marked
// offered) until the offer is settled, so the queue order and every later
// call see the socket as if the retry had not happened yet.
//
// The offer is settled (settle) before anything else touches the socket's
// receive state or the token: a call on the socket's read queue, Buffered,
// Received, Unread, Close, a lookup of the token (any call taking it), the
// next Select or Timeout. Settling asks the Pickup what the retry did. If
// it read, the read is accounted as core's own reads are (Received, the
// short-read and end-of-stream state); if it took its result from that
// read, the result's bytes are consumed, the rest goes to the socket's
// buffer and the waiter's operation ends; if it read without taking (an
// incomplete result, a line holding a CR before its end, EAGAIN, EOF, an
// error), everything read goes to the buffer and the retry goes on in
// core. If it did not read, nothing happened. No byte is lost or
// reordered either way.
//
// What may follow a taken retry, still without core (Follow, chosen at
// Arm): sends with the retry's token, when no sender is queued on the
// socket, no send throttle is set and the send buffer was not full (a
// send that does not complete whole goes on in core: SendAfter); and one
// receive with the retry's token that finds nothing, when the retry's
// read drained the socket and left nothing buffered, no other receive is
// queued and the socket's timeouts are not zero: it parks, and settling
// parks it in core as Receive would have (parkLater). A call on the
// socket's write queue ends the sends' permission (NoSend); the calls that
// change what these decisions rest on (SetTimeout, SetLimit, Throttle,
// Shutdown) settle first.

// Pickup is where Select arms the retries of waiting receives (SetPickup).
// Its methods are called from the loop's thread only.
type Pickup interface {
	// Arm lets the retry of the receive parked under tok on s (pattern p,
	// count n) read fd once, and f follow it. False: not armed.
	Arm(s *Socket, tok Token, fd int, p Pattern, n int, f Follow) bool
	// Disarm ends the arming of tok and reports what its retry did. The
	// bytes of a Read stay valid until Reset.
	Disarm(tok Token) Read
	// NoSend ends FollowSend for the arming of tok (a call on the write
	// queue of its socket).
	NoSend(tok Token)
	// Reset: no Read is needed any more (the memory may be reused).
	Reset()
}

// Follow is what may follow a taken retry before core settles it.
type Follow uint8

const (
	// FollowSend: sends with the retry's token, made whole at once.
	FollowSend Follow = 1 << iota
	// FollowPark: one receive with the retry's token that would wait.
	FollowPark
	// FollowClock: such a park notes its time (Read.ParkAt): the socket
	// has a timeout, which counts from the park.
	FollowClock
)

// Read is what an armed retry did (Pickup.Disarm).
type Read struct {
	Done  bool       // it read (false: the rest is zero)
	Data  []byte     // the bytes it read
	Size  int        // how many it asked for: a shorter read drained the socket (a line read on by a peek, capi/pickup.c, sets it so)
	Errno unix.Errno // the read's error (EAGAIN included), 0 if none
	Taken bool       // it returned its result: Data[:Used] consumed
	Used  int
	// Parked: after the taken result, a receive of the same token
	// (pattern Park, count Cnt) found nothing and was told to wait.
	Parked bool
	Park   Pattern
	Cnt    int
	ParkAt time.Duration // on the loop's clock; < 0: not noted (now is used)
}

// offers is the loop's offer state.
type offers struct {
	pick Pickup
	list []*waiter // the waiters of armed retries (settled ones: nil)
	live int       // armed retries not settled
}

// SetPickup makes Select arm the retries of waiting receives in pk (nil:
// none; pending offers are settled first).
func (l *Loop) SetPickup(pk Pickup) {
	l.settleAll()
	l.of.pick = pk
}

// tryOffer arms the retry of w, whose token Select is handing out, when w
// is a line or count receive at the head of a socket with nothing buffered.
func (l *Loop) tryOffer(w *waiter) {
	s := w.sock
	of := &l.of
	if !w.receiving || w.expired || w.throttled || w.offered || s.rq.head != w || s.offer != 0 ||
		s.closed || s.typ != unix.SOCK_STREAM || s.limit != 0 || s.thr[0] != nil || s.socks != nil ||
		s.rerr != nil || len(s.rb.data()) != 0 || !(w.pat == PatLine || (w.pat == PatCount && w.cnt > 0)) {
		return
	}
	var f Follow
	if s.wq.head == nil && s.thr[1] == nil && !s.wfull {
		f |= FollowSend
	}
	if w.next == nil && s.tmBlock != 0 && s.tmTotal != 0 && !s.noShort {
		f |= FollowPark
		if s.tmBlock > 0 || s.tmTotal > 0 {
			f |= FollowClock
		}
	}
	if !of.pick.Arm(s, w.tok, s.fd, w.pat, w.cnt, f) {
		return
	}
	of.list = append(of.list, w)
	of.live++
	s.offer = len(of.list)
	w.offered = true
}

// settle ends the offer of s (see the top of this file). It reports
// whether the retry took its result (the waiter is then gone).
func (l *Loop) settle(s *Socket) bool {
	of := &l.of
	w := of.list[s.offer-1]
	of.list[s.offer-1] = nil
	of.live--
	s.offer = 0
	w.offered = false
	r := of.pick.Disarm(w.tok)
	if !r.Done {
		return false
	}
	k := len(r.Data)
	s.rxTotal += uint64(k)
	switch {
	case r.Errno == unix.EAGAIN:
		s.rdrained = true
	case r.Errno != 0:
		s.rerr = sysErr("recv", r.Errno)
	case k == 0:
		s.rerr = errEOF
		s.rdrained = false
	default: // as readRaw: a short read emptied the kernel queue
		s.rdrained = k < r.Size && !s.noShort
	}
	// what the read kept is news to the read looks (look.go)
	defer s.lookBuffered()
	if r.Taken {
		if rest := r.Data[r.Used:]; len(rest) > 0 {
			s.rb.add(&l.rx, rest)
		}
		if w.pat == PatLine && r.Used > bufSize { // longLine's hint, as core's buffered sets it
			s.rb.long = longHint(r.Used - 1)
		}
		tok := w.tok
		s.done(&s.rq, w)
		if r.Parked {
			s.parkLater(tok, r.Park, r.Cnt, r.ParkAt)
		}
		return true
	}
	if k > 0 {
		s.rb.add(&l.rx, r.Data)
		s.rb.scan = 0
	}
	return false
}

// parkLater parks the receive of tok (pattern p, count n) that followed a
// taken retry and was told to wait (FollowPark), as Receive would have
// parked it at time at (< 0: now), its deadline counted from then. If
// that deadline has passed already (the host kept the loop busy for
// longer), tok is delivered expired, and its retry times out as
// Receive's would.
func (s *Socket) parkLater(tok Token, p Pattern, n int, at time.Duration) {
	l := s.l
	s.rdTok = true
	start := startLater
	if at >= 0 && at <= l.now() {
		start = at
	}
	w, err := s.block(&s.rq, nil, tok, start)
	if err == ErrWait {
		w.receiving, w.pat, w.cnt = true, p, n
		return
	}
	w = l.newWaiter(tok, s, l.now())
	s.rq.push(w)
	w.expired = true
	l.deliver(w)
}

// noSend ends the FollowSend of s's pending offer: for the calls on its
// write queue.
func (s *Socket) noSend() {
	if s.offer != 0 {
		l := s.l
		l.of.pick.NoSend(l.of.list[s.offer-1].tok)
	}
}

// settleAll settles every pending offer; the Pickup's memory is then free.
func (l *Loop) settleAll() {
	of := &l.of
	if of.pick == nil {
		return
	}
	if of.live > 0 {
		for _, w := range of.list {
			if w != nil {
				l.settle(w.sock)
			}
		}
	}
	clear(of.list)
	of.list = of.list[:0]
	of.pick.Reset()
}

// settled settles s's pending offer, if any: for the calls that read or
// change s's receive state.
func (s *Socket) settled() {
	if s.offer != 0 {
		s.l.settle(s)
	}
}
