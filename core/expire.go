package core

import (
	"time"

	"golang.org/x/sys/unix"
)

// expire fires every timer whose deadline is <= now: sleepers are
// delivered; socket waiters are marked expired and delivered, except those
// woken by their throttle timer (delivered to retry) and those whose
// operation the last look finds able to go on.
func (l *Loop) expire(now time.Duration) {
	for w := l.timers.popExpired(now); w != nil; w = l.timers.popExpired(now) {
		l.timeOut(w)
	}
}

// timeOut ends the wait of w, whose timer fired (its deadline, or its
// throttle's wake-up if throttled): delivered, and expired unless
// throttled or its last look found its socket ready.
func (l *Loop) timeOut(w *waiter) {
	if w.sock != nil && !w.throttled && !w.sock.lastLook(w) {
		w.expired = true
	}
	w.throttled = false
	l.deliver(w)
}

// lastLook is LuaSocket's last look after a timeout: socket_waitfd's
// poll(2) answers for the fd as it is when it runs, so a process that ran
// late still reads what arrived (to the EOF or the reset behind it),
// accepts a queued connection, takes a datagram, sends where there is room
// again or meets the peer's reset. lastLook does the same for w, the head
// of a queue of s, whose deadline has passed, and reports whether w's
// operation is to go on (true) rather than time out (w expires: its retry
// returns its partial result without more I/O).
//
// A stream receive reads now, as the poll's answer lets socket_recv read
// (drain): its retry gets what was there when the deadline was met, and
// goes on only to the EOF or the error found behind it, or, with both a
// block and a total timeout, to a new wait when it read something and the
// total has time left (LuaSocket's next getretry: min(block, total left)). Any other
// operation goes on if the kernel says its fd is ready now (an error or a
// hangup included): its retry does it as any retry does, until it would
// block again; block then finds the deadline passed and ends it with a
// timeout, as socket_send and socket_accept do. A waiter behind the head,
// or on a closed socket, expires.
func (s *Socket) lastLook(w *waiter) bool {
	if s.closed || w.q == nil || w.q.head != w {
		return false
	}
	if w.receiving {
		goes := s.drain(w)
		s.lookBuffered() // (read before the epoll_wait that had its edge: look.go)
		return goes
	}
	events := int16(unix.POLLIN)
	if w.q == &s.wq {
		events = unix.POLLOUT
	}
	if !readyNow(s.fd, events) {
		return false
	}
	// the short read/send shortcuts are stale: an edge not yet dispatched
	if w.q == &s.wq {
		s.wfull = false
	} else {
		s.rdrained = false
	}
	return true
}

// drainMax bounds one last look's reads: a peer that keeps sending as fast
// as they are read does not hold the loop (the receive times out with what
// it has, as a pattern that such a peer never completes must).
const drainMax = 8 << 20

// drain is a stream receive's last look: it reads s's fd into its receive
// buffer until w's pattern is complete, the receive limit is passed, the
// read would block, or EOF or an error, which it keeps for the retry (as
// an offer's read does: readRaw returns it next) and then reports (true:
// the retry ends with them, as LuaSocket's does). Having read, it reports
// true too where LuaSocket's call would wait again (waitsAgain).
func (s *Socket) drain(w *waiter) bool {
	e := &s.l.rx
	if e.scratch == nil {
		return false
	}
	s.rdTok = false // real reads, not the short-read shortcut (receive.go)
	for got := 0; got < drainMax; {
		data := s.rb.data()
		if overLimit(w.pat, data, s.limit) {
			return false
		}
		_, _, ok, sc := matchEnd(w.pat, w.cnt, data, s.rb.scan)
		if ok {
			return false
		}
		s.rb.scan = sc
		var k int
		var err error
		if longLine(w.pat, len(data), s.limit, s.rb.long > 0) {
			k, err = s.readLine(e.scratch[:lineAsk(len(e.scratch), len(data), s.rb.long)])
		} else {
			k, err = s.readRaw(e.scratch[:readSize(w.pat, w.cnt, len(data), len(e.scratch))])
		}
		switch {
		case err == errAgain:
			return got > 0 && s.waitsAgain(w)
		case err != nil:
			s.rerr = err
			return true
		case k == 0:
			s.rerr = errEOF
			return true
		}
		s.rb.add(e, e.scratch[:k])
		got += k
	}
	return s.waitsAgain(w)
}

// waitsAgain reports whether w's operation, having made progress at its
// last look, waits again as LuaSocket's does: with both a block and a
// total timeout, socket_waitfd's next wait lasts min(block, total left),
// so the call goes on while its total has time left (its retry parks
// with a wait of its own: block's since). With one timeout, that wait
// would be 0: it ends.
func (s *Socket) waitsAgain(w *waiter) bool {
	return s.tmBlock > 0 && s.tmTotal > 0 && addClamp(w.start, s.tmTotal) > s.l.now()
}
