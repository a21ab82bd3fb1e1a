package core

import (
	"bytes"
	"errors"
)

// ErrLimit reports that a line ("*l") or a read until close ("*a") grew
// past the socket's receive limit (SetLimit). Not LuaSocket's: off unless
// a limit is set.
var ErrLimit = errors.New("receive limit exceeded")

// SetLimit bounds the data a line or read-until-close receive may buffer
// on s: a line longer than n bytes (CRs counted, LF not) or more than n
// bytes before close fails with ErrLimit, returning (and consuming) its
// first n bytes as the partial result; the rest stays buffered for the
// next call. Count patterns are not limited (the caller chose n). n <= 0
// removes the limit (the default: LuaSocket buffers without bound).
// A receive waiting on s whose buffered data is now over the limit is
// woken: its retry fails with ErrLimit, as a receive made now would.
//
// The read looks' answer depends on the limit too: the head receive holds
// what its retry takes (claim, look.go), which is the first limit bytes
// once the data is over the limit, so a lowered limit can turn bytes it
// held into a new receive's (unclaimed) with no byte arriving. That holds
// whatever the head's state: parked, or delivered and not retried yet
// (by Unread, its deadline or its throttle's wake-up; its retry cuts at
// the limit then too, Receive's expired path included). So the looks are
// woken here, not at the head's retry a step later. Without a head
// receive (none, or a Wait or an accept at the head) every buffered byte
// is a new receive's whatever the limit; a raised limit only gives bytes
// back to the head (a look ready before may be ready no longer, as after
// any receive; it retries and parks again).
func (s *Socket) SetLimit(n int) {
	s.settled() // an armed retry would read without the limit
	s.limit = max(n, 0)
	h := s.rq.head
	cut := h != nil && h.receiving && !h.notified && !h.expired &&
		overLimit(h.pat, s.rb.data(), s.limit)
	// the looks first, as every delivery of readiness (lookBuffered does
	// nothing unless a new receive would find bytes)
	s.lookBuffered()
	// the head receive parked on data it would now cut retries now (its
	// timer was its deadline or its throttle's wake-up: neither is needed)
	if cut {
		s.l.timers.stop(h)
		h.throttled, h.wake = false, 0
		s.l.deliver(h)
	}
}

// Limit returns s's receive limit, 0 if none.
func (s *Socket) Limit() int {
	return s.limit
}

// overLimit reports whether data, buffered for pattern p, can no longer
// complete within limit bytes.
func overLimit(p Pattern, data []byte, limit int) bool {
	if limit <= 0 || len(data) <= limit {
		return false
	}
	switch p {
	case PatLine:
		return bytes.IndexByte(data[:limit+1], '\n') < 0
	case PatAll:
		return true
	}
	return false
}

// cut consumes and returns the first limit bytes of b as pattern p's
// partial result (ErrLimit).
func (e *rxEngine) cut(b *rxbuf, p Pattern, limit int) []byte {
	res := result(p, b.data()[:limit])
	b.consume(e, limit)
	return res
}
