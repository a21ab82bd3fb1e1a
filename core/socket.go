package core

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Socket is a non-blocking socket registered once with its loop's epoll.
type Socket struct {
	l          *Loop
	id         uint64 // never reused; the epoll data
	fd         int
	owned      bool // close fd on Close
	closed     bool
	family     int // unix.AF_INET, AF_INET6, ...
	typ        int // unix.SOCK_STREAM, ...
	listening  bool
	connecting bool // a non-blocking connect is in progress
	rq, wq     queue
	rl, wl     queue // the looks of each direction (look.go): no turns
	rb         rxbuf
	tmBlock    time.Duration
	tmTotal    time.Duration
	limit      int           // receive limit of lines and "*a" (SetLimit), 0: none
	dg         *dgramState   // datagram address caches, nil until used
	thr        [2]*bucket    // receive, send throttles (throttle.go), nil: none
	retryAt    time.Duration // a unix SendTo's retry time (udp.go dgramRetry), 0: none
	// rdrained: a read since the last read event came back short, so the
	// kernel queue was empty then and any later arrival raises a new edge
	// (cleared by dispatch): reads answer errAgain without a syscall.
	// wfull: the same for a short send (the send buffer was full), but
	// only for the retries of the operation whose send it was (wfullTok):
	// the kernel raises EPOLLOUT only once half the buffer is free, so
	// after that operation ended (timeout, cancel) a new one may find room
	// that no edge announces, and must try.
	// Only operations with a token use them: their caller runs Select
	// (which processes the edge) before retrying; token 0 always tries,
	// and so does a call with a zero timeout (polls: it never parks).
	rdrained, wfull bool
	wfullTok        Token
	// noShort: an event reported urgent data (a read stops short at the
	// mark), a peer shutdown (data, then a pending EOF whose edge came
	// before the read) or an error: short reads and sends prove nothing
	// from then on.
	noShort bool
	// broken: an event reported a hang-up or an error; a throttled send
	// parked on its timer is woken and tries one byte (it fails), so that
	// it does not learn of it only at its next grant (throttle.go); so do
	// the sends queued behind it. Cleared if the byte goes.
	broken  bool
	rdTok   bool           // the running receive has a token (may park)
	peek    int8           // readLine peeks (receive.go peeksLines): 1 yes, -1 no, 0 not asked yet
	rxTotal uint64         // bytes read from the fd or unread into rb (Received)
	socks   *socksState    // a SOCKS handshake that returned ErrWait (socks.go)
	offer   int            // 1 + index of its pending offer in l.of.list, 0: none (offer.go)
	rerr    error          // an error or errEOF a retry's read saw (offer.go), for the next read
	tag     unsafe.Pointer // the binding's value for s (SetTag)
	// closedSent: the sends a Close cut short, with what each had sent,
	// for their retry's ErrClosed, or ErrTimeout if its deadline had
	// passed (sentAtClose).
	closedSent []sentCount
	// closedRecv: the receives a Close cut short, in call order, with what
	// each gets of the data buffered then (shares.go).
	closedRecv []share
	restRead   bool // a call after the close read what the shares left
	restAt     int  // where the buffer's front is in the stream buffered at the close (shares.go)
	// pslot: 1 + index of s's pollfd in the running WaitSet's poll, 0:
	// none (waitset.go)
	pslot int32
}

// sentCount is what the send of a token had sent when a Close cut it
// short, and whether its deadline had passed by then.
type sentCount struct {
	tok     Token
	n       int
	expired bool
}

// SetTag stores a value of the binding's for s (capi: its handle).
func (s *Socket) SetTag(t unsafe.Pointer) { s.tag = t }

// Tag returns the value stored by SetTag, nil if none.
func (s *Socket) Tag() unsafe.Pointer { return s.tag }

// Wrap makes fd asynchronous on l: it is set non-blocking and registered
// once (EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET). The kind is read from fd.
// If owned, Close closes fd. A live socket with the same fd number is an fd
// closed behind asok's back: it is marked closed (its waiters delivered).
// Returns unix.EEXIST if fd is already wrapped; ErrInvalid if not a socket.
func (l *Loop) Wrap(fd int, owned bool) (*Socket, error) {
	if l.closed {
		return nil, ErrClosed
	}
	if fd < 0 {
		return nil, ErrInvalid
	}
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err == unix.ENOTSOCK {
		return nil, ErrInvalid
	} else if err != nil {
		return nil, sysErr("getsockopt", err)
	}
	acc, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	if err != nil {
		return nil, sysErr("getsockopt", err)
	}
	family := unix.AF_UNSPEC
	if sa, err := unix.Getsockname(fd); err == nil {
		family = sockaddrFamily(sa)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		return nil, sysErr("fcntl", err)
	}
	id := l.newID(fd)
	if err := l.p.add(fd, id); err == unix.EEXIST {
		return nil, unix.EEXIST
	} else if err != nil {
		return nil, sysErr("epoll_ctl", err)
	}
	if old := l.sockAt(fd); old != nil {
		old.teardown(true) // its fd was closed behind our back
	}
	s := &Socket{l: l, id: id, fd: fd, owned: owned, family: family, typ: typ,
		listening: acc != 0, tmBlock: -1, tmTotal: -1}
	l.socks[id] = s
	if fd >= len(l.byFd) {
		l.byFd = append(l.byFd, make([]*Socket, fd+1-len(l.byFd))...)
	}
	l.byFd[fd] = s
	return s, nil
}

// newID returns the epoll data of a new socket on fd: the fd in the low
// 32 bits (dispatch finds the socket in byFd without hashing), a sequence
// number in the high 32 bits, so an event queued for an earlier socket on
// the same fd number is recognised and dropped. Never wakeID.
func (l *Loop) newID(fd int) uint64 {
	l.nextID++
	if uint32(l.nextID) == 0 {
		l.nextID++
	}
	return uint64(uint32(fd)) | uint64(uint32(l.nextID))<<32
}

// sockAt returns the live socket on fd, nil if none.
func (l *Loop) sockAt(fd int) *Socket {
	if fd < 0 || fd >= len(l.byFd) {
		return nil
	}
	return l.byFd[fd]
}

// NewTCP creates a non-blocking, close-on-exec TCP socket owned by the
// loop; family is 4 or 6 (IPv6 sockets are IPV6_V6ONLY, as LuaSocket's
// inet_trycreate makes them).
func (l *Loop) NewTCP(family int) (*Socket, error) {
	return l.newOwned(family, unix.SOCK_STREAM)
}

// Close closes s: removed from epoll before its fd is closed (if owned),
// buffered data dropped, every parked token delivered (their retries get
// ErrClosed). Idempotent.
func (s *Socket) Close() error {
	if s.closed {
		return nil
	}
	err := s.closeFd()
	s.teardown(true)
	return err
}

// keepBuf records that closed s holds a receive buffer (freed by Free or
// the loop's Close).
func (l *Loop) keepBuf(s *Socket) {
	if l.kept == nil {
		l.kept = make(map[*Socket]bool)
	}
	l.kept[s] = true
}

// Free closes s and drops what it kept buffered for receives after its
// close: for a binding whose handle to s is gone (nobody can read it any
// more). s must not be used afterwards.
func (s *Socket) Free() error {
	err := s.Close()
	l := s.l
	s.dropShares()
	if l.kept[s] {
		delete(l.kept, s)
		s.rb.release(&l.rx)
	}
	return err
}

// closeFd removes s's fd from epoll and closes it if owned.
func (s *Socket) closeFd() error {
	s.l.p.del(s.fd) // ENOENT/EBADF: already gone with a close behind our back
	if !s.owned {
		return nil
	}
	return sysErr("close", unix.Close(s.fd))
}

// teardown marks s closed, forgets it, drops its buffer and releases all
// its waiters, delivering their tokens if deliver is set.
func (s *Socket) teardown(deliver bool) {
	l := s.l
	s.settled()
	s.closed = true
	delete(l.socks, s.id)
	if l.sockAt(s.fd) == s {
		l.byFd[s.fd] = nil
	}
	s.fd = -1
	if !deliver { // the loop is going: nobody reads it any more
		s.rxTotal -= uint64(len(s.rb.data())) // dropped unread: not received
		s.rb.release(&l.rx)
	} else if s.rb.buf != nil { // kept: receives still get it (LuaSocket's
		// buffer outlives its close), until Free or the loop's Close
		l.keepBuf(s)
	}
	if deliver {
		s.serveWaiting()
	}
	for _, q := range [4]*queue{&s.rl, &s.wl, &s.rq, &s.wq} {
		for w := q.head; w != nil; w = q.head {
			tok, notified := w.tok, w.notified
			if deliver && q == &s.wq && (w.progress > 0 || w.expired) {
				s.closedSent = append(s.closedSent, sentCount{tok, w.progress, w.expired})
			}
			if deliver && notified {
				l.orphan(w) // keep its pending delivery, if any, valid
			}
			l.release(w)
			if deliver && !notified {
				l.deliverReleased(tok, s)
			}
		}
	}
}

// sentAtClose returns, once, what the send of tok had sent when Close cut
// it short (0 if none was), and the error its retry reports: ErrClosed,
// or ErrTimeout if its deadline had passed before the close.
func (s *Socket) sentAtClose(tok Token) (int, error) {
	for i, c := range s.closedSent {
		if c.tok == tok {
			s.closedSent = append(s.closedSent[:i], s.closedSent[i+1:]...)
			if c.expired {
				return c.n, ErrTimeout
			}
			return c.n, ErrClosed
		}
	}
	return 0, ErrClosed
}

// Fd returns s's fd, -1 once closed.
func (s *Socket) Fd() int {
	return s.fd
}

// Shutdown shuts down receiving (0), sending (1) or both (2). Receives
// are woken by the kernel's events; a send waiting at the head of the
// queue is woken here (1, 2): the kernel gives no event for a local
// SHUT_WR on a unix stream socket whose send buffer is full, and a
// throttled send would wait for its next grant. Its retry fails as
// LuaSocket's send then does (EPIPE: ErrClosed, with what it had sent).
func (s *Socket) Shutdown(how int) error {
	if s.closed {
		return ErrClosed
	}
	var h int
	switch how {
	case 0:
		h = unix.SHUT_RD
	case 1:
		h = unix.SHUT_WR
	case 2:
		h = unix.SHUT_RDWR
	default:
		return ErrInvalid
	}
	// what follows an armed retry (offer.go) rests on the socket's state
	s.settled()
	s.rdrained, s.wfull = false, false // the next read sees EOF, a send EPIPE
	err := unix.Shutdown(s.fd, h)
	if how != 0 && (err == nil || err == unix.ENOTCONN) { // (a TCP socket closed by now)
		s.sendShut()
	}
	return sysErr("shutdown", err)
}

// sendShut wakes the send waiting at the head of s's write queue after a
// local shutdown of sending (Shutdown): a throttled one too, which then
// tries one byte (broken), so that it fails now rather than at its next
// grant. The looks on writability are woken too (no event may come):
// their retries poll.
func (s *Socket) sendShut() {
	s.broken = true
	s.l.deliverLooks(&s.wl)
	h := s.wq.head
	if h == nil || h.notified {
		return
	}
	if throttledHead(h) {
		s.l.timers.stop(h)
		h.throttled, h.wake = false, 0
	}
	s.l.deliver(h)
}

// Buffered returns the number of received bytes buffered in s that no
// waiting receive holds (LuaSocket's dirty()): what a new receive would
// get at once, without reading the fd. A receive waiting with a partial
// result holds it (unclaimed, look.go), as LuaSocket's receive keeps it
// in its own buffer.
func (s *Socket) Buffered() int {
	s.settled()
	return s.unclaimed()
}

// Held returns the number of received bytes buffered in s, a waiting
// receive's partial result included: what a close of s keeps for its
// waiters (shares.go) and later receives.
func (s *Socket) Held() int {
	s.settled()
	return len(s.rb.data())
}

// Received returns how many bytes Receive has consumed on stream socket s:
// LuaSocket's getstats count (a line's CRs and LF included; bytes still
// buffered, or dropped unread at Close, not).
func (s *Socket) Received() uint64 {
	s.settled()
	return s.rxTotal - uint64(len(s.rb.data()))
}

// Unread copies p in front of s's receive buffer, to be read first; a
// receive parked at the head of the queue is delivered (it retries).
// Datagram sockets have no stream buffer and listening ones never read
// theirs: ErrInvalid.
func (s *Socket) Unread(p []byte) error {
	if s.closed {
		return ErrClosed
	}
	if s.isDgram() || s.isListener() {
		return ErrInvalid
	}
	s.settled()
	s.rb.unread(&s.l.rx, p)
	s.rxTotal += uint64(len(p))
	// a receive parked for data now has some: its token comes (no event
	// would bring it; a throttled head waits for its timer as before)
	if h := s.rq.head; h != nil && h.receiving && !h.throttled && len(p) > 0 {
		s.l.deliver(h)
	}
	s.lookBuffered() // and so do the read looks (look.go)
	return nil
}

// isListener reports whether s listens: by Listen, or as wrapped, or by
// a listen(2) its owner made on the fd since (asked of the kernel then:
// Unread, its only caller, is rare).
func (s *Socket) isListener() bool {
	if !s.listening && s.typ == unix.SOCK_STREAM {
		acc, err := unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
		s.listening = err == nil && acc != 0
	}
	return s.listening
}

// Wait parks tok until s is readable (DirRead) or writable (DirWrite), for
// I/O done by others on the fd. It returns nil at once if s is ready now
// (HUP and ERR count as ready); its retry after delivery returns nil once
// the fd polls ready. With WaitUntimed or'ed into dir it has no deadline.
// With WaitLook it is a look (look.go): untimed, and woken with every
// other look on s, out of the socket's queue.
func (s *Socket) Wait(dir int, tok Token) error {
	if dir&WaitLook != 0 {
		return s.look(dir&^(WaitLook|WaitUntimed), tok)
	}
	untimed := dir&WaitUntimed != 0
	q := s.queueFor(dir &^ WaitUntimed)
	if q == nil {
		return ErrInvalid
	}
	if untimed { // no deadline: s's timeouts are out of it for this call
		s.settled() // a pending offer's FollowPark rests on the real ones
		block, total := s.tmBlock, s.tmTotal
		s.tmBlock, s.tmTotal = -1, -1
		w, err := s.wait(q, dir&^WaitUntimed, tok)
		s.tmBlock, s.tmTotal = block, total
		s.markUntimed(tok, w, err, err == ErrWait)
		return err
	}
	w, err := s.wait(q, dir, tok)
	s.markUntimed(tok, w, err, false) // the same token waited untimed before: no more
	return err
}

// markUntimed sets whether the waiter of tok on s, if any, is an untimed
// wait, after wait returned parked and err: parked is that waiter when
// there is one; after a nil err tok has none (its wait ended).
func (s *Socket) markUntimed(tok Token, parked *waiter, err error, untimed bool) {
	if parked != nil {
		parked.untimed = untimed
		return
	}
	if err == nil {
		return
	}
	if w := s.l.byTok.get(tok); w != nil && w.sock == s {
		w.untimed = untimed
	}
}

// wait is Wait's work on queue q of direction dir. It returns the waiter
// it parked tok with (nil if it did not park, or parked it behind the
// head) and Wait's error.
func (s *Socket) wait(q *queue, dir int, tok Token) (*waiter, error) {
	w, start, err := s.begin(q, tok, false)
	if err != nil {
		if w != nil { // expired head
			s.done(q, w)
		}
		return nil, err
	}
	if !s.pollReady(dir) {
		if w, err = s.block(q, w, tok, start); err == ErrWait {
			if q == &s.rq {
				// a receive's token waiting here now: its partial is a
				// new receive's (look.go)
				s.lookBuffered()
			}
			return w, ErrWait
		}
	}
	s.done(q, w)
	return nil, err
}

// pollReady polls s's fd without waiting for direction dir (within a
// WaitSet, the batch's poll answers): its event, or a hang-up, an error,
// an fd not open, as LuaSocket's wait (socket_waitfd: poll(2)) counts
// them: the operation that waited then meets the error.
func (s *Socket) pollReady(dir int) bool {
	return s.pollRevents(dir)&(pollEvents(dir)|unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0
}

// selectReady is pollReady as select(2) answers it, for a select's look:
// a hang-up counts for reading only (its POLLIN_SET), not for writing (its
// POLLOUT_SET: POLLOUT and POLLERR): a unix socket shut down both ways
// (POLLHUP) whose send buffer is full is readable, not writable. An fd
// not open still ends the look (the select answers for the close).
func (s *Socket) selectReady(dir int) bool {
	mask := pollEvents(dir) | unix.POLLERR | unix.POLLNVAL
	if dir == DirRead {
		mask |= unix.POLLHUP
	}
	return s.pollRevents(dir)&mask != 0
}

// pollRevents polls s's fd without waiting for direction dir (within a
// WaitSet, the batch's poll answers: it may hold the other direction's
// event too, which the callers' masks leave aside) and returns its
// revents.
func (s *Socket) pollRevents(dir int) int16 {
	if revents, ok := s.l.batchRevents(s); ok {
		return revents
	}
	ev := int16(unix.POLLIN)
	if dir == DirWrite {
		ev = unix.POLLOUT
	}
	fds := [1]unix.PollFd{{Fd: int32(s.fd), Events: ev}}
	s.l.polls++
	for {
		n, err := unix.Poll(fds[:], 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n <= 0 {
			return 0
		}
		return fds[0].Revents
	}
}
