package core

import "slices"

// What a socket had buffered when it was closed goes to the receives
// waiting then, in call order, as they would have got it had they run
// before the close (LuaSocket's buffer serves its calls in order): each
// one's share is worked out at the close and kept for its retry, whenever
// that comes, so that a receive called after the close, or a later waiter
// resumed first, does not take what an earlier one was owed. A waiter
// whose deadline had passed gets its timeout with what it had. A share
// whose token is cancelled (its caller gone), or taken up by another
// operation before its retry (leaveShare), goes back to the waiters after
// it and to later calls.
//
// Each share knows where its bytes were in that stream (at), and the
// socket where its buffer's front is (restAt), so that a share given back
// or worked out again (a cancel, a retry with another pattern) is so only
// among the shares whose bytes follow it with none taken in between (a
// run, up to the buffer if nothing after them was read): shares are
// retried in any order, and bytes moved across one already taken would
// come out of stream order, or, cut again with the bytes after the taken
// share, make a result out of two parts of the stream with another
// receive's bytes between them.

// share is the part of a closed socket's buffered data that one receive
// waiting at the close gets.
type share struct {
	tok     Token
	pat     Pattern
	cnt     int
	expired bool   // its deadline had passed: ErrTimeout, not ErrClosed
	none    bool   // nothing was left for it: its retry reads as any call
	at      int    // where raw starts in the stream buffered at the close
	raw     []byte // the bytes it took from the buffer
	res     []byte // its result
	err     error
}

// serveWaiting works out the shares of the receives waiting on s, which
// is being closed (teardown).
func (s *Socket) serveWaiting() {
	if s.isDgram() {
		return
	}
	var claims []share
	for w := s.rq.head; w != nil; w = w.next {
		if w.receiving || w.recvq {
			claims = append(claims, share{tok: w.tok, pat: w.pat, cnt: w.cnt, expired: w.expired})
		}
	}
	s.closedRecv, s.restAt = s.serve(claims, 0)
}

// serve works out the shares of claims, in order, from s's buffer, whose
// front is at in the stream buffered at the close, and returns them and
// where the buffer's front is then. A claim with nothing left to take and
// no timeout to report gets none (its retry reads the buffer as any call)
// but keeps its place: bytes a cancelled share gives back may reach it.
// Nothing is kept when there is nothing to share.
func (s *Socket) serve(claims []share, at int) ([]share, int) {
	l := s.l
	if len(s.rb.data()) == 0 && !slices.ContainsFunc(claims, func(c share) bool { return c.expired }) {
		return nil, at
	}
	all := append([]byte(nil), s.rb.data()...)
	off := 0
	kept := make([]share, 0, len(claims))
	for _, c := range claims {
		before := len(s.rb.data())
		switch {
		case before == 0 && !c.expired:
			c.none = true
		case c.expired:
			res, ok := l.rx.buffered(&s.rb, c.pat, c.cnt)
			if !ok {
				res, c.err = l.rx.partial(&s.rb, c.pat), ErrTimeout
			}
			c.res = append([]byte(nil), res...)
		default:
			res, err := s.receiveClosed(c.pat, c.cnt)
			c.res, c.err = append([]byte(nil), res...), err
		}
		used := before - len(s.rb.data())
		c.at, c.raw = at+off, all[off:off+used]
		off += used
		kept = append(kept, c)
		if l.shares == nil {
			l.shares = make(map[Token]*Socket)
		}
		l.shares[c.tok] = s
	}
	return kept, at + off
}

// run returns the end (exclusive) of the run of shares from the i-th whose
// bytes follow each other in the stream (no share between them taken
// yet), and whether the buffer's front follows the last of them (no share
// after them taken, nothing read past them by a call after the close).
func (s *Socket) run(i int) (int, bool) {
	rs := s.closedRecv
	j := i + 1
	for j < len(rs) && rs[j].at == rs[j-1].at+len(rs[j-1].raw) {
		j++
	}
	last := rs[j-1]
	return j, j == len(rs) && !s.restRead && last.at+len(last.raw) == s.restAt
}

// resultAtClose returns, once, the share kept for the receive of tok with
// pattern p and count n (false if none, or none was left for it). A call
// of tok with another pattern or count is the same call, as a retry on an
// open socket is (asok.h, asok_receive): its share is worked out again
// under them, in its place (reshare). It was another operation: the share
// given back (dropShare), so the waiters after it took its bytes first,
// and once a call after the close had read the rest they were dropped.
func (s *Socket) resultAtClose(tok Token, p Pattern, n int) ([]byte, bool, error) {
	for i, c := range s.closedRecv {
		if c.tok != tok {
			continue
		}
		if c.pat != p || (p == PatCount && c.cnt != n) {
			c = s.reshare(i, p, n)
			if c.tok != tok { // nothing was left to share: read as any call
				return nil, false, nil
			}
		}
		s.closedRecv = append(s.closedRecv[:i], s.closedRecv[i+1:]...)
		delete(s.l.shares, tok)
		return c.res, !c.none, c.err
	}
	return nil, false, nil
}

// reshare works the i-th share and those of its run (see run) out again,
// the i-th under pattern p and count n (its retry's), and returns the
// i-th share anew (another token's, or none, if nothing was kept). Their
// bytes go back in front of the buffer and are shared again in call
// order, so the i-th reads its own bytes first and no byte is lost or
// served twice; the shares after the run keep theirs. When the buffer's
// front does not follow the run (a share after it was taken, or a call
// after the close read what the shares left: restRead), only the run's
// own bytes are shared again (those after them came out already), and
// what the last of them leaves goes in front of the buffer: read next,
// after bytes that came after it in the stream (dropping it would lose
// it; a call that changes its pattern after the close is C's only).
func (s *Socket) reshare(i int, p Pattern, n int) share {
	l := s.l
	j, tail := s.run(i)
	claims := append([]share(nil), s.closedRecv[i:j]...)
	after := append([]share(nil), s.closedRecv[j:]...)
	var raw []byte
	for _, c := range claims {
		raw = append(raw, c.raw...)
		delete(l.shares, c.tok)
	}
	at := claims[0].at
	claims[0].pat, claims[0].cnt = p, n
	for k := range claims {
		claims[k].none, claims[k].raw, claims[k].res, claims[k].err = false, nil, nil, nil
	}
	var rest rxbuf
	if !tail { // share raw alone: the buffer waits aside
		rest, s.rb = s.rb, rxbuf{}
	}
	if len(raw) > 0 {
		s.rb.unread(&l.rx, raw)
		l.keepBuf(s)
	}
	kept, end := s.serve(claims, at)
	if tail {
		s.restAt = end
	} else {
		left := append([]byte(nil), s.rb.data()...)
		s.rb.release(&l.rx)
		s.rb = rest
		s.rb.unread(&l.rx, left)
		// (the buffer's front no longer follows the shares: what is
		// given back later is not moved past it either)
		s.restRead = s.restRead || len(left) > 0
	}
	s.closedRecv = append(append(s.closedRecv[:i], kept...), after...)
	if len(kept) > 0 {
		return kept[0]
	}
	return share{}
}

// dropShare gives back the share of tok (cancelled: its caller is gone):
// its bytes and those of the shares after it go back to the front of the
// buffer, and those after it are worked out again without it. When the
// buffer's front does not follow its run (see run: a share after it was
// taken, or a call after the close read what the shares left), that
// would put bytes out of stream order: the share then goes with its
// operation, and the others keep theirs.
func (s *Socket) dropShare(tok Token) {
	l := s.l
	for i, c := range s.closedRecv {
		if c.tok != tok {
			continue
		}
		if _, tail := s.run(i); !tail {
			s.closedRecv = append(s.closedRecv[:i], s.closedRecv[i+1:]...)
			delete(l.shares, tok)
			return
		}
		rest := append([]share(nil), s.closedRecv[i+1:]...)
		var raw []byte
		for _, r := range s.closedRecv[i:] {
			raw = append(raw, r.raw...)
			delete(l.shares, r.tok)
		}
		s.closedRecv = s.closedRecv[:i]
		if len(raw) > 0 {
			s.rb.unread(&l.rx, raw)
			l.keepBuf(s)
		}
		for j := range rest {
			rest[j].none, rest[j].raw, rest[j].res, rest[j].err = false, nil, nil, nil
		}
		var kept []share
		kept, s.restAt = s.serve(rest, c.at)
		s.closedRecv = append(s.closedRecv, kept...)
		return
	}
}

// leaveShare gives back the share of tok on a closed socket, if it has
// one, as Cancel does (dropShare), unless that socket is keep (the socket
// of a Receive of tok: the share is that receive's retry's). A share is
// the receive's that waited at the close, not the token's: a call that
// takes tok up for another operation (on another socket, a Sleep, a
// lookup, or another kind of call on the closed socket) abandons that
// receive, whose retry would be tok's next receive there. So a token has
// at most one share (l.shares), and its later receive on the closed
// socket is a new call. While a close still owes tok its delivery (not
// handed out, and tok's call here is on another closed socket), tok is
// its operation's still: the call, answered without taking tok up (as
// begin leaves that delivery be), leaves the share be too.
func (l *Loop) leaveShare(tok Token, keep *Socket) {
	if x := l.shares[tok]; x != nil && x != keep && !l.owes(tok) {
		x.dropShare(tok)
	}
}

// dropShares forgets every share of s (freed: nobody retries any more).
func (s *Socket) dropShares() {
	for _, c := range s.closedRecv {
		delete(s.l.shares, c.tok)
	}
	s.closedRecv = nil
}
