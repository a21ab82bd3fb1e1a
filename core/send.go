package core

import "golang.org/x/sys/unix"

// stepSize is LuaSocket's STEPSIZE (buffer.c): it hands the kernel at
// most this many bytes per send(2).
const stepSize = 8192

// firstStep returns how many bytes the first send(2) of a new operation
// of len(data) bytes may take: all of them, unless the peer has already
// closed. Then LuaSocket's first step of stepSize reaches the peer, whose
// reset fails the next one, and the caller gets 'closed' with stepSize
// bytes sent (over loopback, where the reset arrives within the send):
// asok reports the same. Only sends longer than a step pay the ppoll(2).
func (s *Socket) firstStep(data []byte) int {
	if len(data) > stepSize && peerClosed(s.fd) {
		return stepSize
	}
	return len(data)
}

// Send writes all of data to s with sendmsg(MSG_NOSIGNAL) (never write(2):
// a dead peer must not raise SIGPIPE). If the kernel takes only part, tok
// is parked and ErrWait returned: call again with the SAME data and token;
// s remembers the progress. It returns the bytes of data sent so far by
// this operation (also when a Close cut it short: its retry's ErrClosed
// comes with what it had sent); EPIPE is ErrClosed. Sends of different
// tokens are served whole, in FIFO order (atomic I/O). A throttled socket sends at most its
// budget per syscall and parks on the throttle timer when it has none. On a datagram socket data is one
// datagram to the connected peer: all of it is sent or nothing (udp.go).
func (s *Socket) Send(data []byte, tok Token) (int, error) {
	return s.SendAfter(data, tok, -1, 0)
}

// SendAfter is Send for a call whose first syscall was made by the
// caller (capi's C half, after a taken retry: FollowSend, offer.go): it
// sent pre bytes of data (pre >= 0, errno 0) or failed with errno; pre < 0
// and errno 0: none was made (Send). Core goes on from there exactly as
// after its own syscall. The result counts those bytes.
func (s *Socket) SendAfter(data []byte, tok Token, pre int, errno unix.Errno) (int, error) {
	if s.isDgram() {
		return s.sendDgram(data, nil, nil, tok)
	}
	w, start, err := s.begin(&s.wq, tok, false)
	if err == ErrClosed && len(s.closedSent) > 0 { // cut short by Close: what it had sent
		return s.sentAtClose(tok)
	}
	sent := 0
	if w != nil {
		sent = w.progress
	}
	first := w == nil && (pre >= 0 || errno != 0) // the caller's syscall is this one's first
	if first && pre > len(data) {
		return 0, ErrInvalid
	}
	if err != nil {
		if first && pre > 0 { // cannot happen: FollowSend sends only to an empty queue
			return pre, err
		}
		if w != nil { // expired head
			s.done(&s.wq, w)
		}
		return sent, err
	}
	if sent > len(data) { // not the data of the first call
		s.done(&s.wq, w)
		return 0, ErrInvalid
	}
	short := false    // this call's send came back short (wfull is ours)
	probe := false    // the byte a broken socket's throttled send tries
	step := len(data) // the first syscall's limit (firstStep)
	if w == nil && !first {
		step = s.firstStep(data)
	}
loop:
	for sent < len(data) {
		chunk := data[sent:]
		if step < len(chunk) {
			chunk = chunk[:step]
		}
		b := s.thr[1]
		if b != nil {
			n := b.allow(s.l.now(), min(int64(len(chunk)), b.quantum))
			if n == 0 && s.broken { // hung up or failed: one byte tells
				n, probe = 1, true
			}
			chunk = chunk[:min(int64(len(chunk)), n)]
		}
		k, e := 0, error(unix.EAGAIN) // no budget: block parks on the throttle timer
		switch {
		case first:
			first = false
			if k, e = max(pre, 0), error(nil); errno != 0 {
				k, e = 0, errno
			}
		case len(chunk) > 0 && !(s.wfull && s.wfullTok == tok && tok != 0 && (w != nil || short) && !s.polls()):
			k, e = send(s.fd, chunk, unix.MSG_NOSIGNAL)
			step = len(data)
		}
		switch {
		case e == nil:
			if probe { // it went: not broken after all (the bucket is charged)
				s.broken, probe = false, false
			}
			sent += k
			// A short send filled the send buffer: the next sendmsg would
			// say EAGAIN, and freed space raises an EPOLLOUT edge.
			s.wfull, s.wfullTok = k < len(chunk) && !s.noShort, tok
			short = short || s.wfull
			if b != nil {
				b.take(k)
			}
			continue
		case e == unix.EINTR:
			continue
		case isAgain(e):
			if w, err = s.block(&s.wq, w, tok, start); err == ErrWait {
				w.progress = sent
				return sent, ErrWait
			}
		case e == unix.EPIPE:
			err = ErrClosed
		default:
			err = sysErr("send", e)
		}
		break loop
	}
	s.wfullTok = 0 // the next operation tries the kernel first
	s.done(&s.wq, w)
	return sent, err
}
