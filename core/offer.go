package core

import (
	"bytes"
	"errors"

	"golang.org/x/sys/unix"
)

// Offers: Select completes a parked receive itself, so that its retry
// need not call into core (capi answers it from C: one cgo call per
// receive that waits, instead of two).
//
// When Select hands out the token of a parked line or count receive whose
// socket has nothing buffered, it reads the socket once into the loop's
// offer arena. If that read holds the whole result, and the result is a
// contiguous piece of it (a line with no CR, or one just before its LF),
// the result is offered to the Pickup under the token. Nothing is consumed
// yet: the read bytes stay in the arena, and the waiter stays the head of
// the socket's read queue (marked offered), so the queue order and every
// later call see the socket as if the retry had not happened yet.
//
// The offer is settled (settle) before anything else touches the socket's
// receive state or the token: a call on the socket's read queue, Buffered,
// Received, Unread, Close, a lookup of the token (any call taking it), the
// next Select or Timeout. Settling asks the Pickup whether the retry took
// the result: if it did, the result's bytes are consumed, the rest of the
// read goes to the socket's buffer and the waiter's operation ends; if
// not, the whole read goes to the socket's buffer, in front of anything
// read later, and the waiter stays parked and delivered, its retry still
// to come. Either way no byte is lost or reordered.

// Pickup is where Select offers the receives it completed (SetPickup).
// Both methods are called from the loop's thread only.
type Pickup interface {
	// Offer makes res the answer to the retry of the receive parked
	// under tok on s (pattern p, count n). res lies in receive memory (see
	// Allocator) and stays valid until Withdraw. False: not offered.
	Offer(s *Socket, tok Token, p Pattern, n int, res []byte) bool
	// Withdraw ends the offer of tok and reports whether the retry took
	// its result. Called once per accepted Offer.
	Withdraw(tok Token) bool
}

// Sizes of the offer arena: one read per offer, of at most maxOfferRead
// bytes; no offer is tried once less than minOfferRoom is left (the arena
// is reused from the next Select on, after every offer is settled).
const (
	arenaSize    = 128 << 10
	maxOfferRead = 64 << 10
	minOfferRoom = 4 << 10
)

// errEOF is the end of stream seen by an offer's read, kept for the
// socket's next read (readRaw reports it as a read of 0 bytes).
var errEOF = errors.New("end of stream")

// offer is one result offered by Select.
type offer struct {
	s    *Socket
	w    *waiter
	raw  []byte // what Select read for it, in the arena
	used int    // bytes of raw consumed if the result is taken
}

// offers is the loop's offer state.
type offers struct {
	pick  Pickup
	arena []byte
	off   int     // arena bytes used by the pending offers
	list  []offer // pending offers (settled ones have s == nil)
	live  int     // pending offers
}

// SetPickup makes Select offer completed receives to pk (nil: no offers;
// pending offers are settled first).
func (l *Loop) SetPickup(pk Pickup) {
	l.settleAll()
	l.of.pick = pk
}

// tryOffer completes the receive of w, whose token Select is handing out,
// when one read holds its whole result, and offers that result.
func (l *Loop) tryOffer(w *waiter) {
	s := w.sock
	of := &l.of
	if !w.receiving || w.expired || w.throttled || w.offered || s.rq.head != w || s.offer != 0 ||
		s.closed || s.typ != unix.SOCK_STREAM || s.limit != 0 || s.thr[0] != nil || s.socks != nil ||
		len(s.rb.data()) != 0 || !(w.pat == PatLine || (w.pat == PatCount && w.cnt > 0)) {
		return
	}
	if of.arena == nil {
		of.arena = l.rx.allocBuf(arenaSize)[:arenaSize]
	}
	room := len(of.arena) - of.off
	if room < minOfferRoom {
		return
	}
	buf := of.arena[of.off : of.off+min(room, maxOfferRead)]
	s.rdTok = true
	k, err := s.readRaw(buf)
	switch {
	case err == errAgain:
		return
	case err != nil:
		s.rerr = err // for the retry: it returns it as if it read it
		return
	case k == 0:
		s.rerr = errEOF
		return
	}
	raw := buf[:k]
	end, skip, ok, scanned := matchEnd(w.pat, w.cnt, raw, 0)
	var res []byte
	if ok {
		res, ok = offerResult(w.pat, raw[:end])
	}
	if !ok || !of.pick.Offer(s, w.tok, w.pat, w.cnt, res) {
		s.rb.add(&l.rx, raw) // the retry finds it buffered
		if !ok {
			s.rb.scan = scanned
		}
		return
	}
	of.list = append(of.list, offer{s: s, w: w, raw: raw, used: end + skip})
	of.off += k
	of.live++
	s.offer = len(of.list)
	w.offered = true
}

// offerResult returns pattern p's result for the matched bytes b when it
// is a piece of b (no copy, b unchanged): a line holding no CR, or only
// one just before its LF.
func offerResult(p Pattern, b []byte) ([]byte, bool) {
	if p != PatLine {
		return b, true
	}
	switch i := bytes.IndexByte(b, '\r'); {
	case i < 0:
		return b, true
	case i == len(b)-1:
		return b[:i], true
	}
	return nil, false
}

// settle ends the pending offer of s (see the top of this file). It
// reports whether the retry took the result (the waiter is then gone).
func (l *Loop) settle(s *Socket) bool {
	of := &l.of
	o := of.list[s.offer-1]
	of.list[s.offer-1] = offer{}
	of.live--
	s.offer = 0
	w := o.w
	w.offered = false
	if of.pick.Withdraw(w.tok) {
		if rest := o.raw[o.used:]; len(rest) > 0 {
			s.rb.add(&l.rx, rest)
		}
		s.done(&s.rq, w)
		return true
	}
	s.rb.add(&l.rx, o.raw)
	s.rb.scan = 0
	return false
}

// settleAll settles every pending offer and frees the arena for reuse.
func (l *Loop) settleAll() {
	of := &l.of
	if of.live > 0 {
		for i := range of.list {
			if s := of.list[i].s; s != nil {
				l.settle(s)
			}
		}
	}
	clear(of.list)
	of.list = of.list[:0]
	of.off = 0
}

// settled settles s's pending offer, if any: for the calls that read or
// change s's receive state.
func (s *Socket) settled() {
	if s.offer != 0 {
		s.l.settle(s)
	}
}
