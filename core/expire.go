package core

import "time"

// expire fires every timer whose deadline is <= now: sleepers are
// delivered; socket waiters are marked expired and delivered, except those
// woken by their throttle timer (delivered to retry). A parked receive first gets a last look at its socket: poll(2) scans the
// descriptors once more after its timeout, so LuaSocket returns data that
// is there by the time it runs again, even when the process ran late. The
// same read here keeps asok's answer equal to LuaSocket's when the loop
// runs late; data that arrives after this look stays for the next call.
func (l *Loop) expire(now time.Duration) {
	for w := l.timers.popExpired(now); w != nil; w = l.timers.popExpired(now) {
		l.timeOut(w)
	}
}

// timeOut ends the wait of w, whose timer fired (its deadline, or its
// throttle's wake-up if throttled): delivered, and expired unless
// throttled. EOF or an error seen by a receive's last look ends its retry
// with them (LuaSocket's result), not with a timeout.
func (l *Loop) timeOut(w *waiter) {
	if w.sock != nil && !w.throttled {
		if !(w.receiving && w.sock.lastLook()) {
			w.expired = true
		}
	}
	w.throttled = false
	l.deliver(w)
}

// lastLook is that last look: one non-blocking read into s's receive
// buffer. It reports whether the read saw EOF or an error.
func (s *Socket) lastLook() bool {
	e := &s.l.rx
	if s.closed || s.listening || e.scratch == nil {
		return false
	}
	s.rdTok = false // a real read, not the short-read shortcut (receive.go)
	k, err := s.readRaw(e.scratch)
	switch {
	case err == errAgain:
		return false
	case err != nil || k == 0:
		return true
	}
	s.rb.add(e, e.scratch[:k])
	return false
}
