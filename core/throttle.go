package core

// Throttling (the seed's throttle_receive / throttle_send): a token bucket
// per socket and direction on the loop clock. An operation that finds its
// bucket short parks on a timer until the budget is there - never on fd
// readiness, so a throttled socket costs other sockets nothing - then
// moves at most the budget: a stream receive reads at most that many bytes
// from the kernel, a stream send writes at most that many. A datagram goes
// whole once the bucket is not in debt, and its size is charged (the bucket
// may go into debt by one datagram). Unthrottled sockets pay one nil check.

import "time"

// creditUnit is the bucket's credit per byte: credit accrues rate units per
// nanosecond, so bytes = credit / creditUnit with no rounding drift.
const creditUnit = int64(time.Second)

// maxRate caps a throttle rate (bytes/s) so that credit arithmetic stays
// within int64: burst*creditUnit <= maxRate/4 * 1e9 < 2^63.
const maxRate = int64(1) << 34

// bucket is one direction's token bucket. It starts empty, so the bytes
// moved in the first T seconds are rate*T (+ one datagram at most).
type bucket struct {
	rate    int64         // bytes per second, 1..maxRate
	burst   int64         // credit cap, bytes: a quarter second of rate
	quantum int64         // smallest grant a stream op waits for: 1/50 s of rate
	credit  int64         // bytes*creditUnit; negative: datagram debt
	last    time.Duration // loop time credit was brought up to date
	pending bool          // the last allow refused: wake holds when to retry
	wake    time.Duration
}

// newBucket returns an empty bucket of rate bytes/s at loop time now.
func newBucket(rate int64, now time.Duration) *bucket {
	rate = min(max(rate, 1), maxRate)
	q := min(max(rate/50, 1), scratchSize)
	return &bucket{rate: rate, burst: max(rate/4, q), quantum: q, last: now}
}

// refill adds the credit earned since the last update, up to the burst.
func (b *bucket) refill(now time.Duration) {
	el := int64(now - b.last)
	if el <= 0 {
		return
	}
	b.last = now
	limit := b.burst * creditUnit
	if b.credit >= limit {
		return
	}
	if el > (limit-b.credit)/b.rate { // would reach the cap (and not overflow)
		b.credit = limit
		return
	}
	b.credit += el * b.rate
}

// allow reports how many bytes may move now for an operation that needs
// at least least bytes of budget (0: a datagram, which needs the bucket out
// of debt). If none may, it returns 0 and records in pending/wake when the
// budget will be there.
func (b *bucket) allow(now time.Duration, least int64) int64 {
	b.refill(now)
	need := least * creditUnit
	if b.credit >= need {
		b.pending = false
		return max(b.credit/creditUnit, 0)
	}
	short := need - b.credit
	b.pending = true
	b.wake = now + time.Duration((short+b.rate-1)/b.rate)
	return 0
}

// take charges n bytes moved.
func (b *bucket) take(n int) {
	b.credit -= int64(n) * creditUnit
}

// Throttle limits direction dir (DirRead: receives, DirWrite: sends) of s
// to bps bytes per second, measured on the loop clock; bps <= 0 lifts the
// limit. Rates are capped at 2^34 bytes/s. A new limit starts with an empty
// bucket; an operation parked on the old one is woken to retry at once.
func (s *Socket) Throttle(dir int, bps int64) error {
	q := s.queueFor(dir)
	if q == nil {
		return ErrInvalid
	}
	if s.closed {
		return ErrClosed
	}
	s.settled() // an armed retry and what follows it are not throttled
	if bps <= 0 {
		s.thr[dir-1] = nil
	} else {
		s.thr[dir-1] = newBucket(bps, s.l.now())
	}
	// the head held by the old limit retries now (its timer was the
	// throttle's wake-up, or its deadline when that came first)
	if h := q.head; h != nil && (h.throttled || h.wake != 0) && !h.notified {
		s.l.timers.stop(h)
		h.throttled, h.wake = false, 0
		s.l.deliver(h)
	}
	return nil
}

// Throttled returns the rate of direction dir of s in bytes/s, 0 if none.
func (s *Socket) Throttled(dir int) int64 {
	if s.queueFor(dir) == nil || s.thr[dir-1] == nil {
		return 0
	}
	return s.thr[dir-1].rate
}

// throttleWake returns (and clears) the retry time recorded by the last
// refused allow of the bucket behind queue q, ok false if none.
func (s *Socket) throttleWake(q *queue) (time.Duration, bool) {
	b := s.thr[0]
	if q == &s.wq {
		b = s.thr[1]
	}
	if b == nil || !b.pending {
		return 0, false
	}
	b.pending = false
	return b.wake, true
}

// throttledHead reports whether w is parked on its throttle timer.
func throttledHead(w *waiter) bool {
	return w != nil && w.throttled
}
