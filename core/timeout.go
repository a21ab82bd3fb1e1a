package core

import "time"

// noDeadline marks an operation without a time limit.
const noDeadline = time.Duration(-1)

// retryDeadline computes the deadline of a park, LuaSocket timeout.c
// getretry on a monotonic clock: block and total (negative: no limit) are
// measured from start, the time of the operation's first park; since is
// the time this park (this wait) began, now the time of the computation
// (since <= now: a timeout set while the operation waits is worked out
// for the wait under way, from its own start).
//   - none/none: no deadline (noDeadline)
//   - block only: start+block
//   - total only: start+total
//   - both: since + min(block, max(start+total-since, 0)): each wait
//     lasts at most block, and the call at most total
//
// ok is false when the deadline is already <= now: time out at once.
func retryDeadline(block, total, start, since, now time.Duration) (dl time.Duration, ok bool) {
	switch {
	case block < 0 && total < 0:
		return noDeadline, true
	case total < 0:
		dl = addClamp(start, block)
	case block < 0:
		dl = addClamp(start, total)
	default:
		left := max(addClamp(start, total)-since, 0)
		dl = addClamp(since, min(block, left))
	}
	return dl, dl > now
}

// SetTimeout sets how long operations on s may wait, LuaSocket's way:
// block limits each wait, total the whole call; negative: no limit (the
// default). It applies to the operations waiting on s too, counted from
// each one's start: a LuaSocket object has one timeout, whoever waits.
func (s *Socket) SetTimeout(block, total time.Duration) {
	s.settled() // a pending offer's FollowPark rests on the old ones
	s.tmBlock, s.tmTotal = block, total
	s.rearm()
}

// rearm gives the waiters of s the deadlines of its current timeouts; one
// already passed ends the wait now (delivered at the next Select, its
// retry times out; a timeout set again before that does not undo it:
// settimeout(0) ends the waits, as LuaSocket's poll would). A
// head held by its throttle waits for the throttle's wake-up or the new
// deadline, whichever comes first, as block decides. A delivered waiter
// not retried yet loses its timer (the old deadline would time its retry
// out; the retry works the new one out), or expires if the new one has
// passed (its retry times out). Each deadline is the one the wait under
// way would have had with the new timeouts (retryDeadline): counted from
// the operation's start, and with both block and total set, block from
// the start of this wait (waiter.since), not from the SetTimeout call.
// Skipped: expired waiters and untimed waits (Wait with WaitUntimed: a select keeps its own deadline).
func (s *Socket) rearm() {
	if s.rq.head == nil && s.wq.head == nil {
		return
	}
	l := s.l
	now := l.now()
	for _, q := range [2]*queue{&s.rq, &s.wq} {
		for w := q.head; w != nil; w = w.next {
			if w.expired || w.untimed {
				continue
			}
			if w.notified { // its retry works the deadline out afresh,
				l.timers.stop(w) // unless it has passed: then it ends now
				if _, ok := s.deadline(w.start, w.since, now); !ok && !s.lastLook(w) {
					w.expired = true
				}
				continue
			}
			dl, ok := s.deadline(w.start, w.since, now)
			if !ok { // passed: it ends now, whatever timeout comes next
				l.timers.stop(w)
				w.throttled = false
				l.timeOut(w)
				continue
			}
			w.throttled = w.wake != 0 && (dl == noDeadline || w.wake < dl)
			switch {
			case w.throttled:
				l.timers.set(w, w.wake)
			case dl == noDeadline:
				l.timers.stop(w)
			default:
				l.timers.set(w, dl)
			}
		}
	}
}

// polls reports whether an operation on s cannot wait at all (a zero
// block or total timeout: LuaSocket's non-blocking poll). Such a call
// must ask the kernel itself: no Select runs between two of them (a loop
// polling at timeout 0 never yields), so the short read/send shortcuts
// (rdrained, wfull), which an edge clears only in Select, may be stale.
func (s *Socket) polls() bool {
	return s.tmBlock == 0 || s.tmTotal == 0
}

// deadline returns the deadline for a park that began at since of an
// operation started at start, and false if it has already passed (now).
func (s *Socket) deadline(start, since, now time.Duration) (time.Duration, bool) {
	return retryDeadline(s.tmBlock, s.tmTotal, start, since, now)
}
